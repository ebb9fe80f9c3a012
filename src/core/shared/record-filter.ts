/**
 * Record filters: a transport-neutral filter tree and query options (order, limit, offset) that any
 * door may build from its own syntax (the Odoo door from domains, a REST door from query strings), and
 * one validation against a model's field map. `record-filter.sql.ts` compiles a checked query to SQL.
 *
 * Semantics (every door gets the same):
 * - Two-valued logic: a leaf is true or false for every record, never "unknown". A NULL column makes the
 *   positive operators (`=` with a value, `in`, `<`, `>`, `<=`, `>=`, `like`, `ilike`, `=like`, `=ilike`)
 *   false, and their negations (`!=`, `not_in`, `not_like`, `not_ilike`) true: each negative operator is
 *   the exact complement of its positive one, and `{not: f}` is the exact complement of `f`.
 * - `null` is "not set": `= null` is IS NULL, `!= null` is IS NOT NULL; `in` / `not_in` lists may hold
 *   `null` among the values. `in []` matches nothing, `not_in []` everything. `and: []` is true, `or: []`
 *   is false.
 * - Boolean fields read NULL as false: `= false` (or `= null`) matches false and NULL, `= true` only true.
 *   Only `=`, `!=`, `in`, `not_in` apply to them.
 * - `like` / `ilike` (and their negations) are substring matches: the value is text, its `%`, `_` and `\`
 *   are escaped and it is wrapped in `%…%`; `ilike` ignores case. `=like` / `=ilike` use the value as the
 *   LIKE pattern itself (`%` and `_` are wildcards, `\` escapes). They apply to text fields (char,
 *   selection) and to a many2one's display name.
 * - Ordering operators compare numbers, text (database collation) and instants; not booleans, and never
 *   against null.
 * - datetime values: an instant (`Date`) or an ISO-8601 text (`YYYY-MM-DD HH:MM:SS`, `T` separator,
 *   fraction and zone optional; no zone means UTC). A date alone (`YYYY-MM-DD`) means the start of that
 *   UTC day, except with `>` and `<=` where it means the whole day (`> day` is "from the next day on",
 *   `<= day` "up to the end of that day").
 * - many2one fields: an integer compares the related id; a text compares the related record's display
 *   name (`nameSql`), with every operator that applies to text, e.g. `ilike 'acme'` finds records linked
 *   to a record whose name contains "acme", `!= 'Acme'` those not linked to "Acme" (unlinked included).
 *   An `in` list holds ids or names (not both), plus `null` if wanted.
 * - Sizes are capped (`RECORD_QUERY_LIMITS`); an absent or larger `limit` returns at most `maxLimit`
 *   records. The order always ends with `id` ascending (when the model has an `id` field) so pages are
 *   stable.
 */
import type { Expression } from 'kysely';
import { AppError, addFieldError, fieldErrors, type FieldErrors } from '../../errors/app-error.js';

export const FILTER_OPS = ['=', '!=', 'in', 'not_in', '<', '>', '<=', '>=', 'like', 'not_like', 'ilike', 'not_ilike', '=like', '=ilike'] as const;
export type FilterOp = (typeof FILTER_OPS)[number];

export type FilterScalar = string | number | boolean | Date | null;
export type FilterValue = FilterScalar | readonly FilterScalar[];

export interface FilterLeaf {
  field: string;
  op: FilterOp;
  value: FilterValue;
}

export type RecordFilter = { and: RecordFilter[] } | { or: RecordFilter[] } | { not: RecordFilter } | FilterLeaf;

export interface OrderTerm {
  field: string;
  desc: boolean;
  /** Where NULLs go; by default last when ascending and first when descending (PostgreSQL's default). */
  nulls?: 'first' | 'last';
}

export interface RecordQuery {
  /** null: every record. */
  filter: RecordFilter | null;
  limit?: number;
  offset?: number;
  order?: OrderTerm[];
}

/** A query after `checkQuery`: limits resolved, order complete (ends with the `id` tie-breaker). */
export interface CheckedQuery {
  filter: RecordFilter | null;
  limit: number;
  offset: number;
  order: OrderTerm[];
}

export type FieldType = 'integer' | 'char' | 'boolean' | 'datetime' | 'float' | 'many2one' | 'selection';

/** The SQL of a field for a table alias: `column('name')` (record-filter.sql.ts) or any expression built from the alias. */
export type FieldSql = (alias: string) => Expression<unknown>;

export interface FieldDef {
  type: FieldType;
  /** The column or expression; for a many2one, the related record's id. */
  sql: FieldSql;
  /** many2one only: the related record's display name (NULL when unlinked); enables text values and sorting by name. */
  nameSql?: FieldSql;
  /** Default true. */
  filterable?: boolean;
  /** Default true. */
  sortable?: boolean;
}

export type FieldMap = Readonly<Record<string, FieldDef>>;

export const RECORD_QUERY_LIMITS = {
  /** Records per query; also the answer size when no limit is given. */
  maxLimit: 10_000,
  maxDepth: 64,
  maxNodes: 5_000,
  /** Values over the whole filter (each becomes one bound parameter). */
  maxValues: 10_000,
  maxTextLength: 10_000,
  maxOrderTerms: 16,
} as const;

/** Looks a field up by its own properties only (a field named `constructor` is not Object's). */
export function fieldOf(fields: FieldMap, name: string): FieldDef | undefined {
  return Object.hasOwn(fields, name) ? fields[name] : undefined;
}

export function isLeaf(f: RecordFilter): f is FilterLeaf {
  return 'field' in f;
}

// ---------------------------------------------------------------------------------------------------
// Values

export interface DatetimeValue {
  instant: Date;
  /** Given as a date alone (`YYYY-MM-DD`). */
  dateOnly: boolean;
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
// Also XML-RPC's compact dateTime.iso8601 (20240101T10:00:00).
const DATE_TIME = /^(\d{4})-?(\d{2})-?(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/** A datetime filter value as an instant, or null when it is not one. */
export function datetimeValue(v: FilterScalar): DatetimeValue | null {
  if (v instanceof Date) {
    const year = v.getUTCFullYear();
    // NaN (an invalid Date) fails both tests; PostgreSQL's range is wider, but 4-digit years are enough.
    return year >= 1 && year <= 9999 ? { instant: v, dateOnly: false } : null;
  }
  if (typeof v !== 'string') return null;
  let m = DATE_ONLY.exec(v);
  if (m) {
    const d = utcDate(+m[1]!, +m[2]!, +m[3]!, 0, 0, 0, 0);
    return d ? { instant: d, dateOnly: true } : null;
  }
  m = DATE_TIME.exec(v);
  if (!m) return null;
  const ms = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
  const d = utcDate(+m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!, m[6] ? +m[6] : 0, ms);
  if (!d) return null;
  const zone = m[8];
  if (zone && zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const minutes = +digits.slice(0, 2) * 60 + +digits.slice(2);
    if (minutes >= 24 * 60) return null;
    d.setTime(d.getTime() - sign * minutes * 60_000);
  }
  return { instant: d, dateOnly: false };
}

function utcDate(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): Date | null {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return null;
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s, ms));
  // Rejects 2023-02-30 and the like, which Date would roll over into March.
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return null;
  return date;
}

/** What a leaf on a field compares: the field itself or, for text values on a many2one, its display name. */
export type CompareKind = 'integer' | 'float' | 'text' | 'boolean' | 'datetime';

export function compareKind(def: FieldDef, value: FilterValue, op: FilterOp): CompareKind {
  switch (def.type) {
    case 'integer':
      return 'integer';
    case 'float':
      return 'float';
    case 'char':
    case 'selection':
      return 'text';
    case 'boolean':
      return 'boolean';
    case 'datetime':
      return 'datetime';
    case 'many2one': {
      if (LIKE_OPS.has(op)) return 'text';
      const values = Array.isArray(value) ? value : [value];
      return values.some((v) => typeof v === 'string') ? 'text' : 'integer';
    }
  }
}

const LIST_OPS: ReadonlySet<FilterOp> = new Set(['in', 'not_in']);
const ORDERING_OPS: ReadonlySet<FilterOp> = new Set(['<', '>', '<=', '>=']);
const LIKE_OPS: ReadonlySet<FilterOp> = new Set(['like', 'not_like', 'ilike', 'not_ilike', '=like', '=ilike']);
const OPS: ReadonlySet<string> = new Set(FILTER_OPS);

// ---------------------------------------------------------------------------------------------------
// Validation

const MAX_MESSAGES = 20;

function show(v: unknown): string {
  let s: string;
  if (v instanceof Date) s = Number.isNaN(v.getTime()) ? 'an invalid date' : v.toISOString();
  else if (typeof v === 'string') s = `'${v}'`;
  else if (v === undefined) s = 'nothing';
  else if (typeof v === 'number') s = String(v);
  else {
    try {
      s = JSON.stringify(v) ?? String(v);
    } catch {
      s = String(v);
    }
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

class Problems {
  readonly fields: FieldErrors = fieldErrors();
  count = 0;
  add(key: string, message: string): void {
    if (this.count++ < MAX_MESSAGES) addFieldError(this.fields, key, message);
  }
  /** Throws validation_failed; the message names the first problem, e.g. "Invalid filter: unknown field 'x'". */
  throwIfAny(): void {
    const [key, messages] = Object.entries(this.fields)[0] ?? [];
    if (!key) return;
    const more = this.count > 1 ? ` (and ${this.count - 1} more)` : '';
    throw AppError.validation(this.fields, `Invalid ${key}: ${messages![0]}${more}`);
  }
}

/** Validates a filter's shape, fields, operators and values against a field map; throws validation_failed. */
export function checkFilter(filter: RecordFilter | null, fields: FieldMap): void {
  const problems = new Problems();
  checkFilterInto(filter, fields, problems);
  problems.throwIfAny();
}

function checkFilterInto(filter: RecordFilter | null, fields: FieldMap, problems: Problems): void {
  if (filter === null) return;
  let nodes = 0;
  let values = 0;
  let tooDeep = false;
  // Iterative, so a hostile depth cannot exhaust the stack before the cap is noticed.
  const stack: { f: unknown; depth: number }[] = [{ f: filter, depth: 1 }];
  while (stack.length) {
    const { f, depth } = stack.pop()!;
    if (++nodes > RECORD_QUERY_LIMITS.maxNodes) {
      problems.add('filter', `has more than ${RECORD_QUERY_LIMITS.maxNodes} terms`);
      return;
    }
    if (depth > RECORD_QUERY_LIMITS.maxDepth) {
      if (!tooDeep) problems.add('filter', `nests deeper than ${RECORD_QUERY_LIMITS.maxDepth} levels`);
      tooDeep = true;
      continue;
    }
    if (typeof f !== 'object' || f === null || Array.isArray(f)) {
      problems.add('filter', `${show(f)} is not a filter`);
      continue;
    }
    const keys = Object.keys(f);
    const o = f as Record<string, unknown>;
    if (keys.length === 1 && (keys[0] === 'and' || keys[0] === 'or')) {
      const children = o[keys[0]];
      if (!Array.isArray(children)) {
        problems.add('filter', `'${keys[0]}' needs a list of filters`);
        continue;
      }
      if (nodes + stack.length + children.length > RECORD_QUERY_LIMITS.maxNodes) {
        problems.add('filter', `has more than ${RECORD_QUERY_LIMITS.maxNodes} terms`);
        return;
      }
      // Reversed, so problems are reported in the order they appear.
      for (let i = children.length - 1; i >= 0; i--) stack.push({ f: children[i], depth: depth + 1 });
      continue;
    }
    if (keys.length === 1 && keys[0] === 'not') {
      stack.push({ f: o.not, depth: depth + 1 });
      continue;
    }
    if (keys.length === 3 && 'field' in o && 'op' in o && 'value' in o) {
      values += Array.isArray(o.value) ? o.value.length : 1;
      if (values > RECORD_QUERY_LIMITS.maxValues) {
        problems.add('filter', `has more than ${RECORD_QUERY_LIMITS.maxValues} values`);
        return;
      }
      checkLeaf(o as unknown as FilterLeaf, fields, problems);
      continue;
    }
    problems.add('filter', `${show(f)} is not a filter`);
  }
}

function checkLeaf(leaf: FilterLeaf, fields: FieldMap, problems: Problems): void {
  const { field, op, value } = leaf;
  if (typeof field !== 'string') return problems.add('filter', `${show(field)} is not a field name`);
  const def = fieldOf(fields, field);
  if (!def) return problems.add('filter', `unknown field '${field}'`);
  if (def.filterable === false) return problems.add('filter', `field '${field}' cannot be used in a filter`);
  if (typeof op !== 'string' || !OPS.has(op)) return problems.add('filter', `unknown operator ${show(op)}`);

  const isList = Array.isArray(value);
  if (LIST_OPS.has(op) && !isList) return problems.add('filter', `operator '${op}' on '${field}' needs a list of values`);
  if (!LIST_OPS.has(op) && isList) return problems.add('filter', `operator '${op}' on '${field}' needs a single value, not a list`);
  const list: readonly unknown[] = isList ? (value as readonly unknown[]) : [value];

  if (def.type === 'boolean' && !(op === '=' || op === '!=' || LIST_OPS.has(op))) {
    return problems.add('filter', `operator '${op}' cannot be used on boolean field '${field}'`);
  }
  if (LIKE_OPS.has(op) && !(def.type === 'char' || def.type === 'selection' || def.type === 'many2one')) {
    return problems.add('filter', `operator '${op}' cannot be used on ${def.type} field '${field}'`);
  }
  if (def.type === 'many2one' && !def.nameSql && (LIKE_OPS.has(op) || list.some((v) => typeof v === 'string'))) {
    return problems.add('filter', `field '${field}' is compared by id only: ${show(isList ? value : list[0])} is not an id`);
  }
  if (def.type === 'many2one' && ORDERING_OPS.has(op) && typeof value === 'string') {
    return problems.add('filter', `operator '${op}' on '${field}' compares ids: ${show(value)} is not an id`);
  }
  if (def.type === 'many2one' && isList) {
    const kinds = new Set(list.filter((v) => v !== null).map((v) => typeof v));
    if (kinds.has('string') && kinds.size > 1) return problems.add('filter', `the list for '${field}' mixes ids and names`);
  }

  const kind = compareKind(def, value as FilterValue, op);
  for (const v of list) {
    if (v === null) {
      if (ORDERING_OPS.has(op) || LIKE_OPS.has(op)) return problems.add('filter', `operator '${op}' on '${field}' needs a value, not null`);
      continue;
    }
    const wrong = valueProblem(kind, v, op);
    if (wrong) return problems.add('filter', `${show(v)} ${wrong} for '${field}'`);
  }
}

function valueProblem(kind: CompareKind, v: unknown, op: FilterOp): string | null {
  switch (kind) {
    case 'integer':
      return typeof v === 'number' && Number.isSafeInteger(v) ? null : 'is not an integer';
    case 'float':
      return typeof v === 'number' && Number.isFinite(v) ? null : 'is not a number';
    case 'boolean':
      return typeof v === 'boolean' ? null : 'is not true or false';
    case 'datetime':
      return (v instanceof Date || typeof v === 'string') && datetimeValue(v) ? null : 'is not a date-time (YYYY-MM-DD HH:MM:SS)';
    case 'text':
      if (typeof v !== 'string') return LIKE_OPS.has(op) ? `is not text (operator '${op}' needs text)` : 'is not text';
      if (v.length > RECORD_QUERY_LIMITS.maxTextLength) return `is longer than ${RECORD_QUERY_LIMITS.maxTextLength} characters`;
      if ((op === '=like' || op === '=ilike') && /(^|[^\\])(\\\\)*\\$/.test(v)) return 'ends with an unescaped \\ (a LIKE pattern)';
      return null;
  }
}

/**
 * Validates a whole query and resolves its options: `limit` absent or above `maxLimit` becomes
 * `maxLimit`; `offset` defaults to 0; the order is the given one (or none) followed by `id` ascending.
 */
export function checkQuery(query: RecordQuery, fields: FieldMap): CheckedQuery {
  const problems = new Problems();
  checkFilterInto(query.filter, fields, problems);

  let limit: number = RECORD_QUERY_LIMITS.maxLimit;
  if (query.limit !== undefined) {
    if (!Number.isSafeInteger(query.limit) || query.limit < 0) problems.add('limit', 'must be a whole number, 0 or more');
    else limit = Math.min(query.limit, RECORD_QUERY_LIMITS.maxLimit);
  }
  let offset = 0;
  if (query.offset !== undefined) {
    if (!Number.isSafeInteger(query.offset) || query.offset < 0) problems.add('offset', 'must be a whole number, 0 or more');
    else offset = query.offset;
  }

  const order: OrderTerm[] = [];
  const given = query.order ?? [];
  if (!Array.isArray(given)) problems.add('order', 'must be a list');
  else if (given.length > RECORD_QUERY_LIMITS.maxOrderTerms) problems.add('order', `has more than ${RECORD_QUERY_LIMITS.maxOrderTerms} terms`);
  else {
    for (const t of given as unknown[]) {
      const term = t as Partial<OrderTerm> | null;
      if (typeof term !== 'object' || term === null || typeof term.field !== 'string' || typeof term.desc !== 'boolean') {
        problems.add('order', `${show(t)} is not an order term`);
        continue;
      }
      const def = fieldOf(fields, term.field);
      if (!def) problems.add('order', `unknown field '${term.field}'`);
      else if (def.sortable === false) problems.add('order', `field '${term.field}' cannot be sorted on`);
      else if (term.nulls !== undefined && term.nulls !== 'first' && term.nulls !== 'last') problems.add('order', `nulls must be 'first' or 'last'`);
      else order.push(term.nulls ? { field: term.field, desc: term.desc, nulls: term.nulls } : { field: term.field, desc: term.desc });
    }
  }
  if (fieldOf(fields, 'id') && !order.some((t) => t.field === 'id')) order.push({ field: 'id', desc: false });

  problems.throwIfAny();
  return { filter: query.filter, limit, offset, order };
}
