import { z } from 'zod';
import { auditActions, auditEventPage, auditTargetTypes } from '../../core/audit/audit.schema.js';

export const adminError = z.object({
  error: z.object({ code: z.string(), message: z.string(), fields: z.record(z.string(), z.array(z.string())).optional() }),
});

export const adminReseller = z.object({
  id: z.number().int(),
  name: z.string(),
  username: z.string(),
  email_address: z.string(),
  first_name: z.string().nullable(),
  last_name: z.string().nullable(),
  address: z.string().nullable(),
  city: z.string().nullable(),
  state: z.string().nullable(),
  postal_code: z.string().nullable(),
  country: z.string().nullable(),
  phone: z.string().nullable(),
  application_name: z.string().nullable(),
  tags: z.array(z.string()),
  login_hostname: z.string().nullable(),
  status: z.enum(['pending', 'active', 'suspended']),
  approved_at: z.string().nullable(),
  suspended_at: z.string().nullable(),
  suspend_reason: z.string().nullable(),
  created_at: z.string(),
});

export const adminResellerWithCredentials = adminReseller.extend({ api_token: z.string(), api_key: z.string() });

// The reseller's web console sign-in (set on approval or later); the password is never returned.
export const approveResellerBody = z.object({ login: z.string().optional().describe('defaults to the username'), password: z.string().optional().describe('at least 10 characters') }).optional();
export const adminResellerApproved = adminResellerWithCredentials.extend({ login: z.string().nullable().describe('the console login, when a password was set') });
export const resellerLoginBody = z.object({ login: z.string(), password: z.string().describe('at least 10 characters') });
export const resellerLoginOut = z.object({ user_id: z.number().int(), login: z.string() });

export const adminFeature = z.object({
  id: z.number().int(),
  code: z.string().nullable(),
  name: z.string(),
  blurb: z.string(),
  description: z.string(),
  position: z.number().int(),
});

export const adminPackage = z.object({
  id: z.number().int(),
  uid: z.string(),
  name: z.string(),
  description: z.string(),
  position: z.number().int(),
  free_trial: z.number().int(),
  tags: z.array(z.string()),
  limits: z.record(z.string(), z.number()),
  domain_cost_cents: z.number().int(),
  mailbox_cost_cents: z.number().int(),
  parent_uid: z.string().nullable(),
  features: z.array(adminFeature),
  service_defaults: z.record(z.string(), z.record(z.string(), z.unknown())),
  dbname_template: z.string().nullable(),
  max_databases: z.number().int().nullable(),
  addons: z.array(z.string()),
});

export const adminDomain = z.object({ name: z.string(), status: z.string(), mail_servers: z.array(z.string()) });

export const adminClient = z.object({
  id: z.number().int(),
  reseller_id: z.number().int().nullable(),
  package_uid: z.string().nullable(),
  name: z.string().nullable(),
  email_address: z.string().nullable(),
  user_count: z.number().int(),
  status: z.string(),
  domains: z.array(adminDomain),
});

export const clientListQuery = z.object({
  reseller_id: z.string().optional(),
  status: z.enum(['active', 'suspended', 'cancelled', 'deleted']).optional(),
  q: z.string().optional(),
  package_uid: z.string().optional().describe("the clients of one package (plan)"),
  invoice: z.string().optional().describe('the clients of one account group: its master and subordinates'),
  after: z.string().optional(),
  limit: z.string().optional(),
});

export const idParams = z.object({ id: z.string() });
export const uidParams = z.object({ uid: z.string() });
export const domainParams = z.object({ name: z.string() });

export const adminJob = z.object({
  id: z.number().int(),
  kind: z.string(),
  state: z.enum(['queued', 'running', 'succeeded', 'failed']),
  lane: z.string().nullable(),
  payload: z.record(z.string(), z.unknown()),
  attempts: z.number().int(),
  max_attempts: z.number().int(),
  last_error: z.string().nullable(),
  run_at: z.string(),
  client_id: z.number().int().nullable(),
  reseller_id: z.number().int().nullable(),
  created_at: z.string(),
  finished_at: z.string().nullable(),
});

export const jobListQuery = z.object({
  state: z.enum(['queued', 'running', 'succeeded', 'failed']).optional(),
  kind: z.string().optional(),
  client_id: z.string().optional(),
  before: z.string().optional(),
  limit: z.string().optional(),
});

export const adminAuditPage = auditEventPage;

export const auditListQuery = z.object({
  action: z.enum(auditActions).optional().describe('e.g. client.created'),
  target_type: z.enum(auditTargetTypes).optional(),
  target_id: z.string().optional(),
  actor_kind: z.enum(['operator', 'reseller', 'user', 'system', 'public']).optional(),
  reseller_id: z.string().optional(),
  since: z.string().optional().describe('ISO 8601 date or date-time; events at or after it'),
  until: z.string().optional().describe('ISO 8601 date or date-time; events before it'),
  before: z.string().optional().describe('an event id: the next_before of the previous page'),
  limit: z.string().optional().describe('1 to 500, default 100'),
});

export const adminOverview = z.object({
  resellers: z.object({ pending: z.number().int(), active: z.number().int(), suspended: z.number().int() }),
  clients: z.object({ active: z.number().int(), suspended: z.number().int(), cancelled: z.number().int(), deleted: z.number().int() }),
  domains: z.object({ initializing: z.number().int(), ready: z.number().int(), unknown: z.number().int() }),
  jobs: z.object({ queued: z.number().int(), running: z.number().int(), succeeded: z.number().int(), failed: z.number().int() }),
});

export const operatorSessionOut = z.object({
  signed_in: z.literal(true),
  user: z.object({ id: z.number().int(), login: z.string() }),
  expires_at: z.string(),
  csrf_token: z.string().describe('send it back in the X-CSRF-Token header with every POST, PUT, PATCH and DELETE made with the session cookie'),
});

/** GET /admin/v1/session: the console asks on every load, so "not signed in" is an answer, not an error. */
export const operatorSessionState = z.union([operatorSessionOut, z.object({ signed_in: z.literal(false) })]);

export const operatorLoginBody = z.object({ login: z.string(), password: z.string() });

// Revocation: operator keys, CRM API tokens and CRM user tokens. Keys and tokens are shown only once,
// when made; these records never carry them.
export const operatorKeyOut = z
  .object({
    id: z.number().int(),
    name: z.string(),
    created_at: z.string(),
    revoked_at: z.string().nullable().describe('when it was revoked; a revoked key is refused (401) from then on'),
  })
  .meta({ examples: [{ id: 3, name: 'billing-sync', created_at: '2026-03-01T09:00:00.000Z', revoked_at: null }] });
export const revokedOperatorKeyExample = { id: 3, name: 'billing-sync', created_at: '2026-03-01T09:00:00.000Z', revoked_at: '2026-03-02T10:15:00.000Z' };
export const createOperatorKeyBody = z.object({ name: z.string().describe('what the key is for, 1-200 characters') }).meta({ examples: [{ name: 'billing-sync' }] });
export const createdOperatorKey = z
  .object({ id: z.number().int(), name: z.string(), key: z.string().describe('shown only this once; send it as Authorization: Bearer <key>') })
  .meta({ examples: [{ id: 3, name: 'billing-sync', key: 'hpo_…' }] });
export const revokedUserTokens = z
  .object({ user_id: z.number().int(), email: z.string(), revoked: z.number().int().describe('how many live tokens were revoked (0 when there were none)') })
  .meta({ examples: [{ user_id: 42, email: 'reader@example.com', revoked: 2 }] });
export const userRefParams = z.object({ user: z.string().describe("the user's numeric id, or their email (URL-encoded)") });
