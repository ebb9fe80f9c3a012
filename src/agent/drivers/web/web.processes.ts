/**
 * The nginx and php-fpm masters of one agent. Both daemonize, so they outlive the agent: a dead agent
 * leaves its sites served as last applied. A master counts as ours and running when its pid file
 * names a live process whose command line is that server's.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import { readOrNull, exists, processAlive } from './web.files.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

const COMMAND_TIMEOUT_MS = 60_000;

export function run(file: string, args: string[], timeoutMs = COMMAND_TIMEOUT_MS): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err && typeof (err as NodeJS.ErrnoException).code === 'string') {
        reject(new Error(`cannot run ${file}: ${err.message}`));
        return;
      }
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The live pid in a pid file whose process runs `program`, or null. */
export async function livePid(pidFile: string, program: RegExp): Promise<number | null> {
  const text = readOrNull(pidFile);
  if (text === null) return null;
  const pid = Number(text.trim());
  if (!processAlive(pid)) return null;
  // A pid file outliving a crashed master may name an unrelated process by now.
  const cmdline = readOrNull(`/proc/${pid}/cmdline`);
  if (cmdline !== null && !program.test(cmdline.replace(/\0/g, ' '))) return null;
  return pid;
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, stepMs = 20): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= until) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** The useful part of nginx's or php-fpm's complaint: its error lines, without the program's prefix. */
export function errorSummary(output: string): string {
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /\[(emerg|alert|crit|error)\]|ERROR:/.test(l))
    .map((l) => l.replace(/^nginx: /, '').replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d (\[\w+\]) \d+#\d+: /, '$1 ').replace(/^\[[^\]]*\] /, ''));
  const text = (lines.length > 0 ? lines : output.split('\n').filter((l) => l.trim() !== '' && !/test (is successful|failed)|syntax is ok/.test(l))).join('; ');
  return text.slice(0, 1500) || 'configuration test failed';
}

export class NginxMaster {
  constructor(
    private readonly bin: string,
    private readonly prefix: string,
    private readonly mainConf: string,
    private readonly pidFile: string,
    private readonly errorLog: string,
  ) {}

  private args(conf = this.mainConf): string[] {
    return ['-p', `${this.prefix}/`, '-c', conf, '-e', this.errorLog];
  }

  pid(): Promise<number | null> {
    return livePid(this.pidFile, /nginx/);
  }

  /** `nginx -t` of a configuration; ok, or nginx's message. */
  async test(conf = this.mainConf): Promise<{ ok: true } | { ok: false; error: string }> {
    const r = await run(this.bin, ['-t', '-q', ...this.args(conf)]);
    return r.code === 0 ? { ok: true } : { ok: false, error: errorSummary(r.stderr + r.stdout) };
  }

  /**
   * Starts the master with as many open files as the machine lets it have: it holds every site's
   * access log, and during a reload both configurations' logs at once, so the default of a login
   * session is reached at a few thousand sites (the reload then fails and keeps the old config).
   * As root the hard limit is raised first; otherwise the soft limit goes up to the hard one.
   */
  async start(): Promise<void> {
    const raise = `ulimit -Hn ${NGINX_NOFILE} 2>/dev/null; ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"`;
    const r = await run('/bin/sh', ['-c', raise, this.bin, ...this.args()]);
    if (r.code !== 0) throw new Error(`nginx did not start: ${errorSummary(r.stderr + r.stdout)}`);
    if (!(await waitFor(async () => (await this.pid()) !== null, 5000))) throw new Error('nginx did not start: no live pid file');
  }

  /**
   * Reloads and waits (bounded) until workers of the new configuration run, and then until the old
   * ones are gone, so what the caller reports as applied is what a new connection gets. The master
   * gets SIGHUP from here: `nginx -s reload` would first parse the whole configuration again in a
   * process of its own only to send that signal (as long as an `nginx -t`: 0.1-0.4 s at 1,000
   * sites), and every caller has just tested the set. A master that cannot apply the new
   * configuration (a file it cannot open, too many open files) keeps the old one and says so only in
   * its error log, so no new worker within the wait is a failed reload, reported with that log's
   * complaint.
   */
  async reload(waitMs = 10_000): Promise<void> {
    const master = await this.pid();
    if (master === null) throw new Error('nginx reload failed: nginx is not running');
    const before = await childPids(master);
    const logAt = await fileSize(this.errorLog);
    try {
      process.kill(master, 'SIGHUP');
    } catch (err) {
      throw new Error(`nginx reload failed: ${(err as Error).message}`);
    }
    const renewed = await waitFor(async () => (await childPids(master)).some((pid) => !before.includes(pid)), waitMs, RELOAD_STEP_MS);
    if (!renewed) {
      const said = await readFrom(this.errorLog, logAt);
      throw new Error(`nginx kept its previous configuration: ${said.trim() ? errorSummary(said) : 'no new workers started'}`);
    }
    // Old workers serving a long download may outlive this; they no longer accept connections.
    await waitFor(async () => !(await childPids(master)).some((pid) => before.includes(pid)), waitMs, RELOAD_STEP_MS);
  }

  /** Graceful stop: workers finish their requests; waits for the master to go. */
  async quit(): Promise<void> {
    const pid = await this.pid();
    if (pid === null) return;
    process.kill(pid, 'SIGQUIT');
    if (!(await waitFor(async () => !processAlive(pid), 10_000))) process.kill(pid, 'SIGKILL');
  }
}

export class PhpFpmMaster {
  constructor(
    private readonly bin: string,
    private readonly mainConf: string,
    private readonly pidFile: string,
    private readonly errorLog: string,
  ) {}

  pid(): Promise<number | null> {
    return livePid(this.pidFile, /php-fpm/);
  }

  async test(): Promise<{ ok: true } | { ok: false; error: string }> {
    const r = await run(this.bin, ['-t', '-y', this.mainConf]);
    return r.code === 0 ? { ok: true } : { ok: false, error: errorSummary(r.stderr + r.stdout) };
  }

  async start(): Promise<void> {
    const r = await run(this.bin, ['-y', this.mainConf]);
    if (r.code !== 0) throw new Error(`php-fpm did not start: ${errorSummary(r.stderr + r.stdout)}`);
    if (!(await waitFor(async () => (await this.pid()) !== null, 5000))) throw new Error('php-fpm did not start: no live pid file');
  }

  /**
   * SIGUSR2: php-fpm re-executes itself with the configuration re-read. Waits (bounded) for it to
   * say it is ready again: a second SIGUSR2 arriving while it re-executes finds no handler yet and
   * ends it, so two reloads in a row (a restarted agent, then its first batch) must not overlap.
   */
  async reload(waitMs = 10_000): Promise<void> {
    const pid = await this.pid();
    if (pid === null) throw new Error('php-fpm is not running');
    const logAt = await fileSize(this.errorLog);
    process.kill(pid, 'SIGUSR2');
    const ready = await waitFor(async () => /ready to handle connections/.test(await readFrom(this.errorLog, logAt)), waitMs);
    if (!ready && (await this.pid()) === null) throw new Error(`php-fpm did not come back from its reload: ${errorSummary(await readFrom(this.errorLog, logAt))}`);
  }

  async quit(): Promise<void> {
    const pid = await this.pid();
    if (pid === null) return;
    process.kill(pid, 'SIGQUIT');
    if (!(await waitFor(async () => !processAlive(pid), 10_000))) process.kill(pid, 'SIGKILL');
  }
}

/** Waits until the unix sockets of the given pools exist (php-fpm creates them after a start or reload). */
export async function waitForSockets(sockets: string[], timeoutMs: number): Promise<string[]> {
  const missing = new Set(sockets);
  await waitFor(async () => {
    for (const s of [...missing]) if (exists(s)) missing.delete(s);
    return missing.size === 0;
  }, timeoutMs);
  return [...missing];
}

/** How often a reload's wait looks at the master's children: one read of a /proc file, and a batch's reply waits on it. */
const RELOAD_STEP_MS = 5;

/** How many open files the nginx master asks for (a few per site, both configurations during a reload). */
const NGINX_NOFILE = 262_144;

async function fileSize(file: string): Promise<number> {
  try {
    return (await fs.stat(file)).size;
  } catch {
    return 0;
  }
}

/** What a log gained after `offset` (at most 64 KB of it). */
async function readFrom(file: string, offset: number): Promise<string> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(file, 'r');
    const buf = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(buf, 0, buf.length, offset);
    return buf.subarray(0, bytesRead).toString('utf8');
  } catch {
    return '';
  } finally {
    await handle?.close();
  }
}

/** The children of a process (nginx's workers and cache processes), from /proc. */
async function childPids(pid: number): Promise<number[]> {
  const text = readOrNull(`/proc/${pid}/task/${pid}/children`);
  return text === null ? [] : text.trim().split(/\s+/).filter(Boolean).map(Number);
}

export async function removeIfExists(file: string): Promise<void> {
  await fs.rm(file, { force: true });
}
