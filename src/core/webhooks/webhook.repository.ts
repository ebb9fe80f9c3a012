import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';
import type { WebhookDeliveryStatus } from '../../db/schema.js';
import type { TenantScope } from '../context.js';
import type { WebhookDelivery, WebhookEndpoint } from './webhook.schema.js';

const endpointColumns = ['id', 'reseller_id', 'url', 'event_types', 'active', 'created_at'] as const;
const deliveryColumns = [
  'webhook_deliveries.id',
  'webhook_deliveries.endpoint_id',
  'webhook_deliveries.event_id',
  'webhook_deliveries.event_type',
  'webhook_deliveries.payload',
  'webhook_deliveries.status',
  'webhook_deliveries.attempts',
  'webhook_deliveries.last_status_code',
  'webhook_deliveries.last_error',
  'webhook_deliveries.last_attempt_at',
  'webhook_deliveries.job_id',
  'webhook_deliveries.created_at',
] as const;

/** An id for an endpoint about to be inserted: its sealed secret is bound to it. */
export async function nextEndpointId(db: Executor): Promise<number> {
  const { rows } = await sql<{ id: string }>`select nextval(pg_get_serial_sequence('webhook_endpoints', 'id')) as id`.execute(db);
  return Number(rows[0]!.id);
}

export async function insertEndpoint(
  db: Executor,
  row: { id: number; reseller_id: number | null; url: string; secret: string; secret_key_id: string; event_types: string[] },
  now: Date,
): Promise<WebhookEndpoint> {
  return db
    .insertInto('webhook_endpoints')
    .values({ ...row, created_at: now })
    .returning(endpointColumns)
    .executeTakeFirstOrThrow();
}

/** Active endpoints in scope: a reseller's own, or every one for operators. */
export async function listEndpoints(db: Executor, scope: TenantScope): Promise<WebhookEndpoint[]> {
  let q = db.selectFrom('webhook_endpoints').select(endpointColumns).where('active', '=', true);
  if ('resellerId' in scope) q = q.where('reseller_id', '=', scope.resellerId);
  return q.orderBy('id').execute();
}

export async function findEndpoint(db: Executor, scope: TenantScope, id: number): Promise<WebhookEndpoint | undefined> {
  let q = db.selectFrom('webhook_endpoints').select(endpointColumns).where('id', '=', id).where('active', '=', true);
  if ('resellerId' in scope) q = q.where('reseller_id', '=', scope.resellerId);
  return q.executeTakeFirst();
}

/** Deleting keeps the row (its deliveries stay on record) and stops further events. */
export async function deactivateEndpoint(db: Executor, id: number): Promise<void> {
  await db.updateTable('webhook_endpoints').set({ active: false }).where('id', '=', id).execute();
}

/** Active endpoints that want this event: the tenant's own and every operator endpoint. */
export async function findSubscribedEndpoints(db: Executor, resellerId: number | null, type: string): Promise<{ id: number; reseller_id: number | null }[]> {
  return db
    .selectFrom('webhook_endpoints')
    .select(['id', 'reseller_id'])
    .where('active', '=', true)
    .where(sql<boolean>`event_types @> array[${type}]::text[]`)
    .where((eb) => (resellerId === null ? eb('reseller_id', 'is', null) : eb.or([eb('reseller_id', 'is', null), eb('reseller_id', '=', resellerId)])))
    .orderBy('id')
    .execute();
}

/** Active endpoints that want any of `types`: operator endpoints and those of the given resellers, in id order. */
export async function findEndpointsForEvents(db: Executor, resellerIds: number[], types: string[]): Promise<{ id: number; reseller_id: number | null; event_types: string[] }[]> {
  return db
    .selectFrom('webhook_endpoints')
    .select(['id', 'reseller_id', 'event_types'])
    .where('active', '=', true)
    .where(sql<boolean>`event_types && ${types}::text[]`)
    .where((eb) => (resellerIds.length === 0 ? eb('reseller_id', 'is', null) : eb.or([eb('reseller_id', 'is', null), eb('reseller_id', '=', eb.fn.any(eb.val(resellerIds)))])))
    .orderBy('id')
    .execute();
}

export async function insertDelivery(db: Executor, row: { endpoint_id: number; event_id: string; event_type: string; payload: Record<string, unknown> }, now: Date): Promise<number> {
  const r = await db
    .insertInto('webhook_deliveries')
    .values({ ...row, payload: JSON.stringify(row.payload), created_at: now })
    .returning('id')
    .executeTakeFirstOrThrow();
  return r.id;
}

export async function setDeliveryJob(db: Executor, id: number, jobId: number): Promise<void> {
  await db.updateTable('webhook_deliveries').set({ job_id: jobId }).where('id', '=', id).execute();
}

export async function listDeliveries(db: Executor, endpointId: number, page: { before?: number | undefined; status?: WebhookDeliveryStatus | undefined; limit: number }): Promise<WebhookDelivery[]> {
  let q = db.selectFrom('webhook_deliveries').select(deliveryColumns).where('endpoint_id', '=', endpointId);
  if (page.before !== undefined) q = q.where('id', '<', page.before);
  if (page.status !== undefined) q = q.where('status', '=', page.status);
  return q.orderBy('id', 'desc').limit(page.limit).execute();
}

/** A delivery whose endpoint is in scope and still active. */
export async function findDelivery(db: Executor, scope: TenantScope, id: number): Promise<WebhookDelivery | undefined> {
  let q = db
    .selectFrom('webhook_deliveries')
    .innerJoin('webhook_endpoints', 'webhook_endpoints.id', 'webhook_deliveries.endpoint_id')
    .select(deliveryColumns)
    .where('webhook_deliveries.id', '=', id)
    .where('webhook_endpoints.active', '=', true);
  if ('resellerId' in scope) q = q.where('webhook_endpoints.reseller_id', '=', scope.resellerId);
  return q.executeTakeFirst();
}

/** What a delivery job needs: the delivery and its endpoint's target and sealed secret. */
export async function findDeliveryForSending(
  db: Executor,
  id: number,
): Promise<(Pick<WebhookDelivery, 'id' | 'endpoint_id' | 'event_id' | 'event_type' | 'payload' | 'status'> & { url: string; secret: string; secret_key_id: string | null; active: boolean }) | undefined> {
  return db
    .selectFrom('webhook_deliveries')
    .innerJoin('webhook_endpoints', 'webhook_endpoints.id', 'webhook_deliveries.endpoint_id')
    .select([
      'webhook_deliveries.id',
      'webhook_deliveries.endpoint_id',
      'webhook_deliveries.event_id',
      'webhook_deliveries.event_type',
      'webhook_deliveries.payload',
      'webhook_deliveries.status',
      'webhook_endpoints.url',
      'webhook_endpoints.secret',
      'webhook_endpoints.secret_key_id',
      'webhook_endpoints.active',
    ])
    .where('webhook_deliveries.id', '=', id)
    .executeTakeFirst();
}

export async function recordAttempt(db: Executor, id: number, outcome: { status?: WebhookDelivery['status']; statusCode: number | null; error: string | null }, now: Date): Promise<void> {
  await db
    .updateTable('webhook_deliveries')
    .set((eb) => ({
      attempts: eb('attempts', '+', 1),
      last_status_code: outcome.statusCode,
      last_error: outcome.error === null ? null : outcome.error.slice(0, 2000),
      last_attempt_at: now,
      ...(outcome.status ? { status: outcome.status } : {}),
    }))
    .where('id', '=', id)
    .execute();
}

export async function setDeliveryStatus(db: Executor, ids: number[], status: WebhookDelivery['status'], error?: string): Promise<void> {
  if (ids.length === 0) return;
  await db
    .updateTable('webhook_deliveries')
    .set({ status, ...(error !== undefined ? { last_error: error } : {}) })
    .where('id', 'in', ids)
    .where('status', '=', 'pending')
    .execute();
}
