import type { FastifyReply } from 'fastify';
import { AppError, isAppError } from '../errors/app-error.js';
import { databaseUnavailable, isDatabaseUnavailable } from '../errors/db-unavailable.js';
import { isNulDbError, NUL_MESSAGE } from './nul.js';

/**
 * Turns anything thrown while serving a request into an AppError, so each facade maps only the
 * catalog. Fastify's own parse errors are client mistakes; a database that is down, frozen or out of
 * connections is `unavailable` (a 503 to retry, never a 500); anything else unknown is internal.
 */
export function toAppError(err: unknown): AppError {
  if (isAppError(err)) return err;
  if (isDatabaseUnavailable(err)) return databaseUnavailable();
  const e = err as { statusCode?: number; code?: string; message?: string };
  if (e?.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || e?.statusCode === 413) return new AppError('payload_too_large', 'request body is too large');
  if (e?.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || e?.statusCode === 415) {
    return new AppError('malformed_request', 'request body must be JSON (Content-Type: application/json)', { status: 415 });
  }
  if (e?.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return new AppError('malformed_request', 'request body is empty but Content-Type says JSON');
  if (e instanceof SyntaxError || e?.code === 'FST_ERR_CTP_INVALID_JSON_BODY') return new AppError('malformed_request', 'request body is not valid JSON');
  if (isNulDbError(err)) return new AppError('malformed_request', NUL_MESSAGE);
  if (e?.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) return new AppError('malformed_request', e.message ?? 'bad request');
  return new AppError('internal', 'internal error');
}

/** "Come back later" answers (rate limited, database unavailable) say when, on every HTTP door. */
export function setRetryAfter(reply: FastifyReply, err: AppError): void {
  if ((err.code === 'rate_limited' || err.code === 'unavailable') && err.details.retryAfterSeconds) reply.header('retry-after', String(err.details.retryAfterSeconds));
}
