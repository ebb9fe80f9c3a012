import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  basicAuth,
  freePort,
  http,
  killAll,
  listAllClients,
  listAllDomains,
  listAllJobs,
  makeTempDir,
  readMapLines,
  readReloadLog,
  reloadCommand,
  sleep,
  spawnHostplane,
  waitFor,
  type Proc,
} from '../jobs-process/process-harness.js';
import { AGENT_ENV, NODE_ENV } from '../agent/agent-env.js';
import { haToolsMissing, startFailoverCluster, startHaproxy, type FailoverCluster, type Haproxy } from './ha-cluster.js';
import { KeyedLoad, lostOrDoubled, statusesOf } from './ha-load.js';
import { openForReading } from './serve-process.js';

// Losing any one machine loses nothing (docs/deploy.md): PostgreSQL primary + synchronous standby
// under pg_auto_failover (built by deploy/pg-auto-failover.sh), two API nodes (`hostplane serve`,
// workers off) behind HAProxy with deploy/haproxy.cfg, one `hostplane worker`, and a hosting node's
// `hostplane agent` (relay role, postfix-maps driver) that reaches the API through HAProxy only.
// Under a steady load of keyed creates and reads:
//  1. kill -9 the primary: every acknowledged write is there afterwards, no key is applied twice,
//     every answer meanwhile is a success or a 503 with Retry-After (no 500, no hang), and the time to
//     the first write after the kill is logged; the agent meanwhile gets only 503s, lives on, and
//     then has every domain in its maps;
//  2. kill -9 an API node: HAProxy routes around it, requests cut off retried with their keys succeed
//     once; the agent's long-polls and heartbeats go on through HAProxy to the other node, and the
//     domains created afterwards reach its maps;
//  3. kill -9 the worker in the middle of a relay batch: another worker process finishes the jobs, once
//     (with the relay node deleted first, so the control plane's own relay maps are the workers' again).
// Only against PostgreSQL: the embedded database is one process on one machine, so there is no
// failover to test there (the pglite project skips this file).

const onPostgres = process.env.HOSTPLANE_TEST_DB === 'postgres';
const missing = haToolsMissing();
const WRITERS = 4;

// Made when the suite runs (not when the pglite project skips it).
let tmp: ReturnType<typeof makeTempDir> | undefined;
let dataDir = '';
let relayDir = '';
let reloadLog = '';
let cluster: FailoverCluster | undefined;
let lb: Haproxy | undefined;
const api: { proc: Proc; port: number }[] = [];
const workers: Proc[] = [];
let operatorKey = '';
let load: KeyedLoad;
let agent: Proc | undefined;
let agentMaps = '';
let relayNodeId = 0;

afterAll(async () => {
  killAll();
  await lb?.stop().catch(() => {});
  await cluster?.destroy().catch(() => {});
  await sleep(300);
  tmp?.remove();
}, 60_000);

function env(): Record<string, string> {
  return {
    DATABASE_URL: cluster!.uri,
    HOSTPLANE_DATA_DIR: dataDir,
    HOSTPLANE_LOG_LEVEL: 'warn',
    HOSTPLANE_RELAY_RELOAD_COMMAND: reloadCommand(reloadLog, 0.5),
    // Short deadlines: a dead server is found in about a second (production defaults: src/db/pg-guard.ts).
    HOSTPLANE_DB_CONNECT_TIMEOUT_MS: '1000',
    HOSTPLANE_DB_STALL_MS: '1000',
    HOSTPLANE_DB_PROBE_TIMEOUT_MS: '500',
    // The agent's heartbeat every second: it crosses HAProxy often enough to see where it goes.
    ...NODE_ENV,
  };
}

async function startApi(): Promise<{ proc: Proc; port: number }> {
  const port = await freePort();
  const proc = spawnHostplane(['serve'], { ...env(), HOST: '127.0.0.1', PORT: String(port), HOSTPLANE_WORKER: 'off' });
  await proc.waitForOutput('API reference:', 90_000);
  return { proc, port };
}

async function startWorker(): Promise<Proc> {
  const proc = spawnHostplane(['worker'], { ...env(), HOSTPLANE_LOG_LEVEL: 'info' });
  await proc.waitForOutput('hostplane worker running', 60_000);
  return proc;
}

/** The agent's log lines (pino JSON) from `since` on. */
function agentLog(since: number): { time: number; msg: string; err?: string }[] {
  const entries: { time: number; msg: string; err?: string }[] = [];
  for (const line of agent!.output().split('\n')) {
    try {
      const e = JSON.parse(line) as { time: number; msg: string; err?: string };
      if (e.time >= since) entries.push(e);
    } catch {
      // the first line may be cut (the output keeps its end), the last one not finished
    }
  }
  return entries;
}

/** Why the agent's calls to the control plane failed from `since` on: one message per failed call. */
function agentFailures(since: number): string[] {
  const failing = new Set(['cannot reach the control plane: still serving what was applied, retrying', 'control plane still unreachable']);
  return agentLog(since)
    .filter((e) => failing.has(e.msg))
    .map((e) => e.err ?? '');
}

function countBy<T>(items: T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[key(i)] = (out[key(i)] ?? 0) + 1;
  return out;
}

/** Waits until every one of `domains` is in the agent's relay_domains map, and returns the map's names. */
async function agentHas(domains: string[], what: string): Promise<Set<string>> {
  const file = path.join(agentMaps, 'relay_domains');
  const names = () => new Set(fs.existsSync(file) ? readMapLines(file).map(([d]) => d) : []);
  return waitFor(
    () => {
      const held = names();
      return domains.every((d) => held.has(d)) ? held : undefined;
    },
    60_000,
    () => `${what}: not in the agent's maps: ${domains.filter((d) => !names().has(d)).slice(0, 10).join(', ')}\n${agent!.output().slice(-3000)}`,
    250,
  );
}

describe.skipIf(!onPostgres || missing !== undefined)(`HA topology: failover, a dead API node, a dead worker, an agent through HAProxy${missing ? ` (skipped: ${missing})` : ''}`, () => {
  beforeAll(async () => {
    tmp = makeTempDir('hostplane-ha-');
    dataDir = path.join(tmp.dir, 'data');
    relayDir = path.join(dataDir, 'relay');
    reloadLog = path.join(tmp.dir, 'reloads.log');
    cluster = await startFailoverCluster();
    // One node first: it migrates the empty database; the second finds it migrated.
    api.push(await startApi());
    api.push(await startApi());
    operatorKey = fs.readFileSync(path.join(dataDir, 'operator-key'), 'utf8').trim();
    lb = await startHaproxy(api.map((a, i) => ({ name: `api${i + 1}`, port: a.port })), { requestLog: true });
    const demo = await http<{ reseller: { api_token: string; api_key: string } }>('POST', `${lb.url}/admin/v1/demo`, `Bearer ${operatorKey}`);
    expect(demo.status).toBe(200);
    load = new KeyedLoad(() => lb!.url, basicAuth(demo.body.reseller.api_token, demo.body.reseller.api_key), `ha${Date.now().toString(36)}`);
    workers.push(await startWorker());

    // A relay node, registered through HAProxy; its agent is given HAProxy's address only, as
    // HOSTPLANE_AGENT_URL is in production. No reload command: the maps are the files.
    const node = await http<{ id: number; token: string }>('POST', `${lb.url}/admin/v1/nodes`, `Bearer ${operatorKey}`, { name: 'relay-ha', roles: ['relay'] });
    expect(node.status).toBe(201);
    relayNodeId = node.body.id;
    agentMaps = path.join(tmp.dir, 'agent-maps');
    agent = spawnHostplane(['agent', '--url', lb.url, '--data-dir', path.join(tmp.dir, 'agent'), '--token', node.body.token, '--relay-dir', agentMaps], {
      // Debug: every failed call to the control plane is logged, not only the first of a run.
      HOSTPLANE_LOG_LEVEL: 'debug',
      ...AGENT_ENV,
    });
    await agent.waitForOutput('fetched the node state', 60_000);
  }, 240_000);

  it('the cluster deploy/pg-auto-failover.sh built: a healthy formation that Hostplane\'s host-list URL reaches the primary of', async () => {
    const state = await cluster!.state();
    console.log(`[ha] formation built by deploy/pg-auto-failover.sh on ${cluster!.host} (passwords ${cluster!.passwordsChecked ? 'checked' : 'not checked: loopback only'}):\n${state}`);
    expect(state).toMatch(/node1 \|[^\n]*\| +read-write \| +primary \| +primary/);
    expect(state).toMatch(/node2 \|[^\n]*\| +read-only \| +secondary \| +secondary/);
    // The URL the servers run on, through Hostplane's own connection code (src/db/pg-hosts.ts), as the
    // role the script's `database` step made: it lands on node1, the primary, which accepts writes.
    const handle = await openForReading({ databaseUrl: cluster!.uri });
    try {
      const { rows } = await sql<{ port: number; user: string; read_only: string }>`
        select inet_server_port() as port, current_user as user, current_setting('transaction_read_only') as read_only`.execute(handle.db);
      expect(rows[0]).toEqual({ port: cluster!.nodes[0]!.port, user: 'hostplane', read_only: 'off' });
    } finally {
      await handle.close();
    }
    // Each step wrote the systemd unit an operator installs; it runs the keeper the test started with
    // the script's `run` step (pg_autoctl run for that PGDATA).
    expect(cluster!.units.map((u) => u.name)).toEqual(['monitor', 'node1', 'node2']);
    for (const u of cluster!.units) {
      expect(u.text).toMatch(/^ExecStart = \S*pg_autoctl run$/m);
      expect(u.text).toContain(`PGDATA=${u.pgdata}'`);
    }
    // The standby streams from the primary over the nodes' address, as the replication role.
    const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${cluster!.nodes[0]!.port}/postgres` });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ usename: string; client_addr: string; sync_state: string }>('select usename, host(client_addr) as client_addr, sync_state from pg_stat_replication');
      // pg_auto_failover names the standby in `synchronous_standby_names = 'ANY 1 (...)'`: quorum commit.
      expect(rows).toEqual([{ usename: 'pgautofailover_replicator', client_addr: cluster!.host, sync_state: 'quorum' }]);
    } finally {
      await admin.end();
    }
  });

  it('kill -9 of the PostgreSQL primary: no acknowledged write lost, none doubled, only 503s meanwhile; the agent gets 503s and catches up', async () => {
    const oldPrimary = await cluster!.primary();
    expect(oldPrimary?.name).toBe('node1');
    let stop = false;
    const running = load.drive(0, WRITERS, () => stop);
    await waitFor(() => (load.acknowledgedAfter(0).length >= 20 ? true : undefined), 60_000, () => 'no steady load before the kill');
    const ackedBefore = load.acknowledgedAfter(0).length;
    await cluster!.kill9(oldPrimary!);
    const killedAt = Date.now();
    // Load goes on until 20 more writes succeeded on the new primary.
    await waitFor(
      () => (load.acknowledgedAfter(killedAt).length >= 20 ? true : undefined),
      120_000,
      async () => `no writes after the kill\n${await cluster!.state()}\n${api.map((a) => a.proc.output().slice(-2000)).join('\n')}`,
      200,
    );
    stop = true;
    await running;
    const firstAfter = Math.min(...load.acknowledgedAfter(killedAt).map((w) => w.ackedAt!));
    const newPrimary = await cluster!.primary();
    const attempts = [...load.writes.flatMap((w) => w.attempts), ...load.reads];
    console.log(
      `[ha] primary ${oldPrimary!.name} killed after ${ackedBefore} writes; first write ${firstAfter - killedAt} ms after the kill, on ${newPrimary?.name}; ` +
        `${load.writes.length} keyed writes, ${attempts.length} requests, statuses ${JSON.stringify(statusesOf(attempts))}`,
    );
    expect(newPrimary?.name).toBe('node2');

    // Every answer was a success or the 503 with Retry-After; nothing hung, nothing was a 500.
    expect(attempts.filter((a) => a.status === 'hang')).toEqual([]);
    expect(statusesOf(attempts).filter((s) => s !== 200 && s !== 201 && s !== 503)).toEqual([]);
    expect(attempts.filter((a) => a.status === 503 && !a.retryAfter)).toEqual([]);
    // Some answers were 503s: the load did run through the failover.
    expect(attempts.some((a) => a.status === 503)).toBe(true);

    // The agent, through HAProxy: its long-polls and heartbeats got 503s (from a node whose database
    // was away, or from HAProxy with no node ready), never a 504 or a 500, and it did not exit.
    const failures = agentFailures(killedAt);
    console.log(`[ha] agent during the failover: ${failures.length} failed calls, ${JSON.stringify([...new Set(failures.map((f) => /HTTP [0-9]+/.exec(f)?.[0] ?? f))])}`);
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.filter((f) => !/: HTTP 503\b/.test(f))).toEqual([]);
    expect(agent!.alive()).toBe(true);
    // It catches up: every domain acknowledged before, during and after the failover is in its maps.
    await agentHas(load.writes.map((w) => load.domainOf(w.n)), 'after the failover');
    expect(agentLog(killedAt).some((e) => e.msg === 'the control plane answers again')).toBe(true);

    // 0 lost, 0 doubled: every acknowledged client is there, once, with the id it was acknowledged with.
    expect(load.writes.filter((w) => w.id === undefined)).toEqual([]);
    const clients = await listAllClients(lb!.url, operatorKey);
    expect(lostOrDoubled(load.writes, clients, load.namePrefix)).toEqual([]);
    expect(clients.filter((c) => c.name?.startsWith(load.namePrefix)).length).toBe(load.writes.length);
    // A key sent again after its write had committed got the same answer back.
    for (const w of load.writes.filter((x) => x.attempts.at(-1)!.replayed)) expect(w.attempts.at(-1)!.status).toBe(201);
  }, 240_000);

  it('kill -9 of an API node: HAProxy routes around it, requests retried with their keys succeed once, the agent goes on through the other node', async () => {
    const before = load.writes.length;
    let stop = false;
    const running = load.drive(10_000, WRITERS, () => stop);
    await waitFor(() => (load.writes.length - before >= 15 ? true : undefined), 60_000, () => 'no load before the API node kill');
    const victim = api[0]!;
    const finishedBefore = lb!.requests().length;
    victim.proc.child.kill('SIGKILL');
    expect(await victim.proc.exited).toEqual({ code: null, signal: 'SIGKILL' });
    const killedAt = Date.now();
    await waitFor(() => (load.acknowledgedAfter(killedAt).length >= 30 ? true : undefined), 60_000, () => 'no writes after the API node died', 200);
    stop = true;
    await running;
    const mine = load.writes.slice(before);
    const retried = mine.filter((w) => w.attempts.length > 1);
    console.log(`[ha] API node killed: ${mine.length} keyed writes, ${retried.length} sent again, statuses ${JSON.stringify(statusesOf(mine.flatMap((w) => w.attempts)))}`);
    expect(mine.flatMap((w) => w.attempts).filter((a) => a.status === 'hang' || a.status === 500)).toEqual([]);
    // Every write ends acknowledged, once: a key cut off on the dead node was applied by the other.
    expect(mine.filter((w) => w.id === undefined)).toEqual([]);
    expect(lostOrDoubled(mine, await listAllClients(lb!.url, operatorKey), load.namePrefix)).toEqual([]);
    // Once HAProxy's checks had seen the node gone (two checks a second apart), nothing was sent to it.
    const late = mine.flatMap((w) => w.attempts).filter((a) => a.at > killedAt + 3000);
    expect(late.filter((a) => a.status !== 200 && a.status !== 201)).toEqual([]);

    // The agent goes on through HAProxy, now to the other node only: a long-poll cut off on the dead
    // node is asked again, the domains created after the kill reach its maps, and its heartbeats
    // arrive (the node's last heartbeat is newer than the kill).
    expect(agent!.alive()).toBe(true);
    await agentHas(load.acknowledgedAfter(killedAt).map((w) => load.domainOf(w.n)), 'after the API node kill');
    await waitFor(
      async () => {
        const n = await http<{ last_heartbeat_at: string | null; status: string }>('GET', `${lb!.url}/admin/v1/nodes/${relayNodeId}`, `Bearer ${operatorKey}`);
        return n.status === 200 && n.body.status === 'healthy' && Date.parse(n.body.last_heartbeat_at ?? '') > killedAt ? true : undefined;
      },
      30_000,
      () => `no heartbeat from the agent after the API node kill\n${agent!.output().slice(-3000)}`,
      250,
    );
    // HAProxy's log says where the agent's calls went: to the node that died too, before; after, what
    // was cut off there (502, or the agent gave up), then every call to api2, answered.
    const logged = lb!.requests();
    const agentBefore = logged.slice(0, finishedBefore).filter((r) => r.path.startsWith('/agent/v1/'));
    const after = logged.slice(finishedBefore).filter((r) => r.path.startsWith('/agent/v1/'));
    const cut = after.filter((r) => r.server === 'api1');
    const failures = agentFailures(killedAt);
    console.log(
      `[ha] agent calls through HAProxy before the API node kill: ${JSON.stringify(countBy(agentBefore, (r) => r.server))}; after: ${JSON.stringify(countBy(after, (r) => `${r.server} ${r.status}`))}; ` +
        `agent logged ${failures.length} failed calls ${JSON.stringify(failures.map((f) => f.slice(0, 100)))}`,
    );
    expect(agentBefore.some((r) => r.server === 'api1')).toBe(true);
    // (A 200 is one that finished between reading the log and the kill.)
    expect(cut.filter((r) => r.status !== 502 && r.status !== -1 && r.status !== 200)).toEqual([]);
    const rest = after.filter((r) => r.server !== 'api1');
    expect(rest.filter((r) => r.server !== 'api2' || r.status !== 200)).toEqual([]);
    expect(rest.some((r) => r.path.startsWith('/agent/v1/state?'))).toBe(true);
    expect(rest.some((r) => r.path === '/agent/v1/heartbeat')).toBe(true);
    // A call cut off on the dead node failed for the agent as "unavailable" (and was asked again):
    // HAProxy's 502, or the connection closed under it; nothing else failed.
    const unexpected = failures.filter((f) => !/: (HTTP 502\b|UND_ERR_SOCKET$|ECONNRESET$)/.test(f));
    expect(unexpected, `HAProxy after the kill:\n${lb!.log().split('\n').filter((l) => l.includes('/agent/v1/') && !/ api\/api2 [-0-9/+]+ 200 /.test(l)).slice(-20).join('\n')}`).toEqual([]);
    if (failures.length) console.log(`[ha] HAProxy's log of the agent's calls that did not end 200 on api2:\n${lb!.log().split('\n').filter((l) => l.includes('/agent/v1/') && !/ api\/api2 [-0-9/+]+ 200 /.test(l)).slice(-10).join('\n')}`);
  }, 180_000);

  it('kill -9 of the worker in the middle of a relay batch: another worker finishes every job, once', async () => {
    const first = workers[0]!;
    // The worker lived through the failover: it paused while there was no primary and went on.
    expect(first.alive()).toBe(true);
    expect(first.output()).toContain('backing off until the database answers');
    expect(first.output()).toContain('job runner resumed');
    // The relay node goes (its agent stopped first): the control plane's own relay, the workers'
    // maps, takes over again with a rebuild job from every live domain (docs/deploy.md).
    agent!.child.kill('SIGTERM');
    expect((await agent!.exited).code).toBe(0);
    expect((await http('DELETE', `${lb!.url}/admin/v1/nodes/${relayNodeId}`, `Bearer ${operatorKey}`)).status).toBe(200);
    // The earlier phases' relay work done first, so the batch the kill interrupts is this one's.
    const relayIdle = async () => {
      const pending = [...(await listAllJobs(lb!.url, operatorKey, { state: 'queued' })), ...(await listAllJobs(lb!.url, operatorKey, { state: 'running' }))];
      return pending.some((j) => j.kind === 'relay.apply') ? undefined : true;
    };
    await waitFor(relayIdle, 60_000, () => `earlier relay jobs not finished\n${first.output().slice(-3000)}`, 250);
    await waitFor(() => (readReloadLog(reloadLog).at(-1)?.kind !== 'start' ? true : undefined), 10_000, () => 'the last reload did not end');
    const startsBefore = readReloadLog(reloadLog).length;
    const batch = await Promise.all(Array.from({ length: 12 }, (_, n) => load.create(20_000 + n)));
    expect(batch.filter((w) => w.id === undefined)).toEqual([]);
    // A reload of the first worker still running: the batch is in the middle of being applied.
    await waitFor(
      () => {
        const last = readReloadLog(reloadLog).slice(startsBefore).at(-1);
        return last?.kind === 'start' && last.pid === first.pid ? true : undefined;
      },
      60_000,
      () => `the worker ran no batch\n${first.output().slice(-3000)}`,
      20,
    );
    first.child.kill('SIGKILL');
    const killedAt = Date.now();
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    workers.push(await startWorker());

    const expected = new Set(load.writes.map((w) => load.domainOf(w.n)));
    // The dead worker's jobs come back once their lease (15 s) runs out.
    await waitFor(
      async () => {
        const domains = (await listAllDomains(lb!.url, operatorKey)).filter((d) => expected.has(d.name));
        if (domains.length !== expected.size || domains.some((d) => d.status !== 'ready')) return undefined;
        return relayIdle();
      },
      90_000,
      async () => `relay jobs not finished\n${workers.at(-1)!.output().slice(-3000)}`,
      500,
    );
    expect(await listAllJobs(lb!.url, operatorKey, { state: 'failed' })).toEqual([]);
    const jobs = (await listAllJobs(lb!.url, operatorKey, { kind: 'relay.apply' })).filter((j) => expected.has(String(j.payload.domain)));
    // One job per domain, each succeeded; those of the batch the dead worker held ran again.
    expect(jobs.length).toBe(expected.size);
    expect(jobs.filter((j) => j.state !== 'succeeded')).toEqual([]);
    const batchDomains = new Set(batch.map((w) => load.domainOf(w.n)));
    const again = jobs.filter((j) => batchDomains.has(String(j.payload.domain)) && j.attempts > 1);
    console.log(`[ha] worker killed mid-batch: ${again.length} of the batch's ${batch.length} relay jobs ran again after the lease`);
    expect(again.length, `batch jobs ${JSON.stringify(jobs.filter((j) => batchDomains.has(String(j.payload.domain))).map((j) => [j.id, j.attempts]))}; reloads ${JSON.stringify(readReloadLog(reloadLog).slice(startsBefore).map((e) => [e.kind, e.pid, Number(e.ns / 1_000_000n) - killedAt]))}; first worker ${first.pid}`).toBeGreaterThan(0);
    // The effect, once: every domain exactly once in the relay map.
    const relayed = readMapLines(path.join(relayDir, 'relay_domains')).map(([d]) => d).filter((d) => expected.has(d));
    expect(relayed.length).toBe(expected.size);
    expect(new Set(relayed)).toEqual(expected);
  }, 180_000);
});
