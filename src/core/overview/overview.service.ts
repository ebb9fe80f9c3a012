import { AppError } from '../../errors/app-error.js';
import type { Ctx } from '../context.js';
import * as repo from './overview.repository.js';

export interface Overview {
  resellers: { pending: number; active: number; suspended: number };
  clients: { active: number; suspended: number; cancelled: number; deleted: number };
  domains: { initializing: number; ready: number; unknown: number };
  jobs: { queued: number; running: number; succeeded: number; failed: number };
}

const pick = <K extends string>(counts: Record<string, number>, keys: readonly K[]): Record<K, number> =>
  Object.fromEntries(keys.map((k) => [k, counts[k] ?? 0])) as Record<K, number>;

/** The operator's dashboard: how many resellers, clients, live domains and jobs are in each state. */
export async function getOverview(ctx: Ctx): Promise<Overview> {
  if (ctx.actor.kind !== 'operator' && ctx.actor.kind !== 'system') throw new AppError('forbidden', 'operators only');
  // PGlite is one connection: the four counts run one after another there anyway.
  const counts = await repo.countByStatus(ctx.db);
  return {
    resellers: pick(counts.resellers, ['pending', 'active', 'suspended'] as const),
    clients: pick(counts.clients, ['active', 'suspended', 'cancelled', 'deleted'] as const),
    domains: pick(counts.domains, ['initializing', 'ready', 'unknown'] as const),
    jobs: pick(counts.jobs, ['queued', 'running', 'succeeded', 'failed'] as const),
  };
}
