import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';

type Counts = Record<string, number>;

const toCounts = (rows: { key: string; n: number | string | bigint }[]): Counts => Object.fromEntries(rows.map((r) => [r.key, Number(r.n)]));

/** Rows per status of every table the operator's dashboard summarises, one grouped query each. */
export async function countByStatus(db: Executor): Promise<{ resellers: Counts; clients: Counts; domains: Counts; jobs: Counts }> {
  const [resellers, clients, domains, jobs] = await Promise.all([
    db.selectFrom('resellers').select(['status as key', sql<number>`count(*)`.as('n')]).groupBy('status').execute(),
    db.selectFrom('clients').select(['status as key', sql<number>`count(*)`.as('n')]).groupBy('status').execute(),
    // Released domains belong to cancelled clients and no longer count.
    db.selectFrom('domains').select(['status as key', sql<number>`count(*)`.as('n')]).where('released_at', 'is', null).groupBy('status').execute(),
    db.selectFrom('jobs').select(['state as key', sql<number>`count(*)`.as('n')]).groupBy('state').execute(),
  ]);
  return { resellers: toCounts(resellers), clients: toCounts(clients), domains: toCounts(domains), jobs: toCounts(jobs) };
}
