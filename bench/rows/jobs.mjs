// Durable jobs (rows 5 and 6): queue throughput against bench/queue-floor.mjs, and the time from
// POST /v1/clients to the domain's `ready` status, plus the postfix-maps rewrite cost.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { tempDirs, runScript } from '../lib/children.mjs';
import { request } from '../lib/http.mjs';
import { cpuSeconds, postgresCpu, postgresCpuSince } from '../lib/proc.mjs';
import { median, percentile } from '../lib/stats.mjs';
import { notes, fmt, addRow } from '../lib/report.mjs';
import { ROOT, PACKAGE_UID, log, sleep } from '../lib/core.mjs';

const QUEUE_JOBS = 20_000; // no-op relay.apply jobs per queue run (row 5)
const QUEUE_ROUNDS = 2; // alternating: ours, floor, then floor, ours
// One round per side first, not counted: Hostplane's worker code is still being compiled on its first
// 20,000 jobs (its first round ran 660 ms against 506 ms for the second), while the floor is a small
// script. The POST rows warm up the same way.
const QUEUE_WARMUP_ROUNDS = 1;
const QUEUE_SETTLE_MS = 1500;
const QUEUE_BATCH = 1000; // the relay handler's maxBatch; the floor claims as many per statement
const READY_ONE = 30; // clients created one at a time, 1 domain each (row 6)
const READY_GAP_MS = 500; // random 0..500 ms pause before each (about two of the worker's 250 ms poll cycles), so arrivals do not lock onto its phase
const READY_BURST = 1000; // clients created at once, 1 domain each (row 6)
const READY_BURST_CONC = 10; // POSTs in flight during the burst
const MAP_SIZES = [1_000, 10_000, 100_000]; // postfix-maps rewrite cost, measured on synthetic maps of these sizes
const MAP_REPS = 3;
const DRAIN_LIMIT_MS = 60_000; // longest wait for Hostplane's queue to empty

const epochMs = (col) => `(extract(epoch from ${col}) * 1000)::float8`;

/** Waits (bounded) until Hostplane has no queued or running relay job; returns how many were pending at first and how long it took. */
export async function drainQueue(db) {
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
export function relayMapSize(dataDir) {
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
export async function queueRow({ db, databaseUrl, env, oursPid, dataDir }) {
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
  const warm = { ours: [], floor: [] };
  for (let round = -QUEUE_WARMUP_ROUNDS; round < QUEUE_ROUNDS; round++) {
    const order = round % 2 === 0 ? ['ours', 'floor'] : ['floor', 'ours'];
    for (const side of order) {
      const tag = `${side}${round < 0 ? `w${-round}` : round}`;
      // Each run starts on an idle worker: right after a run, Hostplane's worker may be in the pause
      // that lets trickling jobs gather into a batch (up to 4 polls, 1 s), which a new burst waits out.
      await sleep(QUEUE_SETTLE_MS);
      const r = side === 'ours' ? await ours(tag) : await floor(tag);
      (round < 0 ? warm : res)[side].push(r);
      log(
        `queue: ${round < 0 ? 'warm-up' : `round ${round + 1}`} ${side}: ${r.n} jobs in ${r.ms.toFixed(0)} ms = ${((r.n / r.ms) * 1000).toFixed(0)} jobs/s, ${r.count} batches` +
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
      `Queue: each run starts ${QUEUE_SETTLE_MS} ms after the previous one ended; ${QUEUE_WARMUP_ROUNDS} warm-up run per side, not counted (ours ${warm.ours.map((r) => r.ms.toFixed(0)).join('/')} ms, floor ${warm.floor.map((r) => r.ms.toFixed(0)).join('/')} ms), then ` +
      `${QUEUE_ROUNDS} alternating runs of ${QUEUE_JOBS} jobs per side (ours ${res.ours.map((r) => r.ms.toFixed(0)).join('/')} ms, floor ${res.floor.map((r) => r.ms.toFixed(0)).join('/')} ms); ` +
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
export async function readyRows({ db, port, auth, operatorKey, dataDir }) {
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
export async function mapCostRow() {
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
