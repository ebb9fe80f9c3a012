import type { Migration } from 'kysely';
import { runStatements } from './run-statements.js';

// A family type can be retired: its unused codes stop working and a new family type may take over the
// same parent subscription type. A recurring charge names the payment it renews, which decides the
// parent subscription a renewal follows whatever the gap between them.
const statements = [
  `alter table family_subscription_types add column disabled_at timestamptz`,
  `alter table family_subscription_types drop constraint family_subscription_types_master_subscription_type_id_key`,
  `create unique index family_subscription_types_master_live_key on family_subscription_types (master_subscription_type_id) where disabled_at is null`,
  `alter table payments add column parent_payment_id bigint references payments (id)`,
  `create index payments_parent_idx on payments (parent_payment_id) where parent_payment_id is not null`,
];

export const familyRenewals: Migration = {
  up: (db) => runStatements(db, statements),
};
