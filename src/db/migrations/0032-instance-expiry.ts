import type { Migration } from 'kysely';
import { runStatements } from './run-statements.js';

// A SaaS instance's expiry (Odoo's saas_portal.client.expiration_datetime): set by the portal through
// do_upgrade_database's `saas_client.expiration_datetime` parameter, written into the instance's own
// ir_config_parameter by its db node, where Odoo's saas_client module reads it. Null: no expiry.
const statements = [`alter table clients add column expires_at timestamptz`];

export const instanceExpiry: Migration = {
  up: (db) => runStatements(db, statements),
};
