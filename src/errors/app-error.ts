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

/**
 * Field name → messages; `base` holds messages about the record as a whole (Rails convention).
 * Field names come from input ("toString", "__proto__"), so maps are built with `fieldErrors()` and
 * written with `addFieldError`, never by looking a name up in a plain object.
 */
export type FieldErrors = Record<string, string[]>;

/** An empty error map without a prototype: no input-chosen name can find an inherited member. */
export function fieldErrors(): FieldErrors {
  return Object.create(null) as FieldErrors;
}

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
  // Own properties only, and defined rather than assigned: on a plain object `fields.toString` would
  // be Object.prototype's function and assigning `fields.__proto__` would replace the prototype.
  if (Object.hasOwn(fields, field)) fields[field]!.push(message);
  else Object.defineProperty(fields, field, { value: [message], enumerable: true, writable: true, configurable: true });
}
