import { AppError } from '../../errors/app-error.js';
import { recordAudit } from '../audit/audit.service.js';
import { inTransaction, type Ctx } from '../context.js';
import { loginBuckets, reserveLoginAttempt } from '../rate-limits/rate-limit.service.js';
import { verifyPasswordOrDummy } from '../shared/passwords.js';
import { sha256Hex } from '../shared/secrets.js';
import { findSession, revokeSession } from '../sso/sso.repository.js';
import { openSession } from '../sso/sso.service.js';
import * as repo from './account.repository.js';

// Accounts are users that belong to no client: operator users (who sign in to the web console and
// the SaaS portal) and portal sign-ups. Every door checks their passwords here.

/**
 * The account for a good login and password, undefined otherwise. An unknown login costs the same
 * memory-hard hash as a known one, so timing does not tell which logins exist. It counts nothing:
 * every sign-in reserves its try with `reserveLoginAttempt` before calling it.
 */
export async function checkAccountPassword(ctx: Ctx, login: unknown, password: unknown): Promise<repo.AccountUser | undefined> {
  if (typeof login !== 'string' || typeof password !== 'string' || login.length > 254 || password.length > 1024) return undefined;
  const user = await repo.findAccountByLogin(ctx.db, login);
  const ok = await verifyPasswordOrDummy(password, user && !user.disabled_at ? user.password_hash : null);
  return ok ? user : undefined;
}

// ---------------------------------------------------------------------------------------------
// Operator sessions: the web console signs an operator user in with login and password.

export const OPERATOR_SESSION_TTL_SECONDS = 12 * 60 * 60;

export interface OperatorSession {
  /** The cookie value; only its digest is stored. */
  token: string;
  userId: number;
  login: string;
  expiresAt: Date;
}

export interface OperatorSessionView {
  userId: number;
  login: string;
  expiresAt: Date;
}

/**
 * An operator user signs in. Unknown login and wrong password are one answer; after too many
 * failures the login (or the address) waits. Success and failure are both in the audit log.
 */
export async function loginOperator(ctx: Ctx, input: { login: unknown; password: unknown }): Promise<OperatorSession> {
  const { login, password } = input;
  const bad = new AppError('unauthenticated', 'wrong login or password');
  if (typeof login !== 'string' || typeof password !== 'string' || login.length < 1 || login.length > 254 || password.length < 1 || password.length > 1024) throw bad;
  const attempt = await reserveLoginAttempt(ctx, loginBuckets.user(login, ctx.ip));
  const wait = attempt.waitSeconds;
  if (wait > 0) throw new AppError('rate_limited', `too many failed sign-ins; try again in ${wait} s`, { retryAfterSeconds: wait });

  const user = await checkAccountPassword(ctx, login, password);
  if (!user || user.role !== 'operator') {
    // The reserved try stays counted: that is the failure.
    await inTransaction(ctx, async (tx) => {
      await recordAudit(tx, { action: 'operator.login_failed', targetType: 'user', targetId: user?.id ?? 0, resellerId: null, actor: { kind: 'public', id: null }, after: { login } });
    });
    throw bad;
  }
  await attempt.succeeded();
  return inTransaction(ctx, async (tx) => {
    const { token, expiresAt } = await openSession(tx, { userId: user.id, clientId: null, ttlSeconds: OPERATOR_SESSION_TTL_SECONDS });
    await recordAudit(tx, { action: 'operator.logged_in', targetType: 'user', targetId: user.id, resellerId: null, actor: { kind: 'user', id: user.id }, after: { login: user.login, session_expires_at: expiresAt } });
    return { token, userId: user.id, login: user.login, expiresAt };
  });
}

/** The operator user behind a session cookie, or undefined (unknown, expired, revoked, not an operator). */
export async function getOperatorSession(ctx: Ctx, token: string): Promise<OperatorSessionView | undefined> {
  if (!token || token.length > 200) return undefined;
  const row = await findSession(ctx.db, sha256Hex(token), ctx.clock());
  if (!row || row.role !== 'operator' || row.client_id !== null) return undefined;
  return { userId: row.user_id, login: row.login, expiresAt: row.expires_at };
}

/** Ends a session; the cookie stops working at once. */
export async function logoutOperator(ctx: Ctx, token: string): Promise<void> {
  const session = await getOperatorSession(ctx, token);
  if (!session) return;
  await inTransaction(ctx, async (tx) => {
    await revokeSession(tx.db, sha256Hex(token), tx.clock());
    await recordAudit(tx, { action: 'operator.logged_out', targetType: 'user', targetId: session.userId, resellerId: null, actor: { kind: 'user', id: session.userId } });
  });
}
