import pg from 'pg';
import { DatabaseUnavailableError } from '../errors/db-unavailable.js';

/** Deadlines for a PostgreSQL server; every value is in milliseconds and 0 means "none". */
export interface PgTimeouts {
  /** Opening a connection, and waiting for a free one of the pool. */
  connectMs: number;
  /** Server side: a statement running longer is cancelled (SQLSTATE 57014). */
  statementMs: number;
  /** Server side: waiting longer for a lock fails (55P03). */
  lockMs: number;
  /** Server side: a session idle inside a transaction longer is ended (25P03). */
  idleInTransactionMs: number;
  /** Client side: a query without any answer for this long fails and its connection is dropped. */
  queryMs: number;
  /** A query or a connect outstanding this long makes the guard check whether the server still answers. */
  stallMs: number;
  /** That check's own deadline (connect and `select 1` on a fresh connection); also /readyz's. */
  probeMs: number;
}

/**
 * Why these defaults: the largest statements the product runs (a set-based suspend of 10,000 sites,
 * collect over a million) take well under a second, so 30 s of statement time is a wide margin that
 * still frees a connection from a runaway query; migrations run without it (see `withoutTimeouts`).
 * Row locks are held for milliseconds, so 10 s of waiting means something is stuck. A transaction
 * idle for a minute is a bug holding locks. The client-side deadline is the statement timeout plus
 * slack, so the server's own cancel (which keeps the connection) normally comes first. A server that
 * does not answer at all (frozen, a lost network) is found much sooner by the stall check: after 2 s
 * without an answer a fresh connection must answer `select 1` within 1 s, or every waiting query fails
 * at once, so a long query on a live server is never cut short by it. The connect deadline also
 * bounds the wait for a free connection of the pool; the stall check already catches a server that
 * does not answer, so it is generous (10 s), so that a burst past the pool's size is served late
 * rather than refused.
 */
export const DEFAULT_PG_TIMEOUTS: PgTimeouts = {
  connectMs: 10_000,
  statementMs: 30_000,
  lockMs: 10_000,
  idleInTransactionMs: 60_000,
  queryMs: 35_000,
  stallMs: 2_000,
  probeMs: 1_000,
};

/** pg.Pool/pg.Client settings that put the timeouts on every connection. */
export function connectionSettings(t: PgTimeouts): pg.ClientConfig {
  return {
    ...(t.connectMs ? { connectionTimeoutMillis: t.connectMs } : {}),
    ...(t.statementMs ? { statement_timeout: t.statementMs } : {}),
    ...(t.lockMs ? { lock_timeout: t.lockMs } : {}),
    ...(t.idleInTransactionMs ? { idle_in_transaction_session_timeout: t.idleInTransactionMs } : {}),
    // Finds a peer that vanished (a host gone, a NAT entry dropped) on an idle connection.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  };
}

/**
 * The operations in flight, in the reused slots of one array. Not a Set: every query passes through
 * here, and a Set with that much churn keeps replacing its hash table. V8 links each replaced table
 * to its successor (for live iterators), so once a replaced table sits in the old generation, the
 * tables after it and the entries they held (each entry's closures hold its query's promise chain,
 * and through it the request) survive scavenges until the next full collection. Under the load of
 * bench row 1 this alone cut the bytes promoted per request from about 2.9 KB to 1.8 KB
 * (docs/benchmarks.md, "the tail of rows 1 and 13").
 */
class Slots<T> {
  private readonly items: (T | undefined)[] = [];
  private readonly free: number[] = [];

  add(item: T): number {
    const slot = this.free.pop() ?? this.items.length;
    this.items[slot] = item;
    return slot;
  }

  delete(slot: number): void {
    this.items[slot] = undefined;
    this.free.push(slot);
  }

  /** A copy, so an entry may leave while the caller walks the list. */
  list(): T[] {
    const out: T[] = [];
    for (const item of this.items) if (item !== undefined) out.push(item);
    return out;
  }
}

interface Outstanding {
  started: number;
  /** When it fails on its own deadline; undefined: only when the server is found down. */
  deadline?: number;
  /** Gives up on the operation: its caller gets the error at once. */
  fail(err: Error): void;
}

/**
 * Watches every query and connect of a pool. A server that stopped answering is declared down when a
 * probe on a fresh connection fails; then everything outstanding fails at once and new work is refused
 * straight away (a 503 in every door, not a request hanging) until a probe succeeds again. The pool
 * drops the connections that were cut off, so recovery needs no restart.
 */
export class PgGuard {
  private readonly outstanding = new Slots<Outstanding>();
  private down = false;
  private probing: Promise<void> | undefined;
  private lastProbe = 0;
  private readonly timer: NodeJS.Timeout;

  /**
   * `target`: the server's URL, or (several servers, ADR 25) a search for the primary that fails
   * when none of them accepts writes.
   */
  constructor(
    private readonly target: string | (() => Promise<void>),
    private readonly timeouts: PgTimeouts,
  ) {
    const every = Math.max(50, Math.min(timeouts.stallMs || 1000, timeouts.probeMs || 1000) / 2);
    this.timer = setInterval(() => this.sweep(), every);
    this.timer.unref();
  }

  /** True while the last probe found the server not answering. */
  get isDown(): boolean {
    return this.down;
  }

  /** Refuses at once while the server is known to be down. */
  check(): void {
    if (this.down) throw new DatabaseUnavailableError('the database is not answering');
  }

  /**
   * Runs an operation under the guard: it fails when the server is found down, or when it has had no
   * answer for `deadlineMs` (0: no deadline of its own). `onAbandon` cleans up what it leaves behind;
   * `onError` hears the operation's own failure.
   */
  run<T>(start: () => Promise<T>, deadlineMs: number, onAbandon: (err: Error, late: Promise<T>) => void, onError?: (err: unknown) => void): Promise<T> {
    if (this.down) return Promise.reject(new DatabaseUnavailableError('the database is not answering'));
    const late = start();
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const started = Date.now();
      const entry: Outstanding = {
        started,
        ...(deadlineMs ? { deadline: started + deadlineMs } : {}),
        fail: (err) => {
          if (settled) return;
          settled = true;
          this.outstanding.delete(slot);
          onAbandon(err, late);
          reject(err);
        },
      };
      const slot = this.outstanding.add(entry);
      late.then(
        (value) => {
          if (settled) return;
          settled = true;
          this.outstanding.delete(slot);
          resolve(value);
        },
        (err: unknown) => {
          if (settled) return;
          settled = true;
          this.outstanding.delete(slot);
          onError?.(err);
          reject(err as Error);
        },
      );
    });
  }

  /** Answers within `probeMs`: does the server take a new connection and run `select 1`? */
  async probe(): Promise<boolean> {
    if (!this.probing) {
      this.probing = this.runProbe().finally(() => {
        this.probing = undefined;
      });
    }
    await this.probing;
    return !this.down;
  }

  stop(): void {
    clearInterval(this.timer);
    for (const entry of this.outstanding.list()) entry.fail(new DatabaseUnavailableError('the database connection was closed'));
  }

  private sweep(): void {
    const now = Date.now();
    for (const entry of this.outstanding.list()) {
      if (entry.deadline !== undefined && now >= entry.deadline) entry.fail(new DatabaseUnavailableError(`no answer from the database within ${this.timeouts.queryMs} ms`));
    }
    if (this.probing) return;
    if (this.down) {
      void this.probe();
      return;
    }
    if (!this.timeouts.stallMs || now - this.lastProbe < this.timeouts.stallMs) return;
    for (const entry of this.outstanding.list()) {
      if (now - entry.started >= this.timeouts.stallMs) {
        void this.probe();
        return;
      }
    }
  }

  private async runProbe(): Promise<void> {
    this.lastProbe = Date.now();
    const alive = typeof this.target === 'string' ? await this.probeServer(this.target) : await this.target().then(() => true, () => false);
    this.down = !alive;
    if (!alive) {
      for (const entry of this.outstanding.list()) entry.fail(new DatabaseUnavailableError('the database is not answering'));
    }
  }

  private async probeServer(databaseUrl: string): Promise<boolean> {
    const ms = this.timeouts.probeMs || 1000;
    const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: ms, query_timeout: ms });
    client.on('error', () => {});
    let alive: boolean;
    try {
      await client.connect();
      await client.query('select 1');
      alive = true;
    } catch (err) {
      // A refusal the server itself sent (too many connections, say) proves it is alive; a timeout,
      // a closed socket or "shutting down" does not.
      const code = (err as { code?: unknown }).code;
      alive = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !/^(08|57P)/.test(code);
    } finally {
      void client.end().catch(() => {});
    }
    return alive;
  }
}
