import type { Migration } from 'kysely';
import { runStatements } from './run-statements.js';

// The Hostplane client a user's subscriptions on a package grant: one per user and package, created
// by the grant and suspended by it when no subscription on that package is running any more. Clients
// an operator or another door created are never in this table, so the grant never touches them.
const statements = [
  `create table subscription_clients (
     client_id bigint primary key references clients (id) on delete cascade,
     user_id bigint not null references users (id) on delete cascade,
     plan_id bigint not null references plans (id),
     created_at timestamptz not null default now()
   )`,
  // One grant per user and package, ever: a cancelled granted client is not replaced.
  `create unique index subscription_clients_user_plan_key on subscription_clients (user_id, plan_id)`,
  // The sweep looks for subscriptions that ended or started recently, by end and start.
  `create index subscriptions_start_idx on subscriptions (start_time)`,
];

export const subscriptionClients: Migration = {
  up: (db) => runStatements(db, statements),
};
