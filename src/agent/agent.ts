import fs from 'node:fs';
import type { NodeSettings, StateResponse, WireObject } from '../core/nodes/agent-wire.schema.js';
import type { AgentLog } from './agent-log.js';
import { backoffMs, sleep } from './backoff.js';
import type { Credentials } from './credentials.js';
import { ensureCredentials } from './enrol.js';
import { Heartbeat } from './heartbeat.js';
import type { ObjectResultT, RoleDriver } from './role-driver.js';
import { objectKey, StateFile, type StateFileBody } from './state-file.js';
import { StatusReporter } from './status-reporter.js';
import { WireClient, WireError } from './wire-client.js';
import { WorkQueue } from './work-queue.js';

export interface AgentOptions {
  /** The control plane's base URL (the one `/agent/v1` hangs under). */
  url: string;
  /** Enrolment token; needed only until credentials.json exists (or to exchange a rotated one). */
  token?: string;
  dataDir: string;
  /** The role drivers, or a function choosing them from the node's roles once enrolment tells them. */
  drivers: RoleDriver[] | ((node: { roles: string[]; client: WireClient }) => RoleDriver[]);
  agentVersion: string;
  log: AgentLog;
  /** Long-poll wait, seconds (the contract allows up to 60). */
  pollWaitSeconds?: number;
  /** Most objects handed to a driver at once (one nginx reload each). */
  batchSize?: number;
  /** Retry of objects that failed to apply. */
  retry?: { baseMs: number; maxMs: number };
  /** Retry of a control plane that cannot be reached. */
  backoff?: { baseMs: number; maxMs: number };
  /** Retry after a 401: the token was revoked or rotated, so asking often changes nothing. */
  unauthorizedRetryMs?: number;
}

/** What the agent knows, for the process that runs it (and tests). */
export interface AgentSnapshot {
  node?: { id: number; name: string };
  /** The node-state version caught up with. */
  version: number | null;
  /** Objects applied successfully at their latest known version. */
  applied: number;
  /** Objects waiting (new, changed, or failed and waiting for their retry). */
  pending: number;
  failing: number;
  /** The last problem talking to the control plane, cleared by the next success. */
  controlPlane: { ok: boolean; error?: string; unauthorized?: boolean };
}

const DEFAULT_SETTINGS: NodeSettings = { heartbeatIntervalSeconds: 10, usageIntervalSeconds: 60 };

/**
 * `hostplane agent`: pulls this node's desired state from the control plane, makes it true through
 * the role drivers and reports what it did. Level-triggered: on start it fetches everything and
 * re-applies it (drivers are idempotent), so whatever a crash left half done converges; afterwards it
 * long-polls for changes. A control plane that is down only stops new changes: what was applied stays
 * served, failed objects keep being retried, results wait to be reported.
 */
export class Agent {
  readonly client: WireClient;
  private readonly stateFile: StateFile;
  private state!: StateFileBody;
  private credentials?: Credentials;
  private readonly queue: WorkQueue;
  private readonly reporter: StatusReporter;
  private readonly heartbeat: Heartbeat;
  private readonly driverByKind = new Map<string, RoleDriver>();
  /** Drivers whose start() has not succeeded yet, with why. */
  private readonly notStarted = new Map<RoleDriver, string>();
  private settings: NodeSettings = DEFAULT_SETTINGS;
  private readonly stopping = new AbortController();
  private loopDone: Promise<void> | undefined;
  private cp: AgentSnapshot['controlPlane'] = { ok: true };
  private readonly pickDrivers: AgentOptions['drivers'];
  private readonly o: Required<Omit<AgentOptions, 'token' | 'drivers'>> & Pick<AgentOptions, 'token'>;
  private drivers: RoleDriver[] = [];

  constructor(options: AgentOptions) {
    this.o = {
      pollWaitSeconds: 30,
      batchSize: 2_000,
      retry: { baseMs: 2_000, maxMs: 300_000 },
      backoff: { baseMs: 1_000, maxMs: 30_000 },
      unauthorizedRetryMs: 60_000,
      ...options,
    };
    this.client = new WireClient({ url: options.url, userAgent: `hostplane-agent/${options.agentVersion}` });
    this.stateFile = new StateFile(options.dataDir);
    this.queue = new WorkQueue(this.o.retry);
    this.reporter = new StatusReporter(this.client, options.log);
    this.pickDrivers = options.drivers;
    this.heartbeat = new Heartbeat({
      client: this.client,
      dataDir: options.dataDir,
      drivers: () => this.drivers,
      agentVersion: options.agentVersion,
      log: options.log,
      settings: () => this.settings,
      onSettings: (s) => this.useSettings(s),
      driverProblem: (d) => this.notStarted.get(d),
      onAnswer: (e) => this.noteControlPlane(e),
    });
  }

  /**
   * Enrols if needed, starts the drivers and the loop, and returns; the loop runs until stop().
   * Throws only what will not fix itself: no usable token, a data dir it cannot write.
   */
  async start(): Promise<void> {
    await this.prepareDataDir();
    this.credentials = await ensureCredentials({
      client: this.client,
      dataDir: this.o.dataDir,
      url: this.o.url,
      token: this.o.token,
      log: this.o.log,
      signal: this.stopping.signal,
      backoff: this.o.backoff,
    });
    this.client.token = this.credentials.token;
    const loaded = await this.stateFile.load(this.credentials.url);
    if (loaded.problem) this.o.log.warn({}, loaded.problem);
    // What another control plane had this node do is not this one's to keep.
    this.state = loaded.body.url === this.credentials.url ? loaded.body : { format: 1, url: this.credentials.url, version: null, objects: {} };
    this.drivers = typeof this.pickDrivers === 'function' ? this.pickDrivers({ roles: this.credentials.roles, client: this.client }) : this.pickDrivers;
    for (const d of this.drivers) for (const kind of d.kinds) this.driverByKind.set(kind, d);
    for (const d of this.drivers) await this.startDriver(d);
    this.heartbeat.start();
    this.loopDone = this.loop();
  }

  /**
   * The data dir holds the sites' homes, which nginx's workers and each site's PHP pool (other users)
   * must reach: it needs search permission for all (0711), never listing; the secrets in it are 0600 files.
   */
  private async prepareDataDir(): Promise<void> {
    await fs.promises.mkdir(this.o.dataDir, { recursive: true, mode: 0o711 });
    const st = await fs.promises.stat(this.o.dataDir);
    if ((st.mode & 0o011) !== 0o011) {
      await fs.promises.chmod(this.o.dataDir, (st.mode & 0o777) | 0o011);
      this.o.log.info({ dataDir: this.o.dataDir }, 'gave the data dir search permission (o+x, g+x) so that nginx and site users can reach the homes in it');
    }
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.heartbeat.stop();
    await this.loopDone;
    await this.heartbeat.settled();
    for (const d of this.drivers) await d.stop().catch((e: unknown) => this.o.log.warn({ err: (e as Error).message, role: d.role }, 'driver stop failed'));
  }

  snapshot(): AgentSnapshot {
    let applied = 0;
    for (const e of Object.values(this.state?.objects ?? {})) if (e.applied && !e.failed) applied++;
    return {
      ...(this.credentials ? { node: { id: this.credentials.nodeId, name: this.credentials.nodeName } } : {}),
      version: this.state?.version ?? null,
      applied,
      pending: this.queue.size,
      failing: this.queue.failures(),
      controlPlane: this.cp,
    };
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private async startDriver(d: RoleDriver): Promise<boolean> {
    try {
      await d.start();
      if (this.notStarted.delete(d)) this.o.log.info({ role: d.role }, 'driver started');
      return true;
    } catch (e) {
      const why = (e as Error).message;
      if (this.notStarted.get(d) !== why) this.o.log.error({ role: d.role, err: why }, 'driver cannot start; its objects wait and the heartbeat reports it unhealthy');
      this.notStarted.set(d, why);
      return false;
    }
  }

  private async loop(): Promise<void> {
    let full = true;
    let failures = 0;
    while (!this.stopped) {
      try {
        if (full) {
          const s = await this.client.state(undefined, 0, this.stopping.signal);
          this.acceptFull(s);
          full = false;
        } else {
          await this.work();
          const waitSeconds = this.pollWait();
          const s = await this.client.state(this.state.version ?? 0, waitSeconds, this.stopping.signal);
          // A version behind ours: the control plane's data went back (a restore); start over from all of it.
          if (this.state.version !== null && s.version < this.state.version) {
            this.o.log.warn({ ours: this.state.version, theirs: s.version }, 'the control plane is behind what this node applied; fetching the whole state again');
            full = true;
            continue;
          }
          // Every object anew (after a restore of the control plane): what it no longer lists goes.
          if (s.full) this.acceptFull(s);
          else this.acceptChanges(s);
        }
        this.noteControlPlane(undefined);
        failures = 0;
        await this.reporter.flush();
      } catch (e) {
        if (this.stopped) break;
        if (!(e instanceof WireError)) {
          // A bug or a full disk: keep the node serving and try again rather than die.
          this.o.log.error({ err: (e as Error).stack ?? String(e) }, 'agent loop failed; retrying');
          await sleep(backoffMs(++failures, this.o.backoff.baseMs, this.o.backoff.maxMs), this.stopping.signal);
          continue;
        }
        this.noteControlPlane(e);
        // Retries of failed objects go on while the control plane cannot be reached.
        await this.work().catch((err: unknown) => this.o.log.error({ err: (err as Error).message }, 'apply failed'));
        const wait = e.failure === 'unauthorized' ? this.o.unauthorizedRetryMs : backoffMs(++failures, this.o.backoff.baseMs, this.o.backoff.maxMs);
        await sleep(Math.min(wait, this.untilNextRetry() ?? wait), this.stopping.signal);
      }
    }
  }

  /** The long-poll waits no longer than until the next failed object is due again. */
  private pollWait(): number {
    const until = this.untilNextRetry();
    const wait = until === undefined ? this.o.pollWaitSeconds : Math.min(this.o.pollWaitSeconds, Math.ceil(until / 1000));
    return Math.max(0, Math.min(60, wait));
  }

  private untilNextRetry(): number | undefined {
    const next = this.queue.nextDueAt();
    return next === undefined ? undefined : Math.max(0, next - Date.now());
  }

  private useSettings(s: NodeSettings): void {
    const changed = s.heartbeatIntervalSeconds !== this.settings.heartbeatIntervalSeconds || s.usageIntervalSeconds !== this.settings.usageIntervalSeconds;
    this.settings = s;
    if (changed) this.heartbeat.reschedule();
  }

  private noteControlPlane(e: WireError | undefined): void {
    const before = this.cp;
    if (!e) {
      if (!before.ok) this.o.log.info({}, 'the control plane answers again');
      this.cp = { ok: true };
      return;
    }
    this.cp = { ok: false, error: e.message, ...(e.failure === 'unauthorized' ? { unauthorized: true } : {}) };
    if (e.failure === 'unauthorized') {
      if (!before.unauthorized) this.o.log.error({ err: e.message }, 'the control plane refuses this node token (revoked, or replaced by a rotation): still serving what was applied; enrol again with a new token from `hostplane node rotate-token`');
    } else if (before.ok || before.unauthorized) {
      this.o.log.warn({ err: e.message }, 'cannot reach the control plane: still serving what was applied, retrying');
    } else {
      this.o.log.debug({ err: e.message }, 'control plane still unreachable');
    }
  }

  /**
   * The whole desired state. Everything in it is applied again (the first time after start, that is
   * the crash repair); what this node applied that the control plane no longer lists is removed.
   */
  private acceptFull(s: StateResponse): void {
    this.useSettings(s.settings);
    const listed = new Set<string>();
    for (const o of s.objects) {
      listed.add(objectKey(o));
      this.queue.put(o);
    }
    for (const [key, entry] of Object.entries(this.state.objects)) {
      if (listed.has(key)) continue;
      if (!entry.applied) {
        // Never made true, and no longer wanted.
        delete this.state.objects[key];
        continue;
      }
      this.queue.put({ kind: entry.applied.kind, id: entry.applied.id, version: entry.applied.version, state: 'absent', spec: entry.applied.spec } as WireObject, false);
    }
    this.state.version = s.version;
    this.o.log.info({ version: s.version, objects: s.objects.length, node: s.node.name }, 'fetched the node state');
  }

  /** Changes since our version: only what differs from what was applied goes to the drivers. */
  private acceptChanges(s: StateResponse): void {
    this.useSettings(s.settings);
    const same: ObjectResultT[] = [];
    for (const o of s.objects) {
      const entry = this.state.objects[objectKey(o)];
      // A database with staged files is applied again: its result names the files it holds, which a
      // confirmation would not (the driver finds them there and fetches nothing).
      const files = o.kind === 'database' && o.state === 'present' && Boolean(o.spec.files?.length);
      if (entry?.applied && !entry.failed && !files && sameObject(entry.applied, o)) {
        // Already true here (a resend after a lost report): confirm it again without touching the driver.
        same.push({ kind: o.kind, id: o.id, version: o.version, ok: true });
        continue;
      }
      this.queue.put(o);
    }
    this.reporter.add(same);
    this.state.version = s.version;
    if (s.objects.length) this.o.log.debug({ version: s.version, changed: s.objects.length }, 'state changed');
  }

  /** Applies everything due, driver by driver in batches; saves what is true after each batch, then reports. */
  private async work(): Promise<void> {
    const due = this.queue.due(Date.now());
    if (due.length === 0) return;
    const byDriver = new Map<RoleDriver | undefined, typeof due>();
    for (const p of due) {
      const d = this.driverByKind.get(p.object.kind);
      byDriver.set(d, [...(byDriver.get(d) ?? []), p]);
    }
    for (const [driver, items] of byDriver) {
      for (let i = 0; i < items.length && !this.stopped; i += this.o.batchSize) {
        const chunk = items.slice(i, i + this.o.batchSize);
        const results = await this.applyBatch(driver, chunk.map((p) => p.object));
        await this.record(chunk, results);
      }
    }
    await this.reporter.flush().catch((e: unknown) => {
      if (!(e instanceof WireError)) throw e;
      // Sent when the control plane answers again.
    });
  }

  private async applyBatch(driver: RoleDriver | undefined, objects: WireObject[]): Promise<ObjectResultT[]> {
    const fail = (error: string) => objects.map((o) => ({ kind: o.kind, id: o.id, version: o.version, ok: false, error }));
    if (!driver) return fail(`this node has no driver for ${objects[0]?.kind ?? 'these'} objects`);
    if (this.notStarted.has(driver) && !(await this.startDriver(driver))) return fail(`${driver.role} driver not available: ${this.notStarted.get(driver)}`);
    try {
      const results = await driver.apply(objects);
      const byKey = new Map(results.map((r) => [objectKey(r), r]));
      // A driver that forgot an object must not make it look applied.
      return objects.map((o) => byKey.get(objectKey(o)) ?? { kind: o.kind, id: o.id, version: o.version, ok: false, error: 'the driver returned no result for it' });
    } catch (e) {
      return fail(`${driver.role} driver failed: ${(e as Error).message}`);
    }
  }

  private async record(items: { object: WireObject; report: boolean }[], results: ObjectResultT[]): Promise<void> {
    const now = Date.now();
    const at = new Date(now).toISOString();
    const toReport: ObjectResultT[] = [];
    results.forEach((r, i) => {
      const { object, report } = items[i]!;
      const key = objectKey(object);
      if (r.ok) {
        if (object.state === 'absent') delete this.state.objects[key];
        else this.state.objects[key] = { applied: object };
        this.queue.done(object);
      } else {
        const prev = this.state.objects[key];
        this.state.objects[key] = { ...(prev?.applied ? { applied: prev.applied } : {}), failed: { version: object.version, error: r.error ?? 'failed', at } };
        const retryInMs = this.queue.failed(object, now);
        this.o.log.warn({ object: key, version: object.version, err: r.error, retryInMs }, 'object failed to apply');
      }
      if (report) toReport.push(r);
    });
    await this.stateFile.save(this.state);
    this.reporter.add(toReport);
  }
}

function sameObject(a: WireObject, b: WireObject): boolean {
  return a.version === b.version && a.state === b.state && JSON.stringify(a.spec) === JSON.stringify(b.spec);
}
