// `npm run bench`: Hostplane against a "floor" (bare Fastify + plain `pg` prepared statements, see
// bench/floor.mjs), measured side by side in the same run, printed as ONE table of ratios.
// docs/benchmarks.md explains every row. Only 127.0.0.1 is targeted; the bench creates a fresh
// database hostplane_bench_<random> on the PostgreSQL server of DATABASE_URL (default
// postgres://postgres@127.0.0.1:5432/postgres) and drops it at the end, also on failure.
//
// Rows 5 and 6 (durable jobs) run on the same Hostplane process, whose job worker is on (the default):
// queue throughput against bench/queue-floor.mjs (raw SKIP LOCKED claims on a copy of the jobs
// table), and the time from POST /v1/clients to the domain's `ready` status with the postfix-maps
// relay driver.
//
// Rows 7 and 8 (sites, the ApisCP door) run last, on a second database hostplane_bench_<random>_sites
// with a Hostplane of its own: admin:collect by parent_invoice while the sites table grows to 1M rows,
// and suspending a 10,000-site group against the bare SQL UPDATE of the same rows.
//
// Row 9 (SaaS instances, the Odoo XML-RPC door) runs before them, on a third database
// hostplane_bench_<random>_saas with a Hostplane of its own: execute_kw saas_portal.client.search by
// name among 100,000 instances, interleaved with the reseller REST lookup of the same record by name.
//
// Rows 10 and 11 (REMP CRM family codes) run after row 9, on a fourth database hostplane_bench_<random>_crm
// with a Hostplane of its own: a parent subscription generating 1,000 codes (POST /api/v1/subscriptions/create)
// against a bare pg transaction inserting the same rows, and family/activate under 50 concurrent users
// (against a bare pg pool doing the same writes) plus the single-code race (exactly one success, or the bench fails).
//
// Optional environment: BENCH_ROWS=5,6 runs only those rows (the seeding they need still happens);
// the table then says which rows it left out. BENCH_CPU_PROF=<dir> starts Hostplane (PostgreSQL mode) with --cpu-prof
// writing its profile to <dir> when it stops, to see where the time goes.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { mixedLoadRow } from './mixed-load.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const HOST = '127.0.0.1';
const CONNECTIONS = 10;
const WARMUP_S = 2;
const ROUND_S = 3;
const ROUNDS = 4;
const LIST_CLIENTS = 10_000;
const LIST_REPS = 5;
const RESTARTS = 5;
const RELAY_HOSTS = 'relay1.hostplane.test,relay2.hostplane.test';
const RELAY_STEP = 10;
const PACKAGE_UID = 'spamstopshere-standard';
const QUEUE_JOBS = 20_000; // no-op relay.apply jobs per queue run (row 5)
const QUEUE_ROUNDS = 2; // alternating: ours, floor, then floor, ours
const QUEUE_BATCH = 1000; // the relay handler's maxBatch; the floor claims as many per statement
const READY_ONE = 30; // clients created one at a time, 1 domain each (row 6)
const READY_GAP_MS = 500; // random 0..500 ms pause before each (about two of the worker's 250 ms poll cycles), so arrivals do not lock onto its phase
const READY_BURST = 1000; // clients created at once, 1 domain each (row 6)
const READY_BURST_CONC = 10; // POSTs in flight during the burst
const MAP_SIZES = [1_000, 10_000, 100_000]; // postfix-maps rewrite cost, measured on synthetic maps of these sizes
const MAP_REPS = 3;
const DRAIN_LIMIT_MS = 60_000; // longest wait for Hostplane's queue to empty
const SITES_SIZES = [10_000, 100_000, 1_000_000]; // row 7: the sites table grows through these sizes
const SITES_GROUP = 10; // row 7: sites per parent_invoice group (all subordinates)
const COLLECT_WARMUP = 20; // row 7: untimed admin:collect requests at each size
const COLLECT_REQS = 200; // row 7: timed admin:collect requests at each size, one at a time
const BIG_GROUP = 10_000; // row 8: sites in the group that is suspended (1 master + 9,999 subordinates)
const BIG_INVOICE = 'big-group';
const SUSPEND_ROUNDS = 5; // row 8: alternating rounds (ours, floor, then floor, ours, ...), one timed run per side each
const SAAS_INSTANCES = 100_000; // row 9: instances (clients from a SaaS plan) bulk-inserted into the row's own database
const SAAS_WARMUP = 200; // row 9: untimed request pairs (XML-RPC search, REST lookup)
const SAAS_PAIRS = 2000; // row 9: timed request pairs, one request at a time, a random instance per pair
const SAAS_SCAN_REQS = 20; // row 9: GET /admin/v1/clients?q=<name> requests (info: the operator API's substring search)
const RPC_DB = 'hostplane'; // row 9: HOSTPLANE_RPC_DB of its server (the default)
const FAMILY_CODES = 1000; // row 10: the family type's count, codes generated with each parent subscription
const PARENT_WARMUP = 2; // row 10: untimed runs per side
const PARENT_ROUNDS = 7; // row 10: alternating rounds (ours, floor, then floor, ours, ...), one timed run per side each
const ACT_CONC = 50; // row 11: activations in flight, each by a user of its own on a code of its own
const ACT_WARMUP = 200; // row 11: untimed activations per side
const ACT_PER_ROUND = 1000; // row 11: activations per timed round (all the codes of one parent subscription)
const ACT_ROUNDS = 4; // row 11: alternating rounds per side
const ACT_POOL = 10; // row 11: the floor's pg pool, the size of Hostplane's
const RACE_USERS = 100; // row 11: concurrent activations of one code, by as many users
const RACE_REPS = 5; // row 11: races, each on a fresh code

const ONLY_ROWS = process.env.BENCH_ROWS ? new Set(process.env.BENCH_ROWS.split(',').map(Number)) : undefined;
const want = (row) => !ONLY_ROWS || ONLY_ROWS.has(row);
// Row 7 seeds 1M sites (about 25 s on the machine of docs/benchmarks.md); with it the bench gets two more minutes.
// Row 9 seeds 100,000 instances (25-35 s on a busy machine) and times 4,400 requests (about 30 s).
// Rows 10 and 11 create about 30 parent subscriptions of 1,000 codes and time 9,000 activations.
// Row 12 seeds two servers and runs about 70 s of load.
const TIME_LIMIT_MS = 300_000 + (want(7) ? 120_000 : 0) + (want(9) ? 90_000 : 0) + (want(10) || want(11) ? 120_000 : 0) + (want(12) ? 150_000 : 0);

const startedAt = performance.now();
const loadAtStart = os.loadavg()[0];
const log = (msg) => process.stderr.write(`bench [${((performance.now() - startedAt) / 1000).toFixed(1)}s] ${msg}\n`);

// ---------------------------------------------------------------------------------------------
// Resources and cleanup: every child, the database and the temp dirs go away on any exit path.

const children = new Set();
const tempDirs = [];
let benchDb; // { name, adminUrl }
let sitesDb; // rows 7 and 8: { name, adminUrl }
let saasDb; // row 9: { name, adminUrl }
let crmDb; // rows 10 and 11: { name, adminUrl }
let mixedDb; // row 12: { name, adminUrl }
let cleaningUp;

async function cleanup() {
  cleaningUp ??= (async () => {
    await Promise.all([...children].map((c) => stopProcess(c, 5000).catch(() => {})));
    for (const d of [benchDb, sitesDb, saasDb, crmDb, mixedDb]) {
      if (!d) continue;
      const admin = new pg.Client({ connectionString: d.adminUrl });
      try {
        await admin.connect();
        await admin.query(`drop database if exists "${d.name}" with (force)`);
      } catch (e) {
        process.stderr.write(`bench: could not drop database ${d.name}: ${e.message}\n`);
      } finally {
        await admin.end().catch(() => {});
      }
    }
    for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  })();
  return cleaningUp;
}

let failed = false;
function fail(err) {
  if (failed) return; // cleanup itself ends connections; only the first failure is news
  failed = true;
  process.stderr.write(`bench: FAILED: ${err?.stack ?? err}\n`);
  for (const c of children) if (c.logTail) process.stderr.write(`--- last output of ${c.label} ---\n${c.logTail}\n`);
  cleanup().finally(() => process.exit(1));
}

process.on('SIGINT', () => fail(new Error('interrupted')));
process.on('SIGTERM', () => fail(new Error('terminated')));
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);
setTimeout(() => fail(new Error(`time limit of ${TIME_LIMIT_MS / 1000}s exceeded`)), TIME_LIMIT_MS).unref();

// ---------------------------------------------------------------------------------------------
// Processes

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function startProcess(label, args, env) {
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.label = label;
  child.logTail = '';
  const keep = (buf) => {
    child.logTail = (child.logTail + buf.toString()).slice(-4000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  children.add(child);
  child.exited.then(({ code, signal }) => {
    children.delete(child);
    if (!child.stopping && !failed) fail(new Error(`${label} (pid ${child.pid}) exited unexpectedly: code ${code}, signal ${signal}\n${child.logTail}`));
  });
  return child;
}

async function stopProcess(child, timeoutMs = 10_000) {
  child.stopping = true;
  if (child.exitCode !== null || child.signalCode !== null) return child.exited;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const result = await child.exited;
  clearTimeout(timer);
  return result;
}

function request(port, { method = 'GET', path: p = '/', headers = {}, body, keepBody = true, agent = false } = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const req = http.request(
      {
        host: HOST,
        port,
        method,
        path: p,
        agent,
        // JSON unless the caller names another type (row 9 sends text/xml).
        headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...headers, ...(payload ? { 'content-length': payload.length } : {}) },
      },
      (res) => {
        const chunks = [];
        let bytes = 0;
        res.on('data', (c) => {
          bytes += c.length;
          if (keepBody) chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, bytes, body: keepBody ? Buffer.concat(chunks).toString('utf8') : undefined }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(60_000, () => req.destroy(new Error(`${method} ${p} timed out`)));
    req.end(payload);
  });
}

/** Polls GET /healthz until it answers 200; returns the performance.now() of that answer. */
async function waitHealthy(child, port, timeoutMs, intervalMs = 20) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${child.label} exited before it was healthy`);
    try {
      const res = await request(port, { path: '/healthz' });
      if (res.status === 200) return performance.now();
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) throw new Error(`${child.label} not healthy after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs a one-shot script (bench/queue-floor.mjs) to its end; returns the JSON of its last stdout line. */
async function runScript(label, args, env, timeoutMs) {
  const child = startProcess(label, args, env);
  child.stopping = true; // exiting is what it is meant to do
  let out = '';
  child.stdout.on('data', (b) => (out += b));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const { code, signal } = await child.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${label} exited with code ${code}, signal ${signal}:\n${child.logTail}`);
  return JSON.parse(out.trim().split('\n').pop());
}

/** VmRSS / VmHWM of a process in bytes. */
function memOf(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** Resets VmHWM to the current RSS (Linux >= 4.0, same user); false when the kernel refuses. */
function resetPeak(pid) {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** CPU seconds (user + system) a process has used so far; with reaped children's when asked. */
const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux x86_64
function cpuSeconds(pid, withChildren = false) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12]) + (withChildren ? Number(f[13]) + Number(f[14]) : 0)) / CLK_TCK;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds of every PostgreSQL process on the machine, by pid (the server runs locally),
 * including exited backends (the postmaster's reaped children).
 */
function postgresCpu() {
  const out = new Map();
  for (const e of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(e)) continue;
    try {
      const s = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      if (s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')) !== 'postgres') continue;
      out.set(e, cpuSeconds(e, true));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
/** Busy CPU seconds of the whole machine so far (all cores), from /proc/stat. */
function machineBusy() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = f;
  return (user + nice + system + irq + softirq + steal) / CLK_TCK;
}
const postgresCpuSince = (before) => {
  let sum = 0;
  for (const [pid, v] of postgresCpu()) sum += v - (before.get(pid) ?? 0);
  return sum;
};

// ---------------------------------------------------------------------------------------------
// Statistics

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const percentile = (xs, p) => {
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

/**
 * One autocannon run. Latencies are taken from the `response` event (float milliseconds from
 * process.hrtime) because autocannon's own histogram has 1 ms resolution.
 */
function cannon({ port, pid, method, headers, setupRequest, seconds }) {
  globalThis.gc?.(); // npm run bench passes --expose-gc: start every run with a clean load-generator heap
  return new Promise((resolve, reject) => {
    const cpu0 = cpuSeconds(pid);
    const pg0 = postgresCpu();
    const latencies = [];
    let ok = 0;
    let bad = 0;
    const badCodes = {};
    const t0 = performance.now();
    const inst = autocannon(
      {
        url: `http://${HOST}:${port}`,
        connections: CONNECTIONS,
        duration: seconds,
        headers,
        requests: [{ method, path: '/', setupRequest }],
      },
      (err, result) => {
        if (err) return reject(err);
        const elapsed = (performance.now() - t0) / 1000;
        const serverCpu = cpuSeconds(pid) - cpu0;
        const pgCpu = postgresCpuSince(pg0);
        resolve({ ok, bad, badCodes, errors: result.errors + result.timeouts, latencies, seconds: elapsed, serverCpu, pgCpu });
      },
    );
    inst.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) {
        ok++;
        latencies.push(responseTime);
      } else {
        bad++;
        badCodes[statusCode] = (badCodes[statusCode] ?? 0) + 1;
      }
    });
  });
}

/**
 * Warm-up for both, then ROUNDS rounds alternating which side goes first, so drifting machine
 * noise lands on both. Throughput = 2xx answers / wall time summed over the rounds; p99 over all
 * 2xx latencies of the rounds.
 */
async function sideBySide(label, targets, { afterRun } = {}) {
  for (const t of targets) {
    log(`${label}: warm-up ${t.name} ${WARMUP_S}s`);
    await cannon({ ...t, seconds: WARMUP_S });
    await afterRun?.(t, 'warm-up');
  }
  const acc = Object.fromEntries(targets.map((t) => [t.name, { ok: 0, bad: 0, errors: 0, badCodes: {}, seconds: 0, serverCpu: 0, pgCpu: 0, latencies: [], perRound: [] }]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? targets : [...targets].reverse();
    for (const t of order) {
      const r = await cannon({ ...t, seconds: ROUND_S });
      const a = acc[t.name];
      a.ok += r.ok;
      a.bad += r.bad;
      a.errors += r.errors;
      a.seconds += r.seconds;
      a.serverCpu += r.serverCpu;
      a.pgCpu += r.pgCpu;
      for (const [k, v] of Object.entries(r.badCodes)) a.badCodes[k] = (a.badCodes[k] ?? 0) + v;
      for (const l of r.latencies) a.latencies.push(l);
      a.perRound.push(r.ok / r.seconds);
      log(`${label}: round ${round + 1} ${t.name}: ${(r.ok / r.seconds).toFixed(0)} req/s, p99 ${percentile(r.latencies, 99).toFixed(2)} ms${r.bad || r.errors ? `, ${r.bad} non-2xx ${JSON.stringify(r.badCodes)}, ${r.errors} errors` : ''}`);
      await afterRun?.(t, `round ${round + 1}`);
    }
  }
  const out = {};
  for (const [name, a] of Object.entries(acc)) {
    out[name] = {
      rps: a.ok / a.seconds,
      p50: percentile(a.latencies, 50),
      p99: percentile(a.latencies, 99),
      ok: a.ok,
      bad: a.bad,
      errors: a.errors,
      badCodes: a.badCodes,
      perRound: a.perRound,
      // CPU per answered request, in microseconds: the HTTP server process, and all PostgreSQL processes.
      serverUs: (a.serverCpu / a.ok) * 1e6,
      pgUs: (a.pgCpu / a.ok) * 1e6,
    };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Main

const rows = [];
const notes = [];
const fmt = {
  rps: (v) => `${v.toFixed(0)} req/s`,
  ms: (v) => (v >= 100 ? `${v.toFixed(0)} ms` : `${v.toFixed(2)} ms`),
  mb: (v) => `${(v / 1024 / 1024).toFixed(1)} MB`,
  x: (v) => `${v.toFixed(2)}x`,
};
function addRow(order, caseName, ours, floor, ratio, target, pass) {
  rows.push({ order, case: caseName, ours, floor, ratio, target, result: pass === undefined ? 'info' : pass ? 'PASS' : 'FAIL' });
}

async function machineFacts(adminUrl) {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  const { rows: r } = await c.query('show server_version');
  await c.end();
  const cpu = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  return { cpu: cpu.trim(), cores: os.cpus().length, node: process.version, postgres: r[0].server_version, kernel: os.release(), memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB` };
}

/**
 * Row 4: embedded (PGlite) restart to the first 200 of /healthz. Runs first, before the PostgreSQL
 * database exists, so no autovacuum or checkpoint caused by the other rows competes with it.
 */
async function embeddedRow(commonEnv) {
  const embDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostplane-bench-emb-'));
  tempDirs.push(embDir);
  const port = await freePort();
  const env = { ...commonEnv, PORT: String(port), HOSTPLANE_DATA_DIR: embDir };
  log('embedded: first start (creates the PGlite data dir)');
  const t0 = performance.now();
  const first = startProcess('hostplane-embedded', ['dist/main.js', 'serve'], env);
  await waitHealthy(first, port, 60_000);
  const firstMs = performance.now() - t0;
  await stopProcess(first);
  if (!fs.existsSync(path.join(embDir, 'pgdata', 'PG_VERSION'))) throw new Error('embedded first start left no PGlite data dir');

  const times = [];
  const idle = [];
  for (let i = 0; i < RESTARTS; i++) {
    const start = performance.now();
    const child = startProcess('hostplane-embedded', ['dist/main.js', 'serve'], env);
    const ready = await waitHealthy(child, port, 30_000, 5);
    times.push(ready - start);
    await new Promise((r) => setTimeout(r, 1000));
    idle.push(memOf(child.pid).rss);
    const { code } = await stopProcess(child);
    if (code !== 0) throw new Error(`embedded server exited with ${code} on SIGTERM`);
  }
  const ms = median(times);
  log(`embedded: restarts ${times.map((t) => t.toFixed(0)).join('/')} ms, idle RSS ${idle.map(fmt.mb).join('/')}`);
  addRow(4, 'Embedded (PGlite) restart to first 200 /healthz', fmt.ms(ms), '-', ms / 1500, '<= 1500 ms', ms <= 1500);
  addRow(4, 'Embedded: idle RSS 1 s after ready', fmt.mb(median(idle)), '-', undefined, 'report', undefined);
  notes.push(...[`Embedded: median of ${RESTARTS} restarts (${times.map((t) => t.toFixed(0)).join(', ')} ms; /healthz polled every 5 ms); first start with initdb + migrations + demo seed took ${fmt.ms(firstMs)}; ratio column = time / 1500 ms budget.`].map((text) => ({ order: 4, text })));
}

// ---------------------------------------------------------------------------------------------
// Durable jobs (rows 5 and 6)

const epochMs = (col) => `(extract(epoch from ${col}) * 1000)::float8`;

/** Waits (bounded) until Hostplane has no queued or running relay job; returns how many were pending at first and how long it took. */
async function drainQueue(db) {
  const t = performance.now();
  let pending;
  for (;;) {
    const { rows } = await db.query("select count(*)::int as n from jobs where kind = 'relay.apply' and state in ('queued', 'running')");
    pending ??= rows[0].n;
    if (rows[0].n === 0) return { pending, ms: performance.now() - t };
    if (performance.now() - t > DRAIN_LIMIT_MS) throw new Error(`Hostplane's worker left ${rows[0].n} relay jobs queued or running after ${DRAIN_LIMIT_MS / 1000}s`);
    await sleep(20);
  }
}

/** Domains listed in the postfix-maps files of a data dir, and the files' total size. */
function relayMapSize(dataDir) {
  let domains = 0;
  let bytes = 0;
  for (const file of ['relay_domains', 'transport']) {
    const p = path.join(dataDir, 'relay', file);
    if (!fs.existsSync(p)) continue;
    const text = fs.readFileSync(p, 'utf8');
    bytes += Buffer.byteLength(text);
    if (file === 'relay_domains') domains = text.split('\n').filter((l) => l.trim() && !l.startsWith('#')).length;
  }
  return { domains, bytes };
}

/** Consecutive batch intervals from the distinct finished_at values of a set of jobs (a batch shares one). */
function batchStats(batches) {
  const gaps = batches.slice(1).map((b, i) => b.f - batches[i].f);
  return { count: batches.length, sizes: batches.map((b) => b.n), gapMedian: gaps.length ? median(gaps) : NaN };
}

/**
 * Row 5: jobs/s end to end through Hostplane's JobRunner (inside `serve`) against raw SKIP LOCKED
 * claims by bench/queue-floor.mjs on `floor_jobs`, a copy of the jobs table. Both get QUEUE_JOBS
 * identical no-op relay.apply jobs (deprovision of names that do not exist), inserted in one
 * statement before their clock starts; rounds alternate which side goes first.
 */
async function queueRow({ db, databaseUrl, env, oursPid, dataDir }) {
  const insert = async (table, tag) => {
    const { rows } = await db.query(
      `with ins as (
         insert into ${table} (kind, lane, payload, max_attempts)
         select 'relay.apply', 'relay', jsonb_build_object('change', 'deprovision', 'domain', 'x-' || $2::text || '-' || g || '.bench.test'), 18
         from generate_series(1, $1::int) g
         returning id)
       select min(id)::int as lo, max(id)::int as hi, count(*)::int as n from ins`,
      [QUEUE_JOBS, tag],
    );
    return rows[0];
  };
  const ours = async (tag) => {
    const { lo, hi, n } = await insert('jobs', tag);
    const t0 = Date.now(); // the insert has committed; Hostplane's worker may be in its 250 ms idle sleep
    const cpu0 = cpuSeconds(oursPid);
    const pg0 = postgresCpu();
    const deadline = performance.now() + 120_000;
    // Claims go in id order (all rows share run_at), so the highest id finishes last: poll it by primary key.
    for (;;) {
      const { rows } = await db.query({ name: 'bench_job_state', text: 'select state from jobs where id = $1', values: [hi] });
      if (rows[0].state === 'succeeded') break;
      if (rows[0].state === 'failed') throw new Error(`queue: job ${hi} failed`);
      if (performance.now() > deadline) throw new Error(`queue: Hostplane did not finish ${n} jobs in 120 s`);
      await sleep(10);
    }
    const cpu = cpuSeconds(oursPid) - cpu0;
    const pgCpu = postgresCpuSince(pg0);
    const { rows: sum } = await db.query(
      `select count(*)::int as n, count(*) filter (where state = 'succeeded')::int as ok, ${epochMs('max(finished_at)')} as last from jobs where id between $1 and $2`,
      [lo, hi],
    );
    if (sum[0].ok !== n) throw new Error(`queue: only ${sum[0].ok} of ${n} jobs succeeded once the last one had`);
    const { rows: batches } = await db.query(`select ${epochMs('finished_at')} as f, count(*)::int as n from jobs where id between $1 and $2 group by finished_at order by finished_at`, [lo, hi]);
    const ms = sum[0].last - t0;
    return { n, ms, cpu, pgCpu, firstMs: batches[0].f - t0, ...batchStats(batches), steady: ((n - batches[0].n) / (sum[0].last - batches[0].f)) * 1000 };
  };
  const floor = async (tag) => {
    const { n } = await insert('floor_jobs', tag);
    const pg0 = postgresCpu();
    const out = await runScript('queue-floor', ['bench/queue-floor.mjs', 'floor_jobs', 'relay', String(QUEUE_BATCH), String(n)], { ...env, DATABASE_URL: databaseUrl }, 150_000);
    const pgCpu = postgresCpuSince(pg0);
    if (out.claimed !== n) throw new Error(`queue floor claimed ${out.claimed} of ${n} jobs`);
    return { n, ms: out.ms, cpu: out.cpuMs / 1000, pgCpu, count: out.batches };
  };

  const map = relayMapSize(dataDir);
  const res = { ours: [], floor: [] };
  for (let round = 0; round < QUEUE_ROUNDS; round++) {
    const order = round % 2 === 0 ? ['ours', 'floor'] : ['floor', 'ours'];
    for (const side of order) {
      const tag = `${side}${round}`;
      const r = side === 'ours' ? await ours(tag) : await floor(tag);
      res[side].push(r);
      log(
        `queue: round ${round + 1} ${side}: ${r.n} jobs in ${r.ms.toFixed(0)} ms = ${((r.n / r.ms) * 1000).toFixed(0)} jobs/s, ${r.count} batches` +
          (side === 'ours' ? `, first batch done ${r.firstMs.toFixed(0)} ms after the insert, then one every ${r.gapMedian.toFixed(1)} ms (median)` : ''),
      );
    }
  }
  const rate = (rs) => (rs.reduce((a, r) => a + r.n, 0) / rs.reduce((a, r) => a + r.ms, 0)) * 1000;
  const per1k = (rs, k) => (rs.reduce((a, r) => a + r[k], 0) / rs.reduce((a, r) => a + r.n, 0)) * 1000 * 1000; // ms of CPU per 1,000 jobs
  const oursRate = rate(res.ours);
  const floorRate = rate(res.floor);
  const ratio = oursRate / floorRate;
  addRow(5, `Queue: ${QUEUE_JOBS / 1000}k no-op relay.apply jobs end to end`, `${oursRate.toFixed(0)} jobs/s`, `${floorRate.toFixed(0)} jobs/s (SKIP LOCKED loop)`, ratio, '>= 0.80x', ratio >= 0.8);
  notes.push({
    order: 5,
    text:
      `Queue: ${QUEUE_ROUNDS} alternating runs of ${QUEUE_JOBS} jobs per side (ours ${res.ours.map((r) => r.ms.toFixed(0)).join('/')} ms, floor ${res.floor.map((r) => r.ms.toFixed(0)).join('/')} ms); ` +
      `ours ran ${res.ours.map((r) => r.count).join('/')} batches, the first done ${res.ours.map((r) => r.firstMs.toFixed(0)).join('/')} ms after the insert (includes the worker's idle poll of up to 250 ms), ` +
      `then one every ${res.ours.map((r) => r.gapMedian.toFixed(1)).join('/')} ms (median; from the jobs' finished_at), i.e. ${res.ours.map((r) => r.steady.toFixed(0)).join('/')} jobs/s once running; ` +
      `relay map during the runs: ${map.domains} domains, ${map.bytes} bytes; ` +
      `CPU per 1,000 jobs: Hostplane process ${per1k(res.ours, 'cpu').toFixed(0)} ms vs queue-floor process ${per1k(res.floor, 'cpu').toFixed(0)} ms, PostgreSQL ${per1k(res.ours, 'pgCpu').toFixed(0)} ms vs ${per1k(res.floor, 'pgCpu').toFixed(0)} ms.`,
  });
}

/**
 * Row 6: time from POST /v1/clients to the domain's `ready` status with the postfix-maps driver:
 * READY_ONE clients with 1 domain created one at a time (each polled every 10 ms on
 * GET /v1/domains/:name/status), then READY_BURST clients with 1 domain created at once with
 * READY_BURST_CONC requests in flight (polled on GET /admin/v1/clients until all are ready).
 */
async function readyRows({ db, port, auth, operatorKey, dataDir }) {
  const run = crypto.randomBytes(3).toString('hex');
  const headers = { ...auth, 'content-type': 'application/json' };
  const body = (name, n) =>
    JSON.stringify({ package_uid: PACKAGE_UID, user_count: 1, email_address: `ready${n}@bench.test`, name: `Ready ${n}`, domains: [{ name, mail_servers: ['mail.bench.test'] }] });
  const jobTimes = async (names) => {
    const { rows } = await db.query(
      `select ${epochMs('finished_at')} as f, ${epochMs('finished_at - created_at')} as ms from jobs where kind = 'relay.apply' and state = 'succeeded' and payload->>'domain' = any($1::text[])`,
      [names],
    );
    return rows;
  };

  // --- one at a time -------------------------------------------------------------------------
  const oneNames = [];
  const one = [];
  let polls = 0;
  for (let i = 0; i < READY_ONE; i++) {
    await sleep(Math.random() * READY_GAP_MS);
    const name = `r1-${run}-${i}.bench.test`;
    oneNames.push(name);
    const t = performance.now();
    const res = await request(port, { method: 'POST', path: '/v1/clients', headers, body: body(name, i) });
    if (res.status !== 201) throw new Error(`ready: POST /v1/clients answered ${res.status}: ${res.body}`);
    for (;;) {
      const st = await request(port, { path: `/v1/domains/${name}/status`, headers: auth });
      polls++;
      if (st.status !== 200) throw new Error(`ready: GET /v1/domains/${name}/status answered ${st.status}: ${st.body}`);
      const { status } = JSON.parse(st.body);
      if (status === 'ready') break;
      if (status !== 'initializing') throw new Error(`ready: ${name} went ${status}`);
      if (performance.now() - t > 10_000) throw new Error(`ready: ${name} not ready after 10 s`);
      await sleep(10);
    }
    one.push(performance.now() - t);
  }
  const oneJobs = (await jobTimes(oneNames)).map((r) => r.ms);
  if (oneJobs.length !== READY_ONE) throw new Error(`ready: found ${oneJobs.length} succeeded jobs for ${READY_ONE} domains`);
  log(`ready, 1 domain: ${one.map((t) => t.toFixed(0)).join('/')} ms`);

  // --- READY_BURST at once -------------------------------------------------------------------
  const { rows: maxRow } = await db.query('select coalesce(max(id), 0)::int as id from clients');
  const burstNames = Array.from({ length: READY_BURST }, (_, i) => `rb-${run}-${i}.bench.test`);
  const sentAt = new Map();
  let next = 0;
  const t0 = performance.now();
  const poster = async () => {
    while (next < burstNames.length) {
      const i = next++;
      sentAt.set(burstNames[i], Date.now());
      const res = await request(port, { method: 'POST', path: '/v1/clients', headers, body: body(burstNames[i], READY_ONE + i) });
      if (res.status !== 201) throw new Error(`ready burst: POST /v1/clients answered ${res.status}: ${res.body}`);
    }
  };
  await Promise.all(Array.from({ length: READY_BURST_CONC }, poster));
  const postsMs = performance.now() - t0;
  let allMs;
  let listPolls = 0;
  for (;;) {
    const res = await request(port, { path: `/admin/v1/clients?after=${maxRow[0].id}&limit=${READY_BURST}`, headers: { authorization: `Bearer ${operatorKey}` } });
    listPolls++;
    if (res.status !== 200) throw new Error(`ready burst: GET /admin/v1/clients answered ${res.status}: ${res.body}`);
    const domains = JSON.parse(res.body).clients.flatMap((c) => c.domains).filter((d) => sentAt.has(d.name));
    if (domains.length === READY_BURST && domains.every((d) => d.status === 'ready')) {
      allMs = performance.now() - t0;
      break;
    }
    if (performance.now() - t0 > 60_000) throw new Error(`ready burst: ${domains.filter((d) => d.status === 'ready').length} of ${READY_BURST} domains ready after 60 s`);
    await sleep(10);
  }
  // Per domain: the moment its status became ready (domains.updated_at, written by the same
  // statement) minus the moment its POST was sent; both from this machine's clock.
  const { rows: readyRowsDb } = await db.query(`select name, ${epochMs('updated_at')} as t from domains where name = any($1::text[]) and status = 'ready'`, [burstNames]);
  if (readyRowsDb.length !== READY_BURST) throw new Error(`ready burst: ${readyRowsDb.length} ready domains in the database`);
  const burst = readyRowsDb.map((r) => r.t - sentAt.get(r.name));
  const burstJobs = await jobTimes(burstNames);
  const byBatch = new Map();
  for (const j of burstJobs) byBatch.set(j.f, (byBatch.get(j.f) ?? 0) + 1);
  const batches = batchStats([...byBatch].map(([f, n]) => ({ f, n })).sort((a, b) => a.f - b.f));
  const map = relayMapSize(dataDir);
  log(`ready, ${READY_BURST} at once: POSTs done in ${postsMs.toFixed(0)} ms, all ready after ${allMs.toFixed(0)} ms, ${batches.count} batches (sizes ${batches.sizes.join(',')}), map now ${map.domains} domains`);

  addRow(6, 'POST /v1/clients to domain ready, 1 domain: p50', fmt.ms(percentile(one, 50)), '-', undefined, 'info', undefined);
  addRow(6, '  same, p99', fmt.ms(percentile(one, 99)), '-', undefined, 'info', undefined);
  addRow(6, `${READY_BURST.toLocaleString('en')} clients (1 domain each) at once: all ready`, fmt.ms(allMs), '-', undefined, 'info', undefined);
  addRow(6, '  same, per domain p50 / p99', `${fmt.ms(percentile(burst, 50))} / ${fmt.ms(percentile(burst, 99))}`, '-', undefined, 'info', undefined);
  notes.push(
    ...[
      `Ready, 1 domain: ${READY_ONE} clients one at a time, a random 0-${READY_GAP_MS} ms pause before each, status polled every 10 ms (${polls} polls); from sending the POST to the first "ready" answer: ` +
        `p50 ${fmt.ms(percentile(one, 50))}, p99 ${fmt.ms(percentile(one, 99))}, max ${fmt.ms(Math.max(...one))}, min ${fmt.ms(Math.min(...one))}; ` +
        `server side (job finished_at - created_at) p50 ${fmt.ms(percentile(oneJobs, 50))}, max ${fmt.ms(Math.max(...oneJobs))}.`,
      `Ready, ${READY_BURST} at once: ${READY_BURST_CONC} POSTs in flight, all ${READY_BURST} answered 201 after ${fmt.ms(postsMs)}; GET /admin/v1/clients showed every domain ready ${fmt.ms(allMs)} after the first POST (${listPolls} polls, 10 ms apart, after the last POST); ` +
        `per domain (domains.updated_at when it turned ready - its POST's send time) p50 ${fmt.ms(percentile(burst, 50))}, p99 ${fmt.ms(percentile(burst, 99))}, max ${fmt.ms(Math.max(...burst))}; ` +
        `the worker applied them in ${batches.count} batches (sizes ${batches.sizes.join(', ')}), one every ${fmt.ms(batches.gapMedian)} (median gap between batches' finished_at); ` +
        `relay map afterwards: ${map.domains} domains, ${map.bytes} bytes (relay_domains + transport).`,
    ].map((text) => ({ order: 6, text })),
  );
}

/**
 * Row 6, map cost: how long the postfix-maps driver (dist/, the code `serve` runs) takes to apply one
 * batch of QUEUE_BATCH changes to maps of MAP_SIZES domains, in the bench process, nothing else
 * running. Each batch re-reads, re-sorts and rewrites (fsync, rename, fsync dir) both files in full.
 */
async function mapCostRow() {
  const { PostfixMapsRelayDriver } = await import(pathToFileURL(path.join(ROOT, 'dist/relay/postfix-maps.driver.js')).href);
  const out = [];
  for (const size of MAP_SIZES) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostplane-bench-map-'));
    tempDirs.push(dir);
    fs.mkdirSync(path.join(dir, 'relay'));
    const names = Array.from({ length: size }, (_, i) => `d${String(i).padStart(7, '0')}.bench.test`); // already in code-point order
    fs.writeFileSync(path.join(dir, 'relay', 'relay_domains'), names.map((n) => `${n}  OK\n`).join(''));
    fs.writeFileSync(path.join(dir, 'relay', 'transport'), names.map((n) => `${n}  smtp:[mail.bench.test]\n`).join(''));
    const driver = new PostfixMapsRelayDriver({ dataDir: dir });
    const times = [];
    for (let rep = 0; rep < MAP_REPS; rep++) {
      // QUEUE_BATCH changes to existing domains (new mail server), so the map keeps its size.
      const ops = names.slice(0, QUEUE_BATCH).map((name) => ({ op: 'update', domain: { name, mailServers: [`mx${rep}.bench.test`] } }));
      const t = performance.now();
      await driver.apply(ops);
      times.push(performance.now() - t);
    }
    const bytes = relayMapSize(dir).bytes;
    fs.rmSync(dir, { recursive: true, force: true });
    out.push({ size, ms: median(times), times, bytes });
    log(`map cost: ${size} domains (${fmt.mb(bytes)}): ${times.map((t) => t.toFixed(0)).join('/')} ms`);
  }
  const label = (n) => (n >= 1000 ? `${n / 1000}k` : String(n));
  addRow(6, `postfix-maps: one batch, map of ${MAP_SIZES.map(label).join(' / ')} domains`, out.map((o) => fmt.ms(o.ms)).join(' / '), '-', undefined, 'info', undefined);
  notes.push({
    order: 6,
    text:
      `postfix-maps batch cost: median of ${MAP_REPS} batches of ${QUEUE_BATCH} changes applied by the driver itself, in the bench process, on synthetic maps (one mail server per domain): ` +
      out.map((o) => `${o.size} domains / ${fmt.mb(o.bytes)}: ${o.times.map((t) => t.toFixed(0)).join(', ')} ms`).join('; ') +
      `; about ${((out.at(-1).ms / out.at(-1).size) * 1000).toFixed(1)} us per domain in the map at the largest size.`,
  });
}

// ---------------------------------------------------------------------------------------------
// Sites (rows 7 and 8): the ApisCP door, on a database of their own holding up to 1M sites

const SITES_COLLECT_PARAMS = ['siteinfo.domain', 'diskquota.quota', 'ssh.enabled'];
const siteDomain = (no) => `s${no}.sites.bench.test`;

/**
 * Inserts `count` sites, numbered first..first+count-1, with one INSERT ... SELECT per table: the
 * client (no reseller, plan `basic`, active; invoice and parent_invoice from the given SQL
 * expressions of k = 0..count-1), its domain (position 0, ready) and its client_admin user. Then
 * vacuum + analyze (fresh statistics, and hint bits and the visibility map set now rather than by
 * the first timed reads) and a checkpoint, so no write-back of the inserts runs during the timing.
 */
async function seedSites(db, planId, first, count, invoiceSql, parentSql, values = []) {
  const t = performance.now();
  const { rows } = await db.query('select coalesce(max(id), 0)::int8 as before from clients');
  await db.query('begin');
  await db.query(
    `insert into clients (reseller_id, plan_id, name, email_address, user_count, status, invoice, parent_invoice)
     select null, $1, 's' || ($2::int + k) || '.sites.bench.test', 'site' || ($2::int + k) || '@bench.test', 1, 'active', ${invoiceSql}, ${parentSql}
     from generate_series(0, $3::int - 1) k`,
    [planId, first, count, ...values],
  );
  await db.query(`insert into domains (client_id, reseller_id, name, position, status) select c.id, null, c.name, 0, 'ready' from clients c where c.id > $1`, [rows[0].before]);
  await db.query(
    `insert into users (role, client_id, reseller_id, login, email, name) select 'client_admin', c.id, null, 'admin', c.email_address, 'Administrator' from clients c where c.id > $1`,
    [rows[0].before],
  );
  await db.query('commit');
  const insertMs = performance.now() - t;
  await db.query('vacuum (analyze) clients, domains, users');
  await db.query('checkpoint').catch(() => {}); // needs superuser or pg_checkpoint (the default bench user is postgres); only noise if refused
  return { insertMs, ms: performance.now() - t };
}

/**
 * Indexes used, table rows read and buffers of an EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) result. Rows
 * read = rows every table scan node fetched (kept or removed by a filter or recheck), over all its loops.
 */
function summarizePlan(explained) {
  const scans = [];
  const indexes = new Set();
  const walk = (n) => {
    if (n['Index Name']) indexes.add(n['Index Name']);
    if (n['Relation Name']) {
      const read = (n['Actual Rows'] + (n['Rows Removed by Filter'] ?? 0) + (n['Rows Removed by Index Recheck'] ?? 0)) * (n['Actual Loops'] ?? 1);
      scans.push({ type: n['Node Type'], relation: n['Relation Name'], rows: Math.round(read) });
    }
    for (const c of n.Plans ?? []) walk(c);
  };
  walk(explained.Plan);
  const top = explained.Plan;
  return {
    scans,
    indexes: [...indexes],
    seqScans: scans.filter((s) => s.type === 'Seq Scan').map((s) => s.relation),
    rows: scans.reduce((a, s) => a + s.rows, 0),
    buffers: (top['Shared Hit Blocks'] ?? 0) + (top['Shared Read Blocks'] ?? 0),
    read: top['Shared Read Blocks'] ?? 0,
    ms: explained['Execution Time'],
  };
}

/**
 * EXPLAIN ANALYZE of the exact SQL admin:collect issues for `[billing.parent_invoice:<invoice>]` (its first page): the query
 * built by collectPageQuery (dist/, the code `serve` runs) compiled by Kysely, run with its parameters
 * (PostgreSQL plans it for those values), and as the generic plan PostgreSQL may settle on for
 * Hostplane's named prepared statements after five executions (forced here).
 */
async function explainSites(db, kysely, collectPageQuery, COLLECT_PAGE, invoice) {
  // The first page of the collect, with the columns SITES_COLLECT_PARAMS need (overrides, no admin login).
  const { sql, parameters } = collectPageQuery(kysely, { parentInvoice: invoice }, { limit: COLLECT_PAGE }, { adminUser: false, meta: true }).compile();
  if (parameters.some((p) => typeof p !== 'string' && typeof p !== 'number')) throw new Error(`the collect page's parameters are not all text or numbers: ${JSON.stringify(parameters)}`);
  const { rows } = await db.query(`explain (analyze, buffers, format json) ${sql}`, parameters);
  const custom = summarizePlan(rows[0]['QUERY PLAN'][0]);
  await db.query(`prepare bench_sites as ${sql}`);
  try {
    await db.query('set plan_cache_mode = force_generic_plan');
    const { rows: g } = await db.query(`explain (analyze, buffers, format json) execute bench_sites(${parameters.map((p) => (typeof p === 'number' ? String(p) : db.escapeLiteral(p))).join(', ')})`);
    return { custom, generic: summarizePlan(g[0]['QUERY PLAN'][0]) };
  } finally {
    await db.query('reset plan_cache_mode');
    await db.query('deallocate bench_sites');
  }
}

/**
 * Row 7: admin:collect filtered by parent_invoice while the sites table grows 10k -> 100k -> 1M.
 * Each step inserts the difference as groups of SITES_GROUP subordinates (`parent_invoice` =
 * 'inv-<g>'); site k of a step belongs to group g0 + k mod G (G groups in the step), so a group's
 * rows lie far apart in the table, as sites added over time would. At each size: COLLECT_WARMUP
 * untimed then COLLECT_REQS timed requests, one at a time, each for a random group, every answer
 * checked against the group's SITES_GROUP sites; then the EXPLAIN of the collect page's SQL.
 */
async function collectRow({ db, databaseUrl, planId, cpcmd }) {
  const { collectPageQuery } = await import(pathToFileURL(path.join(ROOT, 'dist/core/sites/site.repository.js')).href);
  const { COLLECT_PAGE } = await import(pathToFileURL(path.join(ROOT, 'dist/core/sites/site.plans.js')).href);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  const kysely = new Kysely({ dialect: new PostgresDialect({ pool }) }); // only compiles; the EXPLAINs run on `db`
  const steps = [];
  const out = [];
  let have = 0;
  try {
    for (const size of SITES_SIZES) {
      const G = (size - have) / SITES_GROUP;
      const g0 = have / SITES_GROUP;
      const seed = await seedSites(db, planId, have, size - have, 'null', `'inv-' || ($4::int + k % $5::int)`, [g0, G]);
      steps.push({ first: have, g0, G });
      have = size;
      log(`sites: ${size} sites (+${size - steps.at(-1).first} inserted in ${fmt.ms(seed.insertMs)}, ${fmt.ms(seed.ms)} with vacuum, analyze and checkpoint)`);
      const expected = (g) => {
        const st = steps.findLast((s) => g >= s.g0);
        return Array.from({ length: SITES_GROUP }, (_, j) => siteDomain(st.first + (g - st.g0) + j * st.G)).sort();
      };
      const groups = size / SITES_GROUP;
      const one = async () => {
        const g = Math.floor(Math.random() * groups);
        const t = performance.now();
        const result = await cpcmd('admin:collect', [SITES_COLLECT_PARAMS, { 'billing.parent_invoice': `inv-${g}` }]);
        const ms = performance.now() - t;
        const entries = Object.entries(result ?? {});
        const names = entries.map(([, e]) => e?.siteinfo?.domain).sort();
        const wanted = expected(g);
        if (
          entries.length !== SITES_GROUP ||
          names.some((n, i) => n !== wanted[i]) ||
          entries.some(([key, e]) => !/^site\d+$/.test(key) || e.active !== true || e.diskquota?.quota === undefined || e.ssh?.enabled === undefined)
        ) {
          throw new Error(`admin:collect [billing.parent_invoice:inv-${g}] at ${size} sites: expected the sites ${wanted.join(', ')}, got ${JSON.stringify(result).slice(0, 600)}`);
        }
        return ms;
      };
      // Reference: admin:list-plans, the same door and operator check on a table that does not grow,
      // alternated with the collects; it shows how much the machine itself drifted between the steps.
      const reference = async () => {
        const t = performance.now();
        const plans = await cpcmd('admin:list-plans', []);
        if (!Array.isArray(plans) || !plans.includes('basic')) throw new Error(`admin:list-plans answered ${JSON.stringify(plans)}`);
        return performance.now() - t;
      };
      for (let i = 0; i < COLLECT_WARMUP; i++) {
        await one();
        await reference();
      }
      const times = [];
      const refTimes = [];
      for (let i = 0; i < COLLECT_REQS; i++) {
        times.push(await one());
        refTimes.push(await reference());
      }
      const plan = await explainSites(db, kysely, collectPageQuery, COLLECT_PAGE, `inv-${Math.floor(Math.random() * groups)}`);
      const { rows: mb } = await db.query(`select (pg_total_relation_size('clients') + pg_total_relation_size('domains') + pg_total_relation_size('users'))::float8 as b`);
      out.push({ size, seed, times, p50: median(times), p99: percentile(times, 99), ref: median(refTimes), plan, bytes: mb[0].b });
      log(`sites: admin:collect at ${size} sites: p50 ${fmt.ms(median(times))}, p99 ${fmt.ms(percentile(times, 99))}; plan: ${plan.custom.indexes.join(', ')}, ${plan.custom.rows} rows, ${plan.custom.buffers} buffers`);
    }
  } finally {
    await kysely.destroy();
  }
  const label = (n) => (n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1000}k`);
  const first = out[0];
  const last = out.at(-1);
  const ratio = last.p50 / first.p50;
  addRow(7, `admin:collect by parent_invoice (${SITES_GROUP} sites): ${label(last.size)} vs ${label(first.size)} sites`, `${fmt.ms(last.p50)} (${label(last.size)})`, `${fmt.ms(first.p50)} (${label(first.size)})`, ratio, '<= 1.30x', ratio <= 1.3);
  addRow(7, `  same, p50 at ${out.map((o) => label(o.size)).join(' / ')}`, out.map((o) => fmt.ms(o.p50)).join(' / '), '-', undefined, 'info', undefined);
  addRow(7, `  same, p99 at ${out.map((o) => label(o.size)).join(' / ')}`, out.map((o) => fmt.ms(o.p99)).join(' / '), '-', undefined, 'info', undefined);
  const planText = (p) => `${p.rows} table rows read (${p.scans.map((s) => `${s.relation} ${s.rows}`).join(', ')}), ${p.buffers} buffers (${p.read} not in shared_buffers), ${p.ms.toFixed(2)} ms`;
  const sameIndexes = out.every((o) => [o.plan.custom, o.plan.generic].every((p) => p.indexes.join() === first.plan.custom.indexes.join() && p.seqScans.length === 0));
  notes.push(
    ...[
      `admin:collect: POST /api/v1/cpcmd/admin:collect ${JSON.stringify([SITES_COLLECT_PARAMS, { 'billing.parent_invoice': 'inv-<g>' }])}, one request at a time on a keep-alive connection, a random group each; ` +
        `${COLLECT_WARMUP} untimed then ${COLLECT_REQS} timed requests per size, every answer checked to hold exactly the group's ${SITES_GROUP} sites; ` +
        out.map((o) => `${label(o.size)}: p50 ${fmt.ms(o.p50)}, p99 ${fmt.ms(o.p99)}, max ${fmt.ms(Math.max(...o.times))}`).join('; ') +
        `; 100k vs 10k ${(out[1] ? out[1].p50 / first.p50 : NaN).toFixed(2)}x. ` +
        `Reference, admin:list-plans alternated with the collects (same door, a table that does not grow): p50 ${out.map((o) => fmt.ms(o.ref)).join(' / ')}, ${(last.ref / first.ref).toFixed(2)}x from ${label(first.size)} to ${label(last.size)} (machine drift between the steps).`,
      `admin:collect seeding (dedicated database, one INSERT ... SELECT per table per step, then vacuum + analyze + checkpoint): ` +
        out.map((o, i) => `to ${label(o.size)} +${label(o.size - (i ? out[i - 1].size : 0))} sites ${(o.seed.insertMs / 1000).toFixed(1)} s (${(o.seed.ms / 1000).toFixed(1)} s in all)`).join(', ') +
        `; clients + domains + users with indexes: ${out.map((o) => fmt.mb(o.bytes)).join(' / ')}.`,
      `admin:collect plan (EXPLAIN ANALYZE, BUFFERS of the SQL of the collect's page (collectPageQuery) compiled from dist/ by Kysely, for a random group): ` +
        (sameIndexes
          ? `at every size, custom and generic plan alike, index scans on ${first.plan.custom.indexes.join(', ')} and no sequential scan; `
          : out.map((o) => `${label(o.size)}: custom ${o.plan.custom.indexes.join(', ')}${o.plan.custom.seqScans.length ? `, seq scan on ${o.plan.custom.seqScans.join(', ')}` : ''}; generic ${o.plan.generic.indexes.join(', ')}${o.plan.generic.seqScans.length ? `, seq scan on ${o.plan.generic.seqScans.join(', ')}` : ''}`).join('; ') + '; ') +
        out.map((o) => `${label(o.size)}: ${planText(o.plan.custom)}`).join('; ') +
        `; generic plan at ${label(last.size)}: ${planText(last.plan.generic)}.`,
    ].map((text) => ({ order: 7, text })),
  );
  return have;
}

/**
 * Row 8: suspending a group of BIG_GROUP sites (1 master + subordinates) through
 * admin:deactivate-site, against a bare pg transaction running the one UPDATE of the same rows.
 * One warm-up per side, then SUSPEND_ROUNDS rounds alternating which side goes first. After each
 * ours run the bench checks every row is suspended with the reason and BIG_GROUP audit rows were
 * written, then reactivates through admin:activate-site (timed, info) and checks every row is
 * active; the floor's run is reset by the reverse UPDATE (untimed).
 */
async function suspendRow({ db, planId, cpcmd, first }) {
  const seed = await seedSites(db, planId, first, BIG_GROUP, 'case when k = 0 then $4::text end', 'case when k > 0 then $4::text end', [BIG_INVOICE]);
  const { rows: total } = await db.query('select count(*)::int as n from clients');
  log(`sites: ${BIG_GROUP} sites of group ${BIG_INVOICE} inserted in ${fmt.ms(seed.insertMs)}; ${total[0].n} sites in the table`);
  const state = async () => {
    const { rows } = await db.query(
      `select count(*)::int as n, count(*) filter (where status = 'active' and suspended_at is null and suspend_reason is null)::int as active,
              count(*) filter (where status = 'suspended' and suspend_reason = 'bench' and suspended_at is not null)::int as suspended
       from clients where invoice = $1 or parent_invoice = $1`,
      [BIG_INVOICE],
    );
    return rows[0];
  };
  const audits = async (action) => (await db.query('select count(*)::int as n from audit_events where action = $1', [action])).rows[0].n;
  // Every timed run starts from a vacuumed table: without it the dead row versions of the previous
  // runs (20,000 per round and side) pile up and slow both sides' UPDATE round after round.
  const vacuum = () => db.query('vacuum clients');
  const ours = async () => {
    const [s0, a0] = [await audits('client.suspended'), await audits('client.activated')];
    await vacuum();
    const t = performance.now();
    const r = await cpcmd('admin:deactivate-site', [BIG_INVOICE, 'bench']);
    const ms = performance.now() - t;
    const s = await state();
    const written = (await audits('client.suspended')) - s0;
    if (r !== true || s.n !== BIG_GROUP || s.suspended !== BIG_GROUP || written !== BIG_GROUP) {
      throw new Error(`admin:deactivate-site ${BIG_INVOICE}: answered ${JSON.stringify(r)}; ${s.suspended} of ${s.n} sites suspended, ${written} audit rows written (expected ${BIG_GROUP})`);
    }
    await vacuum();
    const t2 = performance.now();
    const r2 = await cpcmd('admin:activate-site', [BIG_INVOICE]);
    const activateMs = performance.now() - t2;
    const s2 = await state();
    const written2 = (await audits('client.activated')) - a0;
    if (r2 !== true || s2.active !== BIG_GROUP || written2 !== BIG_GROUP) throw new Error(`admin:activate-site ${BIG_INVOICE}: answered ${JSON.stringify(r2)}; ${s2.active} of ${s2.n} sites active, ${written2} audit rows written`);
    return { ms, activateMs };
  };
  const floor = async () => {
    await vacuum();
    const t = performance.now();
    await db.query('begin');
    const r = await db.query(`update clients set status = 'suspended', suspended_at = now(), suspend_reason = 'bench', updated_at = now() where (invoice = $1 or parent_invoice = $1) and status = 'active'`, [BIG_INVOICE]);
    await db.query('commit');
    const ms = performance.now() - t;
    if (r.rowCount !== BIG_GROUP) throw new Error(`floor suspend updated ${r.rowCount} rows, expected ${BIG_GROUP}`);
    const back = await db.query(`update clients set status = 'active', suspended_at = null, suspend_reason = null, updated_at = now() where (invoice = $1 or parent_invoice = $1) and status = 'suspended'`, [BIG_INVOICE]);
    if (back.rowCount !== BIG_GROUP) throw new Error(`floor reset updated ${back.rowCount} rows, expected ${BIG_GROUP}`);
    return { ms };
  };

  const warm = { ours: await ours(), floor: await floor() };
  const res = { ours: [], floor: [] };
  for (let round = 0; round < SUSPEND_ROUNDS; round++) {
    for (const side of round % 2 === 0 ? ['ours', 'floor'] : ['floor', 'ours']) res[side].push(side === 'ours' ? await ours() : await floor());
  }
  // What the audit rows alone cost: the same INSERT ... SELECT of the group's BIG_GROUP rows, after the rounds, rolled back.
  const auditOnly = [];
  for (let i = 0; i < 3; i++) {
    await db.query('begin');
    const t = performance.now();
    await db.query(
      `insert into audit_events (occurred_at, actor_kind, actor_id, reseller_id, action, target_type, target_id, changes, request_id, source_ip)
       select now(), 'operator', null, c.reseller_id, 'client.suspended', 'client', c.id::text, $2::jsonb, 'bench', '127.0.0.1' from clients c where c.invoice = $1 or c.parent_invoice = $1`,
      [BIG_INVOICE, JSON.stringify({ before: { status: 'active' }, after: { status: 'suspended', suspend_reason: 'bench' } })],
    );
    auditOnly.push(performance.now() - t);
    await db.query('rollback');
  }
  const oursMs = median(res.ours.map((r) => r.ms));
  const floorMs = median(res.floor.map((r) => r.ms));
  const ratio = oursMs / floorMs;
  log(`sites: suspend ${BIG_GROUP}: ours ${res.ours.map((r) => r.ms.toFixed(0)).join('/')} ms, floor ${res.floor.map((r) => r.ms.toFixed(0)).join('/')} ms, activate ${res.ours.map((r) => r.activateMs.toFixed(0)).join('/')} ms`);
  addRow(8, `admin:deactivate-site, group of ${BIG_GROUP.toLocaleString('en')} sites`, fmt.ms(oursMs), `${fmt.ms(floorMs)} (SQL UPDATE)`, ratio, '<= 2.00x', ratio <= 2);
  addRow(8, '  same, admin:activate-site afterwards', fmt.ms(median(res.ours.map((r) => r.activateMs))), '-', undefined, 'info', undefined);
  notes.push(
    ...[
      `Suspend: group ${BIG_INVOICE} = 1 master (invoice) + ${BIG_GROUP - 1} subordinates (parent_invoice), in a table of ${total[0].n} sites; one warm-up per side (ours ${fmt.ms(warm.ours.ms)}, floor ${fmt.ms(warm.floor.ms)}), then ${SUSPEND_ROUNDS} alternating rounds: ` +
        `ours ${res.ours.map((r) => r.ms.toFixed(0)).join(', ')} ms, floor ${res.floor.map((r) => r.ms.toFixed(0)).join(', ')} ms (medians compared); ` +
        `after every ours run all ${BIG_GROUP} rows were suspended with the reason and ${BIG_GROUP} client.suspended audit rows written; admin:activate-site then took ${res.ours.map((r) => r.activateMs.toFixed(0)).join(', ')} ms (${BIG_GROUP} client.activated audit rows each).`,
      `Suspend: ours is one HTTP call: the operator key check, then one transaction that selects the group's ${BIG_GROUP} ids (invoice or parent_invoice) and runs one statement, ` +
        `UPDATE ... WHERE id = ANY(ids) AND status = 'active' RETURNING id, reseller_id feeding an INSERT of one audit row per changed site (audit_events has 4 indexes); ` +
        `the floor is a bare pg client's BEGIN, the UPDATE selected by invoice / parent_invoice, COMMIT, no audit rows. ` +
        `The audit INSERT alone (same rows, after the rounds, rolled back) took ${auditOnly.map((t) => t.toFixed(0)).join(', ')} ms, ${(median(auditOnly) / floorMs).toFixed(2)}x the floor's median. ` +
        `Each timed run, either side, starts from a vacuumed clients table (untimed).`,
    ].map((text) => ({ order: 8, text })),
  );
}

/** Rows 7 and 8 on a database of their own (hostplane_bench_<random>_sites) with its own Hostplane. */
async function sitesRows({ parsedUrl, adminUrl, commonEnv, dbName }) {
  const name = `${dbName}_sites`;
  {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    sitesDb = { name, adminUrl };
    await admin.query(`create database "${name}"`);
    await admin.end();
  }
  const url = new URL(parsedUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostplane-bench-sites-'));
  tempDirs.push(dataDir);
  const port = await freePort();
  const server = startProcess('hostplane-sites', ['dist/main.js', 'serve'], { ...commonEnv, DATABASE_URL: databaseUrl, PORT: String(port), HOSTPLANE_DATA_DIR: dataDir, HOSTPLANE_DEMO: 'off' });
  await waitHealthy(server, port, 30_000);
  const operatorKey = fs.readFileSync(path.join(dataDir, 'operator-key'), 'utf8').trim();
  log(`sites: database ${name}, hostplane up on :${port}`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const cpcmd = async (fn, args) => {
    const res = await request(port, { method: 'POST', path: `/api/v1/cpcmd/${fn}`, headers: { authorization: `Bearer ${operatorKey}` }, body: { args }, agent });
    if (res.status !== 200) throw new Error(`POST /api/v1/cpcmd/${fn} answered ${res.status}: ${res.body.slice(0, 500)}`);
    return JSON.parse(res.body).result;
  };
  const db = new pg.Client({ connectionString: databaseUrl, statement_timeout: 120_000 }); // the 900k-site inserts take about 8 s each here
  db.on('error', () => {}); // dropping the database on failure ends this connection; the failure is reported already
  await db.connect();
  const { rows: plan } = await db.query("select id from plans where uid = 'basic'");
  if (!plan.length) throw new Error('plan basic (migration 0007) not found');
  let have = 0;
  if (want(7)) have = await collectRow({ db, databaseUrl, planId: plan[0].id, cpcmd });
  if (want(8)) await suspendRow({ db, planId: plan[0].id, cpcmd, first: have });
  await db.end();
  agent.destroy();
  await stopProcess(server);
}

// ---------------------------------------------------------------------------------------------
// SaaS instances (row 9): the Odoo XML-RPC door, on a database of its own holding 100,000 instances

/** An XML-RPC <value> of the few types row 9 sends (strings, integers, arrays, structs). */
function xmlValue(v) {
  if (Array.isArray(v)) return `<value><array><data>\n${v.map((x) => `${xmlValue(x)}\n`).join('')}</data></array></value>`;
  if (Number.isSafeInteger(v)) return `<value><int>${v}</int></value>`;
  if (v && typeof v === 'object') return `<value><struct>\n${Object.entries(v).map(([k, x]) => `<member>\n<name>${xmlText(k)}</name>\n${xmlValue(x)}\n</member>\n`).join('')}</struct></value>`;
  return `<value><string>${xmlText(String(v))}</string></value>`;
}
const xmlText = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
/** A methodCall laid out as Python's xmlrpc.client writes it. */
const xmlCall = (method, params) => `<?xml version='1.0'?>\n<methodCall>\n<methodName>${method}</methodName>\n<params>\n${params.map((p) => `<param>\n${xmlValue(p)}\n</param>\n`).join('')}</params>\n</methodCall>\n`;
/** The integers of a methodResponse (a fault, or anything but a response, is an error). */
function xmlRpcInts(body) {
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
async function saasRow({ parsedUrl, adminUrl, commonEnv, dbName }) {
  const name = `${dbName}_saas`;
  {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    saasDb = { name, adminUrl };
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
    saasDb = undefined;
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

// ---------------------------------------------------------------------------------------------
// REMP CRM family codes (rows 10 and 11), on a database of their own

const DAY_MS = 86_400_000;
const PARENT_TYPE = 'bench_company_year';
const CHILD_TYPE = 'bench_member_year';

/**
 * Runs fn over every item with `conc` calls in flight (a worker takes the next item as soon as its call
 * answers); each call's latency and the wall time of the whole. The first error stops the workers.
 */
async function inFlight(items, conc, fn) {
  const lat = new Array(items.length);
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      const t = performance.now();
      try {
        await fn(items[i]);
      } catch (e) {
        next = items.length;
        throw e;
      }
      lat[i] = performance.now() - t;
    }
  };
  await Promise.all(Array.from({ length: Math.min(conc, items.length) }, worker));
  return { ms: performance.now() - t0, lat };
}

/** End users with one access token each, straight into the tables (scrypt sign-ups would dominate the setup). */
async function crmUsers(db, n, tag) {
  const { rows } = await db.query(
    `insert into users (role, client_id, reseller_id, login, email, name)
     select 'end_user', null, null, $1::text || '-' || g || '@crm.bench.test', $1::text || '-' || g || '@crm.bench.test', null from generate_series(1, $2::int) g
     returning id::int as id, login`,
    [tag, n],
  );
  const users = rows.map((r) => ({ id: r.id, email: r.login, token: crypto.randomBytes(24).toString('base64url') }));
  const digest = (t) => crypto.createHash('sha256').update(t).digest('hex');
  await db.query('insert into user_access_tokens (user_id, token_digest) select * from unnest($1::int8[], $2::text[])', [users.map((u) => u.id), users.map((u) => digest(u.token))]);
  return users;
}

/**
 * Rows 10 and 11 on a database of their own (hostplane_bench_<random>_crm) with its own Hostplane: a
 * subscription type with a family type of count FAMILY_CODES (copy, paid) and an API token granted
 * POST /api/v1/subscriptions/create, made through the operator API; end users and their tokens by SQL.
 */
async function crmRows({ parsedUrl, adminUrl, commonEnv, dbName }) {
  const name = `${dbName}_crm`;
  {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    crmDb = { name, adminUrl };
    await admin.query(`create database "${name}"`);
    await admin.end();
  }
  const url = new URL(parsedUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostplane-bench-crm-'));
  tempDirs.push(dataDir);
  const port = await freePort();
  const server = startProcess('hostplane-crm', ['dist/main.js', 'serve'], { ...commonEnv, DATABASE_URL: databaseUrl, PORT: String(port), HOSTPLANE_DATA_DIR: dataDir, HOSTPLANE_DEMO: 'off' });
  await waitHealthy(server, port, 30_000);
  const operator = { authorization: `Bearer ${fs.readFileSync(path.join(dataDir, 'operator-key'), 'utf8').trim()}` };
  log(`crm: database ${name}, hostplane up on :${port}`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const admin = async (p, body) => {
    const r = await request(port, { method: 'POST', path: p, headers: operator, body, agent });
    if (r.status !== 201) throw new Error(`POST ${p} answered ${r.status}: ${r.body.slice(0, 500)}`);
    return JSON.parse(r.body);
  };
  const parentType = await admin('/admin/v1/subscription-types', { code: PARENT_TYPE, name: 'Bench company', length: 365, access: ['web'] });
  const childType = await admin('/admin/v1/subscription-types', { code: CHILD_TYPE, name: 'Bench member', length: 365, access: ['web'] });
  const familyType = await admin('/admin/v1/family-types', { parent: PARENT_TYPE, child: CHILD_TYPE, method: 'copy', count: FAMILY_CODES, is_paid: true });
  const apiToken = (await admin('/admin/v1/api-tokens', { name: 'bench', allow: ['/api/v1/subscriptions/create'] })).token;

  const db = new pg.Client({ connectionString: databaseUrl, statement_timeout: 120_000 });
  db.on('error', () => {}); // dropping the database on failure ends this connection; the failure is reported already
  await db.connect();
  const parents = await crmUsers(db, 2 * (PARENT_WARMUP + PARENT_ROUNDS) + 2 * (1 + ACT_ROUNDS) + 1, 'parent');
  const ctx = { db, databaseUrl, port, server, apiToken, parentType, childType, familyType, parents, nextParent: 0 };

  /** POST /api/v1/subscriptions/create for a parent user who has none yet; the answer checked; its wall time. */
  ctx.createParent = async (user) => {
    const t = performance.now();
    const r = await request(port, { method: 'POST', path: '/api/v1/subscriptions/create', headers: { authorization: `Bearer ${apiToken}` }, body: { email: user.email, subscription_type_id: parentType.id, is_paid: true }, agent });
    const ms = performance.now() - t;
    const b = r.status === 200 ? JSON.parse(r.body) : undefined;
    const s = b?.subscriptions;
    if (b?.status !== 'ok' || b.message !== 'Subscription created' || !Number.isSafeInteger(s?.id) || s.code !== PARENT_TYPE || s.is_paid !== true || s.type !== 'regular' || !s.start_time || !s.end_time) {
      throw new Error(`POST /api/v1/subscriptions/create answered ${r.status}: ${r.body.slice(0, 500)}`);
    }
    return { id: s.id, ms };
  };
  /** The subscription is the user's parent subscription of the type and has exactly FAMILY_CODES unused codes of the child type. */
  ctx.checkCodes = async (subId, user) => {
    const { rows } = await db.query(
      `select (select count(*)::int from subscriptions where id = $1 and user_id = $2 and subscription_type_id = $3 and is_paid) as subs,
              count(*)::int as n, count(distinct code)::int as codes,
              count(*) filter (where status = 'created' and code ~ '^[0-9a-z]{32}$' and master_user_id = $2 and family_subscription_type_id = $4 and subscription_type_id = $5 and slave_user_id is null)::int as ok
       from family_requests where master_subscription_id = $1`,
      [subId, user.id, parentType.id, familyType.id, childType.id],
    );
    const c = rows[0];
    if (c.subs !== 1 || c.n !== FAMILY_CODES || c.codes !== FAMILY_CODES || c.ok !== FAMILY_CODES) throw new Error(`parent subscription ${subId}: ${JSON.stringify(c)} (expected 1 subscription and exactly ${FAMILY_CODES} distinct unused codes)`);
  };
  ctx.parent = () => {
    if (ctx.nextParent >= parents.length) throw new Error('crm: out of parent users');
    return parents[ctx.nextParent++];
  };

  try {
    if (want(10)) await parentRow(ctx);
    if (want(11)) await activationRows(ctx);
  } finally {
    await db.end().catch(() => {});
    agent.destroy();
  }
  await stopProcess(server);
  {
    const a = new pg.Client({ connectionString: adminUrl });
    await a.connect();
    await a.query(`drop database "${name}" with (force)`);
    await a.end();
    crmDb = undefined;
  }
}

/**
 * Row 10: one POST /api/v1/subscriptions/create of a parent subscription whose family type has count
 * FAMILY_CODES (Hostplane generates the codes in the same transaction), against a bare pg client's
 * transaction inserting the same rows: the subscription, then one multi-row INSERT of the FAMILY_CODES
 * family requests with the columns Hostplane writes, codes made by the same function (dist/). A fresh
 * parent user per run; PARENT_WARMUP untimed runs per side, then PARENT_ROUNDS alternating rounds.
 */
async function parentRow(ctx) {
  const { db, databaseUrl, server, parentType, childType, familyType } = ctx;
  const { generateFamilyCode } = await import(pathToFileURL(path.join(ROOT, 'dist/core/family/family.service.js')).href);
  const floorDb = new pg.Client({ connectionString: databaseUrl, statement_timeout: 120_000 });
  floorDb.on('error', () => {});
  await floorDb.connect();
  const cols = 7;
  const codesSql = {
    name: 'bench_family_codes',
    text:
      'insert into family_requests (code, master_user_id, master_subscription_id, family_subscription_type_id, subscription_type_id, created_at, updated_at) values ' +
      Array.from({ length: FAMILY_CODES }, (_, i) => `(${Array.from({ length: cols }, (__, k) => `$${i * cols + k + 1}`).join(', ')})`).join(', '),
  };
  const subSql = {
    name: 'bench_parent_subscription',
    text: 'insert into subscriptions (user_id, subscription_type_id, start_time, end_time, is_paid, type, note, meta, payment_id, created_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning id::int as id',
  };
  const ours = async () => {
    const user = ctx.parent();
    const c0 = cpuSeconds(server.pid);
    const pg0 = postgresCpu();
    const { id, ms } = await ctx.createParent(user);
    const cpu = cpuSeconds(server.pid) - c0;
    const pgCpu = postgresCpuSince(pg0);
    await ctx.checkCodes(id, user);
    return { ms, cpu, pgCpu };
  };
  const floor = async () => {
    const user = ctx.parent();
    const pg0 = postgresCpu();
    const t = performance.now();
    const now = new Date();
    await floorDb.query('begin');
    const { rows } = await floorDb.query({ ...subSql, values: [user.id, parentType.id, now, new Date(now.getTime() + 365 * DAY_MS), true, 'regular', null, '{}', null, now] });
    const subId = rows[0].id;
    const values = new Array(FAMILY_CODES * cols);
    for (let i = 0; i < FAMILY_CODES; i++) {
      const o = i * cols;
      values[o] = generateFamilyCode();
      values[o + 1] = user.id;
      values[o + 2] = subId;
      values[o + 3] = familyType.id;
      values[o + 4] = childType.id;
      values[o + 5] = now;
      values[o + 6] = now;
    }
    await floorDb.query({ ...codesSql, values });
    await floorDb.query('commit');
    const ms = performance.now() - t;
    const pgCpu = postgresCpuSince(pg0);
    await ctx.checkCodes(subId, user);
    return { ms, pgCpu };
  };
  const warm = { ours: [], floor: [] };
  for (let i = 0; i < PARENT_WARMUP; i++) {
    warm.ours.push(await ours());
    warm.floor.push(await floor());
  }
  const res = { ours: [], floor: [] };
  for (let round = 0; round < PARENT_ROUNDS; round++) {
    for (const side of round % 2 === 0 ? ['ours', 'floor'] : ['floor', 'ours']) res[side].push(side === 'ours' ? await ours() : await floor());
  }
  // What generating the codes alone costs (both sides do it inside their timing).
  const gen = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    for (let j = 0; j < FAMILY_CODES; j++) generateFamilyCode();
    gen.push(performance.now() - t);
  }
  await floorDb.end();
  const { rows: size } = await db.query(`select count(*)::int as n, pg_total_relation_size('family_requests')::float8 as bytes from family_requests`);
  const oursMs = median(res.ours.map((r) => r.ms));
  const floorMs = median(res.floor.map((r) => r.ms));
  const ratio = oursMs / floorMs;
  const per = (rs, k) => fmt.ms((rs.reduce((a, r) => a + r[k], 0) / rs.length) * 1000);
  log(`crm: parent with ${FAMILY_CODES} codes: ours ${res.ours.map((r) => r.ms.toFixed(0)).join('/')} ms, floor ${res.floor.map((r) => r.ms.toFixed(0)).join('/')} ms`);
  addRow(10, `subscriptions/create: parent with ${FAMILY_CODES.toLocaleString('en')} family codes`, fmt.ms(oursMs), `${fmt.ms(floorMs)} (SQL INSERT)`, ratio, '<= 3.00x', ratio <= 3);
  notes.push(
    ...[
      `Parent subscription: ours = POST /api/v1/subscriptions/create {email, subscription_type_id, is_paid} with an API token granted that endpoint, one call at a time on a keep-alive connection, a fresh parent user each; ` +
        `floor = a bare pg client's BEGIN, INSERT of the subscription (RETURNING id), one INSERT ... VALUES of the ${FAMILY_CODES} family requests (same 7 columns, ${FAMILY_CODES * cols} parameters, named statement), COMMIT, codes made by generateFamilyCode from dist/ inside the timing; ` +
        `${PARENT_WARMUP} untimed runs per side (ours ${warm.ours.map((r) => r.ms.toFixed(0)).join(', ')} ms, floor ${warm.floor.map((r) => r.ms.toFixed(0)).join(', ')} ms), then ${PARENT_ROUNDS} alternating rounds: ` +
        `ours ${res.ours.map((r) => r.ms.toFixed(0)).join(', ')} ms, floor ${res.floor.map((r) => r.ms.toFixed(0)).join(', ')} ms (medians compared); every run, either side, checked to leave exactly ${FAMILY_CODES} distinct unused codes of the child type.`,
      `Parent subscription: CPU per run, Hostplane process ${per(res.ours, 'cpu')}; PostgreSQL ours ${per(res.ours, 'pgCpu')} vs floor ${per(res.floor, 'pgCpu')}; ` +
        `generating ${FAMILY_CODES} codes alone ${fmt.ms(median(gen))} (median of 5, in the bench process); family_requests afterwards ${size[0].n} rows, ${fmt.mb(size[0].bytes)} with indexes.`,
    ].map((text) => ({ order: 10, text })),
  );
}

/**
 * Row 11: POST /api/v1/family/activate with ACT_CONC in flight, each activation by a user of its own
 * (access token) on a code of its own, against a bare pg pool of ACT_POOL connections making the same
 * changes (token look-up; then in one transaction the status-guarded UPDATE of the code joined with
 * its unexpired parent subscription, the child subscription's INSERT, the code's link to it) with as
 * many in flight. One parent subscription's codes per round, ACT_WARMUP untimed activations per side,
 * then ACT_ROUNDS alternating rounds of ACT_PER_ROUND. Then the single-code race: RACE_REPS times,
 * RACE_USERS users activate one code at once; exactly one must succeed, or the bench fails.
 */
async function activationRows(ctx) {
  const { db, databaseUrl, port, server, childType } = ctx;
  const perSide = ACT_WARMUP + ACT_ROUNDS * ACT_PER_ROUND;
  const t0 = performance.now();
  const users = await crmUsers(db, 2 * perSide + RACE_REPS * RACE_USERS, 'member');
  const codesOf = async (subId) => (await db.query("select code from family_requests where master_subscription_id = $1 and status = 'created' order by id", [subId])).rows.map((r) => r.code);
  const batch = async () => {
    const { id } = await ctx.createParent(ctx.parent());
    return codesOf(id);
  };
  let nextUser = 0;
  const assign = (codes) =>
    codes.map((code) => {
      if (nextUser >= users.length) throw new Error('crm: out of member users');
      return { code, user: users[nextUser++] };
    });
  const plan = { ours: [], floor: [] };
  for (const side of ['ours', 'floor']) {
    plan[side].push(assign((await batch()).slice(0, ACT_WARMUP)));
    for (let r = 0; r < ACT_ROUNDS; r++) plan[side].push(assign((await batch()).slice(0, ACT_PER_ROUND)));
  }
  const raceCodes = (await batch()).slice(0, RACE_REPS);
  await db.query('vacuum (analyze) users, user_access_tokens, subscriptions, family_requests');
  log(`crm: ${users.length} member users with tokens and ${2 * (1 + ACT_ROUNDS) + 1} parent subscriptions ready in ${fmt.ms(performance.now() - t0)}`);

  // --- ours: HTTP, ACT_CONC keep-alive connections ------------------------------------------------
  const actAgent = new http.Agent({ keepAlive: true, maxSockets: ACT_CONC });
  const activate = (token, code, a) => request(port, { method: 'POST', path: '/api/v1/family/activate', headers: { authorization: `Bearer ${token}` }, body: JSON.stringify({ code }), agent: a });
  const oursOne = async ({ code, user }) => {
    const r = await activate(user.token, code, actAgent);
    const b = r.status === 201 ? JSON.parse(r.body) : undefined;
    if (b?.code !== code || b.subscription?.code !== CHILD_TYPE || !b.subscription.start_at) throw new Error(`POST /api/v1/family/activate ${code} answered ${r.status}: ${r.body.slice(0, 500)}`);
  };

  // --- floor: a bare pg pool, the same changes ----------------------------------------------------
  const pool = new pg.Pool({ connectionString: databaseUrl, max: ACT_POOL });
  pool.on('error', () => {});
  const q = {
    auth: 'select u.id::int as id from user_access_tokens t join users u on u.id = t.user_id where t.token_digest = $1 and t.revoked_at is null and u.disabled_at is null',
    accept: `update family_requests r set status = 'accepted', slave_user_id = $2, accepted_at = now(), updated_at = now()
             from subscriptions m where r.code = $1 and r.status = 'created' and m.id = r.master_subscription_id and m.end_time > now()
             returning r.id::int as id, r.subscription_type_id::int as type_id, r.master_subscription_id::int as master_id, m.start_time, m.end_time`,
    child: `insert into subscriptions (user_id, subscription_type_id, start_time, end_time, is_paid, type, note, meta, payment_id, created_at)
            values ($1, $2, $3, $4, true, 'family', null, $5, null, now()) returning id::int as id`,
    link: 'update family_requests set slave_subscription_id = $2 where id = $1',
  };
  const floorOne = async ({ code, user }) => {
    const { rows: who } = await pool.query({ name: 'bench_act_auth', text: q.auth, values: [crypto.createHash('sha256').update(user.token).digest('hex')] });
    if (who.length !== 1) throw new Error(`floor activate: token of user ${user.id} not found`);
    const c = await pool.connect();
    try {
      await c.query('begin');
      const { rows } = await c.query({ name: 'bench_act_accept', text: q.accept, values: [code, who[0].id] });
      if (rows.length !== 1) throw new Error(`floor activate: code ${code} not taken`);
      const r = rows[0];
      const { rows: sub } = await c.query({ name: 'bench_act_child', text: q.child, values: [who[0].id, r.type_id, r.start_time, r.end_time, JSON.stringify({ family_request_id: String(r.id), master_subscription_id: String(r.master_id) })] });
      await c.query({ name: 'bench_act_link', text: q.link, values: [r.id, sub[0].id] });
      await c.query('commit');
    } catch (e) {
      await c.query('rollback').catch(() => {});
      throw e;
    } finally {
      c.release();
    }
  };

  /** Every code of the run accepted by its user, linked to a family subscription of that user and the child type. */
  const checkActivated = async (items) => {
    const { rows } = await db.query(
      `select count(*)::int as n from unnest($1::text[], $2::int8[]) as x(code, uid)
       join family_requests r on r.code = x.code and r.status = 'accepted' and r.slave_user_id = x.uid
       join subscriptions s on s.id = r.slave_subscription_id and s.user_id = x.uid and s.type = 'family' and s.subscription_type_id = $3`,
      [items.map((i) => i.code), items.map((i) => i.user.id), childType.id],
    );
    if (rows[0].n !== items.length) throw new Error(`activations: only ${rows[0].n} of ${items.length} codes accepted with their child subscription`);
  };
  const run = async (side, items) => {
    globalThis.gc?.();
    const c0 = cpuSeconds(server.pid);
    const self0 = cpuSeconds('self');
    const pg0 = postgresCpu();
    const r = await inFlight(items, ACT_CONC, side === 'ours' ? oursOne : floorOne);
    const out = { n: items.length, ms: r.ms, lat: r.lat, cpu: side === 'ours' ? cpuSeconds(server.pid) - c0 : cpuSeconds('self') - self0, pgCpu: postgresCpuSince(pg0) };
    await checkActivated(items);
    return out;
  };
  const warm = { ours: await run('ours', plan.ours[0]), floor: await run('floor', plan.floor[0]) };
  const res = { ours: [], floor: [] };
  for (let round = 0; round < ACT_ROUNDS; round++) {
    for (const side of round % 2 === 0 ? ['ours', 'floor'] : ['floor', 'ours']) {
      const r = await run(side, plan[side][round + 1]);
      res[side].push(r);
      log(`crm: activations round ${round + 1} ${side}: ${r.n} in ${r.ms.toFixed(0)} ms = ${((r.n / r.ms) * 1000).toFixed(0)}/s, p99 ${fmt.ms(percentile(r.lat, 99))}`);
    }
  }
  await pool.end();
  actAgent.destroy();

  // --- the single-code race -----------------------------------------------------------------------
  const raceAgent = new http.Agent({ keepAlive: true, maxSockets: RACE_USERS });
  // Open every connection first, so the race is one of activations, not of TCP handshakes.
  await Promise.all(Array.from({ length: RACE_USERS }, () => request(port, { path: '/healthz', agent: raceAgent })));
  const races = [];
  for (let rep = 0; rep < RACE_REPS; rep++) {
    const code = raceCodes[rep];
    const racers = users.slice(nextUser, nextUser + RACE_USERS);
    nextUser += RACE_USERS;
    const t = performance.now();
    const answers = await Promise.all(
      racers.map(async (u) => {
        const r = await activate(u.token, code, raceAgent);
        let reason;
        try {
          reason = JSON.parse(r.body).code;
        } catch {
          // not JSON: counted as a wrong answer below
        }
        return { user: u, status: r.status, reason, ms: performance.now() - t };
      }),
    );
    const ms = performance.now() - t;
    const wins = answers.filter((a) => a.status === 201);
    const tally = {};
    for (const a of answers) {
      const k = a.status === 201 ? '201' : `${a.status} ${a.reason ?? ''}`.trim(); // a 201's body names the code, not a reason
      tally[k] = (tally[k] ?? 0) + 1;
    }
    const wrong = answers.filter((a) => a.status !== 201 && !(a.status === 409 && a.reason === 'family_request_wrong_status'));
    if (wins.length !== 1 || wrong.length) throw new Error(`single-code race ${rep + 1}: ${wins.length} of ${RACE_USERS} concurrent activations of code ${code} succeeded (exactly 1 expected, the others 409 family_request_wrong_status); answers: ${JSON.stringify(tally)}`);
    const { rows } = await db.query(
      `select (select count(*)::int from family_requests where code = $1 and status = 'accepted' and slave_user_id = $2 and slave_subscription_id is not null) as accepted,
              (select count(*)::int from subscriptions where user_id = any($3::int8[])) as subs`,
      [code, wins[0].user.id, racers.map((u) => u.id)],
    );
    if (rows[0].accepted !== 1 || rows[0].subs !== 1) throw new Error(`single-code race ${rep + 1}: the database holds ${rows[0].accepted} acceptance by the winner and ${rows[0].subs} subscriptions among the ${RACE_USERS} racers (1 and 1 expected)`);
    races.push({ ms, winMs: wins[0].ms, tally });
  }
  raceAgent.destroy();

  const rate = (rs) => (rs.reduce((a, r) => a + r.n, 0) / rs.reduce((a, r) => a + r.ms, 0)) * 1000;
  const tallyText = (t) =>
    Object.keys(t)
      .sort()
      .map((k) => `${t[k]} x ${k}`)
      .join(', ');
  const lats = (rs) => rs.flatMap((r) => r.lat);
  const perAct = (rs, k) => fmt.ms((rs.reduce((a, r) => a + r[k], 0) / rs.reduce((a, r) => a + r.n, 0)) * 1000);
  const oursRate = rate(res.ours);
  const floorRate = rate(res.floor);
  log(`crm: activations ours ${oursRate.toFixed(0)}/s, floor ${floorRate.toFixed(0)}/s; races ${races.map((r) => r.ms.toFixed(0)).join('/')} ms`);
  addRow(11, `family/activate, ${ACT_CONC} concurrent users on distinct codes`, `${oursRate.toFixed(0)} act/s`, `${floorRate.toFixed(0)} act/s (SQL pool)`, oursRate / floorRate, '>= 0.50x', oursRate / floorRate >= 0.5);
  addRow(11, '  same, latency p50 / p99', `${fmt.ms(percentile(lats(res.ours), 50))} / ${fmt.ms(percentile(lats(res.ours), 99))}`, `${fmt.ms(percentile(lats(res.floor), 50))} / ${fmt.ms(percentile(lats(res.floor), 99))}`, undefined, 'info', undefined);
  addRow(11, `single-code race: ${RACE_USERS} concurrent activations of one code`, `1 success in each of ${RACE_REPS}`, '-', undefined, 'exactly 1', true);
  addRow(11, '  same, all answered (median of races)', fmt.ms(median(races.map((r) => r.ms))), '-', undefined, 'info', undefined);
  notes.push(
    ...[
      `Activations: ours = POST /api/v1/family/activate {"code"} with the user's access token, ${ACT_CONC} in flight on ${ACT_CONC} keep-alive connections, each activation by a user of its own on a code of its own (users and tokens inserted by SQL, codes from parent subscriptions made through the API, untimed); ` +
        `floor = a bare pg pool of ${ACT_POOL} (Hostplane's size) in the bench process, no HTTP, ${ACT_CONC} in flight: the token look-up, then BEGIN, the status-guarded UPDATE of the code joined with its unexpired parent subscription, INSERT of the child subscription, UPDATE linking the code to it, COMMIT (no audit rows, none of the original's read-only checks); ` +
        `${ACT_WARMUP} untimed activations per side (ours ${((warm.ours.n / warm.ours.ms) * 1000).toFixed(0)}/s, floor ${((warm.floor.n / warm.floor.ms) * 1000).toFixed(0)}/s), then ${ACT_ROUNDS} alternating rounds of ${ACT_PER_ROUND}: ` +
        `ours ${res.ours.map((r) => ((r.n / r.ms) * 1000).toFixed(0)).join(', ')}/s, floor ${res.floor.map((r) => ((r.n / r.ms) * 1000).toFixed(0)).join(', ')}/s; rate = activations / wall time over the rounds; every answer checked (201, the code, the child type) and every code checked accepted by its user with the child subscription. ` +
        `CPU per activation: Hostplane process ${perAct(res.ours, 'cpu')} (the floor's pg client in the bench process ${perAct(res.floor, 'cpu')}), PostgreSQL ours ${perAct(res.ours, 'pgCpu')} vs floor ${perAct(res.floor, 'pgCpu')}. Target >= 0.50x (issue 14); the floor has no HTTP.`,
      `Single-code race: ${RACE_REPS} races, each ${RACE_USERS} users (${RACE_USERS} connections opened beforehand) sending POST /api/v1/family/activate for one fresh code at once; answers per race: ${races.map((r) => tallyText(r.tally)).join('; ')}; ` +
        `the database checked to hold one acceptance by the winner and one subscription among the racers; ` +
        `all answered after ${races.map((r) => r.ms.toFixed(0)).join(', ')} ms, the winner's 201 after ${races.map((r) => r.winMs.toFixed(0)).join(', ')} ms.`,
    ].map((text) => ({ order: 11, text })),
  );
}

async function main() {
  const busy0 = machineBusy();
  const pgAll0 = postgresCpu();
  const self0 = cpuSeconds('self', true); // the bench (autocannon included) and its reaped children
  const wall0 = performance.now();
  const parsedUrl = new URL(process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres');
  if (!['127.0.0.1', 'localhost'].includes(parsedUrl.hostname)) throw new Error(`DATABASE_URL must point at 127.0.0.1 (got ${parsedUrl.hostname})`);
  parsedUrl.hostname = '127.0.0.1';
  const adminUrl = parsedUrl.toString();
  const facts = await machineFacts(adminUrl);

  const baseEnv = { ...process.env };
  delete baseEnv.DATABASE_URL;
  delete baseEnv.NODE_OPTIONS;
  const commonEnv = { ...baseEnv, HOST, HOSTPLANE_LOG_LEVEL: 'warn', HOSTPLANE_RELAY_HOSTS: RELAY_HOSTS, HOSTPLANE_RELAY_PRIORITY_STEP: String(RELAY_STEP) };

  if (want(4)) await embeddedRow(commonEnv);

  const dbName = `hostplane_bench_${crypto.randomBytes(6).toString('hex')}`;
  {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    benchDb = { name: dbName, adminUrl };
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
    addRow(1, 'GET /v1/clients/:id: throughput', fmt.rps(res.ours.rps), fmt.rps(res.floor.rps), tput, '>= 0.70x', tput >= 0.7);
    addRow(1, 'GET /v1/clients/:id: p99 latency', fmt.ms(res.ours.p99), fmt.ms(res.floor.p99), p99, '<= 1.50x', p99 <= 1.5);
    notes.push({ order: 1, text: `GET /v1/clients/:id: p50 ours ${fmt.ms(res.ours.p50)}, floor ${fmt.ms(res.floor.p50)}; ${cpuNote(res)}; ${res.ours.ok} + ${res.floor.ok} measured requests.` });
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
    addRow(3, 'POST /v1/clients (2 domains): throughput', fmt.rps(res.ours.rps), fmt.rps(res.floor.rps), tput, '>= 0.50x', tput >= 0.5);
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

  // Row 12: a mixed load with heavy collect calls, on a PGlite server and on a database of its own.
  if (want(12)) {
    const helpers = { HOST, log, request, freePort, startProcess, stopProcess, waitHealthy, tempDirs, median, percentile, fmt, addRow, notes };
    const pgDatabase = async (suffix) => {
      const name = `${dbName}_${suffix}`;
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      mixedDb = { name, adminUrl };
      await admin.query(`create database "${name}"`);
      await admin.end();
      const url = new URL(parsedUrl);
      url.pathname = `/${name}`;
      return url.toString();
    };
    await mixedLoadRow(helpers, { commonEnv, pgDatabase });
  }

  // Row 9: its own database and Hostplane (100,000 instances), dropped before rows 7 and 8 start.
  if (want(9)) await saasRow({ parsedUrl, adminUrl, commonEnv, dbName });

  // Rows 10 and 11: their own database and Hostplane (family codes), dropped before rows 7 and 8 start.
  if (want(10) || want(11)) await crmRows({ parsedUrl, adminUrl, commonEnv, dbName });

  // Rows 7 and 8, last: their own database and Hostplane, so the 1M sites change nothing the other rows measure.
  if (want(7) || want(8)) await sitesRows({ parsedUrl, adminUrl, commonEnv, dbName });

  // How much of the machine other processes took meanwhile (noise that hits both sides).
  {
    const mine = cpuSeconds('self', true) - self0 + postgresCpuSince(pgAll0);
    const busy = machineBusy() - busy0;
    const capacity = ((performance.now() - wall0) / 1000) * os.cpus().length;
    facts.foreign = Math.max(0, (busy - mine) / capacity);
    facts.busy = busy / capacity;
  }

  await cleanup();
  printTable(facts);
}

const cpuNote = (res) =>
  `CPU per request: server process ours ${res.ours.serverUs.toFixed(0)} us vs floor ${res.floor.serverUs.toFixed(0)} us, ` +
  `PostgreSQL ours ${res.ours.pgUs.toFixed(0)} us vs floor ${res.floor.pgUs.toFixed(0)} us`;

function checkClean(label, res) {
  for (const [name, r] of Object.entries(res)) {
    if (r.bad || r.errors) throw new Error(`${label}: ${name} had ${r.bad} non-2xx answers ${JSON.stringify(r.badCodes)} and ${r.errors} errors/timeouts`);
  }
}

function printTable(facts) {
  const header = { case: 'case', ours: 'ours', floor: 'floor', ratio: 'ratio', target: 'target', result: 'result' };
  const cells = [...rows].sort((a, b) => a.order - b.order).map((r) => ({ ...r, ratio: r.ratio === undefined ? '-' : fmt.x(r.ratio) }));
  const cols = Object.keys(header);
  const width = Object.fromEntries(cols.map((c) => [c, Math.max(header[c].length, ...cells.map((r) => String(r[c]).length))]));
  const line = (r) => `| ${cols.map((c) => String(r[c]).padEnd(width[c])).join(' | ')} |`;
  const out = [
    '',
    `Hostplane bench: ${facts.cpu}, ${facts.cores} cores, ${facts.memory} RAM, Linux ${facts.kernel}, Node ${facts.node}, PostgreSQL ${facts.postgres}`,
    `load: autocannon in the bench process, ${CONNECTIONS} connections, ${WARMUP_S}s warm-up each, ${ROUNDS} alternating rounds x ${ROUND_S}s per side; ` +
      `1-min load average ${loadAtStart.toFixed(2)} at start; CPU busy during the run ${(facts.busy * 100).toFixed(0)}% of ${facts.cores} cores, of which other processes (not the bench, its servers or PostgreSQL) ${(facts.foreign * 100).toFixed(0)}%; bench took ${((performance.now() - startedAt) / 1000).toFixed(0)}s`,
    '',
    line(header),
    `|${cols.map((c) => '-'.repeat(width[c] + 2)).join('|')}|`,
    ...cells.map(line),
    '',
    ...[...notes].sort((a, b) => a.order - b.order).map((n) => `- ${n.text}`),
    '',
  ];
  if (ONLY_ROWS) out.push(`Only rows ${[...ONLY_ROWS].join(', ')} ran (BENCH_ROWS); the others were left out.`, '');
  process.stdout.write(out.join('\n'));
  const failed = rows.filter((r) => r.result === 'FAIL').length;
  process.stdout.write(failed ? `${failed} target(s) missed.\n` : 'All targets met.\n');
}

main().then(
  () => process.exit(0),
  (err) => fail(err),
);
