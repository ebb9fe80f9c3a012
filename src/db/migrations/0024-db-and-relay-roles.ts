import type { Migration } from 'kysely';
import { runStatements } from './run-statements.js';

// The groundwork of the db and relay roles (issue 16), shared by what builds on it.
//
// Node objects gain three kinds: `database` (a SaaS instance's own PostgreSQL database, made from
// its plan's template), `db_user` (a site's database user on a db node, MariaDB or PostgreSQL) and
// `relay_domain` (a domain a relay node accepts mail for).
//
// `clients.db_node_id` is the db node a SaaS instance's database or a site's databases live on,
// chosen once like `node_id` for the web role; a client may have both.
//
// `plans.template_database` names the database a SaaS plan's instances are copied from. It ends up
// in `CREATE DATABASE ... TEMPLATE <name>` on the node, so only a plain lower-case identifier is
// allowed, here as at every door.
const statements = [
  `alter table node_objects drop constraint node_objects_kind_check`,
  `alter table node_objects add constraint node_objects_kind_check check (kind in ('site', 'database', 'db_user', 'relay_domain'))`,
  `alter table clients add column db_node_id bigint references nodes (id)`,
  `create index clients_db_node on clients (db_node_id) where db_node_id is not null`,
  `alter table plans add column template_database text`,
  `alter table plans add constraint plans_template_database_format check (template_database ~ '^[a-z_][a-z0-9_]{0,62}$')`,
];

export const dbAndRelayRoles: Migration = {
  up: (db) => runStatements(db, statements),
};
