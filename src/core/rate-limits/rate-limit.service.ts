import type { Ctx } from '../context.js';
import { sha256Hex } from '../shared/secrets.js';
import * as repo from './rate-limit.repository.js';

export interface RateLimitRule {
  limit: number;
  windowSeconds: number;
}

/**
 * Windows live in the database so that every server process sees the same counts.
 * Returns the seconds until the bucket opens again, or 0 when it is open.
 */
export async function blockedFor(ctx: Ctx, bucket: string, rule: RateLimitRule): Promise<number> {
  const now = ctx.clock();
  const window = await repo.findOpenWindow(ctx.db, bucket, now);
  if (!window || window.hits < rule.limit) return 0;
  return secondsUntil(window.window_ends_at, now);
}

export async function recordHit(ctx: Ctx, bucket: string, rule: RateLimitRule): Promise<void> {
  const now = ctx.clock();
  await repo.recordHit(ctx.db, bucket, now, new Date(now.getTime() + rule.windowSeconds * 1000));
}

function secondsUntil(end: Date, now: Date): number {
  return Math.max(1, Math.ceil((end.getTime() - now.getTime()) / 1000));
}

/** Wrong passwords are capped per account and per address, on every door with a sign-in. */
export const FAILED_LOGINS_PER_ACCOUNT: RateLimitRule = { limit: 10, windowSeconds: 15 * 60 };
export const FAILED_LOGINS_PER_ADDRESS: RateLimitRule = { limit: 50, windowSeconds: 15 * 60 };

/** A sign-in's two buckets: the account tried, and the address it came from. */
export interface LoginBuckets {
  account: string;
  address: string;
}

/**
 * The buckets of a sign-in. A user outside any client (operator, reseller, portal or CRM user) has one
 * account bucket whichever door is tried, and an address has one bucket for every door, so trying
 * another door buys no extra guesses. Logins are digested: the table holds no email addresses.
 */
export const loginBuckets = {
  user: (login: string, ip: string | undefined): LoginBuckets => ({ account: `login:user:${sha256Hex(login.trim().toLowerCase())}`, address: addressBucket(ip) }),
  clientUser: (clientId: number, login: string, ip: string | undefined): LoginBuckets => ({ account: `login:client:${clientId}:${sha256Hex(login.trim().toLowerCase())}`, address: addressBucket(ip) }),
  /** A uid that names no user (the Odoo door's object calls): its own bucket, so the address still counts. */
  unknownUserId: (uid: number, ip: string | undefined): LoginBuckets => ({ account: `login:uid:${uid}`, address: addressBucket(ip) }),
  resellerToken: (token: string, ip: string | undefined): LoginBuckets => ({ account: `login:reseller-token:${sha256Hex(token)}`, address: addressBucket(ip) }),
};

/** Wrong captcha answers of an address on the reseller sign-up form. */
export function signupCaptchaBucket(ip: string): string {
  return `signup-captcha:${ip}`;
}

/** The bucket every sign-in of an address counts its failures in (one for every door). */
export function addressBucket(ip: string | undefined): string {
  return `login:address:${ip ?? 'unknown'}`;
}

/** One sign-in attempt, counted before its password is checked. */
export interface LoginAttempt {
  /** 0: one try is reserved and the password may be checked. Otherwise the seconds to wait; nothing was reserved. */
  waitSeconds: number;
  /** The password was right: the reserved try is given back, so a good sign-in never counts as a failure. */
  succeeded(): Promise<void>;
}

/**
 * Reserves one try against the account's and the address's windows BEFORE the password is checked:
 * each bucket is counted and checked in one statement, so a burst of parallel guesses gets at most
 * the limit of passwords checked, however they interleave. A try whose password turns out wrong keeps
 * its hit; a right one is given back with `succeeded()`.
 *
 * Each statement stands alone, outside any transaction: the bucket's row is locked only while the
 * statement runs, never while a slow password hash does, which would queue every sign-in of the address.
 */
export async function reserveLoginAttempt(ctx: Ctx, buckets: LoginBuckets): Promise<LoginAttempt> {
  if (ctx.db.isTransaction) throw new Error('reserveLoginAttempt must run outside a transaction (it would hold the bucket rows locked)');
  const now = ctx.clock();
  const taken: { bucket: string; windowEndsAt: Date }[] = [];
  const giveBack = async () => {
    for (const t of taken.splice(0)) await repo.giveBackHit(ctx.db, t.bucket, t.windowEndsAt);
  };
  for (const [bucket, rule] of [
    [buckets.account, FAILED_LOGINS_PER_ACCOUNT],
    [buckets.address, FAILED_LOGINS_PER_ADDRESS],
  ] as const) {
    const hit = await repo.takeHitIfRoom(ctx.db, bucket, now, new Date(now.getTime() + rule.windowSeconds * 1000), rule.limit);
    if (!hit) {
      await giveBack();
      const window = await repo.findOpenWindow(ctx.db, bucket, now);
      return { waitSeconds: window ? secondsUntil(window.window_ends_at, now) : 1, succeeded: async () => {} };
    }
    taken.push({ bucket, windowEndsAt: hit.window_ends_at });
  }
  return { waitSeconds: 0, succeeded: giveBack };
}
