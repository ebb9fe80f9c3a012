import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/test-app.js';

// Idempotency-Key on the operator admin API: keys are scoped to the operator key that sent them.
let t: TestApp;
let otherOperatorKey: string;

beforeAll(async () => {
  t = await createTestApp();
  const issued = await t.app.server.inject({ method: 'POST', url: '/admin/v1/keys', headers: { authorization: `Bearer ${t.operatorKey}` }, payload: { name: 'second' } });
  otherOperatorKey = issued.json().key;
});
afterAll(() => t.close());

type Method = 'GET' | 'POST' | 'PATCH';
const call = (method: Method, url: string, payload?: unknown, key?: string, operatorKey = t.operatorKey) =>
  t.app.server.inject({
    method,
    url,
    headers: { authorization: `Bearer ${operatorKey}`, ...(key !== undefined ? { 'idempotency-key': key } : {}) },
    ...(payload !== undefined ? { payload: payload as object } : {}),
  });

let n = 0;
const uniqueKey = () => `op-${Date.now().toString(36)}-${n++}`;
const resellerBody = (username = `idem-${Date.now().toString(36)}-${n++}`) => ({ name: `Reseller ${username}`, username, email_address: `${username}@example.com`, tags: ['cpanel'] });

async function resellersNamed(username: string): Promise<{ id: number }[]> {
  const res = await call('GET', '/admin/v1/resellers');
  return (res.json() as { id: number; username: string }[]).filter((r) => r.username === username);
}

describe('Idempotency-Key on POST /admin/v1/resellers', () => {
  it('replays the first answer, credentials included, and creates one reseller', async () => {
    const key = uniqueKey();
    const body = resellerBody();
    const first = await call('POST', '/admin/v1/resellers', body, key);
    expect(first.statusCode, first.body).toBe(201);
    expect(first.json()).toMatchObject({ username: body.username, api_token: expect.any(String), api_key: expect.any(String) });
    const again = await call('POST', '/admin/v1/resellers', body, key);
    expect(again.statusCode).toBe(201);
    expect(again.body).toBe(first.body);
    expect(again.headers['idempotency-replayed']).toBe('true');
    expect(await resellersNamed(body.username)).toHaveLength(1);

    // The credentials shown once are not kept in the clear for the replay.
    const rows = await t.app.deps.db.selectFrom('idempotency_keys').select(['response_body', 'key_digest']).where('path', '=', '/admin/v1/resellers').execute();
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row.response_body ?? '').not.toContain(first.json().api_key);
      expect(row.key_digest).not.toBe(key);
    }
  });

  it('answers 422 in the admin error shape for the same key with a different body, and creates nothing', async () => {
    const key = uniqueKey();
    expect((await call('POST', '/admin/v1/resellers', resellerBody(), key)).statusCode).toBe(201);
    const other = resellerBody();
    const res = await call('POST', '/admin/v1/resellers', other, key);
    expect(res.statusCode).toBe(422);
    expect(res.json()).toEqual({ error: { code: 'validation_failed', message: 'Idempotency-Key was already used with a different request' } });
    expect(await resellersNamed(other.username)).toHaveLength(0);
  });

  it('runs concurrent requests with one key once', async () => {
    const key = uniqueKey();
    const body = resellerBody();
    const responses = await Promise.all(Array.from({ length: 5 }, () => call('POST', '/admin/v1/resellers', body, key)));
    const ran = responses.filter((r) => r.statusCode === 201 && r.headers['idempotency-replayed'] === undefined);
    expect(ran).toHaveLength(1);
    for (const r of responses) {
      if (r === ran[0]) continue;
      if (r.statusCode === 409) {
        expect(r.json()).toEqual({ error: { code: 'conflict', message: 'a request with this Idempotency-Key is still in progress' } });
      } else {
        expect(r.statusCode).toBe(201);
        expect(r.body).toBe(ran[0]!.body);
      }
    }
    expect(await resellersNamed(body.username)).toHaveLength(1);
  });

  it('scopes keys to the operator key: the same key from two operator keys creates two resellers', async () => {
    const key = uniqueKey();
    const mine = resellerBody();
    const theirs = resellerBody();
    const a = await call('POST', '/admin/v1/resellers', mine, key);
    const b = await call('POST', '/admin/v1/resellers', theirs, key, otherOperatorKey);
    expect(a.statusCode).toBe(201);
    expect(b.statusCode, b.body).toBe(201);
    expect(b.headers['idempotency-replayed']).toBeUndefined();
    expect(await resellersNamed(mine.username)).toHaveLength(1);
    expect(await resellersNamed(theirs.username)).toHaveLength(1);

    // Nor is one operator key's answer (with its credentials) ever replayed to another: the same key
    // and body from the second operator key run again, and meet the username the first one took.
    const shared = uniqueKey();
    const body = resellerBody();
    const first = await call('POST', '/admin/v1/resellers', body, shared);
    expect(first.statusCode).toBe(201);
    expect((await call('POST', '/admin/v1/resellers', body, shared)).headers['idempotency-replayed']).toBe('true');
    const copy = await call('POST', '/admin/v1/resellers', body, shared, otherOperatorKey);
    expect(copy.headers['idempotency-replayed']).toBeUndefined();
    expect(copy.statusCode).toBe(422);
    expect(copy.json().error.fields).toHaveProperty('username');
    expect(copy.body).not.toContain(first.json().api_key);
  });

  it('does not keep a 5xx: the retry with the key runs', async () => {
    const key = uniqueKey();
    const body = resellerBody();
    await sql`create or replace function idem_fail() returns trigger language plpgsql as $$ begin raise exception 'simulated storage failure'; end $$`.execute(t.app.deps.db);
    await sql`create trigger idem_fail before insert on resellers for each row execute function idem_fail()`.execute(t.app.deps.db);
    let failed;
    try {
      failed = await call('POST', '/admin/v1/resellers', body, key);
    } finally {
      await sql`drop trigger idem_fail on resellers`.execute(t.app.deps.db);
    }
    expect(failed.statusCode).toBe(500);
    expect(failed.json()).toEqual({ error: { code: 'internal', message: 'internal error' } });
    const retry = await call('POST', '/admin/v1/resellers', body, key);
    expect(retry.statusCode, retry.body).toBe(201);
    expect(retry.headers['idempotency-replayed']).toBeUndefined();
    expect(await resellersNamed(body.username)).toHaveLength(1);
  });

  it('refuses a malformed key with 422 and creates nothing', async () => {
    for (const key of ['', 'x'.repeat(256), 'ünïcode']) {
      const body = resellerBody();
      const res = await call('POST', '/admin/v1/resellers', body, key);
      expect(res.statusCode).toBe(422);
      expect(res.json()).toEqual({ error: { code: 'validation_failed', message: 'Idempotency-Key must be 1 to 255 printable ASCII characters' } });
      expect(await resellersNamed(body.username)).toHaveLength(0);
    }
  });

  it('after 24 hours the key runs again', async () => {
    const key = uniqueKey();
    const start = Date.now();
    t.setNow(new Date(start));
    try {
      const first = await call('POST', '/admin/v1/resellers', resellerBody(), key);
      expect(first.statusCode).toBe(201);
      t.setNow(new Date(start + 25 * 3600_000));
      const body = resellerBody();
      const later = await call('POST', '/admin/v1/resellers', body, key);
      expect(later.statusCode).toBe(201);
      expect(later.headers['idempotency-replayed']).toBeUndefined();
      expect(await resellersNamed(body.username)).toHaveLength(1);
    } finally {
      t.setNow(new Date());
    }
  });
});

describe('other admin routes', () => {
  it('PATCH is covered too, and GET ignores the header', async () => {
    const created = (await call('POST', '/admin/v1/resellers', resellerBody())).json() as { id: number };
    const key = uniqueKey();
    const first = await call('PATCH', `/admin/v1/resellers/${created.id}`, { name: 'Renamed Once' }, key);
    expect(first.statusCode).toBe(200);
    expect((await call('PATCH', `/admin/v1/resellers/${created.id}`, { name: 'Renamed Twice' })).statusCode).toBe(200);
    const again = await call('PATCH', `/admin/v1/resellers/${created.id}`, { name: 'Renamed Once' }, key);
    expect(again.body).toBe(first.body);
    expect(again.headers['idempotency-replayed']).toBe('true');
    const read = await call('GET', `/admin/v1/resellers/${created.id}`, undefined, key);
    expect(read.headers['idempotency-replayed']).toBeUndefined();
    expect(read.json().name).toBe('Renamed Twice');
    expect((await call('GET', `/admin/v1/resellers/${created.id}`, undefined, '')).statusCode).toBe(200);
  });

  it('a POST without a body (rotate-key) replays the same new credentials', async () => {
    const created = (await call('POST', '/admin/v1/resellers', resellerBody())).json() as { id: number; api_key: string };
    const key = uniqueKey();
    const first = await call('POST', `/admin/v1/resellers/${created.id}/rotate-key`, undefined, key);
    expect(first.statusCode).toBe(200);
    expect(first.json().api_key).not.toBe(created.api_key);
    const again = await call('POST', `/admin/v1/resellers/${created.id}/rotate-key`, undefined, key);
    expect(again.body).toBe(first.body);
    expect(again.headers['idempotency-replayed']).toBe('true');
    // Only the replayed pair works: the rotation ran once.
    const { api_token, api_key } = first.json() as { api_token: string; api_key: string };
    const auth = `Basic ${Buffer.from(`${api_token}:${api_key}`).toString('base64')}`;
    expect((await t.app.server.inject({ method: 'GET', url: '/v1/packages/by_tag/cpanel', headers: { authorization: auth } })).statusCode).toBe(200);
  });
});
