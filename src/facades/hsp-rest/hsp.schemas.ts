import { z } from 'zod';
import { auditEventPage } from '../../core/audit/audit.schema.js';
import { createClientInput, updateClientInput, updateDomainInput } from '../../core/clients/client.schema.js';

// Wire shapes of the HSP reseller API v1, for the OpenAPI document. Input schemas are the core's.

export const hspMxRecord = z.object({ priority: z.number().int(), hostname: z.string() });
export const hspDomain = z.object({
  name: z.string(),
  mx_records: z.array(hspMxRecord),
  mail_servers: z.array(z.string()),
});
export const hspClient = z.object({
  id: z.number().int(),
  package_uid: z.string().nullable(),
  user_count: z.number().int(),
  email_address: z.string().nullable(),
  name: z.string().nullable(),
  domains: z.array(hspDomain),
});
export const hspErrors = z.object({ errors: z.record(z.string(), z.array(z.string())) });
export const hspStatus = z.object({ status: z.enum(['initializing', 'ready', 'unknown']) });
export const hspAuthToken = z.object({ token: z.string(), protocol: z.string(), login_hostname: z.string(), path: z.string() });
export const hspFeature = z.object({ id: z.number().int(), name: z.string(), blurb: z.string(), description: z.string(), position: z.number().int() });
export const hspPackage = z.object({
  id: z.number().int(),
  uid: z.string(),
  name: z.string(),
  description: z.string(),
  position: z.number().int(),
  free_trial: z.number().int(),
  features: z.array(hspFeature),
  added_features: z.array(hspFeature),
  reseller_cost: z.object({
    domain_cents: z.number().int(),
    domain_formatted: z.string(),
    mailbox_cents: z.number().int(),
    mailbox_formatted: z.string(),
  }),
});
export const hspCaptcha = z.object({ id: z.string(), question: z.string() });
const nullableText = z.string().nullable();
export const hspResellerTemplate = z.object({
  name: nullableText,
  first_name: nullableText,
  last_name: nullableText,
  email_address: nullableText,
  address: nullableText,
  city: nullableText,
  state: nullableText,
  postal_code: nullableText,
  country: nullableText,
  phone: nullableText,
  username: nullableText,
  tags: z.array(z.string()),
});
export const hspSignupBody = z.object({
  captcha: z.object({ id: z.string(), answer: z.string() }),
  reseller: z.record(z.string(), z.unknown()),
});
export const hspSignupResponse = z.object({ reseller: z.record(z.string(), z.unknown()), captcha: hspCaptcha });
export const hspSignupError = z.object({
  captcha: hspCaptcha.nullable(),
  reseller: z.record(z.string(), z.unknown()),
  errors: z.object({ reseller: z.record(z.string(), z.array(z.string())), captcha: z.record(z.string(), z.array(z.string())) }),
});

export const hspAuditPage = auditEventPage;
export const hspAuditQuery = z.object({
  action: z.string().optional().describe('e.g. client.created'),
  target_type: z.string().optional().describe('client, domain, reseller, ...'),
  target_id: z.string().optional(),
  actor_kind: z.enum(['operator', 'reseller', 'user', 'system', 'public']).optional(),
  since: z.string().optional().describe('ISO 8601 date or date-time; events at or after it'),
  until: z.string().optional().describe('ISO 8601 date or date-time; events before it'),
  before: z.string().optional().describe('an event id: the next_before of the previous page'),
  limit: z.string().optional().describe('1 to 500, default 100'),
});

export const clientIdParams = z.object({ id: z.string() });
export const domainParams = z.object({ domain_name: z.string() });
export const tagParams = z.object({ tag_name: z.string() });

export { createClientInput, updateClientInput, updateDomainInput };

// The reseller web console's session (cookie hp_reseller) and the pages' extra reads.
export const resellerSignInBody = z.union([z.object({ login: z.string(), password: z.string() }), z.object({ token: z.string().describe('API token'), key: z.string().describe('API key') })]);
export const resellerSession = z.object({
  signed_in: z.literal(true),
  reseller: z.object({ id: z.number().int(), name: z.string(), username: z.string() }),
  login: z.string().nullable().describe('null when signed in with the API token and key'),
  method: z.enum(['password', 'key']),
  expires_at: z.string(),
  csrf_token: z.string().describe('send as X-CSRF-Token with every change'),
});
export const resellerSessionState = z.union([resellerSession, z.object({ signed_in: z.literal(false) })]);
export const resellerBrand = z.object({ name: z.string().nullable() });

export const hspDomainWithStatus = hspDomain.extend({ status: z.enum(['initializing', 'ready', 'unknown']) });
export const hspClientWithStatus = hspClient.extend({ status: z.enum(['active', 'suspended']), domains: z.array(hspDomainWithStatus) });
export const hspClientPage = z.object({ clients: z.array(hspClientWithStatus), next_after: z.number().int().nullable().describe('pass as after for the next page; null on the last') });
export const hspClientSearchQuery = z.object({
  q: z.string().optional().describe('part of a name, email address or domain'),
  after: z.string().optional().describe('a client id: the next_after of the previous page'),
  limit: z.string().optional().describe('1 to 200, default 50'),
});
export const hspSellablePackage = hspPackage.extend({ tags: z.array(z.string()), max_users: z.number().int().nullable() });
export const hspOwnCredentials = z.object({ api_token: z.string().nullable(), approved_at: z.string().nullable(), login: z.string().nullable().describe('the web console login, if an operator set one') });
export const hspNewCredentials = z.object({ api_token: z.string(), api_key: z.string().describe('shown only this once') });
