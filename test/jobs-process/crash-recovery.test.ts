import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openTestDb } from '../support/test-db.js';
import {
  auditTargets,
  basicAuth,
  clientBody,
  createClients,
  freePort,
  http,
  killAll,
  listAllClients,
  listAllDomains,
  listAllJobs,
  makeTempDir,
  postClient,
  readMapLines,
  readReloadLog,
  reloadCommand,
  sleep,
  spawnHostplane,
  stopGracefully,
  waitFor,
  type Proc,
} from './process-harness.js';

// kill -9 twice: first while client POSTs are in flight, then in the middle of a relay batch; after
// each, a restart. Every client that got its 201 survives, every client is there whole or not at all,
// every domain ends up relayed exactly once, nothing fails, nothing is left behind. In the pglite
// project the spawned server uses its own embedded database (in its data dir, behind a pid lock); in
// the postgres project the same scenario runs against a PostgreSQL database of this test's own.

const tmp = makeTempDir('hostplane-jobs-crash-');
const dataDir = path.join(tmp.dir, 'data');
const relayDir = path.join(dataDir, 'relay');
const reloadLog = path.join(tmp.dir, 'reloads.log');
const onPostgres = process.env.HOSTPLANE_TEST_DB === 'postgres';
let testDb: Awaited<ReturnType<typeof openTestDb>> | undefined;

afterAll(async () => {
  killAll();
  // An orphaned reload command (its server was SIGKILLed) may still be appending to the log.
  await sleep(300);
  await testDb?.close();
  tmp.remove();
});

const CLIENTS = 500;
const CONCURRENCY = 8;
/** The first kill comes once this many clients got their 201, with the next POSTs still in flight. */
const FIRST_KILL_AFTER = 200;
/**
 * On PostgreSQL a dead worker's relay lane and jobs are only taken over once their lease (15 s,
 * the JobRunner default) runs out; the embedded database is freed at restart instead.
 */
const RECOVERY_BOUND_MS = 100_000;

async function startServe(): Promise<{ proc: Proc; url: string }> {
  const port = await freePort();
  const proc = spawnHostplane(['serve'], {
    HOSTPLANE_DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PORT: String(port),
    HOSTPLANE_LOG_LEVEL: 'warn',
    HOSTPLANE_RELAY_RELOAD_COMMAND: reloadCommand(reloadLog, 0.2),
    ...(testDb ? { DATABASE_URL: testDb.databaseUrl! } : {}),
  });
  await proc.waitForOutput('API reference:', 60_000);
  return { proc, url: `http://127.0.0.1:${port}` };
}

async function kill9(p: Proc): Promise<void> {
  p.child.kill('SIGKILL');
  expect(await p.exited).toEqual({ code: null, signal: 'SIGKILL' });
  // The orphaned reload command (own process group) finishes on its own; let it, so the log stays tidy.
  await waitFor(() => (readReloadLog(reloadLog).at(-1)?.kind !== 'start' ? true : undefined), 10_000, () => 'the orphaned reload command did not finish');
}

describe(`durable relay jobs survive kill -9 of serve (${onPostgres ? 'PostgreSQL' : 'embedded database'})`, () => {
  it('no client half-created by a kill mid-request; the batch interrupted by a kill mid-relay re-applied after restart: every domain relayed exactly once, no failed or pending job, no temp files', async () => {
    const t0 = Date.now();
    if (onPostgres) testDb = await openTestDb();
    const first = await startServe();
    const operatorKey = fs.readFileSync(path.join(dataDir, 'operator-key'), 'utf8').trim();
    // The embedded database got the demo catalog on its own; a PostgreSQL server gets it when asked.
    let demo: { api_token: string; api_key: string };
    if (onPostgres) {
      const seeded = await http<{ reseller?: { api_token: string; api_key: string } }>('POST', `${first.url}/admin/v1/demo`, `Bearer ${operatorKey}`);
      expect(seeded.status).toBe(200);
      demo = seeded.body.reseller!;
    } else {
      demo = JSON.parse(fs.readFileSync(path.join(dataDir, 'demo-reseller.json'), 'utf8')) as { api_token: string; api_key: string };
    }
    const auth = basicAuth(demo.api_token, demo.api_key);
    const run = `r${Date.now().toString(36)}`;
    const lockFile = path.join(dataDir, 'pgdata.lock');

    // 1. Kill -9 while POSTs are in flight: the request that brings the count of 201s to
    // FIRST_KILL_AFTER kills the server, with the other workers' POSTs still waiting for answers.
    const answered = new Set<number>();
    /** POSTs that got no 201 because of the kill: their clients may or may not exist. */
    const unanswered = new Set<number>();
    const inFlight = new Set<number>();
    let inFlightAtKill = 0;
    let killed = false;
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (!killed && next < CLIENTS) {
          const i = next++;
          inFlight.add(i);
          try {
            const res = await postClient(first.url, auth, run, i);
            if (res.status === 201) answered.add(i);
            else if (killed) unanswered.add(i);
            else throw new Error(`POST /v1/clients #${i} answered ${res.status}: ${JSON.stringify(res.body)}`);
          } catch (err) {
            if (!killed) throw err;
            unanswered.add(i);
          } finally {
            inFlight.delete(i);
          }
          if (!killed && answered.size >= FIRST_KILL_AFTER) {
            killed = true;
            inFlightAtKill = inFlight.size;
            first.proc.child.kill('SIGKILL');
          }
        }
      }),
    );
    expect(inFlightAtKill).toBeGreaterThan(0);
    await kill9(first.proc);
    if (!onPostgres) expect(fs.readFileSync(lockFile, 'utf8').trim().split(' ')[0]).toBe(String(first.proc.pid));
    const second = await startServe();
    const tFirstRestart = Date.now();

    // Whole or not at all: a client that exists has exactly the domains, name, address and user count
    // it was created with; every one answered 201 exists; any other exists only if it was in flight.
    const afterKill = await listAllClients(second.url, operatorKey);
    const indexOf = new Map<number, number>();
    for (const c of afterKill) {
      const i = Number(/^Client ([0-9]+)$/.exec(c.name ?? '')?.[1]);
      expect(answered.has(i) || unanswered.has(i), `client ${c.id} (${c.name}) was never confirmed or in flight`).toBe(true);
      expect([...indexOf.values()]).not.toContain(i);
      indexOf.set(c.id, i);
      const want = clientBody(run, i);
      expect({ email_address: c.email_address, user_count: c.user_count, domains: c.domains.map((d) => ({ name: d.name, mail_servers: d.mail_servers })) }).toEqual({
        email_address: want.email_address,
        user_count: want.user_count,
        domains: want.domains.map((d) => ({ name: d.name, mail_servers: d.mail_servers ?? [] })),
      });
    }
    const survivors = new Set(indexOf.values());
    for (const i of answered) expect(survivors.has(i), `client #${i} got a 201 but is gone`).toBe(true);
    const inFlightSurvivors = [...unanswered].filter((i) => survivors.has(i)).length;

    // 2. The rest on the restarted server, then kill -9 while a batch is in its reload command: both
    // map files are already replaced, but the batch's jobs are still `running` and its domains still
    // `initializing`. There is always such a batch still to come after the last 201: the last
    // client's jobs cannot have been claimed before they were committed.
    await createClients(second.url, auth, run, CLIENTS - next, CONCURRENCY, next);
    const created = new Map<string, string[]>();
    for (const c of await listAllClients(second.url, operatorKey)) for (const d of c.domains) created.set(d.name, d.mail_servers);
    const clientCount = survivors.size + (CLIENTS - next);
    expect(created.size).toBeGreaterThan(clientCount);
    const tCreated = Date.now();
    await waitFor(
      () => (readReloadLog(reloadLog).at(-1)?.kind === 'start' ? true : undefined),
      30_000,
      () => `no relay batch in progress after the clients were created; reload log:\n${fs.existsSync(reloadLog) ? fs.readFileSync(reloadLog, 'utf8') : '(none)'}`,
      5,
    );
    await kill9(second.proc);
    const tKilled = Date.now();
    // The dead process's lock is still there, naming it; the restarted server takes it over.
    if (!onPostgres) expect(fs.readFileSync(lockFile, 'utf8').trim().split(' ')[0]).toBe(String(second.proc.pid));
    const third = await startServe();
    if (!onPostgres) expect(fs.readFileSync(lockFile, 'utf8').trim().split(' ')[0]).toBe(String(third.proc.pid));
    else expect(fs.existsSync(lockFile)).toBe(false);
    const tRestarted = Date.now();

    // Every client survived the crash, and some of its domains were not applied yet.
    const afterRestart = await listAllDomains(third.url, operatorKey);
    expect(new Set(afterRestart.map((d) => d.name))).toEqual(new Set(created.keys()));
    const pendingAtRestart = afterRestart.filter((d) => d.status === 'initializing').length;
    expect(pendingAtRestart).toBeGreaterThan(0);

    const describeState = async () => {
      const domains = await listAllDomains(third.url, operatorKey).catch((e: unknown) => String(e));
      const jobs = await listAllJobs(third.url, operatorKey, { kind: 'relay.apply' }).catch((e: unknown) => String(e));
      const counts = (xs: { status?: string; state?: string }[] | string) =>
        typeof xs === 'string' ? xs : JSON.stringify(xs.reduce<Record<string, number>>((acc, x) => ({ ...acc, [x.status ?? x.state ?? '?']: (acc[x.status ?? x.state ?? '?'] ?? 0) + 1 }), {}));
      return `domains by status ${counts(domains)}, relay jobs by state ${counts(jobs)}\nserver output:\n${third.proc.output()}`;
    };
    await waitFor(
      async () => {
        const domains = await listAllDomains(third.url, operatorKey);
        if (domains.some((d) => d.status !== 'ready')) return undefined;
        const pending = [...(await listAllJobs(third.url, operatorKey, { state: 'queued' })), ...(await listAllJobs(third.url, operatorKey, { state: 'running' }))];
        return pending.some((j) => j.kind === 'relay.apply') ? undefined : true;
      },
      RECOVERY_BOUND_MS,
      describeState,
      500,
    );
    const tRecovered = Date.now();

    // The database: one relay job per domain, all succeeded (so none for a client that does not
    // exist); the batch interrupted mid-relay ran a second time, and a job interrupted by both kills
    // at most a third.
    const failed = await listAllJobs(third.url, operatorKey, { state: 'failed' });
    expect(failed).toEqual([]);
    const relayJobs = await listAllJobs(third.url, operatorKey, { kind: 'relay.apply' });
    expect(relayJobs.length).toBe(created.size);
    expect(new Set(relayJobs.map((j) => j.payload.domain))).toEqual(new Set(created.keys()));
    expect(relayJobs.filter((j) => j.state !== 'succeeded')).toEqual([]);
    const rerun = relayJobs.filter((j) => j.attempts > 1);
    expect(rerun.length).toBeGreaterThan(0);
    expect(Math.max(...relayJobs.map((j) => j.attempts))).toBeLessThanOrEqual(3);
    // One client.created event per client, each committed with its client.
    const clients = await listAllClients(third.url, operatorKey);
    expect(clients).toHaveLength(clientCount);
    const createdEvents = (await auditTargets(third.url, operatorKey, 'client.created')).sort();
    expect(createdEvents).toEqual(clients.map((c) => String(c.id)).sort());

    // The files: every domain exactly once in relay_domains, and once in transport when it has a mail server.
    const relayDomains = readMapLines(path.join(relayDir, 'relay_domains'));
    expect(relayDomains.length).toBe(created.size);
    expect(new Set(relayDomains.map(([name]) => name))).toEqual(new Set(created.keys()));
    expect(relayDomains.every(([, value]) => value === 'OK')).toBe(true);
    const transport = readMapLines(path.join(relayDir, 'transport'));
    const expectedTransport = [...created].filter(([, servers]) => servers.length > 0).map(([name, servers]) => [name, `smtp:[${servers[0]}]`]);
    expect(transport.length).toBe(expectedTransport.length);
    expect(new Map(transport)).toEqual(new Map(expectedTransport as [string, string][]));
    expect(expectedTransport.length).toBeLessThan(created.size); // some domains have no mail server
    expect(fs.readdirSync(relayDir).sort()).toEqual(['relay_domains', 'transport']);

    // The reload command ran once per batch, in the killed server and after the restart at least.
    const events = readReloadLog(reloadLog);
    const pids = new Set(events.map((e) => e.pid));
    expect(pids.has(second.proc.pid) && pids.has(third.proc.pid)).toBe(true);
    for (const pid of pids) expect([first.proc.pid, second.proc.pid, third.proc.pid]).toContain(pid);

    expect(await stopGracefully(third.proc)).toBe(0);
    expect(fs.existsSync(lockFile)).toBe(false);
    console.info(
      `[crash-recovery, ${onPostgres ? 'postgres' : 'embedded'}] first kill with ${inFlightAtKill} POSTs in flight: ${answered.size} answered 201, ${unanswered.size} unanswered (${inFlightSurvivors} of those committed), restarted ${tFirstRestart - t0} ms after start; ` +
        `${created.size} domains of ${clientCount} clients created by ${tCreated - t0} ms, killed mid-relay ${tKilled - tCreated} ms later; ` +
        `${pendingAtRestart} domains initializing at restart, all ready ${tRecovered - tRestarted} ms after restart; ${rerun.length} jobs ran more than once; ${events.length / 2} reloads`,
    );
  }, 240_000);
});
