import { AppError } from '../../errors/app-error.js';
import { recordAudit } from '../audit/audit.service.js';
import { findClientAdminId } from '../clients/client.repository.js';
import { getClient } from '../clients/client.service.js';
import type { ClientRef } from '../clients/client.schema.js';
import { inTransaction, type Ctx } from '../context.js';
import { getResellerBranding } from '../resellers/reseller.service.js';
import { loginBuckets, reserveLoginAttempt } from '../rate-limits/rate-limit.service.js';
import { hashPassword, needsRehash, verifyPasswordOrDummy } from '../shared/passwords.js';
import { digestsEqual, hmacHex, randomToken, sha256Hex } from '../shared/secrets.js';
import { findSiteIdsByDomain } from '../sites/site.repository.js';
import * as repo from './sso.repository.js';
import { getSuspendedSiteSession, suspendedSignInAllowed } from './sso.suspended.js';

export const LOGIN_TOKEN_TTL_SECONDS = 60;
export const SESSION_TTL_SECONDS = 12 * 60 * 60;
export const LOGIN_PATH = '/login/auth_token';

export interface LoginToken {
  token: string;
  protocol: 'https' | 'http';
  login_hostname: string;
  path: string;
}

/**
 * A single-use, one-minute token that logs the client's admin in. The link points at the
 * reseller's branded host when it has one, else at this server's public address.
 */
export async function issueClientLoginToken(ctx: Ctx, ref: ClientRef): Promise<LoginToken> {
  return inTransaction(ctx, async (tx) => {
    const client = await getClient(tx, ref);
    if (client.status !== 'active') throw new AppError('invalid_state', `client is ${client.status}; its admin cannot log in`);
    const clientId = client.id;
    const adminId = await findClientAdminId(tx.db, clientId);
    if (adminId === undefined) throw new AppError('invalid_state', 'client has no admin user to log in as');
    const now = tx.clock();
    const token = randomToken(32);
    const expiresAt = new Date(now.getTime() + LOGIN_TOKEN_TTL_SECONDS * 1000);
    await repo.insertSsoToken(tx.db, {
      token_digest: sha256Hex(token),
      user_id: adminId,
      client_id: clientId,
      purpose: 'client_admin_login',
      expires_at: expiresAt,
      created_at: now,
    });
    await recordAudit(tx, { action: 'client.login_token_issued', targetType: 'client', targetId: clientId, resellerId: client.reseller_id, after: { user_id: adminId, expires_at: expiresAt } });
    // Used tokens are worthless after their minute; sweeping on issue keeps the table small.
    await repo.deleteExpiredSsoTokens(tx.db, new Date(now.getTime() - 24 * 60 * 60 * 1000));

    const branding = tx.actor.kind === 'reseller' ? await getResellerBranding(tx, tx.actor.resellerId) : undefined;
    const publicUrl = new URL(tx.settings.publicUrl);
    const branded = branding?.login_hostname;
    return {
      token,
      protocol: branded ? 'https' : (publicUrl.protocol.replace(':', '') as 'https' | 'http'),
      login_hostname: branded ?? publicUrl.host,
      path: `${LOGIN_PATH}?token=${encodeURIComponent(token)}`,
    };
  });
}

export interface Session {
  token: string;
  userId: number;
  clientId: number | null;
  expiresAt: Date;
}

/**
 * Starts a server-side session for the user (on one client, or on none) in the caller's transaction:
 * the token goes to the cookie, only its digest to the database. Every sign-in opens sessions here.
 */
export async function openSession(
  tx: Ctx,
  input: { userId: number; clientId: number | null; originClientId?: number | null; ttlSeconds?: number; /** The reseller whose login link it comes from: its suspension ends the session. */ viaResellerId?: number | null },
): Promise<Session> {
  const now = tx.clock();
  const token = randomToken(32);
  const expiresAt = new Date(now.getTime() + (input.ttlSeconds ?? SESSION_TTL_SECONDS) * 1000);
  await repo.insertSession(tx.db, {
    token_digest: sha256Hex(token),
    user_id: input.userId,
    client_id: input.clientId,
    expires_at: expiresAt,
    created_at: now,
    ...(input.originClientId !== undefined ? { origin_client_id: input.originClientId } : {}),
    ...(input.viaResellerId ? { via_reseller_id: input.viaResellerId } : {}),
  });
  return { token, userId: input.userId, clientId: input.clientId, expiresAt };
}

/** Trades a login token for a session; refuses used, expired and unknown tokens alike. */
export async function redeemLoginToken(ctx: Ctx, token: string): Promise<Session> {
  if (!token || token.length > 200) throw new AppError('unauthenticated', 'login link is invalid, expired or already used');
  return inTransaction(ctx, async (tx) => {
    const now = tx.clock();
    const grant = await repo.consumeSsoToken(tx.db, sha256Hex(token), now);
    if (!grant) throw new AppError('unauthenticated', 'login link is invalid, expired or already used');
    // Only a reseller issues links to its own clients' areas, so the client's reseller is the issuer.
    const session = await openSession(tx, { userId: grant.user_id, clientId: grant.client_id, viaResellerId: grant.reseller_id ?? null });
    await recordAudit(tx, {
      action: 'client.logged_in',
      targetType: grant.client_id !== null ? 'client' : 'user',
      targetId: grant.client_id ?? grant.user_id,
      resellerId: grant.reseller_id ?? null,
      actor: { kind: 'user', id: grant.user_id },
      after: { user_id: grant.user_id, session_expires_at: session.expiresAt },
    });
    return session;
  });
}

export async function getSession(ctx: Ctx, token: string) {
  if (!token || token.length > 200) return undefined;
  return repo.findSession(ctx.db, sha256Hex(token), ctx.clock());
}

/**
 * A client's own user (an instance's users, a site's admin) signs in with login and password.
 * Unknown login and wrong password are one answer; a suspended client refuses even the right one.
 */
export async function loginClientUser(ctx: Ctx, input: { clientId: unknown; login: unknown; password: unknown }): Promise<Session & { suspended: boolean }> {
  const { clientId, login, password } = input;
  const bad = new AppError('unauthenticated', 'wrong login or password');
  if (typeof clientId !== 'number' || !Number.isSafeInteger(clientId) || clientId < 1) throw bad;
  if (typeof login !== 'string' || typeof password !== 'string' || login.length < 1 || login.length > 254 || password.length > 1024) throw bad;
  return signInClientUser(ctx, { clientId, login, password, method: 'password' });
}

/**
 * ApisCP's panel login form: domain, login and password. The domain names the live site (any of its
 * domains); an unknown domain and a wrong password are one answer, and both count against the
 * address's sign-in limit.
 */
export async function loginSiteUser(ctx: Ctx, input: { domain: unknown; login: unknown; password: unknown }): Promise<Session & { suspended: boolean }> {
  const { domain, login, password } = input;
  const bad = new AppError('unauthenticated', 'wrong domain, login or password');
  if (typeof domain !== 'string' || typeof login !== 'string' || typeof password !== 'string') throw bad;
  if (domain.length < 1 || domain.length > 253 || login.length < 1 || login.length > 254 || password.length > 1024) throw bad;
  const name = domain.trim().toLowerCase().replace(/\.$/, '');
  const [siteId] = await findSiteIdsByDomain(ctx.db, name);
  if (siteId === undefined) {
    // No such site: still a counted try with a password check, so it looks and costs like a wrong password.
    const attempt = await reserveLoginAttempt(ctx, loginBuckets.clientUser(0, `${name}/${login}`, ctx.ip));
    if (attempt.waitSeconds > 0) throw new AppError('rate_limited', `too many failed logins; try again in ${attempt.waitSeconds} s`, { retryAfterSeconds: attempt.waitSeconds });
    await verifyPasswordOrDummy(password, undefined);
    throw bad;
  }
  return signInClientUser(ctx, { clientId: siteId, login, password, method: 'domain_password', bad });
}

async function signInClientUser(
  ctx: Ctx,
  input: { clientId: number; login: string; password: string; method: string; bad?: AppError },
): Promise<Session & { suspended: boolean }> {
  const { clientId, login, password } = input;
  const bad = input.bad ?? new AppError('unauthenticated', 'wrong login or password');
  const attempt = await reserveLoginAttempt(ctx, loginBuckets.clientUser(clientId, login, ctx.ip));
  const wait = attempt.waitSeconds;
  if (wait > 0) throw new AppError('rate_limited', `too many failed logins; try again in ${wait} s`, { retryAfterSeconds: wait });
  const user = await repo.findClientUserByLogin(ctx.db, clientId, login);
  const ok = await verifyPasswordOrDummy(password, user?.password_hash);
  // A wrong password keeps the reserved try; a right one gives it back, even when the client is suspended.
  if (!user || !ok) throw bad;
  await attempt.succeeded();
  // A suspended site's admin may still sign in to see the suspension (cp.config auth suspended_login).
  const suspended = user.status !== 'active';
  if (suspended && !(user.status === 'suspended' && (await suspendedSignInAllowed(ctx, { role: user.role, is_instance: Boolean(user.is_instance) })))) throw new AppError('invalid_state', 'this account is suspended: its users cannot sign in');
  // A crypt(3) hash a billing system set (auth,cpasswd) is replaced by our own at its first good sign-in;
  // hashed before the transaction, which should not wait on scrypt.
  const rehashed = user.password_hash && needsRehash(user.password_hash) ? await hashPassword(password) : undefined;
  return inTransaction(ctx, async (tx) => {
    if (rehashed) await repo.replacePasswordHash(tx.db, user.id, user.password_hash!, rehashed);
    const session = await openSession(tx, { userId: user.id, clientId });
    await recordAudit(tx, {
      action: 'client.logged_in',
      targetType: 'client',
      targetId: clientId,
      resellerId: user.reseller_id,
      actor: { kind: 'user', id: user.id },
      after: { user_id: user.id, session_expires_at: session.expiresAt, method: input.method, ...(suspended ? { suspended: true } : {}) },
    });
    return { ...session, suspended };
  });
}

/**
 * The anti-forgery token of a session (an operator's console session or a client's): a keyed digest
 * of the session token, so it is bound to the session and needs no storage. Pages and the console
 * send it back with every change; a cross-site page can neither read it nor compute it.
 */
export function csrfTokenFor(ctx: Pick<Ctx, 'settings'>, sessionToken: string): string {
  return hmacHex(ctx.settings.secret, `session-csrf:${sessionToken}`);
}

export function csrfTokenValid(ctx: Pick<Ctx, 'settings'>, sessionToken: string, given: unknown): boolean {
  return typeof given === 'string' && /^[0-9a-f]{64}$/.test(given) && digestsEqual(csrfTokenFor(ctx, sessionToken), given);
}

/**
 * An end user (email and password, as on the CRM door) signs in to the client area of the client they
 * own: the one their subscription granted them or an operator linked to them. Unknown email and wrong
 * password are one answer; a user who owns no active client is told so only after the password checked.
 */
export async function loginClientOwner(ctx: Ctx, input: { email: unknown; password: unknown }): Promise<Session> {
  const { email, password } = input;
  const bad = new AppError('unauthenticated', 'wrong email or password');
  if (typeof email !== 'string' || typeof password !== 'string' || email.length < 1 || email.length > 254 || password.length > 1024) throw bad;
  const normalized = email.trim().toLowerCase();
  const attempt = await reserveLoginAttempt(ctx, loginBuckets.user(normalized, ctx.ip));
  const wait = attempt.waitSeconds;
  if (wait > 0) throw new AppError('rate_limited', `too many failed logins; try again in ${wait} s`, { retryAfterSeconds: wait });
  const user = await repo.findOwnerSignIn(ctx.db, normalized);
  const ok = await verifyPasswordOrDummy(password, user?.password_hash);
  if (!user || !ok) throw bad;
  await attempt.succeeded();
  if (user.client_id === null) throw new AppError('invalid_state', 'this account has no active hosting or SaaS account to manage');
  const clientId = Number(user.client_id);
  return inTransaction(ctx, async (tx) => {
    const session = await openSession(tx, { userId: user.id, clientId });
    const client = await repo.findClientHeader(tx.db, clientId);
    await recordAudit(tx, { action: 'client.logged_in', targetType: 'client', targetId: clientId, resellerId: client?.reseller_id ?? null, actor: { kind: 'user', id: user.id }, after: { user_id: user.id, session_expires_at: session.expiresAt, method: 'owner_password' } });
    return session;
  });
}

/** Ends a client session (signing out of the client area); an unknown or ended one is already out. */
export async function logoutClientSession(ctx: Ctx, token: string): Promise<void> {
  const active = await getSession(ctx, token);
  const suspended = active ? undefined : await getSuspendedSiteSession(ctx, token);
  const session = active ?? (suspended ? { client_id: suspended.client_id, user_id: suspended.user_id } : undefined);
  if (!session) return;
  await inTransaction(ctx, async (tx) => {
    await repo.revokeSession(tx.db, sha256Hex(token), tx.clock());
    const client = session.client_id !== null ? await repo.findClientHeader(tx.db, session.client_id) : undefined;
    await recordAudit(tx, { action: 'client.logged_out', targetType: session.client_id !== null ? 'client' : 'user', targetId: session.client_id ?? session.user_id, resellerId: client?.reseller_id ?? null, actor: { kind: 'user', id: session.user_id } });
  });
}
