import type { Migration } from 'kysely';
import { runStatements } from './run-statements.js';

// CRM user tokens expire after an idle time: the last use is kept (written at most once a minute).
// A client-area session opened through a reseller's login link names that reseller, so suspending
// the reseller ends exactly those sessions and not the ones a client's own users or the operator opened.
const statements = [
  `alter table user_access_tokens add column last_used_at timestamptz`,
  `alter table sessions add column via_reseller_id bigint references resellers (id) on delete cascade`,
  `create index sessions_via_reseller_idx on sessions (via_reseller_id) where via_reseller_id is not null`,
];

export const revocation: Migration = {
  up: (db) => runStatements(db, statements),
};
