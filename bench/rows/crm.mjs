// REMP CRM family codes (rows 10 and 11), on a database of their own.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { pathToFileURL } from 'node:url';
import { dbs, tempDirs, freePort, startProcess, stopProcess } from '../lib/children.mjs';
import { request, waitHealthy } from '../lib/http.mjs';
import { cpuSeconds, postgresCpu, postgresCpuSince } from '../lib/proc.mjs';
import { median, percentile } from '../lib/stats.mjs';
import { notes, fmt, addRow } from '../lib/report.mjs';
import { ROOT, want, log } from '../lib/core.mjs';

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
export async function crmRows({ parsedUrl, adminUrl, commonEnv, dbName }) {
  const name = `${dbName}_crm`;
  {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    dbs.crm = { name, adminUrl };
    await admin.query(`create database "${name}"`);
    await admin.end();
  }
  const url = new URL(parsedUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostplane-bench-crm-'));
  tempDirs.push(dataDir);
  const port = await freePort();
  const profDir = process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : undefined;
  const server = startProcess('hostplane-crm', [...(profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []), 'dist/main.js', 'serve'], { ...commonEnv, DATABASE_URL: databaseUrl, PORT: String(port), HOSTPLANE_DATA_DIR: dataDir, HOSTPLANE_DEMO: 'off' });
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
    dbs.crm = undefined;
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
