import type { Migration } from 'kysely';
import { runStatements } from './run-statements.js';

// A SaaS instance's own PostgreSQL database on its db node (issue 16).
//
// One row per instance whose plan named a template database when it was created. What the node
// needs to make it is kept here, so a later change of the plan's template never re-creates an
// existing instance: the database and owner role names (plain identifiers: they end up in SQL on the
// node), the template it was copied from, the owner's password as a SCRAM-SHA-256 verifier (never the
// password itself; null: the owner cannot log in with a password) and the connection limit.
//
// The node's latest report rides along: the database's size, the count of its active internal users
// (null where the template has no Odoo res_users), when it was sampled, and whether a crossing of the
// storage or user limit was already announced (`site.over_quota` fires once per crossing).
const statements = [
  `create table instance_databases (
     client_id bigint primary key references clients (id) on delete cascade,
     name text not null unique check (name ~ '^[a-z_][a-z0-9_]{0,62}$'),
     template text not null check (template ~ '^[a-z_][a-z0-9_]{0,62}$'),
     owner_role text not null unique check (owner_role ~ '^[a-z_][a-z0-9_]{0,62}$'),
     owner_verifier text,
     connection_limit integer not null check (connection_limit between 1 and 10000),
     size_bytes bigint,
     active_users integer,
     sampled_at timestamptz,
     over_storage boolean not null default false,
     over_users boolean not null default false,
     created_at timestamptz not null
   )`,
];

export const instanceDatabases: Migration = {
  up: (db) => runStatements(db, statements),
};
