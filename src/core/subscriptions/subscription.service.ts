import { AppError } from '../../errors/app-error.js';
import { recordAudit } from '../audit/audit.service.js';
import { inTransaction, type Ctx } from '../context.js';
import { findUserByEmail } from '../end-users/end-user.service.js';
import { handleNewSubscription } from '../family/family.service.js';
import { uniqueViolation } from '../shared/db-errors.js';
import { syncServiceAccess } from './service-access.service.js';
import { parseInput } from '../shared/validation.js';
import * as repo from './subscription.repository.js';
import { createPaymentInput, createSubscriptionInput, createSubscriptionTypeInput, type Subscription, type SubscriptionType } from './subscription.schema.js';

const DAY_MS = 86_400_000;

function requireOperator(ctx: Ctx): void {
  if (ctx.actor.kind !== 'operator' && ctx.actor.kind !== 'system') throw new AppError('forbidden', 'only operators manage subscription types');
}

export async function createSubscriptionType(ctx: Ctx, raw: unknown): Promise<SubscriptionType> {
  requireOperator(ctx);
  const input = parseInput(createSubscriptionTypeInput, raw);
  try {
    return await inTransaction(ctx, async (tx) => {
      let planId: number | null = null;
      if (input.package_uid !== undefined) {
        const plan = await repo.findPlanIdByUid(tx.db, input.package_uid);
        if (!plan) throw AppError.validation({ package_uid: ['is not a known package'] });
        planId = plan.id;
      }
      const row = await repo.insertSubscriptionType(tx.db, { code: input.code, name: input.name, length_days: input.length, access: [...new Set(input.access)], extension_method: input.extension_method, plan_id: planId, created_at: tx.clock() });
      await recordAudit(tx, { action: 'subscription_type.created', targetType: 'subscription_type', targetId: row.id, resellerId: null, after: { code: row.code, name: row.name, length_days: row.length_days, access: row.access, extension_method: row.extension_method, plan_id: row.plan_id } });
      return row;
    });
  } catch (e) {
    if (uniqueViolation(e) === 'subscription_types_code_key') throw AppError.validation({ code: ['is already taken'] });
    throw e;
  }
}

export async function listSubscriptionTypes(ctx: Ctx): Promise<SubscriptionType[]> {
  requireOperator(ctx);
  return repo.listSubscriptionTypes(ctx.db);
}

/** Where a new subscription of the type starts when the caller did not say: its extension method. */
export async function startOfNewSubscription(ctx: Ctx, userId: number, type: SubscriptionType): Promise<Date> {
  const now = ctx.clock();
  let after: Date | null = null;
  if (type.extension_method === 'extend_same_type') after = await repo.latestEndOfTypes(ctx.db, userId, [type.id], now);
  // Only family subscriptions (parent or child types) count; the user's other subscriptions are ignored.
  if (type.extension_method === 'extend_family') after = await repo.latestEndOfTypes(ctx.db, userId, await repo.familyTypeIds(ctx.db), now);
  return after && after > now ? after : now;
}

interface NewSubscriptionSpec {
  userId: number;
  type: SubscriptionType;
  isPaid: boolean;
  kind: Subscription['type'];
  note: string | null;
  start?: Date;
  end?: Date;
  paymentId: number | null;
}

/** Inserts a subscription and, in the same transaction, what follows from it (family codes, renewal). */
async function insertSubscription(tx: Ctx, spec: NewSubscriptionSpec): Promise<Subscription> {
  const start = spec.start ?? (await startOfNewSubscription(tx, spec.userId, spec.type));
  const end = spec.end ?? new Date(start.getTime() + spec.type.length_days * DAY_MS);
  if (end < start) throw AppError.validation({ end_time: ['must not be before start_time'] });
  const sub = await repo.insertSubscription(tx.db, {
    user_id: spec.userId,
    subscription_type_id: spec.type.id,
    start_time: start,
    end_time: end,
    is_paid: spec.isPaid,
    type: spec.kind,
    note: spec.note,
    meta: {},
    payment_id: spec.paymentId,
    created_at: tx.clock(),
  });
  await recordAudit(tx, { action: 'subscription.created', targetType: 'subscription', targetId: sub.id, resellerId: null, after: { user_id: sub.user_id, subscription_type_id: sub.subscription_type_id, start_time: sub.start_time, end_time: sub.end_time, is_paid: sub.is_paid, type: sub.type, payment_id: sub.payment_id } });
  await handleNewSubscription(tx, sub.id);
  // A type on a package grants its service as soon as the subscription runs; later starts wait for the sweep.
  if (spec.type.plan_id !== null) await syncServiceAccess(tx, spec.userId);
  return sub;
}

async function resolveUserAndType(tx: Ctx, email: string, typeId: number) {
  const user = await findUserByEmail(tx, email.trim());
  if (!user) throw AppError.notFound('user');
  const type = await repo.findSubscriptionType(tx.db, { id: typeId });
  if (!type) throw AppError.notFound('subscription type');
  return { user, type };
}

/** `POST /api/v1/subscriptions/create` (server to server). */
export async function createSubscription(ctx: Ctx, raw: unknown): Promise<{ subscription: Subscription; type: SubscriptionType }> {
  const input = parseInput(createSubscriptionInput, raw);
  return inTransaction(ctx, async (tx) => {
    const { user, type } = await resolveUserAndType(tx, input.email, input.subscription_type_id);
    const subscription = await insertSubscription(tx, {
      userId: user.id,
      type,
      isPaid: input.is_paid,
      kind: input.type,
      note: input.note ?? null,
      ...(input.start_time ? { start: input.start_time } : {}),
      ...(input.end_time ? { end: input.end_time } : {}),
      paymentId: null,
    });
    return { subscription, type };
  });
}

/**
 * A payment with its items and meta; a paid one creates its subscription at once, whose family codes
 * are counted from the items and meta.
 */
export async function createPayment(ctx: Ctx, raw: unknown) {
  const input = parseInput(createPaymentInput, raw);
  return inTransaction(ctx, async (tx) => {
    const { user, type } = await resolveUserAndType(tx, input.email, input.subscription_type_id);
    const itemTypes = input.items.map((i) => i.subscription_type_id).filter((v): v is number => v !== undefined);
    const itemMetaTypes = input.items.map((i) => i.meta.subscription_type_item_id).filter((v): v is string => v !== undefined);
    if (itemMetaTypes.some((v) => !/^[0-9]{1,15}$/.test(v))) throw AppError.validation({ 'items.meta': ['subscription_type_item_id must be a subscription type id'] });
    const wanted = [...new Set([...itemTypes, ...itemMetaTypes.map(Number)])];
    const known = await repo.findSubscriptionTypesByIds(tx.db, wanted);
    if (known.length !== wanted.length) throw AppError.validation({ 'items.subscription_type_id': ['is not a known subscription type'] });
    if (input.parent_payment_id !== undefined) {
      const parent = await repo.findPayment(tx.db, input.parent_payment_id);
      // Another user's payment is not found either: renewing it would hand that user's family over.
      if (!parent || parent.user_id !== user.id) throw AppError.validation({ parent_payment_id: ['is not a payment of this user'] });
      if (parent.subscription_type_id !== type.id) throw AppError.validation({ parent_payment_id: ['is a payment of another subscription type'] });
    }
    const now = tx.clock();
    const amount = input.amount ?? input.items.reduce((sum, i) => sum + (i.price ?? 0) * i.count, 0);
    const payment = await repo.insertPayment(tx.db, { user_id: user.id, subscription_type_id: type.id, status: input.status, amount_cents: amount, meta: input.meta, paid_at: input.status === 'paid' ? now : null, parent_payment_id: input.parent_payment_id ?? null, created_at: now });
    const items = await repo.insertPaymentItems(
      tx.db,
      input.items.map((i) => ({ payment_id: payment.id, subscription_type_id: i.subscription_type_id ?? null, name: i.name ?? '', count: i.count, price_cents: i.price ?? 0, meta: i.meta })),
    );
    await recordAudit(tx, { action: 'payment.created', targetType: 'payment', targetId: payment.id, resellerId: null, after: { user_id: user.id, subscription_type_id: type.id, status: payment.status, amount_cents: amount, meta: input.meta, items: items.length } });
    const subscription = input.status === 'paid' ? await insertSubscription(tx, { userId: user.id, type, isPaid: true, kind: 'regular', note: null, paymentId: payment.id }) : null;
    return { payment: { ...payment, meta: input.meta }, items, subscription, type };
  });
}

/** `GET /api/v1/users/subscriptions`: the signed-in user's subscriptions, newest start first. */
export async function listMySubscriptions(ctx: Ctx) {
  if (ctx.actor.kind !== 'user') throw new AppError('unauthenticated', 'Not authorized: user token required');
  return repo.listUserSubscriptions(ctx.db, ctx.actor.userId);
}
