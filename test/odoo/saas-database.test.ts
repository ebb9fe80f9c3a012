import { execFile, spawn, spawnSync } from 'node:child_process';
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnHostplane, waitFor } from '../jobs-process/process-harness.js';
import { createNode, nodeObjects, nodeView, startAgent, type ControlPlane } from '../agent/agent-harness.js';
import { ADMIN_PASSWORD, pgAdmin, startInstanceWorld, type InstanceWorld } from './instance-world.js';

/*
 * SaaS instances as real PostgreSQL databases: seed 003's script through Python's xmlrpc.client
 * against a control plane on a real port, a real `hostplane agent` (role db) driving the machine's
 * PostgreSQL, and the instance owner connecting with psql. Every database and role this file makes
 * carries its own prefix or a UUID it recorded, and is dropped in afterAll, failed run or not.
 */
const SCRIPT = fileURLToPath(new URL('./py/seed_003.py', import.meta.url));
const OWNER_PASSWORD = 'password of owner to log in his database';

let w: InstanceWorld;
let cp: ControlPlane;
let PREFIX: string;
let TEMPLATE: string;
let MISSING_TEMPLATE: string;

const admin = pgAdmin;

/** Whether `password` gives the StoredKey of a SCRAM-SHA-256 verifier (RFC 5802), as a SCRAM login checks it. */
function scramMatches(verifier: string, password: string): boolean {
  const m = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(verifier);
  if (!m) return false;
  const salted = pbkdf2Sync(password, Buffer.from(m[2]!, 'base64'), Number(m[1]), 32, 'sha256');
  const storedKey = createHash('sha256').update(createHmac('sha256', salted).update('Client Key').digest()).digest('base64');
  const serverKey = createHmac('sha256', salted).update('Server Key').digest('base64');
  return storedKey === m[3] && serverKey === m[4];
}

function psql(database: string, user: string, password: string, command: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('psql', ['-X', '-A', '-t', '-h', '127.0.0.1', '-p', '5432', '-U', user, '-d', database, '-v', 'ON_ERROR_STOP=1', '-c', command], {
    env: { PATH: process.env.PATH ?? '', PGPASSWORD: password, PGCONNECT_TIMEOUT: '10' },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

function python(code: string, env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('python3', ['-c', code], { env: { PATH: process.env.PATH ?? '', PORTAL_URL: cp.url, ADMIN_PASSWORD, ...env }, timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(`python3 failed: ${err.message}\n${stderr}`)) : resolve(stdout.trim())));
  });
}

/** saas.config.do_upgrade_database through Python's xmlrpc.client, as the seed calls it. */
async function upgrade(clientId: number, payload: unknown): Promise<Record<string, Record<string, string[]>>> {
  const out = await python(
    `import json, os, sys, xmlrpc.client
common = xmlrpc.client.ServerProxy(os.environ['PORTAL_URL'] + '/xmlrpc/2/common')
uid = common.authenticate('hostplane', 'admin', os.environ['ADMIN_PASSWORD'], {})
models = xmlrpc.client.ServerProxy(os.environ['PORTAL_URL'] + '/xmlrpc/2/object')
print(models.execute_kw('hostplane', uid, os.environ['ADMIN_PASSWORD'], 'saas.config', 'do_upgrade_database', [json.loads(os.environ['PAYLOAD']), int(os.environ['CLIENT'])]))`,
    { PAYLOAD: JSON.stringify(payload), CLIENT: String(clientId) },
  );
  return JSON.parse(out) as Record<string, Record<string, string[]>>;
}

async function readClient(id: number, fields: string[]): Promise<Record<string, unknown>> {
  const out = await python(
    `import json, os, xmlrpc.client
common = xmlrpc.client.ServerProxy(os.environ['PORTAL_URL'] + '/xmlrpc/2/common')
uid = common.authenticate('hostplane', 'admin', os.environ['ADMIN_PASSWORD'], {})
models = xmlrpc.client.ServerProxy(os.environ['PORTAL_URL'] + '/xmlrpc/2/object')
print(json.dumps(models.execute_kw('hostplane', uid, os.environ['ADMIN_PASSWORD'], 'saas_portal.client', 'read', [[int(os.environ['CLIENT'])]], {'fields': json.loads(os.environ['FIELDS'])})))`,
    { CLIENT: String(id), FIELDS: JSON.stringify(fields) },
  );
  return (JSON.parse(out) as Record<string, unknown>[])[0]!;
}

interface DatabaseView {
  name: string;
  owner: string;
  node: string | null;
  status: string;
  error: string | null;
  size_bytes: number | null;
  active_users: number | null;
}

async function database(id: number): Promise<DatabaseView> {
  const r = await cp.admin<{ database: DatabaseView }>('GET', `/admin/v1/clients/${id}/instance`);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.database;
}

/** Waits until the node has made the instance's latest database spec true (or failed it, when `failed`). */
async function settled(id: number, want: 'applied' | 'failed' = 'applied', timeoutMs = 60_000): Promise<DatabaseView> {
  let last: DatabaseView | undefined;
  return waitFor(
    async () => {
      last = await database(id);
      return last.status === want ? last : undefined;
    },
    timeoutMs,
    () => `database of instance ${id}: ${JSON.stringify(last)}\n${w.agent.output().slice(-3000)}`,
    200,
  );
}


beforeAll(async () => {
  // The Odoo-shaped template: Odoo's parameter table (unique key) and users (active, share).
  w = await startInstanceWorld('t', {
    templateSql: `create table ir_config_parameter (id serial primary key, key varchar not null unique, value text);
      insert into ir_config_parameter (key, value) values ('database.uuid', 'template'), ('saas_client.max_users', '1');
      create table res_users (id serial primary key, login varchar not null, active boolean default true, share boolean default false);
      insert into res_users (login, active, share) values ('__system__', false, false), ('admin', true, false), ('portal', true, true);`,
  });
  cp = w.cp;
  PREFIX = w.prefix;
  TEMPLATE = w.template;
  MISSING_TEMPLATE = `${PREFIX}_missing`;
}, 120_000);

afterAll(() => w?.close(), 120_000);

describe('seed 003 with a real database per instance', () => {
  let id: number;
  let db: DatabaseView;
  let ownerLink: string;

  it('the seed script creates a real database from the plan template, and its owner logs in with psql', async () => {
    const planId = await w.createPlan(`odoo-${PREFIX}`, TEMPLATE);
    const out = JSON.parse(await python(fs.readFileSync(SCRIPT, 'utf8'), { PORTAL_DB: 'hostplane', PLAN_ID: String(planId), CLIENT_DB: `${PREFIX.replace(/_/g, '-')}.odoo.local` })) as Record<string, unknown>;
    const created = out.create_new_database as { id: number; client_id: string; url: string };
    w.track(created.client_id);
    id = created.id;
    ownerLink = created.url;
    for (const step of ['suspend', 'resume', 'max_users', 'storage']) expect(Object.values(JSON.parse(out[step] as string) as object)[0], step).toEqual({});

    db = await settled(id);
    expect(db).toMatchObject({ name: `saas_${created.client_id.replace(/-/g, '')}`, owner: `saas_${created.client_id.replace(/-/g, '')}_owner`, node: w.node.name, error: null });
    const [row] = await admin<{ datname: string; owner: string; datconnlimit: number; datallowconn: boolean }>(
      'select datname, pg_get_userbyid(datdba) as owner, datconnlimit, datallowconn from pg_database where datname = $1',
      [db.name],
    );
    expect(row).toEqual({ datname: db.name, owner: db.owner, datconnlimit: 20, datallowconn: true });
    // The password is stored as a SCRAM verifier, never in the clear.
    const [auth] = await admin<{ rolpassword: string }>('select rolpassword from pg_authid where rolname = $1', [db.owner]);
    expect(auth!.rolpassword).toMatch(/^SCRAM-SHA-256\$4096:/);

    // The owner reads the limits the script set in the instance's own ir_config_parameter (and owns the tables).
    const params = psql(db.name, db.owner, OWNER_PASSWORD, "select key || '=' || value from ir_config_parameter where key like 'saas_client.%' order by key");
    expect(params.code, params.stderr).toBe(0);
    expect(params.stdout.split('\n')).toEqual(['saas_client.expiration_datetime=', 'saas_client.max_users=4', 'saas_client.suspended=0', 'saas_client.total_storage_limit=500']);
    // This server trusts local connections (any password gets in), so the verifier is checked the way
    // SCRAM does: the owner password, salted and iterated as stored, must give the stored key.
    expect(scramMatches(auth!.rolpassword, OWNER_PASSWORD)).toBe(true);
    expect(scramMatches(auth!.rolpassword, 'wrong password')).toBe(false);
    // No one but the owner (and the admin) may connect: PUBLIC's default CONNECT is taken away.
    const [priv] = await admin<{ can: boolean }>("select has_database_privilege($1, $2, 'connect') as can", [db.owner, db.name]);
    expect(priv!.can).toBe(true);
    const [acl] = await admin<{ datacl: string }>('select datacl::text from pg_database where datname = $1', [db.name]);
    expect(acl!.datacl).not.toMatch(/(^|[{,])=[^,}]*c/);
  });

  it('do_upgrade_database changes the limits inside the instance', async () => {
    expect(await upgrade(id, { params: [{ key: 'saas_client.max_users', value: 7, hidden: true }, { key: 'saas_client.total_storage_limit', value: '900', hidden: true }] })).toEqual({ [`${PREFIX.replace(/_/g, '-')}.odoo.local`]: {} });
    await settled(id);
    const params = psql(db.name, db.owner, OWNER_PASSWORD, "select value from ir_config_parameter where key in ('saas_client.max_users', 'saas_client.total_storage_limit') order by key");
    expect(params.stdout.split('\n')).toEqual(['7', '900']);
  });

  it("do_upgrade_database's saas_client.expiration_datetime reaches the instance's ir_config_parameter and saas_portal.client; false clears it; a date that is none changes nothing", async () => {
    const host = `${PREFIX.replace(/_/g, '-')}.odoo.local`;
    const inside = () => psql(db.name, db.owner, OWNER_PASSWORD, "select value from ir_config_parameter where key = 'saas_client.expiration_datetime'").stdout;
    expect(await upgrade(id, { params: [{ key: 'saas_client.expiration_datetime', value: '2031-05-06 07:08:09', hidden: true }] })).toEqual({ [host]: {} });
    await settled(id);
    expect(inside()).toBe('2031-05-06 07:08:09');
    expect(await readClient(id, ['expiration_datetime', 'expired'])).toMatchObject({ expiration_datetime: '2031-05-06 07:08:09', expired: false });
    // The operator API shows it too.
    expect((await cp.admin<{ expires_at: string | null }>('GET', `/admin/v1/clients/${id}/instance`)).body.expires_at).toBe('2031-05-06T07:08:09.000Z');
    // A zone is taken into account (the instance holds UTC, as Odoo stores datetimes); a past one has expired.
    expect(await upgrade(id, { params: [{ key: 'saas_client.expiration_datetime', value: '2020-01-02T03:04:05+02:00' }] })).toEqual({ [host]: {} });
    await settled(id);
    expect(inside()).toBe('2020-01-02 01:04:05');
    expect(await readClient(id, ['expiration_datetime', 'expired'])).toMatchObject({ expiration_datetime: '2020-01-02 01:04:05', expired: true });
    // Not dates: each a problem of the answer, and the expiry stays.
    for (const bad of ['2031-02-30 00:00:00', "2031-01-01'; drop table ir_config_parameter; --", 'tomorrow', true]) {
      const answer = await upgrade(id, { params: [{ key: 'saas_client.expiration_datetime', value: bad }] });
      expect(answer[host]!.params![0], String(bad)).toMatch(/saas_client.expiration_datetime: .* is not a date and time/);
    }
    expect(inside()).toBe('2020-01-02 01:04:05');
    expect(await upgrade(id, { params: [{ key: 'saas_client.expiration_datetime', value: false }] })).toEqual({ [host]: {} });
    await settled(id);
    expect(inside()).toBe('');
    expect(await readClient(id, ['expiration_datetime', 'expired'])).toMatchObject({ expiration_datetime: false, expired: false });
    expect((await cp.admin<{ expires_at: string | null }>('GET', `/admin/v1/clients/${id}/instance`)).body.expires_at).toBeNull();
  });

  it('a new owner password reaches the owner role as a new verifier', async () => {
    const r = await cp.admin('PUT', `/admin/v1/clients/${id}/instance/owner-password`, { password: 'second owner password' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    await settled(id);
    const [auth] = await admin<{ rolpassword: string }>('select rolpassword from pg_authid where rolname = $1', [db.owner]);
    expect(scramMatches(auth!.rolpassword, 'second owner password')).toBe(true);
    expect(scramMatches(auth!.rolpassword, OWNER_PASSWORD)).toBe(false);
    await cp.admin('PUT', `/admin/v1/clients/${id}/instance/owner-password`, { password: OWNER_PASSWORD });
    await settled(id);
  });

  it('usage: the database size and its active internal users reach saas_portal.client and the admin API', async () => {
    // Active internal users: the template's admin, the owner the node added to res_users (ADR 27), and one more the instance adds itself.
    expect(psql(db.name, db.owner, OWNER_PASSWORD, "insert into res_users (login, active, share) values ('sales', true, false)").code).toBe(0);
    const measured = await waitFor(
      async () => {
        const d = await database(id);
        return d.active_users === 3 && d.size_bytes !== null && d.size_bytes > 0 ? d : undefined;
      },
      60_000,
      async () => JSON.stringify(await database(id)),
      250,
    );
    const [size] = await admin<{ n: string }>('select pg_database_size($1)::text as n', [db.name]);
    expect(Math.abs(measured.size_bytes! - Number(size!.n))).toBeLessThan(4 * 1024 * 1024);
    const read = await readClient(id, ['users_len', 'db_storage', 'total_storage_limit', 'storage_exceed']);
    expect(read).toMatchObject({ users_len: 3, db_storage: Math.round(measured.size_bytes! / (1024 * 1024)), total_storage_limit: 900, storage_exceed: false });
  });

  it("the owner's console page shows the database, its state, size and active users", async () => {
    const link = new URL(ownerLink);
    const login = await fetch(`${cp.url}${link.pathname}${link.search}`, { redirect: 'manual' });
    expect(login.status).toBe(303);
    const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const page = await (await fetch(`${cp.url}/console/clients/${id}`, { headers: { cookie } })).text();
    expect(page).toContain(`<code>${db.name}</code>`);
    expect(page).toContain('<dd id="database-state">ready</dd>');
    expect(page).toContain('<dd id="database-users">3 of 7</dd>');
    expect(page).toMatch(/<dd id="database-size">\d+\.\d MB<\/dd>/);
    // The node's name is the operator's business.
    expect(page).not.toContain(w.node.name);
  });

  it('suspend refuses a new psql connection and ends an open one; resume lets the owner in again', async () => {
    const open = spawn('psql', ['-X', '-h', '127.0.0.1', '-U', db.owner, '-d', db.name, '-c', 'select pg_sleep(300)'], { env: { PATH: process.env.PATH ?? '', PGPASSWORD: OWNER_PASSWORD } });
    let stderr = '';
    open.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const ended = new Promise<number | null>((resolve) => open.on('exit', (code) => resolve(code)));
    await waitFor(async () => ((await admin('select 1 from pg_stat_activity where datname = $1 and usename = $2', [db.name, db.owner])).length ? true : undefined), 20_000, () => 'the open session never showed', 100);

    expect(await upgrade(id, { params: [{ key: 'saas_client.suspended', value: '1', hidden: true }] })).toEqual({ [`${PREFIX.replace(/_/g, '-')}.odoo.local`]: {} });
    await settled(id);
    expect(await ended).not.toBe(0);
    expect(stderr).toMatch(/terminat/i);
    const refused = psql(db.name, db.owner, OWNER_PASSWORD, 'select 1');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/not currently accepting connections|not permitted to log in/);
    expect((await readClient(id, ['state'])).state).toBe('pending');
    const [param] = await admin<{ value: string }>("select value from ir_config_parameter where key = 'saas_client.suspended'", [], db.name).catch(() => [{ value: 'unreadable' }]);
    // Closed to everyone while suspended, the admin included.
    expect(param!.value).toBe('unreadable');

    expect(await upgrade(id, { params: [{ key: 'saas_client.suspended', value: '0', hidden: true }] })).toEqual({ [`${PREFIX.replace(/_/g, '-')}.odoo.local`]: {} });
    await settled(id);
    expect(psql(db.name, db.owner, OWNER_PASSWORD, "select value from ir_config_parameter where key = 'saas_client.suspended'")).toMatchObject({ code: 0, stdout: '0' });
  }, 90_000);

  it('one node token cannot see or report on another node’s database objects', async () => {
    const other = await createNode(cp, `db2-${PREFIX.slice(4)}`, ['db']);
    const enrol = await fetch(`${cp.url}/agent/v1/enrol`, { method: 'POST', headers: { authorization: `Bearer ${other.token}` } });
    expect(enrol.status).toBe(200);
    const { token } = (await enrol.json()) as { token: string };
    const state = (await (await fetch(`${cp.url}/agent/v1/state`, { headers: { authorization: `Bearer ${token}` } })).json()) as { objects: unknown[] };
    expect(state.objects).toEqual([]);
    const status = await fetch(`${cp.url}/agent/v1/status`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ results: [{ kind: 'database', id: `db${id}`, version: 999, ok: false, error: 'forged' }] }) });
    expect(await status.json()).toMatchObject({ accepted: 0 });
    expect((await database(id)).error).toBeNull();
    const usage = await fetch(`${cp.url}/agent/v1/usage`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ samples: [{ kind: 'database', id: `db${id}`, at: new Date().toISOString(), storageBytes: 1, transferBytes: 0, activeUsers: 99 }] }) });
    expect(usage.status).toBe(200);
    expect((await database(id)).active_users).toBe(3);
    // Only the operator's node list shows them, each under its own node.
    expect((await nodeObjects(cp, other.id)).length).toBe(0);
  });

  it('delete dumps the database to the agent archives (pg_restore reads it), then drops it and its owner', async () => {
    const r = await fetch(`${cp.url}/api/v1/cpcmd/admin:delete-site`, { method: 'POST', headers: { authorization: `Bearer ${cp.operatorKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ args: [`site${id}`, {}] }) });
    expect(r.status, await r.clone().text()).toBe(200);
    await waitFor(async () => ((await nodeObjects(cp, w.node.id)).some((o) => o.id === `db${id}`) ? undefined : true), 60_000, () => w.agent.output().slice(-3000), 200);
    expect(await admin('select 1 from pg_database where datname = $1', [db.name])).toEqual([]);
    expect(await admin('select 1 from pg_roles where rolname = $1', [db.owner])).toEqual([]);
    const archives = path.join(w.tmp.dir, 'agent', 'archives');
    const dump = fs.readdirSync(archives).find((f) => f.startsWith(`${db.name}-`) && f.endsWith('.dump'));
    expect(dump).toBeDefined();
    const list = spawnSync('pg_restore', ['--list', path.join(archives, dump!)], { encoding: 'utf8' });
    expect(list.status, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/TABLE public ir_config_parameter/);
    expect(list.stdout).toMatch(/TABLE DATA public res_users/);
  });
});

describe('errors', () => {
  it('a template that does not exist fails the database visibly: the admin API and do_upgrade_database say why', async () => {
    const planId = await w.createPlan(`odoo-missing-${PREFIX}`, MISSING_TEMPLATE);
    const out = await python(
      `import json, os, xmlrpc.client
common = xmlrpc.client.ServerProxy(os.environ['PORTAL_URL'] + '/xmlrpc/2/common')
uid = common.authenticate('hostplane', 'admin', os.environ['ADMIN_PASSWORD'], {})
models = xmlrpc.client.ServerProxy(os.environ['PORTAL_URL'] + '/xmlrpc/2/object')
print(json.dumps(models.execute_kw('hostplane', uid, os.environ['ADMIN_PASSWORD'], 'saas_portal.plan', 'create_new_database', [int(os.environ['PLAN'])], {'dbname': os.environ['NAME'], 'user_id': uid, 'owner_password': 'x'})))`,
      { PLAN: String(planId), NAME: `${PREFIX.replace(/_/g, '-')}-missing.odoo.local` },
    );
    const created = JSON.parse(out) as { id: number; client_id: string };
    w.track(created.client_id);
    const failed = await settled(created.id, 'failed');
    expect(failed.error).toContain(`template database "${MISSING_TEMPLATE}" does not exist`);
    const answer = await upgrade(created.id, { params: [{ key: 'saas_client.max_users', value: '3', hidden: true }] });
    expect(answer[`${PREFIX.replace(/_/g, '-')}-missing.odoo.local`]!.database![0]).toContain(`template database "${MISSING_TEMPLATE}" does not exist`);
    expect(await admin('select 1 from pg_database where datname = $1', [failed.name])).toEqual([]);
  });

  it('hostile database and template names are refused at the door, and nothing is made', async () => {
    const hostile = `x'; drop database ${TEMPLATE}; --`;
    const r = await cp.admin<{ error: { fields: Record<string, string[]> } }>('POST', '/admin/v1/packages', { uid: `evil-${PREFIX}`, name: 'Evil', template_database: hostile });
    expect(r.status).toBe(422);
    expect(r.body.error.fields.template_database).toBeDefined();
    const out = await python(
      `import os, xmlrpc.client
common = xmlrpc.client.ServerProxy(os.environ['PORTAL_URL'] + '/xmlrpc/2/common')
uid = common.authenticate('hostplane', 'admin', os.environ['ADMIN_PASSWORD'], {})
models = xmlrpc.client.ServerProxy(os.environ['PORTAL_URL'] + '/xmlrpc/2/object')
try:
    models.execute_kw('hostplane', uid, os.environ['ADMIN_PASSWORD'], 'saas_portal.plan', 'create_new_database', [1], {'dbname': os.environ['NAME'], 'user_id': uid})
    print('created')
except xmlrpc.client.Fault as f:
    print(f.faultCode, f.faultString)`,
      { NAME: `"; drop database ${TEMPLATE}; --` },
    );
    expect(out).toMatch(/^2 .*is not a valid database \(host\) name/);
    expect(await admin('select 1 from pg_database where datname = $1', [TEMPLATE])).toHaveLength(1);
  });
});

describe('a db node and its admin connection', () => {
  it('refuses an admin URL that is not postgres:// (exit 2), before enrolling', async () => {
    const p = spawnHostplane(['agent', '--url', cp.url, '--data-dir', path.join(w.tmp.dir, 'bad-url'), '--pg-url', 'mysql://root@127.0.0.1/x'], {});
    expect((await p.exited).code).toBe(2);
    expect(p.output()).toContain('--pg-url: must start with postgres:// or postgresql://');
    expect(fs.existsSync(path.join(w.tmp.dir, 'bad-url', 'credentials.json'))).toBe(false);
  });

  it('without one, the db driver reports itself unavailable in the heartbeat, and the admin URL never reaches the control plane', async () => {
    const bare = await createNode(cp, `db3-${PREFIX.slice(4)}`, ['db']);
    const a = startAgent(cp, { dataDir: path.join(w.tmp.dir, 'bare'), token: bare.token, args: [] });
    const view = await waitFor(
      async () => {
        const v = await nodeView(cp, bare.id);
        return (v.drivers as Record<string, { ok: boolean; error?: string }> | null)?.database ? v : undefined;
      },
      30_000,
      () => a.output().slice(-2000),
      200,
    );
    expect((view.drivers as Record<string, { ok: boolean; error?: string }>).database).toEqual({ ok: false, error: expect.stringContaining('no PostgreSQL admin connection') });
    // The working node's heartbeat names its driver healthy, and nothing it sent holds the admin URL.
    const good = await nodeView(cp, w.node.id);
    expect((good.drivers as Record<string, { ok: boolean }>).database).toEqual({ ok: true });
    expect(JSON.stringify(good)).not.toContain('postgres://');
  });
});
