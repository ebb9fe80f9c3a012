// Rows 16 and 17: the data plane end to end, on a database of its own (hostplane_bench_<random>_dp) with
// a Hostplane of its own.
//
// Row 16 (info, with a floor for context): one node running the real agent (the agent and web driver of dist/ on
// a real nginx in a temp dir, without site users: bench/rows/data-plane-agent.mjs) holds a 10,000-site account group, seeded by SQL
// with its desired objects and applied by the agent before anything is timed. Timed: from
// POST /admin/v1/account-groups/suspend to every one of the 10,000 sites answering 503 on its own Host
// header; also until the agent has reported every object applied, and how many nginx reloads it took
// (the driver's counter, printed after each batch). Floor: a bare script rewriting the same 10,000
// server blocks and suspension pages (the driver's own output, read back) into a running nginx of its
// own and reloading it once, timed the same way.
//
// Row 17 (info): 100 enrolled nodes each holding one open GET /agent/v1/state?since=<v>&wait=60 (a light
// client speaking the wire contract, not 100 agents): server RSS and CPU over a window with them
// waiting against the same window without, then the latency of a change (an account group of one site
// on one node, suspended and activated in turn through the REST door) reaching that node's waiting request.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { dbs, freePort, startProcess, stopProcess } from '../lib/children.mjs';
import { HOST, log, sleep, want } from '../lib/core.mjs';
import { request, waitHealthy } from '../lib/http.mjs';
import { cpuSeconds, memOf } from '../lib/proc.mjs';
import { addRow, fmt, notes } from '../lib/report.mjs';
import { median, percentile } from '../lib/stats.mjs';
import { allAnswer, forgetMaster, NGINX, noteMaster, PHP_FPM, tempRoot } from '../lib/nginx.mjs';

const GROUP_SITES = 10_000; // row 16
const GROUP = 'dp-group';
const POLLERS = 100; // row 17
const WINDOW_MS = 10_000; // row 17: each CPU window, without and with the waiting requests
const CHANGES = 200; // row 17: timed changes reaching the waiting node

/** Row 16's 10,000 sites, placed on the node, and their desired objects as the doors would write them, in one transaction. */
async function seedGroup(db, planId, nodeId) {
  const t = performance.now();
  await db.query('begin');
  const { rows } = await db.query('select coalesce(max(id), 0)::int8 as before from clients');
  const before = rows[0].before;
  // php,enabled 0: 10,000 php-fpm pools are not what this row measures (rows 14 and 15 run without PHP too).
  await db.query(
    `insert into clients (reseller_id, plan_id, name, email_address, user_count, status, invoice, parent_invoice, node_id, service_meta)
     select null, $1, 'd' || k || '.dp.bench.test', 'dp' || k || '@bench.test', 1, 'active',
            case when k = 1 then $3::text end, case when k > 1 then $3::text end, $4, '{"php":{"enabled":0}}'::jsonb
     from generate_series(1, $2::int) k`,
    [planId, GROUP_SITES, GROUP, nodeId],
  );
  await db.query(`insert into domains (client_id, reseller_id, name, position, status) select id, null, name, 0, 'ready' from clients where id > $1`, [before]);
  await db.query(`insert into users (role, client_id, reseller_id, login, email, name) select 'client_admin', id, null, 'admin', email_address, 'Administrator' from clients where id > $1`, [before]);
  const { rows: v } = await db.query('update nodes set version = version + 1 where id = $1 returning version::int8 as version', [nodeId]);
  await db.query(
    `insert into node_objects (node_id, kind, object_id, client_id, version, state, spec)
     select $2, 'site', 'site' || id, id, $3, 'present',
            jsonb_build_object('siteId', id, 'name', 'site' || id, 'domain', name, 'aliases', '[]'::jsonb, 'status', 'active', 'suspendReason', null, 'php', false)
     from clients where id > $1`,
    [before, nodeId, v[0].version],
  );
  await db.query('commit');
  await db.query('vacuum (analyze) clients, domains, users, node_objects');
  return performance.now() - t;
}

/** What the agent says it applied, as the control plane records it. */
async function appliedCount(db, nodeId) {
  const { rows } = await db.query(`select count(*) filter (where applied_version = version)::int as applied, count(*)::int as n from node_objects where node_id = $1`, [nodeId]);
  return rows[0];
}

async function waitApplied(db, nodeId, deadlineMs) {
  for (;;) {
    const c = await appliedCount(db, nodeId);
    if (c.n >= GROUP_SITES && c.applied === c.n) return performance.now();
    if (performance.now() > deadlineMs) throw new Error(`agent applied ${c.applied} of ${c.n} objects in time`);
    await sleep(50);
  }
}

/** The floor of row 16: a running nginx with the driver's main configuration and active blocks, then 10,000 plain writes and one reload. */
async function floorSuspend({ ourPrefix, ourDataDir, names, activeBlocks, suspendedBlocks, pages }) {
  const root = tempRoot('dp-floor');
  const port = await freePort();
  const prefix = path.join(root, 'nginx');
  const dataDir = path.join(root, 'data');
  for (const d of ['sites', 'logs', 'suspended', ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((x) => path.join('temp', x))]) fs.mkdirSync(path.join(prefix, d), { recursive: true });
  const rewrite = (text) => text.replaceAll(ourPrefix, prefix).replaceAll(ourDataDir, dataDir).replace(/listen \d+/g, `listen ${port}`);
  for (const f of fs.readdirSync(ourPrefix)) {
    if (f.endsWith('.conf') || f === 'mime.types') fs.writeFileSync(path.join(prefix, f), rewrite(fs.readFileSync(path.join(ourPrefix, f), 'utf8')));
  }
  // Homes as the driver makes them (made before the clock starts): served index, access log the workers can write.
  for (const name of names) {
    const home = path.join(dataDir, 'sites', name);
    fs.mkdirSync(path.join(home, 'logs'), { recursive: true });
    fs.mkdirSync(path.join(home, 'public_html'), { recursive: true });
    fs.writeFileSync(path.join(home, 'public_html', 'index.html'), '<h1>It works</h1>\n');
    fs.writeFileSync(path.join(home, 'logs', 'access.log'), '', { mode: 0o666 });
    fs.chmodSync(path.join(home, 'logs', 'access.log'), 0o666);
  }
  activeBlocks.forEach((text, i) => fs.writeFileSync(path.join(prefix, 'sites', `${names[i]}.conf`), rewrite(text)));
  const texts = suspendedBlocks.map(rewrite);
  const args = ['-p', `${prefix}/`, '-c', path.join(prefix, 'nginx.conf'), '-e', path.join(prefix, 'logs', 'error.log')];
  execFileSync(NGINX, args);
  const floorMaster = noteMaster(path.join(prefix, 'nginx.pid'));
  const domains = texts.map((t) => /server_name (\S+?)[;\s]/.exec(t)[1]);
  const floorDeadline = performance.now() + 120_000;
  await allAnswer(port, domains, 200, () => floorDeadline);
  const t0 = performance.now();
  names.forEach((name, i) => {
    fs.writeFileSync(path.join(prefix, 'suspended', `${name}.html`), pages[i]);
    fs.writeFileSync(path.join(prefix, 'sites', `${name}.conf`), texts[i]);
  });
  execFileSync(NGINX, ['-s', 'reload', ...args]);
  const suspendDeadline = performance.now() + 120_000;
  await allAnswer(port, domains, 503, () => suspendDeadline);
  const ms = performance.now() - t0;
  execFileSync(NGINX, ['-s', 'quit', ...args]);
  forgetMaster(floorMaster);
  return ms;
}

async function row16({ port, db, admin, commonEnv, planId }) {
  const created = await admin('POST', '/admin/v1/nodes', { name: 'bench-web', roles: ['web'] }, 201);
  const seedMs = await seedGroup(db, planId, created.id);
  log(`data plane: ${GROUP_SITES} sites of group ${GROUP} seeded on node ${created.id} in ${fmt.ms(seedMs)}`);

  const root = tempRoot('dp-agent');
  const dataDir = path.join(root, 'data');
  const prefix = path.join(dataDir, 'nginx');
  const httpPort = await freePort();
  // The agent's own classes (dist/), with site users off: see bench/rows/data-plane-agent.mjs.
  const agent = startProcess('agent (row 16)', ['bench/rows/data-plane-agent.mjs', `http://${HOST}:${port}`, created.token, dataDir, String(httpPort), NGINX, PHP_FPM], commonEnv);
  const batches = [];
  const timings = [];
  let buffered = '';
  agent.stdout.on('data', (b) => {
    buffered += b;
    for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
      const e = JSON.parse(buffered.slice(0, i));
      buffered = buffered.slice(i + 1);
      if (e.event === 'batch') batches.push({ at: performance.now(), objects: e.objects, failed: e.failed, reloads: e.reloads, ...timings.shift() });
      else if (e.msg === 'web driver applied a batch') timings.push({ filesMs: e.filesMs, testMs: e.testMs, reloadMs: e.reloadMs });
    }
  });
  const tStart = performance.now();
  await waitApplied(db, created.id, tStart + 600_000);
  const applyMs = performance.now() - tStart;
  const agentMaster = noteMaster(path.join(prefix, 'nginx.pid'));
  const { rows: nameRows } = await db.query(`select object_id, spec->>'domain' as domain from node_objects where node_id = $1 order by object_id`, [created.id]);
  const names = nameRows.map((r) => r.object_id);
  const domains = nameRows.map((r) => r.domain);
  const servedDeadline = performance.now() + 120_000;
  await allAnswer(httpPort, domains, 200, () => servedDeadline); // untimed: every site served before the suspend
  const reloadsBefore = batches.at(-1)?.reloads ?? 0;
  const batchesBefore = batches.length;
  log(`data plane: agent applied the ${GROUP_SITES} sites in ${fmt.ms(applyMs)} (${batchesBefore} batches, ${reloadsBefore} reloads); all answer 200`);
  const activeBlocks = names.map((n) => fs.readFileSync(path.join(prefix, 'sites', `${n}.conf`), 'utf8'));

  const t0 = performance.now();
  const res = await request(port, { method: 'POST', path: '/admin/v1/account-groups/suspend', headers: { authorization: `Bearer ${admin.key}` }, body: { invoice: GROUP, reason: 'bench' } });
  const apiMs = performance.now() - t0;
  if (res.status !== 200 || JSON.parse(res.body).sites.length !== GROUP_SITES) throw new Error(`suspend ${GROUP}: ${res.status} ${res.body.slice(0, 300)}`);
  // A site may answer 200 until the agent has applied its batch: fail only a minute after the control
  // plane records every object applied (on a busy machine a batch of 2,000 takes tens of seconds).
  let reportedAt;
  const reported = waitApplied(db, created.id, t0 + 600_000).then((at) => (reportedAt = at));
  try {
    await allAnswer(httpPort, domains, 503, () => (reportedAt ?? t0 + 600_000) + 60_000);
  } catch (e) {
    // What the node holds for that site, to tell a config not written from one nginx does not serve.
    const domain = /^(\S+) still/.exec(e.message)?.[1];
    const name = names[domains.indexOf(domain)];
    const conf = name ? fs.readFileSync(path.join(prefix, 'sites', `${name}.conf`), 'utf8') : '';
    const { rows: o } = await db.query('select version, applied_version, spec->>\'status\' as status from node_objects where node_id = $1 and object_id = $2', [created.id, name]);
    let errorLog = '';
    try {
      errorLog = fs.readFileSync(path.join(prefix, 'logs', 'error.log'), 'utf8').slice(-1500);
    } catch {
      // no error log
    }
    throw new Error(`${e.message}; ${name}: its server block ${conf.includes('return 503') ? 'is' : 'is NOT'} the suspended one; control plane ${JSON.stringify(o[0])}; nginx error log tail:\n${errorLog}`);
  }
  const servedMs = performance.now() - t0;
  const reportedMs = (await reported) - t0;
  await sleep(500); // a batch logged after the report would still count
  const after = batches.slice(batchesBefore);
  const reloads = (batches.at(-1)?.reloads ?? 0) - reloadsBefore;
  if (after.some((b) => b.failed > 0)) throw new Error(`row 16: the agent failed to apply ${after.reduce((s, b) => s + b.failed, 0)} objects`);
  const { rows: specs } = await db.query(`select count(*) filter (where spec->>'status' = 'suspended' and (spec->>'php')::boolean = false)::int as n from node_objects where node_id = $1`, [created.id]);
  if (specs[0].n !== GROUP_SITES) throw new Error(`row 16: ${specs[0].n} of ${GROUP_SITES} objects are suspended without PHP`);
  log(`data plane: suspend: API ${fmt.ms(apiMs)}, all 503 after ${fmt.ms(servedMs)}, all reported ${fmt.ms(reportedMs)}; ${after.length} batches, ${reloads} reloads`);

  const suspendedBlocks = names.map((n) => fs.readFileSync(path.join(prefix, 'sites', `${n}.conf`), 'utf8'));
  const pages = names.map((n) => fs.readFileSync(path.join(prefix, 'suspended', `${n}.html`), 'utf8'));
  await stopProcess(agent, 15_000);
  try {
    execFileSync(NGINX, ['-p', `${prefix}/`, '-c', path.join(prefix, 'nginx.conf'), '-s', 'quit']);
  } catch {
    // the agent's driver quits nginx when it stops; gone already is fine
  }
  forgetMaster(agentMaster);
  const floorMs = await floorSuspend({ ourPrefix: prefix, ourDataDir: dataDir, names, activeBlocks, suspendedBlocks, pages });
  log(`data plane: floor suspend ${fmt.ms(floorMs)}`);
  addRow(16, `data plane: suspend a ${GROUP_SITES.toLocaleString('en')}-site group until all answer 503 (agent + nginx)`, `${fmt.ms(servedMs)}; ${reloads} reload(s)`, `${fmt.ms(floorMs)} (bare rewrite + 1 reload)`, servedMs / floorMs, 'info');
  notes.push({
    order: 16,
    text:
      `Row 16: one run per side. POST /admin/v1/account-groups/suspend answered in ${fmt.ms(apiMs)}; every one of the ${GROUP_SITES.toLocaleString('en')} sites (all checked by Host header, 8 keep-alive connections) answered 503 ` +
      `${fmt.ms(servedMs)} after the call, the agent had reported every object applied after ${fmt.ms(reportedMs)}; it took ${after.length} driver batch(es) (${after.map((b) => b.objects).join(' + ')} objects) and ${reloads} nginx reload(s). ` +
      `Driver time per suspend batch (files written / nginx -t / reload, ms): ${after.map((b) => `${b.filesMs}/${b.testMs}/${b.reloadMs}`).join(', ')}. ` +
      `Floor: the same ${GROUP_SITES.toLocaleString('en')} suspended server blocks and pages (the driver's own output) written by a bare script into a running nginx, one reload, until all answer 503. ` +
      `Before: seeding ${fmt.ms(seedMs)} (SQL), the agent's first apply of the ${GROUP_SITES.toLocaleString('en')} sites ${fmt.ms(applyMs)} (${batchesBefore} batches, ${reloadsBefore} reload(s) or start).`,
  });
}

/** One long-poll of the wire contract; resolves with the answer's body. */
function poll(port, token, since, agent) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: HOST, port, path: `/agent/v1/state?since=${since}&wait=60`, headers: { authorization: `Bearer ${token}` }, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))) : reject(new Error(`state answered ${res.statusCode}: ${Buffer.concat(chunks).toString('utf8').slice(0, 300)}`))));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(90_000, () => req.destroy(new Error('state poll timed out')));
    req.end();
  });
}

async function row17({ port, db, admin, server, planId }) {
  const nodes = [];
  for (let i = 1; i <= POLLERS; i++) {
    const c = await admin('POST', '/admin/v1/nodes', { name: `bench-poll-${i}`, roles: ['web'] }, 201);
    const e = await request(port, { method: 'POST', path: '/agent/v1/enrol', headers: { authorization: `Bearer ${c.token}` } });
    if (e.status !== 200) throw new Error(`enrol: ${e.status} ${e.body.slice(0, 300)}`);
    nodes.push({ id: c.id, token: JSON.parse(e.body).token });
  }
  // One site on the first node, alone in its account group: the change that is timed.
  const probe = nodes[0];
  await db.query('begin');
  const { rows: c } = await db.query(
    `insert into clients (reseller_id, plan_id, name, email_address, user_count, status, invoice, node_id, service_meta)
     values (null, $1, 'probe.dp.bench.test', 'probe@bench.test', 1, 'active', 'dp-probe', $2, '{"php":{"enabled":0}}'::jsonb) returning id`,
    [planId, probe.id],
  );
  await db.query(`insert into domains (client_id, reseller_id, name, position, status) values ($1, null, 'probe.dp.bench.test', 0, 'ready')`, [c[0].id]);
  await db.query('commit');
  const versions = new Map();
  for (const n of nodes) {
    const r = await request(port, { path: '/agent/v1/state', headers: { authorization: `Bearer ${n.token}` } });
    if (r.status !== 200) throw new Error(`state: ${r.status} ${r.body.slice(0, 300)}`);
    versions.set(n.id, JSON.parse(r.body).version);
  }

  const window = async () => {
    await sleep(1000);
    const cpu0 = cpuSeconds(server.pid);
    const t0 = performance.now();
    await sleep(WINDOW_MS);
    return { cpuMs: ((cpuSeconds(server.pid) - cpu0) * 1000) / ((performance.now() - t0) / 1000), rss: memOf(server.pid).rss };
  };
  const idle = await window();

  // Every node but the probe keeps one request waiting, re-polling when one comes back (as agents do).
  const pollAgent = new http.Agent({ keepAlive: true, maxSockets: POLLERS + 10 });
  let stopping = false;
  let early = 0;
  const loops = nodes.slice(1).map(async (n) => {
    while (!stopping) {
      const body = await poll(port, n.token, versions.get(n.id), pollAgent);
      if (!stopping) early++;
      versions.set(n.id, body.version);
    }
  });
  // The probe's waiting request, re-opened at once after every answer; `answered` resolves with the next answer.
  let answered;
  let probeSince = versions.get(probe.id);
  const probeLoop = (async () => {
    while (!stopping) {
      const body = await poll(port, probe.token, probeSince, pollAgent);
      probeSince = body.version;
      answered?.(body);
    }
  })();
  const waiting = await window();

  const latencies = [];
  const apiTimes = [];
  for (let i = 0; i < CHANGES; i++) {
    await sleep(20 + Math.random() * 30); // the probe's next request is waiting again
    const action = i % 2 === 0 ? 'suspend' : 'activate';
    const got = new Promise((resolve) => (answered = resolve));
    const t0 = performance.now();
    const r = await request(port, { method: 'POST', path: `/admin/v1/account-groups/${action}`, headers: { authorization: `Bearer ${admin.key}` }, body: { invoice: 'dp-probe' } });
    apiTimes.push(performance.now() - t0);
    if (r.status !== 200) throw new Error(`${action} dp-probe: ${r.status} ${r.body.slice(0, 300)}`);
    const body = await Promise.race([got, sleep(30_000).then(() => null)]);
    if (!body || body.objects.length !== 1 || body.objects[0].spec?.status !== (action === 'suspend' ? 'suspended' : 'active')) throw new Error(`change ${i} did not reach the waiting node: ${JSON.stringify(body)?.slice(0, 300)}`);
    latencies.push(performance.now() - t0);
  }
  const withChanges = memOf(server.pid).rss;
  stopping = true;
  pollAgent.destroy();
  await Promise.allSettled([...loops, probeLoop]);
  const p50 = median(latencies);
  const p99 = percentile(latencies, 99);
  log(`data plane: ${POLLERS} waiting: RSS ${fmt.mb(idle.rss)} -> ${fmt.mb(waiting.rss)}, CPU ${idle.cpuMs.toFixed(1)} -> ${waiting.cpuMs.toFixed(1)} ms/s; change to node p50 ${fmt.ms(p50)}, p99 ${fmt.ms(p99)}`);
  addRow(17, `data plane: ${POLLERS} agents long-polling (server RSS; CPU ms/s; change p50/p99)`, `${fmt.mb(waiting.rss)} (+${fmt.mb(waiting.rss - idle.rss)}); ${waiting.cpuMs.toFixed(1)} ms/s; ${fmt.ms(p50)} / ${fmt.ms(p99)}`, `${fmt.mb(idle.rss)}; ${idle.cpuMs.toFixed(1)} ms/s (none waiting)`, undefined, 'info');
  notes.push({
    order: 17,
    text:
      `Row 17: ${POLLERS} enrolled nodes, each with one open GET /agent/v1/state?since=<v>&wait=60 from a light client in the bench process (no agents, no heartbeats). ` +
      `Server over ${WINDOW_MS / 1000} s windows: RSS ${fmt.mb(idle.rss)} with none waiting, ${fmt.mb(waiting.rss)} with ${POLLERS} waiting (${fmt.mb(withChanges)} after the changes); CPU ${idle.cpuMs.toFixed(1)} vs ${waiting.cpuMs.toFixed(1)} ms per second; ${early} waiting request(s) came back without a change. ` +
      `${CHANGES} changes (an account group of one site on one node, suspended and activated in turn through POST /admin/v1/account-groups/<action>), each timed from the call to the waiting request's answer holding it: ` +
      `p50 ${fmt.ms(p50)}, p99 ${fmt.ms(p99)}, max ${fmt.ms(Math.max(...latencies))}; the REST call alone p50 ${fmt.ms(median(apiTimes))}.`,
  });
}

/** Rows 16 and 17 on a database of their own with a Hostplane of their own. */
export async function dataPlaneRows({ parsedUrl, adminUrl, commonEnv, dbName }) {
  if (want(16) && !fs.existsSync(NGINX)) {
    notes.push({ order: 16, text: `Row 16 left out: no nginx at ${NGINX} (set HOSTPLANE_NGINX_BIN).` });
    if (!want(17)) return;
  }
  const name = `${dbName}_dp`;
  {
    const a = new pg.Client({ connectionString: adminUrl });
    await a.connect();
    dbs.dp = { name, adminUrl };
    await a.query(`create database "${name}"`);
    await a.end();
  }
  const url = new URL(parsedUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  const dataDir = tempRoot('dp-server');
  const port = await freePort();
  const server = startProcess('hostplane-dp', ['dist/main.js', 'serve'], { ...commonEnv, DATABASE_URL: databaseUrl, PORT: String(port), HOSTPLANE_DATA_DIR: dataDir, HOSTPLANE_DEMO: 'off' });
  await waitHealthy(server, port, 30_000);
  const key = fs.readFileSync(path.join(dataDir, 'operator-key'), 'utf8').trim();
  const admin = Object.assign(
    async (method, route, body, expect) => {
      const r = await request(port, { method, path: route, headers: { authorization: `Bearer ${key}` }, body });
      if (r.status !== expect) throw new Error(`${method} ${route}: ${r.status} ${r.body.slice(0, 300)}`);
      return JSON.parse(r.body);
    },
    { key },
  );
  const db = new pg.Client({ connectionString: databaseUrl, statement_timeout: 120_000 });
  db.on('error', () => {}); // dropping the database on failure ends this connection; the failure is reported already
  await db.connect();
  const { rows: plan } = await db.query("select id from plans where uid = 'basic'");
  if (!plan.length) throw new Error('plan basic (migration 0007) not found');
  log(`data plane: database ${name}, hostplane up on :${port}`);
  if (want(16) && fs.existsSync(NGINX)) await row16({ port, db, admin, commonEnv, planId: plan[0].id });
  if (want(17)) await row17({ port, db, admin, server, planId: plan[0].id });
  await db.end();
  await stopProcess(server);
  {
    const a = new pg.Client({ connectionString: adminUrl });
    await a.connect();
    await a.query(`drop database if exists "${name}" with (force)`);
    await a.end();
    dbs.dp = undefined;
  }
}
