import type { FastifyReply } from 'fastify';
import type { AppError, ErrorCode } from '../../errors/app-error.js';
import { setRetryAfter } from '../../http/errors.js';

/** The one table from core error codes to the admin API's HTTP statuses. */
const statusOf: Record<ErrorCode, number> = {
  malformed_request: 400,
  payload_too_large: 413,
  validation_failed: 422,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  invalid_state: 409,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

/** The status of an error code in the JSON doors that share this table (admin, client area, console pages). */
export function httpStatusOf(code: ErrorCode): number {
  return statusOf[code];
}

/**
 * The admin API's error body `{error: {code, message, fields?}}`, which the client area's API shares;
 * only the admin API challenges for a Bearer key.
 */
export function sendJsonError(reply: FastifyReply, err: AppError, options: { challenge?: string } = {}): FastifyReply {
  const status = typeof err.details.status === 'number' ? err.details.status : statusOf[err.code];
  if (err.code === 'unauthenticated' && options.challenge) reply.header('www-authenticate', options.challenge);
  setRetryAfter(reply, err);
  return reply.code(status).send({ error: { code: err.code, message: err.message, ...(err.details.fields ? { fields: err.details.fields } : {}) } });
}

export function sendAdminError(reply: FastifyReply, err: AppError): FastifyReply {
  return sendJsonError(reply, err, { challenge: 'Bearer realm="Hostplane admin API"' });
}
