// Row 4: the embedded (PGlite) server's start and memory, `npm start` with no DATABASE_URL.
// Absolute budgets from issue 14 (there is no floor): restart to the first 200 of /healthz, first start
// on a new data dir, peak RSS of that first start, idle RSS after a restart and after a short load.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';

export const EMBEDDED_TARGETS = {
  restartMs: 1500,
  firstStartMs: 4000,
  idleRssBytes: 250 * 1024 * 1024,
  // Half of the 847 MB the issue measured for a first start (initdb in a second PGlite instance).
  firstPeakRssBytes: 425 * 1024 * 1024,
};
const RESTARTS = 5;
const LOAD_SECONDS = 3;

/**
 * ctx: { env, host, port, startProcess, stopProcess, waitHealthy, memOf, request, addRow, notes, fmt, log, tempDirs, median }
 * (the helpers of bench/run.mjs, so its cleanup knows every child and temp dir).
 */
export async function embeddedStartRows(ctx) {
  const { fmt, median, log, memOf } = ctx;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostplane-bench-emb-'));
  ctx.tempDirs.push(dir);
  const env = { ...ctx.env, PORT: String(ctx.port), HOSTPLANE_DATA_DIR: dir };
  const start = async () => {
    const t0 = performance.now();
    // The way operators start it (`hostplane serve`, what npm start runs too): bin/hostplane by its
    // shebang, which sets the process's malloc arenas (ADR 0024), not `node dist/main.js`.
    const child = ctx.startProcess('hostplane-embedded', ['serve'], env, 'bin/hostplane');
    const ready = await ctx.waitHealthy(child, ctx.port, 60_000, 5);
    return { child, ms: ready - t0, cpuMs: cpuMsOf(child.pid) };
  };
  const stop = async (child) => {
    const { code } = await ctx.stopProcess(child);
    if (code !== 0) throw new Error(`embedded server exited with ${code} on SIGTERM`);
  };
  const settle = () => new Promise((r) => setTimeout(r, 1000));

  log('embedded: first start (a new data dir: the build\'s template, demo seed)');
  const first = await start();
  // VmHWM is the peak since the process started: the whole first start, not a sample.
  const firstPeak = memOf(first.child.pid).hwm;
  await stop(first.child);
  if (!fs.existsSync(path.join(dir, 'pgdata', 'PG_VERSION'))) throw new Error('embedded first start left no PGlite data dir');
  const demo = JSON.parse(fs.readFileSync(path.join(dir, 'demo-reseller.json'), 'utf8'));

  const times = [];
  const cpu = [];
  const idle = [];
  let loaded;
  for (let i = 0; i < RESTARTS; i++) {
    const { child, ms, cpuMs } = await start();
    times.push(ms);
    cpu.push(cpuMs);
    await settle();
    idle.push(memOf(child.pid).rss);
    if (i === RESTARTS - 1) loaded = await shortLoad(ctx, child, demo);
    await stop(child);
  }
  const ms = median(times);
  const idleRss = median(idle);
  log(`embedded: first start ${fmt.ms(first.ms)} (peak ${fmt.mb(firstPeak)}), restarts ${times.map((t) => t.toFixed(0)).join('/')} ms, idle RSS ${idle.map(fmt.mb).join('/')}, after load ${fmt.mb(loaded.rss)}`);
  const T = EMBEDDED_TARGETS;
  ctx.addRow(4, 'Embedded (PGlite) restart to first 200 /healthz', fmt.ms(ms), '-', ms / T.restartMs, `<= ${T.restartMs} ms`, ms <= T.restartMs);
  ctx.addRow(4, 'Embedded: first start on a new data dir to first 200', fmt.ms(first.ms), '-', first.ms / T.firstStartMs, `<= ${T.firstStartMs} ms`, first.ms <= T.firstStartMs);
  ctx.addRow(4, 'Embedded: peak RSS of that first start', fmt.mb(firstPeak), '-', firstPeak / T.firstPeakRssBytes, `<= ${fmt.mb(T.firstPeakRssBytes)}`, firstPeak <= T.firstPeakRssBytes);
  ctx.addRow(4, 'Embedded: idle RSS 1 s after ready', fmt.mb(idleRss), '-', idleRss / T.idleRssBytes, `<= ${fmt.mb(T.idleRssBytes)}`, idleRss <= T.idleRssBytes);
  ctx.addRow(4, `Embedded: idle RSS 1 s after a ${LOAD_SECONDS} s load`, fmt.mb(loaded.rss), '-', loaded.rss / T.idleRssBytes, `<= ${fmt.mb(T.idleRssBytes)}`, loaded.rss <= T.idleRssBytes);
  ctx.notes.push({
    order: 4,
    text:
      `Embedded: first start on an empty data dir ${fmt.ms(first.ms)} (process spawn to the first 200 of /healthz, polled every 5 ms; the data dir copied from the build's migrated template, operator key, demo seed), its peak RSS (VmHWM) ${fmt.mb(firstPeak)}; ` +
      `CPU time of that process until ready ${first.cpuMs.toFixed(0)} ms; ` +
      `median of ${RESTARTS} restarts (${times.map((t) => t.toFixed(0)).join(', ')} ms; CPU until ready ${cpu.map((t) => t.toFixed(0)).join(', ')} ms, which a busy machine inflates less than the wall time), idle RSS 1 s after each (${idle.map(fmt.mb).join(', ')}); ` +
      `the last restart then served ${loaded.requests} requests in ${LOAD_SECONDS} s (10 connections: the demo reseller's GET /v1/packages/by_tag/cpanel and GET /v1/clients, after one GET /openapi.json), idle RSS 1 s later ${fmt.mb(loaded.rss)}; ratio column = value / budget.`,
  });
}

/** User + system CPU time of a process so far, in ms (Linux, 100 clock ticks a second). */
function cpuMsOf(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** A few seconds of ordinary reads, so the idle figure includes what serving leaves behind. */
async function shortLoad(ctx, child, demo) {
  const authorization = `Basic ${Buffer.from(`${demo.api_token}:${demo.api_key}`).toString('base64')}`;
  const doc = await ctx.request(ctx.port, { path: '/openapi.json', keepBody: false });
  if (doc.status !== 200) throw new Error(`GET /openapi.json answered ${doc.status}`);
  const result = await autocannon({
    url: `http://${ctx.host}:${ctx.port}`,
    connections: 10,
    duration: LOAD_SECONDS,
    requests: [
      { method: 'GET', path: '/v1/packages/by_tag/cpanel', headers: { authorization } },
      { method: 'GET', path: '/v1/clients', headers: { authorization } },
    ],
  });
  if (result.non2xx || result.errors || result.timeouts) throw new Error(`embedded short load: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
  await new Promise((r) => setTimeout(r, 1000));
  return { requests: result.requests.total, rss: ctx.memOf(child.pid).rss };
}
