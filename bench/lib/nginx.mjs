// What the rows that drive a real nginx share (rows 14-16): Debian's binaries, temp roots nginx's
// workers can walk into, masters that must not outlive the bench, and polling sites by Host header.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { tempDirs } from './children.mjs';
import { HOST, sleep } from './core.mjs';

export const NGINX = process.env.HOSTPLANE_NGINX_BIN ?? '/usr/sbin/nginx';
export const PHP_FPM =
  process.env.HOSTPLANE_PHP_FPM_BIN ?? (fs.existsSync('/usr/sbin') ? fs.readdirSync('/usr/sbin').filter((f) => /^php-fpm[0-9.]*$/.test(f)).map((f) => `/usr/sbin/${f}`)[0] : undefined) ?? 'php-fpm';

// nginx daemonizes: a master the bench started must not outlive it, whatever way the bench ends. Pid
// files are read at exit (for masters a driver starts later); a pid noted while it runs survives the
// cleanup that removes temp dirs, pid files included, before the process exits.
const pidFiles = new Set();
const pids = new Set();
process.on('exit', () => {
  for (const pidFile of pidFiles) {
    try {
      pids.add(Number(fs.readFileSync(pidFile, 'utf8')));
    } catch {
      // never started, or its dir is gone
    }
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGQUIT');
    } catch {
      // already gone
    }
  }
});

/** The master whose pid file this will be: stopped when the bench exits. */
export function watchMaster(pidFile) {
  pidFiles.add(pidFile);
}

/** The running master of this pid file, by pid (undefined when none runs); stopped when the bench exits. */
export function noteMaster(pidFile) {
  try {
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    pids.add(pid);
    return pid;
  } catch {
    return undefined;
  }
}

/** A master the row stopped itself. */
export function forgetMaster(pid) {
  pids.delete(pid);
}

export function tempRoot(label) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hostplane-bench-${label}-`));
  fs.chmodSync(dir, 0o755); // nginx's workers walk down to the sites' files
  tempDirs.push(dir);
  return dir;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

/** The status of `GET /` for a Host on nginx's port; 0 when the connection fails. */
export function hostStatus(port, host) {
  return new Promise((resolve) => {
    const req = http.request({ host: HOST, port, path: '/', headers: { Host: host }, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

/**
 * Until every domain has answered `status` once, 8 at a time (a reload's old workers may answer the
 * old way for a moment); `deadline()` is re-read on every retry, so a caller can move it.
 */
export async function allAnswer(port, domains, status, deadline = () => Infinity) {
  let next = 0;
  const worker = async () => {
    while (next < domains.length) {
      const domain = domains[next++];
      for (let got = await hostStatus(port, domain); got !== status; got = await hostStatus(port, domain)) {
        if (performance.now() > deadline()) throw new Error(`${domain} still answered ${got}, not ${status}`);
        await sleep(5);
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}
