import type { Migration } from 'kysely';
import { runStatements } from './run-statements.js';

// Two leftovers of issue 16.
//
// Every user of an instance's res_users reaches the control plane (docs/adr/0027, "Addendum: every
// user reported"). The db node sends a digest of the whole list each interval and the list itself
// only when the control plane holds another one, in pages; the pages of one digest gather here
// (`digest`, `position`) until the list is whole, and then that digest becomes the instance's list
// (`instance_databases.users_digest`) and the rows of any other digest go. The first 200 users kept
// in `users_report` until now move here under the empty digest, which no node's digest matches, so
// every node sends its whole lists once.
//
// Names the control plane's own relay missed (docs/adr/0022): while relay nodes exist its relay
// jobs stand aside; the names they carried are kept here, so that when the last relay node goes the
// rebuild also removes, from a relay that cannot list what it holds (the http driver), the names
// that stopped being live meanwhile.
const statements = [
  `create table instance_reported_users (
     client_id bigint not null references instance_databases (client_id) on delete cascade,
     digest text not null,
     position integer not null check (position >= 0),
     login text not null,
     name text,
     active boolean not null,
     share boolean not null,
     primary key (client_id, digest, position)
   )`,
  `alter table instance_databases add column users_digest text`,
  `insert into instance_reported_users (client_id, digest, position, login, name, active, share)
   select d.client_id, '', (e.ord - 1)::int, coalesce(e.u ->> 'login', ''), e.u ->> 'name', coalesce((e.u ->> 'active')::boolean, false), coalesce((e.u ->> 'share')::boolean, false)
   from instance_databases d cross join lateral jsonb_array_elements(d.users_report) with ordinality as e(u, ord)
   where jsonb_typeof(d.users_report) = 'array'`,
  `update instance_databases set users_digest = '' where jsonb_typeof(users_report) = 'array'`,
  `alter table instance_databases drop column users_report`,
  `create table relay_missed_names (
     name text primary key,
     since timestamptz not null
   )`,
];

export const reportedUsersAndRelayMissed: Migration = {
  up: (db) => runStatements(db, statements),
};
