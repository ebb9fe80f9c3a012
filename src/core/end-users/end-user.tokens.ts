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

/** What looking a user token up takes: its digest and the moments `withUsedToken` compares its last use with. */
export interface UserTokenLookup {
  digest: string;
  now: Date;
  touchBefore: Date;
  idleSince: Date;
}

/** The look-up of a Bearer access token; unauthenticated when none was given or it cannot be one. */
export function userTokenLookup(ctx: Ctx, token: string | undefined): UserTokenLookup {
  if (!token) throw new AppError('unauthenticated', 'Not authorized: no user token given');
  if (token.length > 200) throw invalidToken();
  const now = ctx.clock();
  return { digest: sha256Hex(token), now, touchBefore: new Date(now.getTime() - USER_TOKEN_TOUCH_SECONDS * 1000), idleSince: new Date(now.getTime() - idleSeconds(ctx) * 1000) };
}

const invalidToken = () => new AppError('unauthenticated', 'Not authorized: invalid user token');

/**
 * The user of a token as its look-up found it (before this use), or unauthenticated: unknown, revoked
 * (logout, an operator) and idle longer than the configured time are refused alike, with their own reason.
 */
export function userOfToken(ctx: Ctx, lookup: UserTokenLookup, found: { user_id: number; created_at: Date; last_used_at: Date | null } | undefined): number {
  if (!found) throw invalidToken();
  if (lookup.now.getTime() - (found.last_used_at ?? found.created_at).getTime() >= idleSeconds(ctx) * 1000) throw new AppError('unauthenticated', 'Not authorized: the user token has expired; sign in again');
  return found.user_id;
}

/** The user a Bearer access token belongs to, or unauthenticated (see userOfToken); records the use. */
export async function authenticateUserToken(ctx: Ctx, token: string | undefined): Promise<number> {
  const lookup = userTokenLookup(ctx, token);
  return userOfToken(ctx, lookup, await repo.useUserToken(ctx.db, lookup.digest, lookup.now, lookup.touchBefore, lookup.idleSince));
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
