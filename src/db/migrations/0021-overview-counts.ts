import type { Migration } from 'kysely';
import { runStatements } from './run-statements.js';

// The overview's count cards read per-status totals instead of grouping clients, domains and jobs per
// view (ADR 14, addendum). stats_status holds, per kind and status, how many rows there are: every
// client, every unreleased domain, and every job. Resellers are few and are counted from
// their table; queued, running and failed jobs are few and are counted through their partial indexes.
//
// Clients and domains are kept like the rollup of 0018: statement triggers over transition tables, one
// upsert per status that changed in the statement (old status -1, new +1), in key order, into the
// writing backend's slot so concurrent writers do not queue on each other's row lock.
//
// Jobs are the queue's hot rows, and its updates (claims, lease extensions, finishing a batch of a
// thousand) must stay free of triggers. So only the number of jobs is kept, under status 'all', by
// statement triggers on insert (an enqueue) and delete (the retention prune), which no update changes;
// succeeded jobs are that total less the few queued, running and failed ones, counted through their
// partial indexes in the same statement.
const SLOT = `(pg_backend_pid() % 64)::smallint`;

/** One statement that adds `delta` (rows of kind, status, d) into stats_status, skipping zero sums. */
const applyDelta = (delta: string): string => `insert into stats_status as s (kind, status, slot, n)
    select kind, status, ${SLOT}, sum(d) from (${delta}) delta (kind, status, d)
    group by kind, status having sum(d) <> 0 order by kind, status
    on conflict (kind, status, slot) do update set n = s.n + excluded.n`;

/** Insert, update and delete statement triggers that count `table`'s rows per status while `live` holds. */
function statusTriggers(table: string, live: (t: string) => string): string[] {
  const plus = `select '${table}', n.status, 1 from new_rows n where ${live('n')}`;
  const minus = `select '${table}', o.status, -1 from old_rows o where ${live('o')}`;
  const bodies = {
    insert: { refs: 'new table as new_rows', delta: plus },
    update: { refs: 'old table as old_rows new table as new_rows', delta: `${plus} union all ${minus}` },
    delete: { refs: 'old table as old_rows', delta: minus },
  };
  return Object.entries(bodies).flatMap(([event, { refs, delta }]) => [
    `create function stats_status_${table}_${event}() returns trigger language plpgsql as $$
     begin
       ${applyDelta(delta)};
       return null;
     end $$`,
    `create trigger stats_status_${table}_${event} after ${event} on ${table} referencing ${refs} for each statement execute function stats_status_${table}_${event}()`,
  ]);
}

const always = () => 'true';
const unreleased = (t: string) => `${t}.released_at is null`;

const statements = [
  `create table stats_status (
     kind text not null,
     status text not null,
     slot smallint not null,
     n bigint not null default 0,
     primary key (kind, status, slot)
   ) with (fillfactor = 50)`,
  // The backfill: what the triggers would have counted had they always existed.
  applyDelta(`select 'clients', status, count(*) from clients group by status
    union all select 'domains', status, count(*) from domains where released_at is null group by status
    union all select 'jobs', 'all', count(*) from jobs`),
  ...statusTriggers('clients', always),
  ...statusTriggers('domains', unreleased),
  `create function stats_status_jobs_insert() returns trigger language plpgsql as $$
   begin
     ${applyDelta(`select 'jobs', 'all', 1 from new_rows`)};
     return null;
   end $$`,
  `create trigger stats_status_jobs_insert after insert on jobs referencing new table as new_rows for each statement execute function stats_status_jobs_insert()`,
  `create function stats_status_jobs_delete() returns trigger language plpgsql as $$
   begin
     ${applyDelta(`select 'jobs', 'all', -1 from old_rows`)};
     return null;
   end $$`,
  `create trigger stats_status_jobs_delete after delete on jobs referencing old table as old_rows for each statement execute function stats_status_jobs_delete()`,
  // Running jobs already have jobs_lease_idx and queued ones jobs_due_idx; failed ones jobs_failed_idx (0018).
];

export const overviewCounts: Migration = {
  up: (db) => runStatements(db, statements),
};
