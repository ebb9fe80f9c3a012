// The dashboards' query plans at a million clients (ADR 14): seeds a scratch PostgreSQL database with
// CLIENTS clients (two years of history, RESELLERS resellers, one domain each, a tenth cancelled, the
// last 90 days' domains provisioned), runs the dashboard's queries exactly as the core builds them
// (captured through Kysely's log), and prints EXPLAIN (ANALYZE, BUFFERS) summaries: scans, indexes and
// rows read; and the overview's count cards (GET /admin/v1/overview). Needs a built tree (npm run build).
//
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node bench/dashboard-plans.mjs
//
// The scratch database is dropped at the end (KEEP=1 keeps it).
import { CompiledQuery, Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { migrateToLatest } from '../dist/db/database.js';
import * as repo from '../dist/core/overview/overview-history.repository.js';
import * as overview from '../dist/core/overview/overview.repository.js';

const CLIENTS = Number(process.env.CLIENTS ?? 1_000_000);
const RESELLERS = Number(process.env.RESELLERS ?? 200);
const base = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const name = `hostplane_dashboard_plans_${process.pid}`;
const urlOf = (db) => {
  const u = new URL(base);
  u.pathname = `/${db}`;
  return u.toString();
};

const admin = new pg.Client({ connectionString: base });
await admin.connect();
await admin.query(`create database ${name}`);
const pool = new pg.Pool({ connectionString: urlOf(name), max: 2 });
const captured = [];
const db = new Kysely({ dialect: new PostgresDialect({ pool }), log: (e) => e.level === 'query' && captured.push({ sql: e.query.sql, parameters: e.query.parameters }) });

const t0 = performance.now();
const step = (what) => console.error(`${((performance.now() - t0) / 1000).toFixed(1)} s  ${what}`);
try {
  await migrateToLatest(db);
  step('migrated');
  const q = (text, values) => pool.query(text, values);
  await q(`insert into resellers (name, username, email_address, status, approved_at, created_at, updated_at)
           select 'Reseller ' || r, 'reseller-' || r, 'r' || r || '@plans.test', case when r % 25 = 0 then 'pending' else 'active' end,
                  case when r % 25 = 0 then null else now() - make_interval(days => 700 - r) end, now() - make_interval(days => 730 - r), now()
           from generate_series(1, $1::int) r`, [RESELLERS]);
  // Clients spread evenly over two years; every tenth cancelled 30 days after it was created.
  await q(`insert into clients (reseller_id, plan_id, name, email_address, user_count, status, cancelled_at, created_at, updated_at)
           select (select min(id) from resellers) + (k % $2::int), null, 'c' || k || '.plans.test', 'c' || k || '@plans.test', 1,
                  case when k % 10 = 0 then 'cancelled' else 'active' end,
                  case when k % 10 = 0 then now() - make_interval(secs => (k::float8 / $1) * 730 * 86400) + interval '30 days' end,
                  now() - interval '730 days' + make_interval(secs => (k::float8 / $1) * 730 * 86400), now()
           from generate_series(1, $1::int) k`, [CLIENTS, RESELLERS]);
  step(`${CLIENTS} clients`);
  // One domain each, ready 20 s to 10 min after creation; the cancelled ones released.
  await q(`insert into domains (client_id, reseller_id, name, position, status, released_at, ready_at, created_at, updated_at)
           select c.id, c.reseller_id, c.name, 0, 'ready', c.cancelled_at,
                  c.created_at + make_interval(secs => 20 + (c.id % 580)), c.created_at, now()
           from clients c`);
  step('domains');
  await q(`insert into jobs (kind, payload, state, reseller_id, run_at, created_at, updated_at, finished_at, last_error)
           select 'relay.apply', '{}', case when g % 50 = 0 then 'failed' else 'succeeded' end, (select min(id) from resellers) + (g % $1::int),
                  now(), now(), now(), now() - make_interval(secs => g * 60), case when g % 50 = 0 then 'relay unreachable' end
           from generate_series(1, 200000) g`, [RESELLERS]);
  // A queue in flight: 2,000 queued, 50 running.
  await q(`insert into jobs (kind, payload, state, run_at, created_at, updated_at, locked_by, locked_until)
           select 'relay.apply', '{}', case when g <= 50 then 'running' else 'queued' end, now(), now(), now(),
                  case when g <= 50 then 'plans' end, case when g <= 50 then now() + interval '1 minute' end
           from generate_series(1, 2050) g`);
  step('jobs');
  await q('vacuum (analyze) clients, domains, jobs, resellers, stats_daily, stats_totals');
  const sizes = (await q(`select (select count(*) from clients)::int as clients, (select count(*) from domains)::int as domains, (select count(*) from stats_daily)::int as daily_rows,
                                 (select count(*) from stats_totals)::int as total_rows, (select count(*) from domains where ready_at > now() - interval '90 days')::int as ready_90d`)).rows[0];
  console.log('database:', JSON.stringify(sizes));
  // The rollup agrees with a recount.
  const check = (await q(`select (select sum(clients) from stats_totals)::int as rollup, (select count(*) from clients where status in ('active', 'suspended'))::int as recount`)).rows[0];
  console.log('live clients, rollup vs recount:', JSON.stringify(check));
  // The overview's counts (0021) agree with grouping the tables.
  const recount = (await q(`select json_build_object(
      'clients', (select json_object_agg(status, n) from (select status, count(*)::int n from clients group by 1) x),
      'domains', (select json_object_agg(status, n) from (select status, count(*)::int n from domains where released_at is null group by 1) x),
      'jobs', (select json_object_agg(state, n) from (select state, count(*)::int n from jobs group by 1) x)) as r`)).rows[0].r;
  const counts = await overview.countByStatus(db);
  console.log('overview counts:', JSON.stringify({ clients: counts.clients, domains: counts.domains, jobs: counts.jobs }), '\nrecount:        ', JSON.stringify(recount));

  const today = new Date();
  const run = async (label, fn) => {
    captured.length = 0;
    await fn();
    for (const { sql, parameters } of captured) {
      const { rows } = await q(`explain (analyze, buffers, format json) ${sql}`, parameters);
      const plan = rows[0]['QUERY PLAN'][0];
      const scans = [];
      const walk = (n) => {
        if (n['Relation Name']) scans.push(`${n['Node Type']} on ${n['Relation Name']}${n['Index Name'] ? ` using ${n['Index Name']}` : ''}: ${Math.round((n['Actual Rows'] + (n['Rows Removed by Filter'] ?? 0)) * (n['Actual Loops'] ?? 1))} rows`);
        for (const c of n.Plans ?? []) walk(c);
      };
      walk(plan.Plan);
      console.log(`\n${label}: ${plan['Execution Time'].toFixed(2)} ms, ${plan.Plan['Shared Hit Blocks'] + plan.Plan['Shared Read Blocks']} buffers\n  ${scans.join('\n  ')}`);
    }
  };
  const rid = (await q(`select reseller_id from stats_totals where reseller_id <> 0 group by 1 order by sum(clients) desc limit 1`)).rows[0].reseller_id;
  await run('overview counts (GET /admin/v1/overview)', () => overview.countByStatus(db));
  // For comparison, the grouped counts the overview ran before 0021.
  for (const [label, text] of [
    ['clients', 'select status, count(*) from clients group by status'],
    ['domains', 'select status, count(*) from domains where released_at is null group by status'],
    ['jobs', 'select state, count(*) from jobs group by state'],
  ]) {
    await run(`overview counts before 0021, ${label}`, () => db.executeQuery(CompiledQuery.raw(text)));
  }
  for (const days of [30, 90]) {
    const from = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate()) - (days - 1) * 86_400_000);
    const day = from.toISOString().slice(0, 10);
    for (const [who, scope] of [['all', { all: true }], [`reseller ${rid}`, { resellerId: rid }]]) {
      await run(`${days} days, ${who}: daily changes`, () => repo.dailyChanges(db, scope, day));
      await run(`${days} days, ${who}: totals`, () => repo.currentTotals(db, scope));
      await run(`${days} days, ${who}: provisioning p50/p99`, () => repo.provisioningByDay(db, scope, from));
      await run(`${days} days, ${who}: failed jobs`, () => repo.failedJobsByDay(db, scope, from));
    }
    await run(`${days} days: top resellers`, () => repo.topResellers(db, day, 8));
  }
} finally {
  await db.destroy();
  if (!process.env.KEEP) await admin.query(`drop database if exists ${name} with (force)`);
  await admin.end();
}
