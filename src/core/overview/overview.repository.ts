import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';

type Counts = Record<string, number>;

const toCounts = (rows: { key: string; n: number | string | bigint }[]): Counts => Object.fromEntries(rows.map((r) => [r.key, Number(r.n)]));

/**
 * Rows per status of every table the operator's dashboard summarises, without reading the big tables
 * (ADR 14): clients, unreleased domains and succeeded jobs come from the per-status totals kept by
 * triggers (migration 0021), the few queued, running and failed jobs through their partial indexes,
 * and resellers, a few hundred rows, from their table.
 */
export async function countByStatus(db: Executor): Promise<{ resellers: Counts; clients: Counts; domains: Counts; jobs: Counts }> {
  const [resellers, totals, smallJobStates] = await Promise.all([
    db.selectFrom('resellers').select(['status as key', sql<number>`count(*)`.as('n')]).groupBy('status').execute(),
    db
      .selectFrom('stats_status')
      .select(['kind', 'status as key', sql<string>`sum(n)`.as('n')])
      .groupBy(['kind', 'status'])
      .execute(),
    // One scalar count per state, each planned on its own partial index (jobs_due_idx, jobs_lease_idx, jobs_failed_idx).
    db
      .selectNoFrom((eb) => (['queued', 'running', 'failed'] as const).map((state) => eb.selectFrom('jobs').select(sql<string>`count(*)`.as('n')).where('state', '=', state).as(state)))
      .executeTakeFirstOrThrow(),
  ]);
  const of = (kind: string) => toCounts(totals.filter((r) => r.kind === kind));
  const jobs = of('jobs');
  for (const [state, n] of Object.entries(smallJobStates)) jobs[state] = Number(n);
  return { resellers: toCounts(resellers), clients: of('clients'), domains: of('domains'), jobs };
}
