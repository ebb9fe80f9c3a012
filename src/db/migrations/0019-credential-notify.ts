import type { Migration } from 'kysely';
import { runStatements } from './run-statements.js';

// Every server process keeps verified credentials for a few seconds (ADR 0015). Any change to what
// such an entry was verified against (a reseller's token, key digest or status, an operator key's
// revocation), by whichever process or by hand, tells every listening process on commit. A change
// made through the core names itself in `hostplane.credential_change` (set for its transaction only),
// so the process that made it knows when exactly its own change has committed.
const statements = [
  `create function hostplane_credentials_notify() returns trigger language plpgsql as $$
   begin
     perform pg_notify('hostplane_credentials', coalesce(current_setting('hostplane.credential_change', true), ''));
     return null;
   end $$`,
  `create trigger resellers_credentials_notify after update of api_token, api_key_digest, status or delete on resellers
     for each statement execute function hostplane_credentials_notify()`,
  `create trigger operator_keys_credentials_notify after update of key_digest, revoked_at or delete on operator_keys
     for each statement execute function hostplane_credentials_notify()`,
];

export const credentialNotify: Migration = {
  up: (db) => runStatements(db, statements),
};
