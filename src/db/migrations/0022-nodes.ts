import type { Migration } from 'kysely';
import { runStatements } from './run-statements.js';

// Hosting nodes and what each must make true (docs/adr/0019, the /agent/v1 contract in
// src/core/nodes/agent-wire.schema.ts).
//
// `nodes.version` is the node's desired-state counter. Every change to a node's objects takes the
// node's row lock to bump it (`update nodes set version = version + 1 ... returning version`) and
// stamps the changed objects with the new value in the same transaction, so versions of one node
// commit in order and an agent that saw version N never misses a later change. A global sequence
// would not give that: a lower number can commit after a higher one has been read.
//
// Tokens: the one-time enrolment token and the node's own credential are both kept as digests only.
const statements = [
  `create table nodes (
     id bigserial primary key,
     name text not null,
     roles text[] not null,
     labels jsonb not null default '{}'::jsonb,
     -- What the operator decided; health (healthy/unhealthy) is derived from last_heartbeat_at.
     state text not null default 'active' check (state in ('active', 'draining')),
     enrol_token_digest text,
     enrol_token_expires_at timestamptz,
     token_digest text,
     enrolled_at timestamptz,
     version bigint not null default 0,
     agent_version text,
     capacity jsonb,
     drivers jsonb,
     last_heartbeat_at timestamptz,
     last_usage_at timestamptz,
     created_at timestamptz not null default now(),
     updated_at timestamptz not null default now(),
     constraint nodes_name_format check (name ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
     constraint nodes_roles_known check (roles <@ array['web', 'db', 'relay']::text[] and cardinality(roles) > 0)
   )`,
  `create unique index nodes_name_key on nodes (name)`,
  `create unique index nodes_token_digest_key on nodes (token_digest) where token_digest is not null`,
  `create unique index nodes_enrol_token_digest_key on nodes (enrol_token_digest) where enrol_token_digest is not null`,
  `create table node_objects (
     node_id bigint not null references nodes (id) on delete cascade,
     kind text not null check (kind in ('site')),
     object_id text not null,
     client_id bigint references clients (id) on delete set null,
     version bigint not null,
     state text not null check (state in ('present', 'absent')),
     spec jsonb not null,
     -- What the node last reported for this object.
     applied_version bigint,
     error text,
     reported_at timestamptz,
     primary key (node_id, kind, object_id)
   )`,
  `create index node_objects_node_version on node_objects (node_id, version)`,
  `create index node_objects_client on node_objects (client_id) where client_id is not null`,
  `create index node_objects_failed on node_objects (node_id) where error is not null`,
  `alter table clients add column node_id bigint references nodes (id)`,
  `create index clients_node on clients (node_id) where node_id is not null`,
];

export const nodes: Migration = {
  up: (db) => runStatements(db, statements),
};
