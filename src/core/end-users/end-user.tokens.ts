import { AppError } from '../../errors/app-error.js';
import { recordAudit } from '../audit/audit.service.js';
import { inTransaction, type Ctx } from '../context.js';
import { sha256Hex } from '../shared/secrets.js';
import * as repo from './end-user.repository.js';

/** How long a CRM user token lives without being used, unless HOSTPLANE_CRM_TOKEN_IDLE_SECONDS says otherwise. */
export const DEFAULT_USER_TOKEN_IDLE_SECONDS = 30 * 86_400;
/** Each use extends the token, but its last use is written at most this often: not a write per request. */
export const USER_TOKEN_TOUCH_SECONDS = 60;

const idleSeconds = (ctx: Ctx) => ctx.settings.userTokenIdleSeconds ?? DEFAULT_USER_TOKEN_IDLE_SECONDS;

/**
 * The user a Bearer access token belongs to, or unauthenticated: unknown, revoked (logout, an
 * operator) and idle longer than the configured time are refused alike, with their own reason.
 */
export async function authenticateUserToken(ctx: Ctx, token: string | undefined): Promise<number> {
  if (!token) throw new AppError('unauthenticated', 'Not authorized: no user token given');
  const now = ctx.clock();
  const idleMs = idleSeconds(ctx) * 1000;
  const found = token.length <= 200 ? await repo.useUserToken(ctx.db, sha256Hex(token), now, new Date(now.getTime() - USER_TOKEN_TOUCH_SECONDS * 1000), new Date(now.getTime() - idleMs)) : undefined;
  if (!found) throw new AppError('unauthenticated', 'Not authorized: invalid user token');
  if (now.getTime() - (found.last_used_at ?? found.created_at).getTime() >= idleMs) throw new AppError('unauthenticated', 'Not authorized: the user token has expired; sign in again');
  return found.user_id;
}

/** `POST /api/v1/users/logout`: the token the request came with stops working. */
export async function logoutEndUser(ctx: Ctx, token: string): Promise<void> {
  if (ctx.actor.kind !== 'user') throw new AppError('unauthenticated', 'Not authorized: user token required');
  const userId = ctx.actor.userId;
  await inTransaction(ctx, async (tx) => {
    const revoked = await repo.revokeUserTokenByDigest(tx.db, userId, sha256Hex(token), tx.clock());
    if (revoked) await recordAudit(tx, { action: 'user.logged_out', targetType: 'user', targetId: userId, resellerId: null, after: { access_token_id: revoked.id } });
  });
}

export interface RevokedUserTokens {
  user_id: number;
  email: string;
  revoked: number;
}

/** An operator ends every CRM session of a user (by id or email): each of their tokens stops working. */
export async function revokeUserTokens(ctx: Ctx, ref: number | string): Promise<RevokedUserTokens> {
  if (ctx.actor.kind !== 'operator' && ctx.actor.kind !== 'system') throw new AppError('forbidden', "only operators revoke users' tokens");
  const byEmail = typeof ref === 'string';
  // A NUL or an overlong address names nobody; the database is never asked about it.
  const holder = byEmail && (ref.length > 254 || ref.includes('\u0000')) ? undefined : await repo.findTokenHolder(ctx.db, byEmail ? { email: ref.trim() } : { id: ref });
  if (!holder) throw AppError.notFound('user');
  return inTransaction(ctx, async (tx) => {
    const revoked = await repo.revokeUserTokens(tx.db, holder.id, tx.clock());
    if (revoked > 0) await recordAudit(tx, { action: 'user.tokens_revoked', targetType: 'user', targetId: holder.id, resellerId: null, after: { revoked_tokens: revoked } });
    return { user_id: holder.id, email: holder.email ?? holder.login, revoked };
  });
}
