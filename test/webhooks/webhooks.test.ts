import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RELAY_MAX_ATTEMPTS } from '../../src/core/domains/domain-provisioning.js';
import { WEBHOOK_MAX_ATTEMPTS } from '../../src/core/webhooks/webhook.schema.js';
import { solveCaptcha } from '../support/captcha-solver.js';
import type { RelayDriver } from '../../src/relay/relay-driver.js';
import { createReseller, createTestApp, seedDemoCatalog, type ResellerFixture, type TestApp } from '../support/test-app.js';
import { signatureValid, startReceiver, type Receiver } from './receiver.js';

// Relay changes succeed at once, so domains become ready (and domain.ready is emitted) when jobs drain;
// with relayDown they fail, like a relay that cannot be reached, until their job runs out of attempts.
let relayDown = false;
const relay: RelayDriver = {
  name: 'noop',
  apply: async () => {
    if (relayDown) throw new Error('relay unreachable');
  },
  provisionDomain: async () => {},
  updateDomain: async () => {},
  deprovisionDomain: async () => {},
};

let t: TestApp;
let receiver: Receiver;
let alice: ResellerFixture;
let bob: ResellerFixture;
const SECRET = 'alice-signing-secret-0123456789';
const admin = () => ({ authorization: `Bearer ${t.operatorKey}` });
let now = Date.now();
const advance = (ms: number) => {
  now += ms;
  t.setNow(new Date(now));
};

beforeAll(async () => {
  t = await createTestApp({ HOSTPLANE_WEBHOOK_ALLOW_PRIVATE: 'true' }, { relayDriver: relay, jobRunner: { backoffBaseMs: 1000, backoffMaxMs: 60_000 } });
  t.setNow(new Date(now));
  receiver = await startReceiver();
  await seedDemoCatalog(t);
  alice = await createReseller(t);
  bob = await createReseller(t);
});
afterAll(async () => {
  await t.close();
  await receiver.close();
});

let n = 0;
async function createClient(r: ResellerFixture): Promise<number> {
  const res = await t.app.server.inject({
    method: 'POST',
    url: '/v1/clients',
    headers: { authorization: r.auth },
    payload: { package_uid: 'spamstopshere-professional', user_count: 1, domains: [{ name: `hook-${Date.now().toString(36)}-${n++}.test` }] },
  });
  expect(res.statusCode, res.body).toBe(201);
  return (res.json() as { id: number }).id;
}

async function register(auth: string, payload: Record<string, unknown>, url = '/v1/webhooks') {
  return t.app.server.inject({ method: 'POST', url, headers: { authorization: auth }, payload });
}

async function deliveries(auth: string, endpointId: number) {
  const res = await t.app.server.inject({ method: 'GET', url: `/v1/webhooks/${endpointId}/deliveries`, headers: { authorization: auth } });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { id: number; event_id: string; event_type: string; status: string; attempts: number; last_status_code: number | null; last_error: string | null }[];
}

const since = (mark: number) => receiver.received.slice(mark);

describe('webhooks', () => {
  let aliceHook: number;

  it('a reseller registers an endpoint; the secret it chose is not echoed', async () => {
    const res = await register(alice.auth, { url: `${receiver.url}/alice`, event_types: ['client.created', 'client.cancelled'], secret: SECRET });
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({ reseller_id: alice.id, url: `${receiver.url}/alice`, event_types: ['client.created', 'client.cancelled'], active: true });
    expect(body.secret).toBeUndefined();
    aliceHook = body.id;
    const list = await t.app.server.inject({ method: 'GET', url: '/v1/webhooks', headers: { authorization: alice.auth } });
    expect(list.json().map((e: { id: number }) => e.id)).toEqual([aliceHook]);
  });

  it('client.created is delivered, signed, with the event id in header and body', async () => {
    const mark = receiver.received.length;
    const clientId = await createClient(alice);
    await t.app.jobs.drain();
    const got = since(mark).filter((r) => r.path === '/alice');
    expect(got).toHaveLength(1);
    const [req] = got;
    expect(req!.headers['content-type']).toBe('application/json');
    expect(signatureValid(req!.headers['hostplane-signature'], req!.body, SECRET)).toBe(true);
    expect(signatureValid(req!.headers['hostplane-signature'], req!.body, 'some-other-secret-000000')).toBe(false);
    expect(req!.json.type).toBe('client.created');
    expect(req!.json.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(req!.headers['hostplane-event-id']).toBe(req!.json.id);
    expect(req!.json.data).toMatchObject({ object: 'client', id: String(clientId), reseller_id: alice.id });
    const [d] = await deliveries(alice.auth, aliceHook);
    expect(d).toMatchObject({ event_id: req!.json.id, event_type: 'client.created', status: 'delivered', attempts: 1, last_status_code: 200, last_error: null });
  });

  it('a failing receiver gets the same event again after backoff, until it accepts it', async () => {
    const mark = receiver.received.length;
    receiver.status = 500;
    await createClient(alice);
    await t.app.jobs.drain();
    expect(since(mark)).toHaveLength(1);
    let [d] = await deliveries(alice.auth, aliceHook);
    expect(d).toMatchObject({ status: 'pending', attempts: 1, last_status_code: 500 });
    expect(d!.last_error).toMatch(/500/);

    // Not due yet: nothing is sent again before the backoff has passed.
    await t.app.jobs.drain();
    expect(since(mark)).toHaveLength(1);

    advance(10 * 60_000);
    await t.app.jobs.drain();
    expect(since(mark)).toHaveLength(2);
    receiver.status = 200;
    advance(10 * 60_000);
    await t.app.jobs.drain();
    const got = since(mark);
    expect(got).toHaveLength(3);
    expect(new Set(got.map((r) => r.json.id)).size).toBe(1);
    expect(new Set(got.map((r) => r.headers['hostplane-event-id'])).size).toBe(1);
    for (const r of got) expect(signatureValid(r.headers['hostplane-signature'], r.body, SECRET)).toBe(true);
    [d] = await deliveries(alice.auth, aliceHook);
    expect(d).toMatchObject({ event_id: got[0]!.json.id, status: 'delivered', attempts: 3, last_status_code: 200, last_error: null });
  });

  it('a delivery can be replayed: a new delivery of the same event id and body', async () => {
    const [latest] = await deliveries(alice.auth, aliceHook);
    const mark = receiver.received.length;
    const res = await t.app.server.inject({ method: 'POST', url: `/v1/webhook-deliveries/${latest!.id}/replay`, headers: { authorization: alice.auth } });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ event_id: latest!.event_id, status: 'pending', attempts: 0 });
    await t.app.jobs.drain();
    const got = since(mark);
    expect(got).toHaveLength(1);
    expect(got[0]!.json.id).toBe(latest!.event_id);
    const list = await deliveries(alice.auth, aliceHook);
    expect(list[0]).toMatchObject({ id: res.json().id, event_id: latest!.event_id, status: 'delivered' });
    expect(list[1]!.id).toBe(latest!.id);
  });

  it('events of other types or other resellers are not sent to an endpoint', async () => {
    const mark = receiver.received.length;
    await createClient(bob);
    await t.app.jobs.drain(); // alice's endpoint wants client.created, but this is bob's client; domain.ready is not subscribed
    expect(since(mark)).toEqual([]);
  });

  it('an operator endpoint sees every reseller’s events, including domain.ready and client.cancelled', async () => {
    const res = await register(admin().authorization, { url: `${receiver.url}/ops`, event_types: ['client.created', 'domain.ready', 'client.cancelled'] }, '/admin/v1/webhooks');
    expect(res.statusCode, res.body).toBe(201);
    const hook = res.json();
    expect(hook.reseller_id).toBeNull();
    expect(hook.secret).toMatch(/^whsec_/);
    expect(hook.secret.length).toBeGreaterThanOrEqual(32);

    const mark = receiver.received.length;
    const clientId = await createClient(bob);
    await t.app.jobs.drain();
    const ops = since(mark).filter((r) => r.path === '/ops');
    expect(ops.map((r) => r.json.type).sort()).toEqual(['client.created', 'domain.ready']);
    for (const r of ops) expect(signatureValid(r.headers['hostplane-signature'], r.body, hook.secret)).toBe(true);
    expect(since(mark).filter((r) => r.path === '/alice')).toEqual([]);

    const m2 = receiver.received.length;
    const del = await t.app.server.inject({ method: 'DELETE', url: `/v1/clients/${clientId}`, headers: { authorization: bob.auth } });
    expect(del.statusCode, del.body).toBe(200);
    await t.app.jobs.drain();
    expect(since(m2).map((r) => [r.path, r.json.type])).toEqual([['/ops', 'client.cancelled']]);

    const all = await t.app.server.inject({ method: 'GET', url: '/admin/v1/webhooks', headers: admin() });
    expect(all.json().map((e: { id: number }) => e.id).sort()).toEqual([aliceHook, hook.id].sort());
    const opsDeliveries = await t.app.server.inject({ method: 'GET', url: `/admin/v1/webhooks/${hook.id}/deliveries`, headers: admin() });
    expect(opsDeliveries.json().map((d: { status: string }) => d.status)).toEqual(['delivered', 'delivered', 'delivered']);
  });

  it('another reseller’s endpoint and deliveries are not found', async () => {
    const [d] = await deliveries(alice.auth, aliceHook);
    for (const [method, url] of [
      ['GET', `/v1/webhooks/${aliceHook}/deliveries`],
      ['DELETE', `/v1/webhooks/${aliceHook}`],
      ['POST', `/v1/webhook-deliveries/${d!.id}/replay`],
      ['GET', '/v1/webhooks/abc/deliveries'],
    ] as const) {
      const res = await t.app.server.inject({ method, url, headers: { authorization: bob.auth } });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      expect(res.json()).toEqual({ errors: { base: ['Not found'] } });
    }
    const list = await t.app.server.inject({ method: 'GET', url: '/v1/webhooks', headers: { authorization: bob.auth } });
    expect(list.json()).toEqual([]);
  });

  it('pages an endpoint’s deliveries, newest first, and filters them by status', async () => {
    for (let i = 0; i < 3; i++) await createClient(alice);
    await t.app.jobs.drain();
    const all = await deliveries(alice.auth, aliceHook);
    expect(all.length).toBeGreaterThanOrEqual(5);
    const page = async (query: string, headers = { authorization: alice.auth }, base = `/v1/webhooks/${aliceHook}/deliveries`) => {
      const res = await t.app.server.inject({ method: 'GET', url: `${base}?${query}`, headers });
      return { status: res.statusCode, body: res.json() };
    };
    const seen: number[] = [];
    let before: number | undefined;
    for (;;) {
      const res = await page(`limit=2${before !== undefined ? `&before=${before}` : ''}`);
      expect(res.status).toBe(200);
      const ids = (res.body as { id: number }[]).map((d) => d.id);
      seen.push(...ids);
      if (ids.length < 2) break;
      before = ids[ids.length - 1];
    }
    expect(seen).toEqual(all.map((d) => d.id));
    const delivered = await page('status=delivered');
    expect(delivered.body.length).toBeGreaterThan(0);
    expect(new Set(delivered.body.map((d: { status: string }) => d.status))).toEqual(new Set(['delivered']));
    // The operator's view of the same endpoint pages the same way.
    const ops = await page('limit=1', admin(), `/admin/v1/webhooks/${aliceHook}/deliveries`);
    expect(ops.body.map((d: { id: number }) => d.id)).toEqual([all[0]!.id]);

    for (const bad of ['limit=0', 'limit=101', 'limit=x', 'before=-1', 'status=sent', 'page=2']) {
      const res = await page(bad);
      expect(res.status, bad).toBe(422);
      expect(Object.keys(res.body.errors).length, bad).toBeGreaterThan(0);
      const asOps = await page(bad, admin(), `/admin/v1/webhooks/${aliceHook}/deliveries`);
      expect(asOps.status, bad).toBe(422);
      expect(asOps.body.error.code, bad).toBe('validation_failed');
    }
    expect((await page('limit=1', { authorization: bob.auth })).status).toBe(404);
  });

  it('requires authentication', async () => {
    for (const [method, url] of [
      ['GET', '/v1/webhooks'],
      ['POST', '/v1/webhooks'],
      ['GET', '/v1/webhooks/1/deliveries'],
      ['POST', '/v1/webhook-deliveries/1/replay'],
      ['GET', '/admin/v1/webhooks'],
      ['POST', '/admin/v1/webhooks'],
    ] as const) {
      const res = await t.app.server.inject({ method, url, payload: method === 'POST' ? {} : undefined });
      expect(res.statusCode, `${method} ${url}`).toBe(401);
    }
  });

  it('validates its input', async () => {
    const res = await register(alice.auth, { url: `${receiver.url}/x`, event_types: ['client.exploded'], secret: 'short' });
    expect(res.statusCode).toBe(422);
    expect(Object.keys(res.json().errors).sort()).toEqual(['event_types', 'secret']);
    const empty = await register(alice.auth, { url: `${receiver.url}/x`, event_types: [] });
    expect(empty.statusCode).toBe(422);
    expect(empty.json().errors.event_types).toEqual(['must name at least one event type']);
  });

  it('a delivery that never succeeds is marked failed once its attempts are used up', async () => {
    receiver.status = 503;
    const mark = receiver.received.length;
    await createClient(alice);
    await t.app.jobs.drain();
    for (let i = 0; i < 100; i++) {
      advance(2 * 60 * 60_000);
      if ((await t.app.jobs.drain()) === 0) break;
    }
    receiver.status = 200;
    const [d] = await deliveries(alice.auth, aliceHook);
    expect(d).toMatchObject({ status: 'failed', attempts: WEBHOOK_MAX_ATTEMPTS, last_status_code: 503 });
    expect(since(mark).filter((r) => r.path === '/alice')).toHaveLength(WEBHOOK_MAX_ATTEMPTS);
  });

  it('creating, replaying and deleting are audited; a deleted endpoint gets nothing more', async () => {
    const audit = await t.app.server.inject({ method: 'GET', url: '/v1/audit?target_type=webhook', headers: { authorization: alice.auth } });
    expect(audit.json().events.map((e: { action: string }) => e.action)).toEqual(['webhook.created']);
    const del = await t.app.server.inject({ method: 'DELETE', url: `/v1/webhooks/${aliceHook}`, headers: { authorization: alice.auth } });
    expect(del.statusCode, del.body).toBe(200);
    expect(del.json().active).toBe(false);
    const mark = receiver.received.length;
    await createClient(alice);
    await t.app.jobs.drain();
    expect(since(mark).filter((r) => r.path === '/alice')).toEqual([]);
    const gone = await t.app.server.inject({ method: 'GET', url: `/v1/webhooks/${aliceHook}/deliveries`, headers: { authorization: alice.auth } });
    expect(gone.statusCode).toBe(404);
    const after = await t.app.server.inject({ method: 'GET', url: '/v1/audit?target_type=webhook', headers: { authorization: alice.auth } });
    expect(after.json().events.map((e: { action: string }) => e.action)).toEqual(['webhook.deleted', 'webhook.created']);
    const replayed = await t.app.server.inject({ method: 'GET', url: '/v1/audit?action=webhook.delivery_replayed', headers: { authorization: alice.auth } });
    expect(replayed.json().events).toHaveLength(1);
  });
});

describe('the other event types', () => {
  const SECRET2 = 'alice-second-secret-abcdefghij';
  let aliceHook2: number;
  let opsHook: { id: number; secret: string };

  /** What one endpoint (by path) received since the mark, each checked against its secret. */
  function signedSince(mark: number, path: string, secret: string) {
    const got = since(mark).filter((r) => r.path === path);
    for (const r of got) {
      expect(signatureValid(r.headers['hostplane-signature'], r.body, secret), `signature of ${r.json.type}`).toBe(true);
      expect(r.headers['hostplane-event-id']).toBe(r.json.id);
    }
    return got;
  }

  beforeAll(async () => {
    const mine = await register(alice.auth, { url: `${receiver.url}/alice2`, event_types: ['client.updated', 'domain.failed'], secret: SECRET2 });
    expect(mine.statusCode, mine.body).toBe(201);
    aliceHook2 = mine.json().id;
    const ops = await register(admin().authorization, { url: `${receiver.url}/ops-approvals`, event_types: ['reseller.approved'] }, '/admin/v1/webhooks');
    expect(ops.statusCode, ops.body).toBe(201);
    opsHook = ops.json();
  });

  it('client.updated carries the changed fields, before and after', async () => {
    const clientId = await createClient(alice);
    await t.app.jobs.drain();
    const mark = receiver.received.length;
    const put = await t.app.server.inject({ method: 'PUT', url: `/v1/clients/${clientId}`, headers: { authorization: alice.auth }, payload: { user_count: 4, name: 'Renamed Customer' } });
    expect(put.statusCode, put.body).toBe(200);
    await t.app.jobs.drain();
    const got = signedSince(mark, '/alice2', SECRET2);
    expect(got.map((r) => r.json.type)).toEqual(['client.updated']);
    expect(got[0]!.json.data).toEqual({
      object: 'client',
      id: String(clientId),
      reseller_id: alice.id,
      changes: { user_count: { before: 1, after: 4 }, name: { before: null, after: 'Renamed Customer' } },
    });
    expect(got[0]!.headers['content-type']).toBe('application/json');
    const [d] = await deliveries(alice.auth, aliceHook2);
    expect(d).toMatchObject({ event_id: got[0]!.json.id, event_type: 'client.updated', status: 'delivered', attempts: 1 });
  });

  it('domain.failed once the relay job has used up its attempts', async () => {
    relayDown = true;
    const mark = receiver.received.length;
    try {
      const res = await t.app.server.inject({
        method: 'POST',
        url: '/v1/clients',
        headers: { authorization: alice.auth },
        payload: { package_uid: 'spamstopshere-professional', user_count: 1, domains: [{ name: `failing-${Date.now().toString(36)}.test` }] },
      });
      expect(res.statusCode, res.body).toBe(201);
      const name = (res.json() as { domains: { name: string }[] }).domains[0]!.name;
      await t.app.jobs.drain();
      const relayJob = async () =>
        ((await t.app.server.inject({ method: 'GET', url: '/admin/v1/jobs?kind=relay.apply', headers: admin() })).json().jobs as { id: number; state: string; attempts: number; payload: { domain: string } }[]).find((j) => j.payload.domain === name)!;
      // Nothing is sent while attempts remain: a failing relay is retried first.
      expect(await relayJob()).toMatchObject({ state: 'queued', attempts: 1 });
      expect(signedSince(mark, '/alice2', SECRET2)).toEqual([]);

      for (let i = 0; i < 100 && (await relayJob()).state !== 'failed'; i++) {
        advance(2 * 60_000);
        await t.app.jobs.drain();
      }
      expect(await relayJob()).toMatchObject({ state: 'failed', attempts: RELAY_MAX_ATTEMPTS });
      const got = signedSince(mark, '/alice2', SECRET2);
      expect(got.map((r) => r.json.type)).toEqual(['domain.failed']);
      expect(got[0]!.json.data).toEqual({ object: 'domain', id: name, reseller_id: alice.id, changes: { status: { before: 'initializing', after: 'unknown' } } });
      const status = await t.app.server.inject({ method: 'GET', url: `/v1/domains/${name}/status`, headers: { authorization: alice.auth } });
      expect(status.json().status).toBe('unknown');
    } finally {
      relayDown = false;
    }
  });

  it('reseller.approved reaches operator endpoints, without the credentials approval hands out', async () => {
    const ip = '198.51.100.77';
    const captcha = (await t.app.server.inject({ method: 'GET', url: '/v1/resellers/new', remoteAddress: ip })).json().captcha as { id: string; question: string };
    const username = `hooked-${Date.now().toString(36)}`;
    const signUp = await t.app.server.inject({
      method: 'POST',
      url: '/v1/resellers',
      remoteAddress: ip,
      payload: { captcha: { id: captcha.id, answer: solveCaptcha(captcha.question) }, reseller: { name: 'Hooked Hosting', email_address: `${username}@example.com`, username, application_name: 'cpanel' } },
    });
    expect(signUp.statusCode, signUp.body).toBe(201);
    const pending = (await t.app.server.inject({ method: 'GET', url: '/admin/v1/resellers?status=pending', headers: admin() })).json() as { id: number; username: string }[];
    const id = pending.find((r) => r.username === username)!.id;

    const mark = receiver.received.length;
    const approved = await t.app.server.inject({ method: 'POST', url: `/admin/v1/resellers/${id}/approve`, headers: admin() });
    expect(approved.statusCode, approved.body).toBe(200);
    await t.app.jobs.drain();
    const got = signedSince(mark, '/ops-approvals', opsHook.secret);
    expect(got.map((r) => r.json.type)).toEqual(['reseller.approved']);
    expect(got[0]!.json.data).toEqual({
      object: 'reseller',
      id: String(id),
      reseller_id: id,
      changes: { status: { before: 'pending', after: 'active' }, approved_at: { before: null, after: approved.json().approved_at } },
    });
    for (const secret of [approved.json().api_token, approved.json().api_key] as string[]) {
      expect(secret.length).toBeGreaterThan(0);
      expect(got[0]!.body).not.toContain(secret);
    }
    // Not an event alice's endpoints asked for, nor one of her own.
    expect(since(mark).filter((r) => r.path.startsWith('/alice'))).toEqual([]);
  });
});
