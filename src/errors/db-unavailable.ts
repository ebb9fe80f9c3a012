import { AppError } from './app-error.js';

/** How long a caller is asked to wait before retrying while the database is away. */
export const DB_RETRY_AFTER_SECONDS = 5;

/**
 * Raised by the database layer itself when it gives up on a server that does not answer (a query
 * past its deadline, a liveness probe that failed, the pool refusing work while the server is down).
 */
export class DatabaseUnavailableError extends Error {
  readonly code = 'HP_DB_UNAVAILABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DatabaseUnavailableError';
  }
}

// SQLSTATEs meaning "the server cannot serve this now", not "this request is wrong":
// class 08 (connection exception), 53 (insufficient resources: disk full, out of memory, too many
// connections), 57P01-57P03 (admin/crash shutdown, cannot connect now), 57014 (statement timeout or
// cancel), 55P03 (lock not available: lock_timeout), 25P03 (idle-in-transaction timeout), 25006
// (read-only transaction: a write reached a standby or a demoted primary, so there is no primary to
// write to until the failover ends; Hostplane never opens read-only transactions of its own).
const UNAVAILABLE_SQLSTATE = /^(08...|53...|57P0[1-3]|57014|55P03|25P03|25006)$/;
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED', 'EAI_AGAIN', 'HP_DB_UNAVAILABLE']);
// What pg and pg-pool say when a socket dies or a deadline passes; PGlite once it is closed.
const UNAVAILABLE_MESSAGE = /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error and is not queryable|Cannot use a pool after calling end on the pool|PGlite is closed)/;

/** Whether an error (or one it wraps) says the database is unreachable, frozen, shutting down or out of capacity. */
export function isDatabaseUnavailable(err: unknown): boolean {
  const seen = new Set<unknown>();
  const pending = [err];
  while (pending.length > 0 && seen.size < 10) {
    const e = pending.pop();
    if (e === null || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const { code, message, cause, errors } = e as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code))) return true;
    if (typeof message === 'string' && UNAVAILABLE_MESSAGE.test(message)) return true;
    pending.push(cause);
    // Node reports a refused connection to every address of a name (IPv4 and IPv6) as an AggregateError.
    if (Array.isArray(errors)) pending.push(...(errors as unknown[]));
  }
  return false;
}

/** The catalog error every door words as "temporarily unavailable, retry after N seconds". */
export function databaseUnavailable(): AppError {
  return new AppError('unavailable', 'the service is temporarily unavailable (the database is not answering); retry later', { retryAfterSeconds: DB_RETRY_AFTER_SECONDS });
}
