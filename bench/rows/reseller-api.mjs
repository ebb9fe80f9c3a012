// The reseller REST API against bench/floor.mjs (rows 1, 2, 3) and bench/floor-limit.mjs (row 13) on the
// run's main database; rows 5 and 6 (bench/rows/jobs.mjs) run on the same Hostplane process, between rows 2 and 3.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { dbs, tempDirs, freePort, startProcess, stopProcess } from '../lib/children.mjs';
import { request, waitHealthy } from '../lib/http.mjs';
import { memOf, resetPeak, cpuSeconds } from '../lib/proc.mjs';
import { median } from '../lib/stats.mjs';
import { sideBySide } from '../lib/cannon.mjs';
import { notes, fmt, addRow, cpuNote, checkClean } from '../lib/report.mjs';
import { drainQueue, relayMapSize, queueRow, readyRows, mapCostRow } from './jobs.mjs';
import { RELAY_HOSTS, RELAY_STEP, PACKAGE_UID, want, log } from '../lib/core.mjs';

const LIST_CLIENTS = 10_000;
const LIST_REPS = 5;

/**
 * Rows 1, 13, 2, 3, 5 and 6 (and the seeding they share): one Hostplane in PostgreSQL mode and the floor
 * (bench/floor.mjs) on the run's main database, dbName, seeded with LIST_CLIENTS clients of the demo reseller.
 */
export async function resellerApiRows({ parsedUrl, adminUrl, commonEnv, dbName }) {
  {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    dbs.bench = { name: dbName, adminUrl };
    await admin.query(`create database "${dbName}"`);
    await admin.end();
  }
  const dbUrl = new URL(parsedUrl);
  dbUrl.pathname = `/${dbName}`;
  const databaseUrl = dbUrl.toString();
  log(`created database ${dbName}`);

  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostplane-bench-'));
  tempDirs.push(dataDir);

  // --- Hostplane (PostgreSQL mode) and the floor ---------------------------------------------
  const oursPort = await freePort();
  const profDir = process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : undefined;
  const startOurs = async () => {
    const child = startProcess('hostplane', [...(profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []), 'dist/main.js', 'serve'], {
      ...commonEnv,
      DATABASE_URL: databaseUrl,
      PORT: String(oursPort),
      HOSTPLANE_DATA_DIR: dataDir,
      HOSTPLANE_DEMO: 'off',
    });
    await waitHealthy(child, oursPort, 30_000);
    return child;
  };
  let ours = await startOurs();
  const operatorKey = fs.readFileSync(path.join(dataDir, 'operator-key'), 'utf8').trim();
  const demo = await request(oursPort, { method: 'POST', path: '/admin/v1/demo', headers: { authorization: `Bearer ${operatorKey}` } });
  if (demo.status !== 200) throw new Error(`POST /admin/v1/demo answered ${demo.status}: ${demo.body}`);
  const reseller = JSON.parse(demo.body).reseller;
  if (!reseller?.api_token) throw new Error(`POST /admin/v1/demo returned no reseller: ${demo.body}`);
  const auth = { authorization: `Basic ${Buffer.from(`${reseller.api_token}:${reseller.api_key}`).toString('base64')}` };
  log(`hostplane up on :${oursPort}, demo reseller ${reseller.id}`);

  // --- Bench data, straight into the tables ---------------------------------------------------
  const db = new pg.Client({ connectionString: databaseUrl });
  db.on('error', () => {}); // dropping the database on failure ends this connection; the failure is reported already
  await db.connect();
  {
    const t = performance.now();
    const { rows: plan } = await db.query('select id from plans where uid = $1', [PACKAGE_UID]);
    await db.query('begin');
    await db.query(
      `insert into clients (reseller_id, plan_id, name, email_address, user_count, status)
       select $1, $2, 'Bench Client ' || g, 'client' || g || '@bench.test', 1 + g % 50, 'active' from generate_series(1, $3::int) g`,
      [reseller.id, plan[0].id, LIST_CLIENTS],
    );
    await db.query(
      `insert into domains (client_id, reseller_id, name, position, status, mail_servers)
       select c.id, c.reseller_id, 'c' || c.id || '-' || k || '.bench.test', k, 'ready',
              case when k = 0 then array['mail.c' || c.id || '.bench.test'] else '{}'::text[] end
       from clients c cross join generate_series(0, 1) k where c.reseller_id = $1`,
      [reseller.id],
    );
    await db.query(
      `insert into users (role, client_id, reseller_id, login, email, name)
       select 'client_admin', c.id, c.reseller_id, 'admin', c.email_address, 'Administrator' from clients c where c.reseller_id = $1`,
      [reseller.id],
    );
    await db.query('commit');
    // The floors' copy of the jobs table: same columns, defaults, checks, indexes and foreign keys.
    await db.query('create table floor_jobs (like jobs including all)');
    await db.query('alter table floor_jobs add foreign key (client_id) references clients (id) on delete set null, add foreign key (reseller_id) references resellers (id) on delete set null');
    await db.query('analyze');
    log(`seeded ${LIST_CLIENTS} clients / ${2 * LIST_CLIENTS} domains / ${LIST_CLIENTS} users in ${(performance.now() - t).toFixed(0)} ms`);
  }
  const { rows: idRange } = await db.query('select min(id)::int as lo, max(id)::int as hi, count(*)::int as n from clients where reseller_id = $1', [reseller.id]);
  const { lo, hi } = idRange[0];

  const floorPort = await freePort();
  const floor = startProcess('floor', ['bench/floor.mjs'], { ...commonEnv, DATABASE_URL: databaseUrl, PORT: String(floorPort) });
  await waitHealthy(floor, floorPort, 30_000);
  log(`floor up on :${floorPort}`);

  // --- GET /v1/clients helpers (row 2) ---------------------------------------------------------
  const listSql = {
    name: 'bench_list_doc',
    text: `select coalesce(json_agg(json_build_object(
             'id', c.id, 'package_uid', p.uid, 'user_count', c.user_count, 'email_address', c.email_address, 'name', c.name,
             'domains', coalesce((select json_agg(json_build_object(
                 'name', d.name,
                 'mx_records', (select json_agg(json_build_object('priority', r.ord * $3, 'hostname', replace(d.name, '.', '-') || '.' || r.host || '.') order by r.ord)
                                from unnest($2::text[]) with ordinality as r(host, ord)),
                 'mail_servers', d.mail_servers) order by d.position, d.id)
               from domains d where d.client_id = c.id and d.released_at is null), '[]'::json)
           ) order by c.id), '[]'::json)::text as doc
           from clients c left join plans p on p.id = c.plan_id
           where c.reseller_id = $1 and c.status in ('active', 'suspended')`,
    values: [reseller.id, RELAY_HOSTS.split(','), RELAY_STEP],
  };
  const pgDoc = async () => {
    const t = performance.now();
    const { rows: r } = await db.query(listSql);
    return { ms: performance.now() - t, doc: r[0].doc };
  };
  const canReset = resetPeak(ours.pid);
  /** One GET /v1/clients: wall time, server CPU, and peak RSS growth of the server during it. */
  const oursList = async (keepBody = false) => {
    const before = memOf(ours.pid);
    if (canReset) resetPeak(ours.pid);
    const base = memOf(ours.pid);
    let sampledPeak = base.rss;
    const sampler = setInterval(() => {
      sampledPeak = Math.max(sampledPeak, memOf(ours.pid).rss);
    }, 2);
    const cpu0 = cpuSeconds(ours.pid);
    const t = performance.now();
    const res = await request(oursPort, { path: '/v1/clients', headers: auth, keepBody });
    const ms = performance.now() - t;
    const cpu = cpuSeconds(ours.pid) - cpu0;
    clearInterval(sampler);
    const after = memOf(ours.pid);
    if (res.status !== 200) throw new Error(`GET /v1/clients answered ${res.status}`);
    // With clear_refs, VmHWM is the peak since just before the request; without it, the sampled peak.
    const peak = canReset ? after.hwm : Math.max(sampledPeak, after.hwm > before.hwm ? after.hwm : 0);
    return { ms, cpu, bytes: res.bytes, body: res.body, growth: peak - base.rss, baseRss: base.rss, sampledGrowth: sampledPeak - base.rss };
  };

  // Fresh process: the very first request it serves (besides /healthz and the demo seed) is the list.
  let fresh;
  if (want(2)) {
  log('list: first request of a fresh process + correctness check');
  fresh = await oursList(true);
  {
    const pgFirst = await pgDoc();
    const parsed = JSON.parse(fresh.body);
    if (parsed.length !== LIST_CLIENTS) throw new Error(`GET /v1/clients returned ${parsed.length} clients, expected ${LIST_CLIENTS}`);
    if (fresh.body !== JSON.stringify(JSON.parse(pgFirst.doc))) throw new Error('GET /v1/clients and the PostgreSQL json_agg document differ; the comparison would not be like for like');
    fresh.body = undefined;
    fresh.pgBytes = Buffer.byteLength(pgFirst.doc);
  }
  // Restart, so the measured process has served ordinary traffic (row 1) but never the list.
  await stopProcess(ours);
  ours = await startOurs();
  log('hostplane restarted');
  }

  // ============================================================================================
  // Row 1: GET /v1/clients/:id
  if (want(1)) {
    const sample = lo + Math.floor((hi - lo) / 2);
    const [a, b] = await Promise.all([request(oursPort, { path: `/v1/clients/${sample}`, headers: auth }), request(floorPort, { path: `/v1/clients/${sample}`, headers: auth })]);
    if (a.status !== 200 || b.status !== 200) throw new Error(`GET /v1/clients/${sample}: ours ${a.status}, floor ${b.status}`);
    if (JSON.stringify(JSON.parse(a.body)) !== JSON.stringify(JSON.parse(b.body))) throw new Error(`GET /v1/clients/${sample}: ours and floor answer differently:\n${a.body}\n${b.body}`);
    const setupRequest = (req) => ({ ...req, method: 'GET', path: `/v1/clients/${lo + Math.floor(Math.random() * (hi - lo + 1))}` });
    const res = await sideBySide('get', [
      { name: 'ours', port: oursPort, pid: ours.pid, method: 'GET', headers: auth, setupRequest },
      { name: 'floor', port: floorPort, pid: floor.pid, method: 'GET', headers: auth, setupRequest },
    ]);
    checkClean('GET /v1/clients/:id', res);
    const tput = res.ours.rps / res.floor.rps;
    const p99 = res.ours.p99 / res.floor.p99;
    addRow(1, 'GET /v1/clients/:id: throughput', fmt.rps(res.ours.rps), fmt.rps(res.floor.rps), tput, '>= 0.85x', tput >= 0.85);
    addRow(1, 'GET /v1/clients/:id: p99 latency', fmt.ms(res.ours.p99), fmt.ms(res.floor.p99), p99, '<= 1.30x', p99 <= 1.3);
    notes.push({ order: 1, text: `GET /v1/clients/:id: p50 ours ${fmt.ms(res.ours.p50)}, floor ${fmt.ms(res.floor.p50)}; ${cpuNote(res)}; ${res.ours.ok} + ${res.floor.ok} measured requests.` });
  }

  // ============================================================================================
  // Row 13: GET /v1/clients/:id against the limit (bench/floor-limit.mjs: one prepared statement that
  // authenticates and builds the client JSON). Its own server, started only for this row.
  if (want(13)) {
    const limitPort = await freePort();
    const limit = startProcess('floor-limit', ['bench/floor-limit.mjs'], { ...commonEnv, DATABASE_URL: databaseUrl, PORT: String(limitPort) });
    await waitHealthy(limit, limitPort, 30_000);
    log(`limit floor up on :${limitPort}`);
    const sample = lo + Math.floor((hi - lo) / 3);
    const [a, b] = await Promise.all([request(oursPort, { path: `/v1/clients/${sample}`, headers: auth }), request(limitPort, { path: `/v1/clients/${sample}`, headers: auth })]);
    if (a.status !== 200 || b.status !== 200) throw new Error(`GET /v1/clients/${sample}: ours ${a.status}, limit ${b.status}`);
    if (JSON.stringify(JSON.parse(a.body)) !== JSON.stringify(JSON.parse(b.body))) throw new Error(`GET /v1/clients/${sample}: ours and the limit answer differently:\n${a.body}\n${b.body}`);
    const wrongKey = { authorization: `Basic ${Buffer.from(`${Buffer.from(auth.authorization.slice(6), 'base64').toString().split(':')[0]}:wrong`).toString('base64')}` };
    const refused = await request(limitPort, { path: `/v1/clients/${sample}`, headers: wrongKey });
    if (refused.status !== 401) throw new Error(`the limit floor answered ${refused.status} to a wrong key`);
    const setupRequest = (req) => ({ ...req, method: 'GET', path: `/v1/clients/${lo + Math.floor(Math.random() * (hi - lo + 1))}` });
    const res = await sideBySide('limit', [
      { name: 'ours', port: oursPort, pid: ours.pid, method: 'GET', headers: auth, setupRequest },
      { name: 'floor', port: limitPort, pid: limit.pid, method: 'GET', headers: auth, setupRequest },
    ]);
    checkClean('GET /v1/clients/:id against the limit', res);
    await stopProcess(limit);
    const tput = res.ours.rps / res.floor.rps;
    const p99 = res.ours.p99 / res.floor.p99;
    addRow(13, 'GET /v1/clients/:id vs the limit (1 statement): throughput', fmt.rps(res.ours.rps), fmt.rps(res.floor.rps), tput, '>= 0.60x', tput >= 0.6);
    addRow(13, 'GET /v1/clients/:id vs the limit: p99 latency', fmt.ms(res.ours.p99), fmt.ms(res.floor.p99), p99, '<= 1.60x', p99 <= 1.6);
    notes.push({ order: 13, text: `GET /v1/clients/:id against the limit: p50 ours ${fmt.ms(res.ours.p50)}, limit ${fmt.ms(res.floor.p50)}; ${cpuNote(res).replaceAll('floor', 'limit')}; ${res.ours.ok} + ${res.floor.ok} measured requests.` });
  }

  // ============================================================================================
  // Row 2: GET /v1/clients for a reseller with 10,000 clients / 20,000 domains
  if (want(2)) {
    const oursRuns = [];
    const pgRuns = [];
    for (let i = 0; i < LIST_REPS; i++) {
      if (i % 2 === 0) {
        oursRuns.push(await oursList());
        pgRuns.push(await pgDoc());
      } else {
        pgRuns.push(await pgDoc());
        oursRuns.push(await oursList());
      }
    }
    const oursMs = median(oursRuns.map((r) => r.ms));
    const pgMs = median(pgRuns.map((r) => r.ms));
    const size = fresh.bytes;
    const peak = Math.max(...oursRuns.map((r) => r.growth));
    log(`list: ours ${oursRuns.map((r) => r.ms.toFixed(0)).join('/')} ms, pg ${pgRuns.map((r) => r.ms.toFixed(0)).join('/')} ms`);
    log(`list: RSS growth fresh process ${fmt.mb(fresh.growth)}, running server ${oursRuns.map((r) => fmt.mb(r.growth)).join('/')} (2 ms sampling: ${fmt.mb(Math.max(...oursRuns.map((r) => r.sampledGrowth)))})`);
    addRow(2, 'GET /v1/clients (10k clients, 20k domains): time', fmt.ms(oursMs), `${fmt.ms(pgMs)} (PG json_agg)`, oursMs / pgMs, '<= 1.50x', oursMs / pgMs <= 1.5);
    addRow(2, 'GET /v1/clients: peak RSS growth / response size', fmt.mb(peak), `${fmt.mb(size)} (response)`, peak / size, '<= 3.00x', peak / size <= 3);
    addRow(2, '  same, first request of a fresh process', fmt.mb(fresh.growth), `${fmt.mb(size)} (response)`, fresh.growth / size, 'info', undefined);
    notes.push(
      ...[
        `GET /v1/clients: response ${size} bytes; PostgreSQL's document ${fresh.pgBytes} bytes (its json text has spaces; byte-identical to ours once re-serialized); ` +
          `time = median of ${LIST_REPS} requests alternated with the PG query (ours ${oursRuns.map((r) => r.ms.toFixed(0)).join('/')} ms, PG ${pgRuns.map((r) => r.ms.toFixed(0)).join('/')} ms); ` +
          `server CPU per list request ${fmt.ms(median(oursRuns.map((r) => r.cpu)) * 1000)}.`,
        `RSS: ${canReset ? 'VmHWM reset through /proc/<pid>/clear_refs right before each request, growth = VmHWM after - VmRSS before' : 'VmRSS sampled every 2 ms (clear_refs refused), growth = sampled peak - VmRSS before'}; ` +
          `judged row = max over the ${LIST_REPS} requests on the running server (${oursRuns.map((r) => fmt.mb(r.growth)).join(', ')}; it served row 1 before, never the list); ` +
          `a fresh process's first list request grew ${fmt.mb(fresh.growth)} from ${fmt.mb(fresh.baseRss)}.`,
      ].map((text) => ({ order: 2, text })),
    );
  }

  // ============================================================================================
  // Rows 6 and 5: durable jobs. After row 2, so the clients they add do not change the list; before
  // row 3, whose load leaves thousands of provisioned domains in the relay map. Row 6 before row 5:
  // row 5 leaves 40,000 just-finished jobs (80,000 dead row versions until autovacuum comes by) in
  // the jobs table, which slows every claim for a while and would be charged to row 6.
  if (want(6)) await readyRows({ db, port: oursPort, auth, operatorKey, dataDir });
  if (want(5)) await queueRow({ db, databaseUrl, env: commonEnv, oursPid: ours.pid, dataDir });
  {
    const d = await drainQueue(db);
    if (d.pending) throw new Error(`${d.pending} relay jobs were still pending after row 5`);
  }

  // ============================================================================================
  // Row 3: POST /v1/clients with 2 domains
  if (want(3)) {
    let seq = 0;
    const run = crypto.randomBytes(3).toString('hex');
    const body = (prefix) => {
      const n = ++seq;
      return JSON.stringify({
        package_uid: PACKAGE_UID,
        user_count: 5,
        email_address: `post${n}@bench.test`,
        name: `Posted ${n}`,
        domains: [{ name: `${prefix}${run}-${n}-a.bench.test` }, { name: `${prefix}${run}-${n}-b.bench.test` }],
      });
    };
    const headers = { ...auth, 'content-type': 'application/json' };
    const a = await request(oursPort, { method: 'POST', path: '/v1/clients', headers, body: body('h') });
    const b = await request(floorPort, { method: 'POST', path: '/v1/clients', headers, body: body('f') });
    if (a.status !== 201 || b.status !== 201) throw new Error(`POST /v1/clients: ours ${a.status} ${a.body}, floor ${b.status} ${b.body}`);
    const shape = (s) => JSON.stringify(JSON.parse(s), (k, v) => (k === 'id' || k === 'name' || k === 'email_address' || k === 'hostname' ? typeof v : v));
    if (shape(a.body) !== shape(b.body)) throw new Error(`POST /v1/clients: ours and floor answer differently:\n${a.body}\n${b.body}`);
    // Hostplane's worker provisions the new domains in the background, in the same process, while
    // the load runs. After every run (warm-ups included) the bench waits until that queue is empty,
    // so no run inherits the previous one's backlog.
    const backlog = [];
    const afterRun = async (t, phase) => {
      const d = await drainQueue(db);
      if (t.name === 'ours') backlog.push(d);
      if (d.pending) log(`post: after ${t.name} ${phase}: ${d.pending} relay jobs still pending, drained in ${d.ms.toFixed(0)} ms`);
    };
    const mapBefore = relayMapSize(dataDir);
    const res = await sideBySide(
      'post',
      [
        { name: 'ours', port: oursPort, pid: ours.pid, method: 'POST', headers, setupRequest: (req) => ({ ...req, method: 'POST', path: '/v1/clients', body: body('h') }) },
        { name: 'floor', port: floorPort, pid: floor.pid, method: 'POST', headers, setupRequest: (req) => ({ ...req, method: 'POST', path: '/v1/clients', body: body('f') }) },
      ],
      { afterRun },
    );
    checkClean('POST /v1/clients', res);
    const mapAfter = relayMapSize(dataDir);
    const tput = res.ours.rps / res.floor.rps;
    addRow(3, 'POST /v1/clients (2 domains): throughput', fmt.rps(res.ours.rps), fmt.rps(res.floor.rps), tput, '>= 0.75x', tput >= 0.75);
    notes.push({ order: 3, text: `POST /v1/clients: p50 ours ${fmt.ms(res.ours.p50)}, floor ${fmt.ms(res.floor.p50)}; p99 ours ${fmt.ms(res.ours.p99)}, floor ${fmt.ms(res.floor.p99)}; ${cpuNote(res)}.` });
    notes.push({
      order: 3,
      text:
        `POST /v1/clients: ours' worker provisioned the new domains during the load (relay map ${mapBefore.domains} -> ${mapAfter.domains} domains, ${fmt.mb(mapAfter.bytes)}); ` +
        `relay jobs still pending when each ours run stopped (warm-up, rounds): ${backlog.map((d) => d.pending).join(', ')}, drained in ${backlog.map((d) => d.ms.toFixed(0)).join(', ')} ms (not counted in the run's time).`,
    });
  }

  await db.end();
  await stopProcess(ours);
  await stopProcess(floor);

  // Row 6, last: the map rewrite cost, in the bench process with nothing else running.
  if (want(6)) await mapCostRow();
}
