import { z } from 'zod';
import type { WebhookDeliveryStatus } from '../../db/schema.js';

export type { WebhookDeliveryStatus } from '../../db/schema.js';

/** The events an endpoint can subscribe to. */
export const webhookEventTypes = ['client.created', 'client.updated', 'client.cancelled', 'domain.ready', 'domain.failed', 'reseller.approved', 'site.over_quota'] as const;
export type WebhookEventType = (typeof webhookEventTypes)[number];

export const WEBHOOK_DELIVER_JOB_KIND = 'webhook.deliver';
/**
 * Attempts per delivery. With the runner's default backoff (2 s doubling, capped at 1 h, 80–100% jitter)
 * the first 10 retries take about half an hour and each later one 48–60 minutes, so 85 attempts
 * keep retrying for roughly 2.5 to 3 days before the delivery is marked failed.
 */
export const WEBHOOK_MAX_ATTEMPTS = 85;
/** Most of a receiver's response we read (and keep an excerpt of); the rest is dropped. */
export const WEBHOOK_RESPONSE_CAP_BYTES = 64 * 1024;
export const WEBHOOK_SECRET_MIN = 16;

export const createWebhookInput = z
  .object({
    url: z.string({ error: 'must be a string' }).min(1, "can't be blank").max(2000, 'is too long (maximum is 2000 characters)'),
    event_types: z
      .array(z.enum(webhookEventTypes, { error: `must be one of ${webhookEventTypes.join(', ')}` }), { error: 'must be a list' })
      .min(1, 'must name at least one event type'),
    secret: z
      .string({ error: 'must be a string' })
      .min(WEBHOOK_SECRET_MIN, `is too short (minimum is ${WEBHOOK_SECRET_MIN} characters)`)
      .max(200, 'is too long (maximum is 200 characters)')
      .optional(),
  })
  .strict();
export type CreateWebhookInput = z.input<typeof createWebhookInput>;

export interface WebhookEndpoint {
  id: number;
  /** Null: an operator endpoint, which receives every tenant's events. */
  reseller_id: number | null;
  url: string;
  event_types: string[];
  active: boolean;
  created_at: Date;
}

/** A new endpoint and its signing secret, shown this once when the server generated it. */
export interface CreatedWebhookEndpoint extends WebhookEndpoint {
  secret?: string;
}

export interface WebhookDelivery {
  id: number;
  endpoint_id: number;
  event_id: string;
  event_type: string;
  payload: Record<string, unknown>;
  status: WebhookDeliveryStatus;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  last_attempt_at: Date | null;
  job_id: number | null;
  created_at: Date;
}

// Wire shapes, shared by the reseller and operator doors (route schemas document the API).
export const webhookEndpointOut = z.object({
  id: z.number(),
  reseller_id: z.number().nullable(),
  url: z.string(),
  event_types: z.array(z.string()),
  active: z.boolean(),
  created_at: z.string(),
  secret: z.string().optional().describe('The signing secret, returned only when the server generated it'),
});
/**
 * A page of an endpoint's deliveries, newest first: `before` is the last id of the page shown (the
 * next page holds older ones), `status` keeps one state. Query strings carry numbers as text.
 */
export const listWebhookDeliveriesQuery = z
  .object({
    before: z.string().regex(/^[0-9]{1,15}$/, 'must be a delivery id').transform(Number).optional(),
    status: z.enum(['pending', 'delivered', 'failed'] as const satisfies readonly WebhookDeliveryStatus[], { error: 'must be pending, delivered or failed' }).optional(),
    limit: z.string().regex(/^[0-9]{1,3}$/, 'must be a number from 1 to 100').transform(Number).pipe(z.number().min(1, 'must be a number from 1 to 100').max(100, 'must be a number from 1 to 100')).optional(),
  })
  .strict();

export const webhookDeliveryOut = z.object({
  id: z.number(),
  endpoint_id: z.number(),
  event_id: z.string(),
  event_type: z.string(),
  payload: z.record(z.string(), z.unknown()),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number(),
  last_status_code: z.number().nullable(),
  last_error: z.string().nullable(),
  last_attempt_at: z.string().nullable(),
  job_id: z.number().nullable(),
  created_at: z.string(),
});

export function toWebhookEndpointOut(e: CreatedWebhookEndpoint): z.infer<typeof webhookEndpointOut> {
  return {
    id: e.id,
    reseller_id: e.reseller_id,
    url: e.url,
    event_types: e.event_types,
    active: e.active,
    created_at: e.created_at.toISOString(),
    ...(e.secret !== undefined ? { secret: e.secret } : {}),
  };
}

export function toWebhookDeliveryOut(d: WebhookDelivery): z.infer<typeof webhookDeliveryOut> {
  return { ...d, last_attempt_at: d.last_attempt_at ? d.last_attempt_at.toISOString() : null, created_at: d.created_at.toISOString() };
}
