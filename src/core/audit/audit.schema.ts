import { z } from 'zod';
import type { AuditActorKind, AuditChanges } from '../../db/schema.js';

export type { AuditActorKind, AuditChanges } from '../../db/schema.js';

export const auditActorKinds = ['operator', 'reseller', 'user', 'system', 'public'] as const satisfies readonly AuditActorKind[];

/** Every action the core records; filters accept exactly these. */
export const auditActions = [
  'client.created',
  'client.updated',
  'client.cancelled',
  'client.restored',
  'client.login_token_issued',
  'client.logged_in',
  'client.suspended',
  'client.activated',
  'client.deleted',
  'client.hijacked',
  'client.switched',
  'client.file_stored',
  'client.logged_out',
  'client.owner_set',
  'user.password_changed',
  'user.created',
  'user.deactivated',
  'scope.set',
  'domain.updated',
  'domain.status_set',
  'reseller.created',
  'reseller.signed_up',
  'reseller.approved',
  'reseller.suspended',
  'reseller.activated',
  'reseller.updated',
  'reseller.key_rotated',
  'reseller.login_set',
  'reseller.logged_in',
  'reseller.login_failed',
  'reseller.logged_out',
  'package.created',
  'package.updated',
  'feature.created',
  'operator_key.created',
  'operator_key.revoked',
  'operator.logged_in',
  'operator.login_failed',
  'operator.logged_out',
  'job.retried',
  'demo.seeded',
  'webhook.created',
  'webhook.deleted',
  'webhook.delivery_replayed',
  'user.token_issued',
  'user.logged_out',
  'user.tokens_revoked',
  'api_token.created',
  'api_token.revoked',
  'subscription_type.created',
  'family_type.created',
  'payment.created',
  'subscription.created',
  'family_request.created',
  'family_request.accepted',
  'family_request.canceled',
  'family_request.expiry_set',
  'family_type.disabled',
  'address.unbanned',
  'node.created',
  'node.drained',
  'node.undrained',
  'node.deleted',
  'node.token_rotated',
  'node.token_revoked',
  'node.enrolled',
  'database.backup_taken',
] as const;
export type AuditAction = (typeof auditActions)[number];

export const auditTargetTypes = ['client', 'domain', 'reseller', 'package', 'feature', 'operator_key', 'job', 'catalog', 'user', 'webhook', 'webhook_delivery', 'scope', 'api_token', 'subscription_type', 'family_type', 'payment', 'subscription', 'family_request', 'address', 'node', 'database'] as const;
export type AuditTargetType = (typeof auditTargetTypes)[number];

export const AUDIT_PAGE_MAX = 500;
export const AUDIT_PAGE_DEFAULT = 100;

const ID = /^[0-9]{1,15}$/;
const id = z
  .string()
  .regex(ID, 'must be a positive whole number')
  .transform(Number)
  .pipe(z.number().min(1, 'must be a positive whole number'));

const isoDate = z.iso.date();
const isoDateTime = z.iso.datetime({ offset: true });
const instant = z
  .string()
  .refine((s) => /^[1-9]/.test(s) && (isoDate.safeParse(s).success || isoDateTime.safeParse(s).success), 'must be an ISO 8601 date or date-time with offset, such as 2024-05-01 or 2024-05-01T12:00:00Z')
  .transform((s) => new Date(s));

const oneOf = (values: readonly string[]) => ({ error: `must be one of ${values.join(', ')}` });

/** The audit log's query string, as every door receives it (text values, each at most once). */
export const auditFilterInput = z
  .object({
    action: z.enum(auditActions, oneOf(auditActions)),
    target_type: z.enum(auditTargetTypes, oneOf(auditTargetTypes)),
    target_id: z.string().min(1, "can't be blank").max(300, 'is too long (maximum is 300 characters)'),
    actor_kind: z.enum(auditActorKinds, oneOf(auditActorKinds)),
    reseller_id: id,
    since: instant,
    until: instant,
    before: id,
    limit: z
      .string()
      .regex(/^[0-9]{1,4}$/, `must be a whole number from 1 to ${AUDIT_PAGE_MAX}`)
      .transform(Number)
      .pipe(z.number().min(1, `must be a whole number from 1 to ${AUDIT_PAGE_MAX}`).max(AUDIT_PAGE_MAX, `must be a whole number from 1 to ${AUDIT_PAGE_MAX}`)),
  })
  .partial()
  .strict();
export type AuditFilterInput = z.input<typeof auditFilterInput>;
export type AuditFilter = z.output<typeof auditFilterInput>;

export interface AuditEvent {
  id: number;
  occurred_at: Date;
  actor_kind: AuditActorKind;
  /** The operator key, reseller or user that acted; null for system jobs and the public. */
  actor_id: number | null;
  /** The tenant the event belongs to; null for the shared catalog and operator keys. */
  reseller_id: number | null;
  action: string;
  target_type: string;
  target_id: string;
  changes: AuditChanges;
  request_id: string | null;
  source_ip: string | null;
}

export interface AuditPage {
  events: AuditEvent[];
  /** Pass as `before` for the next (older) page; null on the last page. */
  next_before: number | null;
}

/** The wire shape of an audit event, shared by every door that lists them. */
export const auditEventOutput = z.object({
  id: z.number().int(),
  occurred_at: z.string(),
  actor_kind: z.enum(['operator', 'reseller', 'user', 'system', 'public']),
  actor_id: z.number().int().nullable(),
  reseller_id: z.number().int().nullable(),
  action: z.string(),
  target_type: z.string(),
  target_id: z.string(),
  changes: z.record(z.string(), z.object({ before: z.unknown().optional(), after: z.unknown().optional() })),
  request_id: z.string().nullable(),
  source_ip: z.string().nullable(),
});
export const auditEventPage = z.object({ events: z.array(auditEventOutput), next_before: z.number().int().nullable() });
