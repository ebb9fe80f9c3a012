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
// the table then says which rows it left out. BENCH_CPU_PROF=<dir> starts Hostplane (PostgreSQL mode; rows 1-6, 13, 10 and 11) with --cpu-prof
//
// Layout: bench/lib/*.mjs are the shared helpers (core: constants, BENCH_ROWS, log; children: child
// processes, databases and cleanup; http: requests and health polling; proc: CPU and memory from
// /proc; stats; cannon: autocannon runs side by side; report: the table and its notes).
// bench/rows/*.mjs hold the rows, one file per family of rows sharing a server and a database.
//
// Adding a row (the hook): write bench/rows/<name>.mjs exporting `async function <name>Rows(ctx)`,
// and add one entry to STAGES below, at the place in the order it should run:
//   { rows: [13], extraMs: 60_000, run: <name>Rows }
// The stage runs when BENCH_ROWS is unset or names any of its rows (inside, `want(n)` from
// lib/core.mjs tells which of them were asked for); extraMs is added to the bench's time limit when
// it runs. ctx = { parsedUrl, adminUrl, commonEnv, dbName }: a stage that needs a database of its own
// creates `${dbName}_<suffix>` and registers it in `dbs` (lib/children.mjs) before creating it, so
// cleanup drops it on any failure; children started with startProcess and dirs pushed on tempDirs go
// away the same way. Results go through addRow(order, case, ours, floor, ratio, target, pass) and
// notes.push({ order, text }) from lib/report.mjs; the row number is the table's order.
// Row numbers in use: 1-12 (see docs/benchmarks.md), 13 (GET /v1/clients/:id against the limit, in
// rows/reseller-api.mjs, floor bench/floor-limit.mjs), 14 and 15 (the web role driver on a real nginx,
// rows/web-role.mjs; no database), 16 and 17 (the data plane: a group suspend through a real agent + nginx,
// and 100 waiting long-polls; rows/data-plane.mjs), 18 (SaaS instance databases created from a template by
// a real db agent against a bare CREATE DATABASE ... TEMPLATE loop; rows/saas-databases.mjs). A new row takes the next free number and says so here.
import crypto from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { cleanup, fail, installFailHandlers } from './lib/children.mjs';
import { HOST, RELAY_HOSTS, RELAY_STEP, want } from './lib/core.mjs';
import { cpuSeconds, machineBusy, postgresCpu, postgresCpuSince } from './lib/proc.mjs';
import { machineFacts, printTable } from './lib/report.mjs';
import { crmRows } from './rows/crm.mjs';
import { dataPlaneRows } from './rows/data-plane.mjs';
import { embeddedRow } from './rows/embedded.mjs';
import { mixedRows } from './rows/mixed.mjs';
import { resellerApiRows } from './rows/reseller-api.mjs';
import { saasRow } from './rows/saas.mjs';
import { saasDatabaseRows } from './rows/saas-databases.mjs';
import { sitesRows } from './rows/sites.mjs';
import { webRoleRows } from './rows/web-role.mjs';

// In running order. extraMs: time the stage adds to the 300 s base limit.
const STAGES = [
  // Row 4 first, before the PostgreSQL database exists, so no autovacuum or checkpoint of the other rows competes with it; its installed-package part packs and installs this tree (about 30 s).
  { rows: [4], extraMs: 90_000, run: embeddedRow },
  // Rows 1, 13, 2, 6, 5, 3 (in that order, see the file) on the main database; row 13 adds about 30 s of load.
  { rows: [1, 2, 3, 5, 6, 13], extraMs: want(13) ? 60_000 : 0, run: resellerApiRows },
  // Row 12 seeds two servers and runs about 70 s of load.
  { rows: [12], extraMs: 150_000, run: mixedRows },
  // Row 9 seeds 100,000 instances (25-35 s on a busy machine) and times 4,400 requests (about 30 s); drops its database after.
  { rows: [9], extraMs: 90_000, run: saasRow },
  // Rows 10 and 11 create about 30 parent subscriptions of 1,000 codes and time 9,000 activations.
  { rows: [10, 11], extraMs: 120_000, run: crmRows },
  // Rows 14 and 15 (web role, nginx in temp dirs): 3 x 2 rounds of 1,000 sites, then 10,000 sites and a 30 s idle window.
  { rows: [14, 15], extraMs: 180_000, run: webRoleRows },
  // Rows 16 and 17 (data plane, a database of their own): 10,000 sites applied then suspended by a real agent + nginx, and 100 waiting long-polls.
  { rows: [16, 17], extraMs: 900_000, run: dataPlaneRows },
  // Row 18 (SaaS databases from a template, a database of its own): a 50 MB template, 100 instances through a real db agent and 100 bare copies.
  { rows: [18], extraMs: 900_000, run: saasDatabaseRows },
  // Rows 7 and 8, last, so the 1M sites change nothing the other rows measure. Row 7 seeds 1M sites (about 25 s).
  { rows: [7, 8], extraMs: (want(7) ? 120_000 : 0), run: sitesRows },
];

const active = STAGES.filter((s) => s.rows.some(want));
installFailHandlers(300_000 + active.reduce((sum, s) => sum + (s.extraMs ?? 0), 0));

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
  const dbName = `hostplane_bench_${crypto.randomBytes(6).toString('hex')}`;
  const ctx = { parsedUrl, adminUrl, commonEnv, dbName };

  for (const stage of active) await stage.run(ctx);

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

main().then(
  () => process.exit(0),
  (err) => fail(err),
);
