import nodeHttp from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditMark, auditSince } from '../support/audit.js';
import { solveCaptcha } from '../support/captcha-solver.js';
import { createReseller, createTestApp, seedDemoCatalog, type ResellerFixture, type TestApp } from '../support/test-app.js';

// A keyed request runs in the transaction that holds its key: what it changes and the answer it
// stores commit together. These cases go through the HTTP doors on the real database: concurrent
// repeats of one key, a use case failing after it wrote, a COMMIT that fails, a client that leaves.

let t: TestApp;
let alice: ResellerFixture;
const operator = () => ({ authorization: `Bearer ${t.operatorKey}` });

beforeAll(async () => {
  t = await createTestApp();
  await seedDemoCatalog(t);
  alice = await createReseller(t);
});
afterAll(() => t.close());

let n = 0;
const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${n++}`;
const clientBody = (domain = `${unique('tx')}.test`) => ({ package_uid: 'spamstopshere-standard', user_count: 1, name: 'Tx Customer', domains: [{ name: domain }] });
const postClient = (body: unknown, key?: string, who = alice) =>
  t.app.server.inject({ method: 'POST', url: '/v1/clients', headers: { authorization: who.auth, ...(key !== undefined ? { 'idempotency-key': key } : {}) }, payload: body as object });
const clientsWith = async (domain: string, who = alice) => ((await t.app.server.inject({ method: 'GET', url: '/v1/clients', headers: { authorization: who.auth } })).json() as { domains: { name: string }[] }[]).filter((c) => c.domains.some((d) => d.name === domain));
const keyRows = (path: string) => t.app.deps.db.selectFrom('idempotency_keys').select(['state', 'response_status']).where('path', '=', path).execute();

async function signUp(username: string): Promise<number> {
  const form = (await t.app.server.inject({ method: 'GET', url: '/v1/resellers/new' })).json() as { captcha: { id: string; question: string } };
  const res = await t.app.server.inject({
    method: 'POST',
    url: '/v1/resellers',
    payload: { captcha: { id: form.captcha.id, answer: solveCaptcha(form.captcha.question) }, reseller: { name: `${username} Ltd`, email_address: `${username}@example.com`, username } },
  });
  expect(res.statusCode, res.body).toBe(201);
  return (res.json() as { reseller: { id: number } }).reseller.id;
}

describe('happy: concurrent repeats of one key', () => {
  it('POST /v1/clients eight times at once with one key: one run, seven byte-for-byte replays, no 409', async () => {
    const who = await createReseller(t);
    const key = unique('same');
    const body = clientBody();
    const answers = await Promise.all(Array.from({ length: 8 }, () => postClient(body, key, who)));
    const ran = answers.filter((a) => a.headers['idempotency-replayed'] === undefined);
    expect(ran).toHaveLength(1);
    expect(ran[0]!.statusCode, ran[0]!.body).toBe(201);
    for (const a of answers) {
      expect(a.statusCode).toBe(201);
      expect(a.body).toBe(ran[0]!.body);
    }
    expect(await clientsWith(body.domains[0]!.name, who)).toHaveLength(1);
  });

  it('CRM payments/create six times at once with one key: one payment, one subscription', async () => {
    const token = await t.app.server.inject({ method: 'POST', url: '/admin/v1/api-tokens', headers: operator(), payload: { name: unique('pay'), allow: ['/api/v1/payments/create'] } });
    expect(token.statusCode, token.body).toBe(201);
    const type = await t.app.server.inject({ method: 'POST', url: '/admin/v1/subscription-types', headers: operator(), payload: { code: unique('tx_type').replace(/-/g, '_'), name: 'Tx', length: 31, access: ['web'] } });
    expect(type.statusCode, type.body).toBe(201);
    const email = `${unique('payer')}@example.com`;
    const user = await t.app.server.inject({ method: 'POST', url: '/api/v1/users/register', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ email, password: 'secret-pass' }) });
    expect(user.statusCode, user.body).toBe(200);
    const typeId = (type.json() as { id: number }).id;
    const payload = JSON.stringify({ email, subscription_type_id: typeId, items: [{ subscription_type_id: typeId, name: 'Tx', count: 1, price: 10 }] });
    const key = unique('pay');
    const answers = await Promise.all(
      Array.from({ length: 6 }, () =>
        t.app.server.inject({ method: 'POST', url: '/api/v1/payments/create', headers: { authorization: `Bearer ${(token.json() as { token: string }).token}`, 'content-type': 'application/json', 'idempotency-key': key }, payload }),
      ),
    );
    expect(answers.filter((a) => a.headers['idempotency-replayed'] === undefined)).toHaveLength(1);
    for (const a of answers) {
      expect(a.statusCode, a.body).toBe(200);
      expect(a.body).toBe(answers[0]!.body);
    }
    const userId = (user.json() as { user: { id: number } }).user.id;
    expect(await t.app.deps.db.selectFrom('payments').select('id').where('user_id', '=', userId).execute()).toHaveLength(1);
    expect(await t.app.deps.db.selectFrom('subscriptions').select('id').where('user_id', '=', userId).execute()).toHaveLength(1);
  });
});

describe('error: a use case that fails after it wrote', () => {
  it('approving a sign-up with a taken login (refused after the approval was written) leaves it pending, and the 422 replays', async () => {
    const holder = await createReseller(t);
    const takenLogin = unique('taken');
    expect((await t.app.server.inject({ method: 'PUT', url: `/admin/v1/resellers/${holder.id}/login`, headers: operator(), payload: { login: takenLogin, password: 'console password 1' } })).statusCode).toBe(200);
    const id = await signUp(unique('pending'));
    const mark = await auditMark(t);
    const key = unique('approve');
    const approve = () => t.app.server.inject({ method: 'POST', url: `/admin/v1/resellers/${id}/approve`, headers: { ...operator(), 'idempotency-key': key }, payload: { login: takenLogin, password: 'console password 2' } });
    const refused = await approve();
    expect(refused.statusCode).toBe(422);
    expect(refused.json()).toMatchObject({ error: { fields: { login: ['has already been taken'] } } });
    // The approval the use case wrote before it met the taken login is not there.
    const still = await t.app.server.inject({ method: 'GET', url: `/admin/v1/resellers/${id}`, headers: operator() });
    expect(still.json()).toMatchObject({ status: 'pending', approved_at: null });
    expect((await auditSince(t, mark)).filter((e) => e.target_id === String(id))).toEqual([]);
    // The key keeps the error: the repeat is the same 422, replayed, and still changes nothing.
    const again = await approve();
    expect(again.statusCode).toBe(422);
    expect(again.body).toBe(refused.body);
    expect(again.headers['idempotency-replayed']).toBe('true');
    expect((await t.app.server.inject({ method: 'GET', url: `/admin/v1/resellers/${id}`, headers: operator() })).json()).toMatchObject({ status: 'pending' });
    // And the reseller can still be approved (without the key) with a free login.
    const ok = await t.app.server.inject({ method: 'POST', url: `/admin/v1/resellers/${id}/approve`, headers: operator(), payload: { login: unique('free'), password: 'console password 2' } });
    expect(ok.statusCode, ok.body).toBe(200);
  });
});

describe('error: the COMMIT fails', () => {
  it('answers 503, not 201, creates nothing, keeps no key, leaks no connection; the retry runs once', async () => {
    const who = await createReseller(t);
    const db = t.app.deps.db;
    // A deferred constraint trigger fails at COMMIT, after the use case and the stored answer succeeded.
    await sql`create or replace function idem_fail_commit() returns trigger language plpgsql as $$ begin raise exception 'simulated commit failure'; end $$`.execute(db);
    await sql`create constraint trigger idem_fail_commit after insert on clients deferrable initially deferred for each row execute function idem_fail_commit()`.execute(db);
    const body = clientBody();
    const key = unique('commit');
    try {
      // More failures than the PostgreSQL test pool has connections: a leaked one would hang the next request.
      for (let i = 0; i < 7; i++) {
        const failed = await postClient(body, key, who);
        expect(failed.statusCode, failed.body).toBe(503);
        expect(failed.json()).toEqual({ errors: { base: ['the change could not be saved; retry with the same Idempotency-Key'] } });
        expect(failed.headers['idempotency-replayed']).toBeUndefined();
      }
    } finally {
      await sql`drop trigger idem_fail_commit on clients`.execute(db);
    }
    expect(await clientsWith(body.domains[0]!.name, who)).toHaveLength(0);
    expect(await keyRows('/v1/clients').then((rows) => rows.filter((r) => r.state === 'in_progress'))).toEqual([]);
    const retry = await postClient(body, key, who);
    expect(retry.statusCode, retry.body).toBe(201);
    expect(retry.headers['idempotency-replayed']).toBeUndefined();
    const again = await postClient(body, key, who);
    expect(again.headers['idempotency-replayed']).toBe('true');
    expect(again.body).toBe(retry.body);
    expect(await clientsWith(body.domains[0]!.name, who)).toHaveLength(1);
  });
});

describe('security: a client that leaves mid-request', () => {
  it('ends the transaction either way: the key is then done or free, and the server keeps answering', async () => {
    await t.app.server.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.server.address() as AddressInfo;
    const who = await createReseller(t);
    const db = t.app.deps.db;
    // The insert takes a while, so the client is gone before the request ends.
    await sql`create or replace function idem_slow() returns trigger language plpgsql as $$ begin perform pg_sleep(0.5); return new; end $$`.execute(db);
    await sql`create trigger idem_slow before insert on clients for each row execute function idem_slow()`.execute(db);
    const bodies = Array.from({ length: 6 }, () => clientBody());
    const keys = bodies.map(() => unique('gone'));
    try {
      await Promise.all(
        bodies.map(
          (body, i) =>
            new Promise<void>((resolve) => {
              const req = nodeHttp.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/clients', headers: { authorization: who.auth, 'content-type': 'application/json', 'idempotency-key': keys[i]! } });
              req.on('error', () => resolve());
              req.on('response', (res) => {
                res.resume();
                res.on('end', () => resolve());
              });
              req.end(JSON.stringify(body));
              setTimeout(() => req.destroy(), 100);
            }),
        ),
      );
    } finally {
      // Waits for the requests still running on the server (the drop needs their locks).
      await sql`drop trigger idem_slow on clients`.execute(db);
    }
    // Each key was committed with its answer (replayed now) or rolled back with its change (runs now).
    for (const [i, body] of bodies.entries()) {
      const res = await postClient(body, keys[i], who);
      expect(res.statusCode, res.body).toBe(201);
      expect(await clientsWith(body.domains[0]!.name, who)).toHaveLength(1);
    }
    expect(await keyRows('/v1/clients').then((rows) => rows.filter((r) => r.state === 'in_progress'))).toEqual([]);
  });
});
