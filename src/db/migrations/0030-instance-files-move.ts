import type { Migration } from 'kysely';
import { runStatements } from './run-statements.js';

// Stored files move into the instance's own database (docs/adr/0027, addendum "files move into
// ir_attachment"). A file uploaded to an instance whose database has Odoo's ir_attachment is staged
// in instance_files until the db node has copied it there; then its content is cleared (`moved_at`
// says when) and the row stays as the record of what the doors were asked. `sha256` lets the node
// check what it fetched (an instance without such a database keeps the content as before).
//
// Files already here for instances with a database move the same way: the instance-users job,
// queued again here where some file is still held, rewrites every live instance database's object,
// which now lists its staged files.
const statements = [
  `alter table instance_files alter column content drop not null`,
  `alter table instance_files add column sha256 text`,
  `alter table instance_files add column moved_at timestamptz`,
  `update instance_files set sha256 = encode(sha256(content), 'hex') where content is not null`,
  `alter table instance_files add constraint instance_files_held check ((content is null) = (moved_at is not null))`,
  `insert into jobs (kind, payload, max_attempts, singleton_key)
   select 'saas.push_instance_users', '{}', 10, 'saas.push_instance_users'
   where exists (select 1 from instance_files f join instance_databases d on d.client_id = f.client_id where f.content is not null)
     and not exists (select 1 from jobs where singleton_key = 'saas.push_instance_users' and state in ('queued', 'running'))`,
];

export const instanceFilesMove: Migration = {
  up: (db) => runStatements(db, statements),
};
