import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
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
  reloadBatches,
  sleep,
  spawnHostplane,
  stopGracefully,
  waitFor,
  reloadCommand,
  type Proc,
} from './process-harness.js';

// Relay jobs run once each, one batch at a time. On PostgreSQL: an API-only `serve` and two
// `hostplane worker` processes sharing the database and the relay directory, so the relay lane must
// serialise batches across processes. On the embedded database (one process only, by its lock) the
// same scenario runs with a single `serve` that works its own jobs, and must show the same outcome.

const tmp = makeTempDir('hostplane-jobs-lane-');
const dataDir = path.join(tmp.dir, 'data');
const relayDir = path.join(dataDir, 'relay');
const reloadLog = path.join(tmp.dir, 'reloads.log');
let testDb: Awaited<ReturnType<typeof openTestDb>> | undefined;
let sqlClient: pg.Client | undefined;

afterAll(async () => {
  killAll();
  await sleep(300); // an orphaned reload command may still be appending to the log
  await sqlClient?.end().catch(() => undefined);
  await testDb?.close();
  tmp.remove();
});

const CLIENTS = 300;
const CONCURRENCY = 8;
const WAVES = 10;

describe('relay lane across worker processes', () => {
  it('runs every relay job exactly once and never two batches at the same time', async () => {
    const onPostgres = process.env.HOSTPLANE_TEST_DB === 'postgres';
    const t0 = Date.now();
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const common = {
      HOSTPLANE_DATA_DIR: dataDir,
      HOSTPLANE_RELAY_RELOAD_COMMAND: reloadCommand(reloadLog, 0.05),
    };
    const workers: Proc[] = [];
    let serve: Proc;
    if (onPostgres) {
      testDb = await openTestDb();
      const databaseUrl = testDb.databaseUrl!;
      // No embedded database (so no lock): all three share the data dir, and so the relay files.
      serve = spawnHostplane(['serve'], { ...common, DATABASE_URL: databaseUrl, HOST: '127.0.0.1', PORT: String(port), HOSTPLANE_LOG_LEVEL: 'warn', HOSTPLANE_WORKER: 'off' });
      await serve.waitForOutput('API reference:', 60_000);
      for (let i = 0; i < 2; i++) workers.push(spawnHostplane(['worker'], { ...common, DATABASE_URL: databaseUrl, HOSTPLANE_LOG_LEVEL: 'info' }));
      await Promise.all(workers.map((w) => w.waitForOutput('hostplane worker running', 60_000)));
    } else {
      serve = spawnHostplane(['serve'], { ...common, HOST: '127.0.0.1', PORT: String(port), HOSTPLANE_LOG_LEVEL: 'warn' });
      await serve.waitForOutput('API reference:', 60_000);
    }
    const operatorKey = fs.readFileSync(path.join(dataDir, 'operator-key'), 'utf8').trim();
    const operator = `Bearer ${operatorKey}`;

    // The embedded database got the demo catalog on its own; a PostgreSQL server gets it when asked.
    let reseller: { api_token: string; api_key: string };
    if (onPostgres) {
      const demo = await http<{ created: boolean; reseller?: { api_token: string; api_key: string } }>('POST', `${url}/admin/v1/demo`, operator);
      expect(demo.status).toBe(200);
      expect(demo.body.created).toBe(true);
      reseller = demo.body.reseller!;
    } else {
      reseller = JSON.parse(fs.readFileSync(path.join(dataDir, 'demo-reseller.json'), 'utf8')) as { api_token: string; api_key: string };
    }

    const run = `w${Date.now().toString(36)}`;
    // In waves with pauses between them, so the lane changes hands many times while work keeps arriving.
    const created = new Map<string, string[]>();
    for (let wave = 0; wave < WAVES; wave++) {
      const part = await createClients(url, basicAuth(reseller.api_token, reseller.api_key), run, CLIENTS / WAVES, CONCURRENCY, wave * (CLIENTS / WAVES));
      for (const [name, servers] of part) created.set(name, servers);
      await sleep(150);
    }
    const tCreated = Date.now();

    await waitFor(
      async () => {
        const domains = await listAllDomains(url, operatorKey);
        if (domains.length !== created.size || domains.some((d) => d.status !== 'ready')) return undefined;
        const pending = [...(await listAllJobs(url, operatorKey, { state: 'queued' })), ...(await listAllJobs(url, operatorKey, { state: 'running' }))];
        return pending.some((j) => j.kind === 'relay.apply') ? undefined : true;
      },
      45_000,
      async () => {
        const domains = await listAllDomains(url, operatorKey).catch(() => []);
        return `${domains.filter((d) => d.status !== 'ready').length} of ${domains.length} domains not ready\n${[serve, ...workers].map((p) => `--- ${p.pid}:\n${p.output()}`).join('\n')}`;
      },
      250,
    );
    const tReady = Date.now();

    // Every relay job ran exactly once and succeeded; nothing failed.
    expect(await listAllJobs(url, operatorKey, { state: 'failed' })).toEqual([]);
    const relayJobs = await listAllJobs(url, operatorKey, { kind: 'relay.apply' });
    expect(relayJobs.length).toBe(created.size);
    expect(new Set(relayJobs.map((j) => j.payload.domain))).toEqual(new Set(created.keys()));
    expect(relayJobs.filter((j) => j.state !== 'succeeded' || j.attempts !== 1)).toEqual([]);
    if (onPostgres) {
      // The same from the table itself, with the columns the API does not show.
      sqlClient = new pg.Client({ connectionString: testDb!.databaseUrl! });
      await sqlClient.connect();
      const { rows } = await sqlClient.query<{ state: string; attempts: number; n: string; locked: string; errors: string }>(
        `select state, attempts, count(*) as n, count(locked_by) as locked, count(last_error) as errors from jobs where kind = 'relay.apply' group by state, attempts`,
      );
      expect(rows.map((r) => ({ ...r, n: Number(r.n), locked: Number(r.locked), errors: Number(r.errors) }))).toEqual([{ state: 'succeeded', attempts: 1, n: created.size, locked: 0, errors: 0 }]);
      const lanes = await sqlClient.query<{ lane: string; holder: string | null }>(`select lane, holder from job_lanes`);
      expect(lanes.rows).toEqual([{ lane: 'relay', holder: null }]);
    }

    // Batches never overlapped (reloadBatches throws on any interleaving), and each ran in a worker.
    const batches = reloadBatches(readReloadLog(reloadLog));
    expect(batches.length).toBeGreaterThan(0);
    const batchPids = new Set(batches.map((b) => b.pid));
    const workerPids = onPostgres ? workers.map((w) => w.pid) : [serve.pid];
    for (const pid of batchPids) expect(workerPids).toContain(pid);

    // The shared relay files hold every domain once.
    const relayDomains = readMapLines(path.join(relayDir, 'relay_domains'));
    expect(relayDomains.length).toBe(created.size);
    expect(new Set(relayDomains.map(([name]) => name))).toEqual(new Set(created.keys()));
    const transport = readMapLines(path.join(relayDir, 'transport'));
    const expectedTransport = [...created].filter(([, servers]) => servers.length > 0).map(([name, servers]) => [name, `smtp:[${servers[0]}]`] as [string, string]);
    expect(new Map(transport)).toEqual(new Map(expectedTransport));
    expect(transport.length).toBe(expectedTransport.length);
    expect(fs.readdirSync(relayDir).sort()).toEqual(['relay_domains', 'transport']);

    for (const p of [...workers, serve]) expect(await stopGracefully(p)).toBe(0);
    console.info(
      `[worker-lane] ${onPostgres ? 'postgres, serve + 2 workers' : 'embedded, one serve'}: ${created.size} domains of ${CLIENTS} clients created in ${tCreated - t0} ms (incl. start), ` +
        `all ready ${tReady - tCreated} ms later; ${batches.length} batches, by ${[...batchPids].map((pid) => `${pid}×${batches.filter((b) => b.pid === pid).length}`).join(', ')}`,
    );
  }, 150_000);
});
