import type { Migration } from 'kysely';
import { runStatements } from './run-statements.js';

// The dashboards' charts read daily rollups instead of counting clients and domains per view (ADR 14).
//
// stats_daily holds per day and reseller how many clients were created, cancelled and restored, how
// many domains went live and were released, and how many reseller sign-ups arrived and were decided.
// stats_totals holds the running totals, so a total on a past day is today's total minus the changes
// since, and a chart reads one row per day instead of every day since the start.
//
// Triggers keep both in step, in the statement that changes clients, domains or resellers: every door
// (REST, ApisCP, Odoo, CRM, CLI, bulk SQL of the bench) is covered without each remembering a call.
// They are statement triggers over transition tables, so a bulk insert or a group suspend costs one
// aggregate upsert per (day, reseller), not one per row, and the upserts go in key order.
//
// `slot` spreads one reseller's rows over 8 rows per day by backend: the rollup row stays locked until
// the writing transaction commits, and without slots concurrent creates of one reseller would queue
// behind each other's commit. Reads sum the slots. Reseller id 0 stands for "no reseller".
// Half-empty pages leave room for the counters' updates to stay on their page (HOT: no index writes).
const SLOT = `(pg_backend_pid() % 64)::smallint`;
const TODAY = `(now() at time zone 'UTC')::date`;
const dayOf = (ts: string): string => `(${ts} at time zone 'UTC')::date`;

const COUNTERS = ['clients_created', 'clients_cancelled', 'clients_restored', 'domains_added', 'domains_removed', 'signups', 'signups_decided'] as const;

/**
 * One statement that folds `delta` (rows of day, reseller_id and one 0/1 column per counter, in the
 * order of COUNTERS) into stats_daily and stats_totals.
 */
function applyDeltas(delta: string): string {
  const sums = COUNTERS.map((c) => `sum(${c})::int as ${c}`).join(', ');
  const bump = (table: string, cols: string[]) => cols.map((c) => `${c} = ${table}.${c} + excluded.${c}`).join(', ');
  return `with delta (day, reseller_id, ${COUNTERS.join(', ')}) as (${delta}),
    agg as (select day, reseller_id, ${sums} from delta group by day, reseller_id),
    daily as (
      insert into stats_daily as s (day, reseller_id, slot, ${COUNTERS.join(', ')})
      select day, reseller_id, ${SLOT}, ${COUNTERS.join(', ')} from agg order by day, reseller_id
      on conflict (day, reseller_id, slot) do update set ${bump('s', [...COUNTERS])}
    )
    insert into stats_totals as t (reseller_id, slot, clients, domains, pending)
    select reseller_id, ${SLOT}, sum(clients_created + clients_restored - clients_cancelled), sum(domains_added - domains_removed), sum(signups - signups_decided)
    from agg group by reseller_id order by reseller_id
    on conflict (reseller_id, slot) do update set ${bump('t', ['clients', 'domains', 'pending'])}`;
}

/** A delta row: the day, the reseller, and 1 in the named counter. */
const row = (day: string, reseller: string, counter: (typeof COUNTERS)[number]): string =>
  `select ${day}, coalesce(${reseller}, 0)::bigint, ${COUNTERS.map((c) => (c === counter ? '1' : '0')).join(', ')}`;

const LIVE_CLIENT = (t: string) => `${t}.status in ('active', 'suspended')`;
const LIVE_DOMAIN = (t: string) => `${t}.released_at is null`;
const PENDING = (t: string) => `${t}.status = 'pending'`;

/**
 * Insert, update and delete triggers for a table whose rows are "counted" while `live` holds. An update
 * that ends a row's life (or moves it to another reseller) counts `gone` for the old owner, one that
 * starts it `back` for the new; the function names are `stats_<table>_<event>`.
 */
function triggers(table: string, owner: (t: string) => string, live: (t: string) => string, counters: { born: (typeof COUNTERS)[number]; gone: (typeof COUNTERS)[number]; back: (typeof COUNTERS)[number] }, bornDay: string): string[] {
  const moved = `${owner('o')} is distinct from ${owner('n')}`;
  const bodies: Record<'insert' | 'update' | 'delete', { refs: string; delta: string }> = {
    insert: { refs: 'new table as new_rows', delta: `${row(dayOf(`n.${bornDay}`), owner('n'), counters.born)} from new_rows n where ${live('n')}` },
    update: {
      refs: 'old table as old_rows new table as new_rows',
      delta: `${row(TODAY, owner('o'), counters.gone)} from old_rows o join new_rows n on n.id = o.id where ${live('o')} and (not (${live('n')}) or ${moved})
        union all ${row(TODAY, owner('n'), counters.back)} from old_rows o join new_rows n on n.id = o.id where ${live('n')} and (not (${live('o')}) or ${moved})`,
    },
    delete: { refs: 'old table as old_rows', delta: `${row(TODAY, owner('o'), counters.gone)} from old_rows o where ${live('o')}` },
  };
  return Object.entries(bodies).flatMap(([event, { refs, delta }]) => [
    `create function stats_${table}_${event}() returns trigger language plpgsql as $$
     begin
       ${applyDeltas(delta)};
       return null;
     end $$`,
    `create trigger stats_${table}_${event} after ${event} on ${table} referencing ${refs} for each statement execute function stats_${table}_${event}()`,
  ]);
}

/** The rollup of the rows that exist before the triggers do: what they would have counted. */
const backfill = [
  applyDeltas(`
    ${row(dayOf('c.created_at'), 'c.reseller_id', 'clients_created')} from clients c
    union all ${row(dayOf('coalesce(c.cancelled_at, c.deleted_at, c.updated_at)'), 'c.reseller_id', 'clients_cancelled')} from clients c where not (${LIVE_CLIENT('c')})
    union all ${row(dayOf('d.created_at'), 'd.reseller_id', 'domains_added')} from domains d
    union all ${row(dayOf('d.released_at'), 'd.reseller_id', 'domains_removed')} from domains d where not (${LIVE_DOMAIN('d')})
    union all ${row(dayOf('r.created_at'), 'r.id', 'signups')} from resellers r where r.approved_at is null or r.approved_at > r.created_at + interval '1 second'
    union all ${row(dayOf('coalesce(r.approved_at, r.suspended_at, r.updated_at)'), 'r.id', 'signups_decided')} from resellers r
      where not (${PENDING('r')}) and (r.approved_at is null or r.approved_at > r.created_at + interval '1 second')`),
];

const statements = [
  `create table stats_daily (
     day date not null,
     reseller_id bigint not null,
     slot smallint not null,
     ${COUNTERS.map((c) => `${c} integer not null default 0`).join(',\n     ')},
     primary key (day, reseller_id, slot)
   ) with (fillfactor = 50)`,
  `create index stats_daily_reseller_idx on stats_daily (reseller_id, day)`,
  `create table stats_totals (
     reseller_id bigint not null,
     slot smallint not null,
     clients integer not null default 0,
     domains integer not null default 0,
     pending integer not null default 0,
     primary key (reseller_id, slot)
   ) with (fillfactor = 50)`,
  // When a domain first became ready; provisioning time is ready_at - created_at. Percentiles per day
  // read only the window's ready domains through these indexes (the second for one reseller).
  `alter table domains add column ready_at timestamptz`,
  `create index domains_ready_idx on domains (ready_at) include (created_at) where ready_at is not null`,
  `create index domains_reseller_ready_idx on domains (reseller_id, ready_at) include (created_at) where ready_at is not null`,
  // Ready domains of the last 90 days get the time of their first "ready" audit event, if there is one.
  `update domains d set ready_at = (
     select min(a.occurred_at) from audit_events a
     where a.target_type = 'domain' and a.target_id = d.name and a.action = 'domain.status_set'
       and a.changes -> 'status' ->> 'after' = 'ready' and a.occurred_at >= d.created_at)
   where d.status = 'ready' and d.released_at is null and d.created_at > now() - interval '90 days'`,
  // Failed jobs are few: a partial index keeps "failed per day" off the queue's rows.
  `create index jobs_failed_idx on jobs (finished_at) include (reseller_id) where state = 'failed'`,
  ...backfill,
  ...triggers('clients', (t) => `${t}.reseller_id`, LIVE_CLIENT, { born: 'clients_created', gone: 'clients_cancelled', back: 'clients_restored' }, 'created_at'),
  ...triggers('domains', (t) => `${t}.reseller_id`, LIVE_DOMAIN, { born: 'domains_added', gone: 'domains_removed', back: 'domains_added' }, 'created_at'),
  ...triggers('resellers', (t) => `${t}.id`, PENDING, { born: 'signups', gone: 'signups_decided', back: 'signups' }, 'created_at'),
];

export const dashboardAggregates: Migration = {
  up: (db) => runStatements(db, statements),
};
