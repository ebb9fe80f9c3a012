import { AppError } from '../errors/app-error.js';

// PostgreSQL text (and jsonb) cannot hold U+0000: a NUL that reaches a query is SQLSTATE 22021 or
// 22P05. The doors refuse it as malformed input before anything runs (the shared preValidation hook,
// and refuseNul where a door decodes its own body); one that still reaches a query, from a header
// say, gets the same answer through toAppError.

export const NUL_MESSAGE = 'text must not contain NUL (U+0000) characters';

/** SQLSTATEs for text the database cannot store: 22021 (bytes in text), 22P05 (\u0000 in jsonb). */
const NUL_SQLSTATES: ReadonlySet<unknown> = new Set(['22021', '22P05']);

/**
 * Whether any string or key in decoded input holds a NUL. Walks without recursion, so deeply nested
 * input cannot overflow the stack; binary values (Buffers) are data, not text, and are skipped.
 */
export function containsNul(input: unknown): boolean {
  const pending: unknown[] = [input];
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return true;
    } else if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value)) {
      const entries = value instanceof Map ? [...(value as Map<unknown, unknown>)] : Object.entries(value);
      for (const [key, item] of entries) {
        if (typeof key === 'string' && key.includes('\u0000')) return true;
        pending.push(item);
      }
    }
  }
  return false;
}

/** Throws the door-neutral malformed_request when decoded input holds a NUL. */
export function refuseNul(input: unknown): void {
  if (containsNul(input)) throw new AppError('malformed_request', NUL_MESSAGE);
}

/** A database error caused by a NUL that got past the doors (a header, say): still the client's input. */
export function isNulDbError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && NUL_SQLSTATES.has((err as { code?: unknown }).code);
}
