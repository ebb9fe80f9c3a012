import { z } from 'zod';
import { instanceUsersDoc, instanceUsersQuery } from '../admin-rest/admin.schemas.js';

// The client API's route schemas: they document the door in /openapi.json (the console's generated
// client is typed from them); the use cases validate the input themselves.

export const clientError = z.object({
  error: z.object({ code: z.string(), message: z.string(), fields: z.record(z.string(), z.array(z.string())).optional() }),
});

// Examples: what the demo install answers; the OpenAPI test checks each against its schema.
const sessionExample = {
  signed_in: true,
  user: { id: 14, login: 'test-admin', role: 'client_admin' },
  client: { id: 3, name: 'test-domain.com', status: 'active', kind: 'site', package: { uid: 'spamstopshere-standard', name: 'Standard' }, has_owner: false },
  sites: { site: 'site3', subordinates: [{ site: 'site4', domain: 'test-domain-child1.com' }], origin: null },
  suspension: null,
  expires_at: '2026-03-01T21:00:00.000Z',
  csrf_token: 'Tq4wE7rY0uI3oP6aS9dF2gH5jK8lZ1xC4vB7nM0qW3e',
};

const siteRef = z.object({ site: z.string().describe('siteNN, what POST /client/v1/session/switch takes'), domain: z.string().nullable() });

export const clientSessionOut = z.object({
  signed_in: z.literal(true),
  user: z.object({ id: z.number().int(), login: z.string(), role: z.string() }),
  client: z.object({
    id: z.number().int(),
    name: z.string().nullable(),
    status: z.string(),
    kind: z.enum(['site', 'instance']).describe('instance: a SaaS instance (GET /client/v1/instance)'),
    package: z.object({ uid: z.string(), name: z.string() }).nullable(),
    has_owner: z.boolean().describe("whether an end user owns the client: their subscriptions and family codes show here"),
  }),
  sites: z.object({ site: z.string(), subordinates: z.array(siteRef).describe('sites this session may switch into'), origin: siteRef.nullable().describe('the master this session came from, to switch back to') }),
  suspension: z
    .object({ reason: z.string().nullable().describe('the reason given at suspension; null when none was given or cp.config auth show_suspension_reason is off') })
    .nullable()
    .describe("set when the site is suspended and its admin signed in anyway (cp.config auth suspended_login): only this session's overview and sign-out answer; everything else is 409 invalid_state"),
  expires_at: z.string(),
  csrf_token: z.string().describe('send it back in the X-CSRF-Token header with every POST, PUT, PATCH and DELETE'),
}).meta({ examples: [sessionExample] });
export const clientSessionState = z.union([clientSessionOut, z.object({ signed_in: z.literal(false) })]).meta({ examples: [sessionExample, { signed_in: false }] });

export const clientLoginBody = z.union([
  z.object({ email: z.string(), password: z.string() }).describe('an end user (CRM user) who owns the client'),
  z.object({ client_id: z.number().int(), login: z.string(), password: z.string() }).describe("one of the client's own users"),
  z.object({ domain: z.string(), login: z.string(), password: z.string() }).describe("a site's user, as on ApisCP's panel login form: any live domain of the site names it"),
]).meta({ examples: [{ domain: 'test-domain.com', login: 'test-admin', password: 'a-long-site-password' }, { email: 'boss@company.test', password: 'boss-password' }] });

export const switchBody = z.object({ site: z.string().describe('siteNN or a domain of the site') }).meta({ examples: [{ site: 'site4' }] });

export const pageQuery = z.object({ search: z.string().optional(), offset: z.string().optional(), limit: z.string().optional() });

export const domainsOut = z.object({
  domains: z.array(
    z.object({
      name: z.string(),
      status: z.string(),
      mail_servers: z.array(z.string()),
      mx_records: z.array(z.object({ priority: z.number(), hostname: z.string() })).describe('the MX records to publish for the domain'),
    }),
  ),
  total: z.number().int(),
  next_offset: z.number().int().nullable(),
}).meta({
  examples: [
    {
      domains: [{ name: 'test-domain.com', status: 'ready', mail_servers: ['mail.test-domain.com'], mx_records: [{ priority: 10, hostname: 'test-domain-com.mx1.relay.example' }, { priority: 20, hostname: 'test-domain-com.mx2.relay.example' }] }],
      total: 1,
      next_offset: null,
    },
  ],
});

export const subscriptionsOut = z.object({
  subscriptions: z.array(z.object({ id: z.number().int(), code: z.string(), start_time: z.string(), end_time: z.string(), is_paid: z.boolean(), type: z.string(), running: z.boolean() })),
}).meta({ examples: [{ subscriptions: [{ id: 1, code: 'company_year', start_time: '2026-03-01T09:00:00.000Z', end_time: '2027-03-01T09:00:00.000Z', is_paid: true, type: 'regular', running: true }] }] });

export const familyCodesQuery = pageQuery.extend({ status: z.string().optional() });

export const familyCodesOut = z.object({
  codes: z.array(
    z.object({
      code: z.string(),
      status: z.enum(['created', 'accepted', 'canceled']),
      subscription_type_code: z.string(),
      subscription_type_name: z.string(),
      activated_by: z.string().nullable().describe("the email of the user who activated it"),
      activation_url: z.string().describe('the link to share: /console/activate?code=...'),
      created_at: z.string(),
      accepted_at: z.string().nullable(),
      canceled_at: z.string().nullable(),
      expires_at: z.string().nullable(),
    }),
  ),
  counts: z.record(z.string(), z.number().int()).describe('codes per status'),
  next_offset: z.number().int().nullable(),
}).meta({
  examples: [
    {
      codes: [
        {
          code: 'hd3fuu77zktk4hfxkthnt6bz4mt50bme',
          status: 'accepted',
          subscription_type_code: 'member_year',
          subscription_type_name: 'Member',
          activated_by: 'member@company.test',
          activation_url: 'http://127.0.0.1:8080/console/activate?code=hd3fuu77zktk4hfxkthnt6bz4mt50bme',
          created_at: '2026-03-01T09:00:00.000Z',
          accepted_at: '2026-03-02T08:30:00.000Z',
          canceled_at: null,
          expires_at: null,
        },
      ],
      counts: { created: 4, accepted: 1, canceled: 0 },
      next_offset: null,
    },
  ],
});

export { instanceUsersQuery };

export const instanceOut = z.object({
  id: z.number().int(),
  name: z.string().nullable(),
  status: z.string(),
  max_users: z.number().int().describe('0: no limit; the administrator does not count'),
  expires_at: z.string().nullable().describe("the instance's expiry; null: none"),
  ...instanceUsersDoc,
  modules: z.array(z.string()).describe('installed add-ons'),
  groups: z.record(z.string(), z.string()).describe('access group ids and their names'),
  usage: z.object({ used_bytes: z.number(), used_mb: z.number(), limit_mb: z.number().describe('0: no limit'), exceeded: z.boolean() }),
}).meta({
  examples: [
    {
      id: 5,
      name: 'crm-1.example.com',
      status: 'active',
      max_users: 10,
      expires_at: null,
      users_source: 'hostplane',
      users_count: 1,
      users: [
        { id: 9, login: 'admin', name: 'Administrator', role: 'client_admin', groups: ['base.group_system'] },
        { id: 10, login: 'sales@company.test', name: 'Sales', role: 'end_user', groups: ['sales_team.group_sale_salesman'] },
      ],
      users_total: 2,
      users_next_offset: null,
      pending_logins: [],
      users_reported_at: null,
      files: { source: 'hostplane', count: 0, bytes: 0, staged: 0 },
      modules: ['crm', 'sale'],
      groups: { 'base.group_system': 'Settings', 'sales_team.group_sale_salesman': 'Sales / User' },
      usage: { used_bytes: 2359296, used_mb: 2.25, limit_mb: 1024, exceeded: false },
    },
  ],
});

export const addUserBody = z.object({ login: z.string(), name: z.string().optional(), password: z.string() }).meta({ examples: [{ login: 'sales@company.test', name: 'Sales', password: 'a-long-user-password' }] });
export const addedUserOut = z.object({ id: z.number().int(), login: z.string() }).meta({ examples: [{ id: 10, login: 'sales@company.test' }] });
export const userIdParams = z.object({ user: z.string() });
export const deactivatedUserOut = z.object({ id: z.number().int(), login: z.string(), active: z.literal(false) }).meta({ examples: [{ id: 10, login: 'sales@company.test', active: false }] });

export const codeParams = z.object({ code: z.string() });
export const cancelledCodeOut = z
  .object({ code: z.string(), status: z.literal('canceled'), new_code: z.string().optional().describe('the code that replaces an accepted one') })
  .meta({ examples: [{ code: 'hd3fuu77zktk4hfxkthnt6bz4mt50bme', status: 'canceled', new_code: 'eokr9rj8w027oefmroib1n2h1sq5361o' }] });

export const siteUsersOut = z.object({
  max_users: z.number().int().nullable().describe('users,max: 0 or null means no limit; the administrator does not count'),
  users_count: z.number().int().describe('users that count against the limit: enabled, not the administrator'),
  users: z.array(z.object({ id: z.number().int(), login: z.string(), name: z.string().nullable(), role: z.string().describe('client_admin: the site administrator'), disabled: z.boolean() })),
}).meta({ examples: [{ max_users: 5, users_count: 1, users: [{ id: 14, login: 'test-admin', name: null, role: 'client_admin', disabled: false }, { id: 15, login: 'webmaster', name: 'Web Master', role: 'user', disabled: false }] }] });

export const siteDatabaseOut = z
  .object({
    name: z.string(),
    state: z.enum(['applied', 'pending', 'failed']).describe("applied: made on the site's database server; pending: not yet (or no database server holds the site yet); failed: see error"),
    error: z.string().nullable().describe("the database server's reason when failed"),
    created_at: z.string(),
  })
  .meta({ examples: [{ name: 'testdoma_shop', state: 'applied', error: null, created_at: '2026-01-02T03:04:05.000Z' }] });
const databaseService = z.object({
  enabled: z.boolean().nullable().describe('null: not set for this site or its plan'),
  prefix: z.string().nullable().describe('every database name starts with it (dbaseprefix)'),
  admin: z.string().nullable().describe('the database administrator login (dbaseadmin); it signs in with the site\'s database password'),
  max_databases: z.number().int().nullable().describe('most databases (dbasenum); null: no limit'),
  size_bytes: z.number().nullable().describe("the total size of these databases as the site's database server last reported it; null until it does"),
  databases: z.array(siteDatabaseOut).describe('the databases made for this site'),
});
export const databasesOut = z.object({ mysql: databaseService, pgsql: databaseService }).meta({
  examples: [
    {
      mysql: { enabled: true, prefix: 'testdoma_', admin: 'testdoma', max_databases: 10, size_bytes: 180224, databases: [{ name: 'testdoma_shop', state: 'applied', error: null, created_at: '2026-01-02T03:04:05.000Z' }] },
      pgsql: { enabled: false, prefix: null, admin: null, max_databases: null, size_bytes: null, databases: [] },
    },
  ],
});
export const createDatabaseBody = z
  .object({ engine: z.string().describe('mysql or pgsql'), name: z.string().describe('the whole name, starting with the prefix') })
  .meta({ examples: [{ engine: 'mysql', name: 'testdoma_shop' }] });
export const databaseParams = z.object({ engine: z.string(), name: z.string() });
export const droppedDatabaseOut = z.object({ name: z.string(), dropped: z.literal(true) }).meta({ examples: [{ name: 'testdoma_shop', dropped: true }] });

export const usageOut = z.object({
  storage: z.object({
    quota_bytes: z.number().nullable().describe('diskquota,quota in diskquota,units (MB when unset); 0: no limit'),
    used_bytes: z.number().nullable().describe('null: not measured yet'),
  }),
  bandwidth: z.object({
    enabled: z.boolean().nullable(),
    threshold_bytes: z.number().nullable().describe('bandwidth,threshold (kept in MB) in bytes; null: not set'),
    used_bytes: z.number().nullable().describe('null: not measured yet'),
  }),
}).meta({ examples: [{ storage: { quota_bytes: 5242880000, used_bytes: 734003200 }, bandwidth: { enabled: true, threshold_bytes: 107374182400, used_bytes: null } }] });
