// `node bench/family-statements.mjs`: what one POST /api/v1/family/activate costs, in the figures that
// a busy machine does not move: round trips and protocol messages to PostgreSQL per activation, and
// the Hostplane process's CPU per activation. Not a row of the table (there is no floor to hold it
// against); docs/benchmarks.md quotes it before and after a change.
//
// A fresh database hostplane_stmts_<random> on DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres),
// a Hostplane of its own whose connections pass through a counting TCP proxy in this process, one
// parent subscription with ACTIVATIONS codes (made through the API) and as many users with a token each
// (by SQL, as row 11 does). The proxy reads the client's side of the protocol and counts messages by
// type; a Sync ('S') or a simple Query ('Q') ends a round trip. What the server sends while idle
// (the job runner, the notification listeners) is measured over a quiet window of the same length
// first and taken off. Then the activations, CONCURRENCY in flight, every answer checked.
// Environment: ACTIVATIONS (default 1000), CONCURRENCY (default 50).
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { cleanup, dbs, fail, freePort, installFailHandlers, startProcess, stopProcess, tempDirs } from './lib/children.mjs';
import { HOST } from './lib/core.mjs';
import { request, waitHealthy } from './lib/http.mjs';
import { cpuSeconds } from './lib/proc.mjs';

const ACTIVATIONS = Number(process.env.ACTIVATIONS ?? 1000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 50);

/** A TCP proxy to PostgreSQL counting the frontend's messages by type (the startup message excluded). */
function countingProxy(target) {
  const counts = new Map();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    let buf = Buffer.alloc(0);
    let started = false;
    client.on('data', (chunk) => {
      upstream.write(chunk);
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      for (;;) {
        if (!started) {
          if (buf.length < 4) break;
          const len = buf.readInt32BE(0);
          if (buf.length < len) break;
          buf = buf.subarray(len);
          started = true;
          continue;
        }
        if (buf.length < 5) break;
        const len = buf.readInt32BE(1);
        if (buf.length < 1 + len) break;
        const type = String.fromCharCode(buf[0]);
        counts.set(type, (counts.get(type) ?? 0) + 1);
        buf = buf.subarray(1 + len);
      }
    });
    upstream.on('data', (chunk) => client.write(chunk));
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
  });
  return {
    server,
    snapshot: () => new Map(counts),
    since: (before) => Object.fromEntries([...counts].map(([k, v]) => [k, v - (before.get(k) ?? 0)])),
  };
}

async function main() {
  installFailHandlers(300_000);
  const parsedUrl = new URL(process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres');
  if (!['127.0.0.1', 'localhost'].includes(parsedUrl.hostname)) throw new Error(`DATABASE_URL must point at 127.0.0.1 (got ${parsedUrl.hostname})`);
  parsedUrl.hostname = '127.0.0.1';
  const adminUrl = parsedUrl.toString();
  const name = `hostplane_stmts_${crypto.randomBytes(6).toString('hex')}`;
  {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    dbs.stmts = { name, adminUrl };
    await admin.query(`create database "${name}"`);
    await admin.end();
  }
  const direct = new URL(adminUrl);
  direct.pathname = `/${name}`;
  const proxy = countingProxy({ host: '127.0.0.1', port: Number(direct.port || 5432) });
  const proxyPort = await freePort();
  await new Promise((resolve) => proxy.server.listen(proxyPort, '127.0.0.1', resolve));
  const viaProxy = new URL(direct);
  viaProxy.port = String(proxyPort);

  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostplane-stmts-'));
  tempDirs.push(dataDir);
  const port = await freePort();
  const env = { ...process.env, HOST, DATABASE_URL: viaProxy.toString(), PORT: String(port), HOSTPLANE_DATA_DIR: dataDir, HOSTPLANE_DEMO: 'off', HOSTPLANE_LOG_LEVEL: 'warn' };
  delete env.NODE_OPTIONS;
  const profDir = process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : undefined;
  const server = startProcess('hostplane-stmts', [...(profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []), 'dist/main.js', 'serve'], env);
  await waitHealthy(server, port, 30_000);
  const operator = { authorization: `Bearer ${fs.readFileSync(path.join(dataDir, 'operator-key'), 'utf8').trim()}` };
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const post = async (p, headers, body, want) => {
    const r = await request(port, { method: 'POST', path: p, headers, body, agent });
    if (r.status !== want) throw new Error(`POST ${p} answered ${r.status}: ${r.body.slice(0, 500)}`);
    return JSON.parse(r.body);
  };
  await post('/admin/v1/subscription-types', operator, { code: 'stmts_company', name: 'Company', length: 365, access: ['web'] }, 201);
  await post('/admin/v1/subscription-types', operator, { code: 'stmts_member', name: 'Member', length: 365, access: ['web'] }, 201);
  await post('/admin/v1/family-types', operator, { parent: 'stmts_company', child: 'stmts_member', method: 'copy', count: ACTIVATIONS, is_paid: true }, 201);
  const apiToken = (await post('/admin/v1/api-tokens', operator, { name: 'stmts', allow: ['/api/v1/subscriptions/create'] }, 201)).token;
  const parentType = (await (async () => {
    const db = new pg.Client({ connectionString: direct.toString() });
    await db.connect();
    const { rows } = await db.query("select id::int as id from subscription_types where code = 'stmts_company'");
    await db.end();
    return rows[0];
  })());

  const db = new pg.Client({ connectionString: direct.toString() });
  db.on('error', () => {});
  await db.connect();
  const { rows: made } = await db.query(
    `insert into users (role, client_id, reseller_id, login, email, name)
     select 'end_user', null, null, 'u' || g || '@stmts.test', 'u' || g || '@stmts.test', null from generate_series(0, $1::int) g
     returning id::int as id, login`,
    [ACTIVATIONS],
  );
  const users = made.map((r) => ({ id: r.id, email: r.login, token: crypto.randomBytes(24).toString('base64url') }));
  const digest = (t) => crypto.createHash('sha256').update(t).digest('hex');
  await db.query('insert into user_access_tokens (user_id, token_digest) select * from unnest($1::int8[], $2::text[])', [users.map((u) => u.id), users.map((u) => digest(u.token))]);
  const parent = users.shift();
  const sub = await post('/api/v1/subscriptions/create', { authorization: `Bearer ${apiToken}` }, { email: parent.email, subscription_type_id: parentType.id, is_paid: true }, 200);
  const { rows: codeRows } = await db.query("select code from family_requests where master_subscription_id = $1 and status = 'created' order by id", [sub.subscriptions.id]);
  if (codeRows.length !== ACTIVATIONS) throw new Error(`expected ${ACTIVATIONS} codes, found ${codeRows.length}`);
  await db.query('vacuum (analyze) users, user_access_tokens, subscriptions, family_requests');
  const items = codeRows.map((r, i) => ({ code: r.code, user: users[i] }));

  // Warm the server's prepared statements, its JIT and its pool on a few activations first.
  const activate = async ({ code, user }) => {
    const r = await request(port, { method: 'POST', path: '/api/v1/family/activate', headers: { authorization: `Bearer ${user.token}` }, body: { code }, agent });
    const b = r.status === 201 ? JSON.parse(r.body) : undefined;
    if (b?.code !== code || b.subscription?.code !== 'stmts_member') throw new Error(`activate ${code} answered ${r.status}: ${r.body.slice(0, 500)}`);
  };
  const inFlight = async (list) => {
    let next = 0;
    const t = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < list.length) await activate(list[next++]);
      }),
    );
    return performance.now() - t;
  };
  // In flight as the run will be, so the pool has opened its connections before the counting starts.
  const warm = Math.min(2 * CONCURRENCY, Math.floor(ACTIVATIONS / 5));
  await inFlight(items.slice(0, warm));
  const timed = items.slice(warm);
  const run = () => inFlight(timed);
  // The PostgreSQL backends serving this database (the pool's connections stay open through the run).
  const backends = async () => (await db.query('select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()')).rows.map((r) => r.pid);
  const backendCpu = (pids) => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  const pids = await backends();
  const idle0 = proxy.snapshot();
  const c0 = cpuSeconds(server.pid);
  const pg0 = backendCpu(pids);
  const ms = await run();
  const cpu = cpuSeconds(server.pid) - c0;
  const pgCpu = backendCpu(pids) - pg0;
  const pidsAfter = await backends();
  const during = proxy.since(idle0);
  // The same length of quiet, to take off what the server sends on its own.
  const quiet0 = proxy.snapshot();
  await new Promise((r) => setTimeout(r, ms));
  const quiet = proxy.since(quiet0);

  const n = timed.length;
  const per = (k) => ((during[k] ?? 0) - (quiet[k] ?? 0)) / n;
  const roundTrips = per('S') + per('Q');
  const out = {
    activations: n,
    concurrency: CONCURRENCY,
    roundTripsPerActivation: Number(roundTrips.toFixed(2)),
    messagesPerActivation: Object.fromEntries(['Q', 'P', 'B', 'D', 'E', 'S', 'C'].map((k) => [k, Number(per(k).toFixed(2))])),
    idleMessages: quiet,
    hostplaneCpuMsPerActivation: Number(((cpu / n) * 1000).toFixed(3)),
    // Only backends open before and after the run count; a connection opened meanwhile would be missed.
    postgresCpuMsPerActivation: Number(((pgCpu / n) * 1000).toFixed(3)),
    backends: `${pids.length} before, ${pidsAfter.filter((p) => pids.includes(p)).length} of them still open after, ${pidsAfter.filter((p) => !pids.includes(p)).length} new`,
    wallMs: Math.round(ms),
  };
  console.log(JSON.stringify(out));
  agent.destroy();
  await db.end();
  await stopProcess(server);
  proxy.server.close();
  await cleanup();
}

main().then(
  () => process.exit(0),
  (err) => fail(err),
);
