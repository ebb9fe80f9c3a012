import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';
import type { ExtensionMethod, PaymentStatus } from '../../db/schema.js';
import type { Subscription } from './subscription.schema.js';

const typeColumns = ['id', 'code', 'name', 'length_days', 'access', 'extension_method', 'plan_id', 'created_at'] as const;
const subColumns = ['id', 'user_id', 'subscription_type_id', 'start_time', 'end_time', 'is_paid', 'type', 'note', 'meta', 'payment_id', 'renewed_subscription_id', 'created_at'] as const;

export async function insertSubscriptionType(db: Executor, row: { code: string; name: string; length_days: number; access: string[]; extension_method: ExtensionMethod; plan_id: number | null; created_at: Date }) {
  return db.insertInto('subscription_types').values(row).returning(typeColumns).executeTakeFirstOrThrow();
}

export async function listSubscriptionTypes(db: Executor) {
  return db.selectFrom('subscription_types').select(typeColumns).orderBy('id').execute();
}

export async function findSubscriptionType(db: Executor, ref: { id: number } | { code: string }) {
  const q = db.selectFrom('subscription_types').select(typeColumns);
  return ('id' in ref ? q.where('id', '=', ref.id) : q.where('code', '=', ref.code)).executeTakeFirst();
}

export async function findSubscriptionTypesByIds(db: Executor, ids: number[]) {
  if (ids.length === 0) return [];
  return db.selectFrom('subscription_types').select(typeColumns).where('id', 'in', ids).execute();
}

export async function findPlanIdByUid(db: Executor, uid: string) {
  return db.selectFrom('plans').select('id').where('uid', '=', uid).executeTakeFirst();
}

/** A subscription before it is stored: the database gives the id; a renewal link comes later. */
export type NewSubscription = Omit<Subscription, 'id' | 'renewed_subscription_id'>;

export async function insertSubscription(db: Executor, row: NewSubscription) {
  return db
    .insertInto('subscriptions')
    .values({ ...row, meta: JSON.stringify(row.meta) })
    .returning(subColumns)
    .executeTakeFirstOrThrow();
}

/** Row-locks the subscription, so two handlings of one new subscription run one after the other. */
export async function lockSubscription(db: Executor, id: number) {
  return db.selectFrom('subscriptions').select(subColumns).where('id', '=', id).forUpdate().executeTakeFirst();
}

export async function findSubscription(db: Executor, id: number) {
  return db.selectFrom('subscriptions').select(subColumns).where('id', '=', id).executeTakeFirst();
}

/** The latest end among the user's subscriptions of these types that have not ended by `now`. */
export async function latestEndOfTypes(db: Executor, userId: number, typeIds: number[], now: Date): Promise<Date | null> {
  if (typeIds.length === 0) return null;
  const row = await db
    .selectFrom('subscriptions')
    .select((eb) => eb.fn.max('end_time').as('end'))
    .where('user_id', '=', userId)
    .where('subscription_type_id', 'in', typeIds)
    .where('end_time', '>', now)
    .executeTakeFirst();
  return row?.end ? new Date(row.end as Date) : null;
}

/** Every subscription type that is a family parent or child (custom families: the types codes were issued for). */
export async function familyTypeIds(db: Executor): Promise<number[]> {
  const types = await db.selectFrom('family_subscription_types').select(['master_subscription_type_id', 'slave_subscription_type_id']).execute();
  const issued = await db.selectFrom('family_requests').select('subscription_type_id').distinct().execute();
  const ids = new Set<number>();
  for (const t of types) {
    ids.add(t.master_subscription_type_id);
    if (t.slave_subscription_type_id !== null) ids.add(t.slave_subscription_type_id);
  }
  for (const r of issued) ids.add(r.subscription_type_id);
  return [...ids];
}

export async function listUserSubscriptions(db: Executor, userId: number) {
  return db
    .selectFrom('subscriptions as s')
    .innerJoin('subscription_types as t', 't.id', 's.subscription_type_id')
    .select(['s.id', 's.start_time', 's.end_time', 's.is_paid', 's.type', 't.code', 't.access'])
    .where('s.user_id', '=', userId)
    .orderBy('s.start_time', 'desc')
    .orderBy('s.id', 'desc')
    .execute();
}

/** Ends a subscription now (a cancelled family code takes the child's access away). */
export async function endSubscription(db: Executor, id: number, now: Date) {
  await db
    .updateTable('subscriptions')
    .set({ end_time: now, start_time: sql<Date>`least(start_time, ${now}::timestamptz)` })
    .where('id', '=', id)
    .where('end_time', '>', now)
    .execute();
}

export async function setRenewedSubscription(db: Executor, id: number, previousId: number) {
  await db.updateTable('subscriptions').set({ renewed_subscription_id: previousId }).where('id', '=', id).execute();
}

export async function insertPayment(db: Executor, row: { user_id: number; subscription_type_id: number | null; status: PaymentStatus; amount_cents: number; meta: Record<string, string>; paid_at: Date | null; parent_payment_id: number | null; created_at: Date }) {
  return db
    .insertInto('payments')
    .values({ ...row, meta: JSON.stringify(row.meta) })
    .returning(['id', 'user_id', 'subscription_type_id', 'status', 'amount_cents', 'meta', 'paid_at', 'parent_payment_id', 'created_at'])
    .executeTakeFirstOrThrow();
}

export async function insertPaymentItems(db: Executor, rows: { payment_id: number; subscription_type_id: number | null; name: string; count: number; price_cents: number; meta: Record<string, string> }[]) {
  if (rows.length === 0) return [];
  return db
    .insertInto('payment_items')
    .values(rows.map((r) => ({ ...r, meta: JSON.stringify(r.meta) })))
    .returning(['id', 'subscription_type_id', 'name', 'count', 'price_cents', 'meta'])
    .execute();
}

export async function findPayment(db: Executor, id: number) {
  return db.selectFrom('payments').select(['id', 'user_id', 'subscription_type_id', 'status', 'meta', 'parent_payment_id']).where('id', '=', id).executeTakeFirst();
}

export async function listPaymentItems(db: Executor, paymentId: number) {
  return db.selectFrom('payment_items').select(['id', 'subscription_type_id', 'count', 'meta']).where('payment_id', '=', paymentId).orderBy('id').execute();
}
