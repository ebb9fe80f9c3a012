// Row 18: SaaS instances as real PostgreSQL databases (issue 16's benchmark), on a database of its own
// (hostplane_bench_<random>_sdb) with a Hostplane of its own and one db node run by a real agent.
//
// A template `<dbName>_tpl` of about BENCH_SAAS_DB_TEMPLATE_MB (default 50) MB, Odoo-shaped
// (ir_config_parameter, res_users and a filler table), is built on the bench's PostgreSQL server.
// Ours: a plan naming that template, a db node whose agent (`hostplane agent --pg-url <the bench's admin
// URL>`, dist/) creates the databases; BENCH_SAAS_DB_INSTANCES (default 100) `create_new_database` calls
// through XML-RPC, one after another on one keep-alive connection as a portal makes them, timed from the
// first call until the control plane records every instance's `database` object applied by the node.
// Floor: a bare loop of `CREATE DATABASE "<x>" TEMPLATE "<tpl>" STRATEGY <s>` over one `pg` connection
// on the same server, as many copies in a row as ours makes, once before ours and once after, with the
// strategy the agent picks for this template (the faster one at this size); PostgreSQL's other strategy
// is timed the same way for the note. Every database, owner role and the template are dropped
// afterwards; on a failure the bench's cleanup drops them (databases through `dbs`, roles through
// `cleanupHooks`).
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { cleanupHooks, dbs, freePort, startProcess, stopProcess, tempDirs } from '../lib/children.mjs';
import { HOST, log, sleep } from '../lib/core.mjs';
import { request, waitHealthy } from '../lib/http.mjs';
import { addRow, fmt, notes } from '../lib/report.mjs';
import { median } from '../lib/stats.mjs';
import { xmlCall, xmlRpcInts } from './saas.mjs';
import { FILE_COPY_FROM_BYTES } from '../../dist/agent/drivers/db/pg-database.driver.js';

const INSTANCES = positiveInt('BENCH_SAAS_DB_INSTANCES', 100);
const TEMPLATE_MB = positiveInt('BENCH_SAAS_DB_TEMPLATE_MB', 50);
const RPC_DB = 'hostplane'; // HOSTPLANE_RPC_DB of the row's server (the default)
const FILLER_ROW_BYTES = 256; // first estimate of one filler row with its index entry; corrected from the measured size

function positiveInt(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a positive integer (got ${JSON.stringify(raw)})`);
  return n;
}

async function withAdmin(adminUrl, fn, database) {
  const url = new URL(adminUrl);
  if (database) url.pathname = `/${database}`;
  const c = new pg.Client({ connectionString: url.toString() });
  c.on('error', () => {}); // a forced drop on failure ends this connection; the failure is reported already
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => {});
  }
}

/**
 * The template: Odoo's parameter table and users, then filler rows until pg_database_size reaches
 * TEMPLATE_MB (an empty database is already 7-8 MB). Vacuumed and checkpointed, and left without sessions (CREATE
 * DATABASE ... TEMPLATE refuses a template others are connected to).
 */
async function buildTemplate(adminUrl, name) {
  const t = performance.now();
  const target = TEMPLATE_MB * 1024 * 1024;
  await withAdmin(adminUrl, async (a) => {
    dbs.saasDbTemplate = { name, adminUrl };
    await a.query(`create database "${name}"`);
  });
  const size = await withAdmin(
    adminUrl,
    async (c) => {
      await c.query(
        `create table ir_config_parameter (id serial primary key, key varchar not null unique, value text);
         insert into ir_config_parameter (key, value) values ('database.uuid', 'template'), ('web.base.url', 'http://localhost:8069'), ('saas_client.max_users', '1');
         create table res_users (id serial primary key, login varchar not null unique, active boolean default true, share boolean default false);
         insert into res_users (login, active, share) select case k when 1 then '__system__' when 2 then 'admin' else 'user' || k || '@example.test' end, k <> 1, k > 2 from generate_series(1, 1000) k;
         create table filler (id bigint primary key, note text not null)`,
      );
      const sizeOf = async () => Number((await c.query('select pg_database_size(current_database())::float8 as b')).rows[0].b);
      let rowBytes = FILLER_ROW_BYTES;
      let inserted = 0;
      let bytes = await sizeOf();
      // At most three rounds: the first from the estimate, the next from the measured bytes per row.
      for (let round = 0; round < 3 && bytes < target * 0.97; round++) {
        const before = bytes;
        const rows = Math.ceil((target - bytes) / rowBytes);
        for (let done = 0; done < rows; done += 100_000) {
          await c.query(`insert into filler (id, note) select k, repeat(md5(k::text), 6) from generate_series($1::int8 + 1, $1::int8 + $2::int8) k`, [inserted + done, Math.min(100_000, rows - done)]);
        }
        inserted += rows;
        await c.query('vacuum (analyze) filler');
        bytes = await sizeOf();
        if (bytes > before) rowBytes = (bytes - before) / rows;
      }
      await c.query('vacuum (analyze)');
      // Written out now, so neither side's first copies pay for flushing the freshly built template.
      await c.query('checkpoint').catch(() => {});
      return sizeOf();
    },
    name,
  );
  return { bytes: size, ms: performance.now() - t };
}

/** The floor: bare copies of the template over one connection, each registered for cleanup first. */
async function floorCreates(adminUrl, template, names, strategy) {
  return withAdmin(adminUrl, async (a) => {
    const t = performance.now();
    for (const n of names) {
      dbs[`saasDbFloor_${n}`] = { name: n, adminUrl };
      await a.query(`create database "${n}" template "${template}" strategy ${strategy}`);
    }
    return performance.now() - t;
  });
}

/**
 * One floor run: `names.length` copies in a row, checked, then dropped (the drop untimed for the
 * ratio). A copy costs more the longer a run of copies goes on (on the machine of docs/benchmarks.md,
 * 77 ms each in runs of 50 against 115 ms in runs of 100), so the floor copies as many in a row as ours.
 */
async function floorRun(adminUrl, template, names, strategy) {
  const ms = await floorCreates(adminUrl, template, names, strategy);
  if ((await existing(adminUrl, names)).length !== names.length) throw new Error(`floor (${strategy}): not every database exists`);
  const dropMs = await dropDatabases(adminUrl, names);
  return { ms, dropMs };
}

async function dropDatabases(adminUrl, names, roles = []) {
  return withAdmin(adminUrl, async (a) => {
    const t = performance.now();
    for (const n of names) {
      await a.query(`drop database if exists "${n}" with (force)`);
      for (const [k, v] of Object.entries(dbs)) if (v?.name === n) dbs[k] = undefined;
    }
    for (const r of roles) await a.query(`drop role if exists "${r}"`);
    return performance.now() - t;
  });
}

/** Which of `names` exist on the server, with their owners. */
async function existing(adminUrl, names) {
  return withAdmin(adminUrl, async (a) => (await a.query('select datname, pg_get_userbyid(datdba) as owner from pg_database where datname = any($1::text[])', [names])).rows);
}

/** Row 18 (see the head of this file). */
export async function saasDatabaseRows({ parsedUrl, adminUrl, commonEnv, dbName }) {
  const load0 = os.loadavg()[0];
  const template = `${dbName}_tpl`;
  const name = `${dbName}_sdb`;
  // What the agent made (saas_<hex> and its role saas_<hex>_owner) goes on any exit path: the instances
  // the bench heard of, and those the control plane committed without its answer arriving (read from its
  // database, which cleanup drops only after this). First, the agent's statements still running on the
  // server (its process is gone, a CREATE DATABASE it sent may not be) are waited out.
  const ownerRoles = new Set();
  const instanceHexes = new Set();
  cleanupHooks.push(async () => {
    if (!ownerRoles.size && !dbs.saasDbServer) return;
    if (dbs.saasDbServer) {
      const rows = await withAdmin(adminUrl, async (c) => (await c.query('select instance_uuid::text as u from clients where instance_uuid is not null')).rows, name).catch(() => []);
      for (const r of rows) instanceHexes.add(r.u.replace(/-/g, ''));
    }
    await withAdmin(adminUrl, async (a) => {
      for (let i = 0; i < 100; i++) {
        const { rows } = await a.query("select count(*)::int as n from pg_stat_activity where application_name = 'hostplane-agent' and query like $1 and state = 'active'", [`%${template}%`]);
        if (!rows[0].n) break;
        await sleep(100);
      }
      for (const hex of instanceHexes) {
        await a.query(`drop database if exists "saas_${hex}" with (force)`).catch(() => {});
        ownerRoles.add(`saas_${hex}_owner`);
      }
      for (const r of ownerRoles) await a.query(`drop role if exists "${r}"`).catch(() => {});
    });
  });

  const tpl = await buildTemplate(adminUrl, template);
  log(`saas databases: template ${template} ${fmt.mb(tpl.bytes)} built in ${fmt.ms(tpl.ms)}`);

  await withAdmin(adminUrl, async (a) => {
    dbs.saasDbServer = { name, adminUrl };
    await a.query(`create database "${name}"`);
  });
  const url = new URL(parsedUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostplane-bench-saasdb-'));
  tempDirs.push(dataDir);
  const port = await freePort();
  const server = startProcess('hostplane-saasdb', ['dist/main.js', 'serve'], { ...commonEnv, DATABASE_URL: databaseUrl, PORT: String(port), HOSTPLANE_DATA_DIR: dataDir, HOSTPLANE_DEMO: 'off', HOSTPLANE_RPC_DB: RPC_DB });
  await waitHealthy(server, port, 30_000);
  const operator = { authorization: `Bearer ${fs.readFileSync(path.join(dataDir, 'operator-key'), 'utf8').trim()}` };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const admin = async (method, route, body, expect) => {
    const r = await request(port, { method, path: route, headers: operator, body, agent });
    if (r.status !== expect) throw new Error(`${method} ${route}: ${r.status} ${r.body.slice(0, 300)}`);
    return JSON.parse(r.body);
  };
  log(`saas databases: database ${name}, hostplane up on :${port}`);

  // The portal administrator, the plan with the template, the db node and its agent.
  const login = 'bench-portal-admin';
  const password = `bench-${crypto.randomBytes(8).toString('hex')}`;
  const { id: uid } = await admin('POST', '/admin/v1/users', { operator: true, login, password }, 201);
  const xml = { 'content-type': 'text/xml' };
  const authed = await request(port, { method: 'POST', path: '/xmlrpc/2/common', headers: xml, body: xmlCall('authenticate', [RPC_DB, login, password, {}]), agent });
  if (authed.status !== 200 || xmlRpcInts(authed.body).join() !== String(uid)) throw new Error(`common.authenticate answered ${authed.status}: ${authed.body.slice(0, 600)} (expected uid ${uid})`);
  const plan = await admin('POST', '/admin/v1/packages', { uid: 'bench-odoo-tpl', name: 'Bench Odoo from a template', template_database: template }, 201);
  const node = await admin('POST', '/admin/v1/nodes', { name: 'bench-db', roles: ['db'] }, 201);
  const agentDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostplane-bench-saasdb-agent-'));
  tempDirs.push(agentDir);
  const agentProc = startProcess('agent (row 18)', ['dist/main.js', 'agent', '--url', `http://${HOST}:${port}`, '--data-dir', agentDir, '--token', node.token, '--pg-url', adminUrl], commonEnv);
  for (const deadline = performance.now() + 60_000; ; ) {
    const v = await admin('GET', `/admin/v1/nodes/${node.id}`, undefined, 200);
    if (v.status === 'healthy') break;
    if (performance.now() > deadline) throw new Error(`db node not healthy after 60 s: ${JSON.stringify(v).slice(0, 600)}\n${agentProc.logTail}`);
    await sleep(200);
  }

  const db = new pg.Client({ connectionString: databaseUrl, statement_timeout: 120_000 });
  db.on('error', () => {}); // dropping the database on failure ends this connection; the failure is reported already
  await db.connect();
  const appliedCount = async () =>
    (await db.query(`select count(*) filter (where applied_version = version)::int as applied, count(*) filter (where error is not null)::int as failed, count(*)::int as n from node_objects where node_id = $1 and kind = 'database'`, [node.id])).rows[0];

  // The floor copies with the strategy the agent's `auto` picks for this template; the other one is timed for the note.
  const strategy = tpl.bytes >= FILE_COPY_FROM_BYTES ? 'file_copy' : 'wal_log';
  const other = strategy === 'file_copy' ? 'wal_log' : 'file_copy';
  const floorNames = (run) => Array.from({ length: INSTANCES }, (_, i) => `${dbName}_f${run}${String(i + 1).padStart(3, '0')}`);
  const floorA = await floorRun(adminUrl, template, floorNames('a'), strategy);
  log(`saas databases: floor before ours, ${INSTANCES} copies (${strategy}) in ${fmt.ms(floorA.ms)}`);

  // Ours: the calls one after another, then until the control plane records every database applied.
  const instances = [];
  const callMs = [];
  const t0 = performance.now();
  for (let i = 1; i <= INSTANCES; i++) {
    const body = xmlCall('execute_kw', [RPC_DB, uid, password, 'saas_portal.plan', 'create_new_database', [plan.id], { dbname: `i${String(i).padStart(3, '0')}.${dbName.replace(/_/g, '-')}.saas.test`, user_id: uid, owner_password: `owner-password-${i}` }]);
    const tc = performance.now();
    const r = await request(port, { method: 'POST', path: '/xmlrpc/2/object', headers: xml, body, agent });
    callMs.push(performance.now() - tc);
    const uuid = /<name>client_id<\/name>\s*<value>(?:<string>)?([0-9a-f-]{36})/.exec(r.body)?.[1];
    const id = /<name>id<\/name>\s*<value><(?:int|i4|i8)>(\d+)</.exec(r.body)?.[1];
    if (r.status !== 200 || r.body.includes('<fault>') || !uuid || !id) throw new Error(`create_new_database ${i} answered ${r.status}: ${r.body.slice(0, 600)}`);
    const hex = uuid.replace(/-/g, '');
    instanceHexes.add(hex);
    const inst = { id: Number(id), database: `saas_${hex}`, owner: `saas_${hex}_owner` };
    dbs[`saasDbOurs_${hex}`] = { name: inst.database, adminUrl };
    ownerRoles.add(inst.owner);
    instances.push(inst);
  }
  const callsMs = performance.now() - t0;
  let last;
  for (const deadline = performance.now() + 900_000; ; ) {
    last = await appliedCount();
    if (last.n === INSTANCES && last.applied === INSTANCES) break;
    if (performance.now() > deadline) throw new Error(`the agent applied ${last.applied} of ${last.n} database objects (${last.failed} with an error) in 15 min\n${agentProc.logTail}`);
    await sleep(20);
  }
  const oursMs = performance.now() - t0;
  log(`saas databases: ours, ${INSTANCES} create_new_database calls in ${fmt.ms(callsMs)}, all applied after ${fmt.ms(oursMs)}`);

  // Untimed checks: the control plane shows every instance's database applied on the node, and each
  // exists on the server, owned by its own role.
  for (const inst of instances) {
    const v = await admin('GET', `/admin/v1/clients/${inst.id}/instance`, undefined, 200);
    if (v.database?.status !== 'applied' || v.database.name !== inst.database || v.database.node !== 'bench-db') throw new Error(`instance ${inst.id}: database ${JSON.stringify(v.database)}`);
  }
  const made = await existing(adminUrl, instances.map((i) => i.database));
  const owners = new Map(made.map((r) => [r.datname, r.owner]));
  if (instances.some((i) => owners.get(i.database) !== i.owner)) throw new Error(`ours: ${made.length} of ${INSTANCES} databases exist with their owner roles`);
  const agentLog = agentProc.logTail;
  await db.end();
  agent.destroy();
  await stopProcess(agentProc, 15_000);
  await stopProcess(server);
  const oursDropMs = await dropDatabases(adminUrl, instances.map((i) => i.database), instances.map((i) => i.owner));
  for (const i of instances) {
    ownerRoles.delete(i.owner);
    instanceHexes.delete(i.database.slice('saas_'.length));
  }

  const floorB = await floorRun(adminUrl, template, floorNames('b'), strategy);
  log(`saas databases: floor after ours, ${INSTANCES} copies (${strategy}) in ${fmt.ms(floorB.ms)}`);
  const otherRun = await floorRun(adminUrl, template, floorNames('c'), other);
  log(`saas databases: the other strategy, ${INSTANCES} copies (${other}) in ${fmt.ms(otherRun.ms)}`);

  await dropDatabases(adminUrl, [name, template]);
  dbs.saasDbServer = undefined;
  dbs.saasDbTemplate = undefined;

  const oursPer = oursMs / INSTANCES;
  const floorPer = (floorA.ms + floorB.ms) / (2 * INSTANCES);
  const ratio = oursPer / floorPer;
  addRow(18, `SaaS: ${INSTANCES} instances from a ${TEMPLATE_MB} MB template, per instance`, fmt.ms(oursPer), `${fmt.ms(floorPer)} (bare CREATE DATABASE ... TEMPLATE ... STRATEGY ${strategy})`, ratio, '<= 1.50x', ratio <= 1.5);
  notes.push({
    order: 18,
    text:
      `Row 18: template ${template} of ${fmt.mb(tpl.bytes)} (pg_database_size after vacuum; ir_config_parameter, res_users of 1,000 rows, a filler table; built in ${fmt.ms(tpl.ms)}). ` +
      `Ours: ${INSTANCES} execute_kw saas_portal.plan.create_new_database calls (dbname, user_id, owner_password) through POST /xmlrpc/2/object, sequential on one keep-alive connection, ` +
      `then until node_objects held every database object applied (polled every 20 ms in the control plane's database) by one db node's real agent (hostplane agent --pg-url, dist/): ` +
      `${fmt.ms(oursMs)} in all; the calls took ${fmt.ms(callsMs)} (p50 ${fmt.ms(median(callMs))}, max ${fmt.ms(Math.max(...callMs))}), the agent finished ${fmt.ms(oursMs - callsMs)} after the last call returned. ` +
      `Each database then checked through GET /admin/v1/clients/{id}/instance (status applied) and pg_database (owner saas_<uuid>_owner). ` +
      `Floor: a bare loop of CREATE DATABASE ... TEMPLATE ... STRATEGY ${strategy} (the agent's choice for a template of this size) over one pg connection, ${INSTANCES} copies in a row before ours and again after (as many in a row as ours): ${fmt.ms(floorA.ms)} and ${fmt.ms(floorB.ms)}. ` +
      `The same loop with STRATEGY ${other}${other === 'wal_log' ? " (PostgreSQL's default)" : ''}, after both: ${fmt.ms(otherRun.ms)}, ${fmt.ms(otherRun.ms / INSTANCES)} per copy. ` +
      `Drops (untimed for the ratio): ours ${INSTANCES} databases + owner roles ${fmt.ms(oursDropMs)}, floor ${fmt.ms(floorA.dropMs + floorB.dropMs + otherRun.dropMs)}. ` +
      `1-min load average ${load0.toFixed(2)} at the row's start, ${os.loadavg()[0].toFixed(2)} at its end.` +
      (/"level":(50|60)/.test(agentLog) ? ' The agent logged errors (see its output).' : ''),
  });
}
