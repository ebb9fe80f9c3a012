import { MAX_USERS_PER_PAGE, type HeartbeatRequest, type NodeSettings, type ReportedInstanceUser, type UsageRequest, type UserListPage } from '../core/nodes/agent-wire.schema.js';
import type { AgentLog } from './agent-log.js';
import { pruneArchives } from './archives.js';
import { measureCapacity } from './capacity.js';
import type { RoleDriver } from './role-driver.js';
import { WireError, type WireClient } from './wire-client.js';

export interface HeartbeatOptions {
  client: WireClient;
  dataDir: string;
  drivers: () => RoleDriver[];
  agentVersion: string;
  log: AgentLog;
  settings: () => NodeSettings;
  onSettings: (s: NodeSettings) => void;
  /** Why a driver is not running (its start failed), if it is not. */
  driverProblem: (d: RoleDriver) => string | undefined;
  onAnswer: (e: WireError | undefined) => void;
}

/** The contract's cap on samples per request. */
const MAX_SAMPLES = 20_000;

/** Most JSON one usage request carries: the control plane takes 4 MB; database samples list users. */
const MAX_USAGE_BYTES = 3 * 1024 * 1024;

/** Samples split into requests within the contract's count and the body size the server takes. */
export function usageChunks(samples: UsageRequest['samples']): UsageRequest['samples'][] {
  const chunks: UsageRequest['samples'][] = [];
  let current: UsageRequest['samples'] = [];
  let bytes = 0;
  for (const s of samples) {
    const size = JSON.stringify(s).length + 1;
    if (current.length && (current.length >= MAX_SAMPLES || bytes + size > MAX_USAGE_BYTES)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(s);
    bytes += size;
  }
  if (current.length) chunks.push(current);
  return chunks;
}

/** The most JSON one page of a user list carries, so a few pages fit a request. */
const MAX_PAGE_BYTES = 1024 * 1024;
/** The contract's cap on pages per request. */
const MAX_PAGES = 100;

/** A database's whole list of users cut into the contract's pages, by count and by size. */
export function userListPages(id: string, at: string, digest: string, users: readonly ReportedInstanceUser[]): UserListPage[] {
  const pages: UserListPage[] = [];
  let current: ReportedInstanceUser[] = [];
  let bytes = 0;
  const flush = () => {
    pages.push({ id, at, digest, total: users.length, offset: pages.reduce((n, p) => n + p.users.length, 0), users: current });
    current = [];
    bytes = 0;
  };
  for (const u of users) {
    const size = JSON.stringify(u).length + 1;
    if (current.length && (current.length >= MAX_USERS_PER_PAGE || bytes + size > MAX_PAGE_BYTES)) flush();
    current.push(u);
    bytes += size;
  }
  // An empty list is one empty page: the control plane learns that res_users holds nobody.
  if (current.length || pages.length === 0) flush();
  return pages;
}

/** Pages grouped into requests within the body size the server takes and the contract's count. */
export function userListRequests(pages: readonly UserListPage[]): UserListPage[][] {
  const requests: UserListPage[][] = [];
  let current: UserListPage[] = [];
  let bytes = 0;
  for (const p of pages) {
    const size = JSON.stringify(p).length + 1;
    if (current.length && (current.length >= MAX_PAGES || bytes + size > MAX_USAGE_BYTES)) {
      requests.push(current);
      current = [];
      bytes = 0;
    }
    current.push(p);
    bytes += size;
  }
  if (current.length) requests.push(current);
  return requests;
}

/**
 * The two timers beside the loop: a heartbeat (capacity and driver health) every heartbeat interval,
 * usage samples from the drivers every usage interval, both as the control plane's settings say. Each
 * runs on its own, so a slow apply never makes a node look dead, and a failed send is simply the next
 * one's job (usage counters only grow, so a lost sample loses nothing).
 */
export class Heartbeat {
  private beatTimer: NodeJS.Timeout | undefined;
  private usageTimer: NodeJS.Timeout | undefined;
  private running = false;
  private beating: Promise<void> | undefined;

  constructor(private readonly o: HeartbeatOptions) {}

  start(): void {
    this.running = true;
    this.scheduleBeat(0);
    this.scheduleUsage(this.o.settings().usageIntervalSeconds * 1000);
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.beatTimer);
    clearTimeout(this.usageTimer);
  }

  /** The intervals changed: the next beat and sample follow the new ones. */
  reschedule(): void {
    if (!this.running) return;
    this.scheduleBeat(this.o.settings().heartbeatIntervalSeconds * 1000);
    this.scheduleUsage(this.o.settings().usageIntervalSeconds * 1000);
  }

  private scheduleBeat(ms: number): void {
    clearTimeout(this.beatTimer);
    if (!this.running) return;
    this.beatTimer = setTimeout(() => {
      this.beating = this.beat()
        .catch((e: unknown) => this.o.log.error({ err: (e as Error).message }, 'heartbeat failed'))
        .finally(() => this.scheduleBeat(this.o.settings().heartbeatIntervalSeconds * 1000));
    }, ms);
  }

  private scheduleUsage(ms: number): void {
    clearTimeout(this.usageTimer);
    if (!this.running) return;
    this.usageTimer = setTimeout(() => {
      void this.sendUsage()
        .catch((e: unknown) => this.o.log.error({ err: (e as Error).message }, 'usage report failed'))
        .finally(() => this.scheduleUsage(this.o.settings().usageIntervalSeconds * 1000));
    }, ms);
  }

  /** One heartbeat now (also used by tests through the agent's timers). */
  async beat(): Promise<void> {
    const drivers: HeartbeatRequest['drivers'] = {};
    for (const d of this.o.drivers()) {
      const problem = this.o.driverProblem(d);
      if (problem) {
        drivers[d.name ?? d.role] = { ok: false, error: problem.slice(0, 2000) };
        continue;
      }
      try {
        const h = await d.health();
        drivers[d.name ?? d.role] = h.ok ? { ok: true } : { ok: false, error: (h.error ?? 'unhealthy').slice(0, 2000) };
      } catch (e) {
        drivers[d.name ?? d.role] = { ok: false, error: (e as Error).message.slice(0, 2000) };
      }
    }
    const body: HeartbeatRequest = { agentVersion: this.o.agentVersion.slice(0, 64), capacity: await measureCapacity(this.o.dataDir), drivers };
    try {
      const r = await this.o.client.heartbeat(body);
      this.o.onSettings(r.settings);
      this.o.onAnswer(undefined);
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
      this.o.onAnswer(e);
    }
  }

  private async sendUsage(): Promise<void> {
    // The archives' retention rides on the usage timer: a slow, regular beat that needs no server.
    try {
      pruneArchives(this.o.dataDir, this.o.settings().archiveRetentionDays, new Date(), this.o.log);
    } catch (e) {
      this.o.log.warn({ err: (e as Error).message }, 'archive clean-up failed');
    }
    const samples: UsageRequest['samples'] = [];
    for (const d of this.o.drivers()) {
      if (this.o.driverProblem(d)) continue;
      try {
        samples.push(...(await d.observe()));
      } catch (e) {
        this.o.log.warn({ role: d.role, err: (e as Error).message }, 'usage observation failed');
      }
    }
    try {
      const wanted = new Set<string>();
      for (const chunk of usageChunks(samples)) for (const id of (await this.o.client.usage({ samples: chunk })).usersWanted ?? []) wanted.add(id);
      if (samples.length) this.o.log.debug({ samples: samples.length }, 'usage reported');
      await this.sendUserLists(wanted);
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
      this.o.log.debug({ err: e.message }, 'usage not reported; the next interval sends newer counters');
    }
  }

  /**
   * The user lists the control plane holds under another digest (docs/adr/0027), one database at a
   * time: read whole, cut into pages, sent in as many requests as they need. A list that fails to
   * read or send is asked for again by the next interval's answer.
   */
  private async sendUserLists(wanted: Set<string>): Promise<void> {
    for (const id of wanted) {
      let list: { digest: string; users: ReportedInstanceUser[] } | undefined;
      for (const d of this.o.drivers()) {
        if (!d.userList || this.o.driverProblem(d)) continue;
        try {
          list = await d.userList(id);
        } catch (e) {
          this.o.log.warn({ id, err: (e as Error).message }, 'could not read the users of a database');
        }
        if (list) break;
      }
      if (!list) continue;
      for (const pages of userListRequests(userListPages(id, new Date().toISOString(), list.digest, list.users))) await this.o.client.usage({ samples: [], userLists: pages });
      this.o.log.debug({ id, users: list.users.length }, 'user list reported');
    }
  }

  /** Waits for a heartbeat in flight (stop, tests). */
  async settled(): Promise<void> {
    await this.beating;
  }
}
