import type { Migration } from 'kysely';
import { runStatements } from './run-statements.js';

// The operator's client list filters by plan and pages by id; with this index a plan's page is an
// index range scan instead of a scan of every client. (The invoice filter uses the two partial
// indexes of 0001; the reseller filter clients_reseller_idx.)
const statements = [`create index clients_plan_idx on clients (plan_id, id)`];

export const clientListIndexes: Migration = {
  up: (db) => runStatements(db, statements),
};
