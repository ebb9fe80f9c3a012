import type { Migration } from 'kysely';
import { runStatements } from './run-statements.js';

// Placement by plan label, and what nodes measure of the sites they serve.
//
// `plans.node_label` (`key=value`) limits a plan's new sites to nodes carrying that label.
//
// `site_usage` is one row per site: the latest storage sample, the last transfer counter the node
// reported (a counter that only grows while the site stays on that node, so a resent sample adds
// nothing and a smaller one means the counter started again), and the transfer of the current
// bandwidth period. The over_* flags remember that a crossing was already announced, so the
// `site.over_quota` event fires once per crossing, not on every sample above the limit.
//
// `site_usage_daily` keeps a row per site and UTC day for the console's charts: the last storage
// seen that day and the transfer counted in it.
const statements = [
  `alter table plans add column node_label text`,
  `alter table plans add constraint plans_node_label_format check (node_label ~ '^[a-z0-9][a-z0-9._-]{0,62}=[A-Za-z0-9][A-Za-z0-9._-]{0,62}$')`,
  `create table site_usage (
     client_id bigint primary key references clients (id) on delete cascade,
     node_id bigint references nodes (id) on delete set null,
     sampled_at timestamptz not null,
     storage_bytes bigint not null,
     transfer_counter bigint not null,
     period_begin timestamptz not null,
     period_transfer_bytes bigint not null default 0,
     over_storage boolean not null default false,
     over_transfer boolean not null default false
   )`,
  `create table site_usage_daily (
     client_id bigint not null references clients (id) on delete cascade,
     day date not null,
     storage_bytes bigint not null,
     transfer_bytes bigint not null default 0,
     primary key (client_id, day)
   )`,
];

export const placementUsage: Migration = {
  up: (db) => runStatements(db, statements),
};
