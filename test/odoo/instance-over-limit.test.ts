import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../agent/agent-harness.js';
import { plain, pythonCalls } from '../facades/odoo-rpc/python-xmlrpc.js';
import { waitFor } from '../jobs-process/process-harness.js';
import { startReceiver, type Receiver } from '../webhooks/receiver.js';
import { ADMIN_PASSWORD, OWNER_PASSWORD, pgAdmin, startInstanceWorld, type Instance, type InstanceWorld } from './instance-world.js';

/*
 * An instance going over its plan's limits, measured for real: a control plane on a real port (its
 * job queue delivering webhooks to a real receiver), a real `hostplane agent` (role db) measuring the
 * instance's own PostgreSQL database, and the instance's owner filling it with psql. What the node
 * reports makes the control plane raise site.over_quota and, with the suspend policy, close the
 * database on the server. Every database and role made here is dropped afterwards.
 */

const MB = 1024 * 1024;

let w: InstanceWorld;
let cp: ControlPlane;
let receiver: Receiver;
let adminUid: number;

interface Overview {
  status: string;
  usage: { used_bytes: number; limit_mb: number; exceeded: boolean };
  database: { name: string; owner: string; status: string; size_bytes: number | null; active_users: number | null; sampled_at: string | null };
}

interface OverQuota {
  object: string;
  id: string;
  client_id: number;
  quota: string;
  used_bytes?: number;
  limit_bytes?: number;
  files_bytes?: number;
  databases_bytes?: number;
  used_users?: number;
  limit_users?: number;
}

const overview = (id: number) => w.overview<Overview>(id);
const until = (id: number, ok: (o: Overview) => boolean, what: string) => w.untilOverview<Overview>(id, ok, what);

/** psql as the instance's owner, as its Odoo would connect. */
function psql(inst: Instance, command: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'psql',
      ['-X', '-A', '-t', '-q', '-h', '127.0.0.1', '-p', '5432', '-U', `${inst.db}_owner`, '-d', inst.db, '-v', 'ON_ERROR_STOP=1', '-c', command],
      { env: { PATH: process.env.PATH ?? '', PGPASSWORD: OWNER_PASSWORD, PGCONNECT_TIMEOUT: '10' }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout: stdout.trim(), stderr: stderr.trim() }),
    );
  });
}

/** A saas_portal / saas.config method through Python's xmlrpc.client, as the portal's integrators call it. */
async function portal(model: string, method: string, args: unknown[], kwargs: Record<string, unknown> = {}): Promise<unknown> {
  const [out] = await pythonCalls(`${cp.url}/xmlrpc/2/object`, [{ method: 'execute_kw', args: ['hostplane', adminUid, ADMIN_PASSWORD, model, method, args, kwargs] }]);
  if (!out?.ok) throw new Error(`${model}.${method}: ${JSON.stringify(out)}`);
  return plain(out.ok);
}

const readClient = async (id: number, fields: string[]) => ((await portal('saas_portal.client', 'read', [[id]], { fields })) as Record<string, unknown>[])[0]!;

/** The site.over_quota events raised for the instance, as recorded with the event (one delivery each). */
async function raised(id: number): Promise<OverQuota[]> {
  const rows = await cp.app().deps.db.selectFrom('webhook_deliveries').select(['id', 'payload']).where('event_type', '=', 'site.over_quota').orderBy('id').execute();
  return rows.map((r) => (r.payload as { data: OverQuota }).data).filter((d) => d.id === `db${id}`);
}

/** The site.over_quota events the receiver got for the instance. */
const delivered = (id: number) => receiver.received.filter((r) => r.json.type === 'site.over_quota' && r.json.data.id === `db${id}`).map((r) => r.json.data as unknown as OverQuota);

/** What the server says about the database and its owner. */
async function onServer(inst: Instance): Promise<{ datallowconn: boolean; rolcanlogin: boolean }> {
  const [row] = await pgAdmin<{ datallowconn: boolean; rolcanlogin: boolean }>(
    'select d.datallowconn, r.rolcanlogin from pg_database d, pg_roles r where d.datname = $1 and r.rolname = $2',
    [inst.db, `${inst.db}_owner`],
  );
  return row!;
}

/** About `mb` MB of table or more in the instance's database: rows too short for PostgreSQL to compress them. */
const ballast = (mb: number) => `create table if not exists ballast (v text); insert into ballast select md5(g::text) || md5((g + 1)::text) from generate_series(1, ${mb * 11_000}) g`;

beforeAll(async () => {
  receiver = await startReceiver();
  w = await startInstanceWorld('q', { env: { HOSTPLANE_WEBHOOK_ALLOW_PRIVATE: 'true' }, jobs: true });
  cp = w.cp;
  const hook = await cp.admin('POST', '/admin/v1/webhooks', { url: `${receiver.url}/hooks`, event_types: ['site.over_quota'] });
  expect(hook.status, JSON.stringify(hook.body)).toBe(201);
  const policy = await cp.admin('PATCH', '/admin/v1/settings', { over_quota_policy: 'suspend' });
  expect(policy.status, JSON.stringify(policy.body)).toBe(200);
  const [auth] = await pythonCalls(`${cp.url}/xmlrpc/2/common`, [{ method: 'authenticate', args: ['hostplane', 'admin', ADMIN_PASSWORD, {}] }]);
  adminUid = plain(auth!.ok!) as number;
}, 120_000);

afterAll(async () => {
  await w?.close();
  await receiver?.close();
}, 120_000);

describe("an instance database over its plan's storage limit", () => {
  let inst: Instance;
  let quota: number;
  let planUid: string;

  it('a fresh copy of the template is measured under the limit: no event, the instance stays open', async () => {
    const [tpl] = await pgAdmin<{ n: string }>('select pg_database_size($1)::text as n', [w.template]);
    // A few MB of room above a fresh copy: the owner's writes below take it over.
    quota = Math.ceil(Number(tpl!.n) / MB) + 3;
    planUid = `odoo-${w.prefix}`;
    const plan = await cp.admin<{ id: number }>('POST', '/admin/v1/packages', { uid: planUid, name: `Odoo ${planUid}`, template_database: w.template, service_defaults: { diskquota: { quota } } });
    expect(plan.status, JSON.stringify(plan.body)).toBe(201);
    inst = await w.createInstance(plan.body.id, w.host('s'));

    const o = await until(inst.id, (x) => x.database?.status === 'applied' && x.database.size_bytes !== null, 'first measurement');
    expect(o.usage.limit_mb).toBe(quota);
    expect(o.database.size_bytes!).toBeLessThan(quota * MB);
    expect(o).toMatchObject({ status: 'active', usage: { exceeded: false } });
    expect(await readClient(inst.id, ['state', 'total_storage_limit', 'storage_exceed'])).toEqual({ id: inst.id, state: 'open', total_storage_limit: quota, storage_exceed: false });
    expect(await raised(inst.id)).toEqual([]);
    expect(await onServer(inst)).toEqual({ datallowconn: true, rolcanlogin: true });
  }, 90_000);

  it("the owner's writes take it over: site.over_quota reaches the receiver, the suspend policy closes the database on the server", async () => {
    const filled = await psql(inst, `${ballast(8)}; select count(*) from ballast`);
    expect(filled, filled.stderr).toMatchObject({ code: 0, stdout: String(8 * 11_000) });
    const [real] = await pgAdmin<{ n: string }>('select pg_database_size($1)::text as n', [inst.db]);
    expect(Number(real!.n)).toBeGreaterThan(quota * MB);

    const [event] = await waitFor(async () => (delivered(inst.id).length ? delivered(inst.id) : undefined), 60_000, () => `no site.over_quota delivered\n${w.agent.output().slice(-2000)}`, 200);
    expect(event).toMatchObject({ object: 'database', id: `db${inst.id}`, client_id: inst.id, quota: 'storage', limit_bytes: quota * MB, files_bytes: 0 });
    // What the node measured: the database itself, the whole of the instance's storage here.
    expect(event!.used_bytes).toBe(event!.databases_bytes);
    expect(event!.databases_bytes!).toBeGreaterThan(quota * MB);

    // Suspended, and the node has made it so on the server.
    const o = await until(inst.id, (x) => x.status === 'suspended' && x.database.status === 'applied', 'suspended and applied');
    expect(o.usage.exceeded).toBe(true);
    expect(await readClient(inst.id, ['state', 'storage_exceed'])).toEqual({ id: inst.id, state: 'pending', storage_exceed: true });
    const audit = await cp.admin<{ events: { actor_kind: string; target_id: string; changes: unknown }[] }>('GET', `/admin/v1/audit?action=client.suspended&target_id=${inst.id}`);
    expect(audit.body.events).toHaveLength(1);
    expect(audit.body.events[0]!.actor_kind).toBe('system');
    expect(JSON.stringify(audit.body.events[0]!.changes)).toContain('over quota: storage');

    expect(await onServer(inst)).toEqual({ datallowconn: false, rolcanlogin: false });
    const refused = await psql(inst, 'select 1');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/not currently accepting connections|not permitted to log in/);
    expect(await raised(inst.id)).toHaveLength(1);
  }, 90_000);

  it('resumed while still over, it is not suspended again; back under the limit and over again, a new crossing suspends it again', async () => {
    // The operator resumes it through the portal: the database opens, still over the limit.
    const upgraded = await portal('saas.config', 'do_upgrade_database', [{ params: [{ key: 'saas_client.suspended', value: '0', hidden: true }] }, inst.id]);
    // Its answer is JSON text, as the portal's own: no notes means every change was taken.
    expect(JSON.parse(upgraded as string)).toEqual({ [w.host('s')]: {} });
    const resumedAt = Date.now();
    // Samples taken after the resume: still over, but no new crossing, so no new event and no suspension.
    const o = await until(inst.id, (x) => x.status === 'active' && x.database.status === 'applied' && Date.parse(x.database.sampled_at ?? '') > resumedAt + 1000, 'resumed and sampled again');
    expect(o.usage.exceeded).toBe(true);
    expect(await onServer(inst)).toEqual({ datallowconn: true, rolcanlogin: true });
    expect(await raised(inst.id)).toHaveLength(1);

    // The owner empties the table: measured back under, the instance reads as within its limit.
    expect((await psql(inst, 'drop table ballast')).code).toBe(0);
    const under = await until(inst.id, (x) => x.database.size_bytes !== null && x.database.size_bytes < quota * MB, 'measured back under');
    expect(under).toMatchObject({ status: 'active', usage: { exceeded: false } });
    expect(await readClient(inst.id, ['state', 'storage_exceed'])).toEqual({ id: inst.id, state: 'open', storage_exceed: false });
    expect(await raised(inst.id)).toHaveLength(1);

    // Over again: a second crossing, a second event, suspended again.
    expect((await psql(inst, ballast(8))).code).toBe(0);
    await waitFor(async () => ((await raised(inst.id)).length === 2 ? true : undefined), 60_000, () => `no second site.over_quota\n${w.agent.output().slice(-2000)}`, 200);
    expect((await raised(inst.id))[1]).toMatchObject({ quota: 'storage', limit_bytes: quota * MB });
    await until(inst.id, (x) => x.status === 'suspended' && x.database.status === 'applied', 'suspended again');
    expect(await onServer(inst)).toEqual({ datallowconn: false, rolcanlogin: false });
    await waitFor(async () => (delivered(inst.id).length === 2 ? true : undefined), 30_000, () => `second event not delivered: ${receiver.received.length} received`, 200);
  }, 120_000);
});

describe("an instance over its plan's users", () => {
  it('a user the instance adds itself past users,max is counted by the node: site.over_quota for users, suspended', async () => {
    const plan = await cp.admin<{ id: number }>('POST', '/admin/v1/packages', { uid: `odoo-users-${w.prefix}`, name: 'Odoo two users', template_database: w.template, limits: { max_users: 2 } });
    expect(plan.status, JSON.stringify(plan.body)).toBe(201);
    const inst = await w.createInstance(plan.body.id, w.host('u'));
    // The template's admin and the owner the node added: at the limit, not over it.
    await until(inst.id, (x) => x.database?.active_users === 2, 'two active users');
    expect((await overview(inst.id)).status).toBe('active');
    expect(await raised(inst.id)).toEqual([]);

    // Odoo adds an internal user in its own database.
    const added = await psql(inst, "with p as (insert into res_partner (name, lang) values ('Stock', 'en_US') returning id) insert into res_users (login, active, company_id, partner_id, share, notification_type) select 'stock', true, 1, id, false, 'email' from p");
    expect(added, added.stderr).toMatchObject({ code: 0 });
    const [event] = await waitFor(async () => (delivered(inst.id).length ? delivered(inst.id) : undefined), 60_000, () => `no site.over_quota delivered\n${w.agent.output().slice(-2000)}`, 200);
    expect(event).toEqual({ object: 'database', id: `db${inst.id}`, client_id: inst.id, reseller_id: null, quota: 'users', used_users: 3, limit_users: 2 });
    await until(inst.id, (x) => x.status === 'suspended' && x.database.status === 'applied', 'suspended and applied');
    expect(await readClient(inst.id, ['state', 'users_len', 'max_users'])).toEqual({ id: inst.id, state: 'pending', users_len: 3, max_users: '2' });
    const audit = await cp.admin<{ events: { changes: unknown }[] }>('GET', `/admin/v1/audit?action=client.suspended&target_id=${inst.id}`);
    expect(JSON.stringify(audit.body.events.map((e) => e.changes))).toContain('over quota: users');
    expect(await onServer(inst)).toEqual({ datallowconn: false, rolcanlogin: false });
    expect((await psql(inst, 'select 1')).code).toBe(2);
  }, 90_000);
});
