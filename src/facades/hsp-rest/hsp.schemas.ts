import { z } from 'zod';
import { auditEventPage } from '../../core/audit/audit.schema.js';
import { resellerHistory } from '../../core/overview/overview-history.schema.js';
import * as core from '../../core/clients/client.schema.js';
import { createWebhookInput as coreCreateWebhookInput, listWebhookDeliveriesQuery, webhookDeliveryOut as coreWebhookDeliveryOut, webhookEndpointOut as coreWebhookEndpointOut } from '../../core/webhooks/webhook.schema.js';

// Wire shapes of the HSP reseller API v1, for the OpenAPI document. Input schemas are the core's.
// Examples are what the demo install answers; the OpenAPI test checks each against its schema.

const domainExample = {
  name: 'customer-domain.test',
  mx_records: [{ priority: 10, hostname: 'customer-domain-test.mx1.relay.example' }, { priority: 20, hostname: 'customer-domain-test.mx2.relay.example' }],
  mail_servers: ['mail.customer-domain.test'],
};
const clientExample = { id: 1, package_uid: 'spamstopshere-standard', user_count: 1, email_address: 'phil@example.com', name: 'Test Customer', domains: [domainExample] };
const featureExample = { id: 1, name: 'Anti-Spam', blurb: 'Spam filtered before it reaches you', description: 'Inbound mail is filtered for spam and viruses.', position: 1 };
const packageExample = {
  id: 1,
  uid: 'spamstopshere-standard',
  name: 'Standard',
  description: 'Spam and virus filtering',
  position: 1,
  free_trial: 30,
  features: [featureExample],
  added_features: [],
  reseller_cost: { domain_cents: 50, domain_formatted: '$0.50', mailbox_cents: 100, mailbox_formatted: '$1.00' },
};
const captchaExample = { id: '6f1c2a9e-0d1b-4c55-9a3e-2b7f4d8c1e60', question: 'What is 7 plus 5?' };
const resellerFormExample = { name: 'Example Hosting', email_address: 'ops@example.com', username: 'example-hosting', application_name: 'cpanel' };

export const hspMxRecord = z.object({ priority: z.number().int(), hostname: z.string() });
export const hspDomain = z
  .object({
    name: z.string(),
    mx_records: z.array(hspMxRecord),
    mail_servers: z.array(z.string()),
  })
  .meta({ examples: [domainExample] });
export const hspClient = z
  .object({
    id: z.number().int(),
    package_uid: z.string().nullable(),
    user_count: z.number().int(),
    email_address: z.string().nullable(),
    name: z.string().nullable(),
    domains: z.array(hspDomain),
  })
  .meta({ examples: [clientExample] });
export const hspClientList = z.array(hspClient).meta({ examples: [[clientExample]] });
export const hspErrors = z.object({ errors: z.record(z.string(), z.array(z.string())) }).meta({ examples: [{ errors: { base: ['Not found'] } }, { errors: { email_address: ['is invalid'] } }] });
export const hspStatus = z.object({ status: z.enum(['initializing', 'ready', 'unknown']) }).meta({ examples: [{ status: 'ready' }] });
export const hspAuthToken = z
  .object({ token: z.string(), protocol: z.string(), login_hostname: z.string(), path: z.string() })
  .meta({ examples: [{ token: 'Xk3v9QmJ2pR7tLw0bN5cY8dE1fG4hS6uA9zK2xV7qW0', protocol: 'https', login_hostname: 'login.acme.test', path: '/login/auth_token?token=Xk3v9QmJ2pR7tLw0bN5cY8dE1fG4hS6uA9zK2xV7qW0' }] });
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
export const hspPackageList = z.array(hspPackage).meta({ examples: [[packageExample]] });
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
export const hspSignupStart = z
  .object({ captcha: hspCaptcha, reseller: hspResellerTemplate })
  .meta({ examples: [{ captcha: captchaExample, reseller: { name: null, first_name: null, last_name: null, email_address: null, address: null, city: null, state: null, postal_code: null, country: null, phone: null, username: null, tags: [] } }] });
export const hspSignupBody = z
  .object({
    captcha: z.object({ id: z.string(), answer: z.string() }),
    reseller: z.record(z.string(), z.unknown()),
  })
  .meta({ examples: [{ captcha: { id: captchaExample.id, answer: '12' }, reseller: resellerFormExample }] });
export const hspSignupResponse = z
  .object({ reseller: z.record(z.string(), z.unknown()), captcha: hspCaptcha })
  .meta({ examples: [{ reseller: { ...resellerFormExample, status: 'pending' }, captcha: { id: '0b8e5d3f-7a21-4f9c-8e64-1c2d3b4a5f67', question: 'What is 3 plus 9?' } }] });
export const hspSignupError = z
  .object({
    captcha: hspCaptcha.nullable(),
    reseller: z.record(z.string(), z.unknown()),
    errors: z.object({ reseller: z.record(z.string(), z.array(z.string())), captcha: z.record(z.string(), z.array(z.string())) }),
  })
  .meta({ examples: [{ captcha: captchaExample, reseller: resellerFormExample, errors: { reseller: {}, captcha: { answer: ['is wrong'] } } }] });

export const hspAuditPage = auditEventPage.meta({
  examples: [
    {
      events: [
        { id: 912, occurred_at: '2026-03-01T09:00:00.000Z', actor_kind: 'reseller', actor_id: 2, reseller_id: 2, action: 'client.created', target_type: 'client', target_id: '1', changes: { name: { after: 'Test Customer' }, user_count: { after: 1 } }, request_id: 'b7e1c2d3-4f5a-4b6c-8d7e-9f0a1b2c3d4e', source_ip: '203.0.113.7' },
      ],
      next_before: null,
    },
  ],
});
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

// A week of the charts' series, as a reseller with a steady trickle of sign-ups sees it.
export const historySeriesExample = Array.from({ length: 7 }, (_, i) => ({
  day: `2026-03-0${i + 1}`,
  clients: 40 + i,
  clients_created: 1,
  clients_cancelled: 0,
  clients_restored: 0,
  domains: 52 + i,
  domains_added: 1,
  domains_removed: 0,
  provisioned: 1,
  provisioning_p50_seconds: 42.5,
  provisioning_p99_seconds: 118,
  failed_jobs: i === 3 ? 1 : 0,
}));
export const resellerHistoryDoc = resellerHistory.meta({ examples: [{ days: 7, from: '2026-03-01', to: '2026-03-07', series: historySeriesExample }] });

export const clientIdParams = z.object({ id: z.string() });
export const domainParams = z.object({ domain_name: z.string() });
export const tagParams = z.object({ tag_name: z.string() });

// x-examples: zod leaves `examples` out of the input schema of a schema that transforms.
const bodyExample = (value: unknown) => ({ 'x-examples': { example: { value } } });
export const createClientInput = core.createClientInput.meta(
  bodyExample({ package_uid: 'spamstopshere-standard', user_count: 1, email_address: 'phil@example.com', name: 'Test Customer', domains: [{ name: 'customer-domain.test', mail_servers: ['mail.customer-domain.test'] }] }),
);
export const updateClientInput = core.updateClientInput.meta(bodyExample({ user_count: 5 }));
export const updateDomainInput = core.updateDomainInput.meta(bodyExample({ mail_servers: ['mail2.customer-domain.test'] }));

const webhookExample = { id: 4, reseller_id: 2, url: 'https://billing.acme.test/hooks/hostplane', event_types: ['client.created', 'domain.ready'], active: true, created_at: '2026-03-01T09:00:00.000Z' };
const deliveryExample = {
  id: 118,
  endpoint_id: 4,
  event_id: '3f0e7c1a-5b2d-4e8f-9a6c-d1e2f3a4b5c6',
  event_type: 'client.created',
  payload: { id: '3f0e7c1a-5b2d-4e8f-9a6c-d1e2f3a4b5c6', type: 'client.created', data: { client_id: 1 } },
  status: 'delivered',
  attempts: 1,
  last_status_code: 200,
  last_error: null,
  last_attempt_at: '2026-03-01T09:00:01.000Z',
  job_id: 311,
  created_at: '2026-03-01T09:00:00.000Z',
};
export const createWebhookInput = coreCreateWebhookInput.meta(bodyExample({ url: 'https://billing.acme.test/hooks/hostplane', event_types: ['client.created', 'domain.ready'] }));
export const webhookEndpointOut = coreWebhookEndpointOut.meta({ examples: [webhookExample] });
export const createdWebhookOut = coreWebhookEndpointOut.meta({ examples: [{ ...webhookExample, secret: 'whsec_5JqJ8u0cQm2kR7vX1yZ4bN6tW9eA3sD0fG' }] });
export const webhookEndpointList = z.array(coreWebhookEndpointOut).meta({ examples: [[webhookExample]] });
export const webhookDeliveryOut = coreWebhookDeliveryOut.meta({ examples: [deliveryExample] });
export const replayedDeliveryOut = coreWebhookDeliveryOut.meta({ examples: [{ ...deliveryExample, id: 131, status: 'pending', attempts: 0, last_status_code: null, last_attempt_at: null, job_id: 340, created_at: '2026-03-02T10:00:00.000Z' }] });
export const webhookDeliveryList = z.array(coreWebhookDeliveryOut).meta({ examples: [[deliveryExample]] });
export { listWebhookDeliveriesQuery };

// The reseller web console's session (cookie hp_reseller) and the pages' extra reads.
export const resellerSignInBody = z
  .union([z.object({ login: z.string(), password: z.string() }), z.object({ token: z.string().describe('API token'), key: z.string().describe('API key') })])
  .meta({ examples: [{ login: 'acme', password: 'correct-horse-battery' }] });
const resellerSessionExample = { signed_in: true, reseller: { id: 2, name: 'Acme Hosting', username: 'acme' }, login: 'acme', method: 'password', expires_at: '2026-03-01T21:00:00.000Z', csrf_token: 'rV4m9Xq2Lp7sT0wZ3bN6cY1dE8fG5hJ2kA7uQ0xW3eM' };
export const resellerSession = z
  .object({
    signed_in: z.literal(true),
    reseller: z.object({ id: z.number().int(), name: z.string(), username: z.string() }),
    login: z.string().nullable().describe('null when signed in with the API token and key'),
    method: z.enum(['password', 'key']),
    expires_at: z.string(),
    csrf_token: z.string().describe('send as X-CSRF-Token with every change'),
  })
  .meta({ examples: [resellerSessionExample] });
export const resellerSessionState = z.union([resellerSession, z.object({ signed_in: z.literal(false) })]).meta({ examples: [resellerSessionExample, { signed_in: false }] });
export const resellerBrand = z.object({ name: z.string().nullable() }).meta({ examples: [{ name: 'Acme Hosting' }] });

export const hspDomainWithStatus = hspDomain.extend({ status: z.enum(['initializing', 'ready', 'unknown']) });
export const hspClientWithStatus = hspClient.extend({ status: z.enum(['active', 'suspended']), domains: z.array(hspDomainWithStatus) });
export const hspClientPage = z
  .object({ clients: z.array(hspClientWithStatus), next_after: z.number().int().nullable().describe('pass as after for the next page; null on the last') })
  .meta({ examples: [{ clients: [{ ...clientExample, status: 'active', domains: [{ ...domainExample, status: 'ready' }] }], next_after: null }] });
export const hspClientSearchQuery = z.object({
  q: z.string().optional().describe('part of a name, email address or domain'),
  after: z.string().optional().describe('a client id: the next_after of the previous page'),
  limit: z.string().optional().describe('1 to 200, default 50'),
});
export const hspSellablePackage = hspPackage.extend({ tags: z.array(z.string()), max_users: z.number().int().nullable() });
export const hspSellablePackageList = z.array(hspSellablePackage).meta({ examples: [[{ ...packageExample, tags: ['cpanel'], max_users: null }]] });
export const hspOwnCredentials = z
  .object({ api_token: z.string().nullable(), approved_at: z.string().nullable(), login: z.string().nullable().describe('the web console login, if an operator set one') })
  .meta({ examples: [{ api_token: '4d7Qm2Xv9Lp0sR3tW6yZ1bN8', approved_at: '2026-02-27T14:05:00.000Z', login: 'acme' }] });
export const hspNewCredentials = z
  .object({ api_token: z.string(), api_key: z.string().describe('shown only this once') })
  .meta({ examples: [{ api_token: '8Kc1Vn5Zr0Qw3Ex6Ty9Ua2Io', api_key: 'Pz7Lx4Mc1Nb8Vq5Wr2Es9Dt6Fy3Gu0Hi' }] });
