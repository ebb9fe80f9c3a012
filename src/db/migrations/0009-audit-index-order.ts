import type { Migration } from 'kysely';
import { runStatements } from './run-statements.js';

// New audit rows have the largest ids. In an index on (reseller_id, id desc) or (action, id desc)
// they land on the leftmost leaf of their key, where PostgreSQL's fast path for appends does not
// apply; a group change writing 10,000 rows with one action paid about twice the index cost for it.
// Ascending indexes serve the same newest-first pages (scanned backwards) and append at the right edge.
const statements = [
  `drop index audit_events_reseller_idx`,
  `create index audit_events_reseller_idx on audit_events (reseller_id, id)`,
  `drop index audit_events_action_idx`,
  `create index audit_events_action_idx on audit_events (action, id)`,
  `drop index audit_events_target_idx`,
  `create index audit_events_target_idx on audit_events (target_type, target_id, id)`,
];

export const auditIndexOrder: Migration = {
  up: (db) => runStatements(db, statements),
};
