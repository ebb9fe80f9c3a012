import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditMark, auditSince, onlyEventSince, testOperatorKeyId, type AuditRow } from '../support/audit.js';
import { solveCaptcha } from '../support/captcha-solver.js';
import { hspFixture } from '../support/fixtures.js';
import { createReseller, createTestApp, seedDemoCatalog, type ResellerFixture, type TestApp } from '../support/test-app.js';

// Every mutation of the HSP reseller API (and the console's login landing) leaves exactly one audit
// event in the same transaction, with who, what, which record, the changed fields, request id and address.
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

const IP = '203.0.113.7';
let requests = 0;
const requestId = () => `audit-hsp-${++requests}`;

function call(r: ResellerFixture, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: object, rid = requestId()) {
  return t.app.server.inject({ method, url, headers: { authorization: r.auth, 'x-request-id': rid }, remoteAddress: IP, ...(payload ? { payload } : {}) });
}

let n = 0;
const uniqueDomain = () => `audit-${Date.now().toString(36)}-${n++}.test`;

async function newClient(r: ResellerFixture, overrides: Record<string, unknown> = {}) {
  const domain = uniqueDomain();
  const res = await call(r, 'POST', '/v1/clients', { package_uid: 'spamstopshere-professional', user_count: 3, name: 'Audited Customer', email_address: 'owner@customer.test', domains: [{ name: domain, mail_servers: ['mx1.customer.test'] }], ...overrides });
  expect(res.statusCode, res.body).toBe(201);
  return { id: res.json().id as number, domain };
}

async function resellerAudit(r: ResellerFixture, query = '') {
  const res = await t.app.server.inject({ method: 'GET', url: `/v1/audit${query ? `?${query}` : ''}`, headers: { authorization: r.auth } });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { events: AuditRow[]; next_before: number | null };
}

describe('HSP REST mutations write one audit event each', () => {
  it('POST /v1/clients: client.created by the reseller, fields after only, request id and address', async () => {
    const mark = await auditMark(t);
    const domain = uniqueDomain();
    const res = await call(
      alice,
      'POST',
      '/v1/clients',
      { package_uid: 'spamstopshere-professional', user_count: 4, name: 'New Customer', domains: [{ name: domain, mail_servers: ['mx1.new.test', 'mx2.new.test'] }] },
      'create-client-req-1',
    );
    expect(res.statusCode, res.body).toBe(201);
    const e = await onlyEventSince(t, mark);
    expect(e).toMatchObject({
      actor_kind: 'reseller',
      actor_id: alice.id,
      reseller_id: alice.id,
      action: 'client.created',
      target_type: 'client',
      target_id: String(res.json().id),
      request_id: 'create-client-req-1',
      source_ip: IP,
    });
    expect(e.changes).toEqual({
      package_uid: { after: 'spamstopshere-professional' },
      name: { after: 'New Customer' },
      user_count: { after: 4 },
      status: { after: 'active' },
      domains: { after: [{ name: domain, mail_servers: ['mx1.new.test', 'mx2.new.test'] }] },
    });
    expect(Date.now() - new Date(e.occurred_at).getTime()).toBeLessThan(60_000);
  });

  it('PUT /v1/clients/:id: client.updated with before and after of the changed fields only', async () => {
    const c = await newClient(alice);
    const mark = await auditMark(t);
    const res = await call(alice, 'PUT', `/v1/clients/${c.id}`, { name: 'Renamed Customer', user_count: 5, email_address: 'owner@customer.test' }, 'update-client-req');
    expect(res.statusCode, res.body).toBe(200);
    const e = await onlyEventSince(t, mark);
    expect(e).toMatchObject({ actor_kind: 'reseller', actor_id: alice.id, reseller_id: alice.id, action: 'client.updated', target_type: 'client', target_id: String(c.id), request_id: 'update-client-req', source_ip: IP });
    expect(e.changes).toEqual({ name: { before: 'Audited Customer', after: 'Renamed Customer' }, user_count: { before: 3, after: 5 } });
  });

  it('PUT /v1/domains/:name/client replacing the domain set records the old and new set', async () => {
    const c = await newClient(alice);
    const added = uniqueDomain();
    const mark = await auditMark(t);
    const res = await call(alice, 'PUT', `/v1/domains/${c.domain}/client`, { domains: [{ name: added }] });
    expect(res.statusCode, res.body).toBe(200);
    const e = await onlyEventSince(t, mark);
    expect(e.action).toBe('client.updated');
    expect(e.changes).toEqual({ domains: { before: [{ name: c.domain, mail_servers: ['mx1.customer.test'] }], after: [{ name: added, mail_servers: [] }] } });
  });

  it('PUT /v1/domains/:name: domain.updated with the mail servers before and after', async () => {
    const c = await newClient(alice);
    const mark = await auditMark(t);
    const res = await call(alice, 'PUT', `/v1/domains/${c.domain}`, { mail_servers: ['mx9.customer.test', 'mx1.customer.test'] }, 'domain-req');
    expect(res.statusCode, res.body).toBe(200);
    const e = await onlyEventSince(t, mark);
    expect(e).toMatchObject({ actor_kind: 'reseller', actor_id: alice.id, reseller_id: alice.id, action: 'domain.updated', target_type: 'domain', target_id: c.domain, request_id: 'domain-req', source_ip: IP });
    expect(e.changes).toEqual({ mail_servers: { before: ['mx1.customer.test'], after: ['mx9.customer.test', 'mx1.customer.test'] } });
  });

  it('DELETE /v1/clients/:id: client.cancelled, status and released domains', async () => {
    const c = await newClient(alice);
    const mark = await auditMark(t);
    const res = await call(alice, 'DELETE', `/v1/clients/${c.id}`);
    expect(res.statusCode, res.body).toBe(200);
    const e = await onlyEventSince(t, mark);
    expect(e).toMatchObject({ action: 'client.cancelled', target_id: String(c.id), actor_id: alice.id, reseller_id: alice.id, source_ip: IP });
    expect(e.changes).toEqual({ status: { before: 'active', after: 'cancelled' }, domains: { before: [{ name: c.domain, mail_servers: ['mx1.customer.test'] }], after: [] } });
  });

  it('a login token (and following its link) is recorded, the token itself never', async () => {
    const c = await newClient(alice);
    const mark = await auditMark(t);
    const res = await call(alice, 'GET', `/v1/clients/${c.id}/auth_token`, undefined, 'token-req');
    expect(res.statusCode, res.body).toBe(200);
    const token = res.json() as { token: string; path: string };
    const issued = await onlyEventSince(t, mark);
    expect(issued).toMatchObject({ actor_kind: 'reseller', actor_id: alice.id, reseller_id: alice.id, action: 'client.login_token_issued', target_type: 'client', target_id: String(c.id), request_id: 'token-req', source_ip: IP });
    expect(Object.keys(issued.changes).sort()).toEqual(['expires_at', 'user_id']);

    const landing = await t.app.server.inject({ method: 'GET', url: token.path, headers: { 'x-request-id': 'login-req' }, remoteAddress: '198.51.100.23' });
    expect(landing.statusCode).toBe(303);
    const [again, login] = await auditSince(t, mark);
    expect(again!.id).toBe(issued.id);
    expect(login).toMatchObject({ actor_kind: 'user', actor_id: issued.changes.user_id!.after, reseller_id: alice.id, action: 'client.logged_in', target_type: 'client', target_id: String(c.id), request_id: 'login-req', source_ip: '198.51.100.23' });

    const sessionToken = /hp_session=([^;]+)/.exec(String(landing.headers['set-cookie']))![1]!;
    const all = JSON.stringify(await auditSince(t, 0));
    expect(all).not.toContain(token.token);
    expect(all).not.toContain(sessionToken);
  });

  it('POST /v1/resellers (public sign-up): reseller.signed_up by the public, from its address', async () => {
    const ip = '198.51.100.77';
    const form = await t.app.server.inject({ method: 'GET', url: '/v1/resellers/new', remoteAddress: ip });
    const captcha = form.json().captcha as { id: string; question: string };
    const username = `audit-signup-${Date.now().toString(36)}`;
    const mark = await auditMark(t);
    const seed = hspFixture<{ reseller: Record<string, unknown> }>('create-reseller-request').reseller;
    const res = await t.app.server.inject({
      method: 'POST',
      url: '/v1/resellers',
      remoteAddress: ip,
      headers: { 'x-request-id': 'signup-req' },
      payload: { captcha: { id: captcha.id, answer: solveCaptcha(captcha.question) }, reseller: { ...seed, username } },
    });
    expect(res.statusCode, res.body).toBe(201);
    const e = await onlyEventSince(t, mark);
    expect(e).toMatchObject({ actor_kind: 'public', actor_id: null, action: 'reseller.signed_up', target_type: 'reseller', request_id: 'signup-req', source_ip: ip });
    expect(e.reseller_id).toBe(Number(e.target_id));
    expect(e.changes.username).toEqual({ after: username });
    expect(e.changes.status).toEqual({ after: 'pending' });
  });
});

describe('failed HSP mutations write nothing', () => {
  it('a 422 from validation, from a taken domain at the unique index, and a 404 leave the log as it was', async () => {
    const taken = await newClient(alice);
    const mark = await auditMark(t);
    const invalid = await call(alice, 'POST', '/v1/clients', { package_uid: 'no-such-package', user_count: 1, domains: [{ name: uniqueDomain() }] });
    expect(invalid.statusCode).toBe(422);
    // The creating statement itself fails (the name is live elsewhere): its audit part goes with it.
    const clash = await call(bob, 'POST', '/v1/clients', { package_uid: 'spamstopshere-standard', user_count: 1, domains: [{ name: taken.domain }] });
    expect(clash.statusCode).toBe(422);
    expect(clash.json().errors['domains.name']).toEqual([`${taken.domain} has already been taken`]);
    const tooMany = await call(alice, 'PUT', `/v1/domains/${taken.domain}`, { mail_servers: Array.from({ length: 20 }, (_, i) => `mx${i}.customer.test`) });
    expect(tooMany.statusCode).toBe(422);
    const badUpdate = await call(alice, 'PUT', `/v1/clients/${taken.id}`, { user_count: -1 });
    expect(badUpdate.statusCode).toBe(422);
    const foreign = await call(bob, 'DELETE', `/v1/clients/${taken.id}`);
    expect(foreign.statusCode).toBe(404);
    expect(await auditSince(t, mark)).toEqual([]);
  });
});

describe('GET /v1/audit', () => {
  it("shows a reseller its own events only; another reseller's are invisible", async () => {
    const mine = await newClient(alice);
    const theirs = await newClient(bob);
    const aliceLog = await resellerAudit(alice, 'limit=500');
    expect(aliceLog.events.length).toBeGreaterThan(0);
    expect(aliceLog.events.every((e) => e.reseller_id === alice.id)).toBe(true);
    expect(aliceLog.events.some((e) => e.target_id === String(mine.id))).toBe(true);
    expect(aliceLog.events.some((e) => e.target_id === String(theirs.id))).toBe(false);

    const bobLog = await resellerAudit(bob, 'limit=500');
    expect(bobLog.events.every((e) => e.reseller_id === bob.id)).toBe(true);
    expect(bobLog.events.some((e) => e.target_id === String(theirs.id))).toBe(true);
    // Asking for the other's record by name finds nothing rather than an error.
    expect((await resellerAudit(bob, `target_type=client&target_id=${mine.id}`)).events).toEqual([]);
    expect((await resellerAudit(bob, `reseller_id=${alice.id}`)).events).toEqual([]);
  });

  it("an operator's change to the reseller's account is shown without the operator's key id or address", async () => {
    const res = await t.app.server.inject({ method: 'PATCH', url: `/admin/v1/resellers/${alice.id}`, headers: { authorization: `Bearer ${t.operatorKey}` }, remoteAddress: '192.0.2.10', payload: { tags: ['cpanel', 'audited'] } });
    expect(res.statusCode, res.body).toBe(200);
    const [e] = (await resellerAudit(alice, 'action=reseller.updated&limit=1')).events;
    expect(e).toMatchObject({ actor_kind: 'operator', actor_id: null, source_ip: null, reseller_id: alice.id, target_id: String(alice.id) });
    expect(e!.changes).toEqual({ tags: { before: ['cpanel'], after: ['cpanel', 'audited'] } });
    // The operator's own view keeps both.
    const opView = await t.app.server.inject({ method: 'GET', url: '/admin/v1/audit?action=reseller.updated&limit=1', headers: { authorization: `Bearer ${t.operatorKey}` } });
    expect(opView.json().events[0]).toMatchObject({ id: e!.id, actor_id: await testOperatorKeyId(t), source_ip: '192.0.2.10' });
  });

  it('filters and pages like the operator view', async () => {
    const c = await newClient(alice);
    for (const count of [4, 5, 6]) expect((await call(alice, 'PUT', `/v1/clients/${c.id}`, { user_count: count })).statusCode).toBe(200);
    const history = await resellerAudit(alice, `target_type=client&target_id=${c.id}`);
    expect(history.events.map((e) => e.action)).toEqual(['client.updated', 'client.updated', 'client.updated', 'client.created']);
    expect(history.events.map((e) => e.changes.user_count)).toEqual([{ before: 5, after: 6 }, { before: 4, after: 5 }, { before: 3, after: 4 }, { after: 3 }]);
    expect(history.next_before).toBeNull();

    const first = await resellerAudit(alice, `target_type=client&target_id=${c.id}&limit=3`);
    expect(first.events.map((e) => e.id)).toEqual(history.events.slice(0, 3).map((e) => e.id));
    expect(first.next_before).toBe(history.events[2]!.id);
    const second = await resellerAudit(alice, `target_type=client&target_id=${c.id}&limit=3&before=${first.next_before}`);
    expect(second.events.map((e) => e.id)).toEqual([history.events[3]!.id]);
    expect(second.next_before).toBeNull();
  });

  it('no or wrong credentials → 401 with the HSP error shape', async () => {
    const none = await t.app.server.inject({ method: 'GET', url: '/v1/audit' });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Basic /);
    expect(none.json()).toEqual({ errors: { base: [expect.any(String)] } });
    const wrong = await t.app.server.inject({ method: 'GET', url: '/v1/audit', headers: { authorization: `Basic ${Buffer.from(`${alice.api_token}:wrong`).toString('base64')}` } });
    expect(wrong.statusCode).toBe(401);
  });

  it('bad filters → 422 with per-field messages', async () => {
    const bad = async (query: string, field: string) => {
      const res = await t.app.server.inject({ method: 'GET', url: `/v1/audit?${query}`, headers: { authorization: alice.auth } });
      expect(res.statusCode, query).toBe(422);
      expect(Object.keys(res.json().errors), query).toContain(field);
    };
    await bad('action=client.create', 'action');
    await bad('limit=501', 'limit');
    await bad('since=yesterday', 'since');
    await bad('before=x', 'before');
    await bad('colour=red', 'colour');
  });
});
