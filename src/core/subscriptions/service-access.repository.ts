import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';

/** The packages the user's running subscriptions (started, not ended) grant. */
export async function grantedPlanIds(db: Executor, userId: number, now: Date): Promise<number[]> {
  const rows = await db
    .selectFrom('subscriptions as s')
    .innerJoin('subscription_types as t', 't.id', 's.subscription_type_id')
    .select('t.plan_id')
    .distinct()
    .where('s.user_id', '=', userId)
    .where('t.plan_id', 'is not', null)
    .where('s.start_time', '<=', now)
    .where('s.end_time', '>', now)
    .execute();
  return rows.map((r) => r.plan_id!);
}

/** Every client ever granted to the user, in any status, locked for the change. */
export async function linkedClients(db: Executor, userId: number) {
  return db
    .selectFrom('subscription_clients as l')
    .innerJoin('clients as c', 'c.id', 'l.client_id')
    .select(['c.id', 'l.plan_id', 'c.status', 'c.suspend_reason'])
    .where('l.user_id', '=', userId)
    .orderBy('c.id')
    .forUpdate()
    .execute();
}

/**
 * Locks the user's row: two subscriptions starting at once for one user must not both create a
 * client. NO KEY UPDATE, because each of them already holds the KEY SHARE lock its subscription's
 * foreign key took, which FOR UPDATE would wait on, deadlocking the pair.
 */
export async function lockGrantee(db: Executor, userId: number) {
  return db.selectFrom('users').select(['id', 'login', 'email', 'name']).where('id', '=', userId).forNoKeyUpdate().executeTakeFirst();
}

/** A client with no domains yet, owned by the user, with its admin user like every client. */
export async function insertGrantedClient(db: Executor, row: { user_id: number; plan_id: number; name: string; email: string | null }, now: Date): Promise<number> {
  const client = await db
    .insertInto('clients')
    .values({ reseller_id: null, plan_id: row.plan_id, name: row.name, email_address: row.email, user_count: 1, service_meta: JSON.stringify({}), owner_user_id: row.user_id, created_at: now, updated_at: now })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db.insertInto('users').values({ role: 'client_admin', client_id: client.id, reseller_id: null, login: 'admin', email: row.email, name: 'Administrator', created_at: now }).execute();
  await db.insertInto('subscription_clients').values({ client_id: client.id, user_id: row.user_id, plan_id: row.plan_id, created_at: now }).execute();
  return client.id;
}

export async function setClientStatus(db: Executor, id: number, status: 'active' | 'suspended', reason: string | null, now: Date): Promise<void> {
  await db
    .updateTable('clients')
    .set({ status, suspended_at: status === 'suspended' ? now : null, suspend_reason: reason, updated_at: now })
    .where('id', '=', id)
    .execute();
}

/**
 * Users whose granted access is out of date: a granted client is active without a running
 * subscription on its package, or a running subscription on a package has no granted client yet or
 * only one the grant itself suspended (`reason`).
 */
export async function usersToSync(db: Executor, now: Date, reason: string, limit: number): Promise<number[]> {
  const { rows } = await sql<{ user_id: number }>`
    select l.user_id from subscription_clients l join clients c on c.id = l.client_id
    where c.status = 'active' and not exists (
      select 1 from subscriptions s join subscription_types t on t.id = s.subscription_type_id
      where s.user_id = l.user_id and t.plan_id = l.plan_id and s.start_time <= ${now} and s.end_time > ${now})
    union
    select s.user_id from subscriptions s join subscription_types t on t.id = s.subscription_type_id
    where t.plan_id is not null and s.start_time <= ${now} and s.end_time > ${now} and not exists (
      select 1 from subscription_clients l join clients c on c.id = l.client_id
      where l.user_id = s.user_id and l.plan_id = t.plan_id and not (c.status = 'suspended' and c.suspend_reason = ${reason}))
    limit ${limit}`.execute(db);
  return rows.map((r) => Number(r.user_id));
}

/** A live client and its current owner, locked for the change. */
export async function lockClientOwner(db: Executor, clientId: number) {
  return db.selectFrom('clients').select(['id', 'owner_user_id', 'reseller_id']).where('id', '=', clientId).where('status', 'in', ['active', 'suspended']).forNoKeyUpdate().executeTakeFirst();
}

export async function setClientOwner(db: Executor, clientId: number, userId: number | null, now: Date): Promise<void> {
  await db.updateTable('clients').set({ owner_user_id: userId, updated_at: now }).where('id', '=', clientId).execute();
}
