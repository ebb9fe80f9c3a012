import type { Migration } from 'kysely';
import { runStatements } from './run-statements.js';

// A site's storage is its files and its databases (issue 16, ADR 23): the web node reports the
// files, the db node the databases, each on its own schedule, and a site may have databases before
// (or without) any web node measuring its files. The "over its storage quota, already announced"
// flag therefore moves from `site_usage` (a row only once files were measured) to a table of its
// own, one row per site that is over: either report can set or clear it.
const statements = [
  `create table site_storage_over (
     client_id bigint primary key references clients (id) on delete cascade,
     since timestamptz not null
   )`,
  `insert into site_storage_over (client_id, since) select client_id, sampled_at from site_usage where over_storage`,
  `alter table site_usage drop column over_storage`,
];

export const siteStorageOver: Migration = {
  up: (db) => runStatements(db, statements),
};
