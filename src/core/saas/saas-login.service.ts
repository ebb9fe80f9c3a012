import { createHmac } from 'node:crypto';
import { AppError } from '../../errors/app-error.js';
import { findAccountById, type AccountUser } from '../accounts/account.repository.js';
import { checkAccountPassword } from '../accounts/account.service.js';
import type { Actor, Ctx } from '../context.js';
import { loginBuckets, reserveLoginAttempt } from '../rate-limits/rate-limit.service.js';
import { verifyPassword } from '../shared/passwords.js';

// The SaaS portal's RPC sign-ins (the Odoo door): `common.authenticate` with login and password, and
// uid + password sent with every object call. Both count failures with the same buckets as the
// operator console, so a guess costs the same whichever door it is tried at.

function actorOf(user: AccountUser): Actor {
  return user.role === 'operator' ? { kind: 'operator', keyId: null, userId: user.id } : { kind: 'user', userId: user.id };
}

/**
 * `common.authenticate`: the user's id for a good login and password, undefined otherwise. Over the
 * failed-login limit it is undefined too, without spending the hash: Odoo's authenticate answers
 * False for a locked-out login as for a wrong password.
 */
export async function authenticateAccount(ctx: Ctx, login: unknown, password: unknown): Promise<{ id: number; actor: Actor; user: AccountUser } | undefined> {
  if (typeof login !== 'string' || typeof password !== 'string' || login.length > 254 || password.length > 1024) return undefined;
  const attempt = await reserveLoginAttempt(ctx, loginBuckets.user(login, ctx.ip));
  if (attempt.waitSeconds > 0) return undefined;
  const user = await checkAccountPassword(ctx, login, password);
  if (!user) return undefined;
  await attempt.succeeded();
  return { id: user.id, actor: actorOf(user), user };
}

// Checking a password costs a memory-hard hash; clients send uid + password with every call, so a
// verified pair is remembered briefly (keyed by a MAC of the password, never the password itself),
// and calls arriving together with the same pair wait for one check instead of each spending a try.
const credentialCache = new Map<string, { actor: Actor; until: number }>();
const checking = new Map<string, Promise<Actor>>();
const CREDENTIAL_CACHE_MS = 60_000;
const CREDENTIAL_CACHE_MAX = 10_000;

/** The actor for a uid + password pair sent with a call; unauthenticated when they do not match. */
export async function actorForCredentials(ctx: Ctx, uid: unknown, password: unknown): Promise<Actor> {
  if (typeof uid !== 'number' || !Number.isSafeInteger(uid) || uid <= 0 || typeof password !== 'string' || password.length > 1024) throw accessDenied();
  const key = `${uid}:${createHmac('sha256', ctx.settings.secret).update(password).digest('hex')}`;
  const hit = credentialCache.get(key);
  if (hit && hit.until > Date.now()) return hit.actor;
  const pending = checking.get(key);
  if (pending) return pending;
  const check = checkCredentials(ctx, uid, password, key).finally(() => checking.delete(key));
  checking.set(key, check);
  return check;
}

const accessDenied = () => new AppError('unauthenticated', 'Access denied');

async function checkCredentials(ctx: Ctx, uid: number, password: string, key: string): Promise<Actor> {
  const user = await findAccountById(ctx.db, uid);
  // An unknown uid has no login to count against; its address still pays for the try.
  const attempt = await reserveLoginAttempt(ctx, user ? loginBuckets.user(user.login, ctx.ip) : loginBuckets.unknownUserId(uid, ctx.ip));
  // Odoo answers a locked-out login as a wrong password: AccessDenied, and no hash is spent.
  if (attempt.waitSeconds > 0) throw accessDenied();
  if (!user || !user.password_hash || user.disabled_at || !(await verifyPassword(password, user.password_hash))) throw accessDenied();
  await attempt.succeeded();
  if (credentialCache.size >= CREDENTIAL_CACHE_MAX) credentialCache.clear();
  credentialCache.set(key, { actor: actorOf(user), until: Date.now() + CREDENTIAL_CACHE_MS });
  return actorOf(user);
}
