import { AppError } from '../../errors/app-error.js';
import type { JobState } from '../../db/schema.js';
import * as repo from '../../jobs/job.repository.js';
import type { Job } from '../../jobs/job.repository.js';
import { recordAudit } from '../audit/audit.service.js';
import { inTransaction, type Ctx } from '../context.js';

export type { Job } from '../../jobs/job.repository.js';

export const jobStates = ['queued', 'running', 'succeeded', 'failed'] as const satisfies readonly JobState[];

export interface JobQuery {
  state?: string;
  kind?: string;
  clientId?: number;
  beforeId?: number;
  limit?: number;
}

function requireOperator(ctx: Ctx): void {
  if (ctx.actor.kind !== 'operator' && ctx.actor.kind !== 'system') throw new AppError('forbidden', 'jobs are for operators');
}

/** Newest first; page with `beforeId`. */
export async function listJobs(ctx: Ctx, query: JobQuery): Promise<Job[]> {
  requireOperator(ctx);
  if (query.state !== undefined && !(jobStates as readonly string[]).includes(query.state)) {
    throw AppError.validation({ state: [`must be one of ${jobStates.join(', ')}`] });
  }
  if (query.kind !== undefined && (query.kind.length > 100 || !/^[a-z0-9._-]+$/.test(query.kind))) throw AppError.validation({ kind: ['is not a job kind'] });
  return repo.listJobs(ctx.db, {
    limit: query.limit ?? 100,
    ...(query.state ? { state: query.state as JobState } : {}),
    ...(query.kind ? { kind: query.kind } : {}),
    ...(query.clientId !== undefined ? { clientId: query.clientId } : {}),
    ...(query.beforeId !== undefined ? { beforeId: query.beforeId } : {}),
  });
}

export async function getJob(ctx: Ctx, id: number): Promise<Job> {
  requireOperator(ctx);
  const job = await repo.findJob(ctx.db, id);
  if (!job) throw AppError.notFound('job');
  return job;
}

/** Gives a failed job a fresh set of attempts. */
export async function retryJob(ctx: Ctx, id: number): Promise<Job> {
  requireOperator(ctx);
  return inTransaction(ctx, async (tx) => {
    const job = await repo.requeueFailedJob(tx.db, id, tx.clock());
    if (job) {
      await recordAudit(tx, { action: 'job.retried', targetType: 'job', targetId: job.id, resellerId: job.reseller_id, before: { state: 'failed' }, after: { state: job.state } });
      return job;
    }
    const existing = await repo.findJob(tx.db, id);
    if (!existing) throw AppError.notFound('job');
    throw new AppError('invalid_state', `job is ${existing.state}; only failed jobs can be retried`);
  });
}
