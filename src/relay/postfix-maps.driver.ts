import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { RelayError, SerialRelayDriver, type RelayOp } from './relay-driver.js';
import { assertValidOps, ipVersionOf, isCanonicalDomainName, isValidMailServer, uniqueServers } from './relay-names.js';

/*
 * Keeps two Postfix lookup-table source files in `<dataDir>/relay/`:
 *
 *   relay_domains   example.com  OK                        (one line per relayed domain)
 *   transport       example.com  smtp:[mx1.example.com],[mx2.example.com]
 *
 * Transport syntax, from transport(5) "RESULT FORMAT" (Postfix 3.7, Debian):
 *   "In the case of the Postfix SMTP/LMTP client, the nexthop field may contain a list of nexthop
 *    destinations separated by comma or whitespace (Postfix 3.5 and later)."
 *   example: "example.com  smtp:bar.example, foo.example" — "This tries to deliver to bar.example
 *   before trying to deliver to foo.example."
 * and from smtp(8) "SMTP DESTINATION SYNTAX": "[hostname]" looks up the host's addresses without an
 * MX lookup (the domain's MX points at us, so an MX lookup would loop); "[address]" connects to an IP
 * address, and "An IPv6 address must be formatted as [ipv6:address]". We separate destinations by a
 * comma without spaces, so the result stays one whitespace-free token. Postfix < 3.5 would read the
 * whole list as one destination: these maps need Postfix ≥ 3.5.
 *
 * A domain without mail servers gets its relay_domains line but no transport line, so Postfix uses
 * its default (relay_transport) for it.
 *
 * The files are sources for postmap(1); the operator's reload command (HOSTPLANE_RELAY_RELOAD_COMMAND)
 * typically builds the indexed maps and reloads Postfix, e.g.
 *   postmap "$HOSTPLANE_RELAY_DIR/relay_domains" && postmap "$HOSTPLANE_RELAY_DIR/transport" && postfix reload
 * It runs with the relay directory as its working directory and as $HOSTPLANE_RELAY_DIR.
 *
 * Cost: every batch reads, parses, sorts and rewrites both files in full, so it is O(total domains)
 * (plus an O(N log N) in-memory sort), independent of the batch size: callers should batch, and a
 * batch of 1,000 changes costs about as much as a batch of one.
 *
 * Crash safety: each file is replaced atomically (temp file in the same directory, fsync, rename,
 * fsync the directory), so Postfix and a restarted Hostplane see either the old or the new file,
 * never a torn one. The two files are replaced one after the other, transport first: relay_domains
 * is the authority on which domains exist, and on reading, transport entries for domains not in
 * relay_domains are dropped. A crash between the two renames leaves at worst new transport lines for
 * not-yet-relayed domains (harmless), or a deprovisioned domain still relayed on the default
 * transport, until the caller retries the batch. A temp file a crash leaves behind is removed by the
 * next batch.
 *
 * `apply` is serialised within this process. Across processes (several `hostplane worker`s sharing
 * one relay directory) exclusivity comes from the job runner's `relay` lane, which lets one worker
 * at a time apply a batch.
 */

export const RELAY_DOMAINS_FILE = 'relay_domains';
export const TRANSPORT_FILE = 'transport';

const HEADER = '# Managed by Hostplane: rewritten on every change, do not edit by hand.\n';
/** `.<map file>.<writer's pid>.<random>.tmp`, as replaceFile names its temp files. */
const TEMP_FILE = new RegExp(`^\\.(?:${RELAY_DOMAINS_FILE}|${TRANSPORT_FILE})\\.([0-9]+)\\.[0-9a-f]{12}\\.tmp$`);
const DEFAULT_RELOAD_TIMEOUT_MS = 60_000;
const STDERR_TAIL_BYTES = 4096;

export interface PostfixMapsDriverOptions {
  dataDir: string;
  /** The maps' directory itself; default `<dataDir>/relay`. */
  relayDir?: string | undefined;
  /** Run with `/bin/sh -c` once per batch, after both files are durable. Empty or unset: no reload. */
  reloadCommand?: string | undefined;
  /** The reload command is killed (with its process group) after this long. Default 60 s. */
  reloadTimeoutMs?: number | undefined;
}

/** domain → mail servers (possibly none), the whole relay state. */
type RelayState = Map<string, string[]>;

export class PostfixMapsRelayDriver extends SerialRelayDriver {
  readonly name = 'postfix-maps';
  readonly relayDir: string;
  private readonly reloadCommand: string | undefined;
  private readonly reloadTimeoutMs: number;

  constructor(options: PostfixMapsDriverOptions) {
    super();
    this.relayDir = options.relayDir ? path.resolve(options.relayDir) : path.join(path.resolve(options.dataDir), 'relay');
    const command = options.reloadCommand?.trim();
    this.reloadCommand = command ? command : undefined;
    this.reloadTimeoutMs = options.reloadTimeoutMs ?? DEFAULT_RELOAD_TIMEOUT_MS;
  }

  protected async applyBatch(ops: RelayOp[]): Promise<void> {
    assertValidOps(ops, this.name);
    await fs.mkdir(this.relayDir, { recursive: true });
    await this.removeStaleTempFiles();
    const onDisk = new Map<string, string>();
    const state = await this.readState(onDisk);
    for (const op of ops) {
      if (op.op === 'deprovision') state.delete(op.name);
      else state.set(op.domain.name, uniqueServers(op.domain.mailServers));
    }
    const names = [...state.keys()].sort(byCodePoint);
    let transport = HEADER;
    let relayDomains = HEADER;
    for (const name of names) {
      relayDomains += `${name}  OK\n`;
      const servers = state.get(name)!;
      if (servers.length > 0) transport += `${name}  ${formatTransport(servers)}\n`;
    }
    // transport first: see "Crash safety" above. A file whose content would not change is left alone
    // (a batch of no-op changes costs no writes); the reload still runs, as an earlier one may have failed.
    if (onDisk.get(TRANSPORT_FILE) !== transport) await this.replaceFile(TRANSPORT_FILE, transport);
    if (onDisk.get(RELAY_DOMAINS_FILE) !== relayDomains) await this.replaceFile(RELAY_DOMAINS_FILE, relayDomains);
    if (this.reloadCommand) await this.runReload(this.reloadCommand);
  }

  /** The names in relay_domains, read after any batch already queued has been written. */
  async listDomains(): Promise<string[]> {
    return this.serially(async () => [...(await this.readState(new Map())).keys()]);
  }

  /** The current state from the files on disk (absent files are empty); a line we would not write is an error. */
  private async readState(onDisk: Map<string, string>): Promise<RelayState> {
    const state: RelayState = new Map();
    for (const entry of await this.readMap(RELAY_DOMAINS_FILE, onDisk)) {
      if (state.has(entry.key)) throw this.corrupt(RELAY_DOMAINS_FILE, entry.line, `${JSON.stringify(entry.key)} is listed twice`);
      if (entry.value !== 'OK') throw this.corrupt(RELAY_DOMAINS_FILE, entry.line, `expected "OK", found ${JSON.stringify(entry.value)}`);
      state.set(entry.key, []);
    }
    const seen = new Set<string>();
    for (const entry of await this.readMap(TRANSPORT_FILE, onDisk)) {
      if (seen.has(entry.key)) throw this.corrupt(TRANSPORT_FILE, entry.line, `${JSON.stringify(entry.key)} is listed twice`);
      seen.add(entry.key);
      const servers = parseTransport(entry.value);
      if (!servers) throw this.corrupt(TRANSPORT_FILE, entry.line, `unexpected transport ${JSON.stringify(entry.value)}`);
      // relay_domains is the authority: a transport line for a domain it lacks is left over from a crash.
      if (state.has(entry.key)) state.set(entry.key, servers);
    }
    return state;
  }

  /** Parses a map file, and keeps its text in `onDisk` (absent files are not kept). */
  private async readMap(file: string, onDisk: Map<string, string>): Promise<{ key: string; value: string; line: number }[]> {
    let text: string;
    try {
      text = await fs.readFile(path.join(this.relayDir, file), 'utf8');
      onDisk.set(file, text);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const entries: { key: string; value: string; line: number }[] = [];
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const raw = lines[i]!;
      if (raw.trim() === '' || raw.trimStart().startsWith('#')) continue;
      const m = /^(\S+)[ \t]+(\S+)[ \t]*$/.exec(raw);
      if (!m) throw this.corrupt(file, i + 1, `cannot parse ${JSON.stringify(raw.slice(0, 200))}`);
      const key = m[1]!;
      if (!isCanonicalDomainName(key)) throw this.corrupt(file, i + 1, `${JSON.stringify(key)} is not a canonical domain name`);
      entries.push({ key, value: m[2]!, line: i + 1 });
    }
    return entries;
  }

  private corrupt(file: string, line: number, problem: string): RelayError {
    return new RelayError(`${this.name} relay driver: ${path.join(this.relayDir, file)} line ${line}: ${problem}; fix or remove the file, nothing was applied`);
  }

  /**
   * A process killed between creating a temp file and renaming it leaves the file behind, as large as
   * the map it was writing; nothing else would ever remove it. Ours are never in progress here (apply
   * is serialised), and one of another process still alive is left alone: it may be a slow writer.
   */
  private async removeStaleTempFiles(): Promise<void> {
    for (const name of await fs.readdir(this.relayDir)) {
      const m = TEMP_FILE.exec(name);
      if (!m) continue;
      const pid = Number(m[1]);
      if (pid !== process.pid && processExists(pid)) continue;
      await fs.rm(path.join(this.relayDir, name), { force: true });
    }
  }

  /** Atomic, durable replacement: temp file in the same directory, fsync, rename over, fsync the directory. */
  private async replaceFile(file: string, content: string): Promise<void> {
    const target = path.join(this.relayDir, file);
    // Named for TEMP_FILE, which finds the ones a crash left behind.
    const temp = path.join(this.relayDir, `.${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      const handle = await fs.open(temp, 'wx', 0o644);
      try {
        await handle.writeFile(content, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.rename(temp, target);
    } catch (err) {
      await fs.rm(temp, { force: true }).catch(() => undefined);
      throw new RelayError(`${this.name} relay driver: cannot write ${target}: ${(err as Error).message}`, undefined, undefined, { cause: err });
    }
    const dir = await fs.open(this.relayDir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  /** Runs the reload command in its own process group, so a timeout kills everything it started. */
  private runReload(command: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', command], {
        cwd: this.relayDir,
        env: { ...process.env, HOSTPLANE_RELAY_DIR: this.relayDir },
        stdio: ['ignore', 'ignore', 'pipe'],
        detached: true,
      });
      let tail = Buffer.alloc(0);
      child.stderr.on('data', (chunk: Buffer) => {
        tail = Buffer.concat([tail, chunk]);
        if (tail.length > STDERR_TAIL_BYTES) tail = tail.subarray(tail.length - STDERR_TAIL_BYTES);
      });
      const stderrTail = () => {
        const text = tail.toString('utf8').replace(/^\uFFFD+/, '').trim();
        return text ? `: ${text}` : ' (no stderr output)';
      };
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup(child.pid);
      }, this.reloadTimeoutMs);
      let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
      let drain: NodeJS.Timeout | undefined;
      child.on('exit', (code, signal) => {
        exit = { code, signal };
        // A background process the command started may keep stderr open; do not wait for it long.
        drain = setTimeout(() => child.stderr.destroy(), 1000);
      });
      child.on('error', (err) => {
        clearTimeout(timer);
        clearTimeout(drain);
        reject(new RelayError(`${this.name} relay driver: cannot run reload command: ${err.message}`, undefined, undefined, { cause: err }));
      });
      child.on('close', () => {
        clearTimeout(timer);
        clearTimeout(drain);
        if (!exit) return; // 'error' already rejected
        if (timedOut) {
          reject(new RelayError(`${this.name} relay driver: reload command timed out after ${this.reloadTimeoutMs} ms and was killed${stderrTail()}`));
        } else if (exit.code !== 0) {
          const how = exit.code === null ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
          reject(new RelayError(`${this.name} relay driver: reload command ${how}${stderrTail()}`));
        } else {
          resolve();
        }
      });
    });
  }
}

/** Whether a process with this id exists on this host (EPERM: it does, under another user). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Locale-independent ordering, so the files diff the same everywhere. */
function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `smtp:[mx1.example.com],[192.0.2.1],[ipv6:2001:db8::1]` — see the transport(5) notes at the top. */
export function formatTransport(servers: readonly string[]): string {
  return `smtp:${servers.map((s) => (ipVersionOf(s) === 6 ? `[ipv6:${s}]` : `[${s}]`)).join(',')}`;
}

/** The inverse of formatTransport, or null for anything it would not have written. */
export function parseTransport(value: string): string[] | null {
  if (!value.startsWith('smtp:')) return null;
  const servers: string[] = [];
  for (const part of value.slice('smtp:'.length).split(',')) {
    const m = /^\[(.+)\]$/.exec(part);
    if (!m) return null;
    let server = m[1]!;
    if (server.startsWith('ipv6:')) {
      server = server.slice('ipv6:'.length);
      if (ipVersionOf(server) !== 6) return null;
    } else if (!isValidMailServer(server) || ipVersionOf(server) === 6) {
      return null;
    }
    servers.push(server);
  }
  return servers;
}
