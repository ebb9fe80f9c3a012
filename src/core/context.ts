import type { Executor } from '../db/database.js';
import type { CredentialCache } from './credentials/credential.cache.js';
import type { Keyring } from './shared/keyring.js';
import type { NodeWaiter } from './nodes/node-waiter.js';

/** Who is acting. Reseller-facing use cases are scoped by it; a missing scope does not type-check. */
export type Actor =
  /** An operator key, or an operator user signed in with login and password (`userId`). */
  | { kind: 'operator'; keyId: number | null; userId?: number }
  | { kind: 'reseller'; resellerId: number }
  | { kind: 'public'; ip: string }
  /** A portal user (SaaS sign-up) signed in with login and password: sees only what they own. */
  | { kind: 'user'; userId: number }
  /** A hosting node's agent (its node token): sees and reports on its own node's objects only. */
  | { kind: 'node'; nodeId: number }
  | { kind: 'system' };

/** The little the core logs with; both pino and Fastify's request loggers fit. */
export interface CoreLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface CoreSettings {
  publicUrl: string;
  relayHosts: string[];
  relayPriorityStep: number;
  /** Keyed digests (captcha answers) need a secret that survives restarts; kept sealed in the database. */
  secret: string;
  /** The master keys (from outside the database) that seal the secrets the server reads back. */
  keyring: Keyring;
  /** Outbound webhooks: per-delivery time limit, and whether private/loopback targets are allowed. */
  webhookTimeoutMs: number;
  webhookAllowPrivate: boolean;
  /** Resolves webhook host names; the system resolver when absent (tests hand in their own DNS). */
  webhookResolveHost?: (host: string) => Promise<{ address: string; family: 4 | 6 }[]>;
  /** The portal database name Odoo-style RPC clients send as `db`. */
  rpcDb: string;
  /** Family renewal: how long after a parent subscription ends its successor still takes over its children. */
  familyRenewalGapSeconds?: number;
  /** CRM user tokens expire after this long unused (sliding); core/end-users has the default. */
  userTokenIdleSeconds?: number;
  /** Hosting nodes: health and the intervals handed to agents; core/nodes has the defaults. */
  nodes?: { unhealthySeconds?: number; heartbeatSeconds?: number; usageSeconds?: number; archiveDays?: number };
}

export interface Ctx {
  db: Executor;
  actor: Actor;
  clock: () => Date;
  settings: CoreSettings;
  log: CoreLogger;
  /** The request being served (its id and the caller's address), recorded in the audit log. */
  requestId?: string;
  ip?: string;
  /** The credential behind an actor that has none of its own (a CRM API token), scoping idempotency keys. */
  credential?: string;
  /** Verified credentials of this process (ADR 0015); without it every request asks the database. */
  credentials?: CredentialCache;
  /** Wakes this process's long-polling agents when their node changes; without it they poll. */
  nodeWaiter?: NodeWaiter;
  /** A consistent copy of the embedded database this process holds (absent on PostgreSQL). */
  embeddedBackup?: () => Promise<Buffer>;
}

/** Runs fn in a transaction, reusing the caller's when there already is one. */
export async function inTransaction<T>(ctx: Ctx, fn: (tx: Ctx) => Promise<T>): Promise<T> {
  if (ctx.db.isTransaction) return fn(ctx);
  return ctx.db.transaction().execute((trx) => fn({ ...ctx, db: trx }));
}

/** The reseller a reseller-facing call is scoped to; operators see everything. */
export type TenantScope = { resellerId: number } | { all: true };

export function scopeOf(actor: Actor): TenantScope {
  if (actor.kind === 'reseller') return { resellerId: actor.resellerId };
  if (actor.kind === 'operator' || actor.kind === 'system') return { all: true };
  throw new Error(`a ${actor.kind} actor has no tenant scope`);
}

/** What the composition root hands every facade: everything a Ctx needs except who is acting. */
export type CoreDeps = Omit<Ctx, 'actor'>;

/** What a door knows of the request it serves; a Fastify request fits as it is. */
export interface RequestOrigin {
  id: string;
  ip: string;
}

export function ctxFor(deps: CoreDeps, actor: Actor, log?: CoreLogger, origin?: RequestOrigin): Ctx {
  // Every field by name rather than `{ ...deps }`: this runs twice per request, and under the load of
  // bench row 1 the spread copies took about twice the scavenge time per request and promoted up to
  // twice the bytes (docs/benchmarks.md, "the tail of rows 1 and 13"). The type makes a new Ctx field
  // a compile error here until it is copied.
  const ctx: { [K in keyof Required<Ctx>]: Ctx[K] } = {
    db: deps.db,
    actor,
    clock: deps.clock,
    settings: deps.settings,
    log: log ?? deps.log,
    requestId: origin ? origin.id : deps.requestId,
    ip: origin ? origin.ip : deps.ip,
    credential: deps.credential,
    credentials: deps.credentials,
    nodeWaiter: deps.nodeWaiter,
    embeddedBackup: deps.embeddedBackup,
  };
  return ctx;
}
