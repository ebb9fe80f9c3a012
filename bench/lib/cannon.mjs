// Load: autocannon runs, and the side-by-side rounds every throughput row uses.
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { cpuSeconds, postgresCpu, postgresCpuSince } from './proc.mjs';
import { percentile } from './stats.mjs';
import { HOST, CONNECTIONS, WARMUP_S, ROUND_S, ROUNDS, log } from './core.mjs';

/**
 * One autocannon run. Latencies are taken from the `response` event (float milliseconds from
 * process.hrtime) because autocannon's own histogram has 1 ms resolution.
 */
function cannon({ port, pid, method, headers, setupRequest, seconds }) {
  globalThis.gc?.(); // npm run bench passes --expose-gc: start every run with a clean load-generator heap
  return new Promise((resolve, reject) => {
    const cpu0 = cpuSeconds(pid);
    const pg0 = postgresCpu();
    const latencies = [];
    let ok = 0;
    let bad = 0;
    const badCodes = {};
    const t0 = performance.now();
    const inst = autocannon(
      {
        url: `http://${HOST}:${port}`,
        connections: CONNECTIONS,
        duration: seconds,
        headers,
        requests: [{ method, path: '/', setupRequest }],
      },
      (err, result) => {
        if (err) return reject(err);
        const elapsed = (performance.now() - t0) / 1000;
        const serverCpu = cpuSeconds(pid) - cpu0;
        const pgCpu = postgresCpuSince(pg0);
        resolve({ ok, bad, badCodes, errors: result.errors + result.timeouts, latencies, seconds: elapsed, serverCpu, pgCpu });
      },
    );
    inst.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) {
        ok++;
        latencies.push(responseTime);
      } else {
        bad++;
        badCodes[statusCode] = (badCodes[statusCode] ?? 0) + 1;
      }
    });
  });
}

/**
 * Warm-up for both, then ROUNDS rounds alternating which side goes first, so drifting machine
 * noise lands on both. Throughput = 2xx answers / wall time summed over the rounds; p99 over all
 * 2xx latencies of the rounds.
 */
export async function sideBySide(label, targets, { afterRun } = {}) {
  for (const t of targets) {
    log(`${label}: warm-up ${t.name} ${WARMUP_S}s`);
    await cannon({ ...t, seconds: WARMUP_S });
    await afterRun?.(t, 'warm-up');
  }
  const acc = Object.fromEntries(targets.map((t) => [t.name, { ok: 0, bad: 0, errors: 0, badCodes: {}, seconds: 0, serverCpu: 0, pgCpu: 0, latencies: [], perRound: [] }]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? targets : [...targets].reverse();
    for (const t of order) {
      const r = await cannon({ ...t, seconds: ROUND_S });
      const a = acc[t.name];
      a.ok += r.ok;
      a.bad += r.bad;
      a.errors += r.errors;
      a.seconds += r.seconds;
      a.serverCpu += r.serverCpu;
      a.pgCpu += r.pgCpu;
      for (const [k, v] of Object.entries(r.badCodes)) a.badCodes[k] = (a.badCodes[k] ?? 0) + v;
      for (const l of r.latencies) a.latencies.push(l);
      a.perRound.push(r.ok / r.seconds);
      log(`${label}: round ${round + 1} ${t.name}: ${(r.ok / r.seconds).toFixed(0)} req/s, p99 ${percentile(r.latencies, 99).toFixed(2)} ms${r.bad || r.errors ? `, ${r.bad} non-2xx ${JSON.stringify(r.badCodes)}, ${r.errors} errors` : ''}`);
      await afterRun?.(t, `round ${round + 1}`);
    }
  }
  const out = {};
  for (const [name, a] of Object.entries(acc)) {
    out[name] = {
      rps: a.ok / a.seconds,
      p50: percentile(a.latencies, 50),
      p99: percentile(a.latencies, 99),
      ok: a.ok,
      bad: a.bad,
      errors: a.errors,
      badCodes: a.badCodes,
      perRound: a.perRound,
      // CPU per answered request, in microseconds: the HTTP server process, and all PostgreSQL processes.
      serverUs: (a.serverCpu / a.ok) * 1e6,
      pgUs: (a.pgCpu / a.ok) * 1e6,
    };
  }
  return out;
}
