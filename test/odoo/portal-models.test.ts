import type OdooAwait from 'odoo-await';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirePython } from '../facades/odoo-rpc/python-xmlrpc.js';
import { awaitCall, DB, fault, ok, odooAwait, operatorApi, pyExecute, pyOne, python, rawPost, startPortal, tsClient, type Account, type Outcome, type Portal } from './portal-harness.js';

/**
 * The Odoo SaaS portal's models through the real server: the real dispatcher and core on a real
 * database, driven by Python's xmlrpc.client (as the seed's scripts), the npm clients odoo-await and
 * odoo-xmlrpc-ts, and raw HTTP for what no client sends. Effects are checked through the other doors
 * (operator API, cpcmd), never by reading tables.
 */

let p: Portal;
let admin: Account;
let alice: Account;
let bob: Account;
const plans = { crm: 0, open: 0, bare: 0, sales: 0, filters: 0 };

type Created = { url: string; auth_url: string; id: number; client_id: string };

async function createPlan(body: Record<string, unknown>): Promise<number> {
  const res = await operatorApi(p.s, 'POST', '/admin/v1/packages', body);
  if (res.status !== 201) throw new Error(`plan ${String(body.uid)}: ${JSON.stringify(res.body)}`);
  return (res.body as { id: number }).id;
}

async function signup(login: string, name: string, password: string): Promise<Account> {
  ok(await pyOne(p.s, { as: admin, model: 'res.users', method: 'signup', args: [{ login, name, password }] }));
  const [uid] = await python(p.s, 'common', [{ method: 'authenticate', args: [DB, login, password, {}] }]);
  return { uid: ok<number>(uid!), login, password };
}

function create(as: Account, planArg: unknown, kwargs: Record<string, unknown>): Promise<Outcome> {
  return pyOne(p.s, { as, model: 'saas_portal.plan', method: 'create_new_database', args: [planArg], kwargs });
}

async function createInstance(planId: number, dbname: string, owner: Account): Promise<Created> {
  return ok<Created>(await create(admin, planId, { dbname, user_id: owner.uid }));
}

async function upgrade(id: number, payload: Record<string, unknown>, as: Account = admin): Promise<Outcome> {
  return pyOne(p.s, { as, model: 'saas.config', method: 'do_upgrade_database', args: [payload, id] });
}

/** do_upgrade_database's answer, parsed: it is a JSON string keyed by the instance name. */
async function upgraded(id: number, payload: Record<string, unknown>): Promise<Record<string, Record<string, string[]>>> {
  const answer = ok(await upgrade(id, payload));
  expect(answer).toEqual(expect.any(String));
  return JSON.parse(answer as string) as Record<string, Record<string, string[]>>;
}

async function readClient(id: number, fields: string[]): Promise<Record<string, unknown>> {
  const rows = ok<Record<string, unknown>[]>(await pyOne(p.s, { as: admin, model: 'saas_portal.client', method: 'read', args: [[id], fields] }));
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

interface InstanceView {
  modules: string[];
  users: { login: string; role: string; groups: string[] }[];
  usage: { used_bytes: number; limit_mb: number; exceeded: boolean };
}

async function instanceView(id: number): Promise<InstanceView> {
  const res = await operatorApi(p.s, 'GET', `/admin/v1/clients/${id}/instance`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as InstanceView;
}

async function collect(id: number, params: string[]): Promise<Record<string, unknown>> {
  const res = await operatorApi(p.s, 'POST', '/api/v1/cpcmd/admin:collect', { args: [params, {}, [`site${id}`]] });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return (res.body as { result: Record<string, Record<string, unknown>> }).result[`site${id}`]!;
}

/** A fault the client can act on: Odoo's user-error code, never the internal-error text. */
function expectUserError(o: Outcome, message?: string | RegExp): void {
  const f = fault(o);
  expect(f.faultCode, f.faultString).toBe(2);
  expect(f.faultString).not.toMatch(/internal server error/i);
  if (typeof message === 'string') expect(f.faultString).toBe(message);
  else if (message) expect(f.faultString).toMatch(message);
}

beforeAll(async () => {
  await requirePython();
  p = await startPortal();
  admin = p.admin;
  plans.crm = await createPlan({ uid: 'crm', name: 'CRM', description: 'CRM for teams', dbname_template: 'crm-%i.odoo.test', max_databases: 2, limits: { max_users: 3 }, service_defaults: { diskquota: { quota: 200 } } });
  plans.open = await createPlan({ uid: 'open', name: 'Open', dbname_template: 'open-%i.odoo.test' });
  plans.bare = await createPlan({ uid: 'bare', name: 'Bare' });
  plans.sales = await createPlan({ uid: 'sales-only', name: 'Sales only', dbname_template: 'sales-%i.odoo.test', addons: ['sale', 'sale_management'] });
  plans.filters = await createPlan({ uid: 'filters', name: 'Filters' });
  alice = await signup('alice@example.com', 'Alice Liddell', 'alice password');
  bob = await signup('bob@example.com', 'Bob Builder', 'bob password');
});
afterAll(() => p?.close());

describe('common: version, authenticate, login', () => {
  it('answers version, authenticate and login through Python', async () => {
    const [version, auth, login, badPassword, unknownLogin, wrongDb, wrongDbLogin] = await python(p.s, 'common', [
      { method: 'version' },
      { method: 'authenticate', args: [DB, 'admin', admin.password, {}] },
      { method: 'login', args: [DB, 'admin', admin.password] },
      { method: 'authenticate', args: [DB, 'admin', 'not the password', {}] },
      { method: 'authenticate', args: [DB, 'nobody@example.com', 'x', {}] },
      { method: 'authenticate', args: ['not-the-portal', 'admin', admin.password, {}] },
      { method: 'login', args: ['not-the-portal', 'admin', admin.password] },
    ]);
    expect(ok(version!)).toEqual({ server_version: '11.0', server_version_info: [11, 0, 0, 'final', 0, ''], server_serie: '11.0', protocol_version: 1 });
    expect(ok(auth!)).toBe(admin.uid);
    expect(ok(login!)).toBe(admin.uid);
    // Bad credentials are False, not a fault, as Odoo answers.
    expect(ok(badPassword!)).toBe(false);
    expect(ok(unknownLogin!)).toBe(false);
    for (const o of [wrongDb!, wrongDbLogin!]) expectUserError(o, 'database "not-the-portal" does not exist');
  });

  it('checks the password with every object call: a bad one is fault 3 "Access denied"', async () => {
    const call = (db: unknown, uid: unknown, password: unknown) => ({ method: 'execute_kw', args: [db, uid, password, 'saas_portal.plan', 'search', [[]]] });
    const [good, badPassword, unknownUid, otherUsersPassword, textUid, wrongDb] = await python(p.s, 'object', [
      call(DB, admin.uid, admin.password),
      call(DB, admin.uid, 'not the password'),
      call(DB, 999_999, admin.password),
      call(DB, alice.uid, admin.password),
      call(DB, 'admin', admin.password),
      call('not-the-portal', admin.uid, admin.password),
    ]);
    expect(ok(good!)).toEqual(expect.arrayContaining([plans.crm, plans.open]));
    for (const o of [badPassword!, unknownUid!, otherUsersPassword!, textUid!]) expect(fault(o)).toEqual({ faultCode: 3, faultString: 'Access denied' });
    expectUserError(wrongDb!, 'database "not-the-portal" does not exist');
  });

  it('uses string fault codes on the legacy /xmlrpc/ endpoints', async () => {
    const [auth, denied] = await Promise.all([
      python(p.s, 'common', [{ method: 'authenticate', args: [DB, 'admin', admin.password, {}] }], '/xmlrpc'),
      python(p.s, 'object', [{ method: 'execute_kw', args: [DB, admin.uid, 'wrong', 'saas_portal.plan', 'search', [[]]] }], '/xmlrpc'),
    ]);
    expect(ok(auth[0]!)).toBe(admin.uid);
    expect(fault(denied[0]!)).toEqual({ faultCode: 'AccessDenied', faultString: 'Access denied' });
  });

  it('works with odoo-xmlrpc-ts (version, then authenticate) and odoo-await (authenticate)', async () => {
    const ts = tsClient(p.s, admin);
    expect(await ts.version()).toMatchObject({ server_version: '11.0', protocol_version: 1 });
    expect(await ts.authenticate()).toBe(admin.uid);
    await expect(tsClient(p.s, { ...admin, password: 'wrong' }).authenticate()).rejects.toThrow();
    // odoo-await keeps the uid authenticate gave it and sends it with every call.
    expect(await (await odooAwait(p.s, alice)).search('res.users', [])).toEqual([alice.uid]);
    await expect(odooAwait(p.s, { ...alice, password: 'wrong' })).rejects.toMatch(/invalid credentials/);
  });

  it('answers JSON-RPC the same way (python3-odoorpc: session, ir.model, fields_get)', async () => {
    type Answer = { result?: { uid?: unknown } & Record<string, unknown>; error?: Record<string, unknown> };
    const json = async (url: string, params: unknown) => JSON.parse((await rawPost(p.s, url, JSON.stringify({ jsonrpc: '2.0', method: 'call', params, id: 1 }), 'application/json')).body) as Answer;
    const session = await json('/web/session/authenticate', { db: DB, login: alice.login, password: alice.password });
    expect(session.result).toMatchObject({ uid: alice.uid, db: DB, username: alice.login, is_admin: false });
    expect((await json('/web/session/authenticate', { db: DB, login: alice.login, password: 'wrong' })).result?.uid).toBe(false);
    const exec = (model: string, method: string, args: unknown[], password = alice.password) => json('/jsonrpc', { service: 'object', method: 'execute_kw', args: [DB, alice.uid, password, model, method, args] });
    expect((await exec('ir.model', 'search', [[['model', '=', 'saas_portal.client']]])).result).toEqual([expect.any(Number)]);
    expect((await exec('ir.model', 'search', [[['model', '=', 'res.partner']]])).result).toEqual([]);
    expect((await exec('saas_portal.client', 'fields_get', [])).result).toMatchObject({ name: { type: 'char' }, plan_id: { type: 'many2one', relation: 'saas_portal.plan' } });
    const denied = await exec('saas_portal.client', 'search', [[]], 'wrong');
    expect(denied.error).toMatchObject({ code: 200, message: 'Odoo Server Error', data: { name: 'odoo.exceptions.AccessDenied', message: 'Access denied' } });
  });
});

describe('res.users', () => {
  it('signs up a portal user: [db, login, password], who can then authenticate', async () => {
    const answer = await pyOne(p.s, { as: admin, model: 'res.users', method: 'signup', args: [{ login: 'carol@example.com', name: 'Carol', password: 'carol password' }] });
    expect(ok(answer)).toEqual([DB, 'carol@example.com', 'carol password']);
    const [uid] = await python(p.s, 'common', [{ method: 'authenticate', args: [DB, 'carol@example.com', 'carol password', {}] }]);
    expect(ok(uid!)).toEqual(expect.any(Number));
  });

  it('refuses a taken login (in any case) with fault 2 naming it', async () => {
    const [same, upper] = await pyExecute(p.s, [
      { as: admin, model: 'res.users', method: 'signup', args: [{ login: alice.login, name: 'Impostor', password: 'x' }] },
      { as: admin, model: 'res.users', method: 'signup', args: [{ login: 'ALICE@example.com', name: 'Impostor', password: 'x' }] },
    ]);
    expectUserError(same!, `You can not have two users with the same login! (${alice.login})`);
    expectUserError(upper!, 'You can not have two users with the same login! (ALICE@example.com)');
    // The first account is untouched.
    expect(ok((await python(p.s, 'common', [{ method: 'authenticate', args: [DB, alice.login, alice.password, {}] }]))[0]!)).toBe(alice.uid);
  });

  it('refuses sign-up values that are not a login, name and password', async () => {
    const outcomes = await pyExecute(
      p.s,
      [{ login: 'has space', name: 'x', password: 'x' }, { login: 'nopassword@example.com', name: 'x' }, 'not a dict', { login: 'x@example.com', name: 'x'.repeat(201), password: 'x' }].map((values) => ({ as: admin, model: 'res.users', method: 'signup', args: [values] })),
    );
    for (const o of outcomes) expectUserError(o);
  });

  it('lets only the portal administrator sign users up', async () => {
    const o = await pyOne(p.s, { as: alice, model: 'res.users', method: 'signup', args: [{ login: 'sockpuppet@example.com', name: 'Sock', password: 'x' }] });
    expect(fault(o).faultCode).toBe(4);
    expect(ok((await python(p.s, 'common', [{ method: 'authenticate', args: [DB, 'sockpuppet@example.com', 'x', {}] }]))[0]!)).toBe(false);
  });

  it('shows the administrator every account and a portal user only their own', async () => {
    const [all, own, otherRead, otherSearch, count, portalOnly] = await pyExecute(p.s, [
      { as: admin, model: 'res.users', method: 'search', args: [[]] },
      { as: alice, model: 'res.users', method: 'search_read', args: [[]], kwargs: { fields: ['login', 'name', 'partner_id'] } },
      { as: alice, model: 'res.users', method: 'read', args: [[bob.uid, admin.uid]] },
      { as: alice, model: 'res.users', method: 'search', args: [[['login', '=', bob.login]]] },
      { as: bob, model: 'res.users', method: 'search_count', args: [[]] },
      { as: admin, model: 'res.users', method: 'search_read', args: [[['share', '=', true], ['active', '=', true], ['login', 'in', [alice.login, bob.login, 'admin']]], ['login']] },
    ]);
    expect(ok(all!)).toEqual(expect.arrayContaining([admin.uid, alice.uid, bob.uid]));
    expect(ok(own!)).toEqual([{ id: alice.uid, login: alice.login, name: 'Alice Liddell', partner_id: [alice.uid, 'Alice Liddell'] }]);
    expect(ok(otherRead!)).toEqual([]);
    expect(ok(otherSearch!)).toEqual([]);
    expect(ok(count!)).toBe(1);
    expect(ok(portalOnly!)).toEqual([
      { id: alice.uid, login: alice.login },
      { id: bob.uid, login: bob.login },
    ]);
  });

  it('reads through odoo-await and refuses unknown fields', async () => {
    const client = await odooAwait(p.s, admin);
    expect(await client.read('res.users', alice.uid, ['login', 'name'])).toEqual([{ id: alice.uid, login: alice.login, name: 'Alice Liddell' }]);
    expectUserError(await awaitCall(client, 'res.users', 'read', [[alice.uid]], { fields: ['password_hash'] }), /Invalid field 'password_hash'/);
    expectUserError(await awaitCall(client, 'res.users', 'search', [[['password_hash', '!=', false]]]));
  });
});

describe('saas_portal.plan', () => {
  it('searches and reads plans with the fields the portal modules have', async () => {
    const [ids, rows, searchRead] = await pyExecute(p.s, [
      { as: admin, model: 'saas_portal.plan', method: 'search', args: [[['name', 'in', ['CRM', 'Bare']]]] },
      { as: admin, model: 'saas_portal.plan', method: 'read', args: [[plans.crm, plans.bare]] },
      { as: alice, model: 'saas_portal.plan', method: 'search_read', args: [[['dbname_template', 'ilike', 'odoo.test']]], kwargs: { fields: ['name'], order: 'name desc' } },
    ]);
    expect(ok(ids!)).toEqual([plans.crm, plans.bare].sort((a, b) => a - b));
    const [crm, bare] = ok<Record<string, unknown>[]>(rows!);
    expect(crm).toMatchObject({
      id: plans.crm,
      name: 'CRM',
      summary: 'CRM for teams',
      dbname_template: 'crm-%i.odoo.test',
      maximum_allowed_dbs_per_partner: 2,
      max_users: '3',
      total_storage_limit: 200,
      state: 'confirmed',
      expiration: 0,
      grace_period: 0,
      block_on_expiration: false,
      block_on_storage_exceed: true,
    });
    expect(bare).toMatchObject({ id: plans.bare, dbname_template: false, maximum_allowed_dbs_per_partner: 0, max_users: '0' });
    expect(ok(searchRead!)).toEqual([
      { id: plans.sales, name: 'Sales only' },
      { id: plans.open, name: 'Open' },
      { id: plans.crm, name: 'CRM' },
    ]);
  });

  it('describes its fields (fields_get) to odoo-xmlrpc-ts and odoo-await', async () => {
    const fields = await tsClient(p.s, admin).fieldsGet('saas_portal.plan');
    for (const name of ['name', 'summary', 'max_users', 'total_storage_limit', 'maximum_allowed_dbs_per_partner', 'maximum_allowed_trial_dbs_per_partner', 'expiration', 'grace_period', 'dbname_template', 'block_on_expiration', 'block_on_storage_exceed', 'state', 'sequence']) {
      expect(fields, name).toHaveProperty(name);
    }
    // odoo-xmlrpc-ts asks for string, help and type: only those come back (there is no help text).
    expect(fields.max_users).toEqual({ type: 'char', string: 'Max users' });
    expect(fields.total_storage_limit).toEqual({ type: 'integer', string: 'Total storage limit' });
    const viaAwait = (await (await odooAwait(p.s, alice)).getFields('saas_portal.plan')) as Record<string, Record<string, unknown>>;
    expect(Object.keys(viaAwait).sort()).toEqual(Object.keys(fields).sort());
    expect(viaAwait.name).toEqual({ type: 'char', string: 'Name', readonly: true });
    const [some, bad] = await pyExecute(p.s, [
      { as: admin, model: 'saas_portal.client', method: 'fields_get', args: [['name', 'plan_id', 'no_such_field'], ['type', 'relation']] },
      { as: admin, model: 'saas_portal.client', method: 'fields_get', args: [], kwargs: { attributes: 'type' } },
    ]);
    expect(ok(some!)).toEqual({ name: { type: 'char' }, plan_id: { type: 'many2one', relation: 'saas_portal.plan' } });
    expectUserError(bad!, 'attributes must be a list of names');
    expect(ok<Record<string, unknown>[]>(await pyOne(p.s, { as: admin, model: 'saas_portal.plan', method: 'read', args: [[plans.crm], ['maximum_allowed_trial_dbs_per_partner']] }))).toEqual([{ id: plans.crm, maximum_allowed_trial_dbs_per_partner: 0 }]);
  });
});

describe('saas_portal.plan.create_new_database', () => {
  it('creates an instance named by dbname, owned by the user, with admin and owner inside', async () => {
    const created = ok<Created>(await create(admin, plans.crm, { dbname: 'client.odoo.test', user_id: alice.uid, owner_password: 'owner secret' }));
    expect(created).toEqual({ url: expect.stringMatching(/^https:\/\/panel\.hostplane\.test\/login\/auth_token\?token=./), auth_url: created.url, id: expect.any(Number), client_id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/) });
    expect(await readClient(created.id, ['name', 'host', 'client_id', 'plan_id', 'partner_id', 'user_id', 'state', 'max_users', 'total_storage_limit', 'users_len'])).toEqual({
      id: created.id,
      name: 'client.odoo.test',
      host: 'client.odoo.test',
      client_id: created.client_id,
      plan_id: [plans.crm, 'CRM'],
      partner_id: [alice.uid, 'Alice Liddell'],
      user_id: [alice.uid, 'Alice Liddell'],
      state: 'open',
      max_users: '3',
      total_storage_limit: 200,
      users_len: 2,
    });
    const view = await instanceView(created.id);
    expect(view.users.map((u) => u.login)).toEqual(['admin', alice.login]);
    expect(view.users[1]!.groups).toEqual(expect.arrayContaining(['base.group_user', 'base.group_partner_manager']));
  });

  it('caps the number of databases of a plan', async () => {
    ok(await create(admin, plans.crm, { dbname: 'second.odoo.test', user_id: bob.uid }));
    expectUserError(await create(admin, plans.crm, { dbname: 'third.odoo.test', user_id: bob.uid }), 'Limit of databases for this plan is 2 reached');
    expectUserError(await create(admin, plans.crm, { user_id: bob.uid }), 'Limit of databases for this plan is 2 reached');
  });

  it('lets concurrent creates take a plan\'s last places only once', async () => {
    const plan = await createPlan({ uid: 'scarce', name: 'Scarce', max_databases: 2 });
    const client = await odooAwait(p.s, admin);
    const outcomes = await Promise.all(Array.from({ length: 6 }, (_, i) => awaitCall(client, 'saas_portal.plan', 'create_new_database', [[plan]], { dbname: `scarce-${i}.odoo.test`, user_id: bob.uid })));
    expect(outcomes.filter((o) => o.ok).length).toBe(2);
    for (const o of outcomes.filter((o) => o.fault)) expectUserError(o, 'Limit of databases for this plan is 2 reached');
    expect(ok(await awaitCall(client, 'saas_portal.client', 'search_count', [[['plan_id', '=', plan]]]))).toBe(2);
  });

  it('names instances from the plan\'s template with one global, zero-padded sequence ([plan_id] and [[plan_id]])', async () => {
    const first = ok<Created>(await create(admin, plans.open, { user_id: alice.uid }));
    // A refused database draws no number (the plan's limit is checked first).
    expectUserError(await create(admin, plans.crm, { user_id: alice.uid }), 'Limit of databases for this plan is 2 reached');
    const second = ok<Created>(await pyOne(p.s, { as: admin, model: 'saas_portal.plan', method: 'create_new_database', args: [[plans.sales]], kwargs: { user_id: bob.uid } }));
    const third = ok<Created>(await pyOne(p.s, { as: admin, model: 'saas_portal.plan', method: 'create_new_database', args: [[[plans.open]]], kwargs: { dbname: false, user_id: bob.uid } }));
    expect((await readClient(first.id, ['name'])).name).toBe('open-001.odoo.test');
    expect((await readClient(second.id, ['name'])).name).toBe('sales-002.odoo.test');
    expect((await readClient(third.id, ['name'])).name).toBe('open-003.odoo.test');
  });

  it('needs a template when no dbname is given', async () => {
    expectUserError(await create(admin, plans.bare, { user_id: alice.uid }), 'Template for db name is not configured');
    expectUserError(await create(admin, plans.bare, { dbname: '', user_id: alice.uid }), 'Template for db name is not configured');
    ok(await create(admin, plans.bare, { dbname: 'bare.odoo.test', user_id: alice.uid }));
  });

  it('lets a portal user create for themselves only', async () => {
    const own = ok<Created>(await create(alice, plans.open, { dbname: 'alice-own.odoo.test' }));
    const named = ok<Created>(await create(alice, plans.open, { dbname: 'alice-named.odoo.test', user_id: alice.uid }));
    for (const c of [own, named]) expect((await readClient(c.id, ['partner_id'])).partner_id).toEqual([alice.uid, 'Alice Liddell']);
    const forBob = await create(alice, plans.open, { dbname: 'for-bob.odoo.test', user_id: bob.uid });
    expect(fault(forBob).faultCode).toBe(4);
    const ids = ok(await pyOne(p.s, { as: admin, model: 'saas_portal.client', method: 'search', args: [[['name', '=', 'for-bob.odoo.test']]] }));
    expect(ids).toEqual([]);
  });

  it('refuses a dbname that is taken (in any case) or not a host name, and unknown plans and owners', async () => {
    const taken = await create(admin, plans.open, { dbname: 'client.odoo.test', user_id: bob.uid });
    expectUserError(taken, 'Database client.odoo.test already exists');
    expectUserError(await create(admin, plans.open, { dbname: 'CLIENT.Odoo.Test', user_id: bob.uid }), 'Database client.odoo.test already exists');
    expectUserError(await create(admin, plans.open, { dbname: 'not a host', user_id: bob.uid }), /not a valid database \(host\) name/);
    expectUserError(await create(admin, plans.open, { dbname: 'nodots', user_id: bob.uid }), /not a valid database \(host\) name/);
    expectUserError(await create(admin, 999_999, { dbname: 'x.odoo.test', user_id: bob.uid }));
    expectUserError(await create(admin, String(plans.open), { dbname: 'x.odoo.test', user_id: bob.uid }));
    expectUserError(await pyOne(p.s, { as: admin, model: 'saas_portal.plan', method: 'create_new_database', args: [[plans.open, plans.crm]], kwargs: { dbname: 'x.odoo.test', user_id: bob.uid } }));
    expectUserError(await create(admin, plans.open, { dbname: 'x.odoo.test' }), /user_id/);
    expectUserError(await create(admin, plans.open, { dbname: 'x.odoo.test', user_id: 999_999 }));
    expectUserError(await create(admin, plans.open, { dbname: 'x.odoo.test', user_id: bob.uid, owner_password: '' }));
    expect(ok(await pyOne(p.s, { as: admin, model: 'saas_portal.client', method: 'search_count', args: [[['name', '=', 'x.odoo.test']]] }))).toBe(0);
  });
});

describe('saas_portal.client: search, read, search_read, search_count', () => {
  const ids: Record<'alpha' | 'beta' | 'gamma' | 'delta', number> = { alpha: 0, beta: 0, gamma: 0, delta: 0 };
  const name = (k: keyof typeof ids) => `${k}.filter.test`;
  let adminClient: OdooAwait;
  let aliceClient: OdooAwait;
  const F = (): [string, string, number] => ['plan_id', '=', plans.filters];

  beforeAll(async () => {
    for (const [k, owner] of [['alpha', alice], ['beta', alice], ['gamma', bob], ['delta', bob]] as const) ids[k] = (await createInstance(plans.filters, name(k), owner)).id;
    ok(await upgrade(ids.gamma, { params: [{ key: 'saas_client.suspended', value: '1', hidden: true }] }));
    adminClient = await odooAwait(p.s, admin);
    aliceClient = await odooAwait(p.s, alice);
  });

  async function names(domain: unknown[], as: OdooAwait = adminClient): Promise<string[]> {
    const rows = ok<{ name: string }[]>(await awaitCall(as, 'saas_portal.client', 'search_read', [[F(), ...domain]], { fields: ['name'], order: 'name' }));
    return rows.map((r) => r.name.replace('.filter.test', ''));
  }

  it.each([
    ['=', () => [['name', '=', name('alpha')]], ['alpha']],
    ['!=', () => [['name', '!=', name('alpha')]], ['beta', 'delta', 'gamma']],
    ['in', () => [['name', 'in', [name('alpha'), name('gamma'), 'nothing.test']]], ['alpha', 'gamma']],
    ['not in', () => [['name', 'not in', [name('alpha'), name('gamma')]]], ['beta', 'delta']],
    ['ilike', () => [['name', 'ilike', 'ALPHA']], ['alpha']],
    ['like (case-sensitive)', () => [['name', 'like', 'ALPHA']], []],
    ['like', () => [['name', 'like', 'eta.']], ['beta']],
    ['like takes % literally', () => [['name', 'ilike', '%']], []],
    ['<', () => [['id', '<', ids.gamma]], ['alpha', 'beta']],
    ['>', () => [['id', '>', ids.beta]], ['delta', 'gamma']],
    ['<=', () => [['id', '<=', ids.beta]], ['alpha', 'beta']],
    ['>=', () => [['id', '>=', ids.gamma]], ['delta', 'gamma']],
    ['| prefix', () => ['|', ['name', '=', name('alpha')], ['name', '=', name('delta')]], ['alpha', 'delta']],
    ['& prefix', () => ['&', ['partner_id', '=', alice.uid], ['name', 'ilike', 'beta']], ['beta']],
    ['! prefix', () => ['!', ['name', '=', name('alpha')]], ['beta', 'delta', 'gamma']],
    ['nested | ! &', () => ['|', '!', ['partner_id', '=', alice.uid], '&', ['name', 'like', 'a'], ['id', '<', ids.beta]], ['alpha', 'delta', 'gamma']],
    ['many2one by id', () => [['partner_id', '=', bob.uid]], ['delta', 'gamma']],
    ['many2one by display name', () => [['partner_id', 'ilike', 'builder']], ['delta', 'gamma']],
    ['many2one in', () => [['user_id', 'in', [alice.uid]]], ['alpha', 'beta']],
    ['selection', () => [['state', '=', 'pending']], ['gamma']],
    ['boolean', () => [['active', '=', true]], ['alpha', 'beta', 'delta', 'gamma']],
    ['datetime', () => [['create_date', '>', '2000-01-01 00:00:00']], ['alpha', 'beta', 'delta', 'gamma']],
    ['integer', () => [['users_len', '=', 2]], ['alpha', 'beta', 'delta', 'gamma']],
    ['uuid text', () => [['client_id', '=', 'not-a-uuid']], []],
    ['=like pattern', () => [['name', '=like', 'a%.filter.test']], ['alpha']],
    ['=ilike pattern', () => [['name', '=ilike', '_ETA.%']], ['beta']],
    ['set (!= False)', () => [['partner_id', '!=', false]], ['alpha', 'beta', 'delta', 'gamma']],
    ['not set (= False)', () => [['partner_id', '=', false]], []],
    ['char field holding a number', () => [['max_users', '=', '0']], ['alpha', 'beta', 'delta', 'gamma']],
    ['TRUE leaf', () => [[1, '=', 1]], ['alpha', 'beta', 'delta', 'gamma']],
    ['FALSE leaf', () => [[0, '=', 1]], []],
  ])('filters with %s', async (_label, domain, expected) => {
    expect(await names(domain())).toEqual(expected);
  });

  it('searches by name and by plan and partner, as the seed does, in Python', async () => {
    const [byName, byPlanPartner, count] = await pyExecute(p.s, [
      { as: admin, model: 'saas_portal.client', method: 'search', args: [[['name', '=', name('beta')]]] },
      { as: admin, model: 'saas_portal.client', method: 'search', args: [[['plan_id', '=', plans.filters], ['partner_id', '=', bob.uid]]] },
      { as: admin, model: 'saas_portal.client', method: 'search_count', args: [[F()]] },
    ]);
    expect(ok(byName!)).toEqual([ids.beta]);
    const [byDate, byNoDate] = await pyExecute(p.s, [
      { as: admin, model: 'saas_portal.client', method: 'search_count', args: [[F(), ['create_date', '>=', { __datetime__: '2000-01-01T00:00:00' }]]] },
      { as: admin, model: 'saas_portal.client', method: 'search_count', args: [[F(), ['create_date', '<', { __datetime__: '2000-01-01T00:00:00' }]]] },
    ]);
    expect([ok(byDate!), ok(byNoDate!)]).toEqual([4, 0]);
    expect(ok(byPlanPartner!)).toEqual([ids.gamma, ids.delta]);
    expect(ok(count!)).toBe(4);
  });

  it('honours limit, offset and order, positional or by keyword', async () => {
    const ts = tsClient(p.s, admin);
    expect(await ts.search('saas_portal.client', [F()], { order: 'name desc' })).toEqual([ids.gamma, ids.delta, ids.beta, ids.alpha]);
    expect(await ts.search('saas_portal.client', [F()], { order: 'name desc', limit: 2, offset: 1 })).toEqual([ids.delta, ids.beta]);
    expect(await ts.searchCount('saas_portal.client', [F(), ['state', '=', 'open']])).toBe(3);
    expect(await ts.searchRead('saas_portal.client', [F()], { fields: ['name', 'plan_id'], order: 'id desc', limit: 1 })).toEqual([{ id: ids.delta, name: name('delta'), plan_id: [plans.filters, 'Filters'] }]);
    // search(domain, offset, limit, order, count) and search_read(domain, fields, offset, limit, order)
    const [positional, positionalRead, counted] = await pyExecute(p.s, [
      { as: admin, model: 'saas_portal.client', method: 'search', args: [[F()], 1, 2, 'id'] },
      { as: admin, model: 'saas_portal.client', method: 'search_read', args: [[F()], ['name'], 3, 5, 'id'] },
      { as: admin, model: 'saas_portal.client', method: 'search', args: [[F()]], kwargs: { count: true } },
    ]);
    expect(ok(positional!)).toEqual([ids.beta, ids.gamma]);
    expect(ok(positionalRead!)).toEqual([{ id: ids.delta, name: name('delta') }]);
    expect(ok(counted!)).toBe(4);
    // Ordering by a many2one works too (Bob's instances first when descending).
    expect(await ts.search('saas_portal.client', [F()], { order: 'partner_id desc, name' })).toEqual([ids.delta, ids.gamma, ids.alpha, ids.beta]);
  });

  it('reads many2one fields as [id, display name], and only the fields asked for', async () => {
    const rows = ok<Record<string, unknown>[]>(await awaitCall(adminClient, 'saas_portal.client', 'read', [[ids.alpha, ids.gamma]], { fields: ['partner_id', 'user_id', 'plan_id', 'state'] }));
    expect(rows).toEqual([
      { id: ids.alpha, partner_id: [alice.uid, 'Alice Liddell'], user_id: [alice.uid, 'Alice Liddell'], plan_id: [plans.filters, 'Filters'], state: 'open' },
      { id: ids.gamma, partner_id: [bob.uid, 'Bob Builder'], user_id: [bob.uid, 'Bob Builder'], plan_id: [plans.filters, 'Filters'], state: 'pending' },
    ]);
    const all = ok<Record<string, unknown>[]>(await awaitCall(adminClient, 'saas_portal.client', 'read', [[ids.beta]]))[0]!;
    for (const field of ['name', 'partner_id', 'plan_id', 'user_id', 'state', 'expiration_datetime', 'expired', 'active', 'trial', 'users_len', 'max_users', 'file_storage', 'db_storage', 'total_storage_limit', 'storage_exceed', 'block_on_expiration', 'block_on_storage_exceed', 'client_id', 'host', 'public_url']) {
      expect(all, field).toHaveProperty(field);
    }
    expect(all).toMatchObject({ name: name('beta'), active: true, trial: false, expired: false, storage_exceed: false, block_on_expiration: false, block_on_storage_exceed: true, public_url: expect.stringMatching(/^https?:\/\//) });
  });

  it.each([
    ['an unknown field', [['nope', '=', 1]]],
    ['an unknown operator', [['name', 'lke', 'x']]],
    ['a domain that is text', 'name = x'],
    ['a term of two elements', [['name', '=']]],
    ['an operator without its operands', ['&', ['name', '=', 'x']]],
    ['an unknown prefix operator', ['xor', ['name', '=', 'x'], ['name', '=', 'y']]],
    ['a dictionary value', [['name', '=', { a: 1 }]]],
    ['text for an integer', [['id', '=', 'abc']]],
    ['text that is no date', [['create_date', '>', 'yesterday']]],
    ['a computed field', [['total_storage_limit', '>', 1]]],
    ['a dotted path', [['partner_id.name', '=', 'x']]],
    ['child_of', [['partner_id', 'child_of', 1]]],
    ['nesting too deep', [...Array.from({ length: 40 }, (_, i) => (i % 2 ? '|' : '&')), ...Array.from({ length: 41 }, () => ['id', '>', 0])]],
  ])('refuses %s in a domain with fault 2', async (_label, domain) => {
    for (const method of ['search', 'search_count', 'search_read']) expectUserError(await awaitCall(adminClient, 'saas_portal.client', method, [domain]));
  });

  it('refuses unknown fields, bad orders, limits, offsets and ids with fault 2', async () => {
    const outcomes = await pyExecute(
      p.s,
      [
        { method: 'read', args: [[ids.alpha], ['nope']] },
        { method: 'search_read', args: [[]], kwargs: { fields: ['name', 'nope'] } },
        { method: 'search', args: [[]], kwargs: { order: 'nope desc' } },
        { method: 'search', args: [[]], kwargs: { order: 'name; drop table clients' } },
        { method: 'search', args: [[]], kwargs: { order: 'total_storage_limit' } },
        { method: 'search', args: [[]], kwargs: { limit: -1 } },
        { method: 'search', args: [[]], kwargs: { offset: 'x' } },
        { method: 'read', args: ['abc'] },
        { method: 'read', args: [[{ __float__: 1.5 }]] },
        { method: 'read', args: [[ids.alpha]], kwargs: { fields: 'name' } },
      ].map((c) => ({ as: admin, model: 'saas_portal.client', ...c })),
    );
    for (const [i, o] of outcomes.entries()) {
      expect(o.fault, `call ${i}`).toBeDefined();
      expectUserError(o);
    }
    expect(fault(outcomes[0]!).faultString).toBe("Invalid field 'nope' on model 'saas_portal.client'");
    // The table is still there.
    expect(await names([])).toHaveLength(4);
  });

  it('shows a portal user only their own instances', async () => {
    expect(await names([], aliceClient)).toEqual(['alpha', 'beta']);
    expect(await names([['partner_id', '=', bob.uid]], aliceClient)).toEqual([]);
    expect(await names([['name', '=', name('gamma')]], aliceClient)).toEqual([]);
    expect(ok(await awaitCall(aliceClient, 'saas_portal.client', 'search_count', [[F()]]))).toBe(2);
    expect(ok(await awaitCall(aliceClient, 'saas_portal.client', 'read', [[ids.gamma, ids.alpha, ids.delta]], { fields: ['name'] }))).toEqual([{ id: ids.alpha, name: name('alpha') }]);
    const bobClient = await odooAwait(p.s, bob);
    expect(await bobClient.read('saas_portal.client', [ids.alpha, ids.beta], ['name'])).toEqual([]);
    expect(await names([], bobClient)).toEqual(['delta', 'gamma']);
  });
});

describe('saas.config.do_upgrade_database', () => {
  let instance: Created;
  const NAME = 'upgrade.odoo.test';
  const param = (key: string, value: unknown) => ({ params: [{ key: `saas_client.${key}`, value, hidden: true }] });

  beforeAll(async () => {
    instance = await createInstance(plans.open, NAME, alice);
  });

  it('suspends and resumes (text or int values), and a suspended instance takes no new users', async () => {
    expect(await upgraded(instance.id, param('suspended', '1'))).toEqual({ [NAME]: {} });
    expect((await readClient(instance.id, ['state'])).state).toBe('pending');
    expect((await operatorApi(p.s, 'GET', `/admin/v1/clients/${instance.id}`)).body).toMatchObject({ status: 'suspended', saas_instance: true });
    const refused = await operatorApi(p.s, 'POST', `/admin/v1/clients/${instance.id}/users`, { login: 'late@example.com', password: 'x' });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.status).toBeLessThan(500);
    expect(JSON.stringify(refused.body)).toMatch(/suspended/);
    expect(await upgraded(instance.id, param('suspended', '0'))).toEqual({ [NAME]: {} });
    expect((await readClient(instance.id, ['state'])).state).toBe('open');
    expect(await upgraded(instance.id, param('suspended', 1))).toEqual({ [NAME]: {} });
    expect((await readClient(instance.id, ['state'])).state).toBe('pending');
    expect(await upgraded(instance.id, param('suspended', 0))).toEqual({ [NAME]: {} });
    expect((await operatorApi(p.s, 'GET', `/admin/v1/clients/${instance.id}`)).body).toMatchObject({ status: 'active' });
  });

  it('limits users: max_users is users.max, and a user beyond it is refused with Odoo\'s message', async () => {
    expect(await upgraded(instance.id, param('max_users', '4'))).toEqual({ [NAME]: {} });
    expect((await readClient(instance.id, ['max_users'])).max_users).toBe('4');
    expect(await upgraded(instance.id, param('max_users', 2))).toEqual({ [NAME]: {} });
    expect(await collect(instance.id, ['users.max'])).toMatchObject({ users: { max: 2 } });
    // The owner is one user; the instance's admin does not count.
    expect((await operatorApi(p.s, 'POST', `/admin/v1/clients/${instance.id}/users`, { login: 'second@example.com', password: 'x' })).status).toBe(201);
    const third = await operatorApi(p.s, 'POST', `/admin/v1/clients/${instance.id}/users`, { login: 'third@example.com', password: 'x' });
    expect(third.status).toBe(422);
    expect(JSON.stringify(third.body)).toContain('Maximum allowed users is 2, while you already have 2');
    expect((await readClient(instance.id, ['users_len'])).users_len).toBe(3);
  });

  it('limits storage in MB: total_storage_limit is diskquota.quota, and growth past it is refused', async () => {
    expect(await upgraded(instance.id, param('total_storage_limit', '500'))).toEqual({ [NAME]: {} });
    expect((await readClient(instance.id, ['total_storage_limit'])).total_storage_limit).toBe(500);
    expect(await collect(instance.id, ['diskquota.quota'])).toMatchObject({ diskquota: { quota: 500 } });
    expect(await upgraded(instance.id, param('total_storage_limit', 3))).toEqual({ [NAME]: {} });
    // The empty database takes 2 of the 3 MB; 180 KB files fill the rest until one would pass the limit.
    const file = (i: number) => ({ name: `f${i}.bin`, content_base64: Buffer.alloc(180 * 1024).toString('base64') });
    for (let i = 0; i < 5; i++) expect((await operatorApi(p.s, 'POST', `/admin/v1/clients/${instance.id}/files`, file(i))).status, `file ${i}`).toBe(201);
    const over = await operatorApi(p.s, 'POST', `/admin/v1/clients/${instance.id}/files`, file(5));
    expect(over.status).toBeGreaterThanOrEqual(400);
    expect(over.status).toBeLessThan(500);
    expect(JSON.stringify(over.body)).toMatch(/Storage limit of 3 MB reached/);
    // Lowering the limit below what is used flags the instance.
    expect(await upgraded(instance.id, param('total_storage_limit', 1))).toEqual({ [NAME]: {} });
    expect(await readClient(instance.id, ['storage_exceed', 'total_storage_limit'])).toEqual({ id: instance.id, storage_exceed: true, total_storage_limit: 1 });
    expect((await instanceView(instance.id)).usage).toMatchObject({ limit_mb: 1, exceeded: true });
    expect(await upgraded(instance.id, param('total_storage_limit', 0))).toEqual({ [NAME]: {} });
  });

  it('reports bad values and unknown parameters per key, and applies what is valid', async () => {
    const answer = await upgraded(instance.id, {
      params: [
        { key: 'saas_client.suspended', value: 'maybe' },
        { key: 'saas_client.max_users', value: 'x' },
        { key: 'saas_client.total_storage_limit', value: '-5' },
        { key: 'saas_client.nope', value: '1' },
        { value: '1' },
        { key: 'saas_client.max_users', value: '6' },
      ],
    });
    expect(answer).toEqual({
      [NAME]: {
        params: [
          'saas_client.suspended: expected 1 or 0, got "maybe"',
          'saas_client.max_users: "x" is not a whole number',
          'saas_client.total_storage_limit: "-5" is not a whole number of MB',
          'unknown parameter saas_client.nope',
          'each param needs a key and a value',
        ],
      },
    });
    expect(await readClient(instance.id, ['max_users', 'state'])).toEqual({ id: instance.id, max_users: '6', state: 'open' });
    expect(await upgraded(instance.id, { params: 'saas_client.suspended=1' })).toEqual({ [NAME]: { params: ['must be a list of {key, value}'] } });
    expect(await upgraded(instance.id, { drop_database: true })).toEqual({ [NAME]: { drop_database: ['unknown key drop_database'] } });
  });

  it('installs modules with what they depend on, and uninstalls only what nothing else needs', async () => {
    expect(await upgraded(instance.id, { install_addons: ['sale_management'] })).toEqual({ [NAME]: {} });
    expect((await instanceView(instance.id)).modules).toEqual(expect.arrayContaining(['sale', 'sale_management']));
    expect(await upgraded(instance.id, { uninstall_addons: ['sale'] })).toEqual({ [NAME]: { uninstall_addons: ['sale is required by sale_management'] } });
    expect((await instanceView(instance.id)).modules).toEqual(expect.arrayContaining(['sale', 'sale_management']));
    expect(await upgraded(instance.id, { install_addons: ['fleet', 'no_such_module'] })).toEqual({ [NAME]: { install_addons: ['module not found: no_such_module'] } });
    expect((await instanceView(instance.id)).modules).toContain('fleet');
    expect(await upgraded(instance.id, { uninstall_addons: ['fleet'] })).toEqual({ [NAME]: {} });
    expect(await upgraded(instance.id, { uninstall_addons: ['fleet', 'no_such_module'] })).toEqual({ [NAME]: { uninstall_addons: ['module not installed: fleet', 'module not found: no_such_module'] } });
    // Removing a module together with what depends on it is fine.
    expect(await upgraded(instance.id, { uninstall_addons: ['sale', 'sale_management'] })).toEqual({ [NAME]: {} });
    const modules = (await instanceView(instance.id)).modules;
    for (const m of ['sale', 'sale_management', 'fleet']) expect(modules).not.toContain(m);
    expect(await upgraded(instance.id, { install_addons: 'sale' })).toEqual({ [NAME]: { install_addons: ['must be a list of module names'] } });
  });

  it('installs only the modules of the instance\'s plan', async () => {
    const sales = await createInstance(plans.sales, 'sales.odoo.test', bob);
    expect(await upgraded(sales.id, { install_addons: ['fleet', 'sale_management'] })).toEqual({ 'sales.odoo.test': { install_addons: ['module not available in this plan: fleet'] } });
    const modules = (await instanceView(sales.id)).modules;
    expect(modules).toEqual(expect.arrayContaining(['sale', 'sale_management']));
    expect(modules).not.toContain('fleet');
  });

  it('adds access groups to the owner and removes them from every user, reporting unknown ids', async () => {
    const groupsOf = async (login: string) => (await instanceView(instance.id)).users.find((u) => u.login === login)!.groups;
    expect(await upgraded(instance.id, { access_owner_add: ['base.group_sale_manager', 'stock.group_stock_manager', 'access_apps.group_show_modules_menu', 'x'] })).toEqual({ [NAME]: { access_owner_add: ['group not found: x'] } });
    expect(await groupsOf(alice.login)).toEqual(expect.arrayContaining(['base.group_sale_manager', 'stock.group_stock_manager', 'access_apps.group_show_modules_menu']));
    expect(await groupsOf('admin')).not.toContain('base.group_sale_manager');
    expect(await upgraded(instance.id, { access_remove: ['access_apps.group_show_modules_menu', 'y'] })).toEqual({ [NAME]: { access_remove: ['group not found: y'] } });
    for (const u of (await instanceView(instance.id)).users) expect(u.groups, u.login).not.toContain('access_apps.group_show_modules_menu');
    expect(await groupsOf(alice.login)).toContain('base.group_sale_manager');
    expect(await upgraded(instance.id, { access_owner_add: 'base.group_sale_manager' })).toEqual({ [NAME]: { access_owner_add: ['must be a list of group ids'] } });
  });

  it('takes every key in one payload', async () => {
    const answer = await upgraded(instance.id, {
      params: [
        { key: 'saas_client.max_users', value: '8', hidden: true },
        { key: 'saas_client.total_storage_limit', value: '700', hidden: true },
        { key: 'saas_client.suspended', value: '0', hidden: true },
      ],
      install_addons: ['crm'],
      uninstall_addons: [],
      access_owner_add: ['project.group_project_manager'],
      access_remove: ['stock.group_stock_manager'],
    });
    expect(answer).toEqual({ [NAME]: {} });
    expect(await readClient(instance.id, ['max_users', 'total_storage_limit', 'state'])).toEqual({ id: instance.id, max_users: '8', total_storage_limit: 700, state: 'open' });
    const view = await instanceView(instance.id);
    expect(view.modules).toContain('crm');
    const owner = view.users.find((u) => u.login === alice.login)!;
    expect(owner.groups).toContain('project.group_project_manager');
    expect(owner.groups).not.toContain('stock.group_stock_manager');
  });

  it('is for the portal administrator only', async () => {
    const o = await upgrade(instance.id, param('max_users', '100'), alice);
    expect(fault(o).faultCode).toBe(4);
    expect(fault(await upgrade(instance.id, { install_addons: ['hr'] }, bob)).faultCode).toBe(4);
    expect((await readClient(instance.id, ['max_users'])).max_users).toBe('8');
  });

  it('refuses an unknown instance, an id that is not one, and a payload that is not a dictionary', async () => {
    expectUserError(await upgrade(999_999, param('max_users', '1')));
    expectUserError(await pyOne(p.s, { as: admin, model: 'saas.config', method: 'do_upgrade_database', args: [param('max_users', '1'), String(instance.id)] }));
    expectUserError(await pyOne(p.s, { as: admin, model: 'saas.config', method: 'do_upgrade_database', args: [param('max_users', '1')] }));
    expectUserError(await pyOne(p.s, { as: admin, model: 'saas.config', method: 'do_upgrade_database', args: [['params'], instance.id] }));
  });
});

describe('unknown models and methods, hostile requests', () => {
  it('answers unknown models, unknown and private methods with faults', async () => {
    const [model, method, configMethod, priv, notAName, argsNotList] = await pyExecute(p.s, [
      { as: admin, model: 'res.partner', method: 'search', args: [[]] },
      { as: admin, model: 'saas_portal.plan', method: 'unlink', args: [[plans.bare]] },
      { as: admin, model: 'saas.config', method: 'search', args: [[]] },
      { as: admin, model: 'saas_portal.client', method: '_read_group_raw', args: [[]] },
      { as: admin, model: 123 as never, method: 'search', args: [[]] },
      { as: admin, model: 'saas_portal.client', method: 'search', args: { domain: [] } as never },
    ]);
    expect(fault(model!)).toEqual({ faultCode: 2, faultString: "Object res.partner doesn't exist" });
    // Odoo looks a method up with getattr: a missing one is Python's AttributeError, fault 1.
    expect(fault(method!)).toEqual({ faultCode: 1, faultString: "The method 'unlink' does not exist on the model 'saas_portal.plan'" });
    expect(fault(configMethod!)).toEqual({ faultCode: 1, faultString: "The method 'search' does not exist on the model 'saas.config'" });
    expect(fault(priv!)).toEqual({ faultCode: 4, faultString: 'Private methods (such as _read_group_raw) cannot be called remotely.' });
    expectUserError(notAName!);
    expectUserError(argsNotList!);
    const ts = tsClient(p.s, admin);
    await expect(ts.execute('res.partner', 'search', [[]])).rejects.toThrow("Object res.partner doesn't exist");
  });

  it('refuses an oversized body with a fault, not a 500', async () => {
    const padding = 'x'.repeat(2 * 1024 * 1024 + 10);
    const res = await rawPost(p.s, '/xmlrpc/2/object', `<?xml version="1.0"?><methodCall><methodName>execute_kw</methodName><params><param><value><string>${padding}</string></value></param></params></methodCall>`);
    if (res.status === 413) return;
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/text\/xml/);
    expect(res.body).toContain('<fault>');
    expect(res.body).toMatch(/too large/);
  });

  it('refuses nesting deeper than the limit with a fault', async () => {
    const depth = 200;
    const value = `${'<value><array><data>'.repeat(depth)}<value><int>1</int></value>${'</data></array></value>'.repeat(depth)}`;
    const xml = `<?xml version="1.0"?><methodCall><methodName>execute_kw</methodName><params><param><value><string>${DB}</string></value></param><param>${value}</param></params></methodCall>`;
    const res = await rawPost(p.s, '/xmlrpc/2/object', xml);
    expect(res.status).toBe(200);
    expect(res.body).toContain('<fault>');
    expect(res.body).toMatch(/deep|nest/i);
    const json = await rawPost(p.s, '/jsonrpc', JSON.stringify({ jsonrpc: '2.0', method: 'call', params: { service: 'object', method: 'execute_kw', args: [JSON.parse(`${'['.repeat(depth)}1${']'.repeat(depth)}`)] } }), 'application/json');
    expect(json.status).toBe(200);
    expect(JSON.parse(json.body).error.data.message).toMatch(/deeper/);
  });

  it('answers malformed XML, entity tricks and garbage with faults, never a 500', async () => {
    const bodies = [
      '',
      'not xml at all',
      '<methodCall><methodName>execute_kw',
      '<?xml version="1.0"?><methodCall><params/></methodCall>',
      '<?xml version="1.0"?><methodCall><methodName>execute_kw</methodName><params><param><value><int>not a number</int></value></param></params></methodCall>',
      '<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><methodCall><methodName>execute_kw</methodName><params><param><value><string>&b;</string></value></param></params></methodCall>',
      '<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]><methodCall><methodName>execute_kw</methodName><params><param><value><string>&x;</string></value></param></params></methodCall>',
      `<?xml version="1.0"?><methodCall><methodName>execute_kw</methodName><params><param><value><struct><member><name>a</name></member></struct></value></param></params></methodCall>`,
    ];
    for (const body of bodies) {
      const res = await rawPost(p.s, '/xmlrpc/2/object', body);
      expect(res.status, body).toBe(200);
      expect(res.body, body).toContain('<fault>');
      expect(res.body, body).not.toMatch(/root:|Internal server error/);
    }
    const garbageJson = await rawPost(p.s, '/jsonrpc', '{"jsonrpc": "2.0", "params": ', 'application/json');
    expect(garbageJson.status).toBe(200);
    expect(JSON.parse(garbageJson.body).error.code).toBe(200);
  });
});

describe('one instance, every door', () => {
  it('shows limits set over XML-RPC in the operator API and cpcmd, and the other way round', async () => {
    const created = await createInstance(plans.open, 'doors.odoo.test', bob);
    expect(await upgraded(created.id, { params: [{ key: 'saas_client.max_users', value: '7' }, { key: 'saas_client.total_storage_limit', value: '300' }] })).toEqual({ 'doors.odoo.test': {} });
    expect((await operatorApi(p.s, 'GET', `/admin/v1/clients/${created.id}`)).body).toMatchObject({ id: created.id, status: 'active', user_count: 7, domains: [{ name: 'doors.odoo.test' }], saas_instance: true });
    expect(await collect(created.id, ['users.max', 'diskquota.quota', 'siteinfo.domain'])).toMatchObject({ users: { max: 7 }, diskquota: { quota: 300 }, siteinfo: { domain: 'doors.odoo.test' }, active: true });

    const edited = await operatorApi(p.s, 'POST', '/api/v1/cpcmd/admin:edit-site', { args: [`site${created.id}`, { 'users.max': 9, 'diskquota.quota': 400 }] });
    expect(edited.status, JSON.stringify(edited.body)).toBe(200);
    const suspended = await operatorApi(p.s, 'POST', '/api/v1/cpcmd/admin:deactivate-site', { args: [`site${created.id}`] });
    expect(suspended.status, JSON.stringify(suspended.body)).toBe(200);
    expect(await readClient(created.id, ['max_users', 'total_storage_limit', 'state'])).toEqual({ id: created.id, max_users: '9', total_storage_limit: 400, state: 'pending' });

    // Deleted through cpcmd, it is gone from the portal too.
    const deleted = await operatorApi(p.s, 'POST', '/api/v1/cpcmd/admin:delete-site', { args: [`site${created.id}`] });
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(200);
    const [search, read, upgrade] = await pyExecute(p.s, [
      { as: admin, model: 'saas_portal.client', method: 'search', args: [[['name', '=', 'doors.odoo.test']]] },
      { as: admin, model: 'saas_portal.client', method: 'read', args: [[created.id], ['name']] },
      { as: admin, model: 'saas.config', method: 'do_upgrade_database', args: [{ params: [{ key: 'saas_client.suspended', value: '0' }] }, created.id] },
    ]);
    expect(ok(search!)).toEqual([]);
    expect(ok(read!)).toEqual([]);
    expectUserError(upgrade!);
  });

  it('gives the owner a login link that expires after one hour', async () => {
    const created = await createInstance(plans.open, 'link.odoo.test', alice);
    const link = new URL(created.url);
    p.s.t.setNow(new Date(Date.now() + 61 * 60 * 1000));
    const late = await p.s.t.app.server.inject({ method: 'GET', url: `${link.pathname}${link.search}` });
    expect(late.statusCode).toBe(403);
  });
});
