import { randomBytes } from 'node:crypto';
import { AppError } from '../../errors/app-error.js';
import { recordAudit } from '../audit/audit.service.js';
import { inTransaction, scopeOf, type Ctx } from '../context.js';
import { sealSecret, webhookSecretContext } from '../secrets/secret.service.js';
import { parseInput } from '../shared/validation.js';
import { queueDelivery } from './webhook.events.js';
import * as repo from './webhook.repository.js';
import { createWebhookInput, listWebhookDeliveriesQuery, type CreatedWebhookEndpoint, type WebhookDelivery, type WebhookEndpoint } from './webhook.schema.js';
import { checkWebhookUrl, WebhookTargetError } from './webhook-target.js';

const ENDPOINT = 'webhook';
const DELIVERY = 'webhook delivery';
const DELIVERIES_SHOWN = 100;

/**
 * Registers an endpoint: a reseller's receives its own events, an operator's (no reseller) every
 * tenant's. The secret is the caller's (16+ characters) or generated and returned this once.
 */
export async function createWebhookEndpoint(ctx: Ctx, raw: unknown): Promise<CreatedWebhookEndpoint> {
  const input = parseInput(createWebhookInput, raw);
  let url: URL;
  try {
    url = await checkWebhookUrl(input.url, ctx.settings.webhookAllowPrivate, ctx.settings.webhookResolveHost);
  } catch (e) {
    if (e instanceof WebhookTargetError) throw AppError.validation({ url: [e.message] });
    throw e;
  }
  const generated = input.secret === undefined;
  const secret = input.secret ?? `whsec_${randomBytes(24).toString('base64url')}`;
  const resellerId = ctx.actor.kind === 'reseller' ? ctx.actor.resellerId : null;
  return inTransaction(ctx, async (tx) => {
    const id = await repo.nextEndpointId(tx.db);
    const { sealed, keyId } = await sealSecret(tx, webhookSecretContext(id), secret);
    const endpoint = await repo.insertEndpoint(tx.db, { id, reseller_id: resellerId, url: url.toString(), secret: sealed, secret_key_id: keyId, event_types: [...new Set(input.event_types)] }, tx.clock());
    await recordAudit(tx, { action: 'webhook.created', targetType: 'webhook', targetId: endpoint.id, resellerId, after: { url: endpoint.url, event_types: endpoint.event_types } });
    return generated ? { ...endpoint, secret } : endpoint;
  });
}

export async function listWebhookEndpoints(ctx: Ctx): Promise<WebhookEndpoint[]> {
  return repo.listEndpoints(ctx.db, scopeOf(ctx.actor));
}

async function getEndpoint(ctx: Ctx, id: number): Promise<WebhookEndpoint> {
  const endpoint = await repo.findEndpoint(ctx.db, scopeOf(ctx.actor), id);
  if (!endpoint) throw AppError.notFound(ENDPOINT);
  return endpoint;
}

/** Stops further events; deliveries already queued are marked failed when their job runs. */
export async function deleteWebhookEndpoint(ctx: Ctx, id: number): Promise<WebhookEndpoint> {
  return inTransaction(ctx, async (tx) => {
    const endpoint = await getEndpoint(tx, id);
    await repo.deactivateEndpoint(tx.db, endpoint.id);
    await recordAudit(tx, { action: 'webhook.deleted', targetType: 'webhook', targetId: endpoint.id, resellerId: endpoint.reseller_id, before: { url: endpoint.url, event_types: endpoint.event_types } });
    return { ...endpoint, active: false };
  });
}

/** The endpoint's most recent deliveries, newest first. */
export async function listWebhookDeliveries(ctx: Ctx, endpointId: number, rawQuery: unknown = {}): Promise<WebhookDelivery[]> {
  const query = parseInput(listWebhookDeliveriesQuery, rawQuery ?? {});
  const endpoint = await getEndpoint(ctx, endpointId);
  return repo.listDeliveries(ctx.db, endpoint.id, { before: query.before, status: query.status, limit: query.limit ?? DELIVERIES_SHOWN });
}

/** Sends an event again as a new delivery (its own attempts), with the same event id and body. */
export async function replayWebhookDelivery(ctx: Ctx, deliveryId: number): Promise<WebhookDelivery> {
  return inTransaction(ctx, async (tx) => {
    const scope = scopeOf(tx.actor);
    const original = await repo.findDelivery(tx.db, scope, deliveryId);
    if (!original) throw AppError.notFound(DELIVERY);
    const endpoint = (await repo.findEndpoint(tx.db, scope, original.endpoint_id))!;
    const id = await queueDelivery(tx.db, { endpointId: endpoint.id, resellerId: endpoint.reseller_id, eventId: original.event_id, type: original.event_type, payload: original.payload }, tx.clock());
    await recordAudit(tx, {
      action: 'webhook.delivery_replayed',
      targetType: 'webhook_delivery',
      targetId: original.id,
      resellerId: endpoint.reseller_id,
      after: { event_id: original.event_id, delivery_id: id },
    });
    return (await repo.findDelivery(tx.db, scope, id))!;
  });
}
