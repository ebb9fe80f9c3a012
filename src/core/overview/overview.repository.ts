import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';

type Counts = Record<string, number>;

const toCounts = (rows: { key: string; n: number | string | bigint }[]): Counts => Object.fromEntries(rows.map((r) => [r.key, Number(r.n)]));

/**
 * Rows per status of every table the operator's dashboard summarises, without reading the big tables
 * (ADR 14): clients and unreleased domains come from the per-status totals kept by triggers (migration
 * 0021); the few queued, running and failed jobs are counted through their partial indexes, and
 * succeeded jobs are the kept number of jobs less those, all in one statement so one snapshot;
 * resellers, a few hundred rows, come from their table.
 */
export async function countByStatus(db: Executor): Promise<{ resellers: Counts; clients: Counts; domains: Counts; jobs: Counts }> {
  const [resellers, totals, jobStates] = await Promise.all([
    db.selectFrom('resellers').select(['status as key', sql<number>`count(*)`.as('n')]).groupBy('status').execute(),
    db
      .selectFrom('stats_status')
      .select(['kind', 'status as key', sql<string>`sum(n)`.as('n')])
      .where('kind', '<>', 'jobs')
      .groupBy(['kind', 'status'])
      .execute(),
    db
      .selectNoFrom((eb) => [
        eb.selectFrom('stats_status').select(sql<string>`coalesce(sum(n), 0)`.as('n')).where('kind', '=', 'jobs').where('status', '=', 'all').as('all'),
        ...(['queued', 'running', 'failed'] as const).map((state) => eb.selectFrom('jobs').select(sql<string>`count(*)`.as('n')).where('state', '=', state).as(state)),
      ])
      .executeTakeFirstOrThrow(),
  ]);
  const of = (kind: string) => toCounts(totals.filter((r) => r.kind === kind));
  const [queued, running, failed] = [jobStates.queued, jobStates.running, jobStates.failed].map(Number) as [number, number, number];
  const jobs = { queued, running, failed, succeeded: Number(jobStates.all) - queued - running - failed };
  return { resellers: toCounts(resellers), clients: of('clients'), domains: of('domains'), jobs };
}
