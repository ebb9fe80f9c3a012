/**
 * Compiles checked record filters and queries (record-filter.ts) to Kysely SQL. Every value is a bound
 * parameter with an explicit cast to its compared type (so both drivers infer the same types and an
 * out-of-range id cannot fail on an int4 column); identifiers come only from the FieldDef map and the
 * caller's alias. Positive leaves are plain, index-friendly comparisons (`c.name = $1`,
 * `c.id in ($1, $2)`); negations are `(… is not true)`, which makes them exact complements over NULLs.
 */
import { sql, type Expression, type RawBuilder, type SelectQueryBuilder, type SqlBool } from 'kysely';
import {
  checkFilter,
  checkQuery,
  compareKind,
  datetimeValue,
  fieldOf,
  isLeaf,
  type CompareKind,
  type FieldDef,
  type FieldMap,
  type FieldSql,
  type FilterLeaf,
  type FilterScalar,
  type RecordFilter,
  type RecordQuery,
} from './record-filter.js';

/** A plain column of the aliased table, e.g. `{ name: { type: 'char', sql: column('name') } }`. */
export function column(name: string): FieldSql {
  return (alias) => sql.ref(`${alias}.${name}`);
}

const TRUE = sql<SqlBool>`true`;
const FALSE = sql<SqlBool>`false`;

/** The filter as one boolean SQL expression over `alias` (validated first; null is `true`). */
export function compileRecordFilter(filter: RecordFilter | null, fields: FieldMap, alias: string): Expression<SqlBool> {
  checkFilter(filter, fields);
  return filter === null ? TRUE : compile(filter, fields, alias);
}

/** Adds the filter's where clause, for counts (`search_count`) and other queries that page themselves. */
export function applyRecordFilter<DB, TB extends keyof DB, O>(
  qb: SelectQueryBuilder<DB, TB, O>,
  filter: RecordFilter | null,
  fields: FieldMap,
  alias: string,
): SelectQueryBuilder<DB, TB, O> {
  checkFilter(filter, fields);
  return filter === null ? qb : qb.where(compile(filter, fields, alias));
}

/**
 * Adds where, order by (the given order, then `id`), limit (at most `RECORD_QUERY_LIMITS.maxLimit`) and
 * offset to a select over `alias`, e.g. `applyRecordQuery(db.selectFrom('clients as c').select(...), q,
 * clientFields, 'c')`. Throws validation_failed for an invalid query.
 */
export function applyRecordQuery<DB, TB extends keyof DB, O>(
  qb: SelectQueryBuilder<DB, TB, O>,
  query: RecordQuery,
  fields: FieldMap,
  alias: string,
): SelectQueryBuilder<DB, TB, O> {
  const q = checkQuery(query, fields);
  let out = q.filter === null ? qb : qb.where(compile(q.filter, fields, alias));
  for (const term of q.order) {
    const def = fieldOf(fields, term.field)!;
    const expr = def.type === 'many2one' && def.nameSql ? def.nameSql(alias) : def.sql(alias);
    const direction = sql.raw(term.desc ? 'desc' : 'asc');
    out = out.orderBy(term.nulls ? sql`${expr} ${direction} ${sql.raw(term.nulls === 'first' ? 'nulls first' : 'nulls last')}` : sql`${expr} ${direction}`);
  }
  return out.limit(q.limit).offset(q.offset);
}

// ---------------------------------------------------------------------------------------------------

function compile(f: RecordFilter, fields: FieldMap, alias: string): RawBuilder<SqlBool> {
  if (isLeaf(f)) return leaf(f, fields, alias);
  if ('not' in f) return complement(compile(f.not, fields, alias));
  if ('and' in f) return join(f.and.map((c) => compile(c, fields, alias)), 'and');
  return join(f.or.map((c) => compile(c, fields, alias)), 'or');
}

function join(parts: RawBuilder<SqlBool>[], op: 'and' | 'or'): RawBuilder<SqlBool> {
  if (parts.length === 0) return op === 'and' ? TRUE : FALSE;
  if (parts.length === 1) return parts[0]!;
  return sql<SqlBool>`(${sql.join(parts, sql.raw(` ${op} `))})`;
}

/** True exactly where `p` is not true: a NULL (unknown) comparison counts as false, so this is a complement. */
function complement(p: RawBuilder<SqlBool>): RawBuilder<SqlBool> {
  return sql<SqlBool>`((${p}) is not true)`;
}

function leaf(l: FilterLeaf, fields: FieldMap, alias: string): RawBuilder<SqlBool> {
  const def = fieldOf(fields, l.field)!;
  const kind = compareKind(def, l.value, l.op);
  const expr = target(def, kind, alias);
  switch (l.op) {
    case '!=':
      return l.value === null && kind !== 'boolean' ? sql<SqlBool>`(${expr} is not null)` : complement(positive(expr, kind, '=', l.value));
    case 'not_in':
      return complement(positive(expr, kind, 'in', l.value));
    case 'not_like':
      return complement(positive(expr, kind, 'like', l.value));
    case 'not_ilike':
      return complement(positive(expr, kind, 'ilike', l.value));
    default:
      return positive(expr, kind, l.op, l.value);
  }
}

function target(def: FieldDef, kind: CompareKind, alias: string): Expression<unknown> {
  return def.type === 'many2one' && kind === 'text' ? def.nameSql!(alias) : def.sql(alias);
}

type PositiveOp = '=' | 'in' | '<' | '>' | '<=' | '>=' | 'like' | 'ilike' | '=like' | '=ilike';

function positive(e: Expression<unknown>, kind: CompareKind, op: PositiveOp, value: FilterLeaf['value']): RawBuilder<SqlBool> {
  if (kind === 'boolean') return booleanLeaf(e, op, value);
  switch (op) {
    case '=':
      return value === null ? sql<SqlBool>`(${e} is null)` : sql<SqlBool>`(${e} = ${param(kind, value as FilterScalar)})`;
    case 'in': {
      const list = value as readonly FilterScalar[];
      const present = list.filter((v) => v !== null);
      const parts: RawBuilder<SqlBool>[] = [];
      if (present.length) parts.push(sql<SqlBool>`(${e} in (${sql.join(present.map((v) => param(kind, v)))}))`);
      if (present.length < list.length) parts.push(sql<SqlBool>`(${e} is null)`);
      return join(parts, 'or');
    }
    case 'like':
    case 'ilike':
      return sql<SqlBool>`(${e} ${sql.raw(op)} ${param('text', `%${escapeLike(value as string)}%`)})`;
    case '=like':
    case '=ilike':
      return sql<SqlBool>`(${e} ${sql.raw(op.slice(1))} ${param('text', value as string)})`;
    default:
      return ordering(e, kind, op, value as FilterScalar);
  }
}

function ordering(e: Expression<unknown>, kind: CompareKind, op: '<' | '>' | '<=' | '>=', v: FilterScalar): RawBuilder<SqlBool> {
  if (kind === 'datetime') {
    const d = datetimeValue(v)!;
    // A date alone with '>' or '<=' means the whole day: compare with the start of the next one.
    if (d.dateOnly && (op === '>' || op === '<=')) {
      const next = new Date(d.instant.getTime() + 86_400_000);
      return sql<SqlBool>`(${e} ${sql.raw(op === '>' ? '>=' : '<')} ${timestamp(next)})`;
    }
  }
  return sql<SqlBool>`(${e} ${sql.raw(op)} ${param(kind, v)})`;
}

/** Booleans read NULL as false: `= false` is `is not true`, and a list holding false or null matches NULL too. */
function booleanLeaf(e: Expression<unknown>, op: PositiveOp, value: FilterLeaf['value']): RawBuilder<SqlBool> {
  const values = op === 'in' ? (value as readonly FilterScalar[]) : [value as FilterScalar];
  const wantTrue = values.some((v) => v === true);
  const wantFalse = values.some((v) => v !== true);
  if (wantTrue && wantFalse) return TRUE;
  if (wantTrue) return sql<SqlBool>`(${e} = true)`;
  if (wantFalse) return sql<SqlBool>`(${e} is not true)`;
  return FALSE;
}

function param(kind: CompareKind, v: FilterScalar): RawBuilder<unknown> {
  switch (kind) {
    case 'integer':
      return sql`cast(${v} as bigint)`;
    case 'float':
      return sql`cast(${v} as double precision)`;
    case 'datetime':
      return timestamp(datetimeValue(v)!.instant);
    default:
      return sql`cast(${v} as text)`;
  }
}

function timestamp(d: Date): RawBuilder<unknown> {
  return sql`cast(${d.toISOString()} as timestamptz)`;
}

/** A literal text for LIKE with the default escape character `\`. */
export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (m) => `\\${m}`);
}
