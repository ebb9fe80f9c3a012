/** Human output: aligned tables for lists, `key: value` lines for one record. */

export interface Column<T> {
  header: string;
  value: (row: T) => unknown;
}

/** One cell or value as text: absent values show as "-" so columns never collapse. */
export function text(value: unknown): string {
  if (value === null || value === undefined || value === '') return '-';
  if (Array.isArray(value)) return value.length ? value.map(text).join(', ') : '-';
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    return entries.length ? entries.map(([k, v]) => `${k}=${text(v)}`).join(', ') : '-';
  }
  return String(value).replace(/[\r\n]+/g, ' ');
}

export function table<T>(rows: readonly T[], columns: readonly Column<T>[], empty: string): string {
  if (rows.length === 0) return `${empty}\n`;
  const cells = [columns.map((c) => c.header), ...rows.map((r) => columns.map((c) => text(c.value(r))))];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => line[i]!.length)));
  return cells.map((line) => line.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}

/** Every field of a record in the API's order; `shown` overrides how particular fields read. */
export function record(value: object, shown: Record<string, (v: unknown) => string> = {}): string {
  const entries = Object.entries(value);
  const width = Math.max(...entries.map(([k]) => k.length)) + 1;
  return entries.map(([k, v]) => `${`${k}:`.padEnd(width)} ${shown[k] ? shown[k](v) : text(v)}`).join('\n') + '\n';
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}
