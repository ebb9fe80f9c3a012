import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { tempDirs, freePort, startProcess, stopProcess } from '../lib/children.mjs';
import { waitHealthy } from '../lib/http.mjs';
import { memOf } from '../lib/proc.mjs';
import { median } from '../lib/stats.mjs';
import { notes, fmt, addRow } from '../lib/report.mjs';
import { log } from '../lib/core.mjs';

const RESTARTS = 5;

/**
 * Row 4: embedded (PGlite) restart to the first 200 of /healthz. Runs first, before the PostgreSQL
 * database exists, so no autovacuum or checkpoint caused by the other rows competes with it.
 */
export async function embeddedRow({ commonEnv }) {
  const embDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostplane-bench-emb-'));
  tempDirs.push(embDir);
  const port = await freePort();
  const env = { ...commonEnv, PORT: String(port), HOSTPLANE_DATA_DIR: embDir };
  log('embedded: first start (creates the PGlite data dir)');
  const t0 = performance.now();
  const first = startProcess('hostplane-embedded', ['dist/main.js', 'serve'], env);
  await waitHealthy(first, port, 60_000);
  const firstMs = performance.now() - t0;
  await stopProcess(first);
  if (!fs.existsSync(path.join(embDir, 'pgdata', 'PG_VERSION'))) throw new Error('embedded first start left no PGlite data dir');

  const times = [];
  const idle = [];
  for (let i = 0; i < RESTARTS; i++) {
    const start = performance.now();
    const child = startProcess('hostplane-embedded', ['dist/main.js', 'serve'], env);
    const ready = await waitHealthy(child, port, 30_000, 5);
    times.push(ready - start);
    await new Promise((r) => setTimeout(r, 1000));
    idle.push(memOf(child.pid).rss);
    const { code } = await stopProcess(child);
    if (code !== 0) throw new Error(`embedded server exited with ${code} on SIGTERM`);
  }
  const ms = median(times);
  log(`embedded: restarts ${times.map((t) => t.toFixed(0)).join('/')} ms, idle RSS ${idle.map(fmt.mb).join('/')}`);
  addRow(4, 'Embedded (PGlite) restart to first 200 /healthz', fmt.ms(ms), '-', ms / 1500, '<= 1500 ms', ms <= 1500);
  addRow(4, 'Embedded: idle RSS 1 s after ready', fmt.mb(median(idle)), '-', undefined, 'report', undefined);
  notes.push(...[`Embedded: median of ${RESTARTS} restarts (${times.map((t) => t.toFixed(0)).join(', ')} ms; /healthz polled every 5 ms); first start with initdb + migrations + demo seed took ${fmt.ms(firstMs)}; ratio column = time / 1500 ms budget.`].map((text) => ({ order: 4, text })));
}
