import type { FastifyReply } from 'fastify';
import type { AppError, ErrorCode } from '../../errors/app-error.js';

/** The one table from core error codes to the client API's HTTP statuses (the admin API's body shape). */
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
  internal: 500,
};

export function sendClientError(reply: FastifyReply, err: AppError): FastifyReply {
  const status = typeof err.details.status === 'number' ? err.details.status : statusOf[err.code];
  if (err.code === 'rate_limited' && err.details.retryAfterSeconds) reply.header('retry-after', String(err.details.retryAfterSeconds));
  return reply.code(status).send({ error: { code: err.code, message: err.message, ...(err.details.fields ? { fields: err.details.fields } : {}) } });
}
