import { AppError } from '../../errors/app-error.js';
import { recordAudit } from '../audit/audit.service.js';
import { inTransaction, type Ctx } from '../context.js';
import { randomToken, sha256Hex } from '../shared/secrets.js';
import { parseInput } from '../shared/validation.js';
import * as repo from './api-token.repository.js';
import { createApiTokenInput, type ApiToken } from './api-token.schema.js';

function requireOperator(ctx: Ctx): void {
  if (ctx.actor.kind !== 'operator' && ctx.actor.kind !== 'system') throw new AppError('forbidden', 'only operators manage API tokens');
}

/** The token itself is returned only here; the database keeps its SHA-256 digest. */
export async function createApiToken(ctx: Ctx, raw: unknown): Promise<ApiToken & { token: string }> {
  requireOperator(ctx);
  const input = parseInput(createApiTokenInput, raw);
  const token = randomToken(24);
  const allowed = [...new Set(input.allow)];
  return inTransaction(ctx, async (tx) => {
    const row = await repo.insertApiToken(tx.db, { name: input.name, token_digest: sha256Hex(token), allowed_paths: allowed, created_at: tx.clock() });
    await recordAudit(tx, { action: 'api_token.created', targetType: 'api_token', targetId: row.id, resellerId: null, after: { name: row.name, allowed_paths: row.allowed_paths } });
    return { ...row, token };
  });
}

export async function listApiTokens(ctx: Ctx): Promise<ApiToken[]> {
  requireOperator(ctx);
  return repo.listApiTokens(ctx.db);
}

/** The token stops working at once; revoking a revoked token changes nothing and answers the same row. */
export async function revokeApiToken(ctx: Ctx, id: number): Promise<ApiToken> {
  requireOperator(ctx);
  return inTransaction(ctx, async (tx) => {
    const revoked = await repo.revokeApiToken(tx.db, id, tx.clock());
    if (!revoked) {
      const existing = await repo.findApiToken(tx.db, id);
      if (!existing) throw AppError.notFound('API token');
      return existing;
    }
    await recordAudit(tx, { action: 'api_token.revoked', targetType: 'api_token', targetId: id, resellerId: null, before: { revoked_at: null }, after: { revoked_at: revoked.revoked_at } });
    return revoked;
  });
}

/**
 * Server-to-server calls: the token must exist and list this endpoint. Both failures are
 * `forbidden` with the reason REMP words after "Not authorized: ".
 */
export async function authorizeApiToken(ctx: Ctx, token: string | undefined, path: string): Promise<ApiToken> {
  if (!token) throw new AppError('forbidden', 'Not authorized: no API token given');
  const found = await repo.findLiveApiTokenByDigest(ctx.db, sha256Hex(token));
  if (!found) throw new AppError('forbidden', 'Not authorized: invalid API token');
  if (!found.allowed_paths.includes(path)) throw new AppError('forbidden', `Not authorized: the API token may not call ${path}`);
  return found;
}
