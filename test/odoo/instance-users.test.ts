import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ctxFor } from '../../src/core/context.js';
import { pushInstanceUsersHandler } from '../../src/core/saas/instance-users.js';
import type { ControlPlane } from '../agent/agent-harness.js';
import { waitFor } from '../jobs-process/process-harness.js';
import { pgAdmin, startInstanceWorld, type Instance, type InstanceWorld } from './instance-world.js';

/*
 * Instance users in the instance's own database (docs/adr/0027), end to end: a control plane on a
 * real port, a real `hostplane agent` (role db) driving the machine's PostgreSQL, instances made by
 * the portal's create_new_database through Python's xmlrpc.client from an Odoo-shaped template.
 * Users added at Hostplane's doors land in the instance's res_users; what the doors show is what
 * the node read back. Every database and role made here is dropped afterwards.
 */
let w: InstanceWorld;
let cp: ControlPlane;
let BARE: string;
const admin = pgAdmin;

interface Overview {
  users_source: string;
  users_count: number;
  users: { id: number | null; login: string; name: string | null; role: string; groups: string[] }[];
  pending_logins: string[];
  files: { source: string; count: number; bytes: number };
  database: { status: string; users_in_database: boolean | null; files: { count: number; bytes: number } | null; active_users: number | null } | null;
}

const overview = (id: number) => w.overview<Overview>(id);
/** Waits until the instance's overview, as the node's reports make it, satisfies `ok`. */
const until = (id: number, ok: (o: Overview) => boolean, what: string) => w.untilOverview<Overview>(id, ok, what);

async function resUser(db: string, login: string) {
  return (await admin<{ login: string; active: boolean; share: boolean; name: string }>('select u.login, u.active, u.share, p.name from res_users u join res_partner p on p.id = u.partner_id where u.login = $1', [login], db))[0];
}


let odooPlan: number;
let a: Instance;
let b: Instance;

beforeAll(async () => {
  w = await startInstanceWorld('u');
  cp = w.cp;
  BARE = await w.database('bare', 'create table notes (id serial primary key, body text)');
  odooPlan = await w.createPlan(`odoo-${w.prefix}`, w.template, 10);
  a = await w.createInstance(odooPlan, w.host('a'));
  b = await w.createInstance(odooPlan, w.host('b'));
}, 180_000);

afterAll(() => w?.close(), 120_000);

describe('instance users live in the instance database', () => {
  it('the new instance already holds its owner in res_users; the API reads users and files back from the report', async () => {
    const o = await until(a.id, (x) => x.users_source === 'instance_database' && x.users.some((u) => u.login === 'owner'), 'owner reported');
    // The owner's partner carries the portal user's name.
    expect(await resUser(a.db, 'owner')).toEqual({ login: 'owner', active: true, share: false, name: 'admin' });
    expect(o.users.map((u) => [u.login, u.role])).toEqual([
      ['admin', 'client_admin'],
      ['owner', 'end_user'],
    ]);
    expect(o).toMatchObject({ users_count: 1, pending_logins: [], files: { source: 'instance_database', count: 2, bytes: 5096, staged: 0 }, database: { users_in_database: true, active_users: 2 } });
  });

  it('a user added through the admin API ends up in res_users; one made inside the instance shows too', async () => {
    const r = await cp.admin<{ id: number }>('POST', `/admin/v1/clients/${a.id}/users`, { login: 'sales@a.test', password: 'sales password', name: 'Sales' });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    await waitFor(async () => (await resUser(a.db, 'sales@a.test')) ?? undefined, 60_000, () => w.agent.output().slice(-2000), 200);
    expect(await resUser(a.db, 'sales@a.test')).toEqual({ login: 'sales@a.test', active: true, share: false, name: 'Sales' });
    const [p] = await admin<{ n: number }>("select count(*)::int as n from res_groups_users_rel r join ir_model_data d on d.res_id = r.gid and d.model = 'res.groups' join res_users u on u.id = r.uid where u.login = $1 and d.name = 'group_user'", ['sales@a.test'], a.db);
    expect(p!.n).toBe(1);

    // Odoo itself adds a user: it is the instance's, and the doors show it from the report.
    const [partner] = await admin<{ id: number }>("insert into res_partner (name, lang) values ('Stock', 'en_US') returning id", [], a.db);
    await admin("insert into res_users (login, active, company_id, partner_id, share, notification_type) values ('stock@a.test', true, 1, $1, false, 'email')", [partner!.id], a.db);
    const o = await until(a.id, (x) => x.users.some((u) => u.login === 'stock@a.test'), 'stock reported');
    expect(o.users.find((u) => u.login === 'sales@a.test')).toEqual({ id: r.body.id, login: 'sales@a.test', name: 'Sales', role: 'end_user', groups: ['base.group_user'] });
    expect(o.users.find((u) => u.login === 'stock@a.test')).toEqual({ id: null, login: 'stock@a.test', name: 'Stock', role: 'instance_user', groups: [] });
    expect(o.users_count).toBe(3);
    // The portal's user count reads the same report.
    const portal = await cp.admin<{ users_count: number }>('GET', `/admin/v1/clients/${a.id}/instance`);
    expect(portal.body.users_count).toBe(3);
  });

  it("the owner's console page lists the users read from the instance's database", async () => {
    const link = new URL(a.url);
    const login = await fetch(`${cp.url}${link.pathname}${link.search}`, { redirect: 'manual' });
    expect(login.status).toBe(303);
    const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const page = await (await fetch(`${cp.url}/console/clients/${a.id}`, { headers: { cookie } })).text();
    expect(page).toContain("Read from the instance's own database");
    expect(page).toContain('<code>stock@a.test</code> (made in the instance)');
    expect(page).toContain('<code>sales@a.test</code>');
    expect(page).toContain('<span id="users-count">3 of 10</span>');
    expect(page).toContain("2 files, 0.00 MB, in the instance's own database");
    // A file stored here is moved into ir_attachment by the node (test/odoo/instance-files.test.ts).
    expect(page).toContain(`action="/console/clients/${a.id}/files"`);
  });

  it('deactivation sets active false in res_users and the user leaves the report; the owner and the administrator are refused', async () => {
    const o = await overview(a.id);
    const sales = o.users.find((u) => u.login === 'sales@a.test')!;
    const r = await cp.admin('POST', `/admin/v1/clients/${a.id}/users/${sales.id}/deactivate`);
    expect(r).toEqual({ status: 200, body: { id: sales.id, login: 'sales@a.test', active: false } });
    await waitFor(async () => ((await resUser(a.db, 'sales@a.test'))?.active === false ? true : undefined), 60_000, () => w.agent.output().slice(-2000), 200);
    const after = await until(a.id, (x) => !x.users.some((u) => u.login === 'sales@a.test'), 'sales gone from the report');
    expect(after.users_count).toBe(2);
    for (const u of o.users.filter((x) => x.role === 'client_admin' || x.role === 'end_user').filter((x) => x.login !== 'sales@a.test')) {
      const refused = await cp.admin<{ error: { code: string } }>('POST', `/admin/v1/clients/${a.id}/users/${u.id}/deactivate`);
      expect(refused.status, u.login).toBe(409);
    }
    expect((await resUser(a.db, 'owner'))!.active).toBe(true);
  });
});

describe('security', () => {
  it("one instance's users never appear in another's database or report", async () => {
    const r = await cp.admin('POST', `/admin/v1/clients/${b.id}/users`, { login: 'only-b@b.test', password: 'b password' });
    expect(r.status).toBe(201);
    await waitFor(async () => (await resUser(b.db, 'only-b@b.test')) ?? undefined, 60_000, () => w.agent.output().slice(-2000), 200);
    const ob = await until(b.id, (x) => x.users.some((u) => u.login === 'only-b@b.test'), 'b reported');
    expect(ob.users.map((u) => u.login)).not.toContain('sales@a.test');
    expect(ob.users.map((u) => u.login)).not.toContain('stock@a.test');
    expect(await resUser(b.db, 'sales@a.test')).toBeUndefined();
    expect(await resUser(a.db, 'only-b@b.test')).toBeUndefined();
    expect((await overview(a.id)).users.map((u) => u.login)).not.toContain('only-b@b.test');
    // Another instance's user cannot be deactivated through this one.
    const bUser = ob.users.find((u) => u.login === 'only-b@b.test')!;
    const cross = await cp.admin('POST', `/admin/v1/clients/${a.id}/users/${bUser.id}/deactivate`);
    expect(cross.status).toBe(404);
    expect((await resUser(b.db, 'only-b@b.test'))!.active).toBe(true);
  });

  it('an injection-shaped login is stored as it is, as a parameter; spaces and control characters are refused at the door', async () => {
    const evil = "x');drop/**/table/**/res_users;--";
    const r = await cp.admin('POST', `/admin/v1/clients/${b.id}/users`, { login: evil, password: 'p' });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    await waitFor(async () => (await resUser(b.db, evil)) ?? undefined, 60_000, () => w.agent.output().slice(-2000), 200);
    expect(await admin("select to_regclass('res_users')::text as t", [], b.db)).toEqual([{ t: 'res_users' }]);
    for (const login of ["a'; drop table res_users; --", 'bell\u0007@b.test', '']) {
      const bad = await cp.admin<{ error: { code: string; fields: Record<string, string[]> } }>('POST', `/admin/v1/clients/${b.id}/users`, { login, password: 'p' });
      expect(bad.status, JSON.stringify(login)).toBe(422);
      expect(bad.body.error.fields.login).toBeDefined();
    }
    // A user id that is no number is no user: not found, as every id in a path.
    const bad = await cp.admin('POST', `/admin/v1/clients/${b.id}/users/1%20or%201=1/deactivate`);
    expect(bad.status).toBe(404);
  });
});

describe('the client API (the owner signed in)', () => {
  it('adds and deactivates a user with the session and its CSRF token; another instance\'s user is not found', async () => {
    const link = new URL(b.url);
    const login = await fetch(`${cp.url}${link.pathname}${link.search}`, { redirect: 'manual' });
    expect(login.status).toBe(303);
    const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const call = async (method: string, route: string, headers: Record<string, string> = {}, body?: unknown) => {
      const res = await fetch(cp.url + route, { method, headers: { cookie, ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const csrf = (await call('GET', '/client/v1/session')).body.csrf_token as string;
    const added = await call('POST', '/client/v1/instance/users', { 'x-csrf-token': csrf }, { login: 'temp@b.test', password: 'temp password' });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    await waitFor(async () => (await resUser(b.db, 'temp@b.test')) ?? undefined, 60_000, () => w.agent.output().slice(-2000), 200);
    expect((await call('POST', `/client/v1/instance/users/${added.body.id}/deactivate`)).status).toBe(403);
    const done = await call('POST', `/client/v1/instance/users/${added.body.id}/deactivate`, { 'x-csrf-token': csrf });
    expect(done).toEqual({ status: 200, body: { id: added.body.id, login: 'temp@b.test', active: false } });
    await waitFor(async () => ((await resUser(b.db, 'temp@b.test'))?.active === false ? true : undefined), 60_000, () => w.agent.output().slice(-2000), 200);
    const aUser = (await overview(a.id)).users.find((u) => u.login === 'owner')!;
    expect((await call('POST', `/client/v1/instance/users/${aUser.id}/deactivate`, { 'x-csrf-token': csrf })).status).toBe(404);
    const view = await call('GET', '/client/v1/instance');
    expect(view.body.users_source).toBe('instance_database');
  });
});

describe('a template without res_users', () => {
  it('keeps the users in Hostplane, and the API says where they come from', async () => {
    const plan = await w.createPlan(`bare-${w.prefix}`, BARE, 10);
    const c = await w.createInstance(plan, w.host('c'));
    const o = await until(c.id, (x) => x.database?.users_in_database === false, 'no res_users reported');
    expect(o).toMatchObject({ users_source: 'hostplane', pending_logins: [], files: { source: 'hostplane', count: 0, bytes: 0, staged: 0 }, database: { status: 'applied', files: null, active_users: null } });
    expect(o.users.map((u) => u.login)).toEqual(['admin', 'owner']);
    expect((await cp.admin('POST', `/admin/v1/clients/${c.id}/users`, { login: 'kept@c.test', password: 'p' })).status).toBe(201);
    expect((await overview(c.id)).users.map((u) => u.login)).toEqual(['admin', 'owner', 'kept@c.test']);
    expect(await admin("select to_regclass('res_users')::text as t", [], c.db)).toEqual([{ t: null }]);
  });
});

describe('an existing install', () => {
  it("the migration's job gives every instance database its users again, once: a second run writes nothing", async () => {
    const deps = cp.app().deps;
    const db = deps.db;
    // As an install before 0027 wrote it: no users in the spec.
    const row = await db.selectFrom('node_objects').select(['spec', 'version']).where('object_id', '=', `db${a.id}`).executeTakeFirstOrThrow();
    const { users: _users, ...older } = row.spec as Record<string, unknown>;
    await db.updateTable('node_objects').set({ spec: JSON.stringify(older) as never }).where('object_id', '=', `db${a.id}`).execute();
    const ctx = ctxFor(deps, { kind: 'system' });
    await pushInstanceUsersHandler.handle(ctx);
    const pushed = await db.selectFrom('node_objects').select(['spec', 'version']).where('object_id', '=', `db${a.id}`).executeTakeFirstOrThrow();
    expect(Number(pushed.version)).toBeGreaterThan(Number(row.version));
    expect((pushed.spec as { users: { login: string }[] }).users.map((u) => u.login)).toEqual(['admin', 'owner', 'sales@a.test']);
    await pushInstanceUsersHandler.handle(ctx);
    const again = await db.selectFrom('node_objects').select('version').where('object_id', '=', `db${a.id}`).executeTakeFirstOrThrow();
    expect(Number(again.version)).toBe(Number(pushed.version));
  });
});
