import type { Migration } from 'kysely';
import { runStatements } from './run-statements.js';

// Instance users and stored files read back from the instance's own database (issue 16,
// docs/adr/0027-instance-users-in-instance-databases.md).
//
// The db node writes an instance's users into its database's `res_users` and reports what it reads
// there; the control plane keeps the latest report here for the console, the APIs and the Odoo door:
// `has_res_users` (null: not reported yet; false: the template has no res_users, so the users stay
// Hostplane's), the users read (`users_report`, at most the contract's cap, `users_total` all of
// them), and the files of its `ir_attachment` (null: no such table, or not reported yet).
//
// An existing install's instance databases were made before their specs carried users: one job,
// queued here and idempotent, rewrites every live instance database's desired object so its node
// pushes the users Hostplane holds (see the ADR for the rest of the migration).
const statements = [
  `alter table instance_databases add column has_res_users boolean`,
  `alter table instance_databases add column users_report jsonb`,
  `alter table instance_databases add column users_total integer`,
  `alter table instance_databases add column files_count integer`,
  `alter table instance_databases add column files_bytes bigint`,
  `alter table instance_databases add column users_reported_at timestamptz`,
  `insert into jobs (kind, payload, max_attempts, singleton_key)
   select 'saas.push_instance_users', '{}', 10, 'saas.push_instance_users'
   where exists (select 1 from instance_databases)`,
];

export const instanceUsers: Migration = {
  up: (db) => runStatements(db, statements),
};
