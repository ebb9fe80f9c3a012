import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ctxFor, type CoreDeps, type Ctx } from '../../core/context.js';
import { ACCESS_GROUPS } from '../../core/saas/saas.schema.js';
import { deactivateInstanceUser } from '../../core/saas/instance-users.js';
import { addInstanceUser, getInstanceOverview } from '../../core/saas/saas.service.js';
import { switchSite } from '../../core/sites/site.service.js';
import { cancelClientAreaFamilyCode, getClientAreaHeader, getClientAreaSites, listClientAreaDomains, listClientAreaFamilyCodes, listClientAreaSubscriptions } from '../../core/sso/sso.client-area.js';
import { csrfTokenFor, getSession, loginClientOwner, loginClientUser, loginSiteUser, logoutClientSession } from '../../core/sso/sso.service.js';
import { createSiteDatabase, dropSiteDatabase, listSiteDatabases } from '../../core/sites/site-databases.js';
import { getClientAreaUsage, getClientAreaUsageSeries, listClientAreaSiteUsers } from '../../core/sso/sso.site-area.js';
import { siteUsageSeriesOut, usageDaysQuery } from '../../core/nodes/node.schema.js';
import { pathId, queryValue } from '../../http/query.js';
import { getSuspendedSiteSession } from '../../core/sso/sso.suspended.js';
import { siteName } from '../../core/sites/site.schema.js';
import { AppError } from '../../errors/app-error.js';
import { readCookie } from '../../http/cookies.js';
import { CSRF_HEADER, csrfRefused } from '../../http/csrf.js';
import { toAppError } from '../../http/errors.js';
import { clientSessionCookie, SESSION_COOKIE } from '../console/console.routes.js';
import { sendClientError } from './client-rest.errors.js';
import * as s from './client-rest.schemas.js';


interface ClientSession {
  token: string;
  userId: number;
  clientId: number;
  originClientId: number | null;
  /** The reseller whose login link opened the session, handed on to a site switched into. */
  viaResellerId?: number | null;
  login: string;
  role: string;
  expiresAt: Date;
  /** Set for a suspended site's admin (cp.config auth suspended_login): the overview and sign-out only. */
  suspended?: { reason: string | null };
}

declare module 'fastify' {
  interface FastifyRequest {
    clientSession?: ClientSession;
  }
  interface FastifyContextConfig {
    /** Routes that answer without a session (sign-in, who-am-I). */
    clientPublic?: boolean;
  }
}

/**
 * The client API (`/client/v1/...`): what a client's signed-in administrator, user or owner sees and
 * does in the web console's client area. Authenticated by the client session cookie; every change
 * needs the session's X-CSRF-Token. Everything is of the session's own client, so another client's
 * records cannot even be named.
 */
export async function clientRestRoutes(app: FastifyInstance, deps: CoreDeps): Promise<void> {
  app.setErrorHandler((err, req, reply) => {
    const appError = toAppError(err);
    if (appError.code === 'internal') req.log.error({ err }, 'request failed');
    return sendClientError(reply, appError);
  });
  app.addHook('onSend', (_req, reply, payload, done) => {
    reply.header('cache-control', 'no-store');
    done(null, payload);
  });

  const sessionOf = async (req: FastifyRequest): Promise<ClientSession | undefined> => {
    const token = readCookie(req, SESSION_COOKIE);
    return token ? sessionOfToken(req, token) : undefined;
  };
  const sessionOfToken = async (req: FastifyRequest, token: string): Promise<ClientSession | undefined> => {
    const ctx = ctxFor(deps, { kind: 'system' }, req.log);
    const row = await getSession(ctx, token);
    if (row && row.client_id !== null) {
      return { token, userId: row.user_id, clientId: row.client_id, originClientId: row.origin_client_id, viaResellerId: row.via_reseller_id, login: row.login, role: row.role, expiresAt: row.expires_at };
    }
    if (row) return undefined;
    const held = await getSuspendedSiteSession(ctx, token);
    if (!held) return undefined;
    return { token, userId: held.user_id, clientId: held.client_id, originClientId: null, login: held.login, role: held.role, expiresAt: held.expires_at, suspended: { reason: held.reason } };
  };

  app.addHook('onRequest', async (req) => {
    const session = await sessionOf(req);
    if (session) req.clientSession = session;
    if (req.routeOptions.config.clientPublic) return;
    if (!session) throw new AppError('unauthenticated', 'sign in first: your session has ended or there is none');
    if (csrfRefused(deps, session.token, req)) throw new AppError('forbidden', `changes need the ${CSRF_HEADER} header of this session`);
    if (session.suspended) throw new AppError('invalid_state', 'this account is suspended: only its overview is open until your provider reactivates it', { reason: 'client_suspended' });
  });

  const sessionCtx = (req: FastifyRequest): { ctx: Ctx; session: ClientSession } => {
    const session = req.clientSession;
    if (!session) throw new AppError('unauthenticated', 'sign in first');
    return { ctx: ctxFor(deps, { kind: 'user', userId: session.userId }, req.log, req), session };
  };

  const view = async (req: FastifyRequest, session: ClientSession) => {
    const ctx = ctxFor(deps, { kind: 'system' }, req.log);
    const client = await getClientAreaHeader(ctx, session.clientId);
    return {
      signed_in: true as const,
      user: { id: session.userId, login: session.login, role: session.role },
      client,
      // A suspended site is entered by no one: no switching from it either.
      sites: session.suspended ? { site: siteName(session.clientId), subordinates: [], origin: null } : await getClientAreaSites(ctx, { clientId: session.clientId, originClientId: session.originClientId, login: session.login }),
      suspension: session.suspended ?? null,
      expires_at: session.expiresAt.toISOString(),
      csrf_token: csrfTokenFor(deps, session.token),
    };
  };
  /** The view of a session just opened, read back the way later requests will read it. */
  const viewOfToken = async (req: FastifyRequest, token: string) => {
    const session = await sessionOfToken(req, token);
    if (!session) throw new AppError('internal', 'the new session is not there');
    return view(req, session);
  };

  const tags = ['Client area'];
  const security = [{ clientSession: [] }];
  const errors = { 401: s.clientError, 403: s.clientError, 404: s.clientError, 409: s.clientError, 422: s.clientError };

  app.get(
    '/client/v1/session',
    { config: { clientPublic: true }, schema: { tags, security, summary: "The signed-in client session: who, which client, the CSRF token and the sites it may switch to; or signed_in: false", response: { 200: s.clientSessionState, 503: s.clientError } } },
    async (req) => (req.clientSession ? view(req, req.clientSession) : { signed_in: false as const }),
  );

  app.post(
    '/client/v1/session',
    {
      config: { clientPublic: true },
      schema: {
        tags,
        summary:
          "Sign in to the client area: an end user who owns a client (email, password), one of a client's own users (client_id, login, password), or a site's user as on ApisCP's panel form (domain, login, password); sets the HttpOnly session cookie. A suspended site's admin signs in to a read-only notice while cp.config auth suspended_login is on",
        body: s.clientLoginBody,
        response: { 200: s.clientSessionOut, 400: s.clientError, 401: s.clientError, 409: s.clientError, 429: s.clientError },
      },
    },
    async (req, reply) => {
      const body = (req.body ?? {}) as { email?: unknown; client_id?: unknown; domain?: unknown; login?: unknown; password?: unknown };
      const ctx = ctxFor(deps, { kind: 'public', ip: req.ip }, req.log, req);
      const signed =
        body.email !== undefined
          ? await loginClientOwner(ctx, { email: body.email, password: body.password })
          : body.domain !== undefined
            ? await loginSiteUser(ctx, { domain: body.domain, login: body.login, password: body.password })
            : await loginClientUser(ctx, { clientId: body.client_id, login: body.login, password: body.password });
      reply.header('set-cookie', clientSessionCookie(deps, req, signed.token));
      return viewOfToken(req, signed.token);
    },
  );

  app.delete(
    '/client/v1/session',
    { config: { clientPublic: true }, schema: { tags, security, summary: 'Sign out: the session ends and its cookie is cleared', response: { 204: z.null().describe('signed out'), 403: s.clientError } } },
    async (req, reply: FastifyReply) => {
      const session = req.clientSession;
      if (session) {
        if (csrfRefused(deps, session.token, req)) throw new AppError('forbidden', `signing out needs the ${CSRF_HEADER} header`);
        await logoutClientSession(ctxFor(deps, { kind: 'user', userId: session.userId }, req.log, req), session.token);
      }
      reply.header('set-cookie', clientSessionCookie(deps, req, '', 0));
      return reply.code(204).send();
    },
  );

  app.post(
    '/client/v1/session/switch',
    {
      schema: {
        tags,
        security,
        summary: 'Switch to another site under the SSO rules (a master into its subordinates, and back); the new session replaces the cookie',
        body: s.switchBody,
        response: { 200: s.clientSessionOut, ...errors },
      },
    },
    async (req, reply) => {
      const { ctx, session } = sessionCtx(req);
      const target = (req.body as { site?: unknown } | undefined)?.site;
      if (typeof target !== 'string' || target === '') throw AppError.validation({ site: ['name the site to switch to'] });
      const next = await switchSite(ctx, { session: { userId: session.userId, clientId: session.clientId, originClientId: session.originClientId, viaResellerId: session.viaResellerId ?? null }, target });
      reply.header('set-cookie', clientSessionCookie(deps, req, next.id));
      return viewOfToken(req, next.id);
    },
  );

  app.get(
    '/client/v1/domains',
    { schema: { tags, security, summary: "The client's domains with their status, mail servers and the MX records to publish; search matches part of a name", querystring: s.pageQuery, response: { 200: s.domainsOut, ...errors } } },
    async (req) => {
      const { ctx, session } = sessionCtx(req);
      return listClientAreaDomains(ctx, session.clientId, req.query);
    },
  );

  app.get(
    '/client/v1/subscriptions',
    { schema: { tags, security, summary: "The subscriptions of the client's owner (none when no end user owns the client)", response: { 200: s.subscriptionsOut, ...errors } } },
    async (req) => {
      const { ctx, session } = sessionCtx(req);
      const subs = await listClientAreaSubscriptions(ctx, session.clientId);
      return { subscriptions: subs.map((x) => ({ ...x, start_time: x.start_time.toISOString(), end_time: x.end_time.toISOString() })) };
    },
  );

  app.get(
    '/client/v1/family-codes',
    {
      schema: {
        tags,
        security,
        summary: "The family codes the client's owner holds to share, newest first, with their state and activation link; status filters, search matches the start of a code or the recipient's email",
        querystring: s.familyCodesQuery,
        response: { 200: s.familyCodesOut, ...errors },
      },
    },
    async (req) => {
      const { ctx, session } = sessionCtx(req);
      const page = await listClientAreaFamilyCodes(ctx, session.clientId, req.query);
      const iso = (d: Date | null) => (d ? d.toISOString() : null);
      return {
        codes: page.codes.map((c) => ({
          code: c.code,
          status: c.status,
          subscription_type_code: c.subscription_type_code,
          subscription_type_name: c.subscription_type_name,
          activated_by: c.status === 'accepted' ? c.slave_email : null,
          activation_url: c.activation_url,
          created_at: c.created_at.toISOString(),
          accepted_at: iso(c.accepted_at),
          canceled_at: iso(c.canceled_at),
          expires_at: iso(c.expires_at),
        })),
        counts: page.counts,
        next_offset: page.next_offset,
      };
    },
  );

  app.post(
    '/client/v1/family-codes/:code/cancel',
    {
      schema: {
        tags,
        security,
        summary: "Cancel one of the owner's family codes: an unused one can no longer be activated; an accepted one ends its holder's subscription now and a new code replaces it",
        params: s.codeParams,
        'x-no-request-body': true,
        response: { 200: s.cancelledCodeOut, ...errors },
      },
    },
    async (req) => {
      const { ctx, session } = sessionCtx(req);
      return cancelClientAreaFamilyCode(ctx, session.clientId, (req.params as { code: string }).code);
    },
  );

  app.get(
    '/client/v1/users',
    { schema: { tags, security, summary: "The site's users (login, role, disabled) and its users,max limit (404 for a SaaS instance: see /client/v1/instance)", response: { 200: s.siteUsersOut, ...errors } } },
    async (req) => {
      const { ctx, session } = sessionCtx(req);
      return listClientAreaSiteUsers(ctx, session.clientId);
    },
  );

  app.get(
    '/client/v1/databases',
    {
      schema: {
        tags,
        security,
        summary: "The site's MySQL and PostgreSQL services (enabled, name prefix, database admin, most databases; never a password) and its databases, each applied, pending or failed on its database server",
        response: { 200: s.databasesOut, ...errors },
      },
    },
    async (req) => {
      const { ctx, session } = sessionCtx(req);
      return listSiteDatabases(ctx, session.clientId);
    },
  );

  app.post(
    '/client/v1/databases',
    {
      schema: {
        tags,
        security,
        summary: "Create a database of the site (site administrator only): its name starts with the service's prefix, and the site may have at most dbasenum; its database server makes it",
        body: s.createDatabaseBody,
        response: { 201: s.siteDatabaseOut, ...errors },
      },
    },
    async (req, reply) => {
      const { ctx, session } = sessionCtx(req);
      const body = (req.body ?? {}) as { engine?: unknown; name?: unknown };
      return reply.code(201).send(await createSiteDatabase(ctx, { clientId: session.clientId, role: session.role, engine: body.engine, name: body.name }));
    },
  );

  app.delete(
    '/client/v1/databases/:engine/:name',
    {
      schema: {
        tags,
        security,
        summary: "Drop one of the site's databases (site administrator only): its database server dumps it to its archives, then drops it",
        params: s.databaseParams,
        'x-no-request-body': true,
        response: { 200: s.droppedDatabaseOut, ...errors },
      },
    },
    async (req) => {
      const { ctx, session } = sessionCtx(req);
      const p = req.params as { engine: string; name: string };
      return dropSiteDatabase(ctx, { clientId: session.clientId, role: session.role, engine: p.engine, name: p.name });
    },
  );

  app.get(
    '/client/v1/usage',
    { schema: { tags, security, summary: "The site's storage quota and transfer threshold, with what its hosting node last measured (the transfer of the current bandwidth period)", response: { 200: s.usageOut, ...errors } } },
    async (req) => {
      const { ctx, session } = sessionCtx(req);
      return getClientAreaUsage(ctx, session.clientId);
    },
  );

  app.get(
    '/client/v1/usage/daily',
    {
      schema: {
        tags,
        security,
        summary: "This site's storage and transfer per day as its hosting node reported them, and the node serving it (null: not placed); 404 for a SaaS instance",
        querystring: usageDaysQuery,
        response: { 200: siteUsageSeriesOut, ...errors },
      },
    },
    async (req) => {
      const { ctx, session } = sessionCtx(req);
      return getClientAreaUsageSeries(ctx, session.clientId, queryValue(req.query, 'days'));
    },
  );

  app.get(
    '/client/v1/instance',
    { schema: { tags, security, summary: 'The SaaS instance of this client: users against max_users (a page of them), storage against its limit, add-ons and groups (404 for a hosting client)', querystring: s.instanceUsersQuery, response: { 200: s.instanceOut, ...errors } } },
    async (req) => {
      const { ctx, session } = sessionCtx(req);
      const page = { users_offset: queryValue(req.query, 'users_offset'), users_limit: queryValue(req.query, 'users_limit') };
      return { ...(await getInstanceOverview(ctx, session.clientId, page)), groups: ACCESS_GROUPS };
    },
  );

  app.post(
    '/client/v1/instance/users',
    { schema: { tags, security, summary: 'Add a user to the SaaS instance, if its max_users allows', body: s.addUserBody, response: { 201: s.addedUserOut, ...errors } } },
    async (req, reply) => {
      const { ctx, session } = sessionCtx(req);
      const body = (req.body ?? {}) as { login?: unknown; name?: unknown; password?: unknown };
      const added = await addInstanceUser(ctx, session.clientId, { login: body.login, name: body.name || undefined, password: body.password });
      return reply.code(201).send(added);
    },
  );

  app.post(
    '/client/v1/instance/users/:user/deactivate',
    { schema: { tags, security, summary: "Deactivate a user of the SaaS instance (and in its database's res_users); not the administrator or the owner", params: s.userIdParams, 'x-no-request-body': true, response: { 200: s.deactivatedUserOut, ...errors } } },
    async (req) => {
      const { ctx, session } = sessionCtx(req);
      return deactivateInstanceUser(ctx, session.clientId, pathId(req.params, 'user', 'user'));
    },
  );
}
