import type { FastifyReply } from 'fastify';
import type { AppError, ErrorCode } from '../../errors/app-error.js';
import { setRetryAfter } from '../../http/errors.js';

type Wire = { status: number; body: Record<string, unknown> };

const notAuthorized = (e: AppError) => ({ status: 'error', message: e.message.startsWith('Not authorized') ? e.message : `Not authorized: ${e.message}`, error: 'no_authorization' });
const reason = (e: AppError) => (typeof e.details.reason === 'string' ? e.details.reason : undefined);
const payloadErrors = (e: AppError) => Object.entries(e.details.fields ?? {}).flatMap(([field, messages]) => messages.map((m) => (field === 'base' ? m : `${field}: ${m}`)));

/** The one table from core error codes to REMP's statuses and bodies (crm-api-module and family module). */
const table: Record<ErrorCode, (e: AppError) => Wire> = {
  malformed_request: (e) => ({ status: 400, body: { status: 'error', message: e.message } }),
  payload_too_large: () => ({ status: 413, body: { status: 'error', message: 'Request body is too large' } }),
  validation_failed: (e) => ({ status: 400, body: { status: 'error', message: 'Payload error', errors: payloadErrors(e) } }),
  // A wrong password is the login endpoint's own answer; everything else is the API's authorization failure.
  unauthenticated: (e) => (reason(e) === 'auth_failed' ? { status: 400, body: { status: 'error', message: e.message, error: 'auth_failed' } } : { status: 403, body: notAuthorized(e) }),
  forbidden: (e) => ({ status: 403, body: notAuthorized(e) }),
  not_found: (e) => ({ status: 404, body: reason(e) ? { message: e.message, code: reason(e) } : { status: 'error', message: e.message.replace(/^./, (c) => c.toUpperCase()), code: `${e.message.replace(/ not found$/, '').replace(/ /g, '_')}_not_found` } }),
  conflict: (e) => (reason(e) === 'email_taken' ? { status: 400, body: { status: 'error', message: e.message, code: 'email_taken' } } : { status: 409, body: { message: e.message, code: reason(e) ?? 'conflict' } }),
  invalid_state: (e) => ({ status: 400, body: { message: e.message, code: reason(e) ?? 'invalid_state' } }),
  rate_limited: (e) => ({ status: 429, body: { status: 'error', message: e.message, error: 'rate_limited' } }),
  unavailable: (e) => ({ status: 503, body: { status: 'error', message: e.message, error: 'service_unavailable' } }),
  internal: () => ({ status: 500, body: { status: 'error', message: 'Internal server error' } }),
};

export function sendCrmError(reply: FastifyReply, err: AppError): FastifyReply {
  const { status, body } = table[err.code](err);
  setRetryAfter(reply, err);
  return reply.code(status).send(body);
}
