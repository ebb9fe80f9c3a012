import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgDatabaseDriver } from '../../src/agent/drivers/db/pg-database.driver.js';
import type { UsageSampleT } from '../../src/agent/role-driver.js';
import type { DatabaseSpec, InstanceFileSpec, InstanceUserSpec, WireObject } from '../../src/core/nodes/agent-wire.schema.js';
import { odooPasswordHash } from '../../src/core/shared/odoo-password.js';
import { scramSha256Verifier, scramVerifierMatches } from '../../src/core/shared/scram.js';
import { makeTempDir } from '../jobs-process/process-harness.js';
import { ODOO_TEMPLATE_SQL } from '../support/odoo-template.js';
import { startPgCluster, type PgCluster } from '../support/pg-cluster.js';

/*
 * The db role's driver on a PostgreSQL cluster of the test's own, which (unlike the machine's, which
 * trusts local connections) asks every role but postgres for its SCRAM password: the owner gets in
 * with the password the verifier was made from, and only with it.
 */
const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const PASSWORD = 'owner pässword 1';

let cluster: PgCluster;
let driver: PgDatabaseDriver;
const tmp = makeTempDir('hostplane-pgdriver-');

async function q<T>(sqlText: string, params: unknown[] = [], database = 'postgres'): Promise<T[]> {
  const c = new pg.Client({ connectionString: cluster.url.replace(/\/postgres$/, `/${database}`) });
  await c.connect();
  try {
    return (await c.query(sqlText, params)).rows as T[];
  } finally {
    await c.end();
  }
}

function psql(database: string, user: string, password: string, command: string) {
  const r = spawnSync('psql', ['-X', '-A', '-t', '-h', '127.0.0.1', '-p', String(cluster.port), '-U', user, '-d', database, '-c', command], { env: { PATH: process.env.PATH ?? '', PGPASSWORD: password }, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

let verifier: string;
function spec(n: number, over: Partial<DatabaseSpec> = {}): DatabaseSpec {
  return { clientId: n, name: `inst_${n}`, template: 'tpl', owner: `inst_${n}_owner`, ownerPassword: verifier, connectionLimit: 5, limits: { maxUsers: 3, storageMb: 100, expiresAt: null }, status: 'active', ...over };
}
function present(n: number, over: Partial<DatabaseSpec> = {}, version = 1): WireObject {
  return { kind: 'database', id: `db${n}`, version, state: 'present', spec: spec(n, over) };
}

beforeAll(async () => {
  cluster = await startPgCluster();
  const [hba] = await q<{ hba_file: string }>('show hba_file');
  fs.writeFileSync(hba!.hba_file, 'local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n');
  await q('select pg_reload_conf()');
  await q('create database tpl');
  await q(
    `create table ir_config_parameter (key varchar not null, value text);
     insert into ir_config_parameter values ('saas_client.max_users', '1');
     create table res_users (login text, active boolean, share boolean);
     insert into res_users values ('admin', true, false), ('guest', true, true), ('gone', false, false);`,
    [],
    'tpl',
  );
  verifier = await scramSha256Verifier(PASSWORD);
  driver = new PgDatabaseDriver({ pgUrl: cluster.url, dataDir: tmp.dir, log: silent });
  await driver.start();
}, 120_000);

afterAll(async () => {
  await driver?.stop();
  await cluster?.destroy();
  tmp.remove();
}, 60_000);

describe('PgDatabaseDriver', () => {
  it('makes a batch true object by object: a missing template fails its own object only', async () => {
    const results = await driver.apply([present(1), present(2, { template: 'no_such_tpl' }), present(3)]);
    expect(results.map((r) => [r.id, r.ok])).toEqual([
      ['db1', true],
      ['db2', false],
      ['db3', true],
    ]);
    expect(results[1]!.error).toContain('template database "no_such_tpl" does not exist');
    expect(await q('select datname from pg_database where datname like $1 order by 1', ['inst\\_%'])).toEqual([{ datname: 'inst_1' }, { datname: 'inst_3' }]);
  });

  it('copies a batch of databases of one template, two in flight, each with its own owner, its results in the batch order', async () => {
    const ids = [40, 41, 42, 43, 44, 45];
    const results = await driver.apply(ids.map((n) => present(n)));
    expect(results.map((r) => [r.id, r.ok, r.error])).toEqual(ids.map((n) => [`db${n}`, true, undefined]));
    const made = await q<{ datname: string; owner: string }>('select datname, pg_get_userbyid(datdba) as owner from pg_database where datname like $1 order by 1', ['inst\\_4_']);
    expect(made).toEqual(ids.map((n) => ({ datname: `inst_${n}`, owner: `inst_${n}_owner` })));
    for (const n of [40, 45]) expect(await q('select value from ir_config_parameter where key = $1', ['saas_client.max_users'], `inst_${n}`)).toEqual([{ value: '3' }]);
    const dropped = await driver.apply(ids.map((n) => ({ kind: 'database', id: `db${n}`, version: 2, state: 'absent', spec: spec(n) })));
    expect(dropped.every((r) => r.ok)).toBe(true);
    expect(await q('select datname from pg_database where datname like $1', ['inst\\_4_'])).toEqual([]);
  });

  it('the owner logs in with the password behind the verifier (SCRAM), and with no other; the limits are inside', async () => {
    expect(psql('inst_1', 'inst_1_owner', PASSWORD, "select value from ir_config_parameter where key = 'saas_client.max_users'")).toMatchObject({ code: 0, stdout: '3' });
    expect(psql('inst_1', 'inst_1_owner', 'not it', 'select 1')).toMatchObject({ code: 2, stderr: expect.stringContaining('password authentication failed') });
    // CONNECT on an instance is its owner's alone.
    expect(psql('inst_3', 'inst_1_owner', PASSWORD, 'select 1')).toMatchObject({ code: 2, stderr: expect.stringContaining('permission denied for database "inst_3"') });
    expect(await q('select count(*)::int as n from ir_config_parameter where key = $1', ['saas_client.max_users'], 'inst_1')).toEqual([{ n: 1 }]);
  });

  it('a password with a no-break space, a soft hyphen and a ligature signs in as typed: the verifier is made after SASLprep, as libpq prepares what it sends', async () => {
    const typed = 'no\u00a0break\u00adsoft \ufb01ne';
    const withIt = await scramSha256Verifier(typed);
    expect(await scramVerifierMatches(withIt, 'no breaksoft fine')).toBe(true);
    const results = await driver.apply([present(7, { ownerPassword: withIt })]);
    expect(results[0]).toMatchObject({ ok: true });
    expect(psql('inst_7', 'inst_7_owner', typed, 'select 1')).toMatchObject({ code: 0, stdout: '1' });
    // SASLprep maps the no-break space to a space, drops the soft hyphen and unfolds the ligature.
    expect(psql('inst_7', 'inst_7_owner', 'no breaksoft fine', 'select 1')).toMatchObject({ code: 0, stdout: '1' });
    expect(psql('inst_7', 'inst_7_owner', 'no break soft fine', 'select 1')).toMatchObject({ code: 2 });
    await driver.apply([{ kind: 'database', id: 'db7', version: 2, state: 'absent', spec: spec(7) }]);
  });

  it('copies a template from the size threshold with FILE_COPY (the server checkpoints before and after) and a smaller one with WAL_LOG; a fixed strategy is used whatever the size', async () => {
    // Requested checkpoints are what tells the two apart from outside: FILE_COPY asks for two per copy,
    // WAL_LOG for none. The checkpointer may report the second one just after the copy returns: at least one.
    const requested = async () => {
      const [row] = await q<{ n: string }>("select (case when to_regclass('pg_catalog.pg_stat_checkpointer') is null then (select checkpoints_req from pg_stat_bgwriter) end)::text as n");
      if (row?.n !== null && row?.n !== undefined) return Number(row.n);
      const [newer] = await q<{ n: string }>('select num_requested::text as n from pg_stat_checkpointer');
      return Number(newer!.n);
    };
    const copyWith = async (options: { copyStrategy?: 'auto' | 'file_copy' | 'wal_log'; fileCopyFromBytes?: number }, n: number) => {
      const d = new PgDatabaseDriver({ pgUrl: cluster.url, dataDir: tmp.dir, log: silent, ...options });
      await d.start();
      const before = await requested();
      const [result] = await d.apply([present(n)]);
      const checkpoints = (await requested()) - before;
      expect(result).toMatchObject({ ok: true });
      // A copy made either way is whole: its owner, limits and users.
      expect(await q('select value from ir_config_parameter where key = $1', ['saas_client.max_users'], `inst_${n}`)).toEqual([{ value: '3' }]);
      expect(psql(`inst_${n}`, `inst_${n}_owner`, PASSWORD, 'select count(*) from res_users')).toMatchObject({ code: 0 });
      await d.apply([{ kind: 'database', id: `db${n}`, version: 2, state: 'absent', spec: spec(n) }]);
      await d.stop();
      return checkpoints;
    };
    const [tplBytes] = await q<{ b: string }>("select pg_database_size('tpl')::text as b");
    expect(Number(tplBytes!.b)).toBeLessThan(32 * 1024 * 1024);
    expect(await copyWith({}, 80)).toBe(0); // auto, a template under 32 MB
    expect(await copyWith({ fileCopyFromBytes: Number(tplBytes!.b) }, 81)).toBeGreaterThanOrEqual(1); // auto, a template at the threshold
    expect(await copyWith({ copyStrategy: 'file_copy', fileCopyFromBytes: Number.MAX_SAFE_INTEGER }, 82)).toBeGreaterThanOrEqual(1);
    expect(await copyWith({ copyStrategy: 'wal_log', fileCopyFromBytes: 1 }, 83)).toBe(0);
    expect(() => new PgDatabaseDriver({ pgUrl: cluster.url, dataDir: tmp.dir, log: silent, copyStrategy: 'rsync' as 'auto' })).toThrow(/copy strategy must be one of auto, file_copy, wal_log/);
  });

  it('applying the same objects again changes nothing and succeeds', async () => {
    const again = await driver.apply([present(1), present(3)]);
    expect(again.every((r) => r.ok)).toBe(true);
    expect(psql('inst_1', 'inst_1_owner', PASSWORD, 'select count(*) from ir_config_parameter')).toMatchObject({ code: 0, stdout: '4' });
  });

  it('usage: size for every database, active internal users where res_users exists', async () => {
    const samples = await driver.observe();
    expect(samples.map((s) => s.id).sort()).toEqual(['db1', 'db3']);
    for (const s of samples) {
      expect(s).toMatchObject({ kind: 'database', transferBytes: 0, activeUsers: 1 });
      expect(s.storageBytes).toBeGreaterThan(1024 * 1024);
    }
  });

  it('a usage walk holds back no new database: while one database is slow to read, another is created, and the walk ends once it can read', async () => {
    // A session of the test locks inst_1's res_users: the walk's read of inst_1 waits on it.
    const locker = new pg.Client({ connectionString: cluster.url.replace(/\/postgres$/, '/inst_1') });
    await locker.connect();
    try {
      await locker.query('begin');
      await locker.query('lock table res_users in access exclusive mode');
      let walked: UsageSampleT[] | undefined;
      const walk = driver.observe().then((s) => (walked = s));
      // The walk is inside inst_1 once its read waits on the lock.
      for (let i = 0; i < 100; i++) {
        const [w] = await q<{ n: number }>("select count(*)::int as n from pg_locks l join pg_database d on d.oid = l.database where d.datname = 'inst_1' and not l.granted");
        if (w!.n > 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const [made] = await driver.apply([present(91)]);
      expect(made).toMatchObject({ id: 'db91', ok: true });
      expect(walked).toBeUndefined();
      await locker.query('commit');
      await walk;
      expect(walked!.map((s) => s.id).sort()).toEqual(['db1', 'db3']);
      expect(walked!.find((s) => s.id === 'db1')).toMatchObject({ activeUsers: 1 });
      expect((await driver.observe()).map((s) => s.id).sort()).toEqual(['db1', 'db3', 'db91']);
    } finally {
      await locker.end().catch(() => undefined);
    }
    await driver.apply([{ kind: 'database', id: 'db91', version: 2, state: 'absent', spec: spec(91) }]);
  });

  it('a template with open sessions fails the object with why; those sessions are not ended', async () => {
    const holder = new pg.Client({ connectionString: cluster.url.replace(/\/postgres$/, '/tpl') });
    await holder.connect();
    try {
      const [r] = await driver.apply([present(4)]);
      expect(r!.ok).toBe(false);
      expect(r!.error).toContain('is being accessed by other users');
      expect(r!.error).toContain('the agent does not end them');
      expect((await holder.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await holder.end();
    }
    expect((await driver.apply([present(4)]))[0]!.ok).toBe(true);
  });

  it("refuses hostile names, another instance's database as template, and a superuser as owner", async () => {
    const bad = { kind: 'database', id: 'db9', version: 1, state: 'present', spec: { ...spec(9), name: 'x"; drop database tpl; --' } } as unknown as WireObject;
    const [hostile, copy, superuser] = await driver.apply([bad, present(5, { template: 'saas_0123456789abcdef0123456789abcdef' }), present(6, { owner: 'postgres' })]);
    expect(hostile).toMatchObject({ ok: false, error: expect.stringContaining('invalid object: spec.name') });
    expect(copy).toMatchObject({ ok: false, error: expect.stringContaining("an instance's database: refusing") });
    expect(superuser).toMatchObject({ ok: false, error: expect.stringContaining('is a superuser') });
    expect(await q('select 1 from pg_database where datname = $1', ['tpl'])).toHaveLength(1);
  });

  it('suspended: closed to new sessions (even the admin), open ones ended; active again lets the owner in', async () => {
    const [r] = await driver.apply([present(1, { status: 'suspended' }, 2)]);
    expect(r).toMatchObject({ ok: true });
    expect(await q('select datallowconn from pg_database where datname = $1', ['inst_1'])).toEqual([{ datallowconn: false }]);
    expect(psql('inst_1', 'inst_1_owner', PASSWORD, 'select 1').code).toBe(2);
    const usage = (await driver.observe()).find((s) => s.id === 'db1')!;
    expect(usage.activeUsers).toBeUndefined();
    expect((await driver.apply([present(1, {}, 3)]))[0]!.ok).toBe(true);
    expect(psql('inst_1', 'inst_1_owner', PASSWORD, "select value from ir_config_parameter where key = 'saas_client.suspended'")).toMatchObject({ code: 0, stdout: '0' });
  });

  it('absent: dumps, drops the database and its owner; an absent object without names removes nothing', async () => {
    const results = await driver.apply([
      { kind: 'database', id: 'db3', version: 2, state: 'absent', spec: spec(3) },
      { kind: 'database', id: 'db7', version: 2, state: 'absent', spec: null },
    ]);
    expect(results.every((x) => x.ok)).toBe(true);
    expect(await q('select 1 from pg_database where datname = $1', ['inst_3'])).toEqual([]);
    expect(await q('select 1 from pg_roles where rolname = $1', ['inst_3_owner'])).toEqual([]);
    const dumps = fs.readdirSync(path.join(tmp.dir, 'archives')).filter((f) => f.startsWith('inst_3-'));
    expect(dumps).toHaveLength(1);
    expect(fs.statSync(path.join(tmp.dir, 'archives', dumps[0]!)).mode & 0o777).toBe(0o600);
    const list = spawnSync('pg_restore', ['--list', path.join(tmp.dir, 'archives', dumps[0]!)], { encoding: 'utf8' });
    expect(list.stdout).toMatch(/TABLE DATA public res_users/);
    // Removing it again (a report lost, the agent restarted) is fine too.
    expect((await driver.apply([{ kind: 'database', id: 'db3', version: 3, state: 'absent', spec: spec(3) }]))[0]!.ok).toBe(true);
  });
});

describe('PgDatabaseDriver: instance users in res_users (ADR 27)', () => {
  const users = (over: Partial<InstanceUserSpec>[] = []): InstanceUserSpec[] => [
    { login: 'admin', name: 'Administrator', active: true, groups: ['base.group_user', 'base.group_system'] },
    { login: 'owner@company.test', name: 'Owner', active: true, groups: ['base.group_user', 'base.group_partner_manager'] },
    ...over.map((o, i) => ({ login: `user${i}@company.test`, name: `User ${i}`, active: true, groups: ['base.group_user'], ...o })),
  ];
  const odoo = (n: number, u: InstanceUserSpec[], version = 1) => present(n, { template: 'odoo_tpl', users: u }, version);

  beforeAll(async () => {
    await q('create database odoo_tpl');
    await q(ODOO_TEMPLATE_SQL, [], 'odoo_tpl');
  });

  it('adds missing users as internal users with a partner, the company and groups the template knows; existing ones are kept', async () => {
    const [r] = await driver.apply([odoo(20, users([{ login: 'sales@company.test', name: 'Sales' }]))]);
    expect(r, r!.error).toMatchObject({ ok: true });
    const rows = await q<Record<string, unknown>>(
      `select u.login, u.active, u.share, u.company_id, u.notification_type, p.name, p.email, p.lang,
         (select array_agg(d.module || '.' || d.name order by d.name) from res_groups_users_rel r join ir_model_data d on d.model = 'res.groups' and d.res_id = r.gid where r.uid = u.id) as groups,
         exists (select 1 from res_company_users_rel c where c.user_id = u.id and c.cid = u.company_id) as in_company
       from res_users u join res_partner p on p.id = u.partner_id order by u.id`,
      [],
      'inst_20',
    );
    expect(rows).toEqual([
      { login: '__system__', active: false, share: false, company_id: 1, notification_type: 'email', name: 'OdooBot', email: null, lang: 'en_US', groups: null, in_company: true },
      { login: 'admin', active: true, share: false, company_id: 1, notification_type: 'inbox', name: 'Administrator', email: null, lang: 'en_US', groups: ['base.group_system', 'base.group_user'], in_company: true },
      { login: 'portal', active: true, share: true, company_id: 1, notification_type: 'email', name: 'Portal', email: null, lang: 'en_US', groups: null, in_company: true },
      // Required columns the spec does not set (notification_type, lang) come from the admin's rows; unknown groups are skipped.
      { login: 'owner@company.test', active: true, share: false, company_id: 1, notification_type: 'inbox', name: 'Owner', email: 'owner@company.test', lang: 'en_US', groups: ['base.group_user'], in_company: true },
      { login: 'sales@company.test', active: true, share: false, company_id: 1, notification_type: 'inbox', name: 'Sales', email: 'sales@company.test', lang: 'en_US', groups: ['base.group_user'], in_company: true },
    ]);
    // The users are created by the admin session; the owner role owns the tables, so it reads them.
    expect(psql('inst_20', 'inst_20_owner', PASSWORD, 'select count(*) from res_users')).toMatchObject({ code: 0, stdout: '5' });
  });

  it('usage reports a digest of res_users (not the list) and the files of ir_attachment; the list comes whole when asked for', async () => {
    const s = (await driver.observe()).find((x) => x.id === 'db20')!;
    expect(s.users).toBeUndefined();
    expect(s.usersDigest).toMatch(/^[0-9a-f]{64}$/);
    const list = (await driver.userList('db20'))!;
    expect(list.digest).toBe(s.usersDigest);
    expect(list.users).toEqual([
      { login: '__system__', name: 'OdooBot', active: false, share: false },
      { login: 'admin', name: 'Administrator', active: true, share: false },
      { login: 'portal', name: 'Portal', active: true, share: true },
      { login: 'owner@company.test', name: 'Owner', active: true, share: false },
      { login: 'sales@company.test', name: 'Sales', active: true, share: false },
    ]);
    expect(s).toMatchObject({ usersTotal: 5, activeUsers: 3, files: { count: 2, bytes: 5096 } });
  });

  it('deactivation sets active false; applying again adds nothing twice', async () => {
    const [r] = await driver.apply([odoo(20, users([{ login: 'sales@company.test', name: 'Sales', active: false }]), 2)]);
    expect(r).toMatchObject({ ok: true });
    expect(await q('select login, active from res_users where login like $1 order by id', ['%@company.test'], 'inst_20')).toEqual([
      { login: 'owner@company.test', active: true },
      { login: 'sales@company.test', active: false },
    ]);
    expect(await q('select count(*)::int as n from res_partner', [], 'inst_20')).toEqual([{ n: 5 }]);
    expect(await q('select count(*)::int as n from res_groups_users_rel', [], 'inst_20')).toEqual([{ n: 4 }]);
  });

  it('an injection-shaped login is stored as it is, as a parameter; the tables stay', async () => {
    const evil = "x');drop/**/table/**/res_users;--";
    const [r] = await driver.apply([odoo(20, [...users(), { login: evil, name: "Robert'); DROP TABLE res_partner;--", active: true, groups: ['base.group_user'] }], 3)]);
    expect(r).toMatchObject({ ok: true });
    expect(await q('select u.login, p.name from res_users u join res_partner p on p.id = u.partner_id where u.login = $1', [evil], 'inst_20')).toEqual([{ login: evil, name: "Robert'); DROP TABLE res_partner;--" }]);
    expect(await q("select to_regclass('res_partner')::text as t", [], 'inst_20')).toEqual([{ t: 'res_partner' }]);
  });

  it("one instance's users never reach another's database", async () => {
    const [r] = await driver.apply([odoo(21, [{ login: 'other@tenant.test', name: 'Other', active: true, groups: [] }])]);
    expect(r).toMatchObject({ ok: true });
    const logins = (await q<{ login: string }>('select login from res_users order by id', [], 'inst_21')).map((x) => x.login);
    expect(logins).toEqual(['__system__', 'admin', 'portal', 'other@tenant.test']);
    expect((await driver.userList('db21'))!.users.map((u) => u.login)).not.toContain('owner@company.test');
    expect((await driver.userList('db20'))!.users.map((u) => u.login)).not.toContain('other@tenant.test');
    expect((await driver.observe()).find((x) => x.id === 'db21')!.usersDigest).not.toBe((await driver.observe()).find((x) => x.id === 'db20')!.usersDigest);
  });

  it('a template without res_users: users are not written, the report says there is no such table', async () => {
    await q('create database bare_tpl');
    await q('create table notes (id serial primary key, body text)', [], 'bare_tpl');
    const [r] = await driver.apply([present(22, { template: 'bare_tpl', users: users() })]);
    expect(r).toMatchObject({ ok: true });
    expect(await q("select to_regclass('res_users')::text as t", [], 'inst_22')).toEqual([{ t: null }]);
    const s = (await driver.observe()).find((x) => x.id === 'db22')!;
    expect(s).toMatchObject({ users: null, files: null });
    expect(s.activeUsers).toBeUndefined();
  });

  it("passwords (ADR 27's addendum): a hash is written when new to the login, a password changed inside stays, the superuser never gets one", async () => {
    const [h1, h2, h3] = await Promise.all([odooPasswordHash('first'), odooPasswordHash('second'), odooPasswordHash('superuser')]);
    const pwOf = async (login: string) => (await q<{ password: string | null }>('select password from res_users where login = $1', [login], 'inst_23'))[0]?.password;
    const withHash = (owner: string, extra: InstanceUserSpec[] = []) => [...users().map((u) => (u.login === 'owner@company.test' ? { ...u, passwordHash: owner } : u)), ...extra];
    expect((await driver.apply([odoo(23, withHash(h1))]))[0]).toMatchObject({ ok: true });
    expect(await pwOf('owner@company.test')).toBe(h1);
    // The table of remembered hashes is the instance owner's from the first apply, like the rest.
    expect(await q("select pg_get_userbyid(relowner) as owner from pg_class where relname = 'hostplane_applied_passwords'", [], 'inst_23')).toEqual([{ owner: 'inst_23_owner' }]);
    expect(await pwOf('admin')).toBeNull();
    // Changed inside the instance; the same spec again, then one with another user, leave it.
    await q("update res_users set password = 'changed-inside' where login = 'owner@company.test'", [], 'inst_23');
    expect((await driver.apply([odoo(23, withHash(h1), 2)]))[0]).toMatchObject({ ok: true });
    expect((await driver.apply([odoo(23, withHash(h1, [{ login: 'new@company.test', name: 'New', active: true, groups: [] }]), 3)]))[0]).toMatchObject({ ok: true });
    expect(await pwOf('owner@company.test')).toBe('changed-inside');
    // A new hash from a door replaces it. What the node remembers is a digest, not the hash.
    expect((await driver.apply([odoo(23, withHash(h2), 4)]))[0]).toMatchObject({ ok: true });
    expect(await pwOf('owner@company.test')).toBe(h2);
    expect(await q('select login, hash_ref from hostplane_applied_passwords', [], 'inst_23')).toEqual([{ login: 'owner@company.test', hash_ref: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
    // Odoo's superuser exists in every Odoo database: a spec naming it never gives it a password.
    expect((await driver.apply([odoo(23, withHash(h2, [{ login: '__system__', name: 'OdooBot', active: false, groups: [], passwordHash: h3 }]), 5)]))[0]).toMatchObject({ ok: true });
    expect(await pwOf('__system__')).toBeNull();
  });

  it('a res_users without a password column gets no password and no table of remembered hashes', async () => {
    await q('create database nopw_tpl');
    await q(ODOO_TEMPLATE_SQL, [], 'nopw_tpl');
    await q('alter table res_users drop column password', [], 'nopw_tpl');
    const spec = users([{ login: 'sales@company.test', name: 'Sales', passwordHash: await odooPasswordHash('p') }]);
    expect((await driver.apply([present(24, { template: 'nopw_tpl', users: spec })]))[0]).toMatchObject({ ok: true });
    expect(await q('select login from res_users where login = $1', ['sales@company.test'], 'inst_24')).toEqual([{ login: 'sales@company.test' }]);
    expect(await q("select to_regclass('hostplane_applied_passwords')::text as t", [], 'inst_24')).toEqual([{ t: null }]);
  });
});

describe('PgDatabaseDriver: instance files into ir_attachment (ADR 27 addendum)', () => {
  const served = new Map<number, Buffer>();
  const fetched: number[] = [];
  let filesDriver: PgDatabaseDriver;
  const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const file = (id: number, name: string, bytes: Buffer, over: Partial<InstanceFileSpec> = {}): InstanceFileSpec => {
    served.set(id, bytes);
    return { id, name, mimetype: 'application/octet-stream', size: bytes.length, sha256: sha256(bytes), ...over };
  };

  beforeAll(async () => {
    // An ir_attachment of Odoo's columns, no ir_model_data: the marker goes in the description.
    await q('create database desc_tpl');
    await q(
      `create table ir_attachment (id serial primary key, name varchar not null, type varchar not null, description text, res_model varchar, res_id integer,
         db_datas bytea, store_fname varchar, file_size integer, checksum varchar(40), mimetype varchar, index_content text, public boolean, create_date timestamp, write_date timestamp)`,
      [],
      'desc_tpl',
    );
    filesDriver = new PgDatabaseDriver({
      pgUrl: cluster.url,
      dataDir: tmp.dir,
      log: silent,
      fetchInstanceFile: (id) => {
        fetched.push(id);
        const bytes = served.get(id);
        return bytes ? Promise.resolve(bytes) : Promise.reject(new Error(`GET /agent/v1/files/${id}: HTTP 404 not_found`));
      },
    });
    await filesDriver.start();
  });

  afterAll(async () => {
    await filesDriver?.stop();
  });

  it('inserts each file once, marked in its description where there is no ir_model_data; the result names the files held', async () => {
    const bytes = Buffer.from('hello from Hostplane\n');
    const files = [file(7, 'hello.txt', bytes, { mimetype: 'text/plain' })];
    const [r] = await filesDriver.apply([present(30, { template: 'desc_tpl', files })]);
    expect(r, r!.error).toMatchObject({ ok: true, files: [7] });
    const rows = await q<Record<string, unknown>>('select name, type, description, db_datas, store_fname, file_size, checksum, mimetype, index_content from ir_attachment', [], 'inst_30');
    expect(rows).toEqual([
      { name: 'hello.txt', type: 'binary', description: 'hostplane:instance_file:7', db_datas: bytes, store_fname: null, file_size: bytes.length, checksum: createHash('sha1').update(bytes).digest('hex'), mimetype: 'text/plain', index_content: 'hello from Hostplane' },
    ]);
    // Applied again (a retry, a restart): found by its marker, not fetched or inserted again.
    const [again] = await filesDriver.apply([present(30, { template: 'desc_tpl', files }, 2)]);
    expect(again).toMatchObject({ ok: true, files: [7] });
    expect(fetched).toEqual([7]);
    expect(await q('select count(*)::int as n from ir_attachment', [], 'inst_30')).toEqual([{ n: 1 }]);
  });

  it('content that does not match its checksum, or cannot be fetched, fails the object and is not inserted; the others go in', async () => {
    const good = file(8, 'good.bin', Buffer.from([1, 2, 3]));
    const bad = { ...file(9, 'bad.bin', Buffer.from([4, 5, 6])), sha256: sha256(Buffer.from('something else')) };
    const gone = { id: 10, name: 'gone.bin', mimetype: 'application/octet-stream', size: 1, sha256: sha256(Buffer.from('x')) };
    const [r] = await filesDriver.apply([present(31, { template: 'desc_tpl', files: [good, bad, gone] })]);
    expect(r).toMatchObject({ ok: false, files: [8] });
    expect(r!.error).toContain('file 9: the content fetched does not match its size and sha256');
    expect(r!.error).toContain('file 10: GET /agent/v1/files/10: HTTP 404');
    expect(await q('select description from ir_attachment order by id', [], 'inst_31')).toEqual([{ description: 'hostplane:instance_file:8' }]);
  });

  it('a database whose files fail to move is measured all the same, also by a driver that never applied it before (an agent restarted)', async () => {
    const restarted = new PgDatabaseDriver({ pgUrl: cluster.url, dataDir: tmp.dir, log: silent, fetchInstanceFile: () => Promise.reject(new Error('HTTP 503')) });
    await restarted.start();
    try {
      const [r] = await restarted.apply([present(31, { template: 'desc_tpl', files: [file(12, 'later.bin', Buffer.from('later'))] }, 2)]);
      expect(r).toMatchObject({ ok: false, error: 'file 12: HTTP 503' });
      const sample = (await restarted.observe()).find((x) => x.id === 'db31');
      expect(sample).toMatchObject({ kind: 'database', users: null, files: { count: 1, bytes: 3 } });
      expect(sample!.storageBytes).toBeGreaterThan(1024 * 1024);
    } finally {
      await restarted.stop();
    }
  });

  it('an agent that cannot fetch leaves the files where they are, and says so', async () => {
    const [r] = await driver.apply([present(32, { template: 'desc_tpl', files: [file(11, 'x.bin', Buffer.from('x'))] })]);
    expect(r).toMatchObject({ ok: false, error: 'this agent cannot fetch files from the control plane' });
    expect(r!.files).toBeUndefined();
    expect(await q('select count(*)::int as n from ir_attachment', [], 'inst_32')).toEqual([{ n: 0 }]);
  });
});
