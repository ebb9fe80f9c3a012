/**
 * The closed catalog of failures the core may report. Every facade maps each code to its own wire
 * format in one table (HTTP status + body, RPC fault, CLI exit code); nothing else crosses the boundary.
 */
export const errorCodes = [
  'malformed_request', // the bytes could not be parsed (bad JSON, wrong content type)
  'payload_too_large',
  'validation_failed', // parsed, but fields are wrong: details.fields carries per-field messages
  'unauthenticated',
  'forbidden',
  'not_found',
  'conflict',
  'invalid_state', // the record exists but cannot make this transition now
  'rate_limited',
  'unavailable', // a dependency (the database) is down, frozen or overloaded: retry later (details.retryAfterSeconds)
  'internal',
] as const;

export type ErrorCode = (typeof errorCodes)[number];

/** Field name → messages; `base` holds messages about the record as a whole (Rails convention). */
export type FieldErrors = Record<string, string[]>;

export interface ErrorDetails {
  fields?: FieldErrors;
  retryAfterSeconds?: number;
  [key: string]: unknown;
}

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetails = {},
  ) {
    super(message);
    this.name = 'AppError';
  }

  static validation(fields: FieldErrors, message = 'validation failed'): AppError {
    return new AppError('validation_failed', message, { fields });
  }

  static notFound(what: string): AppError {
    return new AppError('not_found', `${what} not found`);
  }
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}

/** Adds a message under a field, keeping insertion order so responses read predictably. */
export function addFieldError(fields: FieldErrors, field: string, message: string): void {
  (fields[field] ??= []).push(message);
}
