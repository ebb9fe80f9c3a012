import { AppError } from '../../errors/app-error.js';
import { recordAudit } from '../audit/audit.service.js';
import { inTransaction, type Actor, type Ctx } from '../context.js';
import { digestsEqual, randomToken, sha256Hex } from '../shared/secrets.js';
import * as repo from './credential.repository.js';

const OPERATOR_KEY_PREFIX = 'hpo_';

export interface IssuedOperatorKey {
  id: number;
  name: string;
  /** Shown once; only its digest is stored. */
  key: string;
}

export async function createOperatorKey(ctx: Ctx, name: string): Promise<IssuedOperatorKey> {
  const trimmed = name.trim();
  if (!trimmed || trimmed.length > 200) throw AppError.validation({ name: ["can't be blank"] });
  const key = OPERATOR_KEY_PREFIX + randomToken(32);
  return inTransaction(ctx, async (tx) => {
    const id = await repo.insertOperatorKey(tx.db, trimmed, sha256Hex(key), tx.clock());
    await recordAudit(tx, { action: 'operator_key.created', targetType: 'operator_key', targetId: id, resellerId: null, after: { name: trimmed } });
    return { id, name: trimmed, key };
  });
}

export interface OperatorKey {
  id: number;
  name: string;
  created_at: Date;
  revoked_at: Date | null;
}

function requireOperator(ctx: Ctx): void {
  if (ctx.actor.kind !== 'operator' && ctx.actor.kind !== 'system') throw new AppError('forbidden', 'only operators manage operator keys');
}

/** Every operator key, revoked ones too (with when), never the key or its digest. */
export async function listOperatorKeys(ctx: Ctx): Promise<OperatorKey[]> {
  requireOperator(ctx);
  return repo.listOperatorKeys(ctx.db);
}

/**
 * Revokes a key: the next request signed with it is refused. The key signing this very request is
 * refused instead, so an operator cannot lock their own tool out by a slip; they revoke it with
 * another key or from the console. Revoking a revoked key changes nothing and answers the same row.
 */
export async function revokeOperatorKey(ctx: Ctx, id: number): Promise<OperatorKey> {
  requireOperator(ctx);
  if (ctx.actor.kind === 'operator' && ctx.actor.keyId === id) {
    throw new AppError('invalid_state', `this request is signed with operator key ${id}; revoke it with another key or from the console`, { reason: 'own_key' });
  }
  return inTransaction(ctx, async (tx) => {
    await noteCredentialChange(tx);
    const revoked = await repo.revokeOperatorKey(tx.db, id, tx.clock());
    if (!revoked) {
      const existing = await repo.findOperatorKey(tx.db, id);
      if (!existing) throw AppError.notFound('operator key');
      return existing;
    }
    await recordAudit(tx, { action: 'operator_key.revoked', targetType: 'operator_key', targetId: id, resellerId: null, before: { revoked_at: null }, after: { revoked_at: revoked.revoked_at } });
    return revoked;
  });
}

export async function countOperatorKeys(ctx: Ctx): Promise<number> {
  return repo.countActiveOperatorKeys(ctx.db);
}

/** Returns the key's id. Lookup is by digest, so no secret is ever compared byte by byte. */
export async function authenticateOperator(ctx: Ctx, key: string): Promise<number> {
  if (!key.startsWith(OPERATOR_KEY_PREFIX) || key.length > 200) throw new AppError('unauthenticated', 'invalid operator key');
  const digest = sha256Hex(key);
  const cache = ctx.credentials;
  const cached = cache?.operator(digest);
  if (cached !== undefined) return cached;
  const ticket = cache?.ticket() ?? 0;
  const row = await repo.findActiveOperatorKeyByDigest(ctx.db, digest);
  if (!row) throw new AppError('unauthenticated', 'invalid operator key');
  cache?.putOperator(digest, row.id, ticket);
  return row.id;
}

/**
 * Called inside the transaction of a use case that changes a reseller's token, key or status, or
 * revokes an operator key, before its UPDATE: this process's cache of verified credentials is emptied
 * and stays shut until the database says this very change committed (ADR 0015). Other processes hear
 * of the change from the database's notification alone.
 */
export async function noteCredentialChange(tx: Ctx): Promise<void> {
  const id = tx.credentials?.changing();
  if (id) await repo.tagCredentialChange(tx.db, id);
}

// A digest that never matches, compared when the token is unknown so both paths take the same time.
const NO_MATCH = sha256Hex('no such reseller');

/** Verifies a reseller's token:key pair and that the reseller may use the API now. */
export async function authenticateReseller(ctx: Ctx, apiToken: string, apiKey: string): Promise<number> {
  const digest = sha256Hex(apiKey);
  const cache = ctx.credentials;
  // A cached pair counts only with the very key that was verified; any other key is checked by the database below.
  const cached = cache?.reseller(apiToken);
  if (cached && digestsEqual(digest, cached.keyDigest)) return mayUseApi(cached.status, cached.resellerId);
  const ticket = cache?.ticket() ?? 0;
  // A token no reseller can have (too long, or with a NUL the database cannot compare) is simply unknown.
  const row = apiToken.length <= 200 && !apiToken.includes('\u0000') ? await repo.findResellerCredentials(ctx.db, apiToken) : undefined;
  const ok = digestsEqual(digest, row?.api_key_digest ?? NO_MATCH) && row !== undefined;
  if (!ok || !row || !row.api_key_digest) throw new AppError('unauthenticated', 'invalid API token or key');
  cache?.putReseller(apiToken, { keyDigest: row.api_key_digest, resellerId: row.id, status: row.status }, ticket);
  return mayUseApi(row.status, row.id);
}

function mayUseApi(status: string, resellerId: number): number {
  if (status === 'suspended') throw new AppError('forbidden', 'reseller account is suspended');
  if (status !== 'active') throw new AppError('forbidden', 'reseller account is not approved');
  return resellerId;
}

/**
 * The single key the ApisCP door takes (SOAP `?authkey=`, `Authorization: Bearer`, the cpcmd CLI's
 * HOSTPLANE_API_KEY): an operator key, or a reseller's API token and key joined by a colon
 * (`TOKEN:KEY`), so that a reseller's billing module can paste its credentials into its one "API key"
 * field. Operator keys never contain a colon and API tokens never do either, so the two forms cannot
 * be confused. A reseller that may not use the API now is refused as on the HSP door.
 */
export async function authenticateApiKey(ctx: Ctx, key: string): Promise<Actor> {
  const colon = key.indexOf(':');
  if (colon < 0) return { kind: 'operator', keyId: await authenticateOperator(ctx, key) };
  if (colon === 0 || colon === key.length - 1 || key.length > 401) throw new AppError('unauthenticated', 'invalid API key: use an operator key, or a reseller API token and key as TOKEN:KEY');
  return { kind: 'reseller', resellerId: await authenticateReseller(ctx, key.slice(0, colon), key.slice(colon + 1)) };
}
