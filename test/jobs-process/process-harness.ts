import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import nodeHttp from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/*
 * Real `bin/hostplane` processes for the durable-jobs tests: spawn, wait for them, kill them, and talk
 * to them over HTTP. dist/ must be built (`npm run build`). Every spawned process gets only the
 * variables given (plus PATH), so neither the developer's HOSTPLANE_* settings nor the DATABASE_URL
 * Vitest runs with leak into it.
 */

export const BIN = path.join(import.meta.dirname, '..', '..', 'bin', 'hostplane');

export interface Proc {
  child: ChildProcess;
  pid: number;
  /** stdout + stderr so far (the last 256 KiB), for failure messages. */
  output(): string;
  /** Resolves once the combined output contains `text`; rejects if the process exits first or time runs out. */
  waitForOutput(text: string, timeoutMs: number): Promise<void>;
  /** Resolves with the exit code (null when killed by a signal) and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
}

const OUTPUT_KEEP = 256 * 1024;

/** Every process this module started; `killAll` SIGKILLs those still running (afterAll). */
const started = new Set<Proc>();

export function spawnHostplane(args: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    out += chunk.toString('utf8');
    if (out.length > OUTPUT_KEEP) out = out.slice(out.length - OUTPUT_KEEP);
    for (const l of listeners) l();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      for (const l of listeners) l();
      resolve(exitInfo);
    });
  });
  if (child.pid === undefined) throw new Error(`could not spawn hostplane ${args.join(' ')}`);
  const proc: Proc = {
    child,
    pid: child.pid,
    output: () => out,
    exited,
    alive: () => exitInfo === undefined,
    waitForOutput: (text, timeoutMs) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (out.includes(text)) finish();
          else if (exitInfo) finish(new Error(`hostplane ${args.join(' ')} exited (${exitInfo.code ?? exitInfo.signal}) before printing ${JSON.stringify(text)}:\n${out}`));
        };
        const timer = setTimeout(() => finish(new Error(`hostplane ${args.join(' ')} did not print ${JSON.stringify(text)} within ${timeoutMs} ms:\n${out}`)), timeoutMs);
        const finish = (err?: Error) => {
          clearTimeout(timer);
          listeners.delete(check);
          if (err) reject(err);
          else resolve();
        };
        listeners.add(check);
        check();
      }),
  };
  started.add(proc);
  void exited.then(() => started.delete(proc));
  return proc;
}

/** SIGKILLs every process still running that this module started. */
export function killAll(): void {
  for (const p of started) {
    try {
      p.child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** SIGTERM, then the exit code; SIGKILL (and a thrown error) if it does not exit in time. */
export async function stopGracefully(p: Proc, timeoutMs = 20_000): Promise<number | null> {
  if (!p.alive()) return (await p.exited).code;
  p.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const result = await Promise.race([p.exited, timeout]);
  clearTimeout(timer);
  if (result === 'timeout') {
    p.child.kill('SIGKILL');
    throw new Error(`process ${p.pid} did not exit within ${timeoutMs} ms of SIGTERM:\n${p.output()}`);
  }
  return result.code;
}

export async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

export function makeTempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns a value other than undefined; throws with `describe()` after `timeoutMs`. */
export async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number, describe: () => string | Promise<string>, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up after ${timeoutMs} ms: ${await describe()}`);
    await sleep(intervalMs);
  }
}

// ---------------------------------------------------------------------------------------------------
// HTTP

export function basicAuth(token: string, key: string): string {
  return `Basic ${Buffer.from(`${token}:${key}`).toString('base64')}`;
}

export async function http<T = unknown>(method: string, url: string, auth: string, body?: unknown, timeoutMs = 15_000): Promise<{ status: number; body: T }> {
  const res = await fetch(url, {
    method,
    headers: { authorization: auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text for the failure message
  }
  return { status: res.status, body: parsed as T };
}

/** Runs `task(i)` for i in 0..count-1 with at most `concurrency` in flight; the first failure rejects. */
export async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) await task(i);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

export interface DomainSpec {
  name: string;
  /** At most one: the demo package `spamstopshere-standard` allows one mail server. */
  mail_servers?: string[];
}

/**
 * 1–2 domains per client; most with a host-name mail server, some with an IPv4 one, some without
 * (those get a relay_domains line but no transport line).
 */
export function clientDomains(run: string, i: number): DomainSpec[] {
  const domains: DomainSpec[] = [];
  const count = i % 3 === 0 ? 2 : 1;
  for (let d = 0; d < count; d++) {
    const name = `c${i}-${d}.${run}.test`;
    const k = (i * 2 + d) % 7;
    if (k === 0) domains.push({ name });
    else if (k === 1) domains.push({ name, mail_servers: [`192.0.2.${(i % 250) + 1}`] });
    else domains.push({ name, mail_servers: [`mx.${name}`] });
  }
  return domains;
}

/** Client number `i` as createClients sends it: name, address and user count derive from `i`. */
export function clientBody(run: string, i: number) {
  return { package_uid: 'spamstopshere-standard', user_count: 1 + (i % 5), email_address: `owner${i}@example.com`, name: `Client ${i}`, domains: clientDomains(run, i) };
}

/** POSTs client number `i`; the answer's status and body (a refused connection rejects). */
export function postClient(baseUrl: string, auth: string, run: string, i: number): Promise<{ status: number; body: unknown }> {
  return http('POST', `${baseUrl}/v1/clients`, auth, clientBody(run, i));
}

/**
 * POSTs `count` clients (numbered from `first`, so waves do not collide); returns every domain
 * created, by name, with the mail servers it should have.
 */
export async function createClients(baseUrl: string, auth: string, run: string, count: number, concurrency: number, first = 0): Promise<Map<string, string[]>> {
  const created = new Map<string, string[]>();
  await pool(count, concurrency, async (n) => {
    const i = first + n;
    const res = await postClient(baseUrl, auth, run, i);
    if (res.status !== 201) throw new Error(`POST /v1/clients #${i} answered ${res.status}: ${JSON.stringify(res.body)}`);
    for (const d of clientDomains(run, i)) created.set(d.name, d.mail_servers ?? []);
  });
  return created;
}

export interface AdminDomain {
  name: string;
  status: string;
  mail_servers: string[];
}

export interface AdminClient {
  id: number;
  name: string | null;
  email_address: string | null;
  user_count: number;
  domains: AdminDomain[];
}

/** Every client through the operator API (all pages), in id order. */
export async function listAllClients(baseUrl: string, operatorKey: string): Promise<AdminClient[]> {
  const clients: AdminClient[] = [];
  let after: number | null = null;
  for (let page = 0; page < 100; page++) {
    const res: { status: number; body: { clients: AdminClient[]; next_after: number | null } } = await http(
      'GET',
      `${baseUrl}/admin/v1/clients?limit=1000${after !== null ? `&after=${after}` : ''}`,
      `Bearer ${operatorKey}`,
    );
    if (res.status !== 200) throw new Error(`GET /admin/v1/clients answered ${res.status}: ${JSON.stringify(res.body)}`);
    clients.push(...res.body.clients);
    after = res.body.next_after;
    if (after === null) return clients;
  }
  throw new Error('more than 100 pages of clients');
}

/** Every client's domains through the operator API (all pages). */
export async function listAllDomains(baseUrl: string, operatorKey: string): Promise<AdminDomain[]> {
  return (await listAllClients(baseUrl, operatorKey)).flatMap((c) => c.domains);
}

/** The ids of every `action` event's target in the audit log, newest first (all pages). */
export async function auditTargets(baseUrl: string, operatorKey: string, action: string): Promise<string[]> {
  const targets: string[] = [];
  let before: number | null = null;
  for (let page = 0; page < 100; page++) {
    const res: { status: number; body: { events: { target_id: string }[]; next_before: number | null } } = await http(
      'GET',
      `${baseUrl}/admin/v1/audit?action=${encodeURIComponent(action)}&limit=500${before !== null ? `&before=${before}` : ''}`,
      `Bearer ${operatorKey}`,
    );
    if (res.status !== 200) throw new Error(`GET /admin/v1/audit answered ${res.status}: ${JSON.stringify(res.body)}`);
    targets.push(...res.body.events.map((e) => e.target_id));
    before = res.body.next_before;
    if (before === null) return targets;
  }
  throw new Error('more than 100 pages of audit events');
}

export interface AdminJob {
  id: number;
  kind: string;
  state: 'queued' | 'running' | 'succeeded' | 'failed';
  lane: string | null;
  payload: Record<string, unknown>;
  attempts: number;
  max_attempts: number;
  last_error: string | null;
}

/** Every job matching the filter through the operator API (all pages). */
export async function listAllJobs(baseUrl: string, operatorKey: string, filter: { state?: string; kind?: string } = {}): Promise<AdminJob[]> {
  const jobs: AdminJob[] = [];
  let before: number | null = null;
  const query = Object.entries(filter)
    .map(([k, v]) => `&${k}=${encodeURIComponent(v)}`)
    .join('');
  for (let page = 0; page < 100; page++) {
    const res: { status: number; body: { jobs: AdminJob[]; next_before: number | null } } = await http(
      'GET',
      `${baseUrl}/admin/v1/jobs?limit=1000${query}${before !== null ? `&before=${before}` : ''}`,
      `Bearer ${operatorKey}`,
    );
    if (res.status !== 200) throw new Error(`GET /admin/v1/jobs answered ${res.status}: ${JSON.stringify(res.body)}`);
    jobs.push(...res.body.jobs);
    before = res.body.next_before;
    if (before === null) return jobs;
  }
  throw new Error('more than 100 pages of jobs');
}

// ---------------------------------------------------------------------------------------------------
// Relay files and the reload log

/** The non-comment lines of a postfix-maps source file as [key, value] pairs, in file order. */
export function readMapLines(file: string): [string, string][] {
  const text = fs.readFileSync(file, 'utf8');
  const entries: [string, string][] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const m = /^(\S+) {2}(\S+)$/.exec(line);
    if (!m) throw new Error(`${file}: unexpected line ${JSON.stringify(line)}`);
    entries.push([m[1]!, m[2]!]);
  }
  return entries;
}

/**
 * A reload command that logs `start <worker pid> <ns>` and `end <worker pid> <ns>` around a pause:
 * $PPID is the hostplane process that ran `/bin/sh -c`.
 */
export function reloadCommand(logFile: string, pauseSeconds: number): string {
  const log = JSON.stringify(logFile);
  return `echo "start $PPID $(date +%s%N)" >> ${log}; sleep ${pauseSeconds}; echo "end $PPID $(date +%s%N)" >> ${log}`;
}

export interface ReloadEvent {
  kind: 'start' | 'end';
  pid: number;
  ns: bigint;
}

export function readReloadLog(file: string): ReloadEvent[] {
  if (!fs.existsSync(file)) return [];
  const events: ReloadEvent[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (line === '') continue;
    const m = /^(start|end) ([0-9]+) ([0-9]+)$/.exec(line);
    // A line being appended right now may be incomplete; the caller reads again later.
    if (!m) continue;
    events.push({ kind: m[1] as 'start' | 'end', pid: Number(m[2]), ns: BigInt(m[3]!) });
  }
  return events;
}

/**
 * Batches, checked to never overlap: the log must alternate start/end with the same process on
 * both ends of a pair, and each start must come no earlier than the previous end.
 */
export function reloadBatches(events: ReloadEvent[]): { pid: number; start: bigint; end: bigint }[] {
  const batches: { pid: number; start: bigint; end: bigint }[] = [];
  for (let i = 0; i < events.length; i += 2) {
    const start = events[i]!;
    const end = events[i + 1];
    if (start.kind !== 'start') throw new Error(`reload log event #${i} is ${start.kind} ${start.pid}, expected a start: batches overlap`);
    if (!end) throw new Error(`reload log ends with an unfinished batch of ${start.pid}`);
    if (end.kind !== 'end' || end.pid !== start.pid) throw new Error(`batch of ${start.pid} started at event #${i} was followed by ${end.kind} ${end.pid}: batches overlap`);
    const previous = batches[batches.length - 1];
    if (previous && start.ns < previous.end) throw new Error(`batch of ${start.pid} started before the previous batch (${previous.pid}) ended`);
    batches.push({ pid: start.pid, start: start.ns, end: end.ns });
  }
  return batches;
}

// ---------------------------------------------------------------------------------------------------
// A webhook receiver that proves two processes deliver side by side

export interface WebhookRequest {
  headers: nodeHttp.IncomingHttpHeaders;
  body: string;
  json: { id: string; type: string; data: Record<string, unknown> };
}

export interface OverlapReceiver {
  url: string;
  received: WebhookRequest[];
  /** Resolves once the first request is being held. */
  firstHeld: Promise<void>;
  /** Resolves true once two requests were open at the same time, false if the hold ran out first. */
  overlapped: Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Answers 200 to every request, except that the first one is held open until a second one arrives
 * while it still waits. A worker sends its deliveries one at a time, so two open at once must come
 * from two different processes. `holdLimitMs` only keeps a broken run from hanging: when it passes,
 * the held request is answered and `overlapped` resolves false.
 */
export async function startOverlapReceiver(holdLimitMs: number): Promise<OverlapReceiver> {
  const received: WebhookRequest[] = [];
  const held = new Set<nodeHttp.ServerResponse>();
  let holding = true;
  let heldFirst!: () => void;
  const firstHeld = new Promise<void>((resolve) => (heldFirst = resolve));
  let settle!: (overlap: boolean) => void;
  const overlapped = new Promise<boolean>((resolve) => (settle = resolve));
  let limit: NodeJS.Timeout | undefined;
  const release = (overlap: boolean) => {
    if (!holding) return;
    holding = false;
    clearTimeout(limit);
    for (const res of held) res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    held.clear();
    settle(overlap);
  };
  const server = nodeHttp.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({ headers: req.headers, body, json: JSON.parse(body) as WebhookRequest['json'] });
      if (!holding) {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
        return;
      }
      // A sender that gave up on a held request is no longer waiting on it.
      res.on('close', () => held.delete(res));
      held.add(res);
      if (held.size >= 2) release(true);
      else if (held.size === 1 && !limit) {
        limit = setTimeout(() => release(false), holdLimitMs);
        heldFirst();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    firstHeld,
    overlapped,
    close: () => {
      release(false);
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
