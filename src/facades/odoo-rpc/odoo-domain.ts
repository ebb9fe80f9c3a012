/**
 * Odoo's search arguments on the wire (domain, order, fields, limit, offset) → the core's RecordQuery.
 *
 * A domain is a list of terms `[field, operator, value]` (tuples arrive as lists) and the prefix
 * operators `'&'`, `'|'` (binary) and `'!'` (unary); consecutive expressions are implicitly AND-ed and
 * `[]` matches everything; `[1, '=', 1]` / `[0, '=', 1]` are Odoo's TRUE / FALSE leaves. The result keeps
 * the SQL results Odoo's `expression.py` (13–16) would give, by doing what it does before SQL:
 * - `normalize_leaf`: `<>` is `!=`; `in` / `not in` with a boolean is `=` / `!=`; `=` / `!=` with a list
 *   is `in` / `not in`; `=?` with False/None is TRUE, else `=`. Operators are case-sensitive (Odoo's
 *   `is_leaf` checks them before lower-casing).
 * - `distribute_not`: `'!'` is pushed into the terms with Odoo's negation table (`<` ↔ `>=`, `=` ↔ `!=`,
 *   `in` ↔ `not in`, `like` ↔ `not like`, …), so `!(x < 5)` is `x >= 5` and, as in Odoo, excludes NULLs.
 *   A term whose operator has no negation (`=like`, `=ilike`, `=?`) becomes SQL `NOT (…)`, which also
 *   excludes NULLs: here `not(term) and field is set`. (`<>` is read as `!=` first, which gives the same.)
 * - `__leaf_to_sql`: False / None mean "not set" (`= False` is IS NULL; booleans read NULL as False);
 *   negative operators with a truthy value also match NULLs (`!= 5`, `not like 'a'`, `not in [1]`) —
 *   that is the core's complement semantics — but `!= 0` and `!= ''` do not (`x != 0 AND x IS NOT
 *   NULL`); `like ''` / `ilike ''` match every record, `not like ''` / `not ilike ''` only unset ones.
 * Differences, by design: `like` / `ilike` values are literal substrings (Odoo lets `%` and `_` in them act
 * as wildcards; use `=like` / `=ilike` for patterns); `child_of` / `parent_of` and dotted paths
 * (`partner_id.name`) are refused; many2one text values compare the display name in the core (Odoo runs
 * a `name_search`), and the two empty-text quirks above apply to them too, where Odoo's name search would
 * instead require a link; `!` on a many2one `=like` / `=ilike` whose pattern matches no name leaves
 * unlinked records out (Odoo's `NOT (id IN ())` is true for them).
 * Field names, value types and operators per field type are checked by the core (`checkQuery`).
 */
import { AppError } from '../../errors/app-error.js';
import type { FilterOp, FilterScalar, FilterValue, OrderTerm, RecordFilter, RecordQuery } from '../../core/shared/record-filter.js';

export const ODOO_DOMAIN_LIMITS = {
  /** Elements of the domain list (terms and operators). */
  maxElements: 1_000,
  /** Nesting of alternating '&' / '|' after flattening (a chain of one operator is one level). */
  maxDepth: 32,
  maxListValues: 10_000,
  maxFieldNameLength: 128,
  maxOrderLength: 2_000,
  maxFields: 500,
} as const;

const TERM_OPERATORS: ReadonlySet<string> = new Set([
  '=', '!=', '<>', '<=', '<', '>', '>=', '=?', '=like', '=ilike', 'like', 'not like', 'ilike', 'not ilike', 'in', 'not in', 'child_of', 'parent_of',
]);

const NEGATION: Readonly<Record<string, string>> = {
  '<': '>=',
  '>': '<=',
  '<=': '>',
  '>=': '<',
  '=': '!=',
  '!=': '=',
  in: 'not in',
  'not in': 'in',
  like: 'not like',
  'not like': 'like',
  ilike: 'not ilike',
  'not ilike': 'ilike',
};

const CORE_OP: Readonly<Record<string, FilterOp>> = {
  '=': '=',
  '!=': '!=',
  in: 'in',
  'not in': 'not_in',
  '<': '<',
  '>': '>',
  '<=': '<=',
  '>=': '>=',
  like: 'like',
  'not like': 'not_like',
  ilike: 'ilike',
  'not ilike': 'not_ilike',
  '=like': '=like',
  '=ilike': '=ilike',
};

const TRUE: RecordFilter = { and: [] };
const FALSE: RecordFilter = { or: [] };

type Term = { kind: 'term'; field: string; op: string; value: unknown; negated: boolean };
type Node = { kind: 'const'; value: boolean } | Term | { kind: 'and' | 'or'; children: Node[]; depth: number };

function invalid(key: string, message: string): AppError {
  return AppError.validation({ [key]: [message] }, message);
}

/**
 * Parses a wire domain. `[]`, None and False mean every record (null). Throws validation_failed with
 * Odoo-like messages ("Invalid domain term ('name', 'lke', 'x'): unknown operator 'lke'").
 */
export function parseOdooDomain(domain: unknown): RecordFilter | null {
  if (domain === undefined || domain === null || domain === false) return null;
  if (!Array.isArray(domain)) throw invalid('domain', `Invalid domain: expected a list of terms, got ${pyRepr(domain)}`);
  if (domain.length === 0) return null;
  if (domain.length > ODOO_DOMAIN_LIMITS.maxElements) {
    throw invalid('domain', `Invalid domain: more than ${ODOO_DOMAIN_LIMITS.maxElements} elements`);
  }
  // Prefix notation read right to left on a stack, as expression.py does: an operator takes the
  // expressions that follow it; whatever remains at the end is AND-ed (Odoo's implicit '&').
  const stack: Node[] = [];
  for (let i = domain.length - 1; i >= 0; i--) {
    const token: unknown = domain[i];
    if (Array.isArray(token)) {
      stack.push(readTerm(token));
    } else if (token === '!') {
      if (stack.length < 1) throw invalid('domain', `Invalid domain: operator '!' at index ${i} has no term after it`);
      stack.push(negate(stack.pop()!));
    } else if (token === '&' || token === '|') {
      if (stack.length < 2) throw invalid('domain', `Invalid domain: operator '${token}' at index ${i} needs two terms after it, found ${stack.length}`);
      const left = stack.pop()!;
      const right = stack.pop()!;
      stack.push(group(token === '&' ? 'and' : 'or', [left, right]));
    } else if (typeof token === 'string') {
      throw invalid('domain', `Invalid domain: ${pyRepr(token)} at index ${i} is not a domain operator ('&', '|', '!')`);
    } else {
      throw invalid('domain', `Invalid domain: ${pyRepr(token)} at index ${i} is neither a term nor an operator`);
    }
  }
  const root = stack.length === 1 ? stack[0]! : group('and', stack.reverse());
  return toFilter(root);
}

function readTerm(token: readonly unknown[]): Node {
  const where = () => `Invalid domain term ${pyRepr(token, true)}`;
  if (token.length !== 3) throw invalid('domain', `${where()}: a term has 3 elements (field, operator, value), not ${token.length}`);
  const [left, op, right] = token;
  if (typeof op !== 'string' || !TERM_OPERATORS.has(op)) throw invalid('domain', `${where()}: unknown operator ${pyRepr(op)}`);
  if (typeof left === 'number' || typeof left === 'boolean') {
    // Odoo's TRUE_LEAF (1, '=', 1) and FALSE_LEAF (0, '=', 1); Python also equates True with 1.
    const l = Number(left);
    if (op === '=' && Number(right) === 1 && (typeof right === 'number' || typeof right === 'boolean') && (l === 1 || l === 0)) {
      return { kind: 'const', value: l === 1 };
    }
    throw invalid('domain', `${where()}: the field name must be text`);
  }
  if (typeof left !== 'string' || left.length === 0) throw invalid('domain', `${where()}: the field name must be text`);
  if (left.length > ODOO_DOMAIN_LIMITS.maxFieldNameLength) throw invalid('domain', `${where()}: the field name is too long`);
  if (op === 'child_of' || op === 'parent_of') throw invalid('domain', `${where()}: operator '${op}' is not supported`);
  if (op === '=?' && Array.isArray(right)) throw invalid('domain', `${where()}: operator '=?' needs a single value`);
  checkValue(right, where);
  return { kind: 'term', field: left, op, value: right, negated: false };
}

function checkValue(v: unknown, where: () => string): void {
  if (Array.isArray(v)) {
    if (v.length > ODOO_DOMAIN_LIMITS.maxListValues) throw invalid('domain', `${where()}: more than ${ODOO_DOMAIN_LIMITS.maxListValues} values`);
    for (const item of v) {
      if (!isScalar(item)) throw invalid('domain', `${where()}: a list may hold only numbers, text, booleans, dates and None`);
    }
    return;
  }
  if (!isScalar(v)) throw invalid('domain', `${where()}: unsupported value ${pyRepr(v)}`);
}

function isScalar(v: unknown): v is FilterScalar {
  return v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)) || (v instanceof Date && !Number.isNaN(v.getTime()));
}

function depthOf(n: Node): number {
  return n.kind === 'and' || n.kind === 'or' ? n.depth : 1;
}

/** '&' / '|' node with same-kind children merged, so a long chain of one operator stays one level. */
function group(kind: 'and' | 'or', parts: Node[]): Node {
  const children: Node[] = [];
  for (const p of parts) {
    if (p.kind === kind) children.push(...p.children);
    else children.push(p);
  }
  const depth = 1 + Math.max(0, ...children.map(depthOf));
  if (depth > ODOO_DOMAIN_LIMITS.maxDepth) throw invalid('domain', `Invalid domain: nested deeper than ${ODOO_DOMAIN_LIMITS.maxDepth} levels`);
  return { kind, children, depth };
}

/** Odoo's distribute_not: De Morgan on groups, flip TRUE/FALSE, mark terms (resolved in toFilter). */
function negate(n: Node): Node {
  switch (n.kind) {
    case 'const':
      return { kind: 'const', value: !n.value };
    case 'term':
      return { ...n, negated: !n.negated };
    case 'and':
    case 'or':
      // Children never share their parent's kind (group() merges them), so none need merging here.
      return { kind: n.kind === 'and' ? 'or' : 'and', children: n.children.map(negate), depth: n.depth };
  }
}

function toFilter(n: Node): RecordFilter {
  switch (n.kind) {
    case 'const':
      return n.value ? TRUE : FALSE;
    case 'term':
      return termToFilter(n);
    case 'and':
    case 'or': {
      const out: RecordFilter[] = [];
      for (const c of n.children) {
        const f = toFilter(c);
        if (n.kind in f) out.push(...(f as Record<'and' | 'or', RecordFilter[]>)[n.kind]);
        else out.push(f);
      }
      return n.kind === 'and' ? { and: out } : { or: out };
    }
  }
}

/** False (and None) mean "not set" in Odoo; the core spells that null. */
function toValue(v: unknown): FilterValue {
  if (Array.isArray(v)) return v.map((x) => (x === false ? null : (x as FilterScalar)));
  return v === false ? null : (v as FilterScalar);
}

function termToFilter(t: Term): RecordFilter {
  const { field } = t;
  // Odoo keeps '<>' through distribute_not and wraps it in SQL NOT; for every value that gives what
  // negating '!=' gives, so it is '!=' from the start.
  let op = t.op === '<>' ? '!=' : t.op;
  if (t.negated) {
    const negatedOp = NEGATION[op];
    if (!negatedOp) {
      // '=like', '=ilike', '=?': Odoo leaves SQL NOT (term), which is unknown, so false, where the field is NULL.
      return { and: [{ not: termToFilter({ ...t, negated: false }) }, { field, op: '!=', value: null }] };
    }
    op = negatedOp;
  }
  if (typeof t.value === 'boolean' && (op === 'in' || op === 'not in')) op = op === 'in' ? '=' : '!=';
  if (Array.isArray(t.value) && (op === '=' || op === '!=')) op = op === '=' ? 'in' : 'not in';
  if (op === '=?') {
    if (t.value === false || t.value === null) return TRUE;
    op = '=';
  }
  const value = toValue(t.value);
  if ((op === 'like' || op === 'ilike') && value === '') return TRUE;
  if ((op === 'not like' || op === 'not ilike') && value === '') return { field, op: '=', value: null };
  if (op === '!=' && (value === 0 || value === '')) {
    return { and: [{ field, op: '!=', value }, { field, op: '!=', value: null }] };
  }
  return { field, op: CORE_OP[op]!, value };
}

// ---------------------------------------------------------------------------------------------------
// order, fields, limit, offset

const ORDER_TERM = /^("?)([a-z0-9_]+)\1(?:\s+(asc|desc))?(?:\s+nulls\s+(first|last))?$/i;

/** `'name asc, id desc'` (optionally `nulls first|last`) → order terms; None, False or '' → the default. */
export function parseOdooOrder(order: unknown): OrderTerm[] | undefined {
  if (order === undefined || order === null || order === false) return undefined;
  const bad = () =>
    invalid(
      'order',
      `Invalid "order" specified (${pyRepr(order)}). A valid "order" specification is a comma-separated list of valid field names (optionally followed by asc/desc for the direction)`,
    );
  if (typeof order !== 'string' || order.length > ODOO_DOMAIN_LIMITS.maxOrderLength) throw bad();
  if (order.trim() === '') return undefined;
  return order.split(',').map((part) => {
    const m = ORDER_TERM.exec(part.trim());
    if (!m) throw bad();
    const term: OrderTerm = { field: m[2]!, desc: m[3]?.toLowerCase() === 'desc' };
    if (m[4]) term.nulls = m[4].toLowerCase() === 'first' ? 'first' : 'last';
    return term;
  });
}

/**
 * A `fields` list → field names in order, without repeats; None, False or [] → null (all fields). With
 * `known`, an unknown name is refused as Odoo does ("Invalid field 'x' on model 'm'"). Odoo's read
 * always returns `id`, whatever the list says; that is the caller's business.
 */
export function parseOdooFields(fields: unknown, options: { known?: Iterable<string>; model?: string } = {}): string[] | null {
  if (fields === undefined || fields === null || fields === false) return null;
  if (!Array.isArray(fields)) throw invalid('fields', `Invalid fields: expected a list of field names, got ${pyRepr(fields)}`);
  if (fields.length === 0) return null;
  if (fields.length > ODOO_DOMAIN_LIMITS.maxFields) throw invalid('fields', `Invalid fields: more than ${ODOO_DOMAIN_LIMITS.maxFields} names`);
  const known = options.known ? new Set(options.known) : null;
  const out = new Set<string>();
  for (const f of fields) {
    if (typeof f !== 'string' || f.length === 0 || f.length > ODOO_DOMAIN_LIMITS.maxFieldNameLength) {
      throw invalid('fields', `Invalid fields: ${pyRepr(f)} is not a field name`);
    }
    if (known && !known.has(f)) throw invalid('fields', `Invalid field ${pyRepr(f)}${options.model ? ` on model ${pyRepr(options.model)}` : ''}`);
    out.add(f);
  }
  return [...out];
}

/** Odoo's limit: None, False and 0 mean "no limit" (undefined here; the core then caps the answer). */
export function parseOdooLimit(limit: unknown): number | undefined {
  if (limit === undefined || limit === null || limit === false || limit === 0) return undefined;
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 0) throw invalid('limit', `Invalid limit ${pyRepr(limit)}: expected a whole number, 0 or more`);
  return limit;
}

/** Odoo's offset: None and False mean 0. */
export function parseOdooOffset(offset: unknown): number {
  if (offset === undefined || offset === null || offset === false) return 0;
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) throw invalid('offset', `Invalid offset ${pyRepr(offset)}: expected a whole number, 0 or more`);
  return offset;
}

/** `search` / `search_read` / `search_count` arguments → one RecordQuery for the core. */
export function parseOdooQuery(domain: unknown, options: { limit?: unknown; offset?: unknown; order?: unknown } = {}): RecordQuery {
  const query: RecordQuery = { filter: parseOdooDomain(domain), offset: parseOdooOffset(options.offset) };
  const limit = parseOdooLimit(options.limit);
  if (limit !== undefined) query.limit = limit;
  const order = parseOdooOrder(options.order);
  if (order !== undefined) query.order = order;
  return query;
}

// ---------------------------------------------------------------------------------------------------

/** Python-style repr for messages (a term as a tuple), cut short. */
export function pyRepr(v: unknown, asTuple = false): string {
  const s = repr(v, asTuple, 0);
  return s.length > 200 ? `${s.slice(0, 197)}...` : s;
}

function repr(v: unknown, asTuple: boolean, depth: number): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return `'${v.slice(0, 200).replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'None' : `'${v.toISOString().replace('T', ' ').replace(/\.\d+Z$|Z$/, '')}'`;
  if (depth > 3) return '...';
  if (Array.isArray(v)) {
    const items = v.slice(0, 20).map((x) => repr(x, false, depth + 1));
    if (v.length > 20) items.push('...');
    return asTuple ? `(${items.join(', ')}${v.length === 1 ? ',' : ''})` : `[${items.join(', ')}]`;
  }
  if (typeof v === 'object') return '{...}';
  return String(v);
}
