import { z } from 'zod';

// The client API's route schemas: they document the door in /openapi.json (the console's generated
// client is typed from them); the use cases validate the input themselves.

export const clientError = z.object({
  error: z.object({ code: z.string(), message: z.string(), fields: z.record(z.string(), z.array(z.string())).optional() }),
});

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
});
export const clientSessionState = z.union([clientSessionOut, z.object({ signed_in: z.literal(false) })]);

export const clientLoginBody = z.union([
  z.object({ email: z.string(), password: z.string() }).describe('an end user (CRM user) who owns the client'),
  z.object({ client_id: z.number().int(), login: z.string(), password: z.string() }).describe("one of the client's own users"),
  z.object({ domain: z.string(), login: z.string(), password: z.string() }).describe("a site's user, as on ApisCP's panel login form: any live domain of the site names it"),
]);

export const switchBody = z.object({ site: z.string().describe('siteNN or a domain of the site') });

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
});

export const subscriptionsOut = z.object({
  subscriptions: z.array(z.object({ id: z.number().int(), code: z.string(), start_time: z.string(), end_time: z.string(), is_paid: z.boolean(), type: z.string(), running: z.boolean() })),
});

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
});

export const instanceOut = z.object({
  id: z.number().int(),
  name: z.string().nullable(),
  status: z.string(),
  max_users: z.number().int().describe('0: no limit; the administrator does not count'),
  users_count: z.number().int(),
  users: z.array(z.object({ id: z.number().int(), login: z.string(), name: z.string().nullable(), role: z.string(), groups: z.array(z.string()) })),
  modules: z.array(z.string()).describe('installed add-ons'),
  groups: z.record(z.string(), z.string()).describe('access group ids and their names'),
  usage: z.object({ used_bytes: z.number(), used_mb: z.number(), limit_mb: z.number().describe('0: no limit'), exceeded: z.boolean() }),
});

export const addUserBody = z.object({ login: z.string(), name: z.string().optional(), password: z.string() });
export const addedUserOut = z.object({ id: z.number().int(), login: z.string() });

export const codeParams = z.object({ code: z.string() });
export const cancelledCodeOut = z.object({ code: z.string(), status: z.literal('canceled'), new_code: z.string().optional().describe('the code that replaces an accepted one') });

export const siteUsersOut = z.object({
  max_users: z.number().int().nullable().describe('users,max: 0 or null means no limit; the administrator does not count'),
  users_count: z.number().int().describe('users that count against the limit: enabled, not the administrator'),
  users: z.array(z.object({ id: z.number().int(), login: z.string(), name: z.string().nullable(), role: z.string().describe('client_admin: the site administrator'), disabled: z.boolean() })),
});

const databaseService = z.object({
  enabled: z.boolean().nullable().describe('null: not set for this site or its plan'),
  prefix: z.string().nullable().describe('every database name starts with it (dbaseprefix)'),
  admin: z.string().nullable().describe('the database administrator login (dbaseadmin)'),
  max_databases: z.number().int().nullable().describe('most databases (dbasenum); null: not set'),
});
export const databasesOut = z.object({ mysql: databaseService, pgsql: databaseService });

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
});
