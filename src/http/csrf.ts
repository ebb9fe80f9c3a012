import type { FastifyRequest } from 'fastify';
import type { Ctx } from '../core/context.js';
import { csrfTokenValid } from '../core/sso/sso.service.js';

/** The header a console session sends its anti-forgery token in (from the door's GET .../session). */
export const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Whether a request made with a console session cookie must be refused: it changes something and
 * does not carry the session's token. Every cookie-authenticated door checks this one way.
 */
export function csrfRefused(ctx: Pick<Ctx, 'settings'>, sessionToken: string, req: Pick<FastifyRequest, 'method' | 'headers'>): boolean {
  return !SAFE_METHODS.has(req.method) && !csrfTokenValid(ctx, sessionToken, req.headers[CSRF_HEADER]);
}
