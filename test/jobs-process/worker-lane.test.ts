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
  startOverlapReceiver,
  type OverlapReceiver,
  type Proc,
} from './process-harness.js';
import { signatureValid } from '../webhooks/receiver.js';

// Relay jobs run once each, one batch at a time. On PostgreSQL: an API-only `serve` and two
// `hostplane worker` processes sharing the database and the relay directory, so the relay lane must
// serialise batches across processes. On the embedded database (one process only, by its lock) the
// same scenario runs with a single `serve` that works its own jobs, and must show the same outcome.
// On PostgreSQL a second case runs two `serve` processes with their workers on, as one would scale out.

const tmp = makeTempDir('hostplane-jobs-lane-');
const dataDir = path.join(tmp.dir, 'data');
const relayDir = path.join(dataDir, 'relay');
const reloadLog = path.join(tmp.dir, 'reloads.log');
const onPostgres = process.env.HOSTPLANE_TEST_DB === 'postgres';
const databases: Awaited<ReturnType<typeof openTestDb>>[] = [];
const sqlClients: pg.Client[] = [];
let receiver: OverlapReceiver | undefined;

afterAll(async () => {
  killAll();
  await sleep(300); // an orphaned reload command may still be appending to the log
  await receiver?.close();
  for (const c of sqlClients) await c.end().catch(() => undefined);
  for (const db of databases) await db.close();
  tmp.remove();
});

async function sqlOn(databaseUrl: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  sqlClients.push(client);
  return client;
}

const CLIENTS = 300;
/** Fewer for the two-serve case: webhook deliveries come on top of the relay work. */
const SERVE_CLIENTS = 200;
const CONCURRENCY = 8;
const WAVES = 10;

describe('relay lane across worker processes', () => {
  it('runs every relay job exactly once and never two batches at the same time', async () => {
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
      const testDb = await openTestDb();
      databases.push(testDb);
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
      const sqlClient = await sqlOn(databases[0]!.databaseUrl!);
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

  // The issue's case: two `hostplane serve` processes, workers on, one PostgreSQL, requests spread over
  // both. Relay batches may legitimately all go to one process (the lane goes to whichever worker asks
  // first, and a batch takes every due job), so the spread is shown on webhook deliveries, which have
  // no lane: the receiver holds the first delivery open until a second one arrives, which only the
  // other process can send while the first waits on its answer.
  it.runIf(onPostgres)('two serve processes with workers on: every job once, relay batches one at a time, deliveries from both side by side', async () => {
    const t0 = Date.now();
    const dir = path.join(tmp.dir, 'two-serves');
    const data = path.join(dir, 'data');
    const relay = path.join(data, 'relay');
    const log = path.join(dir, 'reloads.log');
    const testDb = await openTestDb();
    databases.push(testDb);
    receiver = await startOverlapReceiver(60_000);
    const ports = [await freePort(), await freePort()];
    const urls = ports.map((p) => `http://127.0.0.1:${p}`);
    const env = (port: number) => ({
      HOSTPLANE_DATA_DIR: data,
      HOSTPLANE_RELAY_RELOAD_COMMAND: reloadCommand(log, 0.05),
      DATABASE_URL: testDb.databaseUrl!,
      HOST: '127.0.0.1',
      PORT: String(port),
      HOSTPLANE_LOG_LEVEL: 'warn',
      HOSTPLANE_WEBHOOK_ALLOW_PRIVATE: 'true',
      // Far beyond the receiver's hold, so a held delivery is never abandoned and sent again meanwhile.
      HOSTPLANE_WEBHOOK_TIMEOUT_MS: '180000',
    });
    // One after the other: the second finds the first's operator key instead of making its own.
    const serves: Proc[] = [];
    for (const port of ports) {
      const p = spawnHostplane(['serve'], env(port));
      await p.waitForOutput('API reference:', 60_000);
      serves.push(p);
    }
    const operatorKey = fs.readFileSync(path.join(data, 'operator-key'), 'utf8').trim();
    const operator = `Bearer ${operatorKey}`;
    const demo = await http<{ created: boolean; reseller?: { api_token: string; api_key: string } }>('POST', `${urls[0]}/admin/v1/demo`, operator);
    expect(demo.status).toBe(200);
    const auth = basicAuth(demo.body.reseller!.api_token, demo.body.reseller!.api_key);
    const hook = await http<{ id: number; secret: string }>('POST', `${urls[1]}/admin/v1/webhooks`, operator, { url: `${receiver.url}/hook`, event_types: ['client.created'] });
    expect(hook.status, JSON.stringify(hook.body)).toBe(201);

    const run = `s${Date.now().toString(36)}`;
    const created = new Map<string, string[]>();
    // Once a delivery is held, one more client: its delivery is a job the holding process cannot take.
    const trigger = receiver.firstHeld.then(() => createClients(urls[1]!, auth, run, 1, 1, SERVE_CLIENTS));
    // Waves alternate between the two servers.
    for (let wave = 0; wave < WAVES; wave++) {
      const part = await createClients(urls[wave % 2]!, auth, run, SERVE_CLIENTS / WAVES, CONCURRENCY, wave * (SERVE_CLIENTS / WAVES));
      for (const [name, servers] of part) created.set(name, servers);
      await sleep(150);
    }
    for (const [name, servers] of await trigger) created.set(name, servers);
    expect(await receiver.overlapped, 'a second process delivered while the first waited on its answer').toBe(true);
    const tCreated = Date.now();

    const sqlClient = await sqlOn(testDb.databaseUrl!);
    const pendingJobs = async () => Number((await sqlClient.query<{ n: string }>(`select count(*) as n from jobs where state in ('queued', 'running') and kind in ('relay.apply', 'webhook.deliver')`)).rows[0]!.n);
    await waitFor(
      async () => {
        const domains = await listAllDomains(urls[0]!, operatorKey);
        if (domains.length !== created.size || domains.some((d) => d.status !== 'ready')) return undefined;
        return (await pendingJobs()) === 0 ? true : undefined;
      },
      45_000,
      async () => `${await pendingJobs()} relay or webhook jobs pending\n${serves.map((p) => `--- ${p.pid}:\n${p.output()}`).join('\n')}`,
      250,
    );
    const tDone = Date.now();

    // Every relay job and every delivery ran exactly once, and succeeded; nothing holds a lease or a lane.
    const clients = SERVE_CLIENTS + 1;
    const { rows } = await sqlClient.query<{ kind: string; state: string; attempts: number; n: string; locked: string; errors: string }>(
      `select kind, state, attempts, count(*) as n, count(locked_by) as locked, count(last_error) as errors from jobs where kind in ('relay.apply', 'webhook.deliver') group by kind, state, attempts order by kind`,
    );
    expect(rows.map((r) => ({ ...r, n: Number(r.n), locked: Number(r.locked), errors: Number(r.errors) }))).toEqual([
      { kind: 'relay.apply', state: 'succeeded', attempts: 1, n: created.size, locked: 0, errors: 0 },
      { kind: 'webhook.deliver', state: 'succeeded', attempts: 1, n: clients, locked: 0, errors: 0 },
    ]);
    expect((await sqlClient.query(`select lane, holder from job_lanes`)).rows).toEqual([{ lane: 'relay', holder: null }]);

    // The receiver got each client's event once, signed, and nothing else.
    const events = receiver.received.map((r) => r.json);
    expect(events.every((e) => e.type === 'client.created')).toBe(true);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    expect(new Set(events.map((e) => e.data.id)).size).toBe(clients);
    for (const r of receiver.received) expect(signatureValid(r.headers['hostplane-signature'], r.body, hook.body.secret)).toBe(true);

    // Relay batches never overlapped (reloadBatches throws otherwise), each in one of the two servers,
    // and the shared files hold every domain once.
    const batches = reloadBatches(readReloadLog(log));
    expect(batches.length).toBeGreaterThan(0);
    for (const b of batches) expect(serves.map((p) => p.pid)).toContain(b.pid);
    const relayDomains = readMapLines(path.join(relay, 'relay_domains'));
    expect(relayDomains.length).toBe(created.size);
    expect(new Set(relayDomains.map(([name]) => name))).toEqual(new Set(created.keys()));
    const transport = readMapLines(path.join(relay, 'transport'));
    const expectedTransport = [...created].filter(([, servers]) => servers.length > 0).map(([name, servers]) => [name, `smtp:[${servers[0]}]`] as [string, string]);
    expect(new Map(transport)).toEqual(new Map(expectedTransport));
    expect(transport.length).toBe(expectedTransport.length);

    for (const p of serves) expect(await stopGracefully(p)).toBe(0);
    console.info(
      `[worker-lane] postgres, two serves: ${created.size} domains of ${clients} clients created in ${tCreated - t0} ms (incl. start), all relayed and delivered ${tDone - tCreated} ms later; ` +
        `${batches.length} relay batches, by ${serves.map((p) => `${p.pid}×${batches.filter((b) => b.pid === p.pid).length}`).join(', ')}`,
    );
  }, 150_000);
});
