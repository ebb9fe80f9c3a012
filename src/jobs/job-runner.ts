import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { ctxFor, type CoreDeps, type Ctx } from '../core/context.js';
import * as repo from './job.repository.js';
import type { Job } from './job.repository.js';

/** Most lane-less jobs (webhook deliveries, cleanup) claimed per pass. */
const LANELESS_BATCH = 50;
/** Longest a worker keeps a lane for back-to-back full batches before it lets the other work in. */
const LANE_HOLD_MS = 1000;

export interface JobHandler {
  kind: string;
  /** Jobs sharing a lane run one batch at a time across all workers, in id order. */
  lane?: string;
  /** Most jobs handed to one call; handlers that batch (a map rewrite) want many. */
  maxBatch?: number;
  /** Handles the batch; throwing fails every job of it (each is retried with backoff). Must be idempotent. */
  handle(ctx: Ctx, jobs: Job[]): Promise<void>;
  /** Called for jobs that used up their attempts. */
  onExhausted?(ctx: Ctx, jobs: Job[]): Promise<void>;
  /** Periodic: the runner keeps one pending copy scheduled this many ms after the last run. */
  everyMs?: number;
}

export interface JobRunnerOptions {
  workerId?: string;
  pollMs?: number;
  leaseMs?: number;
  /** Backoff before retry n (1-based): base * 2^(n-1), capped, with jitter. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Longest wait between passes while the database keeps failing (the wait doubles from pollMs up to this). */
  failureBackoffMaxMs?: number;
  /**
   * Subscribes to "new jobs" signals (the database's NOTIFY); a signal ends the idle wait at once.
   * Polling still runs beside it, for delayed retries and for signals lost with a connection.
   */
  wakeups?: (wake: () => void) => Promise<() => Promise<void>>;
}

/** `random` is a uniform draw in [0, 1), as Math.random gives; passing one makes the jitter reproducible. */
export function backoffDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  // Up to 20% jitter keeps retries of a burst from arriving together.
  return Math.round(exp * (0.8 + random() * 0.2));
}

/**
 * Polls the jobs table and runs due jobs. Several runners (in one or many processes) can share a
 * database: claims use SKIP LOCKED and leases, lanes serialise order-sensitive work, and a job whose
 * worker died is claimed again once its lease ends.
 */
export class JobRunner {
  readonly workerId: string;
  private readonly handlers = new Map<string, JobHandler>();
  private readonly lanes: string[];
  private readonly pollMs: number;
  private readonly leaseMs: number;
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;
  private readonly failureBackoffMaxMs: number;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;
  /** A signal came in while a tick ran: the jobs it announced may have been inserted after the claim. */
  private signalled = false;
  /** The last tick claimed as many jobs as it could take: more are probably due. */
  private backlog = false;
  private readonly wakeups: JobRunnerOptions['wakeups'];

  constructor(
    private readonly deps: CoreDeps,
    handlers: JobHandler[],
    options: JobRunnerOptions = {},
  ) {
    for (const h of handlers) this.handlers.set(h.kind, h);
    // Every worker knows every handler, so the lanes it serves are the lanes jobs can be in.
    this.lanes = [...new Set(handlers.flatMap((h) => (h.lane ? [h.lane] : [])))];
    this.workerId = options.workerId ?? `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.pollMs = options.pollMs ?? 250;
    // Short enough that a crashed worker's jobs move on within seconds; renewed while a batch runs.
    this.leaseMs = options.leaseMs ?? 15_000;
    this.backoffBaseMs = options.backoffBaseMs ?? 2_000;
    this.backoffMaxMs = options.backoffMaxMs ?? 60 * 60_000;
    this.failureBackoffMaxMs = options.failureBackoffMaxMs ?? 5_000;
    this.wakeups = options.wakeups;
  }

  private ctx(): Ctx {
    return ctxFor(this.deps, { kind: 'system' }, this.deps.log);
  }

  /**
   * Takes back what a dead predecessor held. Only for a database no other live worker can use (the
   * embedded one, locked to this process); on PostgreSQL, leases expire instead.
   */
  async recoverAbandoned(): Promise<void> {
    await repo.releaseAllClaims(this.deps.db, this.deps.clock());
  }

  /** Makes sure every periodic job has its next run scheduled. */
  async schedulePeriodic(): Promise<void> {
    const now = this.deps.clock();
    const periodic = [...this.handlers.values()].filter((h) => h.everyMs);
    await repo.insertJobs(
      this.deps.db,
      periodic.map((h) => ({ kind: h.kind, lane: h.lane ?? null, singletonKey: `periodic:${h.kind}`, maxAttempts: 3 })),
      now,
    );
  }

  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.loop = (async () => {
      let periodicScheduled = await this.schedulePeriodic().then(
        () => true,
        (err: unknown) => {
          this.deps.log.error({ err }, 'scheduling periodic jobs failed; retrying');
          return false;
        },
      );
      const unsubscribe = await this.wakeups?.(() => this.signal()).catch((err: unknown) => {
        this.deps.log.warn({ err }, 'cannot listen for new jobs; polling only');
        return undefined;
      });
      // Consecutive failed passes (the database down or frozen): the runner waits longer after each,
      // logs the outage once, and carries on by itself when the database answers again.
      let failures = 0;
      try {
        while (!this.stopping) {
          this.signalled = false;
          this.backlog = false;
          let ran = 0;
          const started = performance.now();
          try {
            if (!periodicScheduled) {
              await this.schedulePeriodic();
              periodicScheduled = true;
            }
            ran = await this.tick();
            if (failures > 0) this.deps.log.info({ failedPasses: failures }, 'job runner resumed');
            failures = 0;
          } catch (err) {
            failures++;
            if (failures === 1) this.deps.log.error({ err }, 'job runner tick failed; backing off until the database answers');
            else this.deps.log.debug({ err, failedPasses: failures }, 'job runner tick failed again');
          }
          if (this.stopping) break;
          if (failures > 0) {
            await this.pause(backoffDelayMs(failures, this.pollMs, Math.max(this.pollMs, this.failureBackoffMaxMs)));
          } else if (ran === 0) {
            if (!this.signalled) await this.idle(this.pollMs);
          } else if (!this.backlog) {
            // Caught up, with work trickling in (a stream of sign-ups): let the next batch gather for a
            // while, in proportion to what a batch costs, so that a driver that rewrites a whole map per
            // batch spends at most a quarter of the time doing so instead of competing with the requests
            // that feed it. An idle worker still starts at once; a backlog runs back to back.
            await this.pause(Math.min(this.pollMs * 4, 3 * (performance.now() - started)));
          }
        }
      } finally {
        await unsubscribe?.().catch(() => {});
      }
    })();
  }

  private signal(): void {
    this.signalled = true;
    this.wake?.();
  }

  /** Waits, without being cut short by new-job signals (stop still ends it). */
  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        if (!this.stopping) return;
        this.wake = undefined;
        done();
      };
    });
  }

  /** Waits up to `ms`, or until a new-job signal (or stop). */
  private idle(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }

  /** Finishes the batch in hand, then stops. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
  }

  /** One pass: expired leases back to the queue, every due lane batch, then due jobs without a lane. Returns how many jobs ran. */
  async tick(): Promise<number> {
    let ran = 0;
    const now = this.deps.clock();
    await repo.reclaimExpired(this.deps.db, now);
    for (const lane of this.lanes) {
      if (!(await repo.laneHasDueJobs(this.deps.db, lane, now))) continue;
      const leaseUntil = new Date(now.getTime() + this.leaseMs);
      if (!(await repo.acquireLane(this.deps.db, lane, this.workerId, now, leaseUntil))) continue;
      try {
        const max = Math.max(...[...this.handlers.values()].filter((h) => h.lane === lane).map((h) => h.maxBatch ?? 100), 1);
        // A full batch means more are waiting: the next batches follow under the same lane lease (no
        // release, reclaim, probe and take again per batch), for a bounded time, so the lease taken above
        // stays valid without renewal and lane-less jobs (webhooks) are not held back by a long backlog.
        const holdUntil = performance.now() + Math.min(LANE_HOLD_MS, this.leaseMs / 3);
        let claimAt = now;
        for (;;) {
          const jobs = await repo.claimJobs(this.deps.db, this.workerId, lane, max, claimAt, new Date(claimAt.getTime() + this.leaseMs));
          ran += await this.runClaimed(jobs, lane);
          if (jobs.length < max) break;
          if (this.stopping || performance.now() >= holdUntil) {
            this.backlog = true;
            break;
          }
          claimAt = this.deps.clock();
        }
      } finally {
        await repo.releaseLane(this.deps.db, lane, this.workerId);
      }
    }
    const leaseUntil = new Date(now.getTime() + this.leaseMs);
    const jobs = await repo.claimJobs(this.deps.db, this.workerId, null, LANELESS_BATCH, now, leaseUntil);
    if (jobs.length === LANELESS_BATCH) this.backlog = true;
    ran += await this.runClaimed(jobs, null);
    return ran;
  }

  /** Runs until nothing is due (tests and `jobs drain`). */
  async drain(maxPasses = 1000): Promise<number> {
    let total = 0;
    for (let i = 0; i < maxPasses; i++) {
      const ran = await this.tick();
      total += ran;
      if (ran === 0) break;
    }
    return total;
  }

  private async runClaimed(jobs: Job[], lane: string | null): Promise<number> {
    if (jobs.length === 0) return 0;
    const byKind = new Map<string, Job[]>();
    for (const job of jobs) {
      const same = byKind.get(job.kind);
      if (same) same.push(job);
      else byKind.set(job.kind, [job]);
    }
    // Long handlers keep their lease (and their lane) alive; a dead process stops renewing.
    const heartbeat = setInterval(() => {
      const leaseUntil = new Date(this.deps.clock().getTime() + this.leaseMs);
      void repo.extendLease(this.deps.db, jobs.map((j) => j.id), this.workerId, leaseUntil).catch(() => {});
      // Only renews a lane this worker still holds: a late renewal must not take back a released lane.
      if (lane) void repo.extendLane(this.deps.db, lane, this.workerId, leaseUntil).catch(() => {});
    }, Math.max(1000, this.leaseMs / 3));
    try {
      for (const [kind, batch] of byKind) {
        // A handler's maxBatch also splits lane-less claims, so one failing job (a webhook) fails alone.
        const size = Math.max(1, this.handlers.get(kind)?.maxBatch ?? batch.length);
        for (let i = 0; i < batch.length; i += size) await this.runBatch(kind, batch.slice(i, i + size));
      }
    } finally {
      clearInterval(heartbeat);
    }
    return jobs.length;
  }

  private async runBatch(kind: string, batch: Job[]): Promise<void> {
    const handler = this.handlers.get(kind);
    const ids = batch.map((j) => j.id);
    const ctx = this.ctx();
    try {
      if (!handler) throw new Error(`no handler for job kind ${kind}`);
      await handler.handle(ctx, batch);
      const now = this.deps.clock();
      await repo.markSucceeded(this.deps.db, ids, this.workerId, now);
      if (handler.everyMs) {
        await repo.insertJobs(this.deps.db, [{ kind, lane: handler.lane ?? null, singletonKey: `periodic:${kind}`, maxAttempts: 3, runAt: new Date(now.getTime() + handler.everyMs) }], now);
      }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.deps.log.warn({ kind, jobs: ids, err: message }, 'job attempt failed');
      const now = this.deps.clock();
      const exhausted = await repo.markAttemptFailed(this.deps.db, ids, this.workerId, message, now, (attempts) => new Date(now.getTime() + backoffDelayMs(attempts, this.backoffBaseMs, this.backoffMaxMs)));
      if (exhausted.length && handler?.onExhausted) {
        await handler.onExhausted(ctx, batch.filter((j) => exhausted.includes(j.id))).catch((e: unknown) => this.deps.log.error({ err: e }, 'onExhausted failed'));
      }
      if (handler?.everyMs && exhausted.length) {
        await repo.insertJobs(this.deps.db, [{ kind, lane: handler.lane ?? null, singletonKey: `periodic:${kind}`, maxAttempts: 3, runAt: new Date(now.getTime() + handler.everyMs) }], now);
      }
    }
  }
}
