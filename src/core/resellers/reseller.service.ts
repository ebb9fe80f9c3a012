import { z } from 'zod';
import { AppError, fieldErrors, type FieldErrors } from '../../errors/app-error.js';
import { recordAudit, type AuditEntry } from '../audit/audit.service.js';
import { issueCaptcha, solveCaptcha, type Captcha } from '../captcha/captcha.service.js';
import { inTransaction, type Ctx } from '../context.js';
import { noteCredentialChange } from '../credentials/credential.service.js';
import { blockedFor, recordHit, signupCaptchaBucket, type RateLimitRule } from '../rate-limits/rate-limit.service.js';
import { uniqueViolation } from '../shared/db-errors.js';
import { hashPassword } from '../shared/passwords.js';
import { randomToken, sha256Hex } from '../shared/secrets.js';
import { parseInput, zodIssuesToFields } from '../shared/validation.js';
import * as repo from './reseller.repository.js';
import { endKeySessions, storeResellerLogin } from './reseller-login.service.js';
import { revokeSessionsViaReseller } from '../sso/sso.repository.js';
import { revokeResellerSessions } from './reseller-login.repository.js';
import { listPackages } from '../packages/package.service.js';
import type { Package } from '../packages/package.schema.js';
import {
  approveResellerInput,
  resellerLoginInput,
  type ApproveResellerInput,
  createResellerInput,
  signUpResellerInput,
  updateResellerInput,
  type CreateResellerInput,
  type Reseller,
  type ResellerCredentials,
  type UpdateResellerInput,
} from './reseller.schema.js';

/** Wrong captcha answers tolerated from one address before it has to wait. */
export const SIGNUP_FAILURE_RULE: RateLimitRule = { limit: 5, windowSeconds: 15 * 60 };
/** Sign-up forms one address may open; each stores a captcha until it expires. */
export const SIGNUP_START_RULE: RateLimitRule = { limit: 60, windowSeconds: 15 * 60 };

/** The first step of a sign-up: a fresh captcha, at a bounded rate per address. */
export async function startResellerSignUp(ctx: Ctx, ip: string): Promise<Captcha> {
  const bucket = `signup-start:${ip}`;
  const wait = await blockedFor(ctx, bucket, SIGNUP_START_RULE);
  if (wait > 0) throw new AppError('rate_limited', 'too many sign-up forms requested from this address', { retryAfterSeconds: wait });
  return inTransaction(ctx, async (tx) => {
    await recordHit(tx, bucket, SIGNUP_START_RULE);
    return issueCaptcha(tx);
  });
}

function newCredentials(): { credentials: ResellerCredentials; digest: string } {
  const credentials = { api_token: randomToken(18), api_key: randomToken(32) };
  return { credentials, digest: sha256Hex(credentials.api_key) };
}

function tagsOf(input: { tags?: string[] | null | undefined; application_name?: string | null | undefined }): string[] {
  // A sign-up for an application ("cpanel") may sell that application's packages.
  return [...new Set([...(input.tags ?? []), ...(input.application_name ? [input.application_name] : [])])];
}

function usernameTaken(e: unknown): boolean {
  return uniqueViolation(e) === 'resellers_username_key';
}

/** A reseller's events belong to that reseller: its `/v1/audit` shows what happened to its account. */
function resellerEvent(action: AuditEntry['action'], before: Reseller | undefined, after: Reseller): AuditEntry {
  const { id: _id, created_at: _created, ...fields } = after;
  const { id: _bid, created_at: _bcreated, ...old } = before ?? after;
  return { action, targetType: 'reseller', targetId: after.id, resellerId: after.id, ...(before ? { before: old } : {}), after: fields };
}

export async function listResellers(ctx: Ctx, filter: { status?: string } = {}): Promise<Reseller[]> {
  return repo.listResellers(ctx.db, filter);
}

export async function getReseller(ctx: Ctx, id: number): Promise<Reseller> {
  const reseller = await repo.findResellerById(ctx.db, id);
  if (!reseller) throw AppError.notFound('reseller');
  return reseller;
}

/** An operator's reseller is trusted: it is approved at once and gets its credentials. */
export async function createReseller(ctx: Ctx, raw: CreateResellerInput): Promise<{ reseller: Reseller; credentials: ResellerCredentials }> {
  const input = parseInput(createResellerInput, raw, { blank: 'must be specified' });
  return inTransaction(ctx, async (tx) => {
    const now = tx.clock();
    const { credentials, digest } = newCredentials();
    let reseller: Reseller;
    try {
      reseller = await repo.insertReseller(tx.db, {
        ...input,
        tags: tagsOf(input),
        status: 'active',
        api_token: credentials.api_token,
        api_key_digest: digest,
        approved_at: now,
        created_at: now,
        updated_at: now,
      });
    } catch (e) {
      if (usernameTaken(e)) throw AppError.validation({ username: ['has already been taken'] });
      throw e;
    }
    await recordAudit(tx, resellerEvent('reseller.created', undefined, reseller));
    return { reseller, credentials };
  });
}

export type SignUpResult =
  | { ok: true; reseller: Reseller; captcha: Captcha }
  | { ok: false; captcha: Captcha; errors: { reseller: FieldErrors; captcha: FieldErrors } };

const signUpEnvelope = z.object({
  captcha: z.object({ id: z.unknown().optional(), answer: z.unknown().optional() }).passthrough().nullish(),
  reseller: z.unknown().optional(),
});

/**
 * Public self sign-up. Every outcome but success hands out a fresh captcha, and the reseller waits
 * for an operator's approval before it gets credentials.
 */
export async function signUpReseller(ctx: Ctx, raw: unknown, ip: string): Promise<SignUpResult> {
  const bucket = signupCaptchaBucket(ip);
  const wait = await blockedFor(ctx, bucket, SIGNUP_FAILURE_RULE);
  if (wait > 0) {
    throw new AppError('rate_limited', 'too many wrong captcha answers from this address', { retryAfterSeconds: wait });
  }
  return inTransaction(ctx, async (tx) => {
    const envelope = signUpEnvelope.safeParse(raw);
    const body = envelope.success ? envelope.data : {};
    const resellerErrors: FieldErrors = fieldErrors();
    const captchaErrors: FieldErrors = fieldErrors();

    const parsed = signUpResellerInput.safeParse(body.reseller ?? {}, { reportInput: true });
    if (!parsed.success) Object.assign(resellerErrors, zodIssuesToFields(parsed.error.issues, 'must be specified'));

    const id = typeof body.captcha?.id === 'string' ? body.captcha.id : undefined;
    const answer = typeof body.captcha?.answer === 'string' ? body.captcha.answer : undefined;
    const solved = await solveCaptcha(tx, id, answer);
    if (!solved) {
      captchaErrors.answer = ['is not correct'];
      await recordHit(tx, bucket, SIGNUP_FAILURE_RULE);
    }

    if (parsed.success && solved) {
      const input = parsed.data;
      const now = tx.clock();
      const reseller = await repo.insertResellerUnlessUsernameTaken(tx.db, {
        ...input,
        tags: tagsOf(input),
        status: 'pending',
        created_at: now,
        updated_at: now,
      });
      if (reseller) {
        await recordAudit(tx, resellerEvent('reseller.signed_up', undefined, reseller));
        return { ok: true, reseller, captcha: solved };
      }
      resellerErrors.username = ['has already been taken'];
    }
    return { ok: false, captcha: await issueCaptcha(tx), errors: { reseller: resellerErrors, captcha: captchaErrors } };
  });
}

/**
 * Approval issues the reseller's token and key; they are shown this once. With a password it also
 * sets the reseller's web console sign-in (login defaults to its username), in the same transaction.
 */
export async function approveReseller(ctx: Ctx, id: number, raw: ApproveResellerInput = {}): Promise<{ reseller: Reseller; credentials: ResellerCredentials; login?: string }> {
  const input = parseInput(approveResellerInput, raw ?? {});
  const password = input.password;
  // The slow hash runs before the transaction; the default login needs the reseller, read again inside.
  const passwordHash = password !== undefined ? await hashPassword(password) : undefined;
  return inTransaction(ctx, async (tx) => {
    const existing = await repo.findResellerById(tx.db, id);
    if (!existing) throw AppError.notFound('reseller');
    if (existing.status !== 'pending') throw new AppError('invalid_state', `reseller is ${existing.status}, not pending`);
    const { credentials, digest } = newCredentials();
    const now = tx.clock();
    // Conditional on still pending: of two approvals at once, only one hands out credentials.
    const reseller = await repo.updateReseller(
      tx.db,
      id,
      { status: 'active', api_token: credentials.api_token, api_key_digest: digest, approved_at: now, updated_at: now },
      'pending',
    );
    if (!reseller) throw new AppError('invalid_state', 'reseller is no longer pending');
    await recordAudit(tx, resellerEvent('reseller.approved', existing, reseller));
    if (passwordHash === undefined) return { reseller, credentials };
    const login = parseInput(resellerLoginInput.shape.login, input.login ?? reseller.username);
    const stored = await storeResellerLogin(tx, reseller, { login, passwordHash });
    return { reseller, credentials, login: stored.login };
  });
}

/** Replaces the reseller's key (and token); the old pair stops working at once. */
export async function rotateResellerCredentials(ctx: Ctx, id: number): Promise<{ reseller: Reseller; credentials: ResellerCredentials }> {
  return inTransaction(ctx, async (tx) => {
    const existing = await getReseller(tx, id);
    if (existing.status === 'pending') throw new AppError('invalid_state', 'reseller is pending; approve it instead');
    const { credentials, digest } = newCredentials();
    await noteCredentialChange(tx);
    const reseller = (await repo.updateReseller(tx.db, id, { api_token: credentials.api_token, api_key_digest: digest, updated_at: tx.clock() }))!;
    // Only that the pair changed is recorded: token and key are secrets and never reach the log.
    await recordAudit(tx, resellerEvent('reseller.key_rotated', existing, reseller));
    return { reseller, credentials };
  });
}

export async function suspendReseller(ctx: Ctx, id: number, reason?: string | null): Promise<Reseller> {
  return inTransaction(ctx, async (tx) => {
    const existing = await getReseller(tx, id);
    if (existing.status === 'pending') throw new AppError('invalid_state', 'reseller is pending, not active');
    if (existing.status === 'suspended') return existing;
    const now = tx.clock();
    await noteCredentialChange(tx);
    const reseller = (await repo.updateReseller(tx.db, id, {
      status: 'suspended',
      suspended_at: now,
      suspend_reason: reason?.trim() || null,
      updated_at: now,
    }))!;
    // What the reseller handed out ends with it: its clients' sessions opened through its login links
    // (the links themselves are refused while it is suspended). Sessions its clients' own users or an
    // operator opened stay; reactivation brings none of the ended ones back.
    const ended = await revokeSessionsViaReseller(tx.db, id, now);
    // Its console sessions stop matching while it is suspended; ending them keeps reactivation from reviving them.
    for (const method of ['password', 'key'] as const) await revokeResellerSessions(tx.db, id, method, now);
    const event = resellerEvent('reseller.suspended', existing, reseller);
    await recordAudit(tx, ended > 0 ? { ...event, after: { ...event.after, client_sessions_ended: ended } } : event);
    return reseller;
  });
}

export async function activateReseller(ctx: Ctx, id: number): Promise<Reseller> {
  return inTransaction(ctx, async (tx) => {
    const existing = await getReseller(tx, id);
    if (existing.status === 'pending') throw new AppError('invalid_state', 'reseller is pending; approve it instead');
    if (existing.status === 'active') return existing;
    await noteCredentialChange(tx);
    const reseller = (await repo.updateReseller(tx.db, id, { status: 'active', suspended_at: null, suspend_reason: null, updated_at: tx.clock() }))!;
    await recordAudit(tx, resellerEvent('reseller.activated', existing, reseller));
    return reseller;
  });
}

export async function updateReseller(ctx: Ctx, id: number, raw: UpdateResellerInput): Promise<Reseller> {
  const input = parseInput(updateResellerInput, raw);
  return inTransaction(ctx, async (tx) => {
    const existing = await getReseller(tx, id);
    const reseller = (await repo.updateReseller(tx.db, id, { ...input, updated_at: tx.clock() }))!;
    await recordAudit(tx, resellerEvent('reseller.updated', existing, reseller));
    return reseller;
  });
}

export async function getResellerBranding(ctx: Ctx, id: number) {
  return repo.findResellerBranding(ctx.db, id);
}

/** What a reseller sees of its own API credentials: the token (the key is never shown again) and its console login. */
export async function getOwnCredentials(ctx: Ctx): Promise<{ api_token: string | null; approved_at: Date | null; login: string | null }> {
  const resellerId = ownResellerId(ctx);
  const row = await repo.findOwnCredentials(ctx.db, resellerId);
  if (!row) throw AppError.notFound('reseller');
  return row;
}

/** A reseller replaces its own key; sessions opened with the old key end, except `keepSessionToken`'s. */
export async function rotateOwnCredentials(ctx: Ctx, keepSessionToken?: string): Promise<ResellerCredentials> {
  const resellerId = ownResellerId(ctx);
  return inTransaction(ctx, async (tx) => {
    const { credentials } = await rotateResellerCredentials(tx, resellerId);
    await endKeySessions(tx, resellerId, keepSessionToken);
    return credentials;
  });
}

/** The packages a reseller may sell, as creating a client checks them: sharing a tag, or all for an untagged reseller. */
export async function listSellablePackages(ctx: Ctx): Promise<Package[]> {
  const reseller = await getReseller(ctx, ownResellerId(ctx));
  const packages = await listPackages(ctx);
  return reseller.tags.length === 0 ? packages : packages.filter((p) => p.tags.some((t) => reseller.tags.includes(t)));
}

function ownResellerId(ctx: Ctx): number {
  if (ctx.actor.kind !== 'reseller') throw new AppError('forbidden', 'only a reseller has its own credentials and packages');
  return ctx.actor.resellerId;
}
