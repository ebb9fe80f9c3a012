import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditEvent } from '../../core/audit/audit.schema.js';
import { listAuditEvents } from '../../core/audit/audit.service.js';
import { restoreClient } from '../../core/clients/client.service.js';
import { ctxFor, type CoreDeps, type Ctx } from '../../core/context.js';
import { authenticateOperator } from '../../core/credentials/credential.service.js';
import { seedDemo } from '../../core/demo/seed-demo.js';
import { setInstanceOwnerPassword } from '../../core/saas/instance-owner-password.js';
import { deactivateInstanceUser } from '../../core/saas/instance-users.js';
import { addInstanceUser, createOperatorUser, getInstanceOverview, storeInstanceFile } from '../../core/saas/saas.service.js';
import { setDomainStatus } from '../../core/domains/domain.service.js';
import { getJob, listJobs, retryJob, type Job } from '../../core/jobs/job.service.js';
import { createFeatureInput, createPackageInput, updatePackageInput, type Package } from '../../core/packages/package.schema.js';
import { createFeature, createPackage, getPackage, listFeatures, listPackages, updatePackage } from '../../core/packages/package.service.js';
import { createResellerInput, updateResellerInput, type Reseller, type ResellerCredentials } from '../../core/resellers/reseller.schema.js';
import {
  activateReseller,
  approveReseller,
  createReseller,
  getReseller,
  listResellers,
  rotateResellerCredentials,
  suspendReseller,
  updateReseller,
} from '../../core/resellers/reseller.service.js';
import { setResellerLogin } from '../../core/resellers/reseller-login.service.js';
import { toWebhookDeliveryOut, toWebhookEndpointOut } from '../../core/webhooks/webhook.schema.js';
import { createWebhookEndpoint, deleteWebhookEndpoint, listWebhookDeliveries, listWebhookEndpoints, replayWebhookDelivery } from '../../core/webhooks/webhook.service.js';
import { AppError } from '../../errors/app-error.js';
import { toAppError } from '../../http/errors.js';
import { registerIdempotency } from '../../http/idempotency.js';
import { pathId, queryId as parseOptionalId, queryLimit, queryValue } from '../../http/query.js';
import { sendAdminError } from './admin.errors.js';
import { operatorSessionOf } from './operator-session.routes.js';
import { CSRF_HEADER, csrfRefused } from '../../http/csrf.js';
import { getOverview } from '../../core/overview/overview.service.js';
import { createEndUserFromAdmin, crmAdminRoutes } from './crm.admin.routes.js';
import * as s from './admin.schemas.js';
import * as hsp from '../hsp-rest/hsp.schemas.js';
import { groupAdminRoutes } from './groups.admin.routes.js';
import { databaseAdminRoutes } from './database.admin.routes.js';
import { keyAdminRoutes } from './keys.admin.routes.js';
import { nodeAdminRoutes } from './nodes.admin.routes.js';
import { settingsAdminRoutes } from './settings.admin.routes.js';
import { usageAdminRoutes } from './usage.admin.routes.js';
import { clientAdminRoutes } from './clients.admin.routes.js';
import { overviewAdminRoutes } from './overview.admin.routes.js';

declare module 'fastify' {
  interface FastifyRequest {
    operatorCtx?: Ctx;
  }
}

const security: Record<string, string[]>[] = [{ operatorBearer: [] }, { operatorSession: [] }];
const errors = { 401: s.adminError, 404: s.adminError, 409: s.adminError, 422: s.adminError };

function ctxOf(req: FastifyRequest): Ctx {
  if (!req.operatorCtx) throw new AppError('unauthenticated', 'operator key required');
  return req.operatorCtx;
}

const idParam = (req: FastifyRequest, what: string) => pathId(req.params, what);

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function toAdminReseller(r: Reseller) {
  return {
    id: r.id,
    name: r.name,
    username: r.username,
    email_address: r.email_address,
    first_name: r.first_name,
    last_name: r.last_name,
    address: r.address,
    city: r.city,
    state: r.state,
    postal_code: r.postal_code,
    country: r.country,
    phone: r.phone,
    application_name: r.application_name,
    tags: r.tags,
    login_hostname: r.login_hostname,
    status: r.status,
    approved_at: iso(r.approved_at),
    suspended_at: iso(r.suspended_at),
    suspend_reason: r.suspend_reason,
    created_at: r.created_at.toISOString(),
  };
}

const withCredentials = ({ reseller, credentials }: { reseller: Reseller; credentials: ResellerCredentials }) => ({
  ...toAdminReseller(reseller),
  ...credentials,
});

export function toAdminAuditEvent(e: AuditEvent) {
  return {
    id: e.id,
    occurred_at: e.occurred_at.toISOString(),
    actor_kind: e.actor_kind,
    actor_id: e.actor_id,
    reseller_id: e.reseller_id,
    action: e.action,
    target_type: e.target_type,
    target_id: e.target_id,
    changes: e.changes,
    request_id: e.request_id,
    source_ip: e.source_ip,
  };
}

export function toAdminJob(j: Job) {
  return {
    id: j.id,
    kind: j.kind,
    state: j.state,
    lane: j.lane,
    payload: j.payload,
    attempts: j.attempts,
    max_attempts: j.max_attempts,
    last_error: j.last_error,
    run_at: j.run_at.toISOString(),
    client_id: j.client_id,
    reseller_id: j.reseller_id,
    created_at: j.created_at.toISOString(),
    finished_at: iso(j.finished_at),
  };
}

export function toAdminPackage(p: Package) {
  return {
    id: p.id,
    uid: p.uid,
    name: p.name,
    description: p.description,
    position: p.position,
    free_trial: p.free_trial_days,
    tags: p.tags,
    limits: p.limits,
    domain_cost_cents: p.domain_cost_cents,
    mailbox_cost_cents: p.mailbox_cost_cents,
    parent_uid: p.parent_uid,
    features: p.features,
    service_defaults: p.service_defaults,
    dbname_template: p.dbname_template,
    max_databases: p.max_databases,
    addons: p.addons,
    node_label: p.node_label,
    template_database: p.template_database,
  };
}

const parseLimit = (raw: string | undefined) => queryLimit(raw, { max: 1000, fallback: 100 });

export async function adminRestRoutes(app: FastifyInstance, deps: CoreDeps): Promise<void> {
  app.setErrorHandler((err, req, reply) => {
    const appError = toAppError(err);
    if (appError.code === 'internal') req.log.error({ err }, 'request failed');
    return sendAdminError(reply, appError);
  });

  app.addHook('onRequest', async (req) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (m) {
      const keyId = await authenticateOperator(ctxFor(deps, { kind: 'system' }, req.log), m[1]!);
      req.operatorCtx = ctxFor(deps, { kind: 'operator', keyId }, req.log, req);
      return;
    }
    // The web console: an operator user's session cookie, and on every change its CSRF token.
    const session = await operatorSessionOf(deps, req);
    if (!session) throw new AppError('unauthenticated', 'operator key required (Authorization: Bearer <key>), or sign in to the console');
    if (csrfRefused(deps, session.token, req)) {
      throw new AppError('forbidden', `a change from a console session needs the ${CSRF_HEADER} header of GET /admin/v1/session`);
    }
    req.operatorCtx = { ...ctxFor(deps, { kind: 'operator', keyId: null, userId: session.userId }, req.log, req), credential: `operator-user:${session.userId}` };
  });
  registerIdempotency(app, { get: (req) => req.operatorCtx, set: (req, ctx) => (req.operatorCtx = ctx) });

  const tags = ['Operator admin API'];
  const resellerOut = { 200: s.resellerDoc, ...errors };
  const credsOut = { 200: s.resellerWithCredentialsDoc, ...errors };

  app.get(
    '/admin/v1/overview',
    { schema: { tags, security, summary: "The operator's dashboard: resellers, clients, live domains and jobs by state", response: { 200: s.overviewDoc, ...errors } } },
    async (req) => getOverview(ctxOf(req)),
  );

  app.get('/admin/v1/resellers', { schema: { tags, security, summary: 'Resellers, optionally of one status', querystring: s.resellerStatusQuery, response: { 200: s.resellerListDoc, 401: s.adminError, 422: s.adminErrorDoc } } }, async (req) => {
    const status = (req.query as { status?: string }).status;
    if (status !== undefined && !['pending', 'active', 'suspended'].includes(status)) throw AppError.validation({ status: ['must be pending, active or suspended'] });
    return (await listResellers(ctxOf(req), { ...(status ? { status } : {}) })).map(toAdminReseller);
  });
  app.post('/admin/v1/resellers', { schema: { tags, security, summary: 'Create an approved reseller', body: createResellerInput.meta(s.createResellerBodyDoc), response: { 201: s.resellerWithCredentialsDoc, ...errors } } }, async (req, reply) =>
    reply.code(201).send(withCredentials(await createReseller(ctxOf(req), req.body as never))),
  );
  app.get('/admin/v1/resellers/:id', { schema: { tags, security, summary: 'A reseller', params: s.idParams, response: resellerOut } }, async (req) => toAdminReseller(await getReseller(ctxOf(req), idParam(req, 'reseller'))));
  app.patch('/admin/v1/resellers/:id', { schema: { tags, security, summary: "Change a reseller's name, tags or login host (absent fields stay)", params: s.idParams, body: updateResellerInput.meta(s.updateResellerBodyDoc), response: resellerOut } }, async (req) =>
    toAdminReseller(await updateReseller(ctxOf(req), idParam(req, 'reseller'), req.body as never)),
  );
  app.post(
    '/admin/v1/resellers/:id/approve',
    {
      schema: {
        tags,
        security,
        summary: "Approve a pending sign-up; returns its credentials once. With a password, also sets the reseller's web console sign-in (login defaults to its username)",
        params: s.idParams,
        body: s.approveResellerBodyDoc,
        response: { 200: s.resellerApprovedDoc, ...errors },
      },
    },
    async (req) => {
      const approved = await approveReseller(ctxOf(req), idParam(req, 'reseller'), (req.body ?? {}) as never);
      return { ...withCredentials(approved), login: approved.login ?? null };
    },
  );
  app.put(
    '/admin/v1/resellers/:id/login',
    { schema: { tags, security, summary: "Set or reset an approved reseller's web console login and password; sessions opened with the old password end", params: s.idParams, body: s.resellerLoginBodyDoc, response: { 200: s.resellerLoginOutDoc, ...errors } } },
    async (req) => setResellerLogin(ctxOf(req), idParam(req, 'reseller'), req.body),
  );
  app.post('/admin/v1/resellers/:id/rotate-key', { schema: { tags, security, summary: 'Issue a new token and key; the old pair stops working', params: s.idParams, 'x-no-request-body': true, response: credsOut } }, async (req) =>
    withCredentials(await rotateResellerCredentials(ctxOf(req), idParam(req, 'reseller'))),
  );
  app.post(
    '/admin/v1/resellers/:id/suspend',
    { schema: { tags, security, summary: 'Suspend a reseller: its API calls answer 403, its console sessions and unused login links end; its clients stay active', params: s.idParams, body: s.suspendBodyDoc, response: resellerOut } },
    async (req) => {
      const body = (req.body ?? {}) as { reason?: unknown };
      if (body.reason !== undefined && (typeof body.reason !== 'string' || body.reason.length > 500)) throw AppError.validation({ reason: ['must be text of at most 500 characters'] });
      return toAdminReseller(await suspendReseller(ctxOf(req), idParam(req, 'reseller'), body.reason as string | undefined));
    },
  );
  app.post('/admin/v1/resellers/:id/activate', { schema: { tags, security, summary: 'Reactivate a suspended reseller', params: s.idParams, 'x-no-request-body': true, response: resellerOut } }, async (req) =>
    toAdminReseller(await activateReseller(ctxOf(req), idParam(req, 'reseller'))),
  );

  const packageOut = { 200: s.packageDoc, ...errors };
  app.get('/admin/v1/packages', { schema: { tags, security, summary: 'Every package (plan), in order', response: { 200: s.packageListDoc, 401: s.adminError } } }, async (req) => (await listPackages(ctxOf(req))).map(toAdminPackage));
  app.post('/admin/v1/packages', { schema: { tags, security, summary: 'Create a package (plan)', body: createPackageInput.meta(s.createPackageBodyDoc), response: { 201: s.packageDoc, ...errors } } }, async (req, reply) =>
    reply.code(201).send(toAdminPackage(await createPackage(ctxOf(req), req.body as never))),
  );
  app.get('/admin/v1/packages/:uid', { schema: { tags, security, summary: 'A package by uid', params: s.uidParams, response: packageOut } }, async (req) => toAdminPackage(await getPackage(ctxOf(req), (req.params as { uid: string }).uid)));
  app.patch('/admin/v1/packages/:uid', { schema: { tags, security, summary: 'Change a package (absent fields stay)', params: s.uidParams, body: updatePackageInput.meta(s.updatePackageBodyDoc), response: packageOut } }, async (req) =>
    toAdminPackage(await updatePackage(ctxOf(req), (req.params as { uid: string }).uid, req.body as never)),
  );

  app.get('/admin/v1/features', { schema: { tags, security, summary: 'Every feature packages may list', response: { 200: s.featureListDoc, 401: s.adminError } } }, async (req) => listFeatures(ctxOf(req)));
  app.post('/admin/v1/features', { schema: { tags, security, summary: 'Create a feature', body: createFeatureInput.meta(s.createFeatureBodyDoc), response: { 201: s.featureDoc, ...errors } } }, async (req, reply) =>
    reply.code(201).send(await createFeature(ctxOf(req), req.body as never)),
  );

  app.post('/admin/v1/clients/:id/restore', { schema: { tags, security, summary: 'Undo a cancel', params: s.idParams, 'x-no-request-body': true, response: { 200: s.clientDoc, ...errors } } }, async (req) =>
    restoreClient(ctxOf(req), idParam(req, 'client')),
  );

  // SaaS instances: what is inside one (modules, users and their groups, storage), and the two
  // writes its limits apply to (a user, a file).
  app.get(
    '/admin/v1/clients/:id/instance',
    { schema: { tags, security, summary: 'A SaaS instance: status, users against users,max (a page of them), access groups, modules, storage against its limit', params: s.idParams, querystring: s.instanceUsersQuery, response: { 200: s.instanceDoc, ...errors } } },
    async (req) => getInstanceOverview(ctxOf(req), idParam(req, 'client'), { users_offset: queryValue(req.query, 'users_offset'), users_limit: queryValue(req.query, 'users_limit') }),
  );
  app.put(
    '/admin/v1/clients/:id/instance/owner-password',
    { schema: { tags, security, summary: "Set a SaaS instance's owner password: the owner's login inside it and its database's owner role (sent to the db node as a SCRAM verifier)", params: s.idParams, body: s.ownerPasswordBodyDoc, response: { 200: s.ownerPasswordOutDoc, ...errors } } },
    async (req) => setInstanceOwnerPassword(ctxOf(req), idParam(req, 'client'), (req.body as { password?: unknown } | undefined)?.password),
  );
  app.post(
    '/admin/v1/clients/:id/users',
    { schema: { tags, security, summary: 'Add a user inside a SaaS instance (refused beyond its users,max)', params: s.idParams, body: s.instanceUserBodyDoc, response: { 201: s.instanceUserOutDoc, ...errors } } },
    async (req, reply) => {
      const body = (req.body ?? {}) as { login?: unknown; password?: unknown; name?: unknown };
      return reply.code(201).send(await addInstanceUser(ctxOf(req), idParam(req, 'client'), { login: body.login, password: body.password, name: body.name }));
    },
  );
  app.post(
    '/admin/v1/clients/:id/users/:user/deactivate',
    {
      schema: {
        tags,
        security,
        summary: "Deactivate a user of a SaaS instance: no more sign-in, and active false in its database's res_users (the administrator and the owner are refused)",
        params: s.instanceUserParams,
        'x-no-request-body': true,
        response: { 200: s.deactivatedUserDoc, ...errors },
      },
    },
    async (req) => deactivateInstanceUser(ctxOf(req), idParam(req, 'client'), pathId(req.params, 'user', 'user')),
  );
  app.post(
    '/admin/v1/clients/:id/files',
    // A file travels as base64 inside JSON: room for 8 MiB of content, above the API's usual body limit.
    { bodyLimit: 12 * 1024 * 1024, schema: { tags, security, summary: 'Store a file in a SaaS instance (refused past its storage limit)', params: s.idParams, body: s.instanceFileBodyDoc, response: { 201: s.instanceFileOutDoc, 413: s.adminError, ...errors } } },
    async (req, reply) => {
      const body = (req.body ?? {}) as { name?: unknown; content_base64?: unknown };
      if (typeof body.content_base64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(body.content_base64)) throw AppError.validation({ content_base64: ['must be base64'] });
      return reply.code(201).send(await storeInstanceFile(ctxOf(req), idParam(req, 'client'), { name: body.name, content: Buffer.from(body.content_base64, 'base64') }));
    },
  );

  app.put(
    '/admin/v1/domains/:name/status',
    { schema: { tags, security, summary: "Set a domain's setup status by hand", params: s.domainParams, body: s.domainStatusBodyDoc, response: { 200: s.domainDoc, ...errors } } },
    async (req) => {
      const body = req.body as { status?: unknown } | undefined;
      return setDomainStatus(ctxOf(req), (req.params as { name: string }).name, typeof body?.status === 'string' ? body.status : '');
    },
  );

  const jobOut = { 200: s.jobDoc, ...errors };
  app.get(
    '/admin/v1/audit',
    { schema: { tags, security, summary: 'The audit log of every door, newest first; page with `before` (the next_before of the previous page)', querystring: s.auditListQuery, response: { 200: s.auditPageDoc, ...errors } } },
    async (req) => {
      const page = await listAuditEvents(ctxOf(req), req.query);
      return { events: page.events.map(toAdminAuditEvent), next_before: page.next_before };
    },
  );

  app.get(
    '/admin/v1/jobs',
    { schema: { tags, security, summary: 'Jobs, newest first; page with `before` (the next_before of the previous page)', querystring: s.jobListQuery, response: { 200: s.jobPageDoc, ...errors } } },
    async (req) => {
      const q = req.query as Record<string, unknown>;
      for (const key of ['state', 'kind', 'client_id', 'before', 'limit']) if (Array.isArray(q[key])) throw AppError.validation({ [key]: ['must be given once'] });
      const limit = parseLimit(q.limit as string | undefined);
      const clientId = parseOptionalId(q.client_id as string | undefined, 'client_id');
      const beforeId = parseOptionalId(q.before as string | undefined, 'before');
      const jobs = await listJobs(ctxOf(req), {
        limit,
        ...(typeof q.state === 'string' ? { state: q.state } : {}),
        ...(typeof q.kind === 'string' ? { kind: q.kind } : {}),
        ...(clientId !== undefined ? { clientId } : {}),
        ...(beforeId !== undefined ? { beforeId } : {}),
      });
      return { jobs: jobs.map(toAdminJob), next_before: jobs.length === limit ? jobs[jobs.length - 1]!.id : null };
    },
  );
  app.get('/admin/v1/jobs/:id', { schema: { tags, security, summary: 'A background job', params: s.idParams, response: jobOut } }, async (req) => toAdminJob(await getJob(ctxOf(req), idParam(req, 'job'))));
  app.post('/admin/v1/jobs/:id/retry', { schema: { tags, security, summary: 'Give a failed job a fresh set of attempts', params: s.idParams, 'x-no-request-body': true, response: { ...jobOut, 200: s.retriedJobDoc } } }, async (req) =>
    toAdminJob(await retryJob(ctxOf(req), idParam(req, 'job'))),
  );

  app.get('/admin/v1/webhooks', { schema: { tags, security, summary: "Every webhook endpoint (operators' and resellers')", response: { 200: hsp.webhookEndpointList, ...errors } } }, async (req) =>
    (await listWebhookEndpoints(ctxOf(req))).map(toWebhookEndpointOut),
  );
  app.post(
    '/admin/v1/webhooks',
    { schema: { tags, security, summary: "Register an operator webhook endpoint, which receives every reseller's events (a generated secret is returned once)", body: hsp.createWebhookInput, response: { 201: hsp.createdWebhookOut, ...errors } } },
    async (req, reply) => reply.code(201).send(toWebhookEndpointOut(await createWebhookEndpoint(ctxOf(req), req.body))),
  );
  app.delete('/admin/v1/webhooks/:id', { schema: { tags, security, summary: 'Delete a webhook endpoint', params: s.idParams, response: { 200: hsp.webhookEndpointOut, ...errors } } }, async (req) =>
    toWebhookEndpointOut(await deleteWebhookEndpoint(ctxOf(req), idParam(req, 'webhook'))),
  );
  app.get(
    '/admin/v1/webhooks/:id/deliveries',
    { schema: { tags, security, summary: "An endpoint's deliveries, newest first: pages of `limit` (default 100) older than `before` (the last id shown), optionally of one `status`", querystring: hsp.listWebhookDeliveriesQuery, params: s.idParams, response: { 200: hsp.webhookDeliveryList, ...errors } } },
    async (req) => (await listWebhookDeliveries(ctxOf(req), idParam(req, 'webhook'), req.query)).map(toWebhookDeliveryOut),
  );
  app.post(
    '/admin/v1/webhook-deliveries/:id/replay',
    { schema: { tags, security, summary: 'Send a delivery again (a new delivery with the same event id)', params: s.idParams, 'x-no-request-body': true, response: { 201: hsp.replayedDeliveryOut, ...errors } } },
    async (req, reply) => reply.code(201).send(toWebhookDeliveryOut(await replayWebhookDelivery(ctxOf(req), idParam(req, 'webhook delivery')))),
  );

  await keyAdminRoutes(app, ctxOf);
  await databaseAdminRoutes(app, ctxOf);

  app.post(
    '/admin/v1/users',
    {
      schema: {
        tags,
        security,
        summary: 'Create an operator user (operator: true): the SaaS portal administrator, who signs in to the XML-RPC / JSON-RPC door with login and password; without operator, an end user of the CRM door (login is the email)',
        body: s.userBodyDoc,
        response: { 201: s.createdUserDoc, ...errors },
      },
    },
    async (req, reply) => {
      const body = (req.body ?? {}) as { login?: unknown; password?: unknown; name?: unknown; operator?: unknown };
      if (body.operator === undefined) return reply.code(201).send(await createEndUserFromAdmin(ctxOf(req), body));
      if (body.operator !== true) throw AppError.validation({ operator: ['must be true: only operator users are created here (portal users sign up)'] });
      const user = await createOperatorUser(ctxOf(req), { login: body.login, password: body.password, name: body.name });
      return reply.code(201).send({ ...user, role: 'operator' as const });
    },
  );

  await crmAdminRoutes(app, ctxOf);
  // The operator console's account groups, settings and plan inheritance.
  await groupAdminRoutes(app, ctxOf);
  await settingsAdminRoutes(app, ctxOf);
  await clientAdminRoutes(app, ctxOf);
  await usageAdminRoutes(app, ctxOf);
  await overviewAdminRoutes(app, ctxOf);
  await nodeAdminRoutes(app, ctxOf);

  app.post(
    '/admin/v1/demo',
    { schema: { tags, security, summary: 'Load the demo catalog and reseller into an empty catalog', 'x-no-request-body': true, response: { 200: s.demoDoc, ...errors } } },
    async (req) => {
      const result = await seedDemo(ctxOf(req));
      return result.created && result.reseller && result.credentials
        ? { created: true, reseller: withCredentials({ reseller: result.reseller, credentials: result.credentials }), ...(result.portalAdmin ? { portal_admin: result.portalAdmin } : {}) }
        : { created: false };
    },
  );
}
