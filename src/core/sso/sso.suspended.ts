import type { Ctx } from '../context.js';
import { sha256Hex } from '../shared/secrets.js';
import { readAuthScopes } from '../sites/site-scopes.js';
import * as repo from './sso.repository.js';

/**
 * ApisCP keeps a suspended site's panel login open (`[auth] suspended_login`, on by default) so its
 * administrator learns why (`show_suspension_reason`): the client area shows only that notice and
 * refuses everything else. Every other session rule stays findSession's: this is the one way past it.
 */

export interface SuspendedSiteSession {
  user_id: number;
  client_id: number;
  login: string;
  role: string;
  expires_at: Date;
  /** The reason given at suspension; null when there was none or show_suspension_reason is off. */
  reason: string | null;
}

/** A live session of a suspended site's administrator, when cp.config auth suspended_login allows it. */
export async function getSuspendedSiteSession(ctx: Ctx, token: string): Promise<SuspendedSiteSession | undefined> {
  if (!token || token.length > 200) return undefined;
  const row = await repo.findSuspendedSiteSession(ctx.db, sha256Hex(token), ctx.clock());
  if (!row || row.client_id === null) return undefined;
  const auth = await readAuthScopes(ctx);
  if (!auth.suspended_login) return undefined;
  return { user_id: row.user_id, client_id: row.client_id, login: row.login, role: row.role, expires_at: row.expires_at, reason: auth.show_suspension_reason ? row.suspend_reason : null };
}

/** Whether this user of a suspended client may still sign in: a site's (not an instance's) administrator, while suspended_login is on. */
export async function suspendedSignInAllowed(ctx: Ctx, user: { role: string; is_instance: boolean }): Promise<boolean> {
  if (user.is_instance || user.role !== 'client_admin') return false;
  return (await readAuthScopes(ctx)).suspended_login;
}
