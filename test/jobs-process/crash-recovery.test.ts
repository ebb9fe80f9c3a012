import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openTestDb } from '../support/test-db.js';
import {
  basicAuth,
  createClients,
  freePort,
  http,
  killAll,
  listAllDomains,
  listAllJobs,
  makeTempDir,
  readMapLines,
  readReloadLog,
  reloadCommand,
  sleep,
  spawnHostplane,
  stopGracefully,
  waitFor,
  type Proc,
} from './process-harness.js';

// kill -9 in the middle of a relay batch, then restart: every domain still ends up relayed exactly
// once, nothing fails, nothing is left behind. In the pglite project the spawned server uses its own
// embedded database (in its data dir, behind a pid lock); in the postgres project the same scenario
// runs against a PostgreSQL database of this test's own.

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

const CLIENTS = 400;
const CONCURRENCY = 8;
/** The relay lane and its jobs are leased for 60 s (JobRunner default); a dead worker's lease must run out first. */
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

describe(`durable relay jobs survive kill -9 of serve (${onPostgres ? 'PostgreSQL' : 'embedded database'})`, () => {
  it('re-applies the interrupted batch after a restart: every domain relayed exactly once, no failed or pending job, no temp files', async () => {
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
    const run = `r${Date.now().toString(36)}`;

    const created = await createClients(first.url, basicAuth(demo.api_token, demo.api_key), run, CLIENTS, CONCURRENCY);
    expect(created.size).toBeGreaterThan(CLIENTS);
    const tCreated = Date.now();

    // Kill while a batch is in its reload command: both map files are already replaced, but the
    // batch's jobs are still `running` and its domains still `initializing`. There is always such a
    // batch still to come after the last 201: the last client's jobs cannot have been claimed before
    // they were committed.
    await waitFor(
      () => (readReloadLog(reloadLog).at(-1)?.kind === 'start' ? true : undefined),
      20_000,
      () => `no relay batch in progress after the clients were created; reload log:\n${fs.existsSync(reloadLog) ? fs.readFileSync(reloadLog, 'utf8') : '(none)'}`,
      5,
    );
    first.proc.child.kill('SIGKILL');
    expect(await first.proc.exited).toEqual({ code: null, signal: 'SIGKILL' });
    const tKilled = Date.now();
    // The orphaned reload command (own process group) finishes on its own; let it, so the log stays tidy.
    await waitFor(() => (readReloadLog(reloadLog).at(-1)?.kind === 'end' ? true : undefined), 10_000, () => 'the orphaned reload command did not finish');
    const lockFile = path.join(dataDir, 'pgdata.lock');
    // The dead process's lock is still there, naming it; the restarted server takes it over.
    if (!onPostgres) expect(fs.readFileSync(lockFile, 'utf8').trim()).toBe(String(first.proc.pid));
    const second = await startServe();
    if (!onPostgres) expect(fs.readFileSync(lockFile, 'utf8').trim()).toBe(String(second.proc.pid));
    else expect(fs.existsSync(lockFile)).toBe(false);
    const tRestarted = Date.now();

    // Every client that got a 201 survived the crash, and some of its domains were not applied yet.
    const afterRestart = await listAllDomains(second.url, operatorKey);
    expect(new Set(afterRestart.map((d) => d.name))).toEqual(new Set(created.keys()));
    const pendingAtRestart = afterRestart.filter((d) => d.status === 'initializing').length;
    expect(pendingAtRestart).toBeGreaterThan(0);

    const describeState = async () => {
      const domains = await listAllDomains(second.url, operatorKey).catch((e: unknown) => String(e));
      const jobs = await listAllJobs(second.url, operatorKey, { kind: 'relay.apply' }).catch((e: unknown) => String(e));
      const counts = (xs: { status?: string; state?: string }[] | string) =>
        typeof xs === 'string' ? xs : JSON.stringify(xs.reduce<Record<string, number>>((acc, x) => ({ ...acc, [x.status ?? x.state ?? '?']: (acc[x.status ?? x.state ?? '?'] ?? 0) + 1 }), {}));
      return `domains by status ${counts(domains)}, relay jobs by state ${counts(jobs)}\nserver output:\n${second.proc.output()}`;
    };
    await waitFor(
      async () => {
        const domains = await listAllDomains(second.url, operatorKey);
        if (domains.some((d) => d.status !== 'ready')) return undefined;
        const pending = [...(await listAllJobs(second.url, operatorKey, { state: 'queued' })), ...(await listAllJobs(second.url, operatorKey, { state: 'running' }))];
        return pending.some((j) => j.kind === 'relay.apply') ? undefined : true;
      },
      RECOVERY_BOUND_MS,
      describeState,
      500,
    );
    const tRecovered = Date.now();

    // The database: one relay job per domain, all succeeded; the interrupted batch ran a second time.
    const failed = await listAllJobs(second.url, operatorKey, { state: 'failed' });
    expect(failed).toEqual([]);
    const relayJobs = await listAllJobs(second.url, operatorKey, { kind: 'relay.apply' });
    expect(relayJobs.length).toBe(created.size);
    expect(new Set(relayJobs.map((j) => j.payload.domain))).toEqual(new Set(created.keys()));
    expect(relayJobs.filter((j) => j.state !== 'succeeded')).toEqual([]);
    const rerun = relayJobs.filter((j) => j.attempts > 1);
    expect(rerun.length).toBeGreaterThan(0);
    expect(Math.max(...relayJobs.map((j) => j.attempts))).toBe(2);

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

    // The reload command ran once per batch, both before and after the crash.
    const events = readReloadLog(reloadLog);
    const pids = new Set(events.map((e) => e.pid));
    expect(pids.size).toBe(2);

    expect(await stopGracefully(second.proc)).toBe(0);
    expect(fs.existsSync(lockFile)).toBe(false);
    console.info(
      `[crash-recovery, ${onPostgres ? 'postgres' : 'embedded'}] ${created.size} domains of ${CLIENTS} clients: created in ${tCreated - t0} ms (incl. first start), killed ${tKilled - tCreated} ms later; ` +
        `${pendingAtRestart} domains initializing at restart, all ready ${tRecovered - tRestarted} ms after restart; ${rerun.length} jobs ran twice; ${events.length / 2} reloads`,
    );
  }, 240_000);
});
