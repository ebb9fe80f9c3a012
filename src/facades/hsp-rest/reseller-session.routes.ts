import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ctxFor, type CoreDeps } from '../../core/context.js';
import { getBrandForHost, getResellerSession, loginReseller, logoutReseller, RESELLER_SESSION_TTL_SECONDS, type ResellerSessionView } from '../../core/resellers/reseller-login.service.js';
import { csrfTokenFor } from '../../core/sso/sso.service.js';
import { AppError } from '../../errors/app-error.js';
import { cookiesSecure, readCookie, sessionCookie } from '../../http/cookies.js';
import { CSRF_HEADER, csrfRefused } from '../../http/csrf.js';
import * as s from './hsp.schemas.js';

/** The reseller console's session cookie: HttpOnly, SameSite=Lax, sent only to the HSP API. */
export const RESELLER_COOKIE = 'hp_reseller';
const COOKIE_PATH = '/v1';

/** The signed-in reseller of this request's cookie, with the cookie's token. */
export async function resellerSessionOf(deps: CoreDeps, req: FastifyRequest): Promise<(ResellerSessionView & { token: string }) | undefined> {
  const token = readCookie(req, RESELLER_COOKIE);
  if (!token) return undefined;
  const session = await getResellerSession(ctxFor(deps, { kind: 'system' }, req.log), token);
  return session ? { ...session, token } : undefined;
}

/** Sign-in, who-am-I (with the CSRF token) and sign-out of the reseller console, plus the login host's brand. */
export function resellerSessionRoutes(app: FastifyInstance, deps: CoreDeps): void {
  const cookie = (req: FastifyRequest, value: string, maxAge: number) => sessionCookie(RESELLER_COOKIE, value, { path: COOKIE_PATH, maxAge, secure: cookiesSecure(deps.settings.publicUrl, req) });
  const tags = ['HSP reseller console session'];
  const errors = { 401: s.hspErrors, 403: s.hspErrors, 422: s.hspErrors, 429: s.hspErrors };
  const view = (session: ResellerSessionView, token: string) => ({
    signed_in: true as const,
    reseller: { id: session.resellerId, name: session.resellerName, username: session.username },
    login: session.login,
    method: session.method,
    expires_at: session.expiresAt.toISOString(),
    csrf_token: csrfTokenFor(deps, token),
  });
  const noStore = (reply: FastifyReply) => reply.header('cache-control', 'no-store');

  app.post(
    '/v1/session',
    {
      schema: {
        tags,
        summary: 'Sign a reseller in to the web console, with {login, password} or {token, key}: sets the HttpOnly session cookie and returns the CSRF token',
        body: s.resellerSignInBody,
        response: { 200: s.resellerSession, ...errors },
      },
    },
    async (req, reply) => {
      noStore(reply);
      const body = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, unknown>;
      const ctx = ctxFor(deps, { kind: 'public', ip: req.ip }, req.log, req);
      const session = await loginReseller(ctx, { login: body.login, password: body.password, token: body.token, key: body.key });
      const who = await getResellerSession(ctx, session.token);
      if (!who) throw new AppError('internal', 'session vanished');
      reply.header('set-cookie', cookie(req, session.token, RESELLER_SESSION_TTL_SECONDS));
      return view(who, session.token);
    },
  );

  app.get(
    '/v1/session',
    { schema: { tags, summary: "The signed-in reseller and the session's CSRF token, or signed_in: false", security: [{ resellerSession: [] }], response: { 200: s.resellerSessionState, 503: s.hspErrors } } },
    async (req, reply) => {
      noStore(reply);
      const session = await resellerSessionOf(deps, req);
      return session ? view(session, session.token) : { signed_in: false as const };
    },
  );

  app.delete(
    '/v1/session',
    { schema: { tags, summary: 'Sign out: the session ends and its cookie is cleared', security: [{ resellerSession: [] }], response: { 204: z.null().describe('signed out'), 403: s.hspErrors } } },
    async (req, reply) => {
      noStore(reply);
      const session = await resellerSessionOf(deps, req);
      if (session) {
        if (csrfRefused(deps, session.token, req)) throw new AppError('forbidden', `signing out needs the ${CSRF_HEADER} header`);
        await logoutReseller(ctxFor(deps, { kind: 'reseller', resellerId: session.resellerId }, req.log, req), session.token);
      }
      reply.header('set-cookie', cookie(req, '', 0));
      return reply.code(204).send();
    },
  );

  app.get(
    '/v1/branding',
    { schema: { tags, summary: "The brand name of the reseller whose login host this request came to (null elsewhere), for the reseller sign-in page", response: { 200: s.resellerBrand, 503: s.hspErrors } } },
    async (req) => getBrandForHost(ctxFor(deps, { kind: 'public', ip: req.ip }, req.log, req), req.headers.host),
  );
}
