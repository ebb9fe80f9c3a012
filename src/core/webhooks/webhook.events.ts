import { randomUUID } from 'node:crypto';
import type { Executor } from '../../db/database.js';
import { insertJob } from '../../jobs/job.repository.js';
import type { AuditChanges } from '../../db/schema.js';
import type { Ctx } from '../context.js';
import * as repo from './webhook.repository.js';
import { WEBHOOK_DELIVER_JOB_KIND, WEBHOOK_MAX_ATTEMPTS, type WebhookEventType } from './webhook.schema.js';

export interface WebhookEvent {
  type: WebhookEventType;
  /** The tenant the event belongs to: its endpoints get it, as do operator endpoints. */
  resellerId: number | null;
  data: Record<string, unknown>;
}

/** Audit actions that can amount to a webhook event (the rest cost nothing extra). */
export const WEBHOOK_AUDIT_ACTIONS: ReadonlySet<string> = new Set(['client.created', 'client.updated', 'client.cancelled', 'reseller.approved', 'domain.status_set']);

/**
 * The webhook event an audited change amounts to, if any. Events ride on the audit log because every
 * mutation already records its audit event inside its own transaction, which the deliveries then share.
 */
export function webhookEventOfAudit(entry: { action: string; targetType: string; targetId: string | number; resellerId: number | null; changes: AuditChanges }): WebhookEvent | undefined {
  let type: WebhookEventType | undefined;
  switch (entry.action) {
    case 'client.created':
    case 'client.updated':
    case 'client.cancelled':
    case 'reseller.approved':
      type = entry.action;
      break;
    case 'domain.status_set': {
      const status = entry.changes.status?.after;
      type = status === 'ready' ? 'domain.ready' : status === 'unknown' ? 'domain.failed' : undefined;
      break;
    }
  }
  if (!type) return undefined;
  return { type, resellerId: entry.resellerId, data: { object: entry.targetType, id: String(entry.targetId), reseller_id: entry.resellerId, changes: entry.changes } };
}

/** Whether any active endpoint wants this event (lets a single-statement write skip a transaction). */
export async function hasWebhookSubscribers(db: Executor, type: WebhookEventType, resellerId: number | null): Promise<boolean> {
  return (await repo.findSubscribedEndpoints(db, resellerId, type)).length > 0;
}

/**
 * Queues the event for every active endpoint that wants it: one delivery row and one job each, through
 * `ctx.db`, so run it inside the transaction of the change (the event exists exactly when the change does).
 * Each event gets one id, the same on every retry and replay, for receivers to de-duplicate by.
 */
export async function emitEvent(ctx: Ctx, event: WebhookEvent): Promise<void> {
  await emitEvents(ctx, [event]);
}

/** emitEvent for many events at once: one look-up of the endpoints for all of them. */
export async function emitEvents(ctx: Ctx, events: WebhookEvent[]): Promise<void> {
  if (events.length === 0) return;
  const resellerIds = [...new Set(events.flatMap((e) => (e.resellerId === null ? [] : [e.resellerId])))];
  const types = [...new Set(events.map((e) => e.type))];
  const endpoints = await repo.findEndpointsForEvents(ctx.db, resellerIds, types);
  if (endpoints.length === 0) return;
  const now = ctx.clock();
  for (const event of events) {
    const wanted = endpoints.filter((ep) => (ep.reseller_id === null || ep.reseller_id === event.resellerId) && ep.event_types.includes(event.type));
    if (wanted.length === 0) continue;
    const eventId = randomUUID();
    const payload = { id: eventId, type: event.type, created_at: now.toISOString(), data: event.data };
    for (const endpoint of wanted) await queueDelivery(ctx.db, { endpointId: endpoint.id, resellerId: event.resellerId, eventId, type: event.type, payload }, now);
  }
}

/** One delivery row and the job that sends it. */
export async function queueDelivery(
  db: Executor,
  d: { endpointId: number; resellerId: number | null; eventId: string; type: string; payload: Record<string, unknown> },
  now: Date,
): Promise<number> {
  const id = await repo.insertDelivery(db, { endpoint_id: d.endpointId, event_id: d.eventId, event_type: d.type, payload: d.payload }, now);
  const jobId = await insertJob(db, { kind: WEBHOOK_DELIVER_JOB_KIND, payload: { delivery_id: id }, maxAttempts: WEBHOOK_MAX_ATTEMPTS, resellerId: d.resellerId }, now);
  await repo.setDeliveryJob(db, id, jobId);
  return id;
}
