import type { Migration } from 'kysely';
import { runStatements } from './run-statements.js';

// Instance users' passwords reach the instance's own res_users (issue 16,
// docs/adr/0027-instance-users-in-instance-databases.md, "Addendum: passwords reach res_users").
//
// When a door is given an instance user's password in plain text for an instance with a database,
// it keeps Odoo's own hash of it too (passlib's pbkdf2_sha512), on the user's row beside Hostplane's
// hash; the database's desired object carries it to the db node, which writes res_users.password.
// Users whose password was set before this change have none (their plain password is long gone):
// their res_users rows keep what they have until a door sets a password again.
const statements = [`alter table users add column odoo_password_hash text`];

export const instanceUserOdooHash: Migration = {
  up: (db) => runStatements(db, statements),
};
