/** Postgres reports unique violations as SQLSTATE 23505 with the constraint's name, on both drivers. */
export function uniqueViolation(e: unknown): string | null {
  if (typeof e === 'object' && e !== null && (e as { code?: unknown }).code === '23505') {
    const c = (e as { constraint?: unknown }).constraint;
    return typeof c === 'string' ? c : '';
  }
  return null;
}
