import type { Migration } from 'kysely';
import { runStatements } from './run-statements.js';

// Idempotency-Key on the REST doors: the first response to a key is kept for 24 hours and replayed.
// `scope` is the credential plus method and route pattern; the client's key is stored only as a digest,
// and the response body is encrypted under a key derived from it (it may hold credentials shown once).
const statements = [
  `create table idempotency_keys (
     scope text not null,
     key_digest text not null,
     method text not null,
     path text not null,
     request_hash text not null,
     state text not null default 'in_progress' check (state in ('in_progress', 'done')),
     response_status integer,
     response_content_type text,
     response_body text,
     created_at timestamptz not null default now(),
     expires_at timestamptz not null,
     primary key (scope, key_digest)
   )`,
  `create index idempotency_keys_expires_idx on idempotency_keys (expires_at)`,
];

export const idempotency: Migration = {
  up: (db) => runStatements(db, statements),
};
