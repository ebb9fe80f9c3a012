import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditMark, auditSince } from '../support/audit.js';
import { createReseller, createTestApp, seedDemoCatalog, type ResellerFixture, type TestApp } from '../support/test-app.js';

// The client API (/client/v1) that the web console's client area uses: a client session from the SSO
// link, the ApisCP hijack or a password; only the session's own client is ever visible; every change
// needs the session's CSRF token.

let t: TestApp;
let reseller: ResellerFixture;
let other: ResellerFixture;
let apiToken: string;
let parentTypeId: number;
const operator = () => ({ authorization: `Bearer ${t.operatorKey}` });

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const inject = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, headers: Record<string, string> = {}, payload?: unknown) => {
  const res = await t.app.server.inject({ method, url, headers, ...(payload !== undefined ? { payload: payload as Json } : {}) });
  return { status: res.statusCode, body: (res.body ? JSON.parse(res.body) : null) as Json, headers: res.headers };
};

let seq = 0;
async function newClient(r: ResellerFixture, domains = 1): Promise<{ id: number; domains: string[] }> {
  seq += 1;
  const names = Array.from({ length: domains }, (_, i) => `area${seq}-${i}.example`);
  const res = await t.app.server.inject({
    method: 'POST',
    url: '/v1/clients',
    headers: { authorization: r.auth },
    payload: { package_uid: 'spamstopshere-standard', user_count: 1, name: `Area ${seq}`, email_address: `a${seq}@example.com`, domains: names.map((name) => ({ name })) },
  });
  expect(res.statusCode, res.body).toBe(201);
  return { id: res.json().id, domains: names };
}

/** Follows the client's SSO link as a browser would; returns the session cookie. */
async function ssoCookie(r: ResellerFixture, clientId: number): Promise<string> {
  const issued = await t.app.server.inject({ method: 'GET', url: `/v1/clients/${clientId}/auth_token`, headers: { authorization: r.auth } });
  expect(issued.statusCode, issued.body).toBe(200);
  const landing = await t.app.server.inject({ method: 'GET', url: issued.json().path });
  expect(landing.statusCode).toBe(303);
  expect(landing.headers.location).toBe('/console/my');
  return String(landing.headers['set-cookie']).split(';')[0]!;
}

async function sessionOf(cookie: string): Promise<Json> {
  const res = await inject('GET', '/client/v1/session', { cookie });
  expect(res.status).toBe(200);
  return res.body;
}

async function endUser(email: string, password = 'end-user-pass'): Promise<number> {
  const res = await inject('POST', '/api/v1/users/register', { 'content-type': 'application/json' }, { email, password });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.user.id;
}

async function parentSubscription(email: string): Promise<void> {
  const res = await inject('POST', '/api/v1/subscriptions/create', { authorization: `Bearer ${apiToken}`, 'content-type': 'application/json' }, { email, subscription_type_id: parentTypeId, is_paid: true });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

const fn = async (name: string, args: unknown[]) => {
  const res = await inject('POST', `/api/v1/cpcmd/${name}`, { ...operator(), 'content-type': 'application/json' }, { args });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.result;
};

const linkOwner = (clientId: number, email: string | null) => inject('PUT', `/admin/v1/clients/${clientId}/owner`, operator(), { email });

beforeAll(async () => {
  t = await createTestApp();
  await seedDemoCatalog(t);
  reseller = await createReseller(t, { name: 'Area Hosting' });
  other = await createReseller(t, { name: 'Other Hosting' });
  const token = await inject('POST', '/admin/v1/api-tokens', operator(), { name: 'area', allow: ['/api/v1/subscriptions/create'] });
  apiToken = token.body.token;
  const parent = await inject('POST', '/admin/v1/subscription-types', operator(), { code: 'company_year', name: 'Company year', length: 365, access: ['web'] });
  const child = await inject('POST', '/admin/v1/subscription-types', operator(), { code: 'company_member', name: 'Company member', length: 365, access: ['web'] });
  parentTypeId = parent.body.id;
  expect(child.status).toBe(201);
  expect((await inject('POST', '/admin/v1/family-types', operator(), { parent: 'company_year', child: 'company_member', method: 'copy', count: 3, is_paid: true })).status).toBe(201);
});
afterAll(() => t?.close());

describe('the client session', () => {
  it('the SSO link lands in the client area; the session names the client, its user and a CSRF token', async () => {
    const { id } = await newClient(reseller);
    const cookie = await ssoCookie(reseller, id);
    const s = await sessionOf(cookie);
    expect(s).toMatchObject({ signed_in: true, user: { login: 'admin', role: 'client_admin' }, client: { id, name: expect.stringMatching(/^Area /), status: 'active', kind: 'site', package: { uid: 'spamstopshere-standard' }, has_owner: false }, sites: { site: `site${id}`, subordinates: [], origin: null } });
    expect(s.csrf_token).toMatch(/^[0-9a-f]{64}$/);
  });

  it('no cookie, a garbage cookie or an ended session: signed out, and every other call is 401 in the door format', async () => {
    for (const headers of [{} as Record<string, string>, { cookie: 'hp_session=garbage' }, { cookie: 'hp_session=%E0%A4%A' }, { cookie: 'hp_operator=x' }]) {
      expect((await inject('GET', '/client/v1/session', headers)).body).toEqual({ signed_in: false });
      for (const url of ['/client/v1/domains', '/client/v1/subscriptions', '/client/v1/family-codes', '/client/v1/instance']) {
        const res = await inject('GET', url, headers);
        expect(res.status, url).toBe(401);
        expect(res.body.error.code).toBe('unauthenticated');
      }
    }
    expect((await inject('GET', '/client/v1/nowhere')).status).toBe(404);
    expect((await inject('GET', '/client/v1/nowhere')).body.error.code).toBe('not_found');
  });

  it('signing out needs the CSRF token; without it nothing changes, with it the session is over', async () => {
    const { id } = await newClient(reseller);
    const cookie = await ssoCookie(reseller, id);
    const { csrf_token } = await sessionOf(cookie);
    const refused = await inject('DELETE', '/client/v1/session', { cookie });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toContain('x-csrf-token');
    expect((await sessionOf(cookie)).signed_in).toBe(true);
    expect((await inject('DELETE', '/client/v1/session', { cookie, 'x-csrf-token': '0'.repeat(64) })).status).toBe(403);
    const mark = await auditMark(t);
    const out = await inject('DELETE', '/client/v1/session', { cookie, 'x-csrf-token': csrf_token });
    expect(out.status).toBe(204);
    expect(String(out.headers['set-cookie'])).toMatch(/^hp_session=;.*Max-Age=0/);
    expect((await auditSince(t, mark)).map((e) => e.action)).toEqual(['client.logged_out']);
    expect(await sessionOf(cookie)).toEqual({ signed_in: false });
    expect((await inject('GET', '/client/v1/domains', { cookie })).status).toBe(401);
  });

  it("a suspended client's admin session shows only the suspension; the rest of the area refuses", async () => {
    const { id } = await newClient(reseller);
    const cookie = await ssoCookie(reseller, id);
    await fn('admin:deactivate-site', [`site${id}`]);
    expect(await sessionOf(cookie)).toMatchObject({ signed_in: true, client: { id, status: 'suspended' }, suspension: { reason: null } });
    expect((await inject('GET', '/client/v1/domains', { cookie })).status).toBe(409);
    await fn('scope:set', ['cp.config', 'auth', 'suspended_login', false]);
    try {
      expect(await sessionOf(cookie)).toEqual({ signed_in: false });
    } finally {
      await fn('scope:set', ['cp.config', 'auth', 'suspended_login', true]);
    }
  });
});

describe('domains and MX records', () => {
  it("lists the session's client's domains with status, mail servers and one MX record per relay", async () => {
    const { id, domains } = await newClient(reseller, 3);
    const cookie = await ssoCookie(reseller, id);
    const res = await inject('GET', '/client/v1/domains', { cookie });
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(3);
    expect(res.body.domains.map((d: Json) => d.name)).toEqual(domains);
    const label = domains[0]!.replaceAll('.', '-');
    expect(res.body.domains[0]).toEqual({
      name: domains[0],
      status: 'initializing',
      mail_servers: [],
      mx_records: [
        { priority: 10, hostname: `${label}.relay1g.spamh.com.` },
        { priority: 20, hostname: `${label}.relay1h.spamh.com.` },
      ],
    });
  });

  it('searches and pages; bad paging is a 422 with the field named', async () => {
    const { id, domains } = await newClient(reseller, 3);
    const cookie = await ssoCookie(reseller, id);
    const found = await inject('GET', `/client/v1/domains?search=${encodeURIComponent(domains[2]!.toUpperCase())}`, { cookie });
    expect(found.body).toMatchObject({ total: 1, next_offset: null, domains: [{ name: domains[2] }] });
    const first = await inject('GET', '/client/v1/domains?limit=2', { cookie });
    expect(first.body).toMatchObject({ total: 3, next_offset: 2 });
    expect(first.body.domains).toHaveLength(2);
    const second = await inject('GET', '/client/v1/domains?limit=2&offset=2', { cookie });
    expect(second.body.domains.map((d: Json) => d.name)).toEqual([domains[2]]);
    for (const q of ['limit=0', 'limit=abc', 'offset=-1', 'color=red']) {
      const bad = await inject('GET', `/client/v1/domains?${q}`, { cookie });
      expect(bad.status, q).toBe(422);
      expect(bad.body.error.code).toBe('validation_failed');
    }
  });

  it("another reseller's client's session sees only its own domains", async () => {
    const mine = await newClient(reseller);
    const theirs = await newClient(other);
    const cookie = await ssoCookie(other, theirs.id);
    const res = await inject('GET', '/client/v1/domains', { cookie });
    expect(res.body.domains.map((d: Json) => d.name)).toEqual(theirs.domains);
    expect(JSON.stringify(res.body)).not.toContain(mine.domains[0]);
  });
});

describe('the owner, subscriptions and family codes', () => {
  it('a client without an owner has no subscriptions or codes', async () => {
    const { id } = await newClient(reseller);
    const cookie = await ssoCookie(reseller, id);
    expect((await inject('GET', '/client/v1/subscriptions', { cookie })).body).toEqual({ subscriptions: [] });
    expect((await inject('GET', '/client/v1/family-codes', { cookie })).body).toEqual({ codes: [], counts: {}, next_offset: null });
  });

  it("an operator links an end user as owner: the owner's subscription and its family codes show, with activation links", async () => {
    const { id } = await newClient(reseller);
    const email = `owner${++seq}@example.com`;
    const ownerId = await endUser(email);
    await parentSubscription(email);
    const mark = await auditMark(t);
    const linked = await linkOwner(id, email);
    expect(linked).toMatchObject({ status: 200, body: { client_id: id, owner: { id: ownerId, email } } });
    expect((await auditSince(t, mark)).map((e) => e.action)).toEqual(['client.owner_set']);

    const cookie = await ssoCookie(reseller, id);
    expect((await sessionOf(cookie)).client.has_owner).toBe(true);
    const subs = await inject('GET', '/client/v1/subscriptions', { cookie });
    expect(subs.body.subscriptions).toEqual([expect.objectContaining({ code: 'company_year', is_paid: true, running: true, type: 'regular' })]);
    const codes = await inject('GET', '/client/v1/family-codes', { cookie });
    expect(codes.status).toBe(200);
    expect(codes.body.counts).toEqual({ created: 3 });
    expect(codes.body.codes).toHaveLength(3);
    for (const c of codes.body.codes) {
      expect(c).toMatchObject({ status: 'created', subscription_type_code: 'company_member', subscription_type_name: 'Company member', activated_by: null });
      expect(c.activation_url).toBe(`https://panel.hostplane.test/console/activate?code=${c.code}`);
    }

    // A code another user activates shows as accepted, with who took it; filters and search find it.
    const taker = `taker${seq}@example.com`;
    await endUser(taker);
    const login = await inject('POST', '/api/v1/users/login', { 'content-type': 'application/json' }, { email: taker, password: 'end-user-pass' });
    const code = codes.body.codes[1].code as string;
    expect((await inject('POST', '/api/v1/family/activate', { authorization: `Bearer ${login.body.access.token}`, 'content-type': 'application/json' }, { code })).status).toBe(201);
    const accepted = await inject('GET', '/client/v1/family-codes?status=accepted', { cookie });
    expect(accepted.body.codes).toEqual([expect.objectContaining({ code, status: 'accepted', activated_by: taker })]);
    expect(accepted.body.counts).toEqual({ created: 2, accepted: 1 });
    expect((await inject('GET', `/client/v1/family-codes?search=${taker.slice(0, 8)}`, { cookie })).body.codes.map((c: Json) => c.code)).toEqual([code]);
    expect((await inject('GET', `/client/v1/family-codes?search=${code.slice(0, 10)}`, { cookie })).body.codes.map((c: Json) => c.code)).toEqual([code]);
    const paged = await inject('GET', '/client/v1/family-codes?limit=2', { cookie });
    expect(paged.body).toMatchObject({ next_offset: 2 });
    expect((await inject('GET', '/client/v1/family-codes?status=lost', { cookie })).status).toBe(422);

    // Another client's session does not see these codes.
    const stranger = await newClient(other);
    const theirs = await inject('GET', '/client/v1/family-codes', { cookie: await ssoCookie(other, stranger.id) });
    expect(theirs.body.codes).toEqual([]);
  });

  it('linking: unknown email, unknown client, no operator key, bad body are refused and change nothing; null unlinks', async () => {
    const { id } = await newClient(reseller);
    const mark = await auditMark(t);
    expect(await linkOwner(id, 'nobody@example.com')).toMatchObject({ status: 422, body: { error: { fields: { email: ['is not a known user'] } } } });
    expect((await linkOwner(999_999, 'nobody@example.com')).status).toBe(404);
    expect((await inject('PUT', `/admin/v1/clients/${id}/owner`, {}, { email: 'x@example.com' })).status).toBe(401);
    expect((await inject('PUT', `/admin/v1/clients/${id}/owner`, { authorization: reseller.auth }, { email: 'x@example.com' })).status).toBe(401);
    expect((await inject('PUT', `/admin/v1/clients/${id}/owner`, operator(), { mail: 'x' })).status).toBeGreaterThanOrEqual(400);
    expect((await inject('PUT', `/admin/v1/clients/${id}/owner`, operator(), { mail: 'x' })).status).toBeLessThan(500);
    expect(await auditSince(t, mark)).toEqual([]);
    const email = `unlink${++seq}@example.com`;
    await endUser(email);
    expect((await linkOwner(id, email)).status).toBe(200);
    expect(await linkOwner(id, null)).toMatchObject({ status: 200, body: { owner: null } });
    expect((await sessionOf(await ssoCookie(reseller, id))).client.has_owner).toBe(false);
  });
});

describe('cancelling a family code from the client area', () => {
  it('needs the CSRF token; cancels an unused code, and an accepted one (ending its holder\'s subscription, with a new code in its place)', async () => {
    const { id } = await newClient(reseller);
    const email = `canceller${++seq}@example.com`;
    await endUser(email);
    await parentSubscription(email);
    await linkOwner(id, email);
    const cookie = await ssoCookie(reseller, id);
    const { csrf_token } = await sessionOf(cookie);
    const codes = (await inject('GET', '/client/v1/family-codes', { cookie })).body.codes.map((c: Json) => c.code) as string[];

    const mark = await auditMark(t);
    const refused = await inject('POST', `/client/v1/family-codes/${codes[0]}/cancel`, { cookie });
    expect(refused.status).toBe(403);
    expect(await auditSince(t, mark)).toEqual([]);
    expect((await inject('GET', '/client/v1/family-codes?status=canceled', { cookie })).body.codes).toEqual([]);

    const done = await inject('POST', `/client/v1/family-codes/${codes[0]}/cancel`, { cookie, 'x-csrf-token': csrf_token });
    expect(done).toMatchObject({ status: 200, body: { code: codes[0], status: 'canceled' } });
    expect(done.body.new_code).toBeUndefined();
    const events = await auditSince(t, mark);
    expect(events.map((e) => [e.action, e.actor_kind])).toEqual([['family_request.canceled', 'user']]);
    expect((await inject('POST', `/client/v1/family-codes/${codes[0]}/cancel`, { cookie, 'x-csrf-token': csrf_token })).status).toBe(409);

    const taker = `holder${seq}@example.com`;
    await endUser(taker);
    const login = await inject('POST', '/api/v1/users/login', { 'content-type': 'application/json' }, { email: taker, password: 'end-user-pass' });
    const holder = { authorization: `Bearer ${login.body.access.token}` };
    expect((await inject('POST', '/api/v1/family/activate', { ...holder, 'content-type': 'application/json' }, { code: codes[1] })).status).toBe(201);
    const ended = await inject('POST', `/client/v1/family-codes/${codes[1]}/cancel`, { cookie, 'x-csrf-token': csrf_token });
    expect(ended.status).toBe(200);
    expect(ended.body.new_code).toMatch(/^[0-9a-z]{32}$/);
    const subs = await inject('GET', '/api/v1/users/subscriptions', holder);
    expect(subs.status).toBe(200);
    expect(JSON.stringify(subs.body)).toContain('company_member');
    expect((await inject('GET', '/client/v1/family-codes', { cookie })).body.counts).toEqual({ created: 2, canceled: 2 });
  });

  it("another client's code, an unknown code and a client without owner: 404, nothing changes", async () => {
    const mine = await newClient(reseller);
    const email = `mine${++seq}@example.com`;
    await endUser(email);
    await parentSubscription(email);
    await linkOwner(mine.id, email);
    const myCodes = (await inject('GET', '/client/v1/family-codes', { cookie: await ssoCookie(reseller, mine.id) })).body.codes as Json[];

    const theirs = await newClient(other);
    const theirEmail = `theirs${seq}@example.com`;
    await endUser(theirEmail);
    await parentSubscription(theirEmail);
    await linkOwner(theirs.id, theirEmail);
    const cookie = await ssoCookie(other, theirs.id);
    const { csrf_token } = await sessionOf(cookie);
    const ownerless = await newClient(reseller);
    const c2 = await ssoCookie(reseller, ownerless.id);
    const c2csrf = (await sessionOf(c2)).csrf_token;
    const mark = await auditMark(t);
    for (const code of [myCodes[0]!.code, 'nosuchcode']) {
      const res = await inject('POST', `/client/v1/family-codes/${code}/cancel`, { cookie, 'x-csrf-token': csrf_token });
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    }
    expect((await inject('POST', `/client/v1/family-codes/${myCodes[0]!.code}/cancel`, { cookie: c2, 'x-csrf-token': c2csrf })).status).toBe(404);
    expect(await auditSince(t, mark)).toEqual([]);
    expect((await inject('GET', '/client/v1/family-codes', { cookie: await ssoCookie(reseller, mine.id) })).body.counts).toEqual({ created: 3 });
  });
});

describe('signing in with a password', () => {
  it("the owner signs in with the CRM email and password and lands in their client's area", async () => {
    const { id } = await newClient(reseller);
    const email = `signin${++seq}@example.com`;
    await endUser(email, 'owner-password-1');
    await linkOwner(id, email);
    const res = await inject('POST', '/client/v1/session', { 'content-type': 'application/json' }, { email: email.toUpperCase(), password: 'owner-password-1' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ signed_in: true, user: { login: email, role: 'end_user' }, client: { id, has_owner: true } });
    const cookie = String(res.headers['set-cookie']).split(';')[0]!;
    expect(String(res.headers['set-cookie'])).toMatch(/HttpOnly/);
    expect((await sessionOf(cookie)).client.id).toBe(id);
  });

  it("one of the client's own users signs in with client id, login and password", async () => {
    const { id, domains } = await newClient(reseller);
    await fn('auth:change-password', ['site admin password', 'admin', domains[0]]);
    const res = await inject('POST', '/client/v1/session', { 'content-type': 'application/json' }, { client_id: id, login: 'admin', password: 'site admin password' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ user: { login: 'admin', role: 'client_admin' }, client: { id } });
    const wrong = await inject('POST', '/client/v1/session', { 'content-type': 'application/json' }, { client_id: id, login: 'admin', password: 'nope' });
    expect(wrong.status).toBe(401);
  });

  it('an end user whose subscription granted them a client signs in to it by email', async () => {
    const type = await inject('POST', '/admin/v1/subscription-types', operator(), { code: `hosting_${++seq}`, name: 'Hosting', length: 30, package_uid: 'spamstopshere-standard' });
    expect(type.status, JSON.stringify(type.body)).toBe(201);
    const email = `granted${seq}@example.com`;
    const userId = await endUser(email, 'granted-password');
    const sub = await inject('POST', '/api/v1/subscriptions/create', { authorization: `Bearer ${apiToken}`, 'content-type': 'application/json' }, { email, subscription_type_id: type.body.id, is_paid: true });
    expect(sub.status, JSON.stringify(sub.body)).toBe(200);
    const granted = await t.app.dbHandle.db.selectFrom('clients').select('id').where('owner_user_id', '=', userId).executeTakeFirstOrThrow();
    const res = await inject('POST', '/client/v1/session', { 'content-type': 'application/json' }, { email, password: 'granted-password' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ user: { login: email }, client: { id: granted.id, has_owner: true, package: { uid: 'spamstopshere-standard' } } });
    const cookie = String(res.headers['set-cookie']).split(';')[0]!;
    expect((await inject('GET', '/client/v1/subscriptions', { cookie })).body.subscriptions).toEqual([expect.objectContaining({ code: `hosting_${seq}`, running: true })]);
  });

  it('wrong password and unknown email are one answer; an end user owning no client is told so', async () => {
    const email = `lonely${++seq}@example.com`;
    await endUser(email, 'lonely-password');
    for (const body of [{ email, password: 'wrong' }, { email: 'ghost@example.com', password: 'wrong' }]) {
      const res = await inject('POST', '/client/v1/session', { 'content-type': 'application/json' }, body);
      expect(res).toMatchObject({ status: 401, body: { error: { code: 'unauthenticated', message: 'wrong email or password' } } });
      expect(res.headers['set-cookie']).toBeUndefined();
    }
    const none = await inject('POST', '/client/v1/session', { 'content-type': 'application/json' }, { email, password: 'lonely-password' });
    expect(none.status).toBe(409);
    expect(none.body.error.message).toContain('no active');
    for (const body of [{}, { email: 1, password: 2 }, { client_id: 'x', login: 'admin', password: 'x' }, 'not json']) {
      const res = await inject('POST', '/client/v1/session', { 'content-type': 'application/json' }, body);
      expect(res.status, JSON.stringify(body)).toBeGreaterThanOrEqual(400);
      expect(res.status, JSON.stringify(body)).toBeLessThan(500);
    }
  });
});

describe('site switching under the SSO rules', () => {
  it('a master switches into a subordinate and back; a subordinate may not switch up or sideways; CSRF is required', async () => {
    await fn('admin:add-site', ['sw-master.example', 'boss', { 'billing.invoice': 'sw-inv' }]);
    await fn('admin:add-site', ['sw-a.example', 'suba', { 'billing.parent_invoice': 'sw-inv' }]);
    await fn('admin:add-site', ['sw-b.example', 'subb', { 'billing.parent_invoice': 'sw-inv' }]);
    const cookie = `hp_session=${await fn('admin:hijack', ['sw-master.example'])}`;
    const master = await sessionOf(cookie);
    expect(master.sites.subordinates.map((x: Json) => x.domain)).toEqual(['sw-a.example', 'sw-b.example']);
    const target = master.sites.subordinates[0].site as string;

    expect((await inject('POST', '/client/v1/session/switch', { cookie, 'content-type': 'application/json' }, { site: target })).status).toBe(403);
    const switched = await inject('POST', '/client/v1/session/switch', { cookie, 'x-csrf-token': master.csrf_token, 'content-type': 'application/json' }, { site: target });
    expect(switched.status, JSON.stringify(switched.body)).toBe(200);
    expect(switched.body).toMatchObject({ client: { id: Number(target.slice(4)) }, sites: { origin: { domain: 'sw-master.example' }, subordinates: [] } });
    const subCookie = String(switched.headers['set-cookie']).split(';')[0]!;

    const sideways = await inject('POST', '/client/v1/session/switch', { cookie: subCookie, 'x-csrf-token': switched.body.csrf_token, 'content-type': 'application/json' }, { site: 'sw-b.example' });
    expect(sideways.status).toBe(403);
    expect(sideways.body.error.message).toContain('only a master may enter its subordinates');
    const back = await inject('POST', '/client/v1/session/switch', { cookie: subCookie, 'x-csrf-token': switched.body.csrf_token, 'content-type': 'application/json' }, { site: master.sites.site });
    expect(back.status).toBe(200);
    expect(back.body.client.id).toBe(master.client.id);

    // A site outside the group, and an unknown one.
    const { id: outside } = await newClient(reseller);
    expect((await inject('POST', '/client/v1/session/switch', { cookie, 'x-csrf-token': master.csrf_token, 'content-type': 'application/json' }, { site: `site${outside}` })).status).toBe(403);
    expect((await inject('POST', '/client/v1/session/switch', { cookie, 'x-csrf-token': master.csrf_token, 'content-type': 'application/json' }, { site: 'site99999999' })).status).toBe(404);
    expect((await inject('POST', '/client/v1/session/switch', { cookie, 'x-csrf-token': master.csrf_token, 'content-type': 'application/json' }, { site: '' })).status).toBe(422);
  });
});

describe('the SaaS instance', () => {
  const ADMIN_PASSWORD = 'portal-admin-password';
  let adminUid = 0;
  const rpc = async (service: string, method: string, args: unknown[]) => (await inject('POST', '/jsonrpc', { 'content-type': 'application/json' }, { jsonrpc: '2.0', method: 'call', id: 1, params: { service, method, args } })).body;
  const kw = async (model: string, method: string, args: unknown[], kwargs: Record<string, unknown> = {}) => {
    const out = await rpc('object', 'execute_kw', ['hostplane', adminUid, ADMIN_PASSWORD, model, method, args, kwargs]);
    if (out.error) throw new Error(`${model}.${method}: ${out.error.data.message}`);
    return out.result;
  };
  /** A portal user's new instance with a user limit; returns its id and the owner's session cookie. */
  const newInstance = async (maxUsers: number) => {
    if (!adminUid) adminUid = (await inject('POST', '/admin/v1/users', operator(), { operator: true, login: 'portal-admin', password: ADMIN_PASSWORD })).body.id;
    const login = `inst-owner${++seq}@example.com`;
    await kw('res.users', 'signup', [{ login, name: `Owner ${seq}`, password: 'portal-pass' }]);
    const uid = (await rpc('common', 'authenticate', ['hostplane', login, 'portal-pass', {}])).result as number;
    const plans = (await inject('GET', '/admin/v1/packages', operator())).body as { id: number; uid: string }[];
    const created = (await kw('saas_portal.plan', 'create_new_database', [plans.find((p) => p.uid === 'basic')!.id], { dbname: `inst${seq}.example.test`, user_id: uid, owner_password: 'owner-pass' })) as { id: number; url: string };
    await kw('saas.config', 'do_upgrade_database', [{ params: [{ key: 'saas_client.max_users', value: String(maxUsers), hidden: true }] }, created.id]);
    const link = new URL(created.url);
    const landing = await t.app.server.inject({ method: 'GET', url: `${link.pathname}${link.search}` });
    expect(landing.headers.location).toBe('/console/my');
    return { id: created.id, cookie: String(landing.headers['set-cookie']).split(';')[0]! };
  };

  it("the owner's link opens a session on the instance: users against max_users, storage, add-ons and group names", async () => {
    const inst = await newInstance(2);
    const s = await sessionOf(inst.cookie);
    expect(s.client).toMatchObject({ id: inst.id, kind: 'instance' });
    const view = await inject('GET', '/client/v1/instance', { cookie: inst.cookie });
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({ id: inst.id, status: 'active', max_users: 2, users_count: 1, modules: expect.any(Array), usage: { limit_mb: expect.any(Number), exceeded: false } });
    expect(view.body.users.find((u: Json) => u.role !== 'client_admin').groups).toEqual(expect.arrayContaining(['base.group_user']));
    expect(view.body.groups['base.group_user']).toBe('Employee');
  });

  it('adds users up to the limit, then refuses with the portal message; CSRF required; bad input is a 422', async () => {
    const inst = await newInstance(2);
    const { csrf_token } = await sessionOf(inst.cookie);
    const add = (body: unknown, headers: Record<string, string> = { 'x-csrf-token': csrf_token }) => inject('POST', '/client/v1/instance/users', { cookie: inst.cookie, 'content-type': 'application/json', ...headers }, body);
    expect((await add({ login: 'nocsrf', password: 'pw' }, {})).status).toBe(403);
    expect((await add({ login: 'has space', password: 'pw' })).status).toBe(422);
    expect((await add({ login: 'no-password' })).status).toBe(422);
    expect((await inject('GET', '/client/v1/instance', { cookie: inst.cookie })).body.users_count).toBe(1);
    expect(await add({ login: 'second', name: 'Second', password: 'pw' })).toMatchObject({ status: 201, body: { login: 'second' } });
    expect((await add({ login: 'second', password: 'pw' })).status).toBe(422);
    const full = await add({ login: 'third', password: 'pw' });
    expect(full.status).toBe(422);
    expect(full.body.error.message).toBe('Maximum allowed users is 2, while you already have 2');
    expect((await inject('GET', '/client/v1/instance', { cookie: inst.cookie })).body.users_count).toBe(2);
  });

  it("one instance's session sees and changes only its own instance", async () => {
    const a = await newInstance(5);
    const b = await newInstance(5);
    const viewA = await inject('GET', '/client/v1/instance', { cookie: a.cookie });
    expect(viewA.body.id).toBe(a.id);
    const { csrf_token } = await sessionOf(a.cookie);
    await inject('POST', '/client/v1/instance/users', { cookie: a.cookie, 'x-csrf-token': csrf_token, 'content-type': 'application/json' }, { login: 'only-in-a', password: 'pw' });
    const viewB = await inject('GET', '/client/v1/instance', { cookie: b.cookie });
    expect(viewB.body.users.map((u: Json) => u.login)).not.toContain('only-in-a');
  });

  it('a hosting client has no instance: 404', async () => {
    const { id } = await newClient(reseller);
    const cookie = await ssoCookie(reseller, id);
    expect((await inject('GET', '/client/v1/instance', { cookie })).status).toBe(404);
    const { csrf_token } = await sessionOf(cookie);
    expect((await inject('POST', '/client/v1/instance/users', { cookie, 'x-csrf-token': csrf_token, 'content-type': 'application/json' }, { login: 'x', password: 'y' })).status).toBe(404);
  });

  it("a suspended instance's session ends: the suspended-login view is for hosting sites only", async () => {
    const inst = await newInstance(2);
    expect((await sessionOf(inst.cookie)).client.kind).toBe('instance');
    await fn('admin:deactivate-site', [`site${inst.id}`, 'unpaid']);
    expect(await sessionOf(inst.cookie)).toEqual({ signed_in: false });
    expect((await inject('GET', '/client/v1/instance', { cookie: inst.cookie })).status).toBe(401);
    const landing = await t.app.server.inject({ method: 'GET', url: '/apps/dashboard', headers: { cookie: inst.cookie } });
    expect(landing.statusCode).toBe(401);
  });

  it('an instance has no site pages: users, databases and usage are 404 (its own page is /client/v1/instance)', async () => {
    const inst = await newInstance(2);
    for (const url of ['/client/v1/users', '/client/v1/databases', '/client/v1/usage']) {
      const res = await inject('GET', url, { cookie: inst.cookie });
      expect(res.status, url).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    }
    // A billing system's quick link into an instance lands on its overview, whatever the app.
    const landing = await t.app.server.inject({ method: 'GET', url: '/apps/usermanage', headers: { cookie: inst.cookie } });
    expect(landing.statusCode).toBe(303);
    expect(landing.headers.location).toBe('/console/my');
  });
});
