import type { Migration } from 'kysely';
import { runStatements } from './run-statements.js';

// Sites (the ApisCP door's view of clients): the default plan every AddDomain without --plan gets, and
// the site a switched session came from, so that a master can switch into a subordinate and back.
const statements = [
  `insert into plans (uid, name, description, tags, service_defaults)
   values ('basic', 'Basic', 'Default plan of sites created without one; inherits every value from the base plan.', array['apiscp'], '{}')
   on conflict (uid) do nothing`,
  `alter table sessions add column origin_client_id bigint references clients (id) on delete set null`,
  // Group selection and the cleanup look sites up by suspension time.
  `create index clients_suspended_idx on clients (suspended_at) where status = 'suspended'`,
];

export const sites: Migration = {
  up: (db) => runStatements(db, statements),
};
