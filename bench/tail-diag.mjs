// Diagnostics for the tail of rows 1 and 13 (never run by `npm run bench`): starts Hostplane (PostgreSQL
// mode), the floor and the limit on a fresh seeded database, each with a preload that counts GCs and
// event-loop delay and with --trace-gc-nvp, then loads them alternately and prints, per run, figures
// machine noise hardly moves: bytes allocated per request, scavenges and mark-compacts per 10k requests,
// CPU per request, and the GC pauses, beside the latencies.
//   node bench/tail-diag.mjs [seconds per run] [runs per side]
// DIAG_OURS_FLAGS / DIAG_FLOOR_FLAGS: extra node flags for Hostplane / the floors (space-separated).
// DIAG_GC_DUMP=<dir>: also append each run's --trace-gc-nvp lines to <dir>/<side>.gc, and all its output to <dir>/<side>.out.
// DIAG_TARGETS: which of ours,floor,limit to load (default all three). DIAG_ENV_<NAME>: extra env for ours.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { dbs, tempDirs, freePort, startProcess, stopProcess, cleanup, installFailHandlers, fail } from './lib/children.mjs';
import { request, waitHealthy } from './lib/http.mjs';
import { percentile } from './lib/stats.mjs';
import { HOST, CONNECTIONS, RELAY_HOSTS, RELAY_STEP, PACKAGE_UID, log, sleep } from './lib/core.mjs';

const SECONDS = Number(process.argv[2] ?? 4);
const RUNS = Number(process.argv[3] ?? 3);
const CLIENTS = 10_000;
const preload = path.join(path.dirname(fileURLToPath(import.meta.url)), 'lib', 'diag-preload.mjs');
const flags = (v) => (v ? v.split(' ').filter(Boolean) : []);
const diagFlags = ['--trace-gc-nvp', '--import', preload];

installFailHandlers(60_000 + RUNS * 3 * (SECONDS + 3) * 1000 + 60_000);

async function main() {
  const adminUrl = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
  const dbName = `hostplane_diag_${crypto.randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  dbs.diag = { name: dbName, adminUrl };
  await admin.query(`create database "${dbName}"`);
  await admin.end();
  const u = new URL(adminUrl);
  u.pathname = `/${dbName}`;
  const databaseUrl = u.toString();
  const env = { ...process.env, HOST, HOSTPLANE_LOG_LEVEL: 'warn', HOSTPLANE_RELAY_HOSTS: RELAY_HOSTS, HOSTPLANE_RELAY_PRIORITY_STEP: String(RELAY_STEP), DATABASE_URL: databaseUrl };
  delete env.NODE_OPTIONS;
  const extra = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('DIAG_ENV_')).map(([k, v]) => [k.slice(9), v]));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostplane-diag-'));
  tempDirs.push(dataDir);

  const targets = {};
  const start = async (name, args, e) => {
    const port = await freePort();
    const child = startProcess(name, args, { ...e, PORT: String(port) });
    child.out = '';
    child.stdout.on('data', (b) => (child.out += b.toString()));
    await waitHealthy(child, port, 30_000);
    targets[name] = { name, port, child };
  };
  await start('ours', [...diagFlags, ...flags(process.env.DIAG_OURS_FLAGS), 'dist/main.js', 'serve'], { ...env, HOSTPLANE_DATA_DIR: dataDir, HOSTPLANE_DEMO: 'off', ...extra });
  const operatorKey = fs.readFileSync(path.join(dataDir, 'operator-key'), 'utf8').trim();
  const demo = await request(targets.ours.port, { method: 'POST', path: '/admin/v1/demo', headers: { authorization: `Bearer ${operatorKey}` } });
  const reseller = JSON.parse(demo.body).reseller;
  const auth = { authorization: `Basic ${Buffer.from(`${reseller.api_token}:${reseller.api_key}`).toString('base64')}` };
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const { rows: plan } = await db.query('select id from plans where uid = $1', [PACKAGE_UID]);
  await db.query(
    `insert into clients (reseller_id, plan_id, name, email_address, user_count, status)
     select $1, $2, 'Bench Client ' || g, 'client' || g || '@bench.test', 1 + g % 50, 'active' from generate_series(1, $3::int) g`,
    [reseller.id, plan[0].id, CLIENTS],
  );
  await db.query(
    `insert into domains (client_id, reseller_id, name, position, status, mail_servers)
     select c.id, c.reseller_id, 'c' || c.id || '-' || k || '.bench.test', k, 'ready',
            case when k = 0 then array['mail.c' || c.id || '.bench.test'] else '{}'::text[] end
     from clients c cross join generate_series(0, 1) k where c.reseller_id = $1`,
    [reseller.id],
  );
  await db.query('analyze');
  const { rows: r } = await db.query('select min(id)::int as lo, max(id)::int as hi from clients where reseller_id = $1', [reseller.id]);
  const { lo, hi } = r[0];
  await db.end();
  const want = (process.env.DIAG_TARGETS ?? 'ours,floor,limit').split(',');
  const floorFlags = [...diagFlags, ...flags(process.env.DIAG_FLOOR_FLAGS)];
  if (want.includes('floor')) await start('floor', [...floorFlags, 'bench/floor.mjs'], env);
  if (want.includes('limit')) await start('limit', [...floorFlags, 'bench/floor-limit.mjs'], env);

  const mark = async (t) => {
    const before = t.child.out.length;
    t.child.kill('SIGUSR2');
    for (let i = 0; i < 200 && !t.child.out.slice(before).includes('DIAG_MARK'); i++) await sleep(5);
    const tail = t.child.out.slice(before);
    const line = tail.slice(tail.indexOf('DIAG_MARK ') + 10).split('\n')[0];
    return { at: t.child.out.length, stats: JSON.parse(line) };
  };
  // DIAG_PATH=/healthz (say) loads that path instead, to tell the HTTP layers from the rest.
  const setupRequest = (req) => ({ ...req, method: 'GET', path: process.env.DIAG_PATH ?? `/v1/clients/${lo + Math.floor(Math.random() * (hi - lo + 1))}` });
  const load = (t, seconds) =>
    new Promise((resolve, reject) => {
      const lat = [];
      let ok = 0;
      const inst = autocannon({ url: `http://${HOST}:${t.port}`, connections: CONNECTIONS, duration: seconds, headers: auth, requests: [{ method: 'GET', path: '/', setupRequest }] }, (err) =>
        err ? reject(err) : resolve({ ok, lat }),
      );
      inst.on('response', (_c, code, _b, ms) => {
        if (code === 200 || (process.env.DIAG_PATH && code < 500)) {
          ok++;
          lat.push(ms);
        }
      });
    });
  const results = Object.fromEntries(want.map((n) => [n, []]));
  for (const name of want) await load(targets[name], 2); // warm-up
  for (let run = 0; run < RUNS; run++) {
    for (const name of run % 2 ? [...want].reverse() : want) {
      const t = targets[name];
      globalThis.gc?.();
      const m0 = await mark(t);
      // DIAG_SNAPSHOT=1 (with --heapsnapshot-signal=SIGUSR1 in DIAG_OURS_FLAGS): a heap snapshot of ours in the middle of its last run.
      if (process.env.DIAG_SNAPSHOT && name === 'ours' && run === RUNS - 1) setTimeout(() => t.child.kill('SIGUSR1'), (SECONDS * 1000) / 2);
      const { ok, lat } = await load(t, SECONDS);
      const m1 = await mark(t);
      const gcLines = t.child.out.slice(m0.at, m1.at).split('\n').filter((l) => l.includes(' pause='));
      let allocated = 0;
      let promoted = 0;
      const pauses = [];
      let scav = 0;
      let mc = 0;
      for (const l of gcLines) {
        allocated += Number(/ allocated=(\d+)/.exec(l)?.[1] ?? 0);
        promoted += Number(/ promoted=(\d+)/.exec(l)?.[1] ?? 0);
        pauses.push(Number(/ pause=([\d.]+)/.exec(l)[1]));
        if (/ gc=s /.test(l)) scav++;
        else mc++;
      }
      if (process.env.DIAG_GC_DUMP) {
        fs.appendFileSync(path.join(process.env.DIAG_GC_DUMP, `${name}.gc`), gcLines.join('\n') + '\n');
        fs.appendFileSync(path.join(process.env.DIAG_GC_DUMP, `${name}.out`), t.child.out.slice(0, m1.at));
      }
      t.child.out = t.child.out.slice(m1.at); // keep memory bounded
      const s0 = m0.stats;
      const s1 = m1.stats;
      const row = {
        rps: ok / SECONDS,
        p50: percentile(lat, 50),
        p99: percentile(lat, 99),
        allocPerReq: allocated / ok,
        promotedPerReq: promoted / ok,
        promotedPerScavenge: scav ? promoted / scav : 0,
        scavPer10k: (scav / ok) * 1e4,
        mcPer10k: (mc / ok) * 1e4,
        gcMsPer10k: (pauses.reduce((a, b) => a + b, 0) / ok) * 1e4,
        maxPause: Math.max(0, ...pauses),
        cpuUsPerReq: (s1.cpuUs - s0.cpuUs) / ok,
        eldP99: s1.eld.p99,
        eldMax: s1.eld.max,
        heapUsedMB: s1.heap.heapUsed / 1048576,
        rssMB: s1.heap.rss / 1048576,
      };
      results[name].push(row);
      log(`${name} run ${run + 1}: ${row.rps.toFixed(0)} req/s p50 ${row.p50.toFixed(2)} p99 ${row.p99.toFixed(2)} ms | alloc/req ${(row.allocPerReq / 1024).toFixed(1)} KB, promoted/req ${(row.promotedPerReq / 1024).toFixed(2)} KB, scavenges/10k ${row.scavPer10k.toFixed(1)}, mark-compacts/10k ${row.mcPer10k.toFixed(2)}, GC ms/10k ${row.gcMsPer10k.toFixed(1)}, max pause ${row.maxPause.toFixed(1)} ms | CPU/req ${row.cpuUsPerReq.toFixed(0)} us | loop delay p99 ${row.eldP99.toFixed(1)} max ${row.eldMax.toFixed(1)} ms | heap ${row.heapUsedMB.toFixed(0)} MB rss ${row.rssMB.toFixed(0)} MB`);
    }
  }
  const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  process.stdout.write(`\nmedians over ${RUNS} runs of ${SECONDS} s (load ${os.loadavg()[0].toFixed(1)}):\n`);
  for (const [name, rows] of Object.entries(results)) {
    const m = (k) => med(rows.map((x) => x[k]));
    process.stdout.write(
      `${name.padEnd(6)} ${m('rps').toFixed(0).padStart(5)} req/s  p50 ${m('p50').toFixed(2)}  p99 ${m('p99').toFixed(2)} ms  alloc/req ${(m('allocPerReq') / 1024).toFixed(1)} KB  promoted/req ${(m('promotedPerReq') / 1024).toFixed(2)} KB (${(m('promotedPerScavenge') / 1024).toFixed(0)} KB/scavenge)  scav/10k ${m('scavPer10k').toFixed(1)}  mc/10k ${m('mcPer10k').toFixed(2)}  GC ms/10k ${m('gcMsPer10k').toFixed(1)}  max pause ${m('maxPause').toFixed(1)}  CPU/req ${m('cpuUsPerReq').toFixed(0)} us  loop p99 ${m('eldP99').toFixed(1)} ms\n`,
    );
  }
  for (const t of Object.values(targets)) await stopProcess(t.child);
  await cleanup();
}

main().then(() => process.exit(0), fail);
