import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { basicAuth, freePort, http, killAll, listAllClients, makeTempDir, sleep, spawnHostplane, waitFor, type Proc } from '../../test/jobs-process/process-harness.js';
import { haToolsMissing, startFailoverCluster, startHaproxy, type FailoverCluster, type Haproxy } from '../../test/ha/ha-cluster.js';
import { KeyedLoad, lostOrDoubled } from '../../test/ha/ha-load.js';

/*
 * `npm run bench:ha`: the HA topology of docs/deploy.md on this machine (pg_auto_failover monitor and
 * two PostgreSQL nodes, two API nodes, HAProxy with deploy/haproxy.cfg), reporting
 *  - failover: time from kill -9 of the primary to the first acknowledged write, under 4 loops of
 *    keyed creates; writes acknowledged, lost (must be 0) and applied twice (must be 0);
 *  - throughput through HAProxy of GET /v1/clients/:id with two API nodes against one (a second
 *    HAProxy with only the first node), autocannon in its own process, rounds alternating.
 * The monitor's detection is shortened as in the HA suite (test/ha/ha-cluster.ts). Settings:
 * BENCH_HA_SECONDS (per throughput round, default 10), BENCH_HA_ROUNDS (default 2),
 * BENCH_HA_CONNECTIONS (default 32).
 */

const run = promisify(execFile);
const SECONDS = Number(process.env.BENCH_HA_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_HA_ROUNDS ?? 2);
const CONNECTIONS = Number(process.env.BENCH_HA_CONNECTIONS ?? 32);
const AUTOCANNON = path.join(import.meta.dirname, '..', '..', 'node_modules', 'autocannon', 'autocannon.js');

let tmp: ReturnType<typeof makeTempDir> | undefined;
let dataDir = '';
let cluster: FailoverCluster | undefined;
const lbs: Haproxy[] = [];

afterAll(async () => {
  killAll();
  for (const lb of lbs) await lb.stop().catch(() => {});
  await cluster?.destroy().catch(() => {});
  tmp?.remove();
}, 60_000);

async function startApi(uri: string): Promise<{ proc: Proc; port: number }> {
  const port = await freePort();
  const proc = spawnHostplane(['serve'], {
    DATABASE_URL: uri,
    HOSTPLANE_DATA_DIR: dataDir,
    HOSTPLANE_LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    PORT: String(port),
    HOSTPLANE_WORKER: 'off',
    HOSTPLANE_DB_CONNECT_TIMEOUT_MS: '1000',
    HOSTPLANE_DB_STALL_MS: '1000',
    HOSTPLANE_DB_PROBE_TIMEOUT_MS: '500',
  });
  await proc.waitForOutput('API reference:', 90_000);
  return { proc, port };
}

/** Requests per second answered 2xx by one autocannon run, and how many were not 2xx. */
async function cannon(url: string, auth: string, seconds: number): Promise<{ rps: number; non2xx: number; errors: number }> {
  const { stdout } = await run(process.execPath, [AUTOCANNON, '-j', '-c', String(CONNECTIONS), '-d', String(seconds), '-H', `authorization=${auth}`, url], { maxBuffer: 64 * 1024 * 1024 });
  const r = JSON.parse(stdout) as { '2xx': number; non2xx: number; errors: number; timeouts: number; duration: number };
  return { rps: r['2xx'] / r.duration, non2xx: r.non2xx, errors: r.errors + r.timeouts };
}

const missing = haToolsMissing();

it.skipIf(missing !== undefined)(`HA bench${missing ? ` (skipped: ${missing})` : ''}`, async () => {
  tmp = makeTempDir('hostplane-bench-ha-');
  dataDir = path.join(tmp.dir, 'data');
  cluster = await startFailoverCluster();
  const api = [await startApi(cluster.uri), await startApi(cluster.uri)];
  const both = await startHaproxy(api.map((a, i) => ({ name: `api${i + 1}`, port: a.port })));
  const one = await startHaproxy([{ name: 'api1', port: api[0]!.port }]);
  lbs.push(both, one);
  const operatorKey = fs.readFileSync(path.join(dataDir, 'operator-key'), 'utf8').trim();
  const demo = await http<{ reseller: { api_token: string; api_key: string } }>('POST', `${both.url}/admin/v1/demo`, `Bearer ${operatorKey}`);
  expect(demo.status).toBe(200);
  const auth = basicAuth(demo.body.reseller.api_token, demo.body.reseller.api_key);
  const load = new KeyedLoad(() => both.url, auth, `hb${Date.now().toString(36)}`);

  // Throughput first, on the healthy cluster.
  const target = await load.create(0);
  const path1 = `/v1/clients/${target.id}`;
  await cannon(`${one.url}${path1}`, auth, 3);
  await cannon(`${both.url}${path1}`, auth, 3);
  const rps: { one: number[]; both: number[]; bad: number } = { one: [], both: [], bad: 0 };
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? (['one', 'both'] as const) : (['both', 'one'] as const);
    for (const side of order) {
      const res = await cannon(`${(side === 'one' ? one : both).url}${path1}`, auth, SECONDS);
      rps[side].push(res.rps);
      rps.bad += res.non2xx + res.errors;
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

  // Failover under keyed writes.
  let stop = false;
  const running = load.drive(1, 4, () => stop);
  await waitFor(() => (load.acknowledgedAfter(0).length >= 30 ? true : undefined), 60_000, () => 'no load before the kill');
  const primary = await cluster.primary();
  await cluster.kill9(primary!);
  const killedAt = Date.now();
  await waitFor(() => (load.acknowledgedAfter(killedAt).length >= 20 ? true : undefined), 180_000, async () => `no write after the kill\n${await cluster!.state()}`, 100);
  stop = true;
  await running;
  const firstWriteMs = Math.min(...load.acknowledgedAfter(killedAt).map((w) => w.ackedAt!)) - killedAt;
  const wrong = lostOrDoubled(load.writes, await listAllClients(both.url, operatorKey), load.namePrefix);
  const lost = wrong.filter((w) => !w.found || w.found.length === 0).length;
  const doubled = wrong.length - lost;
  const attempts = load.writes.flatMap((w) => w.attempts);
  const during = attempts.filter((a) => a.at >= killedAt && a.at < killedAt + firstWriteMs);
  const other = attempts.filter((a) => a.status !== 201 && a.status !== 200 && a.status !== 503).length;

  const load1 = os.loadavg()[0]!.toFixed(2);
  const rows: [string, string][] = [
    ['failover: kill -9 primary → first acknowledged write', `${firstWriteMs} ms`],
    ['failover: keyed writes acknowledged', String(load.writes.filter((w) => w.id !== undefined).length)],
    ['failover: acknowledged writes lost (must be 0)', String(lost)],
    ['failover: keys applied twice (must be 0)', String(doubled)],
    ['failover: answers meanwhile', `${during.length} (${during.filter((a) => a.status === 503).length} × 503), other than 2xx/503: ${other}`],
    [`GET /v1/clients/:id via HAProxy, 1 API node (${CONNECTIONS} conns)`, `${mean(rps.one).toFixed(0)} req/s`],
    [`GET /v1/clients/:id via HAProxy, 2 API nodes (${CONNECTIONS} conns)`, `${mean(rps.both).toFixed(0)} req/s`],
    ['2 nodes / 1 node', `${(mean(rps.both) / mean(rps.one)).toFixed(2)}×`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log(
    [`\nHA bench (${os.cpus().length} CPUs, load average ${load1} at the end; ${ROUNDS} rounds of ${SECONDS} s)`, ...rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`), `non-2xx during throughput: ${rps.bad}`].join('\n'),
  );
  expect(lost).toBe(0);
  expect(doubled).toBe(0);
  await sleep(0);
});
