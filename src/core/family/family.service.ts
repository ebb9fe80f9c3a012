import { randomBytes } from 'node:crypto';
import { AppError } from '../../errors/app-error.js';
import { auditRowWithoutTarget, recordAudit, type AuditEntry } from '../audit/audit.service.js';
import { WEBHOOK_AUDIT_ACTIONS } from '../webhooks/webhook.events.js';
import { inTransaction, type Ctx } from '../context.js';
import { uniqueViolation } from '../shared/db-errors.js';
import { parseInput } from '../shared/validation.js';
import * as userRepo from '../end-users/end-user.repository.js';
import { authenticateUserToken, userOfToken, userTokenLookup } from '../end-users/end-user.tokens.js';
import { syncServiceAccess } from '../subscriptions/service-access.service.js';
import * as subRepo from '../subscriptions/subscription.repository.js';
import type { Subscription, SubscriptionType } from '../subscriptions/subscription.schema.js';
import * as repo from './family.repository.js';
import { createFamilyTypeInput, familyCodeInput, setFamilyCodeExpiryInput, type FamilyCode, type FamilyRequestProblem, type FamilyType } from './family.schema.js';

const DAY_MS = 86_400_000;
const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';
const MAX_CODES_PER_SUBSCRIPTION = 10_000;

/** 32 characters of [0-9a-z]; bytes of 252 and above are dropped so every character is equally likely. */
export function generateFamilyCode(): string {
  let out = '';
  while (out.length < 32) {
    for (const b of randomBytes(40)) {
      if (b < 252 && out.length < 32) out += ALPHABET[b % 36];
    }
  }
  return out;
}

// The messages are the original module's, word for word: clients match on them.
function problem(reason: Exclude<FamilyRequestProblem, 'family_request_wrong_status'>, code: string, email = ''): AppError {
  switch (reason) {
    case 'family_request_not_found':
      return new AppError('not_found', `Family request code [${code}] not found`, { reason });
    case 'family_request_one_per_user':
      return new AppError('invalid_state', `User [${email}] already used company code from this company subscription.`, { reason });
    case 'family_request_self_use_forbidden':
      return new AppError('invalid_state', `Cannot activate family request code [${code}] on parent's account`, { reason });
    case 'family_request_expired':
      return new AppError('invalid_state', `Family request code [${code}] expired`, { reason });
    // Ours: the original has no retired family types, so it never meets a code of one.
    case 'family_request_wrong_type':
      return new AppError('invalid_state', `Family request code [${code}] belongs to a family type that no longer applies to its subscription`, { reason });
  }
}

function requireOperator(ctx: Ctx): void {
  if (ctx.actor.kind !== 'operator' && ctx.actor.kind !== 'system') throw new AppError('forbidden', 'only operators manage family types');
}

function requireUser(ctx: Ctx): number {
  if (ctx.actor.kind !== 'user') throw new AppError('unauthenticated', 'Not authorized: user token required');
  return ctx.actor.userId;
}

export async function createFamilyType(ctx: Ctx, raw: unknown): Promise<FamilyType> {
  requireOperator(ctx);
  const input = parseInput(createFamilyTypeInput, raw);
  try {
    return await inTransaction(ctx, async (tx) => {
      const parent = await subRepo.findSubscriptionType(tx.db, { code: input.parent });
      if (!parent) throw AppError.validation({ parent: ['is not a known subscription type'] });
      const child = input.child ? await subRepo.findSubscriptionType(tx.db, { code: input.child }) : null;
      if (input.child && !child) throw AppError.validation({ child: ['is not a known subscription type'] });
      const row = await repo.insertFamilyType(tx.db, {
        master_subscription_type_id: parent.id,
        slave_subscription_type_id: child?.id ?? null,
        donation_method: input.method,
        days: input.days ?? null,
        count: input.count,
        is_paid: input.is_paid,
        created_at: tx.clock(),
      });
      await recordAudit(tx, { action: 'family_type.created', targetType: 'family_type', targetId: row.id, resellerId: null, after: { parent: parent.code, child: child?.code ?? null, donation_method: row.donation_method, days: row.days, count: row.count, is_paid: row.is_paid } });
      return { id: row.id, parent: parent.code, child: child?.code ?? null, donation_method: row.donation_method, days: row.days, count: row.count, is_paid: row.is_paid, created_at: row.created_at, disabled_at: row.disabled_at };
    });
  } catch (e) {
    if (uniqueViolation(e) === 'family_subscription_types_master_live_key') throw AppError.validation({ parent: ['already has a family type (disable it first to replace it)'] });
    throw e;
  }
}

export async function listFamilyTypes(ctx: Ctx): Promise<FamilyType[]> {
  requireOperator(ctx);
  return repo.listFamilyTypes(ctx.db);
}

/**
 * Retires a family type: new parent subscriptions of its type get no codes from it (a new family type
 * may take its place), its unused codes answer `family_request_wrong_type`, and children who already
 * accepted one keep their subscriptions.
 */
export async function disableFamilyType(ctx: Ctx, id: number): Promise<FamilyType> {
  requireOperator(ctx);
  return inTransaction(ctx, async (tx) => {
    const disabled = await repo.disableFamilyType(tx.db, id, tx.clock());
    if (!disabled) {
      if (await repo.findFamilyType(tx.db, id)) throw new AppError('conflict', 'family type is already disabled');
      throw AppError.notFound('family type');
    }
    await recordAudit(tx, { action: 'family_type.disabled', targetType: 'family_type', targetId: id, resellerId: null, before: { disabled_at: null }, after: { disabled_at: disabled.disabled_at } });
    const view = (await repo.listFamilyTypes(tx.db)).find((f) => f.id === id);
    if (!view) throw AppError.notFound('family type');
    return view;
  });
}

/** An operator sets or clears when a code stops being usable; an expired code answers `family_request_expired`. */
export async function setFamilyCodeExpiry(ctx: Ctx, code: string, raw: unknown): Promise<FamilyCode> {
  requireOperator(ctx);
  const input = parseInput(setFamilyCodeExpiryInput, raw);
  return inTransaction(ctx, async (tx) => {
    const before = await repo.findRequestByCode(tx.db, code);
    if (!before) throw AppError.notFound('family code');
    const expiresAt = input.expires_at === null ? null : new Date(input.expires_at);
    await repo.setRequestExpiry(tx.db, code, expiresAt, tx.clock());
    await recordAudit(tx, { action: 'family_request.expiry_set', targetType: 'family_request', targetId: before.id, resellerId: null, before: { expires_at: before.expires_at }, after: { expires_at: expiresAt } });
    const view = await repo.findRequestView(tx.db, code);
    if (!view) throw AppError.notFound('family code');
    return view;
  });
}

/** How many codes of which child type a parent subscription is owed. */
async function codesOwed(tx: Ctx, sub: Subscription, ft: NonNullable<Awaited<ReturnType<typeof repo.findFamilyType>>>): Promise<Map<number, number>> {
  const payment = sub.payment_id !== null ? await subRepo.findPayment(tx.db, sub.payment_id) : undefined;
  const items = payment ? await subRepo.listPaymentItems(tx.db, payment.id) : [];
  const owed = new Map<number, number>();
  if (ft.slave_subscription_type_id !== null) {
    let n = ft.count;
    if (n === 0) {
      const fromMeta = payment?.meta.family_subscriptions_count;
      n = fromMeta !== undefined && /^[0-9]{1,5}$/.test(fromMeta) ? Number(fromMeta) : items.filter((i) => i.subscription_type_id === sub.subscription_type_id).reduce((s, i) => s + i.count, 0);
    }
    owed.set(ft.slave_subscription_type_id, n);
  } else {
    // Custom families: each payment item names its child type in meta, and its count is how many.
    for (const item of items) {
      const typeId = item.meta.subscription_type_item_id;
      if (typeId === undefined || !/^[0-9]{1,15}$/.test(typeId)) continue;
      owed.set(Number(typeId), (owed.get(Number(typeId)) ?? 0) + item.count);
    }
  }
  return owed;
}

/**
 * What a new subscription sets off when its type is a family parent: its codes (never more than it is
 * owed, however often this runs) and, on renewal, the previous subscription's children carried over.
 */
export async function handleNewSubscription(ctx: Ctx, subscriptionId: number): Promise<{ created: number }> {
  return inTransaction(ctx, async (tx) => {
    const sub = await subRepo.lockSubscription(tx.db, subscriptionId);
    if (!sub) throw AppError.notFound('subscription');
    const ftRow = await repo.findFamilyTypeOfMaster(tx.db, sub.subscription_type_id);
    if (!ftRow) return { created: 0 };
    const owed = await codesOwed(tx, sub, ftRow);
    const existing = await repo.countRequestsByType(tx.db, sub.id);
    const now = tx.clock();
    const rows: repo.NewFamilyRequest[] = [];
    for (const [typeId, want] of owed) {
      const missing = Math.min(want, MAX_CODES_PER_SUBSCRIPTION) - (existing.get(typeId) ?? 0);
      for (let i = 0; i < missing; i++) {
        rows.push({ code: generateFamilyCode(), master_user_id: sub.user_id, master_subscription_id: sub.id, family_subscription_type_id: ftRow.id, subscription_type_id: typeId, created_at: now, updated_at: now });
      }
    }
    const inserted = await repo.insertFamilyRequests(tx.db, rows);
    if (inserted.length) {
      await recordAudit(tx, { action: 'family_request.created', targetType: 'subscription', targetId: sub.id, resellerId: null, after: { count: inserted.length, subscription_type_ids: [...new Set(inserted.map((r) => r.subscription_type_id))] } });
    }
    await handOverChildren(tx, sub);
    return { created: inserted.length };
  });
}

/** An operator handles a subscription's creation again (a replayed event): its codes top up to the count, never beyond. */
export async function replayNewSubscription(ctx: Ctx, subscriptionId: number): Promise<{ created: number }> {
  if (ctx.actor.kind !== 'operator') throw new AppError('forbidden', 'operators only');
  return handleNewSubscription(ctx, subscriptionId);
}

async function handOverChildren(tx: Ctx, sub: Subscription): Promise<void> {
  const payment = sub.payment_id !== null ? await subRepo.findPayment(tx.db, sub.payment_id) : undefined;
  const keep = payment?.meta.keep_requests_unactivated;
  if (keep === '1' || keep === 'true') return;
  // A recurring charge renews the subscription of the payment it names, however long the gap; otherwise
  // the previous parent is the one that ended within the configured gap before this one starts.
  const previous =
    payment?.parent_payment_id != null
      ? await repo.findSubscriptionOfPayment(tx.db, sub, payment.parent_payment_id)
      : await repo.findPreviousParent(tx.db, sub, tx.settings.familyRenewalGapSeconds ?? 0);
  if (!previous) return;
  if (sub.renewed_subscription_id === null) await subRepo.setRenewedSubscription(tx.db, sub.id, previous.id);
  for (const old of await repo.listAcceptedRequests(tx.db, previous.id)) {
    if (old.slave_user_id !== null) await activateOnRenewal(tx, sub, old.subscription_type_id, old.slave_user_id);
  }
}

/** Gives the user one unused code of the (renewing) parent subscription, unless they hold one already. */
async function activateOnRenewal(tx: Ctx, master: Master, typeId: number, userId: number): Promise<void> {
  if (await repo.hasAcceptedRequest(tx.db, master.id, typeId, userId)) return;
  const free = await repo.takeCreatedRequest(tx.db, master.id, typeId);
  if (!free) return;
  await acceptOn(tx, free, master, userId, master.start_time);
}

type RequestRow = NonNullable<Awaited<ReturnType<typeof repo.findRequestByCode>>>;
type Master = Pick<Subscription, 'id' | 'start_time' | 'end_time'>;

/** The child subscription's term: the parent's (copy), or the family type's days from `fixedFrom`. */
function childTerm(ft: { donation_method: string; days: number | null }, type: Pick<SubscriptionType, 'length_days'>, master: Master, fixedFrom: Date): { start: Date; end: Date } {
  if (ft.donation_method === 'copy') return { start: master.start_time, end: master.end_time };
  return { start: fixedFrom, end: new Date(fixedFrom.getTime() + (ft.days ?? type.length_days) * DAY_MS) };
}

const childMeta = (request: RequestRow, master: Master) => ({ family_request_id: String(request.id), master_subscription_id: String(master.id) });

/** The acceptance's two audit entries: the code taken, and the child subscription it created. */
function acceptanceAudits(request: RequestRow, userId: number, subscriptionId: number, child: { subscription_type_id: number; start: Date; end: Date; is_paid: boolean }): [AuditEntry, AuditEntry] {
  return [
    { action: 'family_request.accepted', targetType: 'family_request', targetId: request.id, resellerId: null, before: { status: request.status, slave_user_id: null }, after: { status: 'accepted', slave_user_id: userId, slave_subscription_id: subscriptionId } },
    { action: 'subscription.created', targetType: 'subscription', targetId: subscriptionId, resellerId: null, after: { user_id: userId, subscription_type_id: child.subscription_type_id, start_time: child.start, end_time: child.end, is_paid: child.is_paid, type: 'family' } },
  ];
}

const wrongStatus = (code: string, status: string) => new AppError('conflict', `Family request code [${code}] has wrong status: ${status}`, { reason: 'family_request_wrong_status' });

/** Accepts the code for the user and creates the child subscription; the status guard decides races. */
async function acceptOn(tx: Ctx, request: RequestRow, master: Master, userId: number, fixedFrom: Date): Promise<{ subscription: Subscription; type: SubscriptionType }> {
  const now = tx.clock();
  const accepted = await repo.acceptRequest(tx.db, request.id, userId, now);
  if (!accepted) throw wrongStatus(request.code, 'accepted');
  const ft = await repo.findFamilyType(tx.db, request.family_subscription_type_id);
  const type = await subRepo.findSubscriptionType(tx.db, { id: request.subscription_type_id });
  if (!ft || !type) throw new AppError('internal', 'family request without its family or subscription type');
  const { start, end } = childTerm(ft, type, master, fixedFrom);
  const subscription = await subRepo.insertSubscription(tx.db, {
    user_id: userId,
    subscription_type_id: type.id,
    start_time: start,
    end_time: end,
    is_paid: ft.is_paid,
    type: 'family',
    note: null,
    meta: childMeta(request, master),
    payment_id: null,
    created_at: now,
  });
  await repo.setSlaveSubscription(tx.db, request.id, subscription.id);
  if (type.plan_id !== null) await syncServiceAccess(tx, userId);
  await recordAudit(tx, acceptanceAudits(request, userId, subscription.id, { subscription_type_id: type.id, start, end, is_paid: ft.is_paid }));
  return { subscription, type };
}

// Neither is a webhook event today; were one to become one, its delivery would have to commit with it.
const ACCEPTANCE_ACTIONS = ['family_request.accepted', 'subscription.created'];
const acceptanceIsWebhookEvent = () => ACCEPTANCE_ACTIONS.some((a) => WEBHOOK_AUDIT_ACTIONS.has(a));

/**
 * The common activation (no service access to grant, no renewal to follow) as one statement: the
 * code, the child subscription, the link and both audit rows, with no transaction around them.
 */
async function acceptInOneStatement(ctx: Ctx, request: RequestRow, master: Master, ft: { donation_method: string; days: number | null; is_paid: boolean }, type: SubscriptionType, userId: number): Promise<{ subscription: Subscription; type: SubscriptionType }> {
  const now = ctx.clock();
  const { start, end } = childTerm(ft, type, master, now);
  const meta = childMeta(request, master);
  // The id is the statement's to draw; 0 stands for it, and the statement writes it where the paths say.
  const [accepted, created] = acceptanceAudits(request, userId, 0, { subscription_type_id: type.id, start, end, is_paid: ft.is_paid });
  const done = await repo.acceptRequestWithChild(
    ctx.db,
    request.id,
    { user_id: userId, subscription_type_id: type.id, start_time: start, end_time: end, is_paid: ft.is_paid, meta },
    [
      { row: auditRowWithoutTarget(ctx, accepted), targetId: String(request.id), subscriptionIdAt: ['slave_subscription_id', 'after'] },
      { row: auditRowWithoutTarget(ctx, created), targetId: null, subscriptionIdAt: null },
    ],
    now,
  );
  if (!done) throw wrongStatus(request.code, 'accepted');
  const subscription: Subscription = { id: done.subscriptionId, user_id: userId, subscription_type_id: type.id, start_time: start, end_time: end, is_paid: ft.is_paid, type: 'family', note: null, meta, payment_id: null, renewed_subscription_id: null, created_at: now };
  return { subscription, type };
}

/**
 * `/api/v1/family/activate` with the user's access token: the token is checked in the activation's
 * own read (one round trip for both, the hot path of a company handing out its codes), then the
 * checks run in the original's order on that read, then the code is taken. The read and the write
 * need no transaction around them: every check reads what a transaction at read committed would also
 * have read statement by statement, and the write's own guards (the status, the one-per-user index)
 * decide between concurrent activations. As in the original, a bad token is refused before the body
 * is looked at.
 */
export async function activateFamilyRequest(ctx: Ctx, token: string | undefined, raw: unknown): Promise<{ code: string; subscription: Subscription; type: SubscriptionType }> {
  const lookup = userTokenLookup(ctx, token);
  let code: string;
  try {
    ({ code } = parseInput(familyCodeInput, raw));
  } catch (e) {
    await authenticateUserToken(ctx, token);
    throw e;
  }
  const { token: found, activation } = await repo.findActivation(ctx.db, lookup, code);
  const userId = userOfToken(ctx, lookup, found);
  const userCtx: Ctx = { ...ctx, actor: { kind: 'user', userId } };
  // Only the one-per-user refusal prints the address, so only it reads it.
  const email = async () => (await userRepo.findUserById(ctx.db, userId))?.email ?? '';
  if (!activation) throw problem('family_request_not_found', code);
  const { request, familyType: ft, master, childType: type } = activation;
  if (activation.heldByUser) throw problem('family_request_one_per_user', code, await email());
  if (ft?.donation_method === 'fixed_days' && request.master_user_id === userId) throw problem('family_request_self_use_forbidden', code);
  const now = ctx.clock();
  if (!master || master.end_time <= now || (request.expires_at !== null && request.expires_at <= now)) throw problem('family_request_expired', code);
  if (!ft || ft.disabled_at !== null || ft.master_subscription_type_id !== master.subscription_type_id) throw problem('family_request_wrong_type', code);
  if (request.status !== 'created') throw wrongStatus(code, request.status);
  if (!type) throw new AppError('internal', 'family request without its subscription type');
  try {
    if (type.plan_id === null && !activation.renewed && !acceptanceIsWebhookEvent()) return { code, ...(await acceptInOneStatement(userCtx, request, master, ft, type, userId)) };
    // Granting service access and following renewals read and write more: one transaction for all of it.
    return await inTransaction(userCtx, async (tx) => {
      const result = await acceptOn(tx, request, master, userId, now);
      await followRenewals(tx, master.id, request.subscription_type_id, userId);
      return { code, ...result };
    });
  } catch (e) {
    // The partial unique index settles a user racing several codes of one parent subscription.
    if (uniqueViolation(e) === 'family_requests_one_per_user_key') throw problem('family_request_one_per_user', code, await email());
    throw e;
  }
}

/** A late acceptance of an old code carries on to the subscriptions that renewed it. */
async function followRenewals(tx: Ctx, masterId: number, typeId: number, userId: number): Promise<void> {
  const seen = new Set<number>([masterId]);
  const queue = [masterId];
  while (queue.length) {
    for (const next of await repo.findRenewals(tx.db, queue.shift()!)) {
      if (seen.has(next.id)) continue;
      seen.add(next.id);
      await activateOnRenewal(tx, next, typeId, userId);
      queue.push(next.id);
    }
  }
}

/**
 * The parent takes a code back: unused, it can no longer be activated; accepted, the child's access
 * ends now and, as in the original, a fresh code takes its place so the company keeps its seat.
 */
export async function cancelFamilyRequest(ctx: Ctx, raw: unknown): Promise<{ code: string; status: 'canceled'; new_code?: string }> {
  return cancelFamilyRequestOf(ctx, requireUser(ctx), raw);
}

/**
 * The same, for the codes of `userId` as parent, whoever the actor is: the client area cancels the
 * codes of its client's owner on behalf of the client's administrator (who is the audit's actor).
 */
export async function cancelFamilyRequestOf(ctx: Ctx, userId: number, raw: unknown): Promise<{ code: string; status: 'canceled'; new_code?: string }> {
  const { code } = parseInput(familyCodeInput, raw);
  return inTransaction(ctx, async (tx) => {
    const request = await repo.findRequestByCode(tx.db, code);
    // Another parent's code is simply not found, never "forbidden".
    if (!request || request.master_user_id !== userId) throw problem('family_request_not_found', code);
    const now = tx.clock();
    const canceled = await repo.cancelRequest(tx.db, request.id, now);
    if (!canceled) throw new AppError('conflict', `Family request code [${code}] has wrong status: ${request.status}`, { reason: 'family_request_wrong_status' });
    let replacement: string | undefined;
    if (request.status === 'accepted') {
      if (request.slave_subscription_id !== null) await subRepo.endSubscription(tx.db, request.slave_subscription_id, now);
      [replacement] = (await repo.insertFamilyRequests(tx.db, [{ code: generateFamilyCode(), master_user_id: request.master_user_id, master_subscription_id: request.master_subscription_id, family_subscription_type_id: request.family_subscription_type_id, subscription_type_id: request.subscription_type_id, created_at: now, updated_at: now }])).map((r) => r.code);
    }
    await recordAudit(tx, { action: 'family_request.canceled', targetType: 'family_request', targetId: request.id, resellerId: null, before: { status: request.status }, after: { status: 'canceled', slave_subscription_id: request.slave_subscription_id, replaced: replacement !== undefined } });
    if (request.status === 'accepted' && request.slave_user_id !== null) await syncServiceAccess(tx, request.slave_user_id);
    return { code, status: 'canceled' as const, ...(replacement ? { new_code: replacement } : {}) };
  });
}

/** `/api/v1/family/list`: every code of the caller's parent subscriptions, most recently changed first. */
export async function listFamilyRequests(ctx: Ctx): Promise<FamilyCode[]> {
  const userId = requireUser(ctx);
  return repo.listRequestsOfMaster(ctx.db, userId);
}
