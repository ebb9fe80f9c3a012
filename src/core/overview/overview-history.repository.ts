import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';
import type { TenantScope } from '../context.js';

// Every query here reads a bounded window: the rollup rows of the window's days (stats_daily's primary
// key by day, or stats_daily_reseller_idx for one reseller), the running totals (one row per reseller
// and slot), the window's ready domains (domains_ready_idx / domains_reseller_ready_idx) and the
// window's failed jobs (jobs_failed_idx). ADR 14 has their plans at a million clients.

export interface DailyChanges {
  day: string;
  clients_created: number;
  clients_cancelled: number;
  clients_restored: number;
  domains_added: number;
  domains_removed: number;
  signups: number;
  signups_decided: number;
}

const int = (column: string) => sql<number>`sum(${sql.ref(column)})::int`;

/** Per day from `from` on (later days too, so totals can be walked back from today's). */
export async function dailyChanges(db: Executor, scope: TenantScope, from: string): Promise<DailyChanges[]> {
  let q = db
    .selectFrom('stats_daily')
    .select([
      sql<string>`day::text`.as('day'),
      int('clients_created').as('clients_created'),
      int('clients_cancelled').as('clients_cancelled'),
      int('clients_restored').as('clients_restored'),
      int('domains_added').as('domains_added'),
      int('domains_removed').as('domains_removed'),
      int('signups').as('signups'),
      int('signups_decided').as('signups_decided'),
    ])
    .where('day', '>=', from);
  if ('resellerId' in scope) q = q.where('reseller_id', '=', scope.resellerId);
  return q.groupBy('day').orderBy('day').execute();
}

export async function currentTotals(db: Executor, scope: TenantScope): Promise<{ clients: number; domains: number; pending: number }> {
  let q = db.selectFrom('stats_totals').select([int('clients').as('clients'), int('domains').as('domains'), int('pending').as('pending')]);
  if ('resellerId' in scope) q = q.where('reseller_id', '=', scope.resellerId);
  const r = await q.executeTakeFirstOrThrow();
  return { clients: r.clients ?? 0, domains: r.domains ?? 0, pending: r.pending ?? 0 };
}

/** Provisioning times of the domains that first became ready at or after `since`, per UTC day. */
export async function provisioningByDay(db: Executor, scope: TenantScope, since: Date): Promise<{ day: string; n: number; p50: number; p99: number }[]> {
  const seconds = sql`extract(epoch from (ready_at - created_at))`;
  let q = db
    .selectFrom('domains')
    .select([
      sql<string>`((ready_at at time zone 'UTC')::date)::text`.as('day'),
      sql<number>`count(*)::int`.as('n'),
      sql<number>`(percentile_cont(0.5) within group (order by ${seconds}))::float8`.as('p50'),
      sql<number>`(percentile_cont(0.99) within group (order by ${seconds}))::float8`.as('p99'),
    ])
    .where('ready_at', '>=', since)
    .where('ready_at', 'is not', null);
  if ('resellerId' in scope) q = q.where('reseller_id', '=', scope.resellerId);
  return q.groupBy(sql`1`).execute();
}

/** Jobs that failed for good at or after `since` and are failed still, per UTC day. */
export async function failedJobsByDay(db: Executor, scope: TenantScope, since: Date): Promise<{ day: string; n: number }[]> {
  let q = db
    .selectFrom('jobs')
    .select([sql<string>`((finished_at at time zone 'UTC')::date)::text`.as('day'), sql<number>`count(*)::int`.as('n')])
    .where('state', '=', 'failed')
    .where('finished_at', '>=', since);
  if ('resellerId' in scope) q = q.where('reseller_id', '=', scope.resellerId);
  return q.groupBy(sql`1`).execute();
}

/** The resellers with the most live clients now, and their net change in live clients since `from`. */
export async function topResellers(db: Executor, from: string, limit: number): Promise<{ id: number; name: string; clients: number; growth: number }[]> {
  return db
    .with('top', (w) =>
      w
        .selectFrom('stats_totals')
        .select(['reseller_id', int('clients').as('clients')])
        .where('reseller_id', '<>', 0)
        .groupBy('reseller_id')
        // A reseller with no live clients has nothing to chart (sign-ups awaiting approval have rows for their count).
        .having(sql`sum(clients)`, '>', 0)
        .orderBy('clients', 'desc')
        .orderBy('reseller_id')
        .limit(limit),
    )
    .selectFrom('top')
    .innerJoin('resellers as r', 'r.id', 'top.reseller_id')
    .select((eb) => [
      'r.id',
      'r.name',
      'top.clients',
      eb
        .selectFrom('stats_daily as s')
        .select(sql<number>`coalesce(sum(s.clients_created + s.clients_restored - s.clients_cancelled), 0)::int`.as('g'))
        .whereRef('s.reseller_id', '=', 'top.reseller_id')
        .where('s.day', '>=', from)
        .as('growth'),
    ])
    .orderBy('top.clients', 'desc')
    .orderBy('r.id')
    .execute() as Promise<{ id: number; name: string; clients: number; growth: number }[]>;
}
