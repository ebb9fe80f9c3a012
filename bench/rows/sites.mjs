// Sites (rows 7 and 8): the ApisCP door, on a database of their own holding up to 1M sites.
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
import { median, percentile } from '../lib/stats.mjs';
import { notes, fmt, addRow } from '../lib/report.mjs';
import { ROOT, want, log } from '../lib/core.mjs';

const SITES_SIZES = [10_000, 100_000, 1_000_000]; // row 7: the sites table grows through these sizes
const SITES_GROUP = 10; // row 7: sites per parent_invoice group (all subordinates)
const COLLECT_WARMUP = 20; // row 7: untimed admin:collect requests at each size
const COLLECT_REQS = 200; // row 7: timed admin:collect requests at each size, one at a time
const BIG_GROUP = 10_000; // row 8: sites in the group that is suspended (1 master + 9,999 subordinates)
const BIG_INVOICE = 'big-group';
const SUSPEND_ROUNDS = 5; // row 8: alternating rounds (ours, floor, then floor, ours, ...), one timed run per side each

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
export function summarizePlan(explained) {
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
export async function sitesRows({ parsedUrl, adminUrl, commonEnv, dbName }) {
  const name = `${dbName}_sites`;
  {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    dbs.sites = { name, adminUrl };
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
