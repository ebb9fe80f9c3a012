// Row 4: the embedded server's start and memory (bench/rows/embedded-start.mjs), given the shared
// helpers so the bench's cleanup knows every child process and temp dir it makes.
import { tempDirs, freePort, startProcess, stopProcess } from '../lib/children.mjs';
import { request, waitHealthy } from '../lib/http.mjs';
import { memOf } from '../lib/proc.mjs';
import { median } from '../lib/stats.mjs';
import { notes, fmt, addRow } from '../lib/report.mjs';
import { log, ROOT } from '../lib/core.mjs';
import { embeddedStartRows } from './embedded-start.mjs';
import { embeddedInstalledRows } from './embedded-installed.mjs';


/** Runs first, before the PostgreSQL database exists, so no autovacuum or checkpoint of the other rows competes with it. */
export async function embeddedRow({ commonEnv }) {
  const ctx = { env: commonEnv, host: '127.0.0.1', port: await freePort(), startProcess, stopProcess, waitHealthy, memOf, request, addRow, notes, fmt, log, tempDirs, median, root: ROOT };
  await embeddedStartRows(ctx);
  await embeddedInstalledRows(ctx);
}
