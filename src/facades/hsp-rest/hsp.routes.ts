import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { listAuditEvents } from '../../core/audit/audit.service.js';
import { cancelClient, createClient, getClient, listClients, searchClients, updateClient } from '../../core/clients/client.service.js';
import type { ClientRef } from '../../core/clients/client.schema.js';
import { ctxFor, type CoreDeps, type Ctx } from '../../core/context.js';
import { authenticateReseller } from '../../core/credentials/credential.service.js';
import { getDomain, getDomainStatus, updateDomain } from '../../core/domains/domain.service.js';
import { listPackagesByTag } from '../../core/packages/package.service.js';
import { getOwnCredentials, listSellablePackages, rotateOwnCredentials, signUpReseller, startResellerSignUp } from '../../core/resellers/reseller.service.js';
import { issueClientLoginToken } from '../../core/sso/sso.service.js';
import { toWebhookDeliveryOut, toWebhookEndpointOut } from '../../core/webhooks/webhook.schema.js';
import { createWebhookEndpoint, deleteWebhookEndpoint, listWebhookDeliveries, listWebhookEndpoints, replayWebhookDelivery } from '../../core/webhooks/webhook.service.js';
import { AppError } from '../../errors/app-error.js';
import { toAppError } from '../../http/errors.js';
import { registerIdempotency } from '../../http/idempotency.js';
import { queryId, queryLimit, queryValue } from '../../http/query.js';
import { sendHspError } from './hsp.errors.js';
import { CSRF_HEADER, csrfRefused } from '../../http/csrf.js';
import { resellerSessionOf, resellerSessionRoutes } from './reseller-session.routes.js';
import { resellerStatsRoutes } from './reseller-stats.routes.js';
import { resellerUsageRoutes } from './reseller-usage.routes.js';
import * as s from './hsp.schemas.js';
import { echoReseller, emptyResellerTemplate, toHspAuditEvent, toHspClient, toHspClientWithStatus, toHspDomain, toHspPackages, toHspReseller, toHspSellablePackages } from './hsp.serializers.js';

declare module 'fastify' {
  interface FastifyRequest {
    hspCtx?: Ctx;
    /** Set when the request came with the console's session cookie rather than Basic auth. */
    resellerSessionToken?: string;
  }
}

const security: Record<string, string[]>[] = [{ resellerBasic: [] }, { resellerSession: [] }];
const errors = { 401: s.hspErrors, 404: s.hspErrors, 422: s.hspErrors };

function parseBasic(header: string | undefined): { token: string; key: string } | null {
  if (!header) return null;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return null;
  return { token: decoded.slice(0, colon), key: decoded.slice(colon + 1) };
}

function ctxOf(req: FastifyRequest): Ctx {
  if (!req.hspCtx) throw new AppError('unauthenticated', 'authentication required');
  return req.hspCtx;
}

const CLIENT_ID = /^[0-9]{1,15}$/;

function clientRefById(params: unknown): ClientRef {
  const id = (params as { id: string }).id;
  if (!CLIENT_ID.test(id)) throw AppError.notFound('client');
  return { id: Number(id) };
}

function clientRefByDomain(params: unknown): ClientRef {
  return { domain: (params as { domain_name: string }).domain_name };
}

function domainName(params: unknown): string {
  return (params as { domain_name: string }).domain_name;
}

/** Later versions of the API wrapped bodies in {"client": ...}; both are accepted. */
function unwrapClient(body: unknown): unknown {
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const keys = Object.keys(body);
    if (keys.length === 1 && keys[0] === 'client') return (body as { client: unknown }).client;
  }
  return body;
}

export async function hspRestRoutes(app: FastifyInstance, deps: CoreDeps): Promise<void> {
  app.setErrorHandler((err, req, reply) => {
    const appError = toAppError(err);
    if (appError.code === 'internal') req.log.error({ err }, 'request failed');
    return sendHspError(reply, appError);
  });

  const publicRoutes = new Set(['/v1/resellers/new', '/v1/resellers', '/v1/session', '/v1/branding']);
  app.addHook('onRequest', async (req) => {
    if (publicRoutes.has(req.routeOptions.url ?? '')) return;
    const credentials = parseBasic(req.headers.authorization);
    if (credentials) {
      const base = ctxFor(deps, { kind: 'system' }, req.log);
      const resellerId = await authenticateReseller(base, credentials.token, credentials.key);
      req.hspCtx = ctxFor(deps, { kind: 'reseller', resellerId }, req.log, req);
      return;
    }
    // The web console: the reseller's session cookie, and on every change its CSRF token.
    const session = await resellerSessionOf(deps, req);
    if (!session) throw new AppError('unauthenticated', 'API token and key required (HTTP Basic auth), or sign in to the console');
    if (csrfRefused(deps, session.token, req)) throw new AppError('forbidden', `a change from a console session needs the ${CSRF_HEADER} header of GET /v1/session`);
    req.hspCtx = ctxFor(deps, { kind: 'reseller', resellerId: session.resellerId }, req.log, req);
    req.resellerSessionToken = session.token;
  });
  // Public routes (sign-up) have no credential to scope a key to, so they ignore Idempotency-Key.
  registerIdempotency(app, { get: (req) => req.hspCtx, set: (req, ctx) => (req.hspCtx = ctx) });

  const mx = deps.settings;
  const tags = ['HSP reseller API v1'];

  app.get(
    '/v1/clients',
    { schema: { tags, security, summary: "All of the reseller's clients", response: { 200: s.hspClientList, 401: s.hspErrors } } },
    async (req, reply) => {
      const ctx = ctxOf(req);
      const batches = listClients(ctx);
      // The first batch is read before the status line goes out, so a failing query is still a clean error.
      const first = await batches.next();
      async function* body(): AsyncGenerator<string> {
        yield '[';
        let sep = '';
        for (let r = first; !r.done; r = await batches.next()) {
          let chunk = '';
          for (const c of r.value) {
            chunk += sep + JSON.stringify(toHspClient(mx, c));
            sep = ',';
          }
          yield chunk;
        }
        yield ']';
      }
      return reply.type('application/json; charset=utf-8').send(Readable.from(body()));
    },
  );

  app.post(
    '/v1/clients',
    { schema: { tags, security, summary: 'Create a client', body: s.createClientInput, response: { 201: s.hspClient, ...errors } } },
    async (req, reply) => reply.code(201).send(toHspClient(mx, await createClient(ctxOf(req), unwrapClient(req.body) as never))),
  );

  const clientResponse = { 200: s.hspClient, ...errors };
  app.get('/v1/clients/:id', { schema: { tags, security, summary: 'Get a client by id', params: s.clientIdParams, response: clientResponse } }, async (req) =>
    toHspClient(mx, await getClient(ctxOf(req), clientRefById(req.params))),
  );
  app.get(
    '/v1/domains/:domain_name/client',
    { schema: { tags, security, summary: 'Get the client holding a domain', params: s.domainParams, response: clientResponse } },
    async (req) => toHspClient(mx, await getClient(ctxOf(req), clientRefByDomain(req.params))),
  );

  const updateSchema = { tags, security, body: s.updateClientInput, response: clientResponse };
  app.put('/v1/clients/:id', { schema: { ...updateSchema, summary: 'Update a client (a domains list replaces the set)', params: s.clientIdParams } }, async (req) =>
    toHspClient(mx, await updateClient(ctxOf(req), clientRefById(req.params), unwrapClient(req.body) as never)),
  );
  app.put(
    '/v1/domains/:domain_name/client',
    { schema: { ...updateSchema, summary: 'Update the client holding a domain', params: s.domainParams } },
    async (req) => toHspClient(mx, await updateClient(ctxOf(req), clientRefByDomain(req.params), unwrapClient(req.body) as never)),
  );

  app.delete('/v1/clients/:id', { schema: { tags, security, summary: 'Cancel a client (mail for its domains stops)', params: s.clientIdParams, response: clientResponse } }, async (req) =>
    toHspClient(mx, await cancelClient(ctxOf(req), clientRefById(req.params))),
  );
  app.delete(
    '/v1/domains/:domain_name/client',
    { schema: { tags, security, summary: 'Cancel the client holding a domain', params: s.domainParams, response: clientResponse } },
    async (req) => toHspClient(mx, await cancelClient(ctxOf(req), clientRefByDomain(req.params))),
  );

  const tokenResponse = { 200: s.hspAuthToken, ...errors };
  app.get('/v1/clients/:id/auth_token', { schema: { tags, security, summary: "Single-use login token for the client's admin", params: s.clientIdParams, response: tokenResponse } }, async (req) =>
    issueClientLoginToken(ctxOf(req), clientRefById(req.params)),
  );
  app.get(
    '/v1/domains/:domain_name/auth_token',
    { schema: { tags, security, summary: "Single-use login token for the admin of the client holding a domain", params: s.domainParams, response: tokenResponse } },
    async (req) => issueClientLoginToken(ctxOf(req), clientRefByDomain(req.params)),
  );

  const domainResponse = { 200: s.hspDomain, ...errors };
  app.get('/v1/domains/:domain_name', { schema: { tags, security, summary: 'Get a domain', params: s.domainParams, response: domainResponse } }, async (req) =>
    toHspDomain(mx, await getDomain(ctxOf(req), domainName(req.params))),
  );
  app.put(
    '/v1/domains/:domain_name',
    { schema: { tags, security, summary: "Update a domain's mail servers", params: s.domainParams, body: s.updateDomainInput, response: domainResponse } },
    async (req) => toHspDomain(mx, await updateDomain(ctxOf(req), domainName(req.params), req.body as never)),
  );
  app.get(
    '/v1/domains/:domain_name/status',
    { schema: { tags, security, summary: 'Setup status of a domain', params: s.domainParams, response: { 200: s.hspStatus, ...errors } } },
    async (req) => ({ status: await getDomainStatus(ctxOf(req), domainName(req.params)) }),
  );

  app.get(
    '/v1/packages/by_tag/:tag_name',
    { schema: { tags, security, summary: 'Packages carrying a tag, in order', params: s.tagParams, response: { 200: s.hspPackageList, 401: s.hspErrors, 404: s.hspErrors } } },
    async (req) => toHspPackages(await listPackagesByTag(ctxOf(req), (req.params as { tag_name: string }).tag_name)),
  );

  app.get(
    '/v1/audit',
    { schema: { tags, security, summary: "The reseller's audit log, newest first; page with `before` (the next_before of the previous page)", querystring: s.hspAuditQuery, response: { 200: s.hspAuditPage, 401: s.hspErrors, 422: s.hspErrors } } },
    async (req) => {
      const page = await listAuditEvents(ctxOf(req), req.query);
      return { events: page.events.map(toHspAuditEvent), next_before: page.next_before };
    },
  );

  const webhookId = (params: unknown, what: string): number => {
    const id = (params as { id: string }).id;
    if (!CLIENT_ID.test(id)) throw AppError.notFound(what);
    return Number(id);
  };
  app.get('/v1/webhooks', { schema: { tags, security, summary: "The reseller's webhook endpoints", response: { 200: s.webhookEndpointList, 401: s.hspErrors } } }, async (req) =>
    (await listWebhookEndpoints(ctxOf(req))).map(toWebhookEndpointOut),
  );
  app.post(
    '/v1/webhooks',
    {
      schema: {
        tags,
        security,
        summary: 'Register a webhook endpoint (a generated secret is returned once); deliveries are signed with Hostplane-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">',
        body: s.createWebhookInput,
        response: { 201: s.createdWebhookOut, ...errors },
      },
    },
    async (req, reply) => reply.code(201).send(toWebhookEndpointOut(await createWebhookEndpoint(ctxOf(req), req.body))),
  );
  app.delete('/v1/webhooks/:id', { schema: { tags, security, summary: 'Delete a webhook endpoint', params: s.clientIdParams, response: { 200: s.webhookEndpointOut, ...errors } } }, async (req) =>
    toWebhookEndpointOut(await deleteWebhookEndpoint(ctxOf(req), webhookId(req.params, 'webhook'))),
  );
  app.get(
    '/v1/webhooks/:id/deliveries',
    { schema: { tags, security, summary: "An endpoint's deliveries, newest first: pages of `limit` (default 100) older than `before` (the last id shown), optionally of one `status`", querystring: s.listWebhookDeliveriesQuery, params: s.clientIdParams, response: { 200: s.webhookDeliveryList, ...errors } } },
    async (req) => (await listWebhookDeliveries(ctxOf(req), webhookId(req.params, 'webhook'), req.query)).map(toWebhookDeliveryOut),
  );
  app.post(
    '/v1/webhook-deliveries/:id/replay',
    { schema: { tags, security, summary: 'Send a delivery again (a new delivery with the same event id)', params: s.clientIdParams, 'x-no-request-body': true, response: { 201: s.replayedDeliveryOut, ...errors } } },
    async (req, reply) => reply.code(201).send(toWebhookDeliveryOut(await replayWebhookDelivery(ctxOf(req), webhookId(req.params, 'webhook delivery')))),
  );

  app.get(
    '/v1/clients/search',
    {
      schema: {
        tags,
        security,
        summary: "A page of the reseller's live clients in id order, with their and their domains' status; search with q, page with after (the next_after of the previous page)",
        querystring: s.hspClientSearchQuery,
        response: { 200: s.hspClientPage, 401: s.hspErrors, 422: s.hspErrors },
      },
    },
    async (req) => {
      const search = queryValue(req.query, 'q')?.trim();
      const afterId = queryId(queryValue(req.query, 'after'), 'after', 'must be a client id');
      const limit = queryLimit(queryValue(req.query, 'limit'), { max: 200, fallback: 50 });
      const clients = await searchClients(ctxOf(req), { limit, ...(afterId !== undefined ? { afterId } : {}), ...(search ? { search: search.slice(0, 200) } : {}) });
      return { clients: clients.map((c) => toHspClientWithStatus(mx, c)), next_after: clients.length === limit ? clients[clients.length - 1]!.id : null };
    },
  );

  app.get(
    '/v1/packages',
    { schema: { tags, security, summary: 'The packages this reseller may sell, with their costs', response: { 200: s.hspSellablePackageList, 401: s.hspErrors } } },
    async (req) => toHspSellablePackages(await listSellablePackages(ctxOf(req))),
  );

  app.get(
    '/v1/credentials',
    { schema: { tags, security, summary: "The reseller's API token and console login (the key is shown only when issued)", response: { 200: s.hspOwnCredentials, 401: s.hspErrors } } },
    async (req) => {
      const own = await getOwnCredentials(ctxOf(req));
      return { api_token: own.api_token, approved_at: own.approved_at ? own.approved_at.toISOString() : null, login: own.login };
    },
  );
  app.post(
    '/v1/credentials/rotate',
    { schema: { tags, security, summary: 'Replace the API token and key (shown once); the old pair and console sessions opened with it stop working', 'x-no-request-body': true, response: { 201: s.hspNewCredentials, ...errors } } },
    async (req, reply) => reply.code(201).send(await rotateOwnCredentials(ctxOf(req), req.resellerSessionToken)),
  );

  resellerSessionRoutes(app, deps);
  resellerStatsRoutes(app);
  resellerUsageRoutes(app);

  app.get(
    '/v1/resellers/new',
    { schema: { tags, summary: 'Start a reseller sign-up: a captcha and an empty form', response: { 200: s.hspSignupStart, 429: s.hspErrors, 503: s.hspErrors } } },
    async (req) => ({ captcha: await startResellerSignUp(ctxFor(deps, { kind: 'public', ip: req.ip }, req.log, req), req.ip), reseller: emptyResellerTemplate() }),
  );

  app.post(
    '/v1/resellers',
    { schema: { tags, summary: 'Sign up as a reseller (reviewed by an operator)', body: s.hspSignupBody, response: { 201: s.hspSignupResponse, 422: s.hspSignupError, 429: s.hspSignupError } } },
    async (req, reply) => signUp(deps, req, reply),
  );
}

async function signUp(deps: CoreDeps, req: FastifyRequest, reply: FastifyReply) {
  const ctx = ctxFor(deps, { kind: 'public', ip: req.ip }, req.log, req);
  const body = req.body as { reseller?: unknown } | undefined;
  const echo = echoReseller(body && typeof body === 'object' ? body.reseller : undefined);
  try {
    const result = await signUpReseller(ctx, req.body, req.ip);
    if (result.ok) return reply.code(201).send({ reseller: toHspReseller(result.reseller), captcha: result.captcha });
    return reply.code(422).send({ captcha: result.captcha, reseller: echo, errors: result.errors });
  } catch (e) {
    const err = toAppError(e);
    if (err.code !== 'rate_limited') throw e;
    reply.header('retry-after', String(err.details.retryAfterSeconds ?? 60));
    return reply.code(429).send({
      captcha: null,
      reseller: echo,
      errors: { reseller: {}, captcha: { base: [`too many wrong answers; try again in ${err.details.retryAfterSeconds ?? 60} seconds`] } },
    });
  }
}
