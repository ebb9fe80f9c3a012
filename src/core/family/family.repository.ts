import { sql, type Selectable } from 'kysely';
import type { Executor } from '../../db/database.js';
import { precompiled } from '../../db/precompiled.js';
import type { NewAuditEvent } from '../audit/audit.repository.js';
import type { DonationMethod, FamilyRequestsTable } from '../../db/schema.js';
import { withUsedToken } from '../end-users/end-user.repository.js';

const ftColumns = ['id', 'master_subscription_type_id', 'slave_subscription_type_id', 'donation_method', 'days', 'count', 'is_paid', 'created_at', 'disabled_at'] as const;
const reqColumns = [
  'id',
  'code',
  'master_user_id',
  'master_subscription_id',
  'family_subscription_type_id',
  'subscription_type_id',
  'status',
  'slave_user_id',
  'slave_subscription_id',
  'created_at',
  'updated_at',
  'opened_at',
  'accepted_at',
  'canceled_at',
  'expires_at',
] as const;

export async function insertFamilyType(db: Executor, row: { master_subscription_type_id: number; slave_subscription_type_id: number | null; donation_method: DonationMethod; days: number | null; count: number; is_paid: boolean; created_at: Date }) {
  return db.insertInto('family_subscription_types').values(row).returning(ftColumns).executeTakeFirstOrThrow();
}

export async function listFamilyTypes(db: Executor) {
  return db
    .selectFrom('family_subscription_types as f')
    .innerJoin('subscription_types as m', 'm.id', 'f.master_subscription_type_id')
    .leftJoin('subscription_types as c', 'c.id', 'f.slave_subscription_type_id')
    .select(['f.id', 'f.donation_method', 'f.days', 'f.count', 'f.is_paid', 'f.created_at', 'f.disabled_at', 'm.code as parent', 'c.code as child'])
    .orderBy('f.id')
    .execute();
}

export async function findFamilyTypeOfMaster(db: Executor, masterTypeId: number) {
  return db.selectFrom('family_subscription_types').select(ftColumns).where('master_subscription_type_id', '=', masterTypeId).where('disabled_at', 'is', null).executeTakeFirst();
}

export async function disableFamilyType(db: Executor, id: number, now: Date) {
  return db.updateTable('family_subscription_types').set({ disabled_at: now }).where('id', '=', id).where('disabled_at', 'is', null).returning(ftColumns).executeTakeFirst();
}

export async function setRequestExpiry(db: Executor, code: string, expiresAt: Date | null, now: Date) {
  return db.updateTable('family_requests').set({ expires_at: expiresAt, updated_at: now }).where('code', '=', code).returning(reqColumns).executeTakeFirst();
}

export async function findFamilyType(db: Executor, id: number) {
  return db.selectFrom('family_subscription_types').select(ftColumns).where('id', '=', id).executeTakeFirst();
}

/** How many codes the subscription already has, per child type. */
export async function countRequestsByType(db: Executor, masterSubscriptionId: number) {
  const rows = await db
    .selectFrom('family_requests')
    .select(['subscription_type_id', (eb) => eb.fn.countAll<string | number>().as('n')])
    .where('master_subscription_id', '=', masterSubscriptionId)
    .groupBy('subscription_type_id')
    .execute();
  return new Map(rows.map((r) => [r.subscription_type_id, Number(r.n)]));
}

export interface NewFamilyRequest {
  code: string;
  master_user_id: number;
  master_subscription_id: number;
  family_subscription_type_id: number;
  subscription_type_id: number;
  created_at: Date;
  updated_at: Date;
}

export async function insertFamilyRequests(db: Executor, rows: NewFamilyRequest[]) {
  if (rows.length === 0) return [];
  return db.insertInto('family_requests').values(rows).returning(['id', 'code', 'subscription_type_id']).execute();
}

export async function findRequestByCode(db: Executor, code: string) {
  return db.selectFrom('family_requests').select(reqColumns).where('code', '=', code).executeTakeFirst();
}

export async function hasAcceptedRequest(db: Executor, masterSubscriptionId: number, subscriptionTypeId: number, slaveUserId: number) {
  const row = await db
    .selectFrom('family_requests')
    .select('id')
    .where('master_subscription_id', '=', masterSubscriptionId)
    .where('subscription_type_id', '=', subscriptionTypeId)
    .where('slave_user_id', '=', slaveUserId)
    .where('status', '=', 'accepted')
    .executeTakeFirst();
  return row !== undefined;
}

/** The status guard is the race's referee: of concurrent acceptances only one row update matches. */
export async function acceptRequest(db: Executor, id: number, slaveUserId: number, now: Date) {
  return db
    .updateTable('family_requests')
    .set({ status: 'accepted', slave_user_id: slaveUserId, accepted_at: now, updated_at: now })
    .where('id', '=', id)
    .where('status', '=', 'created')
    .returning(reqColumns)
    .executeTakeFirst();
}

/**
 * Everything an activation checks, in one round trip: the user token (looked up and its use recorded
 * as `withUsedToken` does), and for the code, whether the token's user already holds a code of the
 * same parent subscription and type, the family type, the parent subscription, the child's
 * subscription type, and whether a later subscription renewed the parent. No row: no live token.
 */
const selectActivation = precompiled((db: Executor, digest: string, now: Date, touchBefore: Date, idleSince: Date, code: string) =>
  withUsedToken(db, digest, now, touchBefore, idleSince)
    .selectFrom('user_token as k')
    .leftJoin('family_requests as r', (join) => join.on('r.code', '=', code))
    .leftJoin('family_subscription_types as f', 'f.id', 'r.family_subscription_type_id')
    .leftJoin('subscriptions as m', 'm.id', 'r.master_subscription_id')
    .leftJoin('subscription_types as t', 't.id', 'r.subscription_type_id')
    .select(['k.user_id as k_user_id', 'k.created_at as k_created_at', 'k.last_used_at as k_last_used_at'])
    .select(reqColumns.map((c) => `r.${c}` as const))
    .select([
      'f.id as f_id',
      'f.master_subscription_type_id as f_master_subscription_type_id',
      'f.donation_method as f_donation_method',
      'f.days as f_days',
      'f.is_paid as f_is_paid',
      'f.disabled_at as f_disabled_at',
      'm.id as m_id',
      'm.subscription_type_id as m_subscription_type_id',
      'm.start_time as m_start_time',
      'm.end_time as m_end_time',
      't.id as t_id',
      't.code as t_code',
      't.name as t_name',
      't.length_days as t_length_days',
      't.access as t_access',
      't.extension_method as t_extension_method',
      't.plan_id as t_plan_id',
      't.created_at as t_created_at',
    ])
    .select((eb) => [
      eb
        .exists(
          eb
            .selectFrom('family_requests as a')
            .select('a.id')
            .whereRef('a.master_subscription_id', '=', 'r.master_subscription_id')
            .whereRef('a.subscription_type_id', '=', 'r.subscription_type_id')
            .whereRef('a.slave_user_id', '=', 'k.user_id')
            // A literal, not a parameter: only then can the plan (a generic one too) use the partial index of accepted codes.
            .where('a.status', '=', sql<'accepted'>`'accepted'`),
        )
        .as('held_by_user'),
      eb.exists(eb.selectFrom('subscriptions as n').select('n.id').whereRef('n.renewed_subscription_id', '=', 'r.master_subscription_id')).as('renewed'),
    ]),
);

/** The token as found (undefined: no live token) and, when the code exists, what its checks need. */
export async function findActivation(db: Executor, token: { digest: string; now: Date; touchBefore: Date; idleSince: Date }, code: string) {
  const [row] = await selectActivation(db, token.digest, token.now, token.touchBefore, token.idleSince, code);
  if (!row) return { token: undefined, activation: undefined };
  const { k_user_id, k_created_at, k_last_used_at, f_id, f_master_subscription_type_id, f_donation_method, f_days, f_is_paid, f_disabled_at, m_id, m_subscription_type_id, m_start_time, m_end_time, t_id, t_code, t_name, t_length_days, t_access, t_extension_method, t_plan_id, t_created_at, held_by_user, renewed, ...request } = row;
  const found = { user_id: k_user_id, created_at: k_created_at, last_used_at: k_last_used_at };
  if (request.id === null) return { token: found, activation: undefined };
  return {
    token: found,
    activation: {
      // The left join makes every column nullable; the code row exists, so they are as stored.
      request: request as Pick<Selectable<FamilyRequestsTable>, (typeof reqColumns)[number]>,
      heldByUser: Boolean(held_by_user),
      renewed: Boolean(renewed),
      familyType: f_id === null ? undefined : { id: f_id, master_subscription_type_id: f_master_subscription_type_id!, donation_method: f_donation_method!, days: f_days, is_paid: f_is_paid!, disabled_at: f_disabled_at },
      master: m_id === null ? undefined : { id: m_id, subscription_type_id: m_subscription_type_id!, start_time: m_start_time!, end_time: m_end_time! },
      childType: t_id === null ? undefined : { id: t_id, code: t_code!, name: t_name!, length_days: t_length_days!, access: t_access!, extension_method: t_extension_method!, plan_id: t_plan_id, created_at: t_created_at! },
    },
  };
}

/** The acceptance's audit rows; the statement fills in the child subscription's id where `subscriptionIdAt` says. */
export interface AcceptanceAudit {
  row: Omit<NewAuditEvent, 'target_id'>;
  /** The row's target id, or null for the new subscription's. */
  targetId: string | null;
  /** Path in `changes` that takes the new subscription's id, if any. */
  subscriptionIdAt: string[] | null;
}

/**
 * Accepts the code for the user, creates the child subscription, links the two and writes the audit
 * rows, in one statement: atomic without an explicit transaction, one round trip. The status guard
 * decides races (of concurrent acceptances one row update matches; the others return nothing) and the
 * one-per-user index refuses a second code of one parent subscription. The subscription's id is drawn
 * from its sequence by the update, so the code row is written once, already linked.
 */
const acceptStatement = precompiled((db: Executor, requestId: number, userId: number, typeId: number, start: Date, end: Date, isPaid: boolean, meta: string, audit: string, now: Date) => ({
  compile: () =>
    sql<{ id: number }>`
    with acc as (
      update family_requests
      set status = 'accepted', slave_user_id = ${userId}, accepted_at = ${now}, updated_at = ${now},
          slave_subscription_id = nextval(pg_get_serial_sequence('subscriptions', 'id'))
      where id = ${requestId} and status = 'created'
      returning slave_subscription_id as sid
    ), sub as (
      insert into subscriptions (id, user_id, subscription_type_id, start_time, end_time, is_paid, type, note, meta, payment_id, created_at)
      select acc.sid, ${userId}, ${typeId}, ${start}, ${end}, ${isPaid}, 'family', null, ${meta}::jsonb, null, ${now}
      from acc
      returning id
    ), aud as (
      insert into audit_events (occurred_at, actor_kind, actor_id, reseller_id, action, target_type, target_id, changes, request_id, source_ip)
      select x.occurred_at, x.actor_kind, x.actor_id, x.reseller_id, x.action, x.target_type, coalesce(x.target_id, acc.sid::text),
             case when x.id_at is null then x.changes else jsonb_set(x.changes, x.id_at, to_jsonb(acc.sid)) end, x.request_id, x.source_ip
      from acc, rows from (
        jsonb_to_recordset(${audit}::jsonb) as (occurred_at timestamptz, actor_kind text, actor_id bigint, reseller_id bigint, action text, target_type text, target_id text, changes jsonb, request_id text, source_ip text, id_at text[])
      ) with ordinality as x(occurred_at, actor_kind, actor_id, reseller_id, action, target_type, target_id, changes, request_id, source_ip, id_at, ord)
      order by x.ord
    )
    select id from sub`.compile(db),
}));

export async function acceptRequestWithChild(
  db: Executor,
  requestId: number,
  child: { user_id: number; subscription_type_id: number; start_time: Date; end_time: Date; is_paid: boolean; meta: Record<string, string> },
  audits: AcceptanceAudit[],
  now: Date,
): Promise<{ subscriptionId: number } | undefined> {
  // The rows' changes are JSON text already: spliced in, not parsed and written again.
  const audit = `[${audits.map((a) => `${JSON.stringify({ ...a.row, changes: undefined, target_id: a.targetId, id_at: a.subscriptionIdAt }).slice(0, -1)},"changes":${a.row.changes}}`).join(',')}]`;
  const [row] = await acceptStatement(db, requestId, child.user_id, child.subscription_type_id, child.start_time, child.end_time, child.is_paid, JSON.stringify(child.meta), audit, now);
  return row ? { subscriptionId: row.id } : undefined;
}

export async function setSlaveSubscription(db: Executor, id: number, subscriptionId: number) {
  await db.updateTable('family_requests').set({ slave_subscription_id: subscriptionId }).where('id', '=', id).execute();
}

export async function cancelRequest(db: Executor, id: number, now: Date) {
  return db
    .updateTable('family_requests')
    .set({ status: 'canceled', canceled_at: now, updated_at: now })
    .where('id', '=', id)
    .where('status', '<>', 'canceled')
    .returning(reqColumns)
    .executeTakeFirst();
}

/** One unused code of the subscription for the type, locked so a parallel hand-over takes another. */
export async function takeCreatedRequest(db: Executor, masterSubscriptionId: number, subscriptionTypeId: number) {
  return db
    .selectFrom('family_requests')
    .select(reqColumns)
    .where('master_subscription_id', '=', masterSubscriptionId)
    .where('subscription_type_id', '=', subscriptionTypeId)
    .where('status', '=', 'created')
    .orderBy('id')
    .limit(1)
    .forUpdate()
    .skipLocked()
    .executeTakeFirst();
}

export async function listAcceptedRequests(db: Executor, masterSubscriptionId: number) {
  return db.selectFrom('family_requests').select(reqColumns).where('master_subscription_id', '=', masterSubscriptionId).where('status', '=', 'accepted').orderBy('id').execute();
}

/** Codes as REMP's family/list shows them: the request with its child type's code. */
const requestViews = (db: Executor) =>
  db
    .selectFrom('family_requests as r')
    .innerJoin('subscription_types as t', 't.id', 'r.subscription_type_id')
    .select(['r.code', 'r.master_user_id', 'r.status', 't.code as subscription_type_code', 'r.slave_user_id', 'r.created_at', 'r.updated_at', 'r.opened_at', 'r.accepted_at', 'r.canceled_at', 'r.expires_at']);

export async function findRequestView(db: Executor, code: string) {
  return requestViews(db).where('r.code', '=', code).executeTakeFirst();
}

export async function listRequestsOfMaster(db: Executor, masterUserId: number) {
  return requestViews(db)
    .where('r.master_user_id', '=', masterUserId)
    .orderBy('r.updated_at', 'desc')
    .orderBy('r.created_at', 'desc')
    .orderBy('r.id')
    .execute();
}

/** The subscription a recurring charge's parent payment created, when it is the same user's of the same type. */
export async function findSubscriptionOfPayment(db: Executor, sub: { id: number; user_id: number; subscription_type_id: number }, paymentId: number) {
  return db
    .selectFrom('subscriptions')
    .select(['id', 'start_time', 'end_time'])
    .where('payment_id', '=', paymentId)
    .where('user_id', '=', sub.user_id)
    .where('subscription_type_id', '=', sub.subscription_type_id)
    .where('id', '<>', sub.id)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/** The parent subscription this one renews: same user and type, ending within the gap before it starts. */
export async function findPreviousParent(db: Executor, sub: { id: number; user_id: number; subscription_type_id: number; start_time: Date }, gapSeconds: number) {
  return db
    .selectFrom('subscriptions')
    .select(['id', 'start_time', 'end_time'])
    .where('user_id', '=', sub.user_id)
    .where('subscription_type_id', '=', sub.subscription_type_id)
    .where('id', '<>', sub.id)
    .where('end_time', '<=', sub.start_time)
    .where('end_time', '>=', new Date(sub.start_time.getTime() - gapSeconds * 1000))
    .orderBy('end_time', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

export async function findRenewals(db: Executor, subscriptionId: number) {
  return db.selectFrom('subscriptions').select(['id', 'user_id', 'subscription_type_id', 'start_time', 'end_time']).where('renewed_subscription_id', '=', subscriptionId).orderBy('id').execute();
}

/**
 * One page of a parent's codes for the client area, newest first, with whom each was given to;
 * `search` matches the start of a code or the recipient's email.
 */
export async function pageRequestsOfMaster(db: Executor, masterUserId: number, q: { status?: string; search?: string; offset: number; limit: number }) {
  let query = db
    .selectFrom('family_requests as r')
    .innerJoin('subscription_types as t', 't.id', 'r.subscription_type_id')
    .leftJoin('users as s', 's.id', 'r.slave_user_id')
    .where('r.master_user_id', '=', masterUserId);
  if (q.status) query = query.where('r.status', '=', q.status as 'created');
  if (q.search) {
    const like = `${q.search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    query = query.where((eb) => eb.or([eb('r.code', 'like', like), eb(eb.fn('lower', ['s.email']), 'like', like)]));
  }
  const rows = await query
    .select(['r.code', 'r.status', 't.code as subscription_type_code', 't.name as subscription_type_name', 's.email as slave_email', 'r.created_at', 'r.accepted_at', 'r.canceled_at', 'r.expires_at'])
    .orderBy('r.id', 'desc')
    .offset(q.offset)
    .limit(q.limit + 1)
    .execute();
  return { rows: rows.slice(0, q.limit), more: rows.length > q.limit };
}

export async function countRequestsOfMasterByStatus(db: Executor, masterUserId: number) {
  const rows = await db.selectFrom('family_requests').select(['status', (eb) => eb.fn.countAll<string | number>().as('n')]).where('master_user_id', '=', masterUserId).groupBy('status').execute();
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)])) as Record<string, number>;
}
