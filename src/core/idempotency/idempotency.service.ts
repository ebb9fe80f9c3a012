import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { sql, type ControlledTransaction } from 'kysely';
import type { Database, Db } from '../../db/database.js';
import { AppError } from '../../errors/app-error.js';
import type { Actor, Ctx } from '../context.js';
import { hmacHex, sha256Hex } from '../shared/secrets.js';
import * as repo from './idempotency.repository.js';

/** How long a key's first response is kept and replayed. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

const KEY_FORMAT = /^[\x20-\x7e]{1,255}$/;

export const IDEMPOTENCY_MESSAGES = {
  badKey: 'Idempotency-Key must be 1 to 255 printable ASCII characters',
  mismatch: 'Idempotency-Key was already used with a different request',
  inProgress: 'a request with this Idempotency-Key is still in progress',
} as const;

/** A mutating request carrying an Idempotency-Key, as the door saw it. */
export interface IdempotentRequest {
  key: string;
  method: string;
  /** The route pattern (`/v1/clients/:id`): a key is scoped to its credential, method and route. */
  route: string;
  /** The path actually requested, kept for operators reading the table. */
  path: string;
  params: unknown;
  query: unknown;
  body: unknown;
}

/** The key taken by this request. */
export interface IdempotencyClaim {
  readonly scope: string;
  readonly keyDigest: string;
  readonly requestHash: string;
  readonly cipherKey: Buffer;
}

/**
 * A request that holds its key. The key row is written in a transaction that stays open while the
 * request runs: the use case runs in `ctx` (on that transaction, which `inTransaction` reuses), so its
 * change and the stored answer commit together or not at all. End it with finishIdempotentRequest or
 * releaseIdempotentRequest; until then it holds a database connection (on PGlite, the only one).
 */
export interface IdempotentRun {
  readonly ctx: Ctx;
  readonly claim: IdempotencyClaim;
  readonly trx: ControlledTransaction<Database>;
  ended: boolean;
}

export interface StoredResponse {
  status: number;
  contentType: string | null;
  body: string;
}

export type IdempotencyOutcome = { kind: 'run'; run: IdempotentRun } | { kind: 'replay'; response: StoredResponse };

function credentialOf(actor: Actor): string {
  if (actor.kind === 'reseller') return `reseller:${actor.resellerId}`;
  if (actor.kind === 'operator') return `operator-key:${actor.keyId ?? 'none'}`;
  // Public requests have no credential to scope a key to; the doors do not offer keys there.
  throw new AppError('forbidden', 'Idempotency-Key needs an authenticated request');
}

/**
 * JSON with object keys sorted, so `{"a":1,"b":2}` and `{"b":2,"a":1}` are one request. Iterative:
 * bodies are attacker-shaped and deep nesting must not overflow the stack.
 */
export function canonicalJson(value: unknown): string {
  type Task = { raw: string } | { value: unknown };
  const out: string[] = [];
  const stack: Task[] = [{ value }];
  while (stack.length > 0) {
    const task = stack.pop()!;
    if ('raw' in task) {
      out.push(task.raw);
      continue;
    }
    const v = task.value;
    const tasks: Task[] = [];
    if (Array.isArray(v)) {
      tasks.push({ raw: '[' });
      v.forEach((item, i) => tasks.push(...(i > 0 ? [{ raw: ',' }] : []), { value: item }));
      tasks.push({ raw: ']' });
    } else if (v !== null && typeof v === 'object') {
      tasks.push({ raw: '{' });
      Object.keys(v)
        .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
        .sort()
        .forEach((k, i) => tasks.push({ raw: `${i > 0 ? ',' : ''}${JSON.stringify(k)}:` }, { value: (v as Record<string, unknown>)[k] }));
      tasks.push({ raw: '}' });
    } else {
      out.push(v === undefined ? 'null' : JSON.stringify(v));
      continue;
    }
    for (let i = tasks.length - 1; i >= 0; i--) stack.push(tasks[i]!);
  }
  return out.join('');
}

// Stored bodies can hold credentials shown only once (a new reseller's API key), and every other
// secret is kept as a digest; so a body is encrypted under a key derived from the client's
// Idempotency-Key, which is itself stored only as a digest. Reading one back takes the key.
function cipherKeyFor(secret: string, scope: string, key: string): Buffer {
  return createHmac('sha256', secret).update(`idempotency-body\0${scope}\0${key}`).digest();
}

function seal(cipherKey: Buffer, plain: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', cipherKey, iv);
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
}

function open(cipherKey: Buffer, sealed: string): string {
  const raw = Buffer.from(sealed, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', cipherKey, raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
}

/** Where a failed request's writes are undone to, keeping the key row it claimed. */
const CLAIMED = 'idempotency_claimed';

/**
 * The first request with a key runs (`run`, in a transaction of its own that holds the key); a repeat
 * of it gets the first response back (`replay`). Throws validation_failed for a malformed key or a key
 * reused for a different request, and conflict (409) for a key a request died holding before keys
 * were kept in the request's transaction. `ctx.db` must be the root handle, not a transaction.
 */
export async function beginIdempotentRequest(ctx: Ctx, request: IdempotentRequest): Promise<IdempotencyOutcome> {
  if (!KEY_FORMAT.test(request.key)) throw new AppError('validation_failed', IDEMPOTENCY_MESSAGES.badKey);
  if (ctx.db.isTransaction) throw new Error('an idempotent request opens its own transaction');
  const method = request.method.toUpperCase();
  const scope = `${ctx.credential ?? credentialOf(ctx.actor)} ${method} ${request.route}`;
  const keyDigest = hmacHex(ctx.settings.secret, `idempotency-key\0${request.key}`);
  const requestHash = sha256Hex(canonicalJson({ method, route: request.route, params: request.params ?? null, query: request.query ?? null, body: request.body ?? null }));
  const claim: IdempotencyClaim = { scope, keyDigest, requestHash, cipherKey: cipherKeyFor(ctx.settings.secret, scope, request.key) };

  const trx = await (ctx.db as Db).startTransaction().execute();
  try {
    // A row deleted between our insert and our read (expired, cleaned up) is free again: retry.
    for (let attempt = 0; attempt < 3; attempt++) {
      const now = ctx.clock();
      const row = { scope, key_digest: keyDigest, method, path: request.path.slice(0, 2000), request_hash: requestHash, created_at: now, expires_at: new Date(now.getTime() + IDEMPOTENCY_TTL_MS) };
      if (await repo.claimKey(trx, row, now)) {
        await sql`savepoint ${sql.raw(CLAIMED)}`.execute(trx);
        return { kind: 'run', run: { ctx: { ...ctx, db: trx }, claim, trx, ended: false } };
      }
      const existing = await repo.findLiveKey(trx, scope, keyDigest, now);
      if (!existing) continue;
      if (existing.request_hash !== requestHash) throw new AppError('validation_failed', IDEMPOTENCY_MESSAGES.mismatch);
      if (existing.state === 'in_progress' || existing.response_status === null || existing.response_body === null) {
        throw new AppError('conflict', IDEMPOTENCY_MESSAGES.inProgress, { status: 409 });
      }
      const response = { status: existing.response_status, contentType: existing.response_content_type, body: open(claim.cipherKey, existing.response_body) };
      await trx.rollback().execute();
      return { kind: 'replay', response };
    }
    throw new AppError('conflict', IDEMPOTENCY_MESSAGES.inProgress, { status: 409 });
  } catch (e) {
    if (!trx.isCommitted && !trx.isRolledBack) await trx.rollback().execute().catch(() => {});
    throw e;
  }
}

/** Server failures and rate limits are not an answer to the request: the key is freed for a retry. */
export function isFinalStatus(status: number): boolean {
  return status < 500 && status !== 429;
}

/**
 * Ends the request's transaction once its response is known, before the response leaves:
 * - a success (below 400) commits the change together with its stored answer; throws if the commit
 *   fails (the caller must then not report success: the change may not be there);
 * - a final client error (4xx but 429) undoes whatever the use case wrote and commits only its stored
 *   answer, so a retry gets the same error without running again;
 * - anything else (5xx, 429) rolls back everything, the key included: a retry runs.
 * `answer` is null when the response cannot be kept (a stream): a success then commits its change
 * without the key, which a retry would run again.
 */
export async function finishIdempotentRequest(run: IdempotentRun, status: number, answer: { contentType: string | null; body: string } | null): Promise<void> {
  if (run.ended) return;
  if (!isFinalStatus(status)) return releaseIdempotentRequest(run);
  const { trx, claim } = run;
  run.ended = true;
  try {
    if (status >= 400) await sql`rollback to savepoint ${sql.raw(CLAIMED)}`.execute(trx);
    if (answer) {
      const sealed = { status, contentType: answer.contentType, body: seal(claim.cipherKey, answer.body) };
      if (!(await repo.storeResponse(trx, claim.scope, claim.keyDigest, claim.requestHash, sealed))) throw new Error('the idempotency key row of this transaction is gone');
    } else {
      await repo.releaseKey(trx, claim.scope, claim.keyDigest, claim.requestHash);
    }
    await trx.commit().execute();
  } catch (e) {
    // A failed COMMIT leaves Kysely's transaction open on its connection: end it to free the connection.
    if (!trx.isCommitted && !trx.isRolledBack) await trx.rollback().execute().catch(() => {});
    throw e;
  }
}

/** Rolls the request back, its key included: the key is free for a retry. Safe to call twice. */
export async function releaseIdempotentRequest(run: IdempotentRun): Promise<void> {
  if (run.ended) return;
  run.ended = true;
  if (!run.trx.isCommitted && !run.trx.isRolledBack) await run.trx.rollback().execute();
}
