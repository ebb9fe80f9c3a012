import type { FastifyReply } from 'fastify';
import type { AppError, ErrorCode } from '../../errors/app-error.js';
import { setRetryAfter } from '../../http/errors.js';

/** The one table from core error codes to /agent/v1 statuses: input problems are 400, never 422 or 500. */
const statusOf: Record<ErrorCode, number> = {
  malformed_request: 400,
  validation_failed: 400,
  payload_too_large: 413,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  invalid_state: 409,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

/** AgentErrorBody of the wire contract; field problems are spelled out in the message, which agents log. */
export function sendAgentError(reply: FastifyReply, err: AppError): FastifyReply {
  const status = typeof err.details.status === 'number' ? err.details.status : statusOf[err.code];
  if (err.code === 'unauthenticated') reply.header('www-authenticate', 'Bearer realm="Hostplane agent API"');
  setRetryAfter(reply, err);
  const fields = err.details.fields ? Object.entries(err.details.fields).map(([k, v]) => `${k} ${v.join(', ')}`) : [];
  const message = fields.length ? `${err.message}: ${fields.join('; ')}` : err.message;
  return reply.code(status).send({ error: { code: err.code, message } });
}
