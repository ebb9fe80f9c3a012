import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseSpec } from '../../src/core/nodes/agent-wire.schema.js';
import { nodeObjects, nodeView, type ControlPlane } from '../agent/agent-harness.js';
import { pool, sleep, waitFor } from '../jobs-process/process-harness.js';
import { PG_ADMIN, pgAdmin, startInstanceWorld, type Instance, type InstanceWorld } from './instance-world.js';

/*
 * kill -9 of a real `hostplane agent` (role db) in the middle of applying a batch of new instance
 * databases, two at a time, on the machine's PostgreSQL: the instances are made through the portal's
 * create_new_database while the agent is down, so it gets them all in one batch when it starts; it is
 * killed once some of the databases exist and before the batch is reported, started again, and must
 * leave every database made once, whole (its owner, connection limit, CONNECT for the owner alone,
 * saas_client limits, users), every object applied at its version, and nothing of a copy it was
 * killed in left half made. One instance's plan names a template that does not exist: its object
 * fails with why, before and after the kill, and leaves no database or role behind.
 */

const COUNT = 20;

let w: InstanceWorld;
let cp: ControlPlane;
const good: Instance[] = [];
let broken: Instance;
const why = () => w.agent.output().slice(-3000);
const ownerOf = (db: string) => `${db}_owner`;

/** The desired spec and version of an instance's database, as the control plane holds them. */
async function desired(clientId: number): Promise<{ version: number; spec: DatabaseSpec }> {
  const row = await cp.app().deps.db.selectFrom('node_objects').select(['version', 'spec']).where('object_id', '=', `db${clientId}`).executeTakeFirstOrThrow();
  return { version: Number(row.version), spec: row.spec as DatabaseSpec };
}

/** How many of `names` exist as databases. */
async function existing(names: string[]): Promise<number> {
  return (await pgAdmin<{ n: number }>('select count(*)::int as n from pg_database where datname = any($1)', [names]))[0]!.n;
}

/**
 * Those of `names` that exist without their saas_client limits: copied, their settings not committed.
 * Read with a lock timeout: the frozen agent may hold a lock inside one (its hand-over to the owner),
 * and a database it is writing in is one without its limits yet.
 */
async function withoutLimits(names: string[]): Promise<string[]> {
  const made = await pgAdmin<{ datname: string }>('select datname from pg_database where datname = any($1) and datallowconn', [names]);
  const out: string[] = [];
  for (const { datname } of made) {
    const c = new pg.Client({ connectionString: PG_ADMIN.replace(/\/postgres$/, `/${datname}`) });
    await c.connect();
    try {
      await c.query("set lock_timeout = '300ms'");
      const { rows } = await c.query("select 1 from ir_config_parameter where key = 'saas_client.suspended'");
      if (rows.length === 0) out.push(datname);
    } catch (e) {
      if ((e as { code?: string }).code !== '55P03') throw e;
      out.push(datname);
    } finally {
      await c.end();
    }
  }
  return out;
}

beforeAll(async () => {
  // The node stays "healthy" while its agent is down, so the instances made meanwhile are placed on
  // it: what is tested is the agent's recovery, not placement.
  // Both of CREATE DATABASE's strategies are killed mid-copy: FILE_COPY (what a large template gets)
  // on one project, WAL_LOG on the other. The copy is the node's business, whatever the control
  // plane's database, so each project takes one rather than running the file twice.
  const strategy = process.env.HOSTPLANE_TEST_DB === 'postgres' ? 'wal_log' : 'file_copy';
  w = await startInstanceWorld('k', { env: { HOSTPLANE_NODE_UNHEALTHY_SECONDS: '600' }, agentEnv: { HOSTPLANE_AGENT_PG_COPY_STRATEGY: strategy } });
  cp = w.cp;
  w.agent.child.kill('SIGKILL');
  await w.agent.exited;
  const plan = await w.createPlan(`odoo-${w.prefix}`, w.template, 12);
  const missing = await w.createPlan(`missing-${w.prefix}`, `${w.prefix}_no_such_template`, 12);
  broken = await w.createInstance(missing, w.host('broken'));
  await pool(COUNT, 3, async (i) => {
    good[i] = await w.createInstance(plan, w.host(`i${i}`));
  });
}, 180_000);

afterAll(() => w?.close(), 180_000);

describe('kill -9 mid-apply with the db driver', () => {
  it(`${COUNT} new instance databases: the agent killed while copying them, restarted, makes each once and whole; the one with a missing template fails alone`, async () => {
    const names = good.map((i) => i.db);
    expect(await existing([...names, broken.db])).toBe(0);

    await w.startAgent();
    // Inside the batch: some databases made, not all, none reported applied yet (a batch is
    // reported when it ends), and one of them copied without its settings committed. The agent is
    // frozen (SIGSTOP) while that is checked, so the check and the kill see the same moment.
    const reported = async () => (await nodeObjects(cp, w.node.id)).filter((o) => o.applied_version === o.version).length;
    let madeAtKill = 0;
    let halfMade: string[] = [];
    await waitFor(
      async () => {
        if ((await existing(names)) < 3) return undefined;
        w.agent.child.kill('SIGSTOP');
        // What it had already sent (a commit) reaches the server before the check.
        await sleep(100);
        madeAtKill = await existing(names);
        halfMade = await withoutLimits(names);
        if (madeAtKill < COUNT && halfMade.length > 0 && (await reported()) === 0) return true;
        w.agent.child.kill('SIGCONT');
        return undefined;
      },
      120_000,
      () => `${madeAtKill} databases made, ${halfMade.length} without their limits\n${why()}`,
      10,
    );
    w.agent.child.kill('SIGKILL');
    expect((await w.agent.exited).signal).toBe('SIGKILL');
    expect(madeAtKill).toBeGreaterThanOrEqual(3);
    expect(madeAtKill).toBeLessThan(COUNT);
    // What the kill cut off stays cut off until the agent is back: no settings arrive by themselves.
    expect((await withoutLimits(halfMade)).sort()).toEqual([...halfMade].sort());

    const before = await nodeObjects(cp, w.node.id);
    expect(before).toHaveLength(COUNT + 1);
    expect(before.filter((o) => o.applied_version === o.version).length).toBeLessThan(COUNT);

    await w.startAgent();
    const objects = await waitFor(
      async () => {
        const all = await nodeObjects(cp, w.node.id);
        const done = all.filter((o) => o.id !== `db${broken.id}` && o.applied_version === o.version);
        const failed = all.find((o) => o.id === `db${broken.id}`)?.error;
        return done.length === COUNT && failed ? all : undefined;
      },
      180_000,
      why,
      250,
    );
    expect(objects.filter((o) => o.id !== `db${broken.id}`).map((o) => o.error)).toEqual(Array(COUNT).fill(null));
    expect(objects.find((o) => o.id === `db${broken.id}`)!.error).toContain('does not exist');
    expect((await nodeView(cp, w.node.id)).counts).toMatchObject({ placed: COUNT + 1, applied: COUNT, failed: 1, pending: 0 });

    // Each database once, owned by its own role, which logs in; the limit of sessions from its spec;
    // CONNECT for its owner alone (nobody through PUBLIC).
    const rows = await pgAdmin<{ datname: string; owner: string; datconnlimit: number; datallowconn: boolean; rolcanlogin: boolean; public_acl: boolean; owner_connects: boolean }>(
      `select d.datname, pg_get_userbyid(d.datdba) as owner, d.datconnlimit, d.datallowconn, r.rolcanlogin,
         exists (select 1 from aclexplode(d.datacl) a where a.grantee = 0) as public_acl,
         has_database_privilege(r.oid, d.oid, 'CONNECT') as owner_connects
       from pg_database d join pg_roles r on r.oid = d.datdba where d.datname = any($1) order by d.datname`,
      [names],
    );
    const specs = new Map<string, DatabaseSpec>();
    for (const inst of good) specs.set(inst.db, (await desired(inst.id)).spec);
    expect(rows.map((r) => r.datname)).toEqual([...names].sort());
    for (const r of rows) {
      expect(r, r.datname).toEqual({ datname: r.datname, owner: ownerOf(r.datname), datconnlimit: specs.get(r.datname)!.connectionLimit, datallowconn: true, rolcanlogin: true, public_acl: false, owner_connects: true });
    }

    // Inside each: the saas_client limits once each, the spec's users once each (the owner with the
    // hash the control plane holds), and nothing of the template's left owned by the admin.
    const hashes = new Map(
      (await cp.app().deps.db.selectFrom('users').select(['client_id', 'odoo_password_hash']).where('login', '=', 'owner').where('client_id', 'in', good.map((i) => i.id)).execute()).map((u) => [Number(u.client_id), u.odoo_password_hash]),
    );
    for (const inst of good) {
      const spec = specs.get(inst.db)!;
      const params = await pgAdmin<{ key: string; value: string }>("select key, value from ir_config_parameter where key like 'saas\\_client.%' order by key, value", [], inst.db);
      expect(params, inst.db).toEqual([
        { key: 'saas_client.expiration_datetime', value: '' },
        { key: 'saas_client.max_users', value: String(spec.limits.maxUsers) },
        { key: 'saas_client.suspended', value: '0' },
        { key: 'saas_client.total_storage_limit', value: String(spec.limits.storageMb) },
      ]);
      const logins = await pgAdmin<{ login: string; n: number }>('select login, count(*)::int as n from res_users where login = any($1) group by login order by login', [spec.users!.map((u) => u.login)], inst.db);
      expect(logins, inst.db).toEqual(spec.users!.map((u) => ({ login: u.login, n: 1 })).sort((x, y) => x.login.localeCompare(y.login)));
      expect((await pgAdmin<{ password: string }>("select password from res_users where login = 'owner'", [], inst.db))[0]!.password, inst.db).toBe(hashes.get(inst.id));
      // Everything, Hostplane's table of applied password hashes too, is the owner's.
      const notOwned = await pgAdmin<{ relname: string }>(
        "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public' and c.relkind in ('r', 'v', 'S') and pg_get_userbyid(c.relowner) <> $1",
        [ownerOf(inst.db)],
        inst.db,
      );
      expect(notOwned, inst.db).toEqual([]);
    }

    // The instance whose template is missing: no database and no owner role were made for it.
    expect(await existing([broken.db])).toBe(0);
    expect(await pgAdmin('select 1 from pg_roles where rolname = $1', [ownerOf(broken.db)])).toEqual([]);
    // One owner role for each instance's database, none more.
    expect((await pgAdmin<{ n: number }>('select count(*)::int as n from pg_roles where rolname = any($1)', [names.map(ownerOf)]))[0]!.n).toBe(COUNT);
  }, 600_000);
});
