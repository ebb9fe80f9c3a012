import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditMark, auditSince } from '../support/audit.js';
import { solveCaptcha } from '../support/captcha-solver.js';
import { createReseller, createTestApp, seedDemoCatalog, type ResellerFixture, type TestApp } from '../support/test-app.js';

// The reseller web console's door into the HSP API: sign-in with the login an operator set (on
// approval or later) or with the API token and key, the HttpOnly cookie, the CSRF token on every
// change, tenancy through the cookie, rate-limited failures with an audit trail, and sign-out.

let t: TestApp;
const admin = () => ({ authorization: `Bearer ${t.operatorKey}` });
const PASSWORD = 'reseller console password';
let acme: ResellerFixture;
let other: ResellerFixture;
let otherClientId: number;

async function inject(opts: { method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH'; url: string; headers?: Record<string, string>; payload?: unknown; remoteAddress?: string }) {
  return t.app.server.inject(opts as never);
}

async function setLogin(id: number, login: string, password = PASSWORD) {
  return inject({ method: 'PUT', url: `/admin/v1/resellers/${id}/login`, headers: admin(), payload: { login, password } });
}

async function signIn(payload: Record<string, unknown>, ip = '198.51.100.10') {
  const res = await inject({ method: 'POST', url: '/v1/session', payload, remoteAddress: ip });
  const setCookie = res.headers['set-cookie'];
  const header = (Array.isArray(setCookie) ? setCookie[0] : setCookie) ?? '';
  const cookie = header ? header.split(';')[0]! : '';
  return { res, header, cookie, csrf: res.statusCode === 200 ? (res.json() as { csrf_token: string }).csrf_token : '' };
}

async function signUp(username: string): Promise<number> {
  const form = (await inject({ method: 'GET', url: '/v1/resellers/new' })).json() as { captcha: { id: string; question: string } };
  const res = await inject({
    method: 'POST',
    url: '/v1/resellers',
    payload: { captcha: { id: form.captcha.id, answer: solveCaptcha(form.captcha.question) }, reseller: { name: `${username} Ltd`, email_address: `${username}@example.com`, username } },
  });
  expect(res.statusCode, res.body).toBe(201);
  return (res.json() as { reseller: { id: number } }).reseller.id;
}

async function makeClient(auth: Record<string, string>, domain: string) {
  return inject({ method: 'POST', url: '/v1/clients', headers: auth, payload: { package_uid: 'spamstopshere-standard', user_count: 2, name: `Client ${domain}`, domains: [{ name: domain }] } });
}

beforeAll(async () => {
  t = await createTestApp();
  await seedDemoCatalog(t);
  acme = await createReseller(t, { name: 'Acme Hosting', tags: [] });
  other = await createReseller(t, { name: 'Other Hosting', tags: [] });
  expect((await setLogin(acme.id, 'acme-console')).statusCode).toBe(200);
  const made = await makeClient({ authorization: other.auth }, 'other-tenant.test');
  expect(made.statusCode, made.body).toBe(201);
  otherClientId = made.json().id;
});
afterAll(() => t.close());

describe('approval sets the console sign-in', () => {
  it('approves a sign-up with a password: the login defaults to the username and signs in', async () => {
    const id = await signUp('fresh-reseller');
    const mark = await auditMark(t);
    const res = await inject({ method: 'POST', url: `/admin/v1/resellers/${id}/approve`, headers: admin(), payload: { password: PASSWORD } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ status: 'active', login: 'fresh-reseller', api_token: expect.any(String), api_key: expect.any(String) });
    expect(res.body).not.toContain(PASSWORD);
    const events = await auditSince(t, mark);
    expect(events.map((e) => e.action)).toEqual(['reseller.approved', 'reseller.login_set']);
    expect(JSON.stringify(events)).not.toContain(PASSWORD);
    const { res: signed } = await signIn({ login: 'fresh-reseller', password: PASSWORD });
    expect(signed.statusCode, signed.body).toBe(200);
    expect(signed.json()).toMatchObject({ signed_in: true, reseller: { id, username: 'fresh-reseller' }, login: 'fresh-reseller', method: 'password' });
  });

  it('approves without a password as before: no login, and null in the answer', async () => {
    const id = await signUp('keys-only');
    const res = await inject({ method: 'POST', url: `/admin/v1/resellers/${id}/approve`, headers: admin() });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ status: 'active', login: null });
    expect((await signIn({ login: 'keys-only', password: PASSWORD })).res.statusCode).toBe(401);
  });

  it('refuses a short password or a taken login on approval, and the reseller stays pending', async () => {
    const id = await signUp('picky-reseller');
    const short = await inject({ method: 'POST', url: `/admin/v1/resellers/${id}/approve`, headers: admin(), payload: { password: 'short' } });
    expect(short.statusCode).toBe(422);
    expect(short.json()).toMatchObject({ error: { code: 'validation_failed', fields: { password: [expect.stringContaining('too short')] } } });
    const taken = await inject({ method: 'POST', url: `/admin/v1/resellers/${id}/approve`, headers: admin(), payload: { login: 'acme-console', password: PASSWORD } });
    expect(taken.statusCode).toBe(422);
    expect(taken.json()).toMatchObject({ error: { fields: { login: ['has already been taken'] } } });
    const loginOnly = await inject({ method: 'POST', url: `/admin/v1/resellers/${id}/approve`, headers: admin(), payload: { login: 'picky' } });
    expect(loginOnly.statusCode).toBe(422);
    const still = await inject({ method: 'GET', url: `/admin/v1/resellers/${id}`, headers: admin() });
    expect(still.json()).toMatchObject({ status: 'pending', approved_at: null });
  });

  it('resets a login later; sessions opened with the old password end; a pending or unknown reseller is refused', async () => {
    const first = await signIn({ login: 'acme-console', password: PASSWORD });
    expect(first.res.statusCode).toBe(200);
    const reset = await setLogin(acme.id, 'acme-console', 'another long password');
    expect(reset.statusCode, reset.body).toBe(200);
    expect(reset.json()).toMatchObject({ login: 'acme-console' });
    expect((await inject({ method: 'GET', url: '/v1/clients/search', headers: { cookie: first.cookie } })).statusCode).toBe(401);
    expect((await signIn({ login: 'acme-console', password: PASSWORD })).res.statusCode).toBe(401);
    expect((await signIn({ login: 'acme-console', password: 'another long password' })).res.statusCode).toBe(200);
    expect((await setLogin(acme.id, 'acme-console')).statusCode).toBe(200);

    const pending = await signUp('still-pending');
    const refused = await setLogin(pending, 'still-pending');
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ error: { code: 'invalid_state' } });
    expect((await setLogin(999_999, 'nobody-at-all')).statusCode).toBe(404);
    for (const bad of [{}, { login: 'has space', password: PASSWORD }, { login: 'ok-login', password: 'short' }, { login: 'ok-login', password: PASSWORD, extra: 1 }, 'not an object']) {
      const r = await inject({ method: 'PUT', url: `/admin/v1/resellers/${acme.id}/login`, headers: admin(), payload: bad as never });
      expect(r.statusCode, JSON.stringify(bad)).toBeGreaterThanOrEqual(400);
      expect(r.statusCode, JSON.stringify(bad)).toBeLessThan(500);
      expect((r.json() as { error: { code: string } }).error.code).toMatch(/validation_failed|malformed_request/);
    }
    // Nothing changed: the login still works with its password.
    expect((await signIn({ login: 'acme-console', password: PASSWORD })).res.statusCode).toBe(200);
    expect((await inject({ method: 'PUT', url: `/admin/v1/resellers/${acme.id}/login`, payload: { login: 'x-login', password: PASSWORD } })).statusCode).toBe(401);
    const withReseller = await inject({ method: 'PUT', url: `/admin/v1/resellers/${acme.id}/login`, headers: { authorization: acme.auth }, payload: { login: 'x-login', password: PASSWORD } });
    expect(withReseller.statusCode).toBe(401);
  });
});

describe('reseller console session', () => {
  it('signs in with login and password: HttpOnly, SameSite=Lax cookie scoped to /v1, audited', async () => {
    const mark = await auditMark(t);
    const { res, header, cookie, csrf } = await signIn({ login: 'ACME-console', password: PASSWORD }, '198.51.100.20');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ signed_in: true, reseller: { id: acme.id, name: 'Acme Hosting' }, csrf_token: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(res.headers['cache-control']).toBe('no-store');
    expect(header).toMatch(/^hp_reseller=[A-Za-z0-9_-]{40,}; /);
    for (const part of ['HttpOnly', 'SameSite=Lax', 'Path=/v1', 'Secure']) expect(header).toContain(part);
    expect(res.body).not.toContain(cookie.split('=')[1]);

    const who = await inject({ method: 'GET', url: '/v1/session', headers: { cookie } });
    expect(who.json()).toMatchObject({ signed_in: true, reseller: { id: acme.id }, csrf_token: csrf });
    const events = await auditSince(t, mark);
    expect(events.map((e) => e.action)).toEqual(['reseller.logged_in']);
    expect(events[0]).toMatchObject({ actor_kind: 'reseller', reseller_id: acme.id, source_ip: '198.51.100.20' });
  });

  it('signs in with the API token and key too', async () => {
    const { res } = await signIn({ token: acme.api_token, key: acme.api_key });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ reseller: { id: acme.id }, login: null, method: 'key' });
  });

  it('answers signed_in: false without a cookie, or with a made-up one', async () => {
    expect((await inject({ method: 'GET', url: '/v1/session' })).json()).toEqual({ signed_in: false });
    expect((await inject({ method: 'GET', url: '/v1/session', headers: { cookie: 'hp_reseller=made-up' } })).json()).toEqual({ signed_in: false });
  });

  it('refuses a wrong password, an unknown login and a wrong key with one answer each, audited, no cookie', async () => {
    const mark = await auditMark(t);
    const wrong = await signIn({ login: 'acme-console', password: 'not the password' }, '198.51.100.30');
    const unknown = await signIn({ login: 'nobody-here', password: PASSWORD }, '198.51.100.30');
    for (const r of [wrong, unknown]) {
      expect(r.res.statusCode).toBe(401);
      expect(r.res.json()).toEqual({ errors: { base: ['wrong login or password'] } });
      expect(r.header).toBe('');
    }
    // No Basic challenge on the console's sign-in (a browser would pop up its own prompt); integrators still get one.
    expect(wrong.res.headers['www-authenticate']).toBeUndefined();
    expect((await inject({ method: 'GET', url: '/v1/clients' })).headers['www-authenticate']).toContain('Basic');
    expect((await inject({ method: 'GET', url: '/v1/clients', headers: { 'x-requested-with': 'hostplane-console' } })).headers['www-authenticate']).toBeUndefined();
    const badKey = await signIn({ token: acme.api_token, key: 'wrong' }, '198.51.100.30');
    expect(badKey.res.statusCode).toBe(401);
    expect(badKey.res.json()).toEqual({ errors: { base: ['wrong API token or key'] } });
    for (const bad of [{}, { login: 5, password: [] }, { login: '', password: '' }, 'not an object']) {
      const r = await inject({ method: 'POST', url: '/v1/session', payload: bad as never, remoteAddress: '198.51.100.31' });
      expect(r.statusCode).toBeGreaterThanOrEqual(400);
      expect(r.statusCode).toBeLessThan(500);
    }
    const events = await auditSince(t, mark);
    expect(events.map((e) => e.action)).toEqual(['reseller.login_failed', 'reseller.login_failed', 'reseller.login_failed']);
    expect(events[0]).toMatchObject({ reseller_id: acme.id, actor_kind: 'public' });
    expect(JSON.stringify(events)).not.toContain('not the password');
  });

  it('rate-limits failed sign-ins per login: even the right password waits, with Retry-After', async () => {
    expect((await setLogin(other.id, 'other-console')).statusCode).toBe(200);
    for (let i = 0; i < 10; i++) expect((await signIn({ login: 'other-console', password: `wrong ${i}` }, `198.51.100.${100 + i}`)).res.statusCode).toBe(401);
    const blocked = await signIn({ login: 'other-console', password: PASSWORD }, '198.51.100.99');
    expect(blocked.res.statusCode).toBe(429);
    expect(Number(blocked.res.headers['retry-after'])).toBeGreaterThan(0);
    expect(blocked.header).toBe('');
    t.setNow(new Date(Date.now() + 16 * 60 * 1000));
    try {
      expect((await signIn({ login: 'other-console', password: PASSWORD }, '198.51.100.99')).res.statusCode).toBe(200);
    } finally {
      t.setNow(new Date());
    }
  });

  it("through the cookie a reseller sees its own clients; another reseller's is 404", async () => {
    const { cookie } = await signIn({ login: 'acme-console', password: PASSWORD });
    const own = await inject({ method: 'GET', url: '/v1/clients/search', headers: { cookie } });
    expect(own.statusCode, own.body).toBe(200);
    expect((own.json() as { clients: { id: number }[] }).clients.map((c) => c.id)).not.toContain(otherClientId);
    for (const url of [`/v1/clients/${otherClientId}`, '/v1/domains/other-tenant.test', `/v1/clients/${otherClientId}/auth_token`]) {
      const r = await inject({ method: 'GET', url, headers: { cookie } });
      expect(r.statusCode, url).toBe(404);
      expect(r.json()).toEqual({ errors: { base: ['Not found'] } });
    }
  });

  it('refuses a change without the CSRF token or with a wrong one (403), and nothing changes', async () => {
    const { cookie, csrf } = await signIn({ login: 'acme-console', password: PASSWORD });
    const payload = { package_uid: 'spamstopshere-standard', user_count: 1, name: 'Forged', domains: [{ name: 'forged-by-csrf.test' }] };
    for (const headers of [{ cookie }, { cookie, 'x-csrf-token': '0'.repeat(64) }, { cookie, 'x-csrf-token': 'nonsense' }] as Record<string, string>[]) {
      const r = await inject({ method: 'POST', url: '/v1/clients', headers, payload });
      expect(r.statusCode).toBe(403);
      expect((r.json() as { errors: { base: string[] } }).errors.base[0]).toContain('x-csrf-token');
    }
    const rotate = await inject({ method: 'POST', url: '/v1/credentials/rotate', headers: { cookie } });
    expect(rotate.statusCode).toBe(403);
    const search = await inject({ method: 'GET', url: '/v1/clients/search?q=forged', headers: { cookie } });
    expect(search.json()).toEqual({ clients: [], next_after: null });
    // The old key still works: the refused rotation changed nothing.
    expect((await inject({ method: 'GET', url: '/v1/credentials', headers: { authorization: acme.auth } })).statusCode).toBe(200);

    const made = await inject({ method: 'POST', url: '/v1/clients', headers: { cookie, 'x-csrf-token': csrf }, payload });
    expect(made.statusCode, made.body).toBe(201);
  });

  it('a suspended reseller cannot sign in, and its open sessions stop working', async () => {
    const victim = await createReseller(t, { name: 'Soon Suspended' });
    expect((await setLogin(victim.id, 'soon-suspended')).statusCode).toBe(200);
    const open = await signIn({ login: 'soon-suspended', password: PASSWORD });
    expect(open.res.statusCode).toBe(200);
    expect((await inject({ method: 'POST', url: `/admin/v1/resellers/${victim.id}/suspend`, headers: admin(), payload: {} })).statusCode).toBe(200);
    expect((await inject({ method: 'GET', url: '/v1/clients/search', headers: { cookie: open.cookie } })).statusCode).toBe(401);
    const byPassword = await signIn({ login: 'soon-suspended', password: PASSWORD });
    expect(byPassword.res.statusCode).toBe(403);
    expect(byPassword.res.json()).toEqual({ errors: { base: ['reseller account is suspended'] } });
    expect(byPassword.header).toBe('');
    expect((await signIn({ token: victim.api_token, key: victim.api_key })).res.statusCode).toBe(403);
  });

  it('signs out: the session ends, the cookie is cleared, and sign-out needs the CSRF token', async () => {
    const { cookie, csrf } = await signIn({ login: 'acme-console', password: PASSWORD });
    expect((await inject({ method: 'DELETE', url: '/v1/session', headers: { cookie } })).statusCode).toBe(403);
    expect((await inject({ method: 'GET', url: '/v1/credentials', headers: { cookie } })).statusCode).toBe(200);
    const mark = await auditMark(t);
    const out = await inject({ method: 'DELETE', url: '/v1/session', headers: { cookie, 'x-csrf-token': csrf } });
    expect(out.statusCode).toBe(204);
    expect(String(out.headers['set-cookie'])).toContain('Max-Age=0');
    const after = await inject({ method: 'GET', url: '/v1/credentials', headers: { cookie } });
    expect(after.statusCode).toBe(401);
    // A console request gets no Basic challenge, so browsers show no password prompt.
    expect(after.headers['www-authenticate']).toBeUndefined();
    expect((await auditSince(t, mark)).map((e) => e.action)).toEqual(['reseller.logged_out']);
  });
});

describe('what the console pages read', () => {
  it("lists the reseller's clients with status, searched and paged by cursor", async () => {
    const shop = await createReseller(t, { name: 'Paging Shop', tags: [] });
    const auth = { authorization: shop.auth };
    for (let i = 0; i < 5; i++) expect((await makeClient(auth, `page-${i}.test`)).statusCode).toBe(201);
    const first = await inject({ method: 'GET', url: '/v1/clients/search?limit=2', headers: auth });
    expect(first.statusCode).toBe(200);
    const p1 = first.json() as { clients: { id: number; status: string; domains: { name: string; status: string; mx_records: unknown[] }[] }[]; next_after: number };
    expect(p1.clients).toHaveLength(2);
    expect(p1.clients[0]).toMatchObject({ status: 'active', domains: [{ name: 'page-0.test', status: 'initializing', mx_records: [{ priority: 10, hostname: 'page-0-test.relay1g.spamh.com.' }, expect.anything()] }] });
    expect(p1.next_after).toBe(p1.clients[1]!.id);
    const p3 = (await inject({ method: 'GET', url: `/v1/clients/search?limit=2&after=${p1.clients[1]!.id}`, headers: auth })).json() as typeof p1;
    expect(p3.clients.map((c) => c.domains[0]!.name)).toEqual(['page-2.test', 'page-3.test']);
    const found = (await inject({ method: 'GET', url: '/v1/clients/search?q=PAGE-4', headers: auth })).json() as typeof p1;
    expect(found.clients.map((c) => c.domains[0]!.name)).toEqual(['page-4.test']);
    expect(found.next_after).toBeNull();
    for (const q of ['limit=0', 'limit=abc', 'limit=201', 'after=-1', 'q=a&q=b']) {
      const bad = await inject({ method: 'GET', url: `/v1/clients/search?${q}`, headers: auth });
      expect(bad.statusCode, q).toBe(422);
      expect(Object.keys((bad.json() as { errors: Record<string, unknown> }).errors)).toHaveLength(1);
    }
    expect((await inject({ method: 'GET', url: '/v1/clients/search' })).statusCode).toBe(401);
  });

  it('lists the packages a reseller may sell, with costs, by its tags', async () => {
    const all = (await inject({ method: 'GET', url: '/v1/packages', headers: { authorization: acme.auth } })).json() as { uid: string; reseller_cost: { domain_formatted: string } }[];
    const catalog = (await inject({ method: 'GET', url: '/admin/v1/packages', headers: admin() })).json() as { uid: string; tags: string[] }[];
    expect(all.map((p) => p.uid).sort()).toEqual(catalog.map((p) => p.uid).sort());
    expect(all[0]!.reseller_cost.domain_formatted).toMatch(/^\$\d+\.\d\d$/);
    const tag = catalog.find((p) => p.tags.length > 0)!.tags[0]!;
    const tagged = await createReseller(t, { tags: [tag] });
    const sellable = (await inject({ method: 'GET', url: '/v1/packages', headers: { authorization: tagged.auth } })).json() as { uid: string; tags: string[] }[];
    expect(sellable.length).toBeGreaterThan(0);
    expect(sellable.map((p) => p.uid).sort()).toEqual(catalog.filter((p) => p.tags.includes(tag)).map((p) => p.uid).sort());
    expect((await inject({ method: 'GET', url: '/v1/packages' })).statusCode).toBe(401);
  });

  it('shows the API token (never the key) and rotates from the console: the new pair once, old key and key sessions end', async () => {
    const shop = await createReseller(t, { name: 'Rotating Shop' });
    const view = (await inject({ method: 'GET', url: '/v1/credentials', headers: { authorization: shop.auth } })).json();
    expect(view).toMatchObject({ api_token: shop.api_token, login: null });
    expect(JSON.stringify(view)).not.toContain(shop.api_key);

    const keySession = await signIn({ token: shop.api_token, key: shop.api_key });
    const rotating = await signIn({ token: shop.api_token, key: shop.api_key });
    const mark = await auditMark(t);
    const rotated = await inject({ method: 'POST', url: '/v1/credentials/rotate', headers: { cookie: rotating.cookie, 'x-csrf-token': rotating.csrf } });
    expect(rotated.statusCode, rotated.body).toBe(201);
    const fresh = rotated.json() as { api_token: string; api_key: string };
    expect(fresh.api_key).not.toBe(shop.api_key);
    expect((await auditSince(t, mark)).map((e) => e.action)).toEqual(['reseller.key_rotated']);
    expect((await inject({ method: 'GET', url: '/v1/credentials', headers: { authorization: shop.auth } })).statusCode).toBe(401);
    expect((await inject({ method: 'GET', url: '/v1/credentials', headers: { cookie: keySession.cookie } })).statusCode).toBe(401);
    const mine = await inject({ method: 'GET', url: '/v1/credentials', headers: { cookie: rotating.cookie } });
    expect(mine.json()).toMatchObject({ api_token: fresh.api_token });
    expect(JSON.stringify(mine.json())).not.toContain(fresh.api_key);
  });

  it("tells a branded login host's brand name, and nothing for any other host", async () => {
    const branded = await createReseller(t, { name: 'Brandy Mail', login_hostname: 'login.brandy.test' });
    const res = await inject({ method: 'GET', url: '/v1/branding', headers: { host: 'LOGIN.brandy.test' } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ name: 'Brandy Mail' });
    expect((await inject({ method: 'GET', url: '/v1/branding', headers: { host: 'panel.hostplane.test' } })).json()).toEqual({ name: null });
    expect((await inject({ method: 'POST', url: `/admin/v1/resellers/${branded.id}/suspend`, headers: admin(), payload: {} })).statusCode).toBe(200);
    expect((await inject({ method: 'GET', url: '/v1/branding', headers: { host: 'login.brandy.test' } })).json()).toEqual({ name: null });
  });
});
