import type { Migration } from 'kysely';
import { runStatements } from './run-statements.js';

// Claims look up due jobs of ONE lane (or of no lane) in run order. With the lane leading the index,
// a claim walks only its own lane's queued rows: before, a lane-less claim stepped over every queued
// relay job, and a prepared (generic) plan could not rely on the lane being selective.
// Expired leases are found through jobs_lease_idx and put back in the queue (see reclaimExpired).
const statements = [
  `create index jobs_lane_due_idx on jobs (lane, run_at, id) where state = 'queued'`,
  `drop index jobs_due_idx`,
  // New jobs wake idle workers at once (LISTEN hostplane_jobs) instead of at their next poll. Once per
  // inserting statement, and PostgreSQL folds repeats within a transaction, so a batch costs one.
  `create function hostplane_jobs_notify() returns trigger language plpgsql as $$
   begin
     perform pg_notify('hostplane_jobs', '');
     return null;
   end $$`,
  // A queue table turns its rows over fast; index entries of finished jobs slow every claim until a
  // vacuum removes them, so vacuum it after a small share of changes rather than the default 20%.
  `alter table jobs set (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000, autovacuum_analyze_scale_factor = 0.05)`,
  `create trigger jobs_notify after insert on jobs for each statement execute function hostplane_jobs_notify()`,
];

export const jobClaims: Migration = {
  up: (db) => runStatements(db, statements),
};
