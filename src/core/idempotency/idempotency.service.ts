import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
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

/** The key taken by this request; finish or release it once the response is known. */
export interface IdempotencyClaim {
  readonly scope: string;
  readonly keyDigest: string;
  readonly requestHash: string;
  readonly cipherKey: Buffer;
}

export interface StoredResponse {
  status: number;
  contentType: string | null;
  body: string;
}

export type IdempotencyOutcome = { kind: 'run'; claim: IdempotencyClaim } | { kind: 'replay'; response: StoredResponse };

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

/**
 * The first request with a key runs (`run`); a repeat of it gets the first response back (`replay`).
 * Throws validation_failed for a malformed key or a key reused for a different request, and
 * conflict (409) while the first request is still running.
 */
export async function beginIdempotentRequest(ctx: Ctx, request: IdempotentRequest): Promise<IdempotencyOutcome> {
  if (!KEY_FORMAT.test(request.key)) throw new AppError('validation_failed', IDEMPOTENCY_MESSAGES.badKey);
  const method = request.method.toUpperCase();
  const scope = `${ctx.credential ?? credentialOf(ctx.actor)} ${method} ${request.route}`;
  const keyDigest = hmacHex(ctx.settings.secret, `idempotency-key\0${request.key}`);
  const requestHash = sha256Hex(canonicalJson({ method, route: request.route, params: request.params ?? null, query: request.query ?? null, body: request.body ?? null }));
  const claim: IdempotencyClaim = { scope, keyDigest, requestHash, cipherKey: cipherKeyFor(ctx.settings.secret, scope, request.key) };

  // A row released between our insert and our read (its first request failed) is free again: retry.
  for (let attempt = 0; attempt < 3; attempt++) {
    const now = ctx.clock();
    const row = { scope, key_digest: keyDigest, method, path: request.path.slice(0, 2000), request_hash: requestHash, created_at: now, expires_at: new Date(now.getTime() + IDEMPOTENCY_TTL_MS) };
    if (await repo.claimKey(ctx.db, row, now)) return { kind: 'run', claim };
    const existing = await repo.findLiveKey(ctx.db, scope, keyDigest, now);
    if (!existing) continue;
    if (existing.request_hash !== requestHash) throw new AppError('validation_failed', IDEMPOTENCY_MESSAGES.mismatch);
    if (existing.state === 'in_progress' || existing.response_status === null || existing.response_body === null) {
      throw new AppError('conflict', IDEMPOTENCY_MESSAGES.inProgress, { status: 409 });
    }
    return { kind: 'replay', response: { status: existing.response_status, contentType: existing.response_content_type, body: open(claim.cipherKey, existing.response_body) } };
  }
  throw new AppError('conflict', IDEMPOTENCY_MESSAGES.inProgress, { status: 409 });
}

/** Server failures and rate limits are not an answer to the request: the key is freed for a retry. */
export function isFinalStatus(status: number): boolean {
  return status < 500 && status !== 429;
}

/** Keeps the response for replay, or frees the key when the response is not final. */
export async function finishIdempotentRequest(ctx: Ctx, claim: IdempotencyClaim, response: StoredResponse): Promise<void> {
  if (!isFinalStatus(response.status)) return releaseIdempotentRequest(ctx, claim);
  await repo.storeResponse(ctx.db, claim.scope, claim.keyDigest, claim.requestHash, { ...response, body: seal(claim.cipherKey, response.body) });
}

/** Frees a key whose request ended without a response worth keeping. */
export async function releaseIdempotentRequest(ctx: Ctx, claim: IdempotencyClaim): Promise<void> {
  await repo.releaseKey(ctx.db, claim.scope, claim.keyDigest, claim.requestHash);
}
