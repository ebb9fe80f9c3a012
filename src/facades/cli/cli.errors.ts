import type { FieldErrors } from '../../errors/app-error.js';

/**
 * The one table from failure kinds to exit codes. Kinds are the API's error codes plus the few the
 * CLI detects itself; scripts branch on these numbers, so they only ever grow.
 */
const exitCodes: Record<string, number> = {
  usage: 2,
  unauthenticated: 3,
  forbidden: 3,
  not_found: 4,
  validation_failed: 5,
  conflict: 6,
  invalid_state: 6,
  unreachable: 7,
  // The server answered 503, or (serve, worker, db migrate) its database cannot be reached or is locked by another process.
  unavailable: 7,
};

/** Anything not in the table (internal, rate_limited, malformed_request, config, ...) is a plain failure. */
export const OTHER_FAILURE = 1;

export function exitCodeFor(kind: string): number {
  return exitCodes[kind] ?? OTHER_FAILURE;
}

export class CliError extends Error {
  constructor(
    readonly kind: string,
    message: string,
    readonly fields?: FieldErrors,
  ) {
    super(message);
    this.name = 'CliError';
  }

  static usage(message: string): CliError {
    return new CliError('usage', message);
  }
}

/** stderr text for a failure: the message, then each field error on its own line. */
export function formatError(message: string, fields?: FieldErrors): string {
  const lines = [`hostplane: ${message}`];
  for (const [field, messages] of Object.entries(fields ?? {})) {
    for (const m of messages) lines.push(`  ${field}: ${m}`);
  }
  return lines.join('\n') + '\n';
}
