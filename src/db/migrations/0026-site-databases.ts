import type { Migration } from 'kysely';
import { runStatements } from './run-statements.js';

// The databases a site's client asked for (issue 16, docs/adr/0023-site-databases.md): one row per
// MySQL/PostgreSQL database, made on the site's db node by its `db_user` object. A name is unique per
// engine across every site: two sites naming the same database would share it on one server.
//
// `version` is the site's db_user object version that first carried the database, so the console
// tells applied (its node applied that version) from pending and failed. Dropping a database deletes
// its row; the node drops (after a dump) what the user owns and the object no longer lists.
//
// `site_db_usage` keeps, per site and engine, the last total size of its databases its db node
// reported (the latest sample wins; an older one is left out).
const statements = [
  `create table site_databases (
     id bigserial primary key,
     client_id bigint not null references clients (id) on delete cascade,
     engine text not null check (engine in ('mysql', 'pgsql')),
     name text not null check (name ~ '^[A-Za-z][A-Za-z0-9_]{0,63}$'),
     version bigint,
     created_at timestamptz not null,
     unique (engine, name)
   )`,
  `create index site_databases_client on site_databases (client_id, engine)`,
  `create table site_db_usage (
     client_id bigint not null references clients (id) on delete cascade,
     engine text not null check (engine in ('mysql', 'pgsql')),
     node_id bigint references nodes (id) on delete set null,
     storage_bytes bigint not null,
     sampled_at timestamptz not null,
     primary key (client_id, engine)
   )`,
];

export const siteDatabases: Migration = {
  up: (db) => runStatements(db, statements),
};
