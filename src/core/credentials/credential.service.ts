import { AppError } from '../../errors/app-error.js';
import { recordAudit } from '../audit/audit.service.js';
import { inTransaction, type Ctx } from '../context.js';
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

export async function countOperatorKeys(ctx: Ctx): Promise<number> {
  return repo.countActiveOperatorKeys(ctx.db);
}

/** Returns the key's id. Lookup is by digest, so no secret is ever compared byte by byte. */
export async function authenticateOperator(ctx: Ctx, key: string): Promise<number> {
  if (!key.startsWith(OPERATOR_KEY_PREFIX) || key.length > 200) throw new AppError('unauthenticated', 'invalid operator key');
  const row = await repo.findActiveOperatorKeyByDigest(ctx.db, sha256Hex(key));
  if (!row) throw new AppError('unauthenticated', 'invalid operator key');
  return row.id;
}

// A digest that never matches, compared when the token is unknown so both paths take the same time.
const NO_MATCH = sha256Hex('no such reseller');

/** Verifies a reseller's token:key pair and that the reseller may use the API now. */
export async function authenticateReseller(ctx: Ctx, apiToken: string, apiKey: string): Promise<number> {
  // A token no reseller can have (too long, or with a NUL the database cannot compare) is simply unknown.
  const row = apiToken.length <= 200 && !apiToken.includes('\u0000') ? await repo.findResellerCredentials(ctx.db, apiToken) : undefined;
  const ok = digestsEqual(sha256Hex(apiKey), row?.api_key_digest ?? NO_MATCH) && row !== undefined;
  if (!ok || !row) throw new AppError('unauthenticated', 'invalid API token or key');
  if (row.status === 'suspended') throw new AppError('forbidden', 'reseller account is suspended');
  if (row.status !== 'active') throw new AppError('forbidden', 'reseller account is not approved');
  return row.id;
}
