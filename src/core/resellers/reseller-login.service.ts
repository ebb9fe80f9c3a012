import { AppError } from '../../errors/app-error.js';
import { recordAudit } from '../audit/audit.service.js';
import { inTransaction, type Ctx } from '../context.js';
import { authenticateReseller } from '../credentials/credential.service.js';
import { loginBuckets, reserveLoginAttempt } from '../rate-limits/rate-limit.service.js';
import { uniqueViolation } from '../shared/db-errors.js';
import { hashPassword, verifyPasswordOrDummy } from '../shared/passwords.js';
import { randomToken, sha256Hex } from '../shared/secrets.js';
import { parseInput } from '../shared/validation.js';
import * as repo from './reseller-login.repository.js';
import { findResellerById } from './reseller.repository.js';
import { resellerLoginInput, type Reseller, type ResellerLoginInput } from './reseller.schema.js';

// A reseller runs its business from the web console: it signs in with the login an operator set
// (on approval or later) or with its API token and key, and gets a server-side session.

export const RESELLER_SESSION_TTL_SECONDS = 12 * 60 * 60;

/** A login ready to store: checked, and its password already hashed (the slow part, outside any transaction). */
export interface PreparedResellerLogin {
  login: string;
  passwordHash: string;
}

export async function prepareResellerLogin(raw: ResellerLoginInput | unknown): Promise<PreparedResellerLogin> {
  const input = parseInput(resellerLoginInput, raw);
  return { login: input.login, passwordHash: await hashPassword(input.password) };
}

/**
 * Creates or replaces the reseller's console user, inside the caller's transaction. Sessions opened
 * with the old password end: a reset is how an operator locks out whoever learnt it.
 */
export async function storeResellerLogin(tx: Ctx, reseller: Reseller, prepared: PreparedResellerLogin): Promise<{ user_id: number; login: string }> {
  const existing = await repo.findResellerUser(tx.db, reseller.id);
  if (await repo.loginTaken(tx.db, prepared.login, existing?.id)) throw AppError.validation({ login: ['has already been taken'] });
  let userId: number;
  try {
    if (existing) {
      await repo.updateResellerUser(tx.db, existing.id, prepared);
      userId = existing.id;
    } else {
      userId = await repo.insertResellerUser(tx.db, { resellerId: reseller.id, login: prepared.login, name: reseller.name, email: reseller.email_address, passwordHash: prepared.passwordHash, now: tx.clock() });
    }
  } catch (e) {
    // Two operators choosing the same login at once: the unique index decides.
    if (uniqueViolation(e) === 'users_login_key') throw AppError.validation({ login: ['has already been taken'] });
    throw e;
  }
  await repo.revokeResellerSessions(tx.db, reseller.id, 'password', tx.clock());
  await recordAudit(tx, {
    action: 'reseller.login_set',
    targetType: 'reseller',
    targetId: reseller.id,
    resellerId: reseller.id,
    ...(existing ? { before: { login: existing.login } } : {}),
    after: { login: prepared.login, password_changed: true },
  });
  return { user_id: userId, login: prepared.login };
}

/** An operator sets or resets an approved reseller's console login and password. */
export async function setResellerLogin(ctx: Ctx, resellerId: number, raw: unknown): Promise<{ user_id: number; login: string }> {
  if (ctx.actor.kind !== 'operator') throw new AppError('forbidden', 'only an operator sets a reseller login');
  const prepared = await prepareResellerLogin(raw);
  return inTransaction(ctx, async (tx) => {
    const reseller = await findResellerById(tx.db, resellerId);
    if (!reseller) throw AppError.notFound('reseller');
    if (reseller.status === 'pending') throw new AppError('invalid_state', 'reseller is pending; approve it first');
    return storeResellerLogin(tx, reseller, prepared);
  });
}

export interface ResellerSession {
  /** The cookie value; only its digest is stored. */
  token: string;
  resellerId: number;
  expiresAt: Date;
}

export interface ResellerSessionView {
  resellerId: number;
  resellerName: string;
  username: string;
  login: string | null;
  method: 'password' | 'key';
  expiresAt: Date;
}

export type ResellerSignIn = { login?: unknown; password?: unknown; token?: unknown; key?: unknown };

const badLogin = () => new AppError('unauthenticated', 'wrong login or password');
const badKey = () => new AppError('unauthenticated', 'wrong API token or key');
const text = (v: unknown, max: number): v is string => typeof v === 'string' && v.length >= 1 && v.length <= max;

/**
 * A reseller signs in with its login and password, or its API token and key. Wrong answers are
 * one answer per kind, counted per account and per address; a suspended or unapproved reseller is
 * refused even with the right ones. Success and failure are both in the audit log.
 */
export async function loginReseller(ctx: Ctx, input: ResellerSignIn): Promise<ResellerSession> {
  const byKey = input.token !== undefined || input.key !== undefined;
  if (byKey ? !text(input.token, 200) || !text(input.key, 200) : !text(input.login, 254) || !text(input.password, 1024)) throw byKey ? badKey() : badLogin();
  const buckets = byKey ? loginBuckets.resellerToken(input.token as string, ctx.ip) : loginBuckets.user(input.login as string, ctx.ip);
  const attempt = await reserveLoginAttempt(ctx, buckets);
  const wait = attempt.waitSeconds;
  if (wait > 0) throw new AppError('rate_limited', `too many failed sign-ins; try again in ${wait} s`, { retryAfterSeconds: wait });

  // A wrong answer keeps the reserved try; a right one gives it back, even when the reseller may not sign in now.
  const fail = async (resellerId: number | null, err: AppError): Promise<never> => {
    await inTransaction(ctx, async (tx) => {
      await recordAudit(tx, {
        action: 'reseller.login_failed',
        targetType: 'reseller',
        targetId: resellerId ?? 0,
        resellerId,
        actor: { kind: 'public', id: null },
        after: byKey ? { method: 'key' } : { method: 'password', login: input.login as string },
      });
    });
    throw err;
  };

  let resellerId: number;
  let userId: number | null = null;
  if (byKey) {
    try {
      resellerId = await authenticateReseller(ctx, input.token as string, input.key as string);
    } catch (e) {
      // Only a wrong token or key is a failed guess; a suspended reseller knew its key, and a
      // database fault is no answer at all (it surfaces as the door's 503, uncounted).
      if (e instanceof AppError && e.code === 'unauthenticated') return fail(null, badKey());
      await attempt.succeeded().catch(() => {});
      throw e;
    }
    await attempt.succeeded();
  } else {
    const user = await repo.findResellerUserByLogin(ctx.db, input.login as string);
    const ok = await verifyPasswordOrDummy(input.password as string, user && !user.disabled_at ? user.password_hash : null);
    if (!user || !ok || user.reseller_id === null) return fail(user?.reseller_id ?? null, badLogin());
    await attempt.succeeded();
    // Only someone who knows the password learns that the account is suspended.
    if (user.status === 'suspended') throw new AppError('forbidden', 'reseller account is suspended');
    if (user.status !== 'active') throw new AppError('forbidden', 'reseller account is not approved');
    resellerId = user.reseller_id;
    userId = user.id;
  }

  return inTransaction(ctx, async (tx) => {
    const now = tx.clock();
    const token = randomToken(32);
    const expiresAt = new Date(now.getTime() + RESELLER_SESSION_TTL_SECONDS * 1000);
    const method = byKey ? 'key' : 'password';
    await repo.insertResellerSession(tx.db, { token_digest: sha256Hex(token), reseller_id: resellerId, user_id: userId, method, expires_at: expiresAt, created_at: now });
    await recordAudit(tx, {
      action: 'reseller.logged_in',
      targetType: 'reseller',
      targetId: resellerId,
      resellerId,
      actor: { kind: 'reseller', id: resellerId },
      after: { method, ...(byKey ? {} : { login: input.login as string }), session_expires_at: expiresAt },
    });
    return { token, resellerId, expiresAt };
  });
}

/** The reseller behind a session cookie, or undefined (unknown, expired, revoked, reseller not active). */
export async function getResellerSession(ctx: Ctx, token: string): Promise<ResellerSessionView | undefined> {
  if (!token || token.length > 200) return undefined;
  const row = await repo.findResellerSession(ctx.db, sha256Hex(token), ctx.clock());
  if (!row) return undefined;
  return { resellerId: row.reseller_id, resellerName: row.reseller_name, username: row.username, login: row.login, method: row.method, expiresAt: row.expires_at };
}

/** Ends a session; the cookie stops working at once. */
export async function logoutReseller(ctx: Ctx, token: string): Promise<void> {
  const session = await getResellerSession(ctx, token);
  if (!session) return;
  await inTransaction(ctx, async (tx) => {
    await repo.revokeResellerSession(tx.db, sha256Hex(token), tx.clock());
    await recordAudit(tx, { action: 'reseller.logged_out', targetType: 'reseller', targetId: session.resellerId, resellerId: session.resellerId, actor: { kind: 'reseller', id: session.resellerId } });
  });
}

/** Sessions opened with a key that was just replaced end too, except the one that replaced it. */
export async function endKeySessions(ctx: Ctx, resellerId: number, exceptToken?: string): Promise<void> {
  await repo.revokeResellerSessions(ctx.db, resellerId, 'key', ctx.clock(), exceptToken ? sha256Hex(exceptToken) : undefined);
}

/** The brand shown on a reseller's own login host; unknown hosts get none. */
export async function getBrandForHost(ctx: Ctx, host: string | undefined): Promise<{ name: string | null }> {
  const h = (host ?? '').trim().toLowerCase();
  if (!h || h.length > 260) return { name: null };
  const row = await repo.findBrandByHost(ctx.db, h);
  return { name: row?.name ?? null };
}
