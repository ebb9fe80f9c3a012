import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditMark, auditSince } from '../support/audit.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

// The effects of a SaaS instance's limits, inside the instance: its owner arrives through the
// portal's login link, sees users against users,max and storage against its limit on the console
// page, adds users and stores files there (or an operator does through the admin API); its users
// sign in with their own password; a suspended instance lets none of them in while the portal
// still manages it. The portal side is driven over JSON-RPC, as a billing integration would.

let t: TestApp;
const ADMIN_PASSWORD = 'portal-admin-password';
let adminUid: number;
let planId: number;
const operator = () => ({ authorization: `Bearer ${t.operatorKey}` });

async function rpc(service: string, method: string, args: unknown[]): Promise<{ result?: unknown; error?: { data: { name: string; message: string } } }> {
  const res = await t.app.server.inject({ method: 'POST', url: '/jsonrpc', payload: { jsonrpc: '2.0', method: 'call', id: 1, params: { service, method, args } } });
  expect(res.statusCode).toBe(200);
  return res.json();
}

async function kw(model: string, method: string, args: unknown[], kwargs: Record<string, unknown> = {}): Promise<unknown> {
  const out = await rpc('object', 'execute_kw', ['hostplane', adminUid, ADMIN_PASSWORD, model, method, args, kwargs]);
  if (out.error) throw new Error(`${model}.${method}: ${out.error.data.message}`);
  return out.result;
}

const upgrade = async (id: number, payload: Record<string, unknown>) => JSON.parse((await kw('saas.config', 'do_upgrade_database', [payload, id])) as string) as Record<string, Record<string, string[]>>;
const param = (key: string, value: string) => ({ params: [{ key, value, hidden: true }] });

let seq = 0;
/** A portal user and an instance of theirs; returns the instance id and the owner's login link. */
async function newInstance(): Promise<{ id: number; url: URL; name: string }> {
  seq += 1;
  const login = `owner${seq}@example.com`;
  await kw('res.users', 'signup', [{ login, name: `Owner ${seq}`, password: 'portal-pass' }]);
  const uid = (await rpc('common', 'authenticate', ['hostplane', login, 'portal-pass', {}])).result as number;
  const name = `inst${seq}.example.test`;
  const created = (await kw('saas_portal.plan', 'create_new_database', [planId], { dbname: name, user_id: uid, owner_password: 'owner-pass' })) as { id: number; url: string };
  return { id: created.id, url: new URL(created.url), name };
}

/** Follows a login link; returns the session cookie. */
async function follow(url: URL): Promise<string> {
  const res = await t.app.server.inject({ method: 'GET', url: `${url.pathname}${url.search}` });
  expect(res.statusCode).toBe(303);
  const cookie = String(res.headers['set-cookie']).split(';')[0]!;
  expect(cookie).toMatch(/^hp_session=/);
  return cookie;
}

const view = (id: number, cookie?: string) => t.app.server.inject({ method: 'GET', url: `/console/clients/${id}`, headers: cookie ? { cookie } : {} });
const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
const form = (id: number, path: string, cookie: string, fields: Record<string, string>) =>
  t.app.server.inject({ method: 'POST', url: `/console/clients/${id}/${path}`, headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(fields).toString() });
const signIn = (id: number, login: string, password: string, ip = '203.0.113.7') =>
  t.app.server.inject({ method: 'POST', url: `/console/clients/${id}/login`, remoteAddress: ip, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ login, password }).toString() });
const overview = async (id: number) => {
  const res = await t.app.server.inject({ method: 'GET', url: `/admin/v1/clients/${id}/instance`, headers: operator() });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { status: string; max_users: number; users_count: number; users: { login: string; role: string; groups: string[] }[]; modules: string[]; usage: { used_bytes: number; used_mb: number; limit_mb: number; exceeded: boolean } };
};

beforeAll(async () => {
  t = await createTestApp();
  const user = await t.app.server.inject({ method: 'POST', url: '/admin/v1/users', headers: operator(), payload: { operator: true, login: 'admin', password: ADMIN_PASSWORD } });
  expect(user.statusCode, user.body).toBe(201);
  adminUid = user.json().id;
  const plans = (await t.app.server.inject({ method: 'GET', url: '/admin/v1/packages', headers: operator() })).json() as { id: number; uid: string }[];
  planId = plans.find((p) => p.uid === 'basic')!.id;
});
afterAll(() => t?.close());

describe('max_users inside an instance', () => {
  it('counts users on the owner page and refuses the one past the limit with Odoo’s message', async () => {
    const inst = await newInstance();
    expect(await upgrade(inst.id, param('saas_client.max_users', '2'))).toEqual({ [inst.name]: {} });
    const cookie = await follow(inst.url);
    const page = await view(inst.id, cookie);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<span id="users-count">1 of 2</span>');
    const csrf = csrfOf(page.body);

    const added = await form(inst.id, 'users', cookie, { csrf, login: 'clerk', name: 'Clerk', password: 'clerk-pass' });
    expect(added.statusCode).toBe(303);
    expect(added.headers.location).toBe(`/console/clients/${inst.id}?done=user`);
    expect((await view(inst.id, cookie)).body).toContain('<span id="users-count">2 of 2</span>');

    const refused = await form(inst.id, 'users', cookie, { csrf, login: 'third', password: 'third-pass' });
    expect(refused.statusCode).toBe(422);
    expect(refused.body).toContain('Maximum allowed users is 2, while you already have 2');
    // The operator API applies the same limit.
    const api = await t.app.server.inject({ method: 'POST', url: `/admin/v1/clients/${inst.id}/users`, headers: operator(), payload: { login: 'fourth', password: 'pw' } });
    expect(api.statusCode).toBe(422);
    expect(api.json().error).toMatchObject({ code: 'validation_failed', fields: { login: ['Maximum allowed users is 2, while you already have 2'] } });
    const o = await overview(inst.id);
    expect(o.users_count).toBe(2);
    expect(o.users.map((u) => u.login).sort()).toEqual(['admin', 'clerk', 'owner1@example.com'].sort());

    // Raising the limit over the portal lets the next one in.
    await upgrade(inst.id, param('saas_client.max_users', '3'));
    expect((await form(inst.id, 'users', cookie, { csrf, login: 'third', password: 'third-pass' })).statusCode).toBe(303);
    expect((await overview(inst.id)).users_count).toBe(3);
  });

  it('lets an added user sign in with their password, but not manage users', async () => {
    const inst = await newInstance();
    const api = await t.app.server.inject({ method: 'POST', url: `/admin/v1/clients/${inst.id}/users`, headers: operator(), payload: { login: 'member', password: 'member-pass' } });
    expect(api.statusCode, api.body).toBe(201);
    expect((await signIn(inst.id, 'member', 'wrong')).statusCode).toBe(401);
    const ok = await signIn(inst.id, 'member', 'member-pass');
    expect(ok.statusCode).toBe(303);
    const cookie = String(ok.headers['set-cookie']).split(';')[0]!;
    const page = await view(inst.id, cookie);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('as <code>member</code>');
    const refused = await form(inst.id, 'users', cookie, { csrf: csrfOf(page.body), login: 'sneaky', password: 'pw' });
    expect(refused.statusCode).toBe(403);
    expect((await overview(inst.id)).users.map((u) => u.login)).not.toContain('sneaky');
  });
});

describe('total_storage_limit inside an instance', () => {
  it('reports usage, refuses a file past the limit and flags an instance over it', async () => {
    const inst = await newInstance();
    await upgrade(inst.id, param('saas_client.total_storage_limit', '3'));
    const cookie = await follow(inst.url);
    const first = await view(inst.id, cookie);
    // An empty instance already uses 2 MB (its base database).
    expect(first.body).toContain('<span id="storage">2 MB of 3 MB</span>');
    const csrf = csrfOf(first.body);
    const mark = await auditMark(t);
    const half = 'x'.repeat(512 * 1024);
    expect((await form(inst.id, 'files', cookie, { csrf, name: 'notes.txt', content: half })).statusCode).toBe(303);
    expect((await overview(inst.id)).usage).toMatchObject({ used_bytes: 2.5 * 1024 * 1024, used_mb: 2.5, limit_mb: 3, exceeded: false });
    const stored = (await auditSince(t, mark)).filter((e) => e.action === 'client.file_stored');
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ actor_kind: 'user', target_type: 'client', target_id: String(inst.id) });
    expect(stored[0]!.changes).toMatchObject({ name: { after: 'notes.txt' }, bytes: { after: half.length } });

    const big = await form(inst.id, 'files', cookie, { csrf, name: 'big.txt', content: 'y'.repeat(600 * 1024) });
    expect(big.statusCode).toBe(409);
    expect(big.body).toContain('Storage limit of 3 MB reached');
    const api = await t.app.server.inject({ method: 'POST', url: `/admin/v1/clients/${inst.id}/files`, headers: operator(), payload: { name: 'big.bin', content_base64: Buffer.alloc(600 * 1024).toString('base64') } });
    expect(api.statusCode).toBe(409);
    expect((await overview(inst.id)).usage.used_bytes).toBe(2.5 * 1024 * 1024);

    // The portal lowers the limit below what is in use: the instance is flagged, on the page too.
    await upgrade(inst.id, param('saas_client.total_storage_limit', '2'));
    expect((await overview(inst.id)).usage.exceeded).toBe(true);
    expect((await view(inst.id, cookie)).body).toContain('id="storage-exceeded"');
    const read = (await kw('saas_portal.client', 'read', [[inst.id], ['storage_exceed', 'total_storage_limit']])) as Record<string, unknown>[];
    expect(read).toEqual([{ id: inst.id, storage_exceed: true, total_storage_limit: 2 }]);
    expect((await form(inst.id, 'files', cookie, { csrf, name: 'tiny.txt', content: 'a' })).statusCode).toBe(409);
  });

  it('refuses a file that is not base64 on the operator API, and changes nothing', async () => {
    const inst = await newInstance();
    const res = await t.app.server.inject({ method: 'POST', url: `/admin/v1/clients/${inst.id}/files`, headers: operator(), payload: { name: 'x', content_base64: 'not base64!' } });
    expect(res.statusCode).toBe(422);
    expect((await overview(inst.id)).usage.used_bytes).toBe(2 * 1024 * 1024);
  });
});

describe('a suspended instance', () => {
  it('lets none of its users in while the portal still manages it; resuming restores access', async () => {
    const inst = await newInstance();
    await t.app.server.inject({ method: 'POST', url: `/admin/v1/clients/${inst.id}/users`, headers: operator(), payload: { login: 'member', password: 'member-pass' } });
    const cookie = await follow(inst.url);
    expect((await view(inst.id, cookie)).statusCode).toBe(200);

    expect(await upgrade(inst.id, param('saas_client.suspended', '1'))).toEqual({ [inst.name]: {} });
    expect((await view(inst.id, cookie)).statusCode).toBe(401);
    const login = await signIn(inst.id, 'member', 'member-pass');
    expect(login.statusCode).toBe(409);
    expect(login.body).toContain('suspended');
    const api = await t.app.server.inject({ method: 'POST', url: `/admin/v1/clients/${inst.id}/users`, headers: operator(), payload: { login: 'late', password: 'pw' } });
    expect(api.statusCode).toBe(409);
    // The portal still sees and changes it.
    expect((await overview(inst.id)).status).toBe('suspended');
    expect(await upgrade(inst.id, { install_addons: ['sale_management'] })).toEqual({ [inst.name]: {} });

    await upgrade(inst.id, param('saas_client.suspended', '0'));
    expect((await view(inst.id, cookie)).statusCode).toBe(200);
    expect((await signIn(inst.id, 'member', 'member-pass')).statusCode).toBe(303);
    const o = await overview(inst.id);
    expect(o.status).toBe('active');
    expect(o.modules).toEqual(expect.arrayContaining(['sale', 'sale_management']));
  });
});

describe('the limits as service metadata', () => {
  it('reads and sets saas_client.max_users and total_storage_limit over cpcmd, the same values the portal sees', async () => {
    const inst = await newInstance();
    await upgrade(inst.id, { params: [{ key: 'saas_client.max_users', value: '6', hidden: true }, { key: 'saas_client.total_storage_limit', value: '900', hidden: true }] });
    const cpcmd = async (fn: string, args: unknown[]) => {
      const res = await t.app.server.inject({ method: 'POST', url: `/api/v1/cpcmd/${fn}`, headers: operator(), payload: { args } });
      expect(res.statusCode, res.body).toBe(200);
      return res.json().result as unknown;
    };
    const site = `site${inst.id}`;
    expect(await cpcmd('admin:collect', [['saas_client.max_users', 'saas_client.total_storage_limit', 'users.max', 'diskquota.quota'], { 'saas_client.max_users': 6 }, [site]])).toEqual({
      [site]: { saas_client: { max_users: 6, total_storage_limit: 900 }, users: { max: 6 }, diskquota: { quota: 900 }, active: true, domain: inst.name },
    });
    expect(await cpcmd('admin:collect', [['saas_client'], { 'saas_client.max_users': 7 }, [site]])).toEqual({});
    expect(await cpcmd('admin:edit-site', [site, { 'saas_client.total_storage_limit': 700, 'saas_client.max_users': 8 }])).toBe(true);
    const read = (await kw('saas_portal.client', 'read', [[inst.id], ['max_users', 'total_storage_limit']])) as Record<string, unknown>[];
    expect(read).toEqual([{ id: inst.id, max_users: '8', total_storage_limit: 700 }]);
    expect(await overview(inst.id)).toMatchObject({ max_users: 8, usage: { limit_mb: 700 } });
    const bad = await t.app.server.inject({ method: 'POST', url: '/api/v1/cpcmd/admin:edit-site', headers: operator(), payload: { args: [site, { 'saas_client.max_users': -1 }] } });
    expect(bad.statusCode).toBe(422);
    expect(bad.body).toContain('saas_client,max_users');
  });
});

describe('audit of the portal door', () => {
  it('names the operator user who acted over RPC, with the request id and address', async () => {
    const inst = await newInstance();
    const mark = await auditMark(t);
    await upgrade(inst.id, { install_addons: ['fleet'] });
    const events = await auditSince(t, mark);
    expect(events.map((e) => e.action)).toEqual(['client.updated']);
    expect(events[0]).toMatchObject({ actor_kind: 'user', actor_id: adminUid, target_id: String(inst.id), request_id: expect.any(String), source_ip: expect.any(String) });
    expect(events[0]!.changes.addons).toEqual({ before: [], after: ['base', 'fleet'] });
  });
});

describe('console security', () => {
  it('refuses a form without its token, and a session of another instance', async () => {
    const a = await newInstance();
    const b = await newInstance();
    const cookieA = await follow(a.url);
    const cookieB = await follow(b.url);
    const noToken = await form(a.id, 'users', cookieA, { login: 'x1', password: 'pw' });
    expect(noToken.statusCode).toBe(403);
    const otherToken = await form(a.id, 'users', cookieA, { csrf: csrfOf((await view(b.id, cookieB)).body), login: 'x2', password: 'pw' });
    expect(otherToken.statusCode).toBe(403);
    expect((await view(a.id, cookieB)).statusCode).toBe(401);
    expect((await form(a.id, 'users', cookieB, { csrf: csrfOf((await view(b.id, cookieB)).body), login: 'x3', password: 'pw' })).statusCode).toBe(401);
    expect((await view(a.id)).statusCode).toBe(401);
    expect((await form(a.id, 'files', 'hp_session=forged', { csrf: 'x', name: 'f', content: 'c' })).statusCode).toBe(401);
    expect((await overview(a.id)).users.map((u) => u.login)).not.toEqual(expect.arrayContaining(['x1', 'x2', 'x3']));
  });

  it('caps wrong passwords per account', async () => {
    const inst = await newInstance();
    await t.app.server.inject({ method: 'POST', url: `/admin/v1/clients/${inst.id}/users`, headers: operator(), payload: { login: 'target', password: 'right-pass' } });
    for (let i = 0; i < 10; i++) expect((await signIn(inst.id, 'target', `guess-${i}`, `198.51.100.${i + 1}`)).statusCode).toBe(401);
    const blocked = await signIn(inst.id, 'target', 'right-pass', '198.51.100.99');
    expect(blocked.statusCode).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('keeps the operator API behind the operator key', async () => {
    const inst = await newInstance();
    for (const headers of [{}, { authorization: 'Bearer wrong' }]) {
      expect((await t.app.server.inject({ method: 'GET', url: `/admin/v1/clients/${inst.id}/instance`, headers })).statusCode).toBe(401);
      expect((await t.app.server.inject({ method: 'POST', url: `/admin/v1/clients/${inst.id}/users`, headers, payload: { login: 'n', password: 'p' } })).statusCode).toBe(401);
      expect((await t.app.server.inject({ method: 'POST', url: `/admin/v1/clients/${inst.id}/files`, headers, payload: { name: 'n', content_base64: '' } })).statusCode).toBe(401);
    }
    expect((await t.app.server.inject({ method: 'GET', url: '/admin/v1/clients/999999/instance', headers: operator() })).statusCode).toBe(404);
    expect((await overview(inst.id)).users_count).toBe(1);
  });
});
