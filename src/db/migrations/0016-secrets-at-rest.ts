import type { Migration } from 'kysely';
import { runStatements } from './run-statements.js';

// Webhook signing secrets are sealed under a master key kept outside the database (AES-256-GCM); the
// column names the key a row is sealed under. Null marks a row stored in plain text by an earlier
// version: start-up seals those, since a migration has no access to the key.
const statements = [`alter table webhook_endpoints add column secret_key_id text`];

export const secretsAtRest: Migration = {
  up: (db) => runStatements(db, statements),
};
