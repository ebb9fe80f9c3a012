import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scramVerifierMatches } from '../../src/core/shared/scram.js';
import { killAll, makeTempDir, waitFor } from '../jobs-process/process-harness.js';
import { createNode, nodeObjects, startAgent, startControlPlane, type AgentProc, type ControlPlane, type NodeCreated } from './agent-harness.js';

/*
 * Site databases end to end: a control plane, a real `hostplane agent` with the db role whose
 * database servers are the machine's MariaDB (127.0.0.1:3306, root) and PostgreSQL (127.0.0.1:5432,
 * postgres). A site is created the way the WHMCS module creates one (admin:add-site with the options
 * its CreateAccount builds); its admin signs in with the real clients, `mariadb` and `psql`. Every
 * user and database of this run carries a prefix made of the run's pid, and is dropped afterwards.
 */

const run = promisify(execFile);
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const MARIADB_URL = 'mysql://root@127.0.0.1:3306';
const PG_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const tag = `sdb${process.pid}${process.env.HOSTPLANE_TEST_DB === 'postgres' ? 'p' : 'g'}`;
const PASSWORD = 'Db-pass-7731 with spaces';

let cp: ControlPlane;
let node: NodeCreated;
let agent: AgentProc;
const tmp = makeTempDir('hostplane-sitedb-');
const dataDir = path.join(tmp.dir, 'db1');

async function mariadbAs(user: string, password: string, sql: string, db?: string): Promise<{ ok: boolean; out: string }> {
  try {
    const { stdout } = await run('mariadb', ['-h', '127.0.0.1', '-P', '3306', '-u', user, `-p${password}`, '-N', '-B', ...(db ? [db] : []), '-e', sql]);
    return { ok: true, out: stdout.trim() };
  } catch (e) {
    return { ok: false, out: String((e as { stderr?: string }).stderr ?? e) };
  }
}

async function rootSql(sql: string): Promise<string> {
  const { stdout } = await run('mariadb', ['-h', '127.0.0.1', '-P', '3306', '-u', 'root', '-N', '-B', '-e', sql]);
  return stdout.trim();
}

async function psqlAs(user: string, db: string, sql: string): Promise<{ ok: boolean; out: string }> {
  try {
    const { stdout } = await run('psql', ['-h', '127.0.0.1', '-p', '5432', '-U', user, '-d', db, '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql], { env: { ...process.env, PGPASSWORD: PASSWORD, PGCONNECT_TIMEOUT: '5' } });
    return { ok: true, out: stdout.trim() };
  } catch (e) {
    return { ok: false, out: String((e as { stderr?: string }).stderr ?? e) };
  }
}

async function pgRoot(sql: string): Promise<string> {
  return (await psqlAs('postgres', 'postgres', sql)).out;
}

async function cpcmd(fn: string, args: unknown[]): Promise<{ status: number; body: Json }> {
  return cp.admin<Json>('POST', `/api/v1/cpcmd/${encodeURIComponent(fn)}`, { args });
}

/** The options the WHMCS module's CreateAccount sends for a product with MySQL (5 databases) and PostgreSQL (2) on. */
function whmcsOptions(username: string, domain: string): Json {
  return {
    'auth.tpasswd': PASSWORD,
    'billing.invoice': `whmcs-${username}`,
    'ftp.enabled': '0',
    'ipinfo.enabled': '1',
    'ipinfo.namebased': '1',
    'logs.enabled': '1',
    'mail.enabled': '0',
    'mysql.enabled': '1',
    'mysql.dbaseadmin': username,
    'mysql.dbaseprefix': `${username}_`,
    'mysql.dbasenum': '2',
    'mysql.passwd': PASSWORD,
    'pgsql.enabled': '1',
    'pgsql.dbaseadmin': username,
    'pgsql.dbaseprefix': `${username}_`,
    'pgsql.dbasenum': '2',
    'pgsql.passwd': PASSWORD,
    'rampart.whitelist': ['203.0.113.9'],
    'spamfilter.enabled': '0',
    'spamfilter.provider': '',
    'ssh.enabled': '0',
    'ssh.jail': '1',
    'ssl.enabled': '0',
    'users.enabled': '1',
    'siteinfo.enabled': '1',
    'siteinfo.domain': domain,
    'siteinfo.admin_user': username,
    'siteinfo.email': `${username}@example.com`,
    'siteinfo.plan': '',
  };
}

/** Waits until the node has applied every db_user object of the site at its current version (or holds none). */
async function settled(siteId: number, expectObjects: number): Promise<Json[]> {
  let last: Json[] = [];
  return waitFor(
    async () => {
      last = ((await nodeObjects(cp, node.id)) as unknown as Json[]).filter((o) => String(o.id).startsWith(`site${siteId}-`));
      return last.length === expectObjects && last.every((o) => o.applied_version === o.version) ? last : undefined;
    },
    60_000,
    () => `site${siteId}: ${JSON.stringify(last)}\n${agent.output().slice(-3000)}`,
    200,
  );
}

async function signIn(siteId: number, login: string): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`${cp.url}/client/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id: siteId, login, password: PASSWORD }) });
  expect(res.status, await res.clone().text()).toBe(200);
  const cookie = String(res.headers.get('set-cookie')).split(';')[0]!;
  const s = (await (await fetch(`${cp.url}/client/v1/session`, { headers: { cookie } })).json()) as Json;
  return { cookie, csrf: s.csrf_token as string };
}

async function client(session: { cookie: string; csrf: string }, method: string, route: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const res = await fetch(cp.url + route, {
    method,
    headers: { cookie: session.cookie, 'x-csrf-token': session.csrf, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as Json };
}

/** The site.over_quota events raised for a site (an endpoint listens, so each one is a delivery). */
async function overQuotaEvents(siteId: number): Promise<Json[]> {
  const rows = await cp.app().deps.db.selectFrom('webhook_deliveries').select('payload').where('event_type', '=', 'site.over_quota').execute();
  return rows.map((r) => (r.payload as { data: Json }).data).filter((d) => d.id === `site${siteId}`);
}

async function createSite(username: string): Promise<number> {
  const domain = `${username}.sitedb.test`;
  const r = await cpcmd('admin:add-site', [domain, username, whmcsOptions(username, domain)]);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  const found = await cp.admin<Json>('GET', `/admin/v1/clients?q=${encodeURIComponent(domain)}`);
  return (found.body.clients as Json[]).find((c) => c.status !== 'deleted')!.id as number;
}

async function dropLeftovers(): Promise<void> {
  const users = (await rootSql(`select concat(User, '@', Host) from mysql.user where User like '${tag}%'`)).split('\n').filter(Boolean);
  for (const u of users) await rootSql(`drop user '${u.split('@')[0]}'@'${u.split('@')[1]}'`);
  for (const db of (await rootSql(`select schema_name from information_schema.schemata where schema_name like '${tag}%'`)).split('\n').filter(Boolean)) await rootSql(`drop database \`${db}\``);
  for (const db of (await pgRoot(`select datname from pg_database where datname like '${tag}%'`)).split('\n').filter(Boolean)) await pgRoot(`drop database "${db}" with (force)`);
  for (const r of (await pgRoot(`select rolname from pg_roles where rolname like '${tag}%'`)).split('\n').filter(Boolean)) await pgRoot(`drop role "${r}"`);
}

beforeAll(async () => {
  await dropLeftovers();
  // Webhook deliveries are recorded with the event (no job runner here sends them): any local address will do.
  cp = await startControlPlane({ HOSTPLANE_WEBHOOK_ALLOW_PRIVATE: 'true' });
  node = await createNode(cp, 'db1', ['db']);
  // The SaaS instance files give PostgreSQL by its variable; here it comes by its flag and MariaDB by
  // its variable, so a working agent is started both ways.
  agent = startAgent(cp, { dataDir, token: node.token, args: ['--pg-url', PG_URL], env: { HOSTPLANE_AGENT_MARIADB_URL: MARIADB_URL } });
  await agent.waitForOutput('fetched the node state', 30_000);
  const hook = await cp.admin('POST', '/admin/v1/webhooks', { url: 'http://127.0.0.1:9/hooks', event_types: ['site.over_quota'] });
  expect(hook.status, JSON.stringify(hook.body)).toBe(201);
  // Placement takes healthy nodes only: a heartbeat must have arrived.
  await waitFor(async () => ((await cp.admin<Json>('GET', `/admin/v1/nodes/${node.id}`)).body.last_heartbeat_at ? true : undefined), 30_000, () => 'no heartbeat from the db node');
}, 120_000);

afterAll(async () => {
  killAll();
  await cp?.close();
  await dropLeftovers();
  tmp.remove();
}, 120_000);

describe('site databases on a db node', () => {
  it('MariaDB: a WHMCS-style create lets the admin in; a console database is usable; suspend locks, activate unlocks; delete dumps and drops', async () => {
    const user = `${tag}m`;
    const siteId = await createSite(user);
    const [obj] = await settled(siteId, 2).then((all) => all.filter((o) => o.id === `site${siteId}-mysql`));
    expect(obj).toBeDefined();
    // The heartbeat names the driver by its own name, so the db role's drivers do not share a key.
    const view = await cp.admin<Json>('GET', `/admin/v1/nodes/${node.id}`);
    expect(view.body.drivers['db-user']).toEqual({ ok: true });
    // The admin connections stay out of what the agent prints, however they were given.
    expect(agent.output()).not.toContain(MARIADB_URL);
    expect(agent.output()).not.toContain(PG_URL);

    expect(await mariadbAs(user, PASSWORD, 'select current_user()')).toEqual({ ok: true, out: `${user}@%` });
    expect((await mariadbAs(user, 'not-the-password', 'select 1')).ok).toBe(false);
    // The password never reached the node: its hash did.
    const stored = await rootSql(`select authentication_string from mysql.user where User = '${user}'`);
    expect(stored).toMatch(/^\*[0-9A-F]{40}$/);
    expect(fs.readFileSync(path.join(dataDir, 'state.json'), 'utf8')).not.toContain(PASSWORD);

    const session = await signIn(siteId, user);
    const created = await client(session, 'POST', '/client/v1/databases', { engine: 'mysql', name: `${user}_shop` });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ name: `${user}_shop`, state: 'pending' });
    await settled(siteId, 2);
    const listed = await client(session, 'GET', '/client/v1/databases');
    expect(listed.body.mysql).toMatchObject({ enabled: true, prefix: `${user}_`, admin: user, max_databases: 2 });
    expect(listed.body.mysql.databases).toEqual([expect.objectContaining({ name: `${user}_shop`, state: 'applied', error: null })]);
    const used = await mariadbAs(user, PASSWORD, 'create table t (x int); insert into t values (42); select x from t', `${user}_shop`);
    expect(used).toEqual({ ok: true, out: '42' });
    // The node reports the size of the site's databases; the console shows it.
    const sized = await waitFor(
      async () => {
        const v = (await client(session, 'GET', '/client/v1/databases')).body.mysql.size_bytes as number | null;
        return v !== null && v > 0 ? v : undefined;
      },
      30_000,
      () => 'no database size reported',
    );
    expect(sized).toBeGreaterThan(0);
    // Its grants cover its own databases only.
    expect((await mariadbAs(user, PASSWORD, 'select 1', 'mysql')).ok).toBe(false);

    // A password change (EditDomain -c mysql,passwd=...) reaches the node as a new hash.
    expect((await cpcmd('admin:edit-site', [`site${siteId}`, { 'mysql.passwd': 'Another-pass-2' }])).status).toBe(200);
    await settled(siteId, 2);
    expect((await mariadbAs(user, 'Another-pass-2', 'select 1')).ok).toBe(true);
    expect((await mariadbAs(user, PASSWORD, 'select 1')).ok).toBe(false);
    expect((await cpcmd('admin:edit-site', [`site${siteId}`, { 'mysql.passwd': PASSWORD }])).status).toBe(200);
    await settled(siteId, 2);

    expect((await cpcmd('admin:deactivate-site', [`site${siteId}`, 'unpaid'])).status).toBe(200);
    await settled(siteId, 2);
    const refused = await mariadbAs(user, PASSWORD, 'select 1');
    expect(refused.ok).toBe(false);
    expect(refused.out).toMatch(/locked/i);

    expect((await cpcmd('admin:activate-site', [`site${siteId}`])).status).toBe(200);
    await settled(siteId, 2);
    expect((await mariadbAs(user, PASSWORD, 'select x from t', `${user}_shop`)).out).toBe('42');

    // A new dbaseadmin takes the databases over; the old user is gone.
    expect((await cpcmd('admin:edit-site', [`site${siteId}`, { 'mysql.dbaseadmin': `${user}n` }])).status).toBe(200);
    await settled(siteId, 2);
    expect((await mariadbAs(`${user}n`, PASSWORD, 'select x from t', `${user}_shop`)).out).toBe('42');
    expect(await rootSql(`select count(*) from mysql.user where User = '${user}'`)).toBe('0');

    expect((await cpcmd('admin:delete-site', [`site${siteId}`, { force: true }])).status).toBe(200);
    await settled(siteId, 0);
    const dumps = fs.readdirSync(path.join(dataDir, 'archives')).filter((f) => f.startsWith(`site${siteId}-mysql-${user}_shop-`) && f.endsWith('.sql'));
    expect(dumps).toHaveLength(1);
    expect(fs.readFileSync(path.join(dataDir, 'archives', dumps[0]!), 'utf8')).toMatch(/INSERT INTO `t` VALUES\s*\(42\)/);
    expect(await rootSql(`select count(*) from mysql.user where User like '${user}%'`)).toBe('0');
    expect(await rootSql(`select count(*) from information_schema.schemata where schema_name like '${user}%'`)).toBe('0');
  }, 180_000);

  it('PostgreSQL: the role holds the SCRAM verifier of the site password; its database is its own; suspend refuses and ends sessions; delete dumps and drops', async () => {
    const user = `${tag}q`;
    const siteId = await createSite(user);
    await settled(siteId, 2);
    const verifier = await pgRoot(`select rolpassword from pg_authid where rolname = '${user}'`);
    expect(verifier).toMatch(/^SCRAM-SHA-256\$4096:/);
    expect(await scramVerifierMatches(verifier, PASSWORD)).toBe(true);
    expect(await scramVerifierMatches(verifier, 'not-the-password')).toBe(false);

    const session = await signIn(siteId, user);
    const created = await client(session, 'POST', '/client/v1/databases', { engine: 'pgsql', name: `${user}_app` });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await settled(siteId, 2);
    expect((await psqlAs(user, `${user}_app`, 'create table t (x int); insert into t values (7); select x from t')).out).toBe('7');
    expect(await pgRoot(`select pg_get_userbyid(datdba) from pg_database where datname = '${user}_app'`)).toBe(user);
    // PUBLIC may not connect to a site's database.
    expect(await pgRoot(`select has_database_privilege('public', '${user}_app', 'connect')`)).toBe('f');

    // A session open at the suspension is ended, not only new ones refused.
    const open = run('psql', ['-h', '127.0.0.1', '-U', user, '-d', `${user}_app`, '-X', '-q', '-c', 'select pg_sleep(120)'], { env: { ...process.env, PGPASSWORD: PASSWORD } }).then(
      () => 'finished',
      (e: { stderr?: string }) => String(e.stderr),
    );
    await waitFor(async () => ((await pgRoot(`select count(*) from pg_stat_activity where usename = '${user}'`)) === '1' ? true : undefined), 30_000, () => 'the session did not open');
    expect((await cpcmd('admin:deactivate-site', [`site${siteId}`, 'unpaid'])).status).toBe(200);
    await settled(siteId, 2);
    expect(await open).toMatch(/terminat/i);
    const refused = await psqlAs(user, `${user}_app`, 'select 1');
    expect(refused.ok).toBe(false);
    expect(refused.out).toMatch(/not permitted to log in/);

    expect((await cpcmd('admin:activate-site', [`site${siteId}`])).status).toBe(200);
    await settled(siteId, 2);
    expect((await psqlAs(user, `${user}_app`, 'select x from t')).out).toBe('7');

    // Dropped from the console: dumped, then gone.
    const dropped = await client(session, 'DELETE', `/client/v1/databases/pgsql/${user}_app`);
    expect(dropped.status, JSON.stringify(dropped.body)).toBe(200);
    await settled(siteId, 2);
    expect(await pgRoot(`select count(*) from pg_database where datname = '${user}_app'`)).toBe('0');
    expect(fs.readdirSync(path.join(dataDir, 'archives')).filter((f) => f.startsWith(`site${siteId}-pgsql-${user}_app-`) && f.endsWith('.dump'))).toHaveLength(1);

    expect((await client(session, 'POST', '/client/v1/databases', { engine: 'pgsql', name: `${user}_two` })).status).toBe(201);
    await settled(siteId, 2);
    expect((await cpcmd('admin:delete-site', [`site${siteId}`, { force: true }])).status).toBe(200);
    await settled(siteId, 0);
    expect(fs.readdirSync(path.join(dataDir, 'archives')).filter((f) => f.startsWith(`site${siteId}-pgsql-${user}_two-`))).toHaveLength(1);
    expect(await pgRoot(`select count(*) from pg_roles where rolname = '${user}'`)).toBe('0');
    expect(await pgRoot(`select count(*) from pg_database where datname like '${user}%'`)).toBe('0');
  }, 180_000);

  it('a user the agent did not make is never taken over: the object fails and the account keeps its password', async () => {
    const taken = `${tag}t`;
    await rootSql(`create user '${taken}'@'%' identified by 'owners-own-pass'`);
    const siteId = await createSite(taken);
    const failed = await waitFor(
      async () => ((await nodeObjects(cp, node.id)) as unknown as Json[]).find((o) => o.id === `site${siteId}-mysql` && o.error),
      60_000,
      () => agent.output().slice(-2000),
    );
    expect(failed.error).toContain('was not made by it');
    expect((await mariadbAs(taken, 'owners-own-pass', 'select 1')).ok).toBe(true);
    expect((await mariadbAs(taken, PASSWORD, 'select 1')).ok).toBe(false);
    // Deleting the site leaves that account alone too.
    expect((await cpcmd('admin:delete-site', [`site${siteId}`, { force: true }])).status).toBe(200);
    await settled(siteId, 0);
    expect((await mariadbAs(taken, 'owners-own-pass', 'select 1')).ok).toBe(true);
  }, 180_000);

  it('the console refuses names outside the prefix, over dbasenum, hostile or taken, and another site\'s database; the doors refuse hostile service names; nothing changes', async () => {
    const a = `${tag}a`;
    const b = `${tag}b`;
    const siteA = await createSite(a);
    const siteB = await createSite(b);
    await settled(siteA, 2);
    const sa = await signIn(siteA, a);
    const sb = await signIn(siteB, b);
    expect((await client(sa, 'POST', '/client/v1/databases', { engine: 'mysql', name: `${a}_one` })).status).toBe(201);

    const refusals: [unknown, number, string][] = [
      [{ engine: 'mysql', name: `${b}_mine` }, 422, `must start with ${a}_`],
      [{ engine: 'mysql', name: `${a}_` }, 422, 'go on after it'],
      [{ engine: 'mysql', name: `${a}_x\`; drop user root; --` }, 422, 'only letters, digits'],
      [{ engine: 'mysql', name: `${a}_${'x'.repeat(70)}` }, 422, 'at most 64'],
      [{ engine: 'pgsql', name: `${a}_${'x'.repeat(60)}` }, 422, 'at most 63'],
      [{ engine: 'oracle', name: `${a}_one` }, 422, 'mysql or pgsql'],
      [{ engine: 'mysql', name: `${a}_one` }, 409, 'already exists'],
    ];
    for (const [body, status, message] of refusals) {
      const r = await client(sa, 'POST', '/client/v1/databases', body);
      expect(r.status, JSON.stringify([body, r.body])).toBe(status);
      expect(r.body.error.message).toContain(message);
    }
    expect((await client(sa, 'POST', '/client/v1/databases', { engine: 'mysql', name: `${a}_two` })).status).toBe(201);
    const over = await client(sa, 'POST', '/client/v1/databases', { engine: 'mysql', name: `${a}_three` });
    expect(over.status).toBe(409);
    expect(over.body.error.message).toContain('at most 2');
    // Changes need the session's CSRF token.
    expect((await client({ ...sa, csrf: '0'.repeat(64) }, 'POST', '/client/v1/databases', { engine: 'pgsql', name: `${a}_p` })).status).toBe(403);
    // Another site's database is not there for this site: not found, and it stays.
    const foreign = await client(sb, 'DELETE', `/client/v1/databases/mysql/${a}_one`);
    expect(foreign.status).toBe(404);
    expect((await client(sb, 'DELETE', `/client/v1/databases/mysql/${b}_none`)).status).toBe(404);
    const listed = await client(sa, 'GET', '/client/v1/databases');
    expect(listed.body.mysql.databases.map((d: Json) => d.name)).toEqual([`${a}_one`, `${a}_two`]);
    expect((await client(sb, 'GET', '/client/v1/databases')).body.mysql.databases).toEqual([]);
    await settled(siteA, 2);
    expect(await rootSql(`select count(*) from information_schema.schemata where schema_name in ('${a}_one', '${a}_two')`)).toBe('2');

    // Hostile or reserved service names are refused at the door (here the JSON door), in its error format; no site appears.
    const before = (await cp.admin<Json>('GET', '/admin/v1/clients?q=hostile')).body.clients.length;
    for (const [param, value] of [
      ['mysql.dbaseadmin', "x'@'%'; drop user root; --"],
      ['mysql.dbaseadmin', 'root'],
      ['pgsql.dbaseadmin', 'postgres'],
      ['mysql.dbaseprefix', 'no_trailing'],
      ['pgsql.dbaseprefix', 'a"; drop database postgres; --_'],
      ['mysql.dbaseprefix', `${'p'.repeat(45)}_`],
      ['mysql.dbaseadmin', 'u'.repeat(33)],
    ] as const) {
      const r = await cpcmd('admin:add-site', ['hostile.sitedb.test', 'hostile', { ...whmcsOptions('hostile', 'hostile.sitedb.test'), [param]: value }]);
      expect(r.status, `${param}=${value}: ${JSON.stringify(r.body)}`).toBe(422);
      expect(JSON.stringify(r.body)).toContain(param.replace('.', ','));
      const e = await cpcmd('admin:edit-site', [`site${siteA}`, { [param]: value }]);
      expect(e.status, `edit ${param}=${value}`).toBe(422);
    }
    expect((await cp.admin<Json>('GET', '/admin/v1/clients?q=hostile')).body.clients.length).toBe(before);
    // A prefix change that would leave databases outside it is refused too.
    const moved = await cpcmd('admin:edit-site', [`site${siteA}`, { 'mysql.dbaseprefix': `${a}x_` }]);
    expect(moved.status).toBe(422);
    expect(moved.body.error.message).toContain('drop them first');
    expect((await client(sa, 'GET', '/client/v1/databases')).body.mysql.prefix).toBe(`${a}_`);

    for (const id of [siteA, siteB]) expect((await cpcmd('admin:delete-site', [`site${id}`, { force: true }])).status).toBe(200);
    await settled(siteA, 0);
  }, 180_000);

  it("a site's databases, both engines, count with its files against diskquota,quota: site.over_quota and the suspend policy follow", async () => {
    const user = `${tag}z`;
    const domain = `${user}.sitedb.test`;
    // 10 MB: an empty PostgreSQL database (about 7.5 MB) and a few MB of MariaDB data are each under it, together over.
    const r = await cpcmd('admin:add-site', [domain, user, { ...whmcsOptions(user, domain), 'diskquota.quota': '10', 'diskquota.units': 'MB' }]);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const siteId = ((await cp.admin<Json>('GET', `/admin/v1/clients?q=${encodeURIComponent(domain)}`)).body.clients as Json[]).find((c) => c.status !== 'deleted')!.id as number;
    await settled(siteId, 2);
    const policy = await cp.admin<Json>('PATCH', '/admin/v1/settings', { over_quota_policy: 'suspend' });
    expect(policy.status, JSON.stringify(policy.body)).toBe(200);
    try {
      const session = await signIn(siteId, user);
      expect((await client(session, 'POST', '/client/v1/databases', { engine: 'pgsql', name: `${user}_pg` })).status).toBe(201);
      expect((await client(session, 'POST', '/client/v1/databases', { engine: 'mysql', name: `${user}_my` })).status).toBe(201);
      await settled(siteId, 2);
      const sizes = async () => (await client(session, 'GET', '/client/v1/databases')).body as Json;
      // The PostgreSQL database alone is measured under the quota: nothing happens.
      await waitFor(async () => ((await sizes()).pgsql.size_bytes > 0 ? true : undefined), 30_000, () => 'no pgsql size');
      const pgBytes = (await sizes()).pgsql.size_bytes as number;
      expect(pgBytes).toBeLessThan(10 * 1024 * 1024);
      expect(await overQuotaEvents(siteId)).toEqual([]);
      // Then 4 MB of rows go into the MariaDB database.
      const filled = await mariadbAs(user, PASSWORD, "create table blob_rows (b longblob); insert into blob_rows values (repeat('x', 4194304)); select length(b) from blob_rows", `${user}_my`);
      expect(filled, filled.out).toEqual({ ok: true, out: '4194304' });
      // MariaDB's sizes are InnoDB's statistics, which the server refreshes in the background; refresh them now.
      expect((await mariadbAs(user, PASSWORD, 'analyze table blob_rows', `${user}_my`)).ok).toBe(true);
      const [event] = await waitFor(async () => {
        const e = await overQuotaEvents(siteId);
        return e.length ? e : undefined;
      }, 60_000, () => `no site.over_quota: ${agent.output().slice(-1500)}`);
      expect(event).toMatchObject({ object: 'site', id: `site${siteId}`, quota: 'storage', limit_bytes: 10 * 1024 * 1024, files_bytes: 0 });
      expect(event!.databases_bytes).toBeGreaterThan(10 * 1024 * 1024);
      expect(event!.used_bytes).toBe(event!.databases_bytes);
      // The suspend policy suspends the site as for files, and its database users follow.
      const status = await waitFor(async () => {
        const c = await cp.app().deps.db.selectFrom('clients').select(['status', 'suspend_reason']).where('id', '=', siteId).executeTakeFirstOrThrow();
        return c.status === 'suspended' ? c : undefined;
      }, 30_000, () => 'the site was not suspended');
      expect(status.suspend_reason).toBe('over quota: storage');
      await settled(siteId, 2);
      expect((await mariadbAs(user, PASSWORD, 'select 1')).out).toMatch(/locked/i);
      // Once per crossing: later samples over the quota add no event.
      await new Promise((res) => setTimeout(res, 2_500));
      expect(await overQuotaEvents(siteId)).toHaveLength(1);
    } finally {
      await cp.admin('PATCH', '/admin/v1/settings', { over_quota_policy: 'notify' });
    }
    expect((await cpcmd('admin:delete-site', [`site${siteId}`, { force: true }])).status).toBe(200);
    await settled(siteId, 0);
  }, 180_000);

  // Last: a healthy db node would take the sites created after it.
  it('a db node without a database server says so in its heartbeat', async () => {
    const bare = await createNode(cp, 'db-bare', ['db']);
    startAgent(cp, { dataDir: path.join(tmp.dir, 'db-bare'), token: bare.token, args: [] });
    const drivers = await waitFor(
      async () => {
        const d = (await cp.admin<Json>('GET', `/admin/v1/nodes/${bare.id}`)).body.drivers as Json | null;
        return d?.['db-user'] ? d : undefined;
      },
      30_000,
      () => 'no heartbeat from db-bare',
    );
    expect(drivers['db-user']).toEqual({ ok: false, error: expect.stringMatching(/no database server: give --mariadb-url and\/or --pg-url/) });
  }, 60_000);
});
