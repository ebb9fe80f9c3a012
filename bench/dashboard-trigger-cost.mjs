// What the dashboard rollup triggers (migration 0018) cost a client create: single-row creates (a
// client and its domain in one statement, as Hostplane's create is) against a scratch PostgreSQL
// database, with the triggers enabled and disabled in alternating rounds of one run, on 1 connection
// and on 10 (all for one reseller, or DISTINCT=1: each connection its own). Prints creates per second
// (medians of the rounds). Needs a built tree (npm run build).
//
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node bench/dashboard-trigger-cost.mjs
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { migrateToLatest } from '../dist/db/database.js';

const base = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const name = `hostplane_trigger_cost_${process.pid}`;
const u = new URL(base);
const admin = new pg.Client({ connectionString: base });
await admin.connect();
await admin.query(`create database ${name}`);
u.pathname = `/${name}`;
const pool = new pg.Pool({ connectionString: u.toString(), max: 10 });
pool.on('error', () => {}); // idle connections ended by the drop at the end
const db = new Kysely({ dialect: new PostgresDialect({ pool }) });
try {
  await migrateToLatest(db);
  const resellers = (await pool.query(`insert into resellers (name, username, email_address, status, updated_at) select 'R' || g, 'r' || g, 'r@x.test', 'active', now() from generate_series(1, 10) g returning id`)).rows.map((r) => r.id);
  const distinct = process.env.DISTINCT === '1';
  let k = 0;
  const create = (c, j) =>
    c.query({
      name: 'create',
      text: `with c as (insert into clients (reseller_id, name, user_count, status, service_meta, created_at, updated_at) values ($1, $2, 1, 'active', '{}', now(), now()) returning id)
             insert into domains (client_id, reseller_id, name, position, created_at, updated_at) select id, $1, $2, 0, now(), now() from c`,
      values: [distinct ? resellers[j] : resellers[0], `d${k++}.cost.test`],
    });
  const round = async (conc, n) => {
    const t = performance.now();
    await Promise.all(
      Array.from({ length: conc }, async (_, j) => {
        const c = await pool.connect();
        try {
          for (let i = 0; i < n / conc; i++) await create(c, j);
        } finally {
          c.release();
        }
      }),
    );
    return n / ((performance.now() - t) / 1000);
  };
  const triggers = async (on) => {
    for (const t of ['clients', 'domains']) await pool.query(`alter table ${t} ${on ? 'enable' : 'disable'} trigger user`);
  };
  const out = { 'on, 1 conn': [], 'off, 1 conn': [], 'on, 10 conns': [], 'off, 10 conns': [] };
  await round(1, 300);
  for (let r = 0; r < 3; r++) {
    for (const on of [true, false]) {
      await triggers(on);
      out[`${on ? 'on' : 'off'}, 1 conn`].push(await round(1, 600));
      out[`${on ? 'on' : 'off'}, 10 conns`].push(await round(10, 2000));
    }
  }
  const median = (a) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)];
  console.log(`creates/s (${distinct ? 'each connection its own reseller' : 'one reseller'}):`, JSON.stringify(Object.fromEntries(Object.entries(out).map(([key, v]) => [key, Math.round(median(v))]))));
} finally {
  await db.destroy().catch(() => {});
  await admin.query(`drop database if exists ${name} with (force)`);
  await admin.end();
}
