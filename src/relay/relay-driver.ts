/**
 * Relay drivers make a domain's mail relay set-up real: the relay hosts accept mail for the domain
 * and forward it to the client's own mail servers. Provisioning jobs call a driver with batches of
 * changes; see `createRelayDriver` (create-relay-driver.ts) for the available drivers.
 */

/** `name` is the canonical lower-case A-label; `mailServers` are host names or bare IP literals, in priority order. */
export interface RelayDomain {
  name: string;
  mailServers: string[];
}

export type RelayOp = { op: 'provision' | 'update'; domain: RelayDomain } | { op: 'deprovision'; name: string };

export interface RelayDriver {
  readonly name: string;
  /**
   * Applies a batch of changes; every op is idempotent (provisioning twice, or deprovisioning an
   * unknown domain, is fine). Resolves once all are durable; rejects if any failed (the caller
   * retries the whole batch). Ops of one batch naming the same domain take effect in batch order.
   */
  apply(ops: RelayOp[]): Promise<void>;
  /** = apply([{ op: 'provision', domain }]) */
  provisionDomain(domain: RelayDomain): Promise<void>;
  /** = apply([{ op: 'update', domain }]) */
  updateDomain(domain: RelayDomain): Promise<void>;
  /** = apply([{ op: 'deprovision', name }]) */
  deprovisionDomain(name: string): Promise<void>;
  /**
   * The names the relay holds now, where the driver can tell (postfix-maps reads its maps; an http
   * relay cannot be asked). A full rebuild uses it to remove names no longer live.
   */
  listDomains?(): Promise<string[]>;
}

export interface RelayDriverConfig {
  driver: 'postfix-maps' | 'http';
  /** postfix-maps: the map files live in `<dataDir>/relay/`, */
  dataDir: string;
  /** or here, when given (a relay node's agent names its maps dir itself). */
  relayDir?: string;
  /** postfix-maps: run with `/bin/sh -c` once per batch after the files are written (e.g. postmap + postfix reload). */
  reloadCommand?: string;
  /** http: the endpoint every op is POSTed to. */
  httpUrl?: string;
  /** http: per-request timeout (default 10 s). */
  httpTimeoutMs?: number;
}

/** Raised by every driver; `domain` names the domain an op failed for, when there is one. */
export class RelayError extends Error {
  override readonly name = 'RelayError';
  constructor(
    message: string,
    readonly domain?: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The name an op is about, whichever kind it is. */
export function opDomainName(op: RelayOp): string {
  return op.op === 'deprovision' ? op.name : op.domain.name;
}

/**
 * Shared plumbing: the single-domain helpers, and serialisation of `apply` within one process, so two
 * batches never interleave (a promise chain; a failed batch does not block the next one).
 */
export abstract class SerialRelayDriver implements RelayDriver {
  abstract readonly name: string;
  private tail: Promise<unknown> = Promise.resolve();

  /** Applies one batch; never called concurrently with itself. */
  protected abstract applyBatch(ops: RelayOp[]): Promise<void>;

  apply(ops: RelayOp[]): Promise<void> {
    const batch = [...ops]; // the caller may reuse its array while we wait for our turn
    return this.serially(() => this.applyBatch(batch));
  }

  /** Runs `fn` after every batch queued before it, never alongside one. */
  protected serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  provisionDomain(domain: RelayDomain): Promise<void> {
    return this.apply([{ op: 'provision', domain }]);
  }

  updateDomain(domain: RelayDomain): Promise<void> {
    return this.apply([{ op: 'update', domain }]);
  }

  deprovisionDomain(name: string): Promise<void> {
    return this.apply([{ op: 'deprovision', name }]);
  }
}
