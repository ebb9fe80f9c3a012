#!/usr/bin/env node
// How long `npm start` takes, prestart included, until /readyz first answers 200, on a data dir that
// has already been started once (so no first-start bootstrap is counted).
//
//   node scripts/time-start.mjs [runs] [-- command...]     default: 5 runs of `npm start`
//
// Prints one line per run and the median. It starts servers only on 127.0.0.1 and stops each one.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const sep = process.argv.indexOf('--');
const runs = Number.parseInt(process.argv[2] ?? '', 10) || 5;
const command = sep > 0 ? process.argv.slice(sep + 1) : ['npm', 'start'];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function once(dataDir) {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(command[0], command.slice(1), {
    cwd: root,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', HOSTPLANE_DATA_DIR: dataDir, HOSTPLANE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const deadline = started + 180_000;
  let ms;
  while (performance.now() < deadline && child.exitCode === null) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (res.status === 200) {
        ms = performance.now() - started;
        break;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  // npm start runs the server in a child of its own: signal the whole group.
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    // already gone
  }
  await exited;
  if (ms === undefined) throw new Error(`no 200 from /readyz (exit ${child.exitCode}):\n${stderr}`);
  return ms;
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostplane-start-'));
try {
  await once(dataDir); // the first start creates the database, keys and demo: not what is measured
  const times = [];
  for (let i = 0; i < runs; i++) {
    const ms = await once(dataDir);
    times.push(ms);
    process.stdout.write(`run ${i + 1}: ${Math.round(ms)} ms\n`);
  }
  times.sort((a, b) => a - b);
  process.stdout.write(`${command.join(' ')} → first 200 on /readyz, median of ${runs}: ${Math.round(times[Math.floor(runs / 2)])} ms\n`);
} finally {
  fs.rmSync(dataDir, { recursive: true, force: true });
}
