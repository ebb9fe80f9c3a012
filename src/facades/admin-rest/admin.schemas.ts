import { z } from 'zod';
import { siteNodeOut as siteNode } from '../../core/nodes/node.schema.js';
import { auditActions, auditEventPage, auditTargetTypes } from '../../core/audit/audit.schema.js';
import { operatorHistory } from '../../core/overview/overview-history.schema.js';
import { historySeriesExample } from '../hsp-rest/hsp.schemas.js';

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
  node_label: z.string().nullable().describe('key=value: new sites of the package go only to hosting nodes with this label; null: any web node'),
  template_database: z.string().nullable().describe("SaaS plans: the PostgreSQL database each new instance is copied from on its db node (a plain identifier); null: instances get no database"),
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
const operatorSessionExample = { signed_in: true, user: { id: 1, login: 'admin' }, expires_at: '2026-03-01T21:00:00.000Z', csrf_token: 'Hk2vN8qZ5mP1xR7tW4yB0cL3dF6gJ9sA2eU5iO8uYc1' };
export const operatorLoginBodyDoc = operatorLoginBody.meta({ examples: [{ login: 'admin', password: 'a-long-admin-password' }] });
export const operatorSessionDoc = operatorSessionOut.meta({ examples: [operatorSessionExample] });
export const operatorSessionStateDoc = operatorSessionState.meta({ examples: [operatorSessionExample, { signed_in: false }] });

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

// ---- Examples for the OpenAPI document: what the demo install answers; the OpenAPI test checks each
// against its schema. Input schemas are the core's; zod leaves `examples` out of the input schema of a
// schema that transforms, so request bodies carry theirs as x-examples.

export const bodyExample = (value: unknown) => ({ 'x-examples': { example: { value } } });

export const operatorHistoryDoc = operatorHistory.meta({
  examples: [
    {
      days: 7,
      from: '2026-03-01',
      to: '2026-03-07',
      series: historySeriesExample.map((d) => ({ ...d, clients: d.clients * 3, domains: d.domains * 3 })),
      pending_signups: historySeriesExample.map((d, i) => ({ day: d.day, pending: i < 4 ? 1 : 0 })),
      top_resellers: [
        { id: 2, name: 'Acme Hosting', clients: 46, growth: 6 },
        { id: 1, name: 'Demo Reseller', clients: 12, growth: 0 },
      ],
    },
  ],
});

export const apiTokenExample = { id: 5, name: 'billing', allow: ['/api/v1/subscriptions/create', '/api/v1/payments/create'], created_at: '2026-03-01T09:00:00.000Z', revoked_at: null };
export const subscriptionTypeExample = { id: 1, code: 'company_year', name: 'Company', length: 365, access: ['web'], extension_method: 'start_now', plan_id: null, created_at: '2026-03-01T09:00:00.000Z' };
export const familyTypeExample = { id: 1, parent: 'company_year', child: 'member_year', method: 'copy', days: null, count: 5, is_paid: true, created_at: '2026-03-01T09:00:00.000Z', disabled_at: null };
export const familyCodeExample = {
  code: 'hd3fuu77zktk4hfxkthnt6bz4mt50bme',
  master_user_id: 2,
  status: 'created',
  subscription_type_code: 'member_year',
  slave_user_id: null,
  created_at: '2026-03-01T09:00:00+00:00',
  updated_at: '2026-03-02T10:00:00+00:00',
  opened_at: null,
  accepted_at: null,
  canceled_at: null,
  expires_at: '2026-12-31T23:59:59+00:00',
};

const resellerExample = {
  id: 2,
  name: 'Acme Hosting',
  username: 'acme',
  email_address: 'ops@acme.test',
  first_name: 'Ada',
  last_name: 'Lovelace',
  address: '1 Harbour Road',
  city: 'Dublin',
  state: null,
  postal_code: 'D02 X285',
  country: 'IE',
  phone: '+353 1 555 0100',
  application_name: 'cpanel',
  tags: ['cpanel'],
  login_hostname: 'login.acme.test',
  status: 'active',
  approved_at: '2026-02-27T14:05:00.000Z',
  suspended_at: null,
  suspend_reason: null,
  created_at: '2026-02-27T14:05:00.000Z',
};
const credentialsExample = { api_token: '4d7Qm2Xv9Lp0sR3tW6yZ1bN8', api_key: 'Pz7Lx4Mc1Nb8Vq5Wr2Es9Dt6Fy3Gu0Hi' };
const featureExample = { id: 1, code: 'anti_spam', name: 'Anti-Spam', blurb: 'Spam filtered before it reaches you', description: 'Inbound mail is filtered for spam and viruses.', position: 1 };
const packageExample = {
  id: 1,
  uid: 'spamstopshere-standard',
  name: 'Standard',
  description: 'Spam and virus filtering',
  position: 1,
  free_trial: 30,
  tags: ['cpanel'],
  limits: { max_users: 25, max_domains: 5 },
  domain_cost_cents: 50,
  mailbox_cost_cents: 100,
  parent_uid: null,
  features: [featureExample],
  service_defaults: { diskquota: { quota: 5000 } },
  dbname_template: null,
  max_databases: null,
  addons: [],
  node_label: null,
  template_database: null,
};
const clientExample = { id: 1, reseller_id: 2, package_uid: 'spamstopshere-standard', name: 'Test Customer', email_address: 'phil@example.com', user_count: 1, status: 'active', domains: [{ name: 'customer-domain.test', status: 'ready', mail_servers: ['mail.customer-domain.test'] }] };
const jobExample = {
  id: 311,
  kind: 'domain.provision',
  state: 'failed',
  lane: 'customer-domain.test',
  payload: { domain: 'customer-domain.test' },
  attempts: 5,
  max_attempts: 5,
  last_error: 'relay reload failed: exit code 1',
  run_at: '2026-03-01T09:10:00.000Z',
  client_id: 1,
  reseller_id: 2,
  created_at: '2026-03-01T09:00:00.000Z',
  finished_at: '2026-03-01T09:10:02.000Z',
};

export const adminErrorDoc = adminError.meta({ examples: [{ error: { code: 'validation_failed', message: 'validation failed', fields: { email_address: ['is invalid'] } } }] });
export const resellerDoc = adminReseller.meta({ examples: [resellerExample] });
export const resellerListDoc = z.array(adminReseller).meta({ examples: [[resellerExample]] });
export const resellerWithCredentialsDoc = adminResellerWithCredentials.meta({ examples: [{ ...resellerExample, ...credentialsExample }] });
export const resellerApprovedDoc = adminResellerApproved.meta({ examples: [{ ...resellerExample, ...credentialsExample, login: 'acme' }] });
export const approveResellerBodyDoc = approveResellerBody.meta({ examples: [{ password: 'correct-horse-battery' }] });
export const resellerLoginBodyDoc = resellerLoginBody.meta({ examples: [{ login: 'acme', password: 'correct-horse-battery' }] });
export const resellerLoginOutDoc = resellerLoginOut.meta({ examples: [{ user_id: 7, login: 'acme' }] });
export const resellerStatusQuery = z.object({ status: z.enum(['pending', 'active', 'suspended']).optional() });
export const suspendBodyDoc = z.object({ reason: z.string().max(500).optional() }).optional().meta({ examples: [{ reason: 'unpaid' }] });
export const createResellerBodyDoc = bodyExample({ name: 'Acme Hosting', username: 'acme', email_address: 'ops@acme.test', tags: ['cpanel'], login_hostname: 'login.acme.test' });
export const updateResellerBodyDoc = bodyExample({ login_hostname: 'login.acme.test', tags: ['cpanel', 'odoo'] });

export const featureDoc = adminFeature.meta({ examples: [featureExample] });
export const featureListDoc = z.array(adminFeature).meta({ examples: [[featureExample]] });
export const createFeatureBodyDoc = bodyExample({ code: 'multiple_mail_servers', name: 'Multiple Mail Servers', blurb: 'Deliver to more than one server' });
export const packageDoc = adminPackage.meta({ examples: [packageExample] });
export const packageListDoc = z.array(adminPackage).meta({ examples: [[packageExample]] });
export const createPackageBodyDoc = bodyExample({ uid: 'basic', name: 'Basic', tags: ['cpanel'], features: ['anti_spam'], domain_cost_cents: 50, mailbox_cost_cents: 100, limits: { max_users: 10 } });
export const updatePackageBodyDoc = bodyExample({ position: 4, service_defaults: { diskquota: { quota: 10000 } } });

export const clientDoc = adminClient.meta({ examples: [clientExample] });
const placedExample = { ...clientExample, node: { name: 'web1', status: 'healthy', object: 'applied', error: null } };
export const clientWithNodeDoc = adminClient
  .extend({ node: siteNode, saas_instance: z.boolean().describe('a live SaaS instance: /admin/v1/clients/{id}/instance answers for it') })
  .meta({ examples: [{ ...placedExample, saas_instance: false }] });
export const clientPageDoc = z
  .object({ clients: z.array(adminClient.extend({ node: siteNode })), next_after: z.number().nullable() })
  .meta({
    examples: [
      {
        clients: [placedExample, { ...clientExample, id: 2, name: 'Second Customer', domains: [{ name: 'second.test', status: 'ready', mail_servers: [] }], node: { name: 'web2', status: 'unhealthy', object: 'failed', error: 'nginx: [emerg] invalid server name' } }, { ...clientExample, id: 3, name: 'Mail Only Ltd', domains: [], node: null }],
        next_after: null,
      },
    ],
  });
export const domainDoc = adminDomain.meta({ examples: [clientExample.domains[0]] });
export const domainStatusBodyDoc = z.object({ status: z.enum(['initializing', 'ready', 'unknown']) }).meta({ examples: [{ status: 'ready' }] });

export const jobDoc = adminJob.meta({ examples: [jobExample] });
export const retriedJobDoc = adminJob.meta({ examples: [{ ...jobExample, state: 'queued', attempts: 0, last_error: null, run_at: '2026-03-01T10:00:00.000Z', finished_at: null }] });
export const jobPageDoc = z.object({ jobs: z.array(adminJob), next_before: z.number().nullable() }).meta({ examples: [{ jobs: [jobExample], next_before: null }] });
export const auditPageDoc = adminAuditPage.meta({
  examples: [
    {
      events: [
        { id: 913, occurred_at: '2026-03-01T09:05:00.000Z', actor_kind: 'operator', actor_id: 1, reseller_id: 2, action: 'reseller.suspended', target_type: 'reseller', target_id: '2', changes: { status: { before: 'active', after: 'suspended' } }, request_id: 'c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f', source_ip: '127.0.0.1' },
      ],
      next_before: null,
    },
  ],
});
export const overviewDoc = adminOverview.meta({
  examples: [{ resellers: { pending: 1, active: 4, suspended: 0 }, clients: { active: 120, suspended: 3, cancelled: 7, deleted: 1 }, domains: { initializing: 2, ready: 151, unknown: 0 }, jobs: { queued: 0, running: 1, succeeded: 940, failed: 2 } }],
});
export const operatorKeyListDoc = z.array(operatorKeyOut).meta({ examples: [[{ id: 1, name: 'initial', created_at: '2026-02-27T14:00:00.000Z', revoked_at: null }, { id: 3, name: 'billing-sync', created_at: '2026-03-01T09:00:00.000Z', revoked_at: null }]] });

export const userBodyDoc = z
  .object({ login: z.string(), password: z.string(), name: z.string().optional(), operator: z.literal(true).optional() })
  .meta({ examples: [{ login: 'boss@company.test', password: 'boss-password' }, { login: 'portal-admin', password: 'a-long-admin-password', name: 'Portal Admin', operator: true }] });
export const createdUserDoc = z
  .object({ id: z.number(), login: z.string(), name: z.string().nullable(), role: z.enum(['operator', 'end_user']) })
  .meta({ examples: [{ id: 2, login: 'boss@company.test', name: null, role: 'end_user' }] });
export const demoDoc = z
  .object({ created: z.boolean(), reseller: adminResellerWithCredentials.optional(), portal_admin: z.object({ login: z.string(), password: z.string() }).optional() })
  .meta({ examples: [{ created: true, reseller: { ...resellerExample, id: 1, name: 'Demo Reseller', username: 'demo-reseller', email_address: 'demo-reseller@example.com', login_hostname: null, ...credentialsExample }, portal_admin: { login: 'admin', password: 'yrSacSbK31PVlMFw' } }, { created: false }] });

// SaaS instances (the Odoo portal's clients), as the operator sees them.
/** An instance's users as every door shows them (core/saas/instance-users.ts); the client API shares it. */
export const instanceUsersDoc = {
  users_source: z.enum(['instance_database', 'hostplane']).describe("instance_database: read from its database's res_users by its db node (the latest report); hostplane: Hostplane's own list"),
  users_count: z.number().int().describe('active users, the administrator not counted'),
  users: z.array(
    z.object({
      id: z.number().int().nullable().describe('Hostplane user id; null: made inside the instance'),
      login: z.string(),
      name: z.string().nullable(),
      role: z.string().describe('client_admin, end_user, or instance_user (made inside the instance)'),
      groups: z.array(z.string()),
    }),
  ),
  users_total: z.number().int().describe('how many users the whole list has, every page, the administrator included'),
  users_next_offset: z.number().int().nullable().describe('the users_offset of the next page of users; null: this page is the last'),
  pending_logins: z.array(z.string()).describe("users Hostplane holds that the database's last report does not show active yet"),
  users_reported_at: z.string().nullable().describe('when its db node last read the users; null for Hostplane\'s list'),
  files: z
    .object({
      source: z.enum(['instance_database', 'hostplane']),
      count: z.number().int(),
      bytes: z.number(),
      staged: z.number().int().describe('files stored through Hostplane that the node has not moved into the database yet (0 for Hostplane\'s own)'),
    })
    .describe("stored files: the database's ir_attachment where it has one, else Hostplane's"),
};
/** The page of an instance's users a door lists (core/saas/instance-users.ts checks the values). */
export const instanceUsersQuery = z.object({
  users_offset: z.string().optional().describe('where the page of users starts (users_next_offset of the previous page); default 0'),
  users_limit: z.string().optional().describe('users per page, 1 to 1000; default 1000'),
});
const usageExample = { used_bytes: 2359296, used_mb: 2.25, limit_mb: 1024, exceeded: false };
const instanceUsage = z.object({ used_bytes: z.number(), used_mb: z.number(), limit_mb: z.number().describe('0: no limit'), exceeded: z.boolean() });
export const instanceDoc = z
  .object({
    id: z.number().int(),
    name: z.string().nullable(),
    status: z.enum(['active', 'suspended']),
    max_users: z.number().int().describe('users,max; 0: no limit; the administrator does not count'),
    expires_at: z.string().nullable().describe("the instance's expiry (saas_client.expiration_datetime, set through do_upgrade_database); null: none"),
    ...instanceUsersDoc,
    modules: z.array(z.string()).describe('installed add-ons'),
    usage: instanceUsage,
    database: z
      .object({
        name: z.string().describe('the PostgreSQL database on the db node'),
        template: z.string(),
        owner: z.string().describe('the role that owns it; logs in with the owner password given at creation'),
        connection_limit: z.number().int(),
        node: z.string().nullable().describe('the db node; null: not placed yet'),
        status: z.enum(['not_placed', 'applying', 'applied', 'failed']),
        error: z.string().nullable().describe("why the node's last try failed"),
        size_bytes: z.number().nullable().describe("the node's latest measurement"),
        active_users: z.number().int().nullable().describe("active internal users in its res_users (Odoo's); null: no such table or not measured yet"),
        sampled_at: z.string().nullable(),
        reported_at: z.string().nullable().describe('when the node last reported applying (or failing) it; null: never'),
        users_in_database: z.boolean().nullable().describe("whether its users live in its own res_users; false: the template has none, so they stay Hostplane's; null: not reported yet"),
        files: z.object({ count: z.number().int(), bytes: z.number() }).nullable().describe('its ir_attachment as last reported; null: no such table or not reported yet'),
      })
      .nullable()
      .describe("the instance's own database; null when its plan names no template database"),
  })
  .meta({
    examples: [
      {
        id: 5,
        name: 'crm-1.example.com',
        status: 'active',
        max_users: 10,
        expires_at: null,
        users_source: 'instance_database',
        users_count: 2,
        users: [
          { id: 9, login: 'admin', name: 'Administrator', role: 'client_admin', groups: ['base.group_system'] },
          { id: 10, login: 'sales@company.test', name: 'Sales', role: 'end_user', groups: ['base.group_user'] },
          { id: null, login: 'stock@company.test', name: 'Stock', role: 'instance_user', groups: [] },
        ],
        users_total: 3,
        users_next_offset: null,
        pending_logins: [],
        users_reported_at: '2026-01-05T10:00:00.000Z',
        files: { source: 'instance_database', count: 12, bytes: 348160, staged: 0 },
        modules: ['crm', 'sale'],
        usage: usageExample,
        database: { name: 'saas_3f0c2b7e9a4d4c1f8e2a6b5d4c3b2a19', template: 'odoo_template', owner: 'saas_3f0c2b7e9a4d4c1f8e2a6b5d4c3b2a19_owner', connection_limit: 20, node: 'db1', status: 'applied', error: null, size_bytes: 8581279, active_users: 3, sampled_at: '2026-01-05T10:00:00.000Z', users_in_database: true, files: { count: 12, bytes: 348160 }, reported_at: '2026-01-05T09:58:12.000Z' },
      },
    ],
  });
export const ownerPasswordBodyDoc = z.object({ password: z.string() }).meta({ examples: [{ password: 'a-new-owner-password' }] });
export const ownerPasswordOutDoc = z.object({ id: z.number().int(), database: z.boolean().describe('whether the instance has a database of its own whose owner role gets it too') }).meta({ examples: [{ id: 5, database: true }] });
export const instanceUserBodyDoc = z.object({ login: z.string(), password: z.string(), name: z.string().optional() }).meta({ examples: [{ login: 'sales@company.test', password: 'a-long-user-password', name: 'Sales' }] });
export const instanceUserOutDoc = z.object({ id: z.number().int(), login: z.string() }).meta({ examples: [{ id: 10, login: 'sales@company.test' }] });
export const instanceUserParams = z.object({ id: z.string(), user: z.string() });
export const deactivatedUserDoc = z.object({ id: z.number().int(), login: z.string(), active: z.literal(false) }).meta({ examples: [{ id: 10, login: 'sales@company.test', active: false }] });
export const instanceFileBodyDoc = z.object({ name: z.string(), content_base64: z.string() }).meta({ examples: [{ name: 'report.txt', content_base64: 'UXVhcnRlcmx5IHJlcG9ydAo=' }] });
export const instanceFileOutDoc = z.object({ id: z.number().int(), usage: instanceUsage }).meta({ examples: [{ id: 3, usage: { ...usageExample, used_bytes: 2359313 } }] });
