import { AppError } from '../../errors/app-error.js';
import { recordAudit } from '../audit/audit.service.js';
import { inTransaction, type Ctx } from '../context.js';
import { loginBuckets, reserveLoginAttempt } from '../rate-limits/rate-limit.service.js';
import { uniqueViolation } from '../shared/db-errors.js';
import { hashPassword, verifyPasswordOrDummy } from '../shared/passwords.js';
import { randomToken, sha256Hex } from '../shared/secrets.js';
import { parseInput } from '../shared/validation.js';
import * as repo from './end-user.repository.js';
import { createEndUserInput, loginInput, registerEndUserInput, type EndUser } from './end-user.schema.js';

export interface SignedIn {
  user: EndUser;
  token: string;
}

async function issueToken(tx: Ctx, user: EndUser): Promise<string> {
  const token = randomToken(24);
  const row = await repo.insertAccessToken(tx.db, { token_digest: sha256Hex(token), user_id: user.id, created_at: tx.clock() });
  await recordAudit(tx, { action: 'user.token_issued', targetType: 'user', targetId: user.id, resellerId: null, actor: { kind: 'user', id: user.id }, after: { access_token_id: row.id } });
  return token;
}

async function insertUser(ctx: Ctx, input: { email: string; password: string; name: string | null }, withToken: boolean): Promise<{ user: EndUser; token?: string }> {
  const passwordHash = await hashPassword(input.password);
  try {
    return await inTransaction(ctx, async (tx) => {
      const user = await repo.insertEndUser(tx.db, { login: input.email.toLowerCase(), email: input.email.toLowerCase(), name: input.name, password_hash: passwordHash, created_at: tx.clock() });
      await recordAudit(tx, { action: 'user.created', targetType: 'user', targetId: user.id, resellerId: null, after: { role: user.role, login: user.login, name: user.name } });
      return withToken ? { user, token: await issueToken(tx, user) } : { user };
    });
  } catch (e) {
    if (uniqueViolation(e) === 'users_login_key') throw new AppError('conflict', 'Email is already taken', { reason: 'email_taken' });
    throw e;
  }
}

/** `POST /api/v1/users/register`: a new end user, signed in at once. */
export async function registerEndUser(ctx: Ctx, raw: unknown): Promise<SignedIn> {
  const input = parseInput(registerEndUserInput, raw);
  const name = [input.first_name, input.last_name].filter(Boolean).join(' ') || null;
  const { user, token } = await insertUser(ctx, { email: input.email, password: input.password, name }, true);
  return { user, token: token! };
}

/** An operator creates an end user (`hostplane user create --login EMAIL`). */
export async function createEndUser(ctx: Ctx, raw: unknown): Promise<EndUser> {
  if (ctx.actor.kind !== 'operator' && ctx.actor.kind !== 'system') throw new AppError('forbidden', 'only operators create users');
  const input = parseInput(createEndUserInput, raw);
  return (await insertUser(ctx, { email: input.login, password: input.password, name: input.name || null }, false)).user;
}

/** `POST /api/v1/users/login`: email and password for an access token. */
export async function loginEndUser(ctx: Ctx, raw: unknown, ip: string): Promise<SignedIn> {
  const input = parseInput(loginInput, raw);
  const email = input.email.trim().toLowerCase();
  const attempt = await reserveLoginAttempt(ctx, loginBuckets.user(email, ip));
  const wait = attempt.waitSeconds;
  if (wait > 0) throw new AppError('rate_limited', 'Too many failed login attempts, try again later', { retryAfterSeconds: wait });

  const found = await repo.findSignInUser(ctx.db, email);
  const ok = await verifyPasswordOrDummy(input.password, found && !found.disabled_at ? found.password_hash : null);
  // A wrong password keeps the reserved try: that is the failure counted.
  if (!found || !ok) throw new AppError('unauthenticated', 'Wrong credentials', { reason: 'auth_failed' });
  await attempt.succeeded();
  const { password_hash: _hash, disabled_at: _disabled, ...user } = found;
  return inTransaction(ctx, async (tx) => ({ user, token: await issueToken(tx, user) }));
}

export async function getEndUserInfo(ctx: Ctx): Promise<EndUser> {
  if (ctx.actor.kind !== 'user') throw new AppError('unauthenticated', 'Not authorized: user token required');
  const user = await repo.findUserById(ctx.db, ctx.actor.userId);
  if (!user) throw new AppError('unauthenticated', 'Not authorized: user not found');
  return user;
}

export async function findUserByEmail(ctx: Ctx, email: string): Promise<EndUser | undefined> {
  return repo.findUserByEmail(ctx.db, email);
}
