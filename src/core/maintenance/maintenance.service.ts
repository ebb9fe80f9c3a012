import type { Ctx } from '../context.js';
import * as repo from './maintenance.repository.js';

export const CLEANUP_JOB_KIND = 'maintenance.cleanup';
const SUCCEEDED_JOB_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

/** The periodic sweep; failed jobs stay until an operator retries them. */
export async function cleanUpExpired(ctx: Ctx): Promise<void> {
  const now = ctx.clock();
  await repo.deleteExpired(ctx.db, now, new Date(now.getTime() - SUCCEEDED_JOB_RETENTION_MS));
}

export const cleanupHandler = {
  kind: CLEANUP_JOB_KIND,
  everyMs: 60 * 60 * 1000,
  handle: (ctx: Ctx) => cleanUpExpired(ctx),
};
