import type { Ctx } from '../context.js';
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
  return Math.max(1, Math.ceil((window.window_ends_at.getTime() - now.getTime()) / 1000));
}

export async function recordHit(ctx: Ctx, bucket: string, rule: RateLimitRule): Promise<void> {
  const now = ctx.clock();
  await repo.recordHit(ctx.db, bucket, now, new Date(now.getTime() + rule.windowSeconds * 1000));
}

/** Wrong passwords are capped per account and per address, on every door with a sign-in. */
export const FAILED_LOGINS_PER_ACCOUNT: RateLimitRule = { limit: 10, windowSeconds: 15 * 60 };
export const FAILED_LOGINS_PER_ADDRESS: RateLimitRule = { limit: 50, windowSeconds: 15 * 60 };

/** A sign-in's two buckets: the account tried, and the address it came from. */
export interface LoginBuckets {
  account: string;
  address: string;
}

/** Seconds until this account and address may try again; 0 when both may. */
export async function failedLoginWait(ctx: Ctx, buckets: LoginBuckets): Promise<number> {
  return Math.max(await blockedFor(ctx, buckets.account, FAILED_LOGINS_PER_ACCOUNT), await blockedFor(ctx, buckets.address, FAILED_LOGINS_PER_ADDRESS));
}

/** Counts a failed sign-in against both buckets (inside the caller's transaction, if any). */
export async function recordFailedLogin(ctx: Ctx, buckets: LoginBuckets): Promise<void> {
  await recordHit(ctx, buckets.account, FAILED_LOGINS_PER_ACCOUNT);
  await recordHit(ctx, buckets.address, FAILED_LOGINS_PER_ADDRESS);
}
