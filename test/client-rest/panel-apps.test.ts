import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { specOf } from '../../src/core/sites/site.params.js';
import { auditMark, auditSince } from '../support/audit.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

// ApisCP's panel entry as billing modules use it (/apps/<app>?esprit_id=<admin:hijack session>), the
// site pages it lands on (users, databases, usage), the panel's domain + login + password sign-in,
// and a suspended site's admin who may still sign in to read why (cp.config auth suspended_login).

let t: TestApp;
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const inject = async (method: 'GET' | 'POST' | 'DELETE', url: string, headers: Record<string, string> = {}, payload?: unknown) => {
  const res = await t.app.server.inject({ method, url, headers, ...(payload !== undefined ? { payload: payload as Json } : {}) });
  return { status: res.statusCode, body: (res.body && String(res.headers['content-type']).startsWith('application/json') ? JSON.parse(res.body) : res.body) as Json, headers: res.headers };
};
const fn = async (name: string, args: unknown[]) => {
  const res = await inject('POST', `/api/v1/cpcmd/${name}`, { authorization: `Bearer ${t.operatorKey}`, 'content-type': 'application/json' }, { args });
  expect(res.status, `${name}: ${JSON.stringify(res.body)}`).toBe(200);
  return res.body.result;
};
const cookieOf = (headers: Json) => String(headers['set-cookie'] ?? '').split(';')[0]!;

let seq = 0;
/** A site with a known admin password; returns its id, domain and admin login. */
async function site(opts: Record<string, unknown> = {}, password = 'site admin password') {
  seq += 1;
  const domain = `panel${seq}.example`;
  const admin = `padmin${seq}`;
  await fn('admin:add-site', [domain, admin, opts]);
  await fn('auth:change-password', [password, admin, domain]);
  const ids = (await fn('admin:collect', [['siteinfo.domain'], { 'siteinfo.domain': domain }])) as Record<string, unknown>;
  const key = Object.keys(ids)[0]!;
  return { id: Number(key.slice(4)), key, domain, admin, password };
}
const hijack = async (domain: string) => (await fn('admin:hijack', [domain, null, 'UI'])) as string;
const session = async (cookie: string) => (await inject('GET', '/client/v1/session', { cookie })).body;
const signIn = (body: unknown, ip = '203.0.113.9') => t.app.server.inject({ method: 'POST', url: '/client/v1/session', headers: { 'content-type': 'application/json' }, remoteAddress: ip, payload: body as Json });

beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t?.close());

const LANDINGS: [string, string][] = [
  // WHMCS's SSO whitelist
  ['usermanage', '/console/my/users'],
  ['mailboxroutes', '/console/my/mail-servers'],
  ['vacation', '/console/my/mail-servers'],
  ['filemanager', '/console/my/usage'],
  ['domainmanager', '/console/my/domains'],
  ['bandwidthbd', '/console/my/usage'],
  ['crontab', '/console/my?missing=crontab'],
  ['subdomains', '/console/my/domains'],
  ['changemysql', '/console/my/databases'],
  ['phpmyadmin', '/console/my/databases'],
  ['webapps', '/console/my/domains'],
  ['terminal', '/console/my?missing=terminal'],
  ['whitelist', '/console/my?missing=whitelist'],
  // Clientexec, and the names
  ['dashboard', '/console/my'],
  ['mailboxes', '/console/my/mail-servers'],
  ['databases', '/console/my/databases'],
  // Names this panel does not know land on the overview, never a 404
  ['no-such-app', '/console/my'],
  ['constructor', '/console/my'],
  ['__proto__', '/console/my'],
];

describe('/apps/<app>?esprit_id=', () => {
  it('every app lands on its client-console page: session cookie set, 303 to a URL without the session id, no-referrer, no-store', async () => {
    const s = await site();
    for (const [app, location] of LANDINGS) {
      const id = await hijack(s.domain);
      const query = app === 'subdomains' ? `mode=add&esprit_id=${encodeURIComponent(id)}` : `esprit_id=${encodeURIComponent(id)}`;
      const res = await inject('GET', `/apps/${encodeURIComponent(app)}?${query}`);
      expect(res.status, app).toBe(303);
      expect(res.headers.location, app).toBe(location);
      expect(String(res.headers.location)).not.toContain('esprit_id');
      expect(String(res.headers.location)).not.toContain(id);
      expect(res.headers['referrer-policy'], app).toBe('no-referrer');
      expect(res.headers['cache-control'], app).toBe('no-store');
      expect(String(res.headers['set-cookie']), app).toMatch(new RegExp(`^hp_session=${id}; Path=/; HttpOnly; SameSite=Lax`));
      // The cookie is the session the client API then answers to.
      expect((await session(cookieOf(res.headers))).client.id, app).toBe(s.id);
    }
  });

  it('with the cookie alone it lands too, without setting the cookie again', async () => {
    const s = await site();
    const id = await hijack(s.domain);
    const res = await inject('GET', '/apps/usermanage', { cookie: `hp_session=${id}` });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/console/my/users');
    expect(res.headers['set-cookie']).toBeUndefined();
    // /apps/dashboard with the cookie alone is still the site's dashboard page (site switching without scripts).
    const dash = await inject('GET', '/apps/dashboard', { cookie: `hp_session=${id}` });
    expect(dash.status).toBe(200);
    expect(dash.body).toContain(s.domain);
  });

  it('a bad, ended, repeated or missing session id is the 401 page for every app, with no cookie set', async () => {
    const s = await site();
    const id = await hijack(s.domain);
    const ended = await hijack(s.domain);
    const me = await inject('GET', `/apps/dashboard?esprit_id=${encodeURIComponent(ended)}`);
    const out = await inject('DELETE', '/client/v1/session', { cookie: cookieOf(me.headers), 'x-csrf-token': (await session(cookieOf(me.headers))).csrf_token });
    expect(out.status).toBe(204);
    for (const app of ['dashboard', 'usermanage', 'no-such-app']) {
      for (const q of ['esprit_id=not-a-session', `esprit_id=${encodeURIComponent(id.slice(0, -2))}xx`, `esprit_id=${encodeURIComponent(ended)}`, 'esprit_id=', `esprit_id=${id}&esprit_id=${id}`, '']) {
        const res = await inject('GET', `/apps/${app}?${q}`);
        expect(res.status, `${app}?${q}`).toBe(401);
        expect(res.body).toContain('Please log in');
        expect(res.headers['set-cookie']).toBeUndefined();
        expect(res.headers['cache-control']).toBe('no-store');
        expect(res.headers['referrer-policy']).toBe('no-referrer');
      }
    }
  });

  it('an overlong app name or session id is refused without a 500', async () => {
    const res = await inject('GET', `/apps/${'a'.repeat(500)}?esprit_id=${'b'.repeat(5000)}`);
    expect(res.status).toBe(401);
  });
});

describe('site pages: users, databases, usage', () => {
  it("users: the site's users with role, disabled flag and the users,max limit", async () => {
    const s = await site({ 'users.max': 5 });
    const id = await hijack(s.domain);
    const cookie = `hp_session=${id}`;
    const res = await inject('GET', '/client/v1/users', { cookie });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ max_users: 5, users_count: 0, users: [{ id: expect.any(Number), login: s.admin, name: 'Administrator', role: 'client_admin', disabled: false }] });
    // Another user counts against the limit; a disabled one shows as such and does not.
    await t.app.deps.db.insertInto('users').values([{ role: 'end_user', client_id: s.id, login: 'writer', name: 'Writer' }, { role: 'end_user', client_id: s.id, login: 'gone', disabled_at: new Date() }]).execute();
    const more = await inject('GET', '/client/v1/users', { cookie });
    expect(more.body.users_count).toBe(1);
    expect(more.body.users.map((u: Json) => [u.login, u.role, u.disabled])).toEqual([[s.admin, 'client_admin', false], ['gone', 'end_user', true], ['writer', 'end_user', false]]);
  });

  it('databases: the MySQL and PostgreSQL service values, never a password', async () => {
    const known = (service: string, param: string) => specOf(service, param) !== undefined;
    const opts: Record<string, unknown> = {};
    // The values the billing modules send; those the service catalog has are set, the others read null.
    if (known('mysql', 'dbaseprefix')) Object.assign(opts, { 'mysql.enabled': 1, 'mysql.dbaseprefix': 'dbx_', 'mysql.dbaseadmin': 'dbx' });
    if (known('mysql', 'passwd')) opts['mysql.passwd'] = 'mysql-secret-pw';
    if (known('pgsql', 'dbaseprefix')) Object.assign(opts, { 'pgsql.enabled': 0, 'pgsql.dbaseprefix': 'pgx_' });
    const s = await site(opts);
    const res = await inject('GET', '/client/v1/databases', { cookie: `hp_session=${await hijack(s.domain)}` });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['mysql', 'pgsql']);
    for (const svc of ['mysql', 'pgsql']) expect(Object.keys(res.body[svc]).sort()).toEqual(['admin', 'databases', 'enabled', 'max_databases', 'prefix', 'size_bytes']);
    if (known('mysql', 'dbaseprefix')) expect(res.body.mysql).toMatchObject({ enabled: true, prefix: 'dbx_', admin: 'dbx' });
    else expect(res.body.mysql).toEqual({ enabled: null, prefix: null, admin: null, max_databases: null, size_bytes: null, databases: [] });
    // No database server holds the site (no db node): none made yet, nothing measured.
    expect(res.body.mysql).toMatchObject({ databases: [], size_bytes: null });
    if (known('pgsql', 'dbaseprefix')) expect(res.body.pgsql).toMatchObject({ enabled: false, prefix: 'pgx_' });
    expect(JSON.stringify(res.body)).not.toMatch(/passw|secret/i);
  });

  it('databases: the site administrator creates within the prefix (pending while no database server holds the site); another user of the site may not; changes need the CSRF token', async () => {
    const s = await site({ 'mysql.enabled': 1, 'mysql.dbaseprefix': 'cre_', 'mysql.dbasenum': 1, 'pgsql.enabled': 0 });
    const cookie = `hp_session=${await hijack(s.domain)}`;
    const csrf = (await session(cookie)).csrf_token as string;
    const json = { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' };
    expect((await inject('POST', '/client/v1/databases', { cookie, 'content-type': 'application/json' }, { engine: 'mysql', name: 'cre_a' })).status).toBe(403);
    const made = await inject('POST', '/client/v1/databases', json, { engine: 'mysql', name: 'cre_a' });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(made.body).toMatchObject({ name: 'cre_a', state: 'pending', error: null });
    const off = await inject('POST', '/client/v1/databases', json, { engine: 'pgsql', name: 'cre_b' });
    expect(off.status).toBe(409);
    expect(off.body.error.message).toContain('PostgreSQL databases are not enabled');
    expect((await inject('POST', '/client/v1/databases', json, { engine: 'mysql', name: 'cre_b' })).status).toBe(409);
    expect((await inject('POST', '/client/v1/databases', json, 'not json')).status).toBeLessThan(500);

    // A user of the site who is not its administrator sees the databases, and changes none.
    await t.app.deps.db.insertInto('users').values({ role: 'end_user', client_id: s.id, login: 'dbwriter', name: 'Writer' }).execute();
    const userCookie = `hp_session=${(await fn('admin:hijack', [s.domain, 'dbwriter', 'UI'])) as string}`;
    const userCsrf = { cookie: userCookie, 'x-csrf-token': (await session(userCookie)).csrf_token as string };
    expect((await inject('GET', '/client/v1/databases', { cookie: userCookie })).body.mysql.databases.map((d: Json) => d.name)).toEqual(['cre_a']);
    expect((await inject('DELETE', '/client/v1/databases/mysql/cre_a', userCsrf)).status).toBe(403);
    expect((await inject('POST', '/client/v1/databases', { ...userCsrf, 'content-type': 'application/json' }, { engine: 'mysql', name: 'cre_c' })).status).toBe(403);

    expect((await inject('DELETE', '/client/v1/databases/mysql/cre_a', { cookie, 'x-csrf-token': csrf })).body).toEqual({ name: 'cre_a', dropped: true });
    expect((await inject('GET', '/client/v1/databases', { cookie })).body.mysql.databases).toEqual([]);
  });

  it('usage: the storage quota as it resolves (own value, else the plan) in bytes; what is not measured is null', async () => {
    const own = await site({ 'diskquota.quota': 2048 });
    const res = await inject('GET', '/client/v1/usage', { cookie: `hp_session=${await hijack(own.domain)}` });
    expect(res.status).toBe(200);
    expect(res.body.storage).toEqual({ quota_bytes: 2048 * 1024 * 1024, used_bytes: null });
    expect(Object.keys(res.body.bandwidth).sort()).toEqual(['enabled', 'threshold_bytes', 'used_bytes']);
    const plan = await site();
    const planQuota = ((await fn('admin:collect', [['diskquota.quota'], { 'siteinfo.domain': plan.domain }])) as Record<string, { diskquota: { quota: number } }>)[plan.key]!.diskquota.quota;
    expect((await inject('GET', '/client/v1/usage', { cookie: `hp_session=${await hijack(plan.domain)}` })).body.storage.quota_bytes).toBe(planQuota * 1024 * 1024);
  });

  it('each page answers 401 without a session and shows only the signed-in site', async () => {
    const a = await site({ 'users.max': 2 });
    const b = await site({ 'users.max': 9 });
    for (const url of ['/client/v1/users', '/client/v1/databases', '/client/v1/usage']) {
      const res = await inject('GET', url);
      expect(res.status, url).toBe(401);
      expect(res.body.error.code).toBe('unauthenticated');
      expect((await inject('GET', url, { cookie: 'hp_session=forged' })).status).toBe(401);
    }
    const users = await inject('GET', '/client/v1/users', { cookie: `hp_session=${await hijack(b.domain)}` });
    expect(users.body.max_users).toBe(9);
    expect(JSON.stringify(users.body)).not.toContain(a.admin);
  });
});

describe('sign-in with domain, login and password (the panel form)', () => {
  it("signs a site's admin in by any of its domains; sets the session cookie; audited", async () => {
    const s = await site({ 'aliases.aliases': [`alias${seq + 1}.example`] });
    const mark = await auditMark(t);
    for (const domain of [s.domain, s.domain.toUpperCase(), `alias${seq}.example`]) {
      const res = await signIn({ domain, login: s.admin, password: s.password });
      expect(res.statusCode, `${domain}: ${res.body}`).toBe(200);
      expect(res.json()).toMatchObject({ signed_in: true, user: { login: s.admin, role: 'client_admin' }, client: { id: s.id, kind: 'site', status: 'active' }, suspension: null });
      expect(String(res.headers['set-cookie'])).toMatch(/^hp_session=[^;]+; Path=\/; HttpOnly; SameSite=Lax/);
    }
    const events = await auditSince(t, mark);
    expect(events.map((e) => e.action)).toEqual(['client.logged_in', 'client.logged_in', 'client.logged_in']);
    expect(events[0]!.changes.method).toEqual({ after: 'domain_password' });
  });

  it('an unknown domain, a wrong login and a wrong password are one answer; bad shapes too', async () => {
    const s = await site();
    const answers = [];
    for (const body of [
      { domain: 'nobody-here.example', login: s.admin, password: s.password },
      { domain: s.domain, login: 'someone', password: s.password },
      { domain: s.domain, login: s.admin, password: 'wrong password' },
      { domain: s.domain, login: s.admin, password: 42 },
      { domain: ['x'], login: s.admin, password: s.password },
      { domain: '', login: s.admin, password: s.password },
    ]) {
      const res = await signIn(body, '203.0.113.20');
      expect(res.statusCode, JSON.stringify(body)).toBe(401);
      expect(res.headers['set-cookie']).toBeUndefined();
      answers.push(res.json());
    }
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(answers[0]).toEqual({ error: { code: 'unauthenticated', message: 'wrong domain, login or password' } });
  });

  it('is rate-limited per site and login: after 10 wrong passwords even the right one waits (429, Retry-After)', async () => {
    const s = await site();
    for (let i = 0; i < 10; i++) expect((await signIn({ domain: s.domain, login: s.admin, password: `wrong ${i}` }, '203.0.113.30')).statusCode).toBe(401);
    const limited = await signIn({ domain: s.domain, login: s.admin, password: s.password }, '203.0.113.31');
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // The same account by client_id shares the window: it is one account.
    expect((await signIn({ client_id: s.id, login: s.admin, password: s.password }, '203.0.113.32')).statusCode).toBe(429);
    // Unknown domains count against the address too.
    for (let i = 0; i < 10; i++) expect((await signIn({ domain: 'ghost.example', login: 'ghost', password: `g${i}` }, '203.0.113.33')).statusCode).toBe(401);
    expect((await signIn({ domain: 'ghost.example', login: 'ghost', password: 'g' }, '203.0.113.33')).statusCode).toBe(429);
  });
});

describe('a suspended site (cp.config auth suspended_login, show_suspension_reason)', () => {
  const setScope = (name: string, value: boolean) => fn('scope:set', ['cp.config', 'auth', name, value]);

  it("its admin signs in to a read-only notice with the reason; everything else is 409 invalid_state; signing out works", async () => {
    const s = await site();
    await fn('admin:deactivate-site', [s.domain, 'Invoice #42 is overdue']);
    const res = await signIn({ domain: s.domain, login: s.admin, password: s.password }, '203.0.113.40');
    expect(res.statusCode, res.body).toBe(200);
    const view = res.json();
    expect(view).toMatchObject({ signed_in: true, client: { id: s.id, status: 'suspended' }, suspension: { reason: 'Invoice #42 is overdue' }, sites: { subordinates: [], origin: null } });
    const cookie = cookieOf(res.headers);
    expect((await session(cookie)).suspension).toEqual({ reason: 'Invoice #42 is overdue' });
    const csrf = { 'x-csrf-token': view.csrf_token };
    for (const url of ['/client/v1/domains', '/client/v1/users', '/client/v1/databases', '/client/v1/usage', '/client/v1/subscriptions', '/client/v1/family-codes']) {
      const refused = await inject('GET', url, { cookie });
      expect(refused.status, url).toBe(409);
      expect(refused.body.error.code).toBe('invalid_state');
      expect(refused.body.error.message).toMatch(/suspended/);
    }
    const before = await auditMark(t);
    const switched = await inject('POST', '/client/v1/session/switch', { cookie, ...csrf, 'content-type': 'application/json' }, { site: s.key });
    expect(switched.status).toBe(409);
    expect(await auditSince(t, before)).toEqual([]);
    // The panel entry lands on the overview's notice, whatever the app.
    const landing = await inject('GET', '/apps/usermanage', { cookie });
    expect(landing.status).toBe(303);
    expect(landing.headers.location).toBe('/console/my');
    expect((await inject('GET', '/apps/dashboard', { cookie })).headers.location).toBe('/console/my');
    // Signing out ends the session for good.
    expect((await inject('DELETE', '/client/v1/session', { cookie })).status).toBe(403);
    expect((await inject('DELETE', '/client/v1/session', { cookie, ...csrf })).status).toBe(204);
    expect(await session(cookie)).toEqual({ signed_in: false });
    expect((await inject('GET', '/apps/usermanage', { cookie })).status).toBe(401);
  });

  it('a hijack session opened before the suspension lands on the notice through /apps/*; reactivation restores the pages', async () => {
    const s = await site();
    const id = await hijack(s.domain);
    await fn('admin:deactivate-site', [s.domain, 'abuse report']);
    // admin:hijack itself refuses a suspended site.
    expect((await inject('POST', '/api/v1/cpcmd/admin:hijack', { authorization: `Bearer ${t.operatorKey}`, 'content-type': 'application/json' }, { args: [s.domain] })).status).toBe(409);
    const res = await inject('GET', `/apps/databases?esprit_id=${encodeURIComponent(id)}`);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/console/my');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    const cookie = cookieOf(res.headers);
    expect((await session(cookie)).suspension).toEqual({ reason: 'abuse report' });
    await fn('admin:activate-site', [s.domain]);
    expect((await session(cookie)).suspension).toBeNull();
    expect((await inject('GET', '/client/v1/databases', { cookie })).status).toBe(200);
  });

  it('show_suspension_reason false hides the reason; suspended_login false refuses the sign-in and ends the view (today\'s rule)', async () => {
    const s = await site();
    const other = await site();
    await fn('admin:deactivate-site', [s.domain, 'private reason']);
    await fn('admin:deactivate-site', [other.domain]);
    const id = await hijack(other.domain).catch(() => undefined);
    expect(id).toBeUndefined();
    try {
      await setScope('show_suspension_reason', false);
      expect(await fn('scope:get', ['cp.config', 'auth'])).toEqual({ subordinate_site_sso: true, suspended_login: true, show_suspension_reason: false });
      const hidden = await signIn({ domain: s.domain, login: s.admin, password: s.password }, '203.0.113.50');
      expect(hidden.statusCode).toBe(200);
      expect(hidden.json().suspension).toEqual({ reason: null });
      expect(hidden.body).not.toContain('private reason');
      const cookie = cookieOf(hidden.headers);

      await setScope('suspended_login', false);
      expect(await fn('scope:get', ['cp.config', 'auth', 'suspended_login'])).toBe(false);
      const refused = await signIn({ domain: s.domain, login: s.admin, password: s.password }, '203.0.113.51');
      expect(refused.statusCode).toBe(409);
      expect(refused.json().error).toEqual({ code: 'invalid_state', message: 'this account is suspended: its users cannot sign in' });
      expect(refused.headers['set-cookie']).toBeUndefined();
      expect(await session(cookie)).toEqual({ signed_in: false });
      expect((await inject('GET', '/apps/dashboard', { cookie })).status).toBe(401);
    } finally {
      await setScope('suspended_login', true);
      await setScope('show_suspension_reason', true);
    }
    // A wrong password to a suspended site is still the one 401 answer, whatever the scopes.
    expect((await signIn({ domain: s.domain, login: s.admin, password: 'nope' }, '203.0.113.52')).statusCode).toBe(401);
  });

  it("only the site's administrator: another user of a suspended site cannot sign in", async () => {
    const s = await site();
    const db = t.app.deps.db;
    const row = await db.selectFrom('users').select(['password_hash']).where('client_id', '=', s.id).where('role', '=', 'client_admin').executeTakeFirstOrThrow();
    await db.insertInto('users').values({ role: 'end_user', client_id: s.id, login: 'helper', password_hash: row.password_hash }).execute();
    expect((await signIn({ domain: s.domain, login: 'helper', password: s.password }, '203.0.113.60')).statusCode).toBe(200);
    await fn('admin:deactivate-site', [s.domain, 'late']);
    const res = await signIn({ domain: s.domain, login: 'helper', password: s.password }, '203.0.113.60');
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('invalid_state');
  });

  it('the scopes: scope:set checks names and values; scope:get lists all three; the settings API edits them', async () => {
    for (const args of [['cp.config', 'auth', 'suspended_login', 'maybe'], ['cp.config', 'auth', 'no_such_key', true], ['cp.config', 'auth', 'suspended_login']]) {
      const res = await inject('POST', '/api/v1/cpcmd/scope:set', { authorization: `Bearer ${t.operatorKey}`, 'content-type': 'application/json' }, { args });
      expect(res.status, JSON.stringify(args)).toBe(422);
    }
    const ops = { authorization: `Bearer ${t.operatorKey}`, 'content-type': 'application/json' };
    const patched = await inject('PATCH' as 'POST', '/admin/v1/settings', ops, { suspended_login: false, show_suspension_reason: false });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body).toMatchObject({ suspended_login: false, show_suspension_reason: false, subordinate_site_sso: true });
    expect(await fn('scope:get', ['cp.config'])).toEqual({ auth: { subordinate_site_sso: true, suspended_login: false, show_suspension_reason: false } });
    const bad = await inject('PATCH' as 'POST', '/admin/v1/settings', ops, { suspended_login: 'yes' });
    expect(bad.status).toBe(422);
    expect((await inject('PATCH' as 'POST', '/admin/v1/settings', ops, { suspended_login: true, show_suspension_reason: true })).body).toMatchObject({ suspended_login: true, show_suspension_reason: true });
    // Not for a client session or no credentials at all.
    expect((await inject('PATCH' as 'POST', '/admin/v1/settings', { 'content-type': 'application/json' }, { suspended_login: false })).status).toBe(401);
  });
});
