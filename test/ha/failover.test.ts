import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  basicAuth,
  clientDomains,
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
import { haToolsMissing, startFailoverCluster, startHaproxy, type FailoverCluster, type Haproxy } from './ha-cluster.js';

// Losing any one machine loses nothing (docs/deploy.md): PostgreSQL primary + synchronous standby
// under pg_auto_failover, two API nodes (`hostplane serve`, workers off) behind HAProxy with
// deploy/haproxy.cfg, one `hostplane worker`. Under a steady load of keyed creates and reads:
//  1. kill -9 the primary: every acknowledged write is there afterwards, no key is applied twice,
//     every answer meanwhile is a success or a 503 with Retry-After (no 500, no hang), and the time to
//     the first write after the kill is logged;
//  2. kill -9 an API node: HAProxy routes around it, requests cut off retried with their keys succeed once;
//  3. kill -9 the worker in the middle of a relay batch: another worker process finishes the jobs, once.
// Only against PostgreSQL: the embedded database is one process on one machine, so there is no
// failover to test there (the pglite project skips this file).

const onPostgres = process.env.HOSTPLANE_TEST_DB === 'postgres';
const missing = haToolsMissing();
/** Far above every deadline involved (connect 1 s, probe 0.5 s, HAProxy's checks): an answer later than this hung. */
const HANG_MS = 20_000;
const WRITERS = 4;

interface Attempt {
  status: number | 'network' | 'hang';
  retryAfter: string | null;
  replayed: boolean;
  at: number;
}

interface KeyedWrite {
  key: string;
  name: string;
  attempts: Attempt[];
  id?: number;
  ackedAt?: number;
}

const tmp = makeTempDir('hostplane-ha-');
const dataDir = path.join(tmp.dir, 'data');
const relayDir = path.join(dataDir, 'relay');
const reloadLog = path.join(tmp.dir, 'reloads.log');
let cluster: FailoverCluster | undefined;
let lb: Haproxy | undefined;
const api: { proc: Proc; port: number }[] = [];
const workers: Proc[] = [];
let operatorKey = '';
let reseller = '';
const run = `ha${Date.now().toString(36)}`;
const writes: KeyedWrite[] = [];
const reads: Attempt[] = [];

afterAll(async () => {
  killAll();
  await lb?.stop().catch(() => {});
  await cluster?.destroy().catch(() => {});
  await sleep(300);
  tmp.remove();
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

async function send(method: string, url: string, body?: unknown, key?: string): Promise<Attempt & { body: unknown }> {
  const at = Date.now();
  try {
    const res = await fetch(url, {
      method,
      headers: { authorization: reseller, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(key ? { 'idempotency-key': key } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(HANG_MS),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // kept as text for the failure message
    }
    return { status: res.status, retryAfter: res.headers.get('retry-after'), replayed: res.headers.get('idempotency-replayed') === 'true', at, body: parsed };
  } catch (err) {
    const hung = (err as Error).name === 'TimeoutError';
    return { status: hung ? 'hang' : 'network', retryAfter: null, replayed: false, at, body: String(err) };
  }
}

/** One keyed create, sent again with the same key until it succeeds (as a client following Retry-After would, faster). */
async function keyedCreate(i: number): Promise<KeyedWrite> {
  const w: KeyedWrite = { key: `${run}-${i}`, name: `HA ${run} ${i}`, attempts: [] };
  writes.push(w);
  const body = { package_uid: 'spamstopshere-standard', user_count: 1, email_address: `ha${i}@example.com`, name: w.name, domains: clientDomains(run, i).slice(0, 1) };
  for (;;) {
    const a = await send('POST', `${lb!.url}/v1/clients`, body, w.key);
    w.attempts.push({ status: a.status, retryAfter: a.retryAfter, replayed: a.replayed, at: a.at });
    if (a.status === 201 || a.status === 200) {
      w.id = (a.body as { id: number }).id;
      w.ackedAt = Date.now();
      return w;
    }
    if (a.status === 'hang') return w;
    await sleep(150);
  }
}

/** Keyed creates and reads of what was created, from WRITERS loops, until `stop` says so. */
function load(first: number, stop: () => boolean): Promise<void> {
  let next = first;
  const loop = async () => {
    while (!stop()) {
      const w = await keyedCreate(next++);
      if (w.id !== undefined) {
        const r = await send('GET', `${lb!.url}/v1/clients/${w.id}`);
        reads.push(r);
      } else return;
    }
  };
  return Promise.all(Array.from({ length: WRITERS }, loop)).then(() => undefined);
}

const statusesOf = (list: Attempt[]) => [...new Set(list.map((a) => a.status))].sort();

describe.skipIf(!onPostgres || missing !== undefined)(`HA topology: failover, a dead API node, a dead worker${missing ? ` (skipped: ${missing})` : ''}`, () => {
  beforeAll(async () => {
    cluster = await startFailoverCluster();
    // One node first: it migrates the empty database; the second finds it migrated.
    api.push(await startApi());
    api.push(await startApi());
    operatorKey = fs.readFileSync(path.join(dataDir, 'operator-key'), 'utf8').trim();
    lb = await startHaproxy(api.map((a, i) => ({ name: `api${i + 1}`, port: a.port })));
    const demo = await http<{ reseller: { api_token: string; api_key: string } }>('POST', `${lb.url}/admin/v1/demo`, `Bearer ${operatorKey}`);
    expect(demo.status).toBe(200);
    reseller = basicAuth(demo.body.reseller.api_token, demo.body.reseller.api_key);
    workers.push(await startWorker());
  }, 240_000);

  it('kill -9 of the PostgreSQL primary: no acknowledged write lost, none doubled, only 503s meanwhile', async () => {
    const oldPrimary = await cluster!.primary();
    expect(oldPrimary?.name).toBe('node1');
    let killedAt = 0;
    let stop = false;
    const running = load(0, () => stop);
    await waitFor(() => (writes.filter((w) => w.id !== undefined).length >= 20 ? true : undefined), 60_000, () => 'no steady load before the kill');
    const ackedBefore = writes.filter((w) => w.id !== undefined).length;
    await cluster!.kill9(oldPrimary!);
    killedAt = Date.now();
    // Load goes on until 20 more writes succeeded on the new primary.
    await waitFor(
      () => (writes.filter((w) => (w.ackedAt ?? 0) > killedAt).length >= 20 ? true : undefined),
      120_000,
      async () => `no writes after the kill\n${await cluster!.state()}\n${api.map((a) => a.proc.output().slice(-2000)).join('\n')}`,
      200,
    );
    stop = true;
    await running;
    const firstAfter = Math.min(...writes.filter((w) => (w.ackedAt ?? 0) > killedAt).map((w) => w.ackedAt!));
    const newPrimary = await cluster!.primary();
    console.log(
      `[ha] primary ${oldPrimary!.name} killed after ${ackedBefore} writes; first write ${firstAfter - killedAt} ms after the kill on ${newPrimary?.name}; ` +
        `${writes.length} keyed writes, ${writes.reduce((n, w) => n + w.attempts.length, 0)} attempts, statuses ${JSON.stringify(statusesOf(writes.flatMap((w) => w.attempts)))}`,
    );
    expect(newPrimary?.name).toBe('node2');

    // Every answer was a success or the 503 with Retry-After; nothing hung, nothing was a 500.
    const attempts = [...writes.flatMap((w) => w.attempts), ...reads];
    expect(attempts.filter((a) => a.status === 'hang')).toEqual([]);
    expect(statusesOf(attempts).filter((s) => s !== 200 && s !== 201 && s !== 503)).toEqual([]);
    expect(attempts.filter((a) => a.status === 503 && !a.retryAfter)).toEqual([]);
    // Some answers were 503s: the load did run through the failover.
    expect(attempts.some((a) => a.status === 503)).toBe(true);

    // 0 lost, 0 doubled: every acknowledged client is there, once, with the id it was acknowledged with.
    const clients = await listAllClients(lb!.url, operatorKey);
    const byName = new Map<string, number[]>();
    for (const c of clients) if (c.name?.startsWith(`HA ${run} `)) byName.set(c.name, [...(byName.get(c.name) ?? []), c.id]);
    const acked = writes.filter((w) => w.id !== undefined);
    expect(acked.length).toBe(writes.length);
    expect(acked.filter((w) => JSON.stringify(byName.get(w.name)) !== JSON.stringify([w.id])).map((w) => ({ name: w.name, acked: w.id, found: byName.get(w.name) }))).toEqual([]);
    expect(byName.size).toBe(acked.length);
    // A key sent again after its write committed got the same answer back.
    for (const w of acked.filter((x) => x.attempts.at(-1)!.replayed)) expect(w.attempts.at(-1)!.status).toBe(201);
  }, 240_000);

  it('kill -9 of an API node: HAProxy routes around it and requests retried with their keys succeed once', async () => {
    const before = writes.length;
    let stop = false;
    const running = load(10_000, () => stop);
    await waitFor(() => (writes.length - before >= 15 ? true : undefined), 60_000, () => 'no load before the API node kill');
    const victim = api[0]!;
    victim.proc.child.kill('SIGKILL');
    expect(await victim.proc.exited).toEqual({ code: null, signal: 'SIGKILL' });
    const killedAt = Date.now();
    await waitFor(() => (writes.filter((w) => (w.ackedAt ?? 0) > killedAt).length >= 30 ? true : undefined), 60_000, () => 'no writes after the API node died', 200);
    stop = true;
    await running;
    const mine = writes.slice(before);
    const cut = mine.filter((w) => w.attempts.length > 1);
    console.log(`[ha] API node killed: ${mine.length} keyed writes, ${cut.length} retried, statuses ${JSON.stringify(statusesOf(mine.flatMap((w) => w.attempts)))}`);
    expect(mine.flatMap((w) => w.attempts).filter((a) => a.status === 'hang' || a.status === 500)).toEqual([]);
    // Every write ends acknowledged, once: retried keys were applied by whichever node took them.
    const clients = await listAllClients(lb!.url, operatorKey);
    const counts = new Map<string, number[]>();
    for (const c of clients) if (c.name?.startsWith(`HA ${run} `)) counts.set(c.name, [...(counts.get(c.name) ?? []), c.id]);
    expect(mine.filter((w) => w.id === undefined)).toEqual([]);
    expect(mine.filter((w) => JSON.stringify(counts.get(w.name)) !== JSON.stringify([w.id])).map((w) => ({ name: w.name, acked: w.id, found: counts.get(w.name) }))).toEqual([]);
    // After the kill, nothing reached the dead node: HAProxy sent everything to the other one.
    const late = mine.flatMap((w) => w.attempts).filter((a) => a.at > killedAt + 3000);
    expect(late.filter((a) => a.status !== 200 && a.status !== 201)).toEqual([]);
  }, 180_000);

  it('kill -9 of the worker in the middle of a relay batch: another worker finishes every job, once', async () => {
    const first = workers[0]!;
    // The worker lived through the failover: it paused while there was no primary and went on.
    expect(first.alive()).toBe(true);
    expect(first.output()).toContain('backing off until the database answers');
    expect(first.output()).toContain('job runner resumed');
    const startsBefore = readReloadLog(reloadLog).length;
    const more = await Promise.all(Array.from({ length: 12 }, (_, n) => keyedCreate(20_000 + n)));
    expect(more.filter((w) => w.id === undefined)).toEqual([]);
    // A reload of the first worker still running: the batch is in the middle of being applied.
    await waitFor(
      () => {
        const log = readReloadLog(reloadLog).slice(startsBefore);
        const last = log.at(-1);
        return last?.kind === 'start' && last.pid === first.pid ? true : undefined;
      },
      60_000,
      () => `the worker ran no batch\n${first.output().slice(-3000)}`,
      20,
    );
    first.child.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    workers.push(await startWorker());

    const expected = new Set(writes.filter((w) => w.id !== undefined).flatMap((w) => clientDomains(run, Number(w.key.split('-').at(-1))).slice(0, 1).map((d) => d.name)));
    // Its jobs come back once their lease (15 s) runs out.
    await waitFor(
      async () => {
        const domains = (await listAllDomains(lb!.url, operatorKey)).filter((d) => expected.has(d.name));
        if (domains.length !== expected.size || domains.some((d) => d.status !== 'ready')) return undefined;
        const pending = [...(await listAllJobs(lb!.url, operatorKey, { state: 'queued' })), ...(await listAllJobs(lb!.url, operatorKey, { state: 'running' }))];
        return pending.some((j) => j.kind === 'relay.apply') ? undefined : true;
      },
      90_000,
      async () => `relay jobs not finished\n${workers.at(-1)!.output().slice(-3000)}`,
      500,
    );
    expect(await listAllJobs(lb!.url, operatorKey, { state: 'failed' })).toEqual([]);
    const jobs = (await listAllJobs(lb!.url, operatorKey, { kind: 'relay.apply' })).filter((j) => expected.has(String(j.payload.domain)));
    // One job per domain, each succeeded; the ones the dead worker held ran again after their lease.
    expect(jobs.length).toBe(expected.size);
    expect(jobs.filter((j) => j.state !== 'succeeded')).toEqual([]);
    console.log(`[ha] worker killed mid-batch: ${jobs.filter((j) => j.attempts > 1).length} relay jobs took more than one attempt (during the failover, or held by the dead worker)`);
    // The effect, once: every domain exactly once in the relay map.
    const relayed = readMapLines(path.join(relayDir, 'relay_domains')).map(([d]) => d);
    const mineRelayed = relayed.filter((d) => expected.has(d));
    expect(mineRelayed.length).toBe(expected.size);
    expect(new Set(mineRelayed)).toEqual(expected);
  }, 180_000);
});
