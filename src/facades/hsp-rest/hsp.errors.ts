import type { FastifyReply } from 'fastify';
import { readCookie } from '../../http/cookies.js';
import { RESELLER_COOKIE } from './reseller-session.routes.js';
import type { AppError, ErrorCode } from '../../errors/app-error.js';
import { setRetryAfter } from '../../http/errors.js';

/** The one table from core error codes to this door's HTTP statuses. */
const statusOf: Record<ErrorCode, number> = {
  malformed_request: 400,
  payload_too_large: 413,
  validation_failed: 422,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 422,
  invalid_state: 422,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

/**
 * A request of the web console (its session cookie, its sign-in, or the header its client sends)
 * gets no Basic challenge: the browser would answer it with its own password prompt.
 */
function fromConsole(reply: FastifyReply): boolean {
  const req = reply.request;
  return req.routeOptions.url === '/v1/session' || req.headers['x-requested-with'] !== undefined || readCookie(req, RESELLER_COOKIE) !== undefined;
}

/** HSP errors always read `{"errors": {"<field>": [...], "base": [...]}}`. */
export function sendHspError(reply: FastifyReply, err: AppError): FastifyReply {
  const status = typeof err.details.status === 'number' ? err.details.status : statusOf[err.code];
  if (err.code === 'unauthenticated' && !fromConsole(reply)) reply.header('www-authenticate', 'Basic realm="Hostplane reseller API", charset="UTF-8"');
  setRetryAfter(reply, err);
  const errors = err.code === 'validation_failed' && err.details.fields ? err.details.fields : { base: [err.code === 'not_found' ? 'Not found' : err.message] };
  return reply.code(status).send({ errors });
}
