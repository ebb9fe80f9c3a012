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
