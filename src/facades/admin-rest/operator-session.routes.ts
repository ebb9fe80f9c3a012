import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { csrfTokenFor } from '../../core/sso/sso.service.js';
import { getOperatorSession, loginOperator, logoutOperator, OPERATOR_SESSION_TTL_SECONDS } from '../../core/accounts/account.service.js';
import { ctxFor, type CoreDeps } from '../../core/context.js';
import { AppError } from '../../errors/app-error.js';
import { toAppError } from '../../http/errors.js';
import { sendAdminError } from './admin.errors.js';
import * as s from './admin.schemas.js';
import { cookiesSecure, readCookie, sessionCookie } from '../../http/cookies.js';
import { CSRF_HEADER, csrfRefused } from '../../http/csrf.js';

/** The operator console's session cookie: HttpOnly, SameSite=Lax, sent only to the admin API. */
export const OPERATOR_COOKIE = 'hp_operator';
const COOKIE_PATH = '/admin/v1';

/** The signed-in operator user of this request's cookie, with the cookie's token. */
export async function operatorSessionOf(deps: CoreDeps, req: FastifyRequest) {
  const token = readCookie(req, OPERATOR_COOKIE);
  if (!token) return undefined;
  const session = await getOperatorSession(ctxFor(deps, { kind: 'system' }, req.log), token);
  return session ? { ...session, token } : undefined;
}

/** Sign-in, who-am-I (with the CSRF token) and sign-out of the web console, on the admin API. */
export async function operatorSessionRoutes(app: FastifyInstance, deps: CoreDeps): Promise<void> {
  const cookie = (req: FastifyRequest, value: string, maxAge: number) => sessionCookie(OPERATOR_COOKIE, value, { path: COOKIE_PATH, maxAge, secure: cookiesSecure(deps.settings.publicUrl, req) });

  app.setErrorHandler((err, req, reply) => {
    const appError = toAppError(err);
    if (appError.code === 'internal') req.log.error({ err }, 'request failed');
    return sendAdminError(reply, appError);
  });
  app.addHook('onSend', (_req, reply, payload, done) => {
    reply.header('cache-control', 'no-store');
    done(null, payload);
  });

  const tags = ['Operator console session'];
  const errors = { 401: s.adminError, 403: s.adminError, 422: s.adminError, 429: s.adminError };
  const view = (session: { userId: number; login: string; expiresAt: Date }, token: string) => ({
    signed_in: true as const,
    user: { id: session.userId, login: session.login },
    expires_at: session.expiresAt.toISOString(),
    csrf_token: csrfTokenFor(deps, token),
  });

  app.post(
    '/admin/v1/session',
    {
      schema: {
        tags,
        summary: 'Sign an operator user in (login and password): sets the HttpOnly session cookie and returns the CSRF token',
        body: s.operatorLoginBodyDoc,
        response: { 200: s.operatorSessionDoc, ...errors },
      },
    },
    async (req, reply) => {
      const body = (req.body ?? {}) as { login?: unknown; password?: unknown };
      const session = await loginOperator(ctxFor(deps, { kind: 'public', ip: req.ip }, req.log, req), { login: body.login, password: body.password });
      reply.header('set-cookie', cookie(req, session.token, OPERATOR_SESSION_TTL_SECONDS));
      return view(session, session.token);
    },
  );

  app.get(
    '/admin/v1/session',
    { schema: { tags, summary: "The signed-in operator user and the session's CSRF token, or signed_in: false", security: [{ operatorSession: [] }], response: { 200: s.operatorSessionStateDoc, 503: s.adminError } } },
    async (req) => {
      const session = await operatorSessionOf(deps, req);
      return session ? view(session, session.token) : { signed_in: false as const };
    },
  );

  app.delete(
    '/admin/v1/session',
    { schema: { tags, summary: 'Sign out: the session ends and its cookie is cleared', security: [{ operatorSession: [] }], response: { 204: z.null().describe('signed out'), 401: s.adminError, 403: s.adminError } } },
    async (req, reply: FastifyReply) => {
      const session = await operatorSessionOf(deps, req);
      if (session) {
        if (csrfRefused(deps, session.token, req)) throw new AppError('forbidden', `signing out needs the ${CSRF_HEADER} header`);
        await logoutOperator(ctxFor(deps, { kind: 'operator', keyId: null, userId: session.userId }, req.log, req), session.token);
      }
      reply.header('set-cookie', cookie(req, '', 0));
      return reply.code(204).send();
    },
  );
}
