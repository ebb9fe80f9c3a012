import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ctxFor } from '../../src/core/context.js';
import { beginIdempotentRequest, finishIdempotentRequest, releaseIdempotentRequest } from '../../src/core/idempotency/idempotency.service.js';
import { cleanUpExpired } from '../../src/core/maintenance/maintenance.service.js';
import { createReseller, createTestApp, seedDemoCatalog, type ResellerFixture, type TestApp } from '../support/test-app.js';

// Idempotency-Key on the reseller API, over real HTTP handling (inject) on the real database.
let t: TestApp;
let alice: ResellerFixture;
let bob: ResellerFixture;

beforeAll(async () => {
  t = await createTestApp();
  await seedDemoCatalog(t);
  alice = await createReseller(t);
  bob = await createReseller(t);
});
afterAll(() => t.close());

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
const call = (method: Method, url: string, who: ResellerFixture, payload?: unknown, key?: string) =>
  t.app.server.inject({
    method,
    url,
    headers: { authorization: who.auth, ...(key !== undefined ? { 'idempotency-key': key } : {}) },
    ...(payload !== undefined ? { payload: payload as object } : {}),
  });

let n = 0;
const uniqueKey = () => `key-${Date.now().toString(36)}-${n++}`;
const uniqueDomain = () => `idem-${Date.now().toString(36)}-${n++}.test`;
const clientBody = (domain = uniqueDomain(), extra: Record<string, unknown> = {}) => ({
  package_uid: 'spamstopshere-standard',
  user_count: 1,
  name: 'Idempotent Customer',
  email_address: 'idem@example.com',
  domains: [{ name: domain, mail_servers: [`mail.${domain}`] }],
  ...extra,
});

/** The names of a reseller's clients, to count what a request really created. */
async function clientsOf(who: ResellerFixture): Promise<{ id: number; status: string; domains: { name: string }[] }[]> {
  const res = await call('GET', '/v1/clients', who);
  expect(res.statusCode).toBe(200);
  return res.json();
}
const withDomain = async (who: ResellerFixture, domain: string) => (await clientsOf(who)).filter((c) => c.domains.some((d) => d.name === domain));

async function freshReseller(): Promise<ResellerFixture> {
  return createReseller(t);
}

describe('Idempotency-Key on POST /v1/clients', () => {
  it('replays the first response byte for byte for the same key and body, and creates one client', async () => {
    const key = uniqueKey();
    const body = clientBody();
    const first = await call('POST', '/v1/clients', alice, body, key);
    expect(first.statusCode, first.body).toBe(201);
    expect(first.headers['idempotency-replayed']).toBeUndefined();

    const again = await call('POST', '/v1/clients', alice, body, key);
    expect(again.statusCode).toBe(201);
    expect(again.body).toBe(first.body);
    expect(again.headers['content-type']).toBe(first.headers['content-type']);
    expect(again.headers['idempotency-replayed']).toBe('true');

    // The same JSON with its keys in another order is the same request.
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    const third = await call('POST', '/v1/clients', alice, reordered, key);
    expect(third.statusCode).toBe(201);
    expect(third.body).toBe(first.body);
    expect(third.headers['idempotency-replayed']).toBe('true');

    expect(await withDomain(alice, body.domains[0]!.name)).toHaveLength(1);
  });

  it('answers 422 for the same key with a different body, and creates nothing', async () => {
    const key = uniqueKey();
    const first = await call('POST', '/v1/clients', alice, clientBody(), key);
    expect(first.statusCode).toBe(201);
    const otherDomain = uniqueDomain();
    const other = await call('POST', '/v1/clients', alice, clientBody(otherDomain), key);
    expect(other.statusCode).toBe(422);
    expect(other.json()).toEqual({ errors: { base: ['Idempotency-Key was already used with a different request'] } });
    expect(other.headers['idempotency-replayed']).toBeUndefined();
    expect(await withDomain(alice, otherDomain)).toHaveLength(0);
  });

  it('runs concurrent requests with one key once: the others replay it or are told it is in progress', async () => {
    const who = await freshReseller();
    const key = uniqueKey();
    const body = clientBody();
    const responses = await Promise.all(Array.from({ length: 5 }, () => call('POST', '/v1/clients', who, body, key)));
    const ran = responses.filter((r) => r.statusCode === 201 && r.headers['idempotency-replayed'] === undefined);
    expect(ran).toHaveLength(1);
    for (const r of responses) {
      if (r === ran[0]) continue;
      if (r.statusCode === 409) {
        expect(r.json()).toEqual({ errors: { base: ['a request with this Idempotency-Key is still in progress'] } });
      } else {
        expect(r.statusCode).toBe(201);
        expect(r.headers['idempotency-replayed']).toBe('true');
        expect(r.body).toBe(ran[0]!.body);
      }
    }
    expect(await clientsOf(who)).toHaveLength(1);
  });

  it('a repeat while the first request with the key is still open waits for it: replays its answer, or runs if it rolled back', async () => {
    const who = await freshReseller();
    const key = uniqueKey();
    const body = clientBody();
    const ctx = ctxFor(t.app.deps, { kind: 'reseller', resellerId: who.id });
    const request = { key, method: 'POST', route: '/v1/clients', path: '/v1/clients', params: {}, query: {}, body };
    // Hold the key in an open transaction, as a request that is still running does.
    const held = await beginIdempotentRequest(ctx, request);
    if (held.kind !== 'run') throw new Error('the key was not free');
    const repeat = call('POST', '/v1/clients', who, body, key);
    let settled = false;
    void repeat.finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(settled).toBe(false);
    const answer = JSON.stringify({ held: true });
    await finishIdempotentRequest(held.run, 201, { contentType: 'application/json; charset=utf-8', body: answer });
    const replayed = await repeat;
    expect(replayed.statusCode).toBe(201);
    expect(replayed.body).toBe(answer);
    expect(replayed.headers['idempotency-replayed']).toBe('true');
    expect(await clientsOf(who)).toHaveLength(0);

    // Rolled back instead, the waiting repeat takes the key and runs.
    const other = uniqueKey();
    const second = await beginIdempotentRequest(ctx, { ...request, key: other });
    if (second.kind !== 'run') throw new Error('the key was not free');
    const waiting = call('POST', '/v1/clients', who, body, other);
    await new Promise((r) => setTimeout(r, 300));
    await releaseIdempotentRequest(second.run);
    const ran = await waiting;
    expect(ran.statusCode, ran.body).toBe(201);
    expect(ran.headers['idempotency-replayed']).toBeUndefined();
    expect(await clientsOf(who)).toHaveLength(1);
  });

  it('never runs again a key a request died holding before the upgrade: 409 in the HSP error shape until it expires', async () => {
    const who = await freshReseller();
    const key = uniqueKey();
    const body = clientBody();
    const start = Date.now();
    t.setNow(new Date(start));
    try {
      // Committed while still in progress, as the claim of a request killed before this design was.
      const ctx = ctxFor(t.app.deps, { kind: 'reseller', resellerId: who.id });
      const held = await beginIdempotentRequest(ctx, { key, method: 'POST', route: '/v1/clients', path: '/v1/clients', params: {}, query: {}, body });
      if (held.kind !== 'run') throw new Error('the key was not free');
      await held.run.trx.commit().execute();
      for (const later of [0, 6 * 60_000, 23 * 3600_000]) {
        t.setNow(new Date(start + later));
        const busy = await call('POST', '/v1/clients', who, body, key);
        expect(busy.statusCode).toBe(409);
        expect(busy.json()).toEqual({ errors: { base: ['a request with this Idempotency-Key is still in progress'] } });
      }
      // A different body is still refused as a different request.
      expect((await call('POST', '/v1/clients', who, clientBody(), key)).statusCode).toBe(422);
      expect(await clientsOf(who)).toHaveLength(0);
      // Like any key, it is forgotten after 24 hours.
      t.setNow(new Date(start + 24 * 3600_000 + 1000));
      const fresh = await call('POST', '/v1/clients', who, body, key);
      expect(fresh.statusCode, fresh.body).toBe(201);
      expect(await clientsOf(who)).toHaveLength(1);
    } finally {
      t.setNow(new Date());
    }
  });

  it('scopes keys to the reseller: the same key from two resellers creates two clients', async () => {
    const key = uniqueKey();
    const a = await call('POST', '/v1/clients', alice, clientBody(), key);
    const b = await call('POST', '/v1/clients', bob, clientBody(), key);
    expect(a.statusCode).toBe(201);
    expect(b.statusCode).toBe(201);
    expect(b.headers['idempotency-replayed']).toBeUndefined();
    expect(b.json().id).not.toBe(a.json().id);
    expect((await call('GET', `/v1/clients/${b.json().id}`, bob)).statusCode).toBe(200);
    expect((await call('GET', `/v1/clients/${b.json().id}`, alice)).statusCode).toBe(404);
  });

  it('keeps client errors: a repeated invalid request gets the same 422 without running again', async () => {
    const key = uniqueKey();
    const bad = { ...clientBody(), package_uid: 'no-such-package' };
    const first = await call('POST', '/v1/clients', alice, bad, key);
    expect(first.statusCode).toBe(422);
    const again = await call('POST', '/v1/clients', alice, bad, key);
    expect(again.statusCode).toBe(422);
    expect(again.body).toBe(first.body);
    expect(again.headers['idempotency-replayed']).toBe('true');
  });

  it('does not keep a 5xx: the key is free again and the retry runs', async () => {
    const who = await freshReseller();
    const key = uniqueKey();
    const body = clientBody();
    // A database fault inside the request, like a failed disk or a dropped connection.
    await sql`create or replace function idem_fail() returns trigger language plpgsql as $$ begin raise exception 'simulated storage failure'; end $$`.execute(t.app.deps.db);
    await sql`create trigger idem_fail before insert on clients for each row execute function idem_fail()`.execute(t.app.deps.db);
    let failed;
    try {
      failed = await call('POST', '/v1/clients', who, body, key);
    } finally {
      await sql`drop trigger idem_fail on clients`.execute(t.app.deps.db);
    }
    expect(failed.statusCode).toBe(500);
    expect(await clientsOf(who)).toHaveLength(0);

    const retry = await call('POST', '/v1/clients', who, body, key);
    expect(retry.statusCode, retry.body).toBe(201);
    expect(retry.headers['idempotency-replayed']).toBeUndefined();
    expect(await clientsOf(who)).toHaveLength(1);
  });

  it('refuses a malformed key with 422 and runs nothing', async () => {
    const who = await freshReseller();
    for (const key of ['', 'k'.repeat(256), 'tab\tkey', 'clé']) {
      const res = await call('POST', '/v1/clients', who, clientBody(), key);
      expect(res.statusCode, JSON.stringify(key)).toBe(422);
      expect(res.json()).toEqual({ errors: { base: ['Idempotency-Key must be 1 to 255 printable ASCII characters'] } });
    }
    expect(await clientsOf(who)).toHaveLength(0);
    // The longest key allowed, of every printable character, is fine.
    const printable = Array.from({ length: 95 }, (_, i) => String.fromCharCode(0x20 + i)).join('');
    const longest = (printable + printable + printable).slice(0, 255).trim().padEnd(255, 'x');
    expect((await call('POST', '/v1/clients', who, clientBody(), longest)).statusCode).toBe(201);
  });

  it('keeps no response in the clear: the stored key is a digest and the body is encrypted', async () => {
    const key = uniqueKey();
    const body = clientBody();
    expect((await call('POST', '/v1/clients', alice, body, key)).statusCode).toBe(201);
    const rows = await t.app.deps.db.selectFrom('idempotency_keys').selectAll().where('path', '=', '/v1/clients').execute();
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row.key_digest).not.toBe(key);
      expect(row.response_body ?? '').not.toContain(body.domains[0]!.name);
    }
    expect(rows.some((r) => r.scope === `reseller:${alice.id} POST /v1/clients` && r.state === 'done' && r.response_status === 201)).toBe(true);
  });
});

describe('Idempotency-Key on PUT and DELETE /v1/clients/:id', () => {
  it('replays a PUT, and refuses the key on another client (same route, different request)', async () => {
    const created = await call('POST', '/v1/clients', alice, clientBody());
    const id = created.json().id as number;
    const other = (await call('POST', '/v1/clients', alice, clientBody())).json().id as number;
    const key = uniqueKey();

    const first = await call('PUT', `/v1/clients/${id}`, alice, { user_count: 7 }, key);
    expect(first.statusCode).toBe(200);
    expect(first.json().user_count).toBe(7);
    // Changed in between without a key; the replay answers with the first response and changes nothing.
    expect((await call('PUT', `/v1/clients/${id}`, alice, { user_count: 3 })).statusCode).toBe(200);
    const again = await call('PUT', `/v1/clients/${id}`, alice, { user_count: 7 }, key);
    expect(again.statusCode).toBe(200);
    expect(again.body).toBe(first.body);
    expect(again.headers['idempotency-replayed']).toBe('true');
    expect((await call('GET', `/v1/clients/${id}`, alice)).json().user_count).toBe(3);

    const elsewhere = await call('PUT', `/v1/clients/${other}`, alice, { user_count: 7 }, key);
    expect(elsewhere.statusCode).toBe(422);
    expect(elsewhere.json()).toEqual({ errors: { base: ['Idempotency-Key was already used with a different request'] } });
    expect((await call('GET', `/v1/clients/${other}`, alice)).json().user_count).toBe(1);

    // A key belongs to its method and route: the same key on POST /v1/clients is a new request.
    expect((await call('POST', '/v1/clients', alice, clientBody(), key)).statusCode).toBe(201);
  });

  it('replays a DELETE with the first answer instead of what a second cancel would say', async () => {
    const id = (await call('POST', '/v1/clients', alice, clientBody())).json().id as number;
    const key = uniqueKey();
    const first = await call('DELETE', `/v1/clients/${id}`, alice, undefined, key);
    expect(first.statusCode).toBe(200);
    expect(first.json().id).toBe(id);
    // A client retrying its DELETE after a lost answer gets the 200 again, not the 404 a second cancel gives.
    const again = await call('DELETE', `/v1/clients/${id}`, alice, undefined, key);
    expect(again.statusCode).toBe(200);
    expect(again.body).toBe(first.body);
    expect(again.headers['idempotency-replayed']).toBe('true');
    expect((await call('DELETE', `/v1/clients/${id}`, alice)).statusCode).toBe(404);
    expect((await call('DELETE', `/v1/clients/${id}`, alice, undefined, uniqueKey())).statusCode).toBe(404);
  });
});

describe('where Idempotency-Key does not apply', () => {
  it('GET ignores the header, even a malformed one', async () => {
    const id = (await call('POST', '/v1/clients', alice, clientBody())).json().id as number;
    const key = uniqueKey();
    const first = await call('GET', `/v1/clients/${id}`, alice, undefined, key);
    expect(first.statusCode).toBe(200);
    expect((await call('PUT', `/v1/clients/${id}`, alice, { user_count: 9 })).statusCode).toBe(200);
    const second = await call('GET', `/v1/clients/${id}`, alice, undefined, key);
    expect(second.headers['idempotency-replayed']).toBeUndefined();
    expect(second.json().user_count).toBe(9);
    expect((await call('GET', `/v1/clients/${id}`, alice, undefined, 'k'.repeat(300))).statusCode).toBe(200);
    const stored = await t.app.deps.db.selectFrom('idempotency_keys').select('scope').where('method', '=', 'GET').execute();
    expect(stored).toEqual([]);
  });

  it('the public sign-up ignores it: there is no credential to keep the answer for', async () => {
    const key = uniqueKey();
    const form = { captcha: { id: '00000000-0000-0000-0000-000000000000', answer: 'x' }, reseller: { name: 'X', email_address: 'x@example.com', username: 'x-signup' } };
    const first = await t.app.server.inject({ method: 'POST', url: '/v1/resellers', headers: { 'idempotency-key': key }, payload: form });
    const second = await t.app.server.inject({ method: 'POST', url: '/v1/resellers', headers: { 'idempotency-key': key }, payload: form });
    expect(first.statusCode).toBe(422);
    expect(second.statusCode).toBe(422);
    expect(second.headers['idempotency-replayed']).toBeUndefined();
    // Every failed sign-up returns a fresh captcha: the second answer was not the first one replayed.
    expect(second.json().captcha.id).not.toBe(first.json().captcha.id);
  });
});

describe('expiry', () => {
  it('after 24 hours a key is forgotten: it runs again, and the periodic cleanup deletes it', async () => {
    const who = await freshReseller();
    const key = uniqueKey();
    const start = Date.now();
    t.setNow(new Date(start));
    try {
      const first = await call('POST', '/v1/clients', who, clientBody(), key);
      expect(first.statusCode).toBe(201);
      // Within the 24 hours, another body is refused ...
      t.setNow(new Date(start + 23 * 3600_000));
      expect((await call('POST', '/v1/clients', who, clientBody(), key)).statusCode).toBe(422);
      // ... after them, the key is free for a new request.
      t.setNow(new Date(start + 25 * 3600_000));
      const later = await call('POST', '/v1/clients', who, clientBody(), key);
      expect(later.statusCode).toBe(201);
      expect(later.headers['idempotency-replayed']).toBeUndefined();
      expect(await clientsOf(who)).toHaveLength(2);

      const scope = `reseller:${who.id} POST /v1/clients`;
      const count = async () => (await t.app.deps.db.selectFrom('idempotency_keys').select('scope').where('scope', '=', scope).execute()).length;
      expect(await count()).toBe(1);
      t.setNow(new Date(start + 50 * 3600_000));
      await cleanUpExpired(ctxFor(t.app.deps, { kind: 'system' }));
      expect(await count()).toBe(0);
    } finally {
      t.setNow(new Date());
    }
  });
});
