// SaaS instances (row 9): the Odoo XML-RPC door, on a database of its own holding 100,000 instances.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { pathToFileURL } from 'node:url';
import { Kysely, PostgresDialect } from 'kysely';
import { dbs, tempDirs, freePort, startProcess, stopProcess } from '../lib/children.mjs';
import { request, waitHealthy } from '../lib/http.mjs';
import { cpuSeconds } from '../lib/proc.mjs';
import { median, percentile } from '../lib/stats.mjs';
import { notes, fmt, addRow } from '../lib/report.mjs';
import { ROOT, log } from '../lib/core.mjs';
import { summarizePlan } from './sites.mjs';

const SAAS_INSTANCES = 100_000; // row 9: instances (clients from a SaaS plan) bulk-inserted into the row's own database
const SAAS_WARMUP = 200; // row 9: untimed request pairs (XML-RPC search, REST lookup)
const SAAS_PAIRS = 2000; // row 9: timed request pairs, one request at a time, a random instance per pair
const SAAS_SCAN_REQS = 20; // row 9: GET /admin/v1/clients?q=<name> requests (info: the operator API's substring search)
const RPC_DB = 'hostplane'; // row 9: HOSTPLANE_RPC_DB of its server (the default)

/** An XML-RPC <value> of the few types row 9 sends (strings, integers, arrays, structs). */
function xmlValue(v) {
  if (Array.isArray(v)) return `<value><array><data>\n${v.map((x) => `${xmlValue(x)}\n`).join('')}</data></array></value>`;
  if (Number.isSafeInteger(v)) return `<value><int>${v}</int></value>`;
  if (v && typeof v === 'object') return `<value><struct>\n${Object.entries(v).map(([k, x]) => `<member>\n<name>${xmlText(k)}</name>\n${xmlValue(x)}\n</member>\n`).join('')}</struct></value>`;
  return `<value><string>${xmlText(String(v))}</string></value>`;
}
const xmlText = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
/** A methodCall laid out as Python's xmlrpc.client writes it. */
export const xmlCall = (method, params) => `<?xml version='1.0'?>\n<methodCall>\n<methodName>${method}</methodName>\n<params>\n${params.map((p) => `<param>\n${xmlValue(p)}\n</param>\n`).join('')}</params>\n</methodCall>\n`;
/** The integers of a methodResponse (a fault, or anything but a response, is an error). */
export function xmlRpcInts(body) {
  if (!/<methodResponse>\s*<params>/.test(body) || body.includes('<fault>')) throw new Error(`XML-RPC answered ${body.slice(0, 600)}`);
  return [...body.matchAll(/<(int|i4|i8)>\s*(-?\d+)\s*<\/\1>/g)].map((m) => Number(m[2]));
}

/** Node types from the top of a plan down, with the index each scan uses: `Limit > Sort > Index Scan (x_idx)`. */
function planShape(node) {
  const out = [];
  const walk = (n) => {
    out.push(n['Index Name'] ? `${n['Node Type']} (${n['Index Name']})` : n['Node Type']);
    for (const c of n.Plans ?? []) walk(c);
  };
  walk(node);
  return out.join(' > ');
}

/**
 * EXPLAIN (ANALYZE, BUFFERS) of one statement with its parameters (the custom plan PostgreSQL makes for
 * those values), and as the generic plan (PREPARE + plan_cache_mode = force_generic_plan) that a named
 * prepared statement may settle on after five executions.
 */
async function explainStatement(db, text, parameters) {
  const { rows } = await db.query(`explain (analyze, buffers, format json) ${text}`, parameters);
  const customPlan = rows[0]['QUERY PLAN'][0];
  const literal = (p) => (typeof p === 'number' ? String(p) : db.escapeLiteral(String(p)));
  await db.query(`prepare bench_plan as ${text}`);
  try {
    await db.query('set plan_cache_mode = force_generic_plan');
    const { rows: g } = await db.query(`explain (analyze, buffers, format json) execute bench_plan(${parameters.map(literal).join(', ')})`);
    const genericPlan = g[0]['QUERY PLAN'][0];
    return { custom: { ...summarizePlan(customPlan), shape: planShape(customPlan.Plan) }, generic: { ...summarizePlan(genericPlan), shape: planShape(genericPlan.Plan) } };
  } finally {
    await db.query('reset plan_cache_mode');
    await db.query('deallocate bench_plan');
  }
}

/**
 * Row 9 seed: SAAS_INSTANCES instances as `create_new_database` makes them (saas.repository.ts
 * insertInstance), with SQL: one portal account per instance (its owner), the client (plan, name from
 * the plan's "DB Names" template, instance_uuid, owner_user_id, no user limit), its host name as its
 * domain (ready: no relay job is seeded) and its two users inside (admin, and the owner). Unlike
 * create_new_database, the clients belong to a reseller, so the reseller REST API can look the same
 * record up by name; the search's SQL never reads reseller_id. Then vacuum + analyze and a checkpoint.
 */
async function seedInstances(db, { planId, resellerId, passwordHash }) {
  const t = performance.now();
  await db.query('begin');
  await db.query(
    `insert into users (role, client_id, reseller_id, login, name, email, password_hash)
     select 'portal', null, null, 'owner' || k || '@bench.test', 'Owner ' || k, 'owner' || k || '@bench.test', $2 from generate_series(1, $1::int) k`,
    [SAAS_INSTANCES, passwordHash],
  );
  await db.query(
    `insert into clients (reseller_id, plan_id, name, email_address, user_count, status, service_meta, instance_uuid, owner_user_id)
     select $1, $2, 'db-' || lpad(k::text, greatest(3, length(k::text)), '0') || '.saas.hostplane.test', o.login, 0, 'active', '{}', gen_random_uuid(), o.id
     from generate_series(1, $3::int) k join users o on lower(o.login) = 'owner' || k || '@bench.test' and o.client_id is null`,
    [resellerId, planId, SAAS_INSTANCES],
  );
  await db.query(`insert into domains (client_id, reseller_id, name, position, status) select c.id, c.reseller_id, c.name, 0, 'ready' from clients c where c.instance_uuid is not null`);
  await db.query(
    `insert into users (role, client_id, reseller_id, login, email, name, password_hash)
     select 'client_admin', c.id, null::bigint, 'admin', null, 'Administrator', $1 from clients c where c.instance_uuid is not null
     union all
     select 'end_user', c.id, null::bigint, o.login, c.email_address, o.name, $1 from clients c join users o on o.id = c.owner_user_id where c.instance_uuid is not null`,
    [passwordHash],
  );
  await db.query('select setval($1, $2)', ['saas_dbname_seq', SAAS_INSTANCES]); // the next create_new_database continues after them
  await db.query('commit');
  const insertMs = performance.now() - t;
  await db.query('vacuum (analyze) clients, domains, users');
  await db.query('checkpoint').catch(() => {}); // as seedSites
  return { insertMs, ms: performance.now() - t };
}

/**
 * Row 9: `execute_kw` `saas_portal.client.search` with `[['name', '=', <name>]]` (POST /xmlrpc/2/object,
 * an operator user's uid + password) against the reseller REST lookup of the same record by name
 * (GET /v1/domains/<name>/client), on one Hostplane and a database of SAAS_INSTANCES instances. Pairs
 * of requests, one at a time on one keep-alive connection, a random instance per pair, the side going
 * first alternating; SAAS_WARMUP untimed pairs, then SAAS_PAIRS timed; every answer checked.
 */
export async function saasRow({ parsedUrl, adminUrl, commonEnv, dbName }) {
  const name = `${dbName}_saas`;
  {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    dbs.saas = { name, adminUrl };
    await admin.query(`create database "${name}"`);
    await admin.end();
  }
  const url = new URL(parsedUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostplane-bench-saas-'));
  tempDirs.push(dataDir);
  const port = await freePort();
  const server = startProcess('hostplane-saas', ['dist/main.js', 'serve'], {
    ...commonEnv,
    DATABASE_URL: databaseUrl,
    PORT: String(port),
    HOSTPLANE_DATA_DIR: dataDir,
    HOSTPLANE_DEMO: 'off',
    HOSTPLANE_RPC_DB: RPC_DB,
  });
  await waitHealthy(server, port, 30_000);
  const operator = { authorization: `Bearer ${fs.readFileSync(path.join(dataDir, 'operator-key'), 'utf8').trim()}` };
  log(`saas: database ${name}, hostplane up on :${port}`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  // The portal administrator (an operator user) and a reseller, through the operator API.
  const login = 'bench-portal-admin';
  const password = `bench-${crypto.randomBytes(8).toString('hex')}`;
  const created = await request(port, { method: 'POST', path: '/admin/v1/users', headers: operator, body: { operator: true, login, password }, agent });
  if (created.status !== 201) throw new Error(`POST /admin/v1/users answered ${created.status}: ${created.body}`);
  const uid = JSON.parse(created.body).id;
  const xml = { 'content-type': 'text/xml' };
  const authed = await request(port, { method: 'POST', path: '/xmlrpc/2/common', headers: xml, body: xmlCall('authenticate', [RPC_DB, login, password, {}]), agent });
  if (authed.status !== 200 || xmlRpcInts(authed.body).join() !== String(uid)) throw new Error(`common.authenticate answered ${authed.status}: ${authed.body.slice(0, 600)} (expected uid ${uid})`);
  const res = await request(port, { method: 'POST', path: '/admin/v1/resellers', headers: operator, body: { name: 'Bench SaaS Reseller', email_address: 'saas-reseller@bench.test', username: 'bench-saas' }, agent });
  if (res.status !== 201) throw new Error(`POST /admin/v1/resellers answered ${res.status}: ${res.body}`);
  const reseller = JSON.parse(res.body);
  const basic = `Basic ${Buffer.from(`${reseller.api_token}:${reseller.api_key}`).toString('base64')}`;

  const db = new pg.Client({ connectionString: databaseUrl, statement_timeout: 120_000 });
  db.on('error', () => {}); // dropping the database on failure ends this connection; the failure is reported already
  await db.connect();
  const { rows: plan } = await db.query("select id, dbname_template from plans where uid = 'basic'");
  if (!plan.length || plan[0].dbname_template !== 'db-%i.saas.hostplane.test') throw new Error(`plan basic with its DB Names template (migration 0008) not found: ${JSON.stringify(plan)}`);
  const { hashPassword } = await import(pathToFileURL(path.join(ROOT, 'dist/core/shared/passwords.js')).href);
  const seed = await seedInstances(db, { planId: plan[0].id, resellerId: reseller.id, passwordHash: await hashPassword('bench-owner-password') });
  const { rows: instances } = await db.query('select id::int as id, name from clients where instance_uuid is not null order by id');
  if (instances.length !== SAAS_INSTANCES) throw new Error(`saas: ${instances.length} instances seeded, expected ${SAAS_INSTANCES}`);
  const { rows: counts } = await db.query(
    `select (select count(*) from users)::int as users, (select count(*) from domains)::int as domains,
            (pg_total_relation_size('clients') + pg_total_relation_size('domains') + pg_total_relation_size('users'))::float8 as bytes`,
  );
  log(`saas: ${SAAS_INSTANCES} instances inserted in ${fmt.ms(seed.insertMs)} (${fmt.ms(seed.ms)} with vacuum, analyze and checkpoint)`);

  const search = (n) => xmlCall('execute_kw', [RPC_DB, uid, password, 'saas_portal.client', 'search', [[['name', '=', n]]]]);
  const cpu = { rpc: 0, rest: 0 };
  const rpc = async (inst) => {
    const body = search(inst.name);
    const c0 = cpuSeconds(server.pid);
    const t = performance.now();
    const r = await request(port, { method: 'POST', path: '/xmlrpc/2/object', headers: xml, body, agent });
    const ms = performance.now() - t;
    cpu.rpc += cpuSeconds(server.pid) - c0;
    const ids = r.status === 200 ? xmlRpcInts(r.body) : [];
    if (ids.length !== 1 || ids[0] !== inst.id) throw new Error(`saas_portal.client.search [['name', '=', '${inst.name}']] answered ${r.status}: ${r.body.slice(0, 600)} (expected [${inst.id}])`);
    return ms;
  };
  const restPath = (inst) => `/v1/domains/${encodeURIComponent(inst.name)}/client`;
  const rest = async (inst) => {
    const p = restPath(inst);
    const c0 = cpuSeconds(server.pid);
    const t = performance.now();
    const r = await request(port, { path: p, headers: { authorization: basic }, agent });
    const ms = performance.now() - t;
    cpu.rest += cpuSeconds(server.pid) - c0;
    const c = r.status === 200 ? JSON.parse(r.body) : undefined;
    if (c?.id !== inst.id || c.name !== inst.name || c.domains?.length !== 1 || c.domains[0].name !== inst.name) throw new Error(`GET ${p} answered ${r.status}: ${r.body.slice(0, 600)} (expected client ${inst.id})`);
    return ms;
  };
  const pick = () => instances[Math.floor(Math.random() * instances.length)];
  const times = { rpc: [], rest: [] };
  const pair = async (i, keep) => {
    const inst = pick();
    const [a, b] = i % 2 === 0 ? ['rpc', 'rest'] : ['rest', 'rpc'];
    const ta = await (a === 'rpc' ? rpc(inst) : rest(inst));
    const tb = await (b === 'rpc' ? rpc(inst) : rest(inst));
    if (keep) {
      times[a].push(ta);
      times[b].push(tb);
    }
  };
  for (let i = 0; i < SAAS_WARMUP; i++) await pair(i, false);
  cpu.rpc = 0;
  cpu.rest = 0;
  globalThis.gc?.();
  const t0 = performance.now();
  for (let i = 0; i < SAAS_PAIRS; i++) await pair(i, true);
  const loopMs = performance.now() - t0;

  // Info: the operator API's search by text, GET /admin/v1/clients?q=<name> (a substring match over
  // name, email and domains), for a few random instances.
  const scan = [];
  for (let i = 0; i < SAAS_SCAN_REQS; i++) {
    const inst = pick();
    const t = performance.now();
    const r = await request(port, { path: `/admin/v1/clients?q=${encodeURIComponent(inst.name)}`, headers: operator, agent });
    scan.push(performance.now() - t);
    if (r.status !== 200 || !JSON.parse(r.body).clients.some((c) => c.id === inst.id)) throw new Error(`GET /admin/v1/clients?q=${inst.name} answered ${r.status}: ${r.body.slice(0, 600)}`);
  }

  // The plan: the SQL the search compiles to, taken from the code `serve` runs (dist/): the domain
  // parsed by parseOdooQuery and run by searchRecords on a Kysely instance that records its queries.
  const { searchRecords } = await import(pathToFileURL(path.join(ROOT, 'dist/core/saas/saas.records.js')).href);
  const { parseOdooQuery } = await import(pathToFileURL(path.join(ROOT, 'dist/facades/odoo-rpc/odoo-domain.js')).href);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  const queries = [];
  const kysely = new Kysely({ dialect: new PostgresDialect({ pool }), log: (e) => e.level === 'query' && queries.push(e.query) });
  let explained;
  let compiled;
  try {
    const inst = pick();
    // (this pool has pg's default int8 parser, so the ids come back as strings)
    const ids = await searchRecords({ db: kysely, actor: { kind: 'operator', keyId: null } }, 'saas_portal.client', parseOdooQuery([['name', '=', inst.name]]));
    if (queries.length !== 1 || ids.length !== 1 || Number(ids[0]) !== inst.id) throw new Error(`searchRecords for ${inst.name}: ${queries.length} queries, ids ${JSON.stringify(ids)} (expected [${inst.id}])`);
    compiled = queries[0];
    explained = await explainStatement(db, compiled.sql, compiled.parameters);
  } finally {
    await kysely.destroy();
  }
  await db.end();
  agent.destroy();
  await stopProcess(server);
  {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`drop database "${name}" with (force)`);
    await admin.end();
    dbs.saas = undefined;
  }

  const p = (side, q) => percentile(times[side], q);
  const ratio = p('rpc', 50) / p('rest', 50);
  const p99 = p('rpc', 99) / p('rest', 99);
  log(`saas: search p50 ${fmt.ms(p('rpc', 50))} p99 ${fmt.ms(p('rpc', 99))}; REST p50 ${fmt.ms(p('rest', 50))} p99 ${fmt.ms(p('rest', 99))}; plan ${explained.custom.shape}`);
  addRow(9, `execute_kw saas_portal.client.search by name, ${SAAS_INSTANCES / 1000}k instances: p50`, fmt.ms(p('rpc', 50)), `${fmt.ms(p('rest', 50))} (REST by name)`, ratio, '<= 1.30x', ratio <= 1.3);
  addRow(9, '  same, p99', fmt.ms(p('rpc', 99)), fmt.ms(p('rest', 99)), p99, 'info', undefined);
  addRow(9, '  operator API GET /admin/v1/clients?q=<name>: p50', fmt.ms(median(scan)), '-', undefined, 'info', undefined);
  const planText = (x) => `${x.shape}; ${x.rows} table rows read, ${x.buffers} buffers (${x.read} not in shared_buffers), ${x.ms.toFixed(3)} ms`;
  notes.push(
    ...[
      `SaaS search: ${SAAS_WARMUP} untimed then ${SAAS_PAIRS} timed pairs in ${(loopMs / 1000).toFixed(1)} s, one request at a time on one keep-alive connection, a random instance per pair, the first side alternating; ` +
        `ours = POST /xmlrpc/2/object execute_kw(${RPC_DB}, uid, password, 'saas_portal.client', 'search', [[['name', '=', <name>]]]) by an operator user, each answer checked to be exactly [id]; ` +
        `REST = GET /v1/domains/<name>/client (reseller Basic auth), each answer checked to be that client; ` +
        `p50 / p99 / max: ours ${fmt.ms(p('rpc', 50))} / ${fmt.ms(p('rpc', 99))} / ${fmt.ms(Math.max(...times.rpc))}, REST ${fmt.ms(p('rest', 50))} / ${fmt.ms(p('rest', 99))} / ${fmt.ms(Math.max(...times.rest))}; ` +
        `server CPU per request (/proc, read around each request) ours ${((cpu.rpc / SAAS_PAIRS) * 1e6).toFixed(0)} us, REST ${((cpu.rest / SAAS_PAIRS) * 1e6).toFixed(0)} us.`,
      `SaaS seeding (dedicated database, plan basic): ${SAAS_INSTANCES} portal accounts, instances, domains and 2 users inside each, inserted in ${(seed.insertMs / 1000).toFixed(1)} s (${(seed.ms / 1000).toFixed(1)} s with vacuum, analyze and checkpoint); ` +
        `${counts[0].users} users, ${counts[0].domains} domains; clients + domains + users with indexes ${fmt.mb(counts[0].bytes)}. ` +
        `Operator API substring search GET /admin/v1/clients?q=<name>, ${SAAS_SCAN_REQS} requests after the pairs: p50 ${fmt.ms(median(scan))}, max ${fmt.ms(Math.max(...scan))}.`,
      `SaaS search plan (EXPLAIN ANALYZE, BUFFERS of the SQL searchRecords runs, from dist/): ${compiled.sql.replace(/\s+/g, ' ')} with ${JSON.stringify(compiled.parameters.map((v) => (typeof v === 'string' && v.endsWith('.saas.hostplane.test') ? '<name>' : v)))}; ` +
        `custom plan: ${planText(explained.custom)}; generic plan: ${planText(explained.generic)}.`,
    ].map((text) => ({ order: 9, text })),
  );
}
