import fc from 'fast-check';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors/app-error.js';
import type { Database } from '../../src/db/schema.js';
import {
  checkQuery,
  compareKind,
  datetimeValue,
  RECORD_QUERY_LIMITS,
  type FieldMap,
  type FilterLeaf,
  type FilterOp,
  type FilterScalar,
  type OrderTerm,
  type RecordFilter,
  type RecordQuery,
} from '../../src/core/shared/record-filter.js';
import { applyRecordFilter, applyRecordQuery, column, compileRecordFilter } from '../../src/core/shared/record-filter.sql.js';
import { parseOdooDomain } from '../../src/facades/odoo-rpc/odoo-domain.js';
import { openTestDb } from '../support/test-db.js';

// A probe table with one column per field type, and a related table for the many2one's display name.
type Row = {
  id: number;
  name: string | null;
  qty: number | null;
  price: number | null;
  active: boolean | null;
  seen_at: Date | null;
  state: string | null;
  plan_id: number | null;
};
type ProbeTables = {
  probe: Row;
  probe_plans: { id: number; name: string };
};

const PLANS: Record<number, string> = { 1: 'Basic', 2: 'Pro 100%', 3: 'Enterprise_x' };

const fields: FieldMap = {
  id: { type: 'integer', sql: column('id') },
  name: { type: 'char', sql: column('name') },
  qty: { type: 'integer', sql: column('qty') },
  price: { type: 'float', sql: column('price') },
  active: { type: 'boolean', sql: column('active') },
  seen_at: { type: 'datetime', sql: column('seen_at') },
  state: { type: 'selection', sql: column('state') },
  plan_id: {
    type: 'many2one',
    sql: column('plan_id'),
    nameSql: (t) => sql`(select pp.name from probe_plans pp where pp.id = ${sql.ref(`${t}.plan_id`)})`,
  },
  secret: { type: 'char', sql: column('name'), filterable: false, sortable: false },
};

let close: () => Promise<void>;
let db: Kysely<Database & ProbeTables>;

beforeAll(async () => {
  const handle = await openTestDb();
  close = () => handle.close();
  db = handle.db.withTables<ProbeTables>();
  await sql`create table probe_plans (id bigint primary key, name text not null)`.execute(db);
  await sql`create table probe (
      id bigint primary key,
      name text,
      qty integer,
      price double precision,
      active boolean,
      seen_at timestamptz,
      state text,
      plan_id bigint references probe_plans (id)
    )`.execute(db);
  await db
    .insertInto('probe_plans')
    .values(Object.entries(PLANS).map(([id, name]) => ({ id: Number(id), name })))
    .execute();
});

afterAll(async () => {
  await close?.();
});

async function load(rows: Row[]): Promise<void> {
  await db.deleteFrom('probe').execute();
  if (rows.length) await db.insertInto('probe').values(rows).execute();
}

async function run(query: RecordQuery): Promise<number[]> {
  const rows = await applyRecordQuery(db.selectFrom('probe as t').select('t.id'), query, fields, 't').execute();
  return rows.map((r) => Number(r.id));
}

const where = (filter: RecordFilter | null) => run({ filter });
const odoo = (domain: unknown[]) => run({ filter: parseOdooDomain(domain) });

function errorOf(fn: () => unknown): AppError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).code).toBe('validation_failed');
    return e as AppError;
  }
  throw new Error('expected a validation error');
}

const at = (iso: string) => new Date(iso);
const ROWS: Row[] = [
  { id: 1, name: 'alpha', qty: 1, price: 1.5, active: true, seen_at: at('2024-01-01T10:00:00Z'), state: 'draft', plan_id: 1 },
  { id: 2, name: 'Beta', qty: 2, price: null, active: false, seen_at: at('2024-01-02T00:00:00Z'), state: 'open', plan_id: 2 },
  { id: 3, name: null, qty: null, price: 3.25, active: null, seen_at: null, state: null, plan_id: null },
  { id: 4, name: '100% pure', qty: 0, price: 0, active: true, seen_at: at('2024-01-01T23:59:59.500Z'), state: 'open', plan_id: 3 },
  { id: 5, name: 'a_b', qty: -5, price: -1, active: false, seen_at: at('2023-12-31T23:00:00Z'), state: 'cancelled', plan_id: 1 },
  { id: 6, name: 'axb', qty: 10, price: 2, active: null, seen_at: at('2024-01-03T12:00:00Z'), state: 'draft', plan_id: null },
  { id: 7, name: '', qty: 7, price: 2, active: true, seen_at: at('2024-01-01T00:00:00Z'), state: 'open', plan_id: 2 },
  { id: 8, name: 'back\\slash', qty: 7, price: null, active: false, seen_at: null, state: null, plan_id: 3 },
];

describe('compiled filters on the database', () => {
  beforeAll(async () => {
    await load(ROWS);
  });

  const leaf = (field: string, op: FilterOp, value: FilterLeaf['value']): RecordFilter => ({ field, op, value });

  it.each<[string, RecordFilter | null, number[]]>([
    ['no filter', null, [1, 2, 3, 4, 5, 6, 7, 8]],
    ['and: [] is true', { and: [] }, [1, 2, 3, 4, 5, 6, 7, 8]],
    ['or: [] is false', { or: [] }, []],
    ['= text', leaf('name', '=', 'alpha'), [1]],
    ['= is case-sensitive', leaf('name', '=', 'ALPHA'), []],
    ['= empty text is not NULL', leaf('name', '=', ''), [7]],
    ['= null is IS NULL', leaf('name', '=', null), [3]],
    ['!= null is IS NOT NULL', leaf('name', '!=', null), [1, 2, 4, 5, 6, 7, 8]],
    ['!= a value includes NULLs', leaf('qty', '!=', 7), [1, 2, 3, 4, 5, 6]],
    ['= integer', leaf('qty', '=', 0), [4]],
    ['< integer excludes NULLs', leaf('qty', '<', 1), [4, 5]],
    ['>= integer', leaf('qty', '>=', 7), [6, 7, 8]],
    ['> and <= float', { and: [leaf('price', '>', 0), leaf('price', '<=', 2)] }, [1, 6, 7]],
    ['in', leaf('qty', 'in', [1, 2, 99]), [1, 2]],
    ['in with null', leaf('qty', 'in', [1, null]), [1, 3]],
    ['in [] matches nothing', leaf('qty', 'in', []), []],
    ['not in includes NULLs', leaf('qty', 'not_in', [1, 2, 7]), [3, 4, 5, 6]],
    ['not in with null excludes NULLs', leaf('qty', 'not_in', [1, null]), [2, 4, 5, 6, 7, 8]],
    ['not in [] matches everything', leaf('qty', 'not_in', []), [1, 2, 3, 4, 5, 6, 7, 8]],
    ['like is a substring match', leaf('name', 'like', 'a'), [1, 2, 5, 6, 8]],
    ['like is case-sensitive', leaf('name', 'like', 'B'), [2]],
    ['ilike ignores case', leaf('name', 'ilike', 'b'), [2, 5, 6, 8]],
    ['like escapes %', leaf('name', 'like', '0%'), [4]],
    ['like escapes _', leaf('name', 'like', 'a_'), [5]],
    ['like escapes \\', leaf('name', 'like', 'k\\s'), [8]],
    ['like empty text matches every set value', leaf('name', 'like', ''), [1, 2, 4, 5, 6, 7, 8]],
    ['not like includes NULLs', leaf('name', 'not_like', 'a'), [3, 4, 7]],
    ['not ilike', leaf('name', 'not_ilike', 'B'), [1, 3, 4, 7]],
    ['=like uses the pattern', leaf('name', '=like', 'a_b'), [5, 6]],
    ['=like with an escaped _', leaf('name', '=like', 'a\\_b'), [5]],
    ['=ilike', leaf('name', '=ilike', 'b%'), [2, 8]],
    ['selection', leaf('state', 'in', ['open', 'draft']), [1, 2, 4, 6, 7]],
    ['boolean = true', leaf('active', '=', true), [1, 4, 7]],
    ['boolean = false includes NULL', leaf('active', '=', false), [2, 3, 5, 6, 8]],
    ['boolean = null is = false', leaf('active', '=', null), [2, 3, 5, 6, 8]],
    ['boolean != true', leaf('active', '!=', true), [2, 3, 5, 6, 8]],
    ['boolean != false', leaf('active', '!=', false), [1, 4, 7]],
    ['boolean in [false]', leaf('active', 'in', [false]), [2, 3, 5, 6, 8]],
    ['boolean in [true, false]', leaf('active', 'in', [true, false]), [1, 2, 3, 4, 5, 6, 7, 8]],
    ['boolean not in [true]', leaf('active', 'not_in', [true]), [2, 3, 5, 6, 8]],
    ['datetime <', leaf('seen_at', '<', '2024-01-01 10:00:00'), [5, 7]],
    ['datetime = an instant', leaf('seen_at', '=', at('2024-01-02T00:00:00Z')), [2]],
    ['datetime with a zone', leaf('seen_at', '=', '2024-01-02T01:00:00+01:00'), [2]],
    ['datetime = a date is its midnight', leaf('seen_at', '=', '2024-01-01'), [7]],
    ['datetime > a date is after that day', leaf('seen_at', '>', '2024-01-01'), [2, 6]],
    ['datetime <= a date includes the whole day', leaf('seen_at', '<=', '2024-01-01'), [1, 4, 5, 7]],
    ['datetime >= a date', leaf('seen_at', '>=', '2024-01-02'), [2, 6]],
    ['datetime < a date', leaf('seen_at', '<', '2024-01-01'), [5]],
    ['many2one = id', leaf('plan_id', '=', 1), [1, 5]],
    ['many2one = null', leaf('plan_id', '=', null), [3, 6]],
    ['many2one = name', leaf('plan_id', '=', 'Basic'), [1, 5]],
    ['many2one != name includes unlinked', leaf('plan_id', '!=', 'Basic'), [2, 3, 4, 6, 7, 8]],
    ['many2one ilike name', leaf('plan_id', 'ilike', 'pro'), [2, 7]],
    ['many2one ilike escapes %', leaf('plan_id', 'ilike', '0%'), [2, 7]],
    ['many2one like escapes _', leaf('plan_id', 'like', 'e_x'), [4, 8]],
    ['many2one not ilike includes unlinked', leaf('plan_id', 'not_ilike', 'pro'), [1, 3, 4, 5, 6, 8]],
    ['many2one in ids', leaf('plan_id', 'in', [2, 3]), [2, 4, 7, 8]],
    ['many2one in names', leaf('plan_id', 'in', ['Basic', 'Enterprise_x', null]), [1, 3, 4, 5, 6, 8]],
    ['many2one > id', leaf('plan_id', '>', 1), [2, 4, 7, 8]],
    ['not', { not: leaf('qty', '<', 2) }, [2, 3, 6, 7, 8]],
    ['not of an OR', { not: { or: [leaf('qty', '=', 7), leaf('name', 'ilike', 'a')] } }, [3, 4]],
    ['double not', { not: { not: leaf('name', '=', null) } }, [3]],
  ])('%s', async (_, filter, expected) => {
    expect(await where(filter)).toEqual(expected);
  });

  it('prefix notation: | A & B C', async () => {
    // qty = 1 OR (state = 'open' AND active = true)
    expect(await odoo(['|', ['qty', '=', 1], '&', ['state', '=', 'open'], ['active', '=', true]])).toEqual([1, 4, 7]);
    expect(await odoo(['&', '|', ['qty', '=', 1], ['state', '=', 'open'], ['active', '=', true]])).toEqual([1, 4, 7]);
    expect(await odoo(['|', '&', ['qty', '=', 1], ['state', '=', 'open'], ['active', '=', true]])).toEqual([1, 4, 7]);
    expect(await odoo([['state', '=', 'open'], ['active', '=', true]])).toEqual([4, 7]);
    expect(await odoo(['|', ['state', '=', 'open'], ['state', '=', 'draft'], ['qty', '>', 1]])).toEqual([2, 6, 7]);
  });

  it('Odoo negation with !', async () => {
    expect(await odoo(['!', ['qty', '<', 2]])).toEqual([2, 6, 7, 8]); // >= 2: NULLs stay out, as in Odoo
    expect(await odoo(['!', ['qty', '=', 7]])).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await odoo(['!', ['name', '=', false]])).toEqual([1, 2, 4, 5, 6, 7, 8]);
    expect(await odoo(['!', '|', ['qty', '=', 7], ['name', 'ilike', 'a']])).toEqual([3, 4]);
    expect(await odoo(['!', ['name', '=like', 'a%']])).toEqual([2, 4, 7, 8]); // NOT (name like 'a%'): NULL stays out
    expect(await odoo(['!', '!', ['qty', '=', 7]])).toEqual([7, 8]);
    expect(await odoo(['!', ['qty', 'in', []]])).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("Odoo's False, =? and empty-text rules", async () => {
    expect(await odoo([['name', '=', false]])).toEqual([3]);
    expect(await odoo([['active', '=', false]])).toEqual([2, 3, 5, 6, 8]);
    expect(await odoo([['name', 'like', '']])).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(await odoo([['name', 'not ilike', '']])).toEqual([3]);
    expect(await odoo([['qty', '!=', 0]])).toEqual([1, 2, 5, 6, 7, 8]);
    expect(await odoo([['qty', '=?', false]])).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(await odoo([['qty', '=?', 7]])).toEqual([7, 8]);
    expect(await odoo([['qty', 'in', [1, false]]])).toEqual([1, 3]);
    expect(await odoo([[1, '=', 1]])).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(await odoo([[0, '=', 1]])).toEqual([]);
    expect(await odoo([['plan_id', 'ilike', 'basic']])).toEqual([1, 5]);
  });

  it('orders, pages and ends every order with id', async () => {
    expect(await run({ filter: null, order: [{ field: 'qty', desc: false }] })).toEqual([5, 4, 1, 2, 7, 8, 6, 3]);
    expect(await run({ filter: null, order: [{ field: 'qty', desc: true }] })).toEqual([3, 6, 7, 8, 2, 1, 4, 5]);
    expect(await run({ filter: null, order: [{ field: 'qty', desc: true, nulls: 'last' }] })).toEqual([6, 7, 8, 2, 1, 4, 5, 3]);
    expect(await run({ filter: null, order: [{ field: 'qty', desc: false, nulls: 'first' }], limit: 3 })).toEqual([3, 5, 4]);
    expect(await run({ filter: null, order: [{ field: 'price', desc: true }, { field: 'id', desc: true }] })).toEqual([8, 2, 3, 7, 6, 1, 4, 5]);
    expect(await run({ filter: null, order: [{ field: 'plan_id', desc: false }] })).toEqual([1, 5, 4, 8, 2, 7, 3, 6]);
    expect(await run({ filter: null, limit: 3, offset: 2 })).toEqual([3, 4, 5]);
    expect(await run({ filter: null, limit: 0 })).toEqual([]);
    expect(await run({ filter: null, offset: 100 })).toEqual([]);
    expect(await run({ filter: { field: 'state', op: '=', value: 'open' }, order: [{ field: 'name', desc: true }], limit: 2 })).toEqual([2, 4]);
  });

  it('counts with applyRecordFilter', async () => {
    const q = db.selectFrom('probe as t').select((eb) => eb.fn.countAll<number>().as('n'));
    const count = async (f: RecordFilter | null) => Number((await applyRecordFilter(q, f, fields, 't').executeTakeFirstOrThrow()).n);
    expect(await count(null)).toBe(8);
    expect(await count({ field: 'name', op: 'ilike', value: 'a' })).toBe(5);
    expect(await count({ or: [] })).toBe(0);
  });

  it('binds every value as a parameter', () => {
    const evil = "x'); drop table probe; --";
    const query = applyRecordQuery(
      db.selectFrom('probe as t').select('t.id'),
      {
        filter: {
          or: [
            { field: 'name', op: 'ilike', value: evil },
            { field: 'state', op: 'in', value: [evil, 'open'] },
            { field: 'seen_at', op: '<', value: '2024-01-01' },
            { field: 'plan_id', op: '=', value: evil },
          ],
        },
        limit: 5,
        offset: 1,
      },
      fields,
      't',
    ).compile();
    expect(query.sql).not.toContain('drop');
    expect(query.sql).not.toContain('2024');
    expect(query.parameters).toEqual(expect.arrayContaining([`%${evil}%`, evil, 'open', '2024-01-01T00:00:00.000Z']));
    expect(query.sql).toContain('"t"."name"');
  });

  it('works on a real table of the schema', async () => {
    const clientFields: FieldMap = { id: { type: 'integer', sql: column('id') }, name: { type: 'char', sql: column('name') } };
    const rows = await applyRecordQuery(
      db.selectFrom('clients as c').select(['c.id', 'c.name']),
      { filter: { field: 'name', op: 'ilike', value: 'nobody-has-this-name' }, order: [{ field: 'name', desc: false }] },
      clientFields,
      'c',
    ).execute();
    expect(rows).toEqual([]);
    const expr = compileRecordFilter({ field: 'id', op: 'in', value: [] }, clientFields, 'c');
    expect(await db.selectFrom('clients as c').select('c.id').where(expr).execute()).toEqual([]);
  });

  it('reads the datetime spellings clients send', async () => {
    expect(await where({ field: 'seen_at', op: '=', value: '20240102T00:00:00' })).toEqual([2]);
    expect(await where({ field: 'seen_at', op: '=', value: '2024-01-01 10:00' })).toEqual([1]);
    expect(await where({ field: 'seen_at', op: '=', value: '2024-01-01T23:59:59.5Z' })).toEqual([4]);
    expect(await where({ field: 'seen_at', op: '=', value: '2024-01-01T05:00:00-05:00' })).toEqual([1]);
  });

  it('an id beyond int4 is no error on an integer column', async () => {
    expect(await where({ field: 'qty', op: '=', value: 2 ** 40 })).toEqual([]);
    expect(await where({ field: 'qty', op: 'in', value: [2 ** 40, 1] })).toEqual([1]);
  });
});

describe('checkQuery', () => {
  it.each<[string, RecordFilter, RegExp]>([
    ['an unknown field', { field: 'nope', op: '=', value: 1 }, /^Invalid filter: unknown field 'nope'$/],
    ['a prototype key', { field: 'constructor', op: '=', value: 1 }, /unknown field 'constructor'/],
    ['a field that cannot be filtered', { field: 'secret', op: '=', value: 'x' }, /field 'secret' cannot be used in a filter/],
    ['an unknown operator', { field: 'name', op: 'contains' as FilterOp, value: 'x' }, /unknown operator 'contains'/],
    ['in without a list', { field: 'qty', op: 'in', value: 1 }, /operator 'in' on 'qty' needs a list of values/],
    ['= with a list', { field: 'qty', op: '=', value: [1] }, /operator '=' on 'qty' needs a single value, not a list/],
    ['like with a number', { field: 'name', op: 'like', value: 5 }, /5 is not text \(operator 'like' needs text\) for 'name'/],
    ['like on an integer', { field: 'qty', op: 'like', value: '1' }, /operator 'like' cannot be used on integer field 'qty'/],
    ['< on a boolean', { field: 'active', op: '<', value: true }, /operator '<' cannot be used on boolean field 'active'/],
    ['a boolean as integer', { field: 'qty', op: '=', value: true }, /true is not an integer for 'qty'/],
    ['a fraction as integer', { field: 'qty', op: '=', value: 1.5 }, /1.5 is not an integer for 'qty'/],
    ['text as integer', { field: 'qty', op: 'in', value: [1, '2'] }, /'2' is not an integer for 'qty'/],
    ['infinity as float', { field: 'price', op: '<', value: Infinity }, /Infinity is not a number for 'price'/],
    ['a number as boolean', { field: 'active', op: '=', value: 1 }, /1 is not true or false for 'active'/],
    ['a bad date', { field: 'seen_at', op: '<', value: '2024-02-30' }, /'2024-02-30' is not a date-time/],
    ['a date-ish text', { field: 'seen_at', op: '<', value: 'yesterday' }, /is not a date-time/],
    ['an invalid Date', { field: 'seen_at', op: '<', value: new Date(Number.NaN) }, /an invalid date is not a date-time/],
    ['a Date out of range', { field: 'seen_at', op: '<', value: new Date(Date.UTC(20000, 0, 1)) }, /is not a date-time/],
    ['a date of year 50', { field: 'seen_at', op: '<', value: '0050-01-01' }, /is not a date-time/],
    ['< null', { field: 'qty', op: '<', value: null }, /operator '<' on 'qty' needs a value, not null/],
    ['like null', { field: 'name', op: 'ilike', value: null }, /needs a value, not null/],
    ['=like ending in an escape', { field: 'name', op: '=like', value: 'ab\\' }, /ends with an unescaped \\/],
    ['a many2one list mixing ids and names', { field: 'plan_id', op: 'in', value: [1, 'Basic'] }, /mixes ids and names/],
    ['< on a many2one name', { field: 'plan_id', op: '<', value: 'B' }, /operator '<' on 'plan_id' compares ids: 'B' is not an id/],
    ['a malformed node', { nope: [] } as unknown as RecordFilter, /\{"nope":\[\]\} is not a filter/],
    ['and without a list', { and: 'x' } as unknown as RecordFilter, /'and' needs a list of filters/],
    ['too long a text', { field: 'name', op: '=', value: 'x'.repeat(RECORD_QUERY_LIMITS.maxTextLength + 1) }, /is longer than 10000 characters/],
  ])('refuses %s', (_, filter, message) => {
    const e = errorOf(() => checkQuery({ filter }, fields));
    expect(e.message).toMatch(message);
    expect(e.details.fields?.filter?.[0]).toBeDefined();
  });

  it('accepts an escaped backslash at the end of a =like pattern', () => {
    expect(() => checkQuery({ filter: { field: 'name', op: '=like', value: 'ab\\\\' } }, fields)).not.toThrow();
  });

  it('a many2one without a display name takes ids only', () => {
    const idOnly: FieldMap = { plan_id: { type: 'many2one', sql: column('plan_id') } };
    expect(errorOf(() => checkQuery({ filter: { field: 'plan_id', op: 'ilike', value: 'x' } }, idOnly)).message).toMatch(/compared by id only/);
    expect(() => checkQuery({ filter: { field: 'plan_id', op: 'in', value: [1, null] } }, idOnly)).not.toThrow();
  });

  it('reports several problems at once', () => {
    const e = errorOf(() =>
      checkQuery(
        {
          filter: {
            and: [
              { field: 'nope', op: '=', value: 1 },
              { field: 'qty', op: 'like', value: 'x' },
            ],
          },
        },
        fields,
      ),
    );
    expect(e.details.fields?.filter).toEqual(["unknown field 'nope'", "operator 'like' cannot be used on integer field 'qty'"]);
    expect(e.message).toMatch(/\(and 1 more\)$/);
  });

  it('caps depth, terms and values', () => {
    let deep: RecordFilter = { field: 'qty', op: '=', value: 1 };
    for (let i = 0; i < RECORD_QUERY_LIMITS.maxDepth; i++) deep = { not: deep };
    expect(errorOf(() => checkQuery({ filter: deep }, fields)).message).toMatch(/nests deeper than 64 levels/);
    // Far deeper than any stack: still a validation error.
    let hostile: RecordFilter = { field: 'qty', op: '=', value: 1 };
    for (let i = 0; i < 100_000; i++) hostile = { and: [hostile] };
    expect(errorOf(() => checkQuery({ filter: hostile }, fields)).message).toMatch(/nests deeper/);
    const wide: RecordFilter = { or: Array.from({ length: RECORD_QUERY_LIMITS.maxNodes }, () => ({ field: 'qty', op: '=', value: 1 }) as RecordFilter) };
    expect(errorOf(() => checkQuery({ filter: wide }, fields)).message).toMatch(/more than 5000 terms/);
    const many: RecordFilter = { field: 'qty', op: 'in', value: Array.from({ length: RECORD_QUERY_LIMITS.maxValues + 1 }, (_, i) => i) };
    expect(errorOf(() => checkQuery({ filter: many }, fields)).message).toMatch(/more than 10000 values/);
  });

  it('resolves limit, offset and order', () => {
    expect(checkQuery({ filter: null }, fields)).toEqual({ filter: null, limit: RECORD_QUERY_LIMITS.maxLimit, offset: 0, order: [{ field: 'id', desc: false }] });
    expect(checkQuery({ filter: null, limit: 10 ** 9, offset: 5, order: [{ field: 'id', desc: true }] }, fields)).toEqual({
      filter: null,
      limit: RECORD_QUERY_LIMITS.maxLimit,
      offset: 5,
      order: [{ field: 'id', desc: true }],
    });
    expect(checkQuery({ filter: null, order: [{ field: 'name', desc: true, nulls: 'last' }] }, fields).order).toEqual([
      { field: 'name', desc: true, nulls: 'last' },
      { field: 'id', desc: false },
    ]);
  });

  it.each<[string, RecordQuery, string, RegExp]>([
    ['a negative limit', { filter: null, limit: -1 }, 'limit', /^Invalid limit: must be a whole number, 0 or more$/],
    ['a fractional offset', { filter: null, offset: 1.5 }, 'offset', /^Invalid offset/],
    ['an unknown order field', { filter: null, order: [{ field: 'nope', desc: false }] }, 'order', /^Invalid order: unknown field 'nope'$/],
    ['an unsortable field', { filter: null, order: [{ field: 'secret', desc: false }] }, 'order', /cannot be sorted on/],
    ['a bad nulls', { filter: null, order: [{ field: 'name', desc: false, nulls: 'middle' as 'first' }] }, 'order', /nulls must be 'first' or 'last'/],
    ['too many order terms', { filter: null, order: Array.from({ length: 17 }, () => ({ field: 'id', desc: false })) }, 'order', /more than 16 terms/],
  ])('refuses %s', (_, query, key, message) => {
    const e = errorOf(() => checkQuery(query, fields));
    expect(e.message).toMatch(message);
    expect(e.details.fields).toHaveProperty(key);
  });
});

// ---------------------------------------------------------------------------------------------------
// Properties: the SQL answer equals an in-memory reading of the same filter, over random rows.

const DAY = 86_400_000;
const planName = (r: Row) => (r.plan_id === null ? null : PLANS[r.plan_id]!);

/** PostgreSQL LIKE with `\` as escape character, as a regular expression. */
function likeRegExp(pattern: string, ignoreCase: boolean): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '\\') re += (pattern[++i] ?? '').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    else if (ch === '%') re += '[\\s\\S]*';
    else if (ch === '_') re += '[\\s\\S]';
    else re += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, ignoreCase ? 'i' : '');
}

function timeOf(v: FilterScalar): number {
  return datetimeValue(v)!.instant.getTime();
}

/** The core semantics written out plainly (record-filter.ts's header), one record at a time. */
function evalCore(f: RecordFilter, r: Row): boolean {
  if ('and' in f) return f.and.every((c) => evalCore(c, r));
  if ('or' in f) return f.or.some((c) => evalCore(c, r));
  if ('not' in f) return !evalCore(f.not, r);
  const def = fields[f.field]!;
  const kind = compareKind(def, f.value, f.op);
  const raw = kind === 'text' && def.type === 'many2one' ? planName(r) : (r[f.field as keyof Row] as FilterScalar);
  const v = kind === 'boolean' ? raw === true : raw;
  const eq = (x: FilterScalar): boolean => {
    if (kind === 'boolean') return v === (x === true);
    if (x === null) return v === null;
    if (v === null) return false;
    return kind === 'datetime' ? (v as Date).getTime() === timeOf(x) : v === x;
  };
  const cmp = (op: '<' | '>' | '<=' | '>=', x: FilterScalar): boolean => {
    if (v === null) return false;
    const a: number | string = v instanceof Date ? v.getTime() : (v as number | string);
    const b: number | string = kind === 'datetime' ? timeOf(x) : (x as number | string);
    if (kind === 'datetime' && datetimeValue(x)!.dateOnly && (op === '>' || op === '<=')) {
      // A date alone: '>' is from the next day on, '<=' up to its end.
      const next = (b as number) + DAY;
      return op === '>' ? (a as number) >= next : (a as number) < next;
    }
    return op === '<' ? a < b : op === '>' ? a > b : op === '<=' ? a <= b : a >= b;
  };
  const like = (pattern: string, ignoreCase: boolean) => v !== null && likeRegExp(pattern, ignoreCase).test(v as string);
  const sub = (s: string) => `%${s.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
  const value = f.value;
  switch (f.op) {
    case '=':
      return eq(value as FilterScalar);
    case '!=':
      return !eq(value as FilterScalar);
    case 'in':
      return (value as FilterScalar[]).some(eq);
    case 'not_in':
      return !(value as FilterScalar[]).some(eq);
    case 'like':
      return like(sub(value as string), false);
    case 'ilike':
      return like(sub(value as string), true);
    case 'not_like':
      return !like(sub(value as string), false);
    case 'not_ilike':
      return !like(sub(value as string), true);
    case '=like':
      return like(value as string, false);
    case '=ilike':
      return like(value as string, true);
    default:
      return cmp(f.op, value as FilterScalar);
  }
}

/** PostgreSQL's order: NULLs last ascending, first descending, unless told; text by code point (C collation). */
function sortRows(rows: Row[], order: OrderTerm[]): Row[] {
  const key = (r: Row, field: string): number | string | boolean | null => {
    if (field === 'plan_id') return planName(r);
    const v = r[field as keyof Row];
    return v instanceof Date ? v.getTime() : v;
  };
  return [...rows].sort((x, y) => {
    for (const t of order) {
      const a = key(x, t.field);
      const b = key(y, t.field);
      if (a === b) continue;
      const nullsFirst = t.nulls ? t.nulls === 'first' : t.desc;
      if (a === null) return nullsFirst ? -1 : 1;
      if (b === null) return nullsFirst ? 1 : -1;
      const c = a < b ? -1 : 1;
      return t.desc ? -c : c;
    }
    return 0;
  });
}

const TEXTS = ['a', 'b', 'A', 'B', 'ab', 'a%', 'b_', 'a\\b', '', ' a', 'ba'];
const INSTANTS = ['2024-01-01T00:00:00Z', '2024-01-01T10:00:00Z', '2024-01-01T23:59:59Z', '2024-01-02T00:00:00Z', '2023-12-31T23:00:00Z'];
const dateValues = fc.constantFrom('2024-01-01', '2024-01-02', '2023-12-31', '2024-01-01 10:00:00', '2024-01-01T23:59:59Z', '2024-01-02T01:00:00+01:00');

const rowArb = (id: number) =>
  fc.record({
    id: fc.constant(id),
    name: fc.option(fc.constantFrom(...TEXTS), { freq: 4 }),
    qty: fc.option(fc.integer({ min: -2, max: 8 }), { freq: 4 }),
    price: fc.option(fc.constantFrom(-1, 0, 1.5, 2, 3.25), { freq: 4 }),
    active: fc.option(fc.boolean(), { freq: 3 }),
    seen_at: fc.option(
      fc.constantFrom(...INSTANTS).map((s) => new Date(s)),
      { freq: 4 },
    ),
    state: fc.option(fc.constantFrom('draft', 'open', 'cancelled'), { freq: 4 }),
    plan_id: fc.option(fc.constantFrom(1, 2, 3), { freq: 4 }),
  });
const rowsArb = fc.integer({ min: 3, max: 14 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => rowArb(i + 1))));

const nullable = <T>(a: fc.Arbitrary<T>) => fc.option(a, { freq: 5 });
const list = <T>(a: fc.Arbitrary<T>) => fc.array(nullable(a), { maxLength: 4 });
const patterns = fc.array(fc.constantFrom('a', 'B', '%', '_', '\\%', '\\_', '\\\\', ' '), { maxLength: 4 }).map((p) => p.join(''));

function leafArb(): fc.Arbitrary<RecordFilter> {
  const scalarOps = ['=', '!='] as const;
  const orderOps = ['<', '>', '<=', '>='] as const;
  const listOps = ['in', 'not_in'] as const;
  const likeOps = ['like', 'not_like', 'ilike', 'not_ilike'] as const;
  const make = (field: string, op: fc.Arbitrary<FilterOp>, value: fc.Arbitrary<FilterLeaf['value']>) =>
    fc.record({ field: fc.constant(field), op, value }) as fc.Arbitrary<RecordFilter>;
  const int = fc.integer({ min: -3, max: 9 });
  const text = fc.constantFrom(...TEXTS);
  const numeric = (field: string, v: fc.Arbitrary<number>) =>
    fc.oneof(make(field, fc.constantFrom(...scalarOps), nullable(v)), make(field, fc.constantFrom(...orderOps), v), make(field, fc.constantFrom(...listOps), list(v)));
  const textual = (field: string, v: fc.Arbitrary<string>) =>
    fc.oneof(
      make(field, fc.constantFrom(...scalarOps), nullable(v)),
      make(field, fc.constantFrom(...orderOps), v),
      make(field, fc.constantFrom(...listOps), list(v)),
      make(field, fc.constantFrom(...likeOps), v),
      make(field, fc.constantFrom('=like', '=ilike'), patterns),
    );
  return fc.oneof(
    numeric('id', int),
    numeric('qty', int),
    numeric('price', fc.constantFrom(-1, 0, 1.5, 2, 3.25, 2.5)),
    textual('name', text),
    textual('state', fc.constantFrom('draft', 'open', 'cancelled', 'op')),
    fc.oneof(make('active', fc.constantFrom(...scalarOps), fc.constantFrom(true, false, null)), make('active', fc.constantFrom(...listOps), fc.array(fc.constantFrom(true, false, null), { maxLength: 3 }))),
    fc.oneof(
      make('seen_at', fc.constantFrom(...scalarOps, ...orderOps), dateValues),
      make('seen_at', fc.constantFrom(...scalarOps), fc.constant(null)),
      make('seen_at', fc.constantFrom(...listOps), list(dateValues)),
    ),
    fc.oneof(
      numeric('plan_id', fc.integer({ min: 0, max: 4 })),
      make('plan_id', fc.constantFrom(...scalarOps), nullable(fc.constantFrom('Basic', 'basic', 'Pro 100%', 'Enterprise_x'))),
      make('plan_id', fc.constantFrom(...listOps), list(fc.constantFrom('Basic', 'Pro 100%', 'x'))),
      make('plan_id', fc.constantFrom(...likeOps), fc.constantFrom('b', 'pro', '0%', 'e_x', '_', '')),
      make('plan_id', fc.constantFrom('=like', '=ilike'), fc.constantFrom('B%', 'p%', '%\\_x', 'Pro 100\\%')),
    ),
  );
}

const { filter: filterArb } = fc.letrec<{ filter: RecordFilter }>((tie) => ({
  filter: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leafArb(),
    fc.array(tie('filter'), { maxLength: 3 }).map((and) => ({ and })),
    fc.array(tie('filter'), { maxLength: 3 }).map((or) => ({ or })),
    tie('filter').map((not) => ({ not })),
  ),
}));

const orderArb = fc.array(
  fc.record(
    { field: fc.constantFrom('id', 'name', 'qty', 'price', 'active', 'seen_at', 'state', 'plan_id'), desc: fc.boolean(), nulls: fc.constantFrom('first', 'last') as fc.Arbitrary<'first' | 'last'> },
    { requiredKeys: ['field', 'desc'] },
  ),
  { maxLength: 3 },
);

describe('properties against an in-memory reading', () => {
  beforeEach(async () => {
    await load([]);
  });

  it('a filter selects in SQL what it selects in memory', async () => {
    await fc.assert(
      fc.asyncProperty(rowsArb, fc.array(filterArb, { minLength: 1, maxLength: 5 }), async (rows, filters) => {
        await load(rows);
        for (const filter of filters) {
          const expected = rows.filter((r) => evalCore(filter, r)).map((r) => r.id);
          expect(await where(filter)).toEqual(expected);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('order, limit and offset page as the in-memory sort does', async () => {
    await fc.assert(
      fc.asyncProperty(
        rowsArb,
        fc.option(filterArb, { nil: null }),
        orderArb,
        fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined }),
        fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
        async (rows, filter, order, limit, offset) => {
          await load(rows);
          const query: RecordQuery = { filter, order, ...(limit === undefined ? {} : { limit }), ...(offset === undefined ? {} : { offset }) };
          const full = checkQuery(query, fields).order;
          const selected = rows.filter((r) => filter === null || evalCore(filter, r));
          const start = offset ?? 0;
          const expected = sortRows(selected, full)
            .slice(start, limit === undefined ? undefined : start + limit)
            .map((r) => r.id);
          expect(await run(query)).toEqual(expected);
        },
      ),
      { numRuns: 200 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------
// Odoo's own reading: normalize_domain, distribute_not and __leaf_to_sql (odoo/osv/expression.py, 13–16)
// re-told in three-valued logic over the same rows, against parseOdooDomain + the compiled SQL.

type V3 = boolean | null;
const and3 = (a: V3, b: V3): V3 => (a === false || b === false ? false : a === true && b === true ? true : null);
const or3 = (a: V3, b: V3): V3 => (a === true || b === true ? true : a === false && b === false ? false : null);
const not3 = (a: V3): V3 => (a === null ? null : !a);
const truthy = (v: unknown) => !(v === false || v === null || v === 0 || v === '' || (Array.isArray(v) && v.length === 0));

const ODOO_NEGATION: Record<string, string> = { '<': '>=', '>': '<=', '<=': '>', '>=': '<', '=': '!=', '!=': '=', in: 'not in', 'not in': 'in', like: 'not like', 'not like': 'like', ilike: 'not ilike', 'not ilike': 'ilike' };
const isTerm = (t: unknown): t is unknown[] => Array.isArray(t);
const isConstLeaf = (t: unknown[]) => (t[0] === 1 || t[0] === 0) && t[1] === '=' && t[2] === 1;

/** Makes the implicit '&' explicit: whenever a complete expression is followed by more, an '&' goes in front. */
function odooNormalize(domain: unknown[]): unknown[] {
  if (domain.length === 0) return [[1, '=', 1]];
  const out: unknown[] = [];
  let expected = 1;
  for (const token of domain) {
    if (expected === 0) {
      out.unshift('&');
      expected = 1;
    }
    expected += isTerm(token) ? -1 : token === '!' ? 0 : 1;
    out.push(token);
  }
  return out;
}

/** Pushes each '!' down to the terms (prefix order kept); terms without a negation keep an explicit '!'. */
function odooDistributeNot(domain: unknown[]): unknown[] {
  const out: unknown[] = [];
  const negations: boolean[] = [false];
  for (const token of domain) {
    const negate = negations.pop()!;
    if (isTerm(token)) {
      if (!negate) out.push(token);
      else if (isConstLeaf(token)) out.push(token[0] === 1 ? [0, '=', 1] : [1, '=', 1]);
      else if (ODOO_NEGATION[token[1] as string]) out.push([token[0], ODOO_NEGATION[token[1] as string], token[2]]);
      else out.push('!', token);
    } else if (token === '!') {
      negations.push(!negate);
    } else {
      out.push(negate ? (token === '&' ? '|' : '&') : token);
      negations.push(negate, negate);
    }
  }
  return out;
}

function sqlCompare(col: unknown, op: string, param: unknown): V3 {
  if (col === null || param === null) return null;
  if (op === 'like' || op === 'ilike' || op === 'not like' || op === 'not ilike') {
    const m = likeRegExp(param as string, op.includes('ilike')).test(col as string);
    return op.startsWith('not') ? !m : m;
  }
  const a = col instanceof Date ? col.getTime() : col;
  const b = col instanceof Date ? new Date(`${(param as string).replace(' ', 'T')}Z`).getTime() : param;
  switch (op) {
    case '=':
      return a === b;
    case '!=':
      return a !== b;
    case '<':
      return (a as number) < (b as number);
    case '>':
      return (a as number) > (b as number);
    case '<=':
      return (a as number) <= (b as number);
    default:
      return (a as number) >= (b as number);
  }
}

function odooLeaf(term: unknown[], r: Row): V3 {
  if (isConstLeaf(term)) return term[0] === 1;
  const left = term[0] as string;
  let op = term[1] as string;
  const right = term[2];
  // normalize_leaf
  if (op === '<>') op = '!=';
  if (typeof right === 'boolean' && (op === 'in' || op === 'not in')) op = op === 'in' ? '=' : '!=';
  if (Array.isArray(right) && (op === '=' || op === '!=')) op = op === '=' ? 'in' : 'not in';
  const type = fields[left]!.type;
  const negative = ['!=', 'not like', 'not ilike', 'not in'].includes(op);

  if (type === 'many2one' && (typeof right === 'string' || (Array.isArray(right) && right.length > 0 && right.every((x) => typeof x === 'string')))) {
    // name_search on the related model, then an id test.
    let nameOp = op;
    if (!Array.isArray(right) && (op === 'in' || op === 'not in')) nameOp = op === 'in' ? '=' : '!=';
    const ids = Object.entries(PLANS)
      .filter(([, name]) => odooLeafOn(name, 'char', nameOp, right) === true)
      .map(([id]) => Number(id));
    const inIds: V3 = ids.length === 0 ? false : r.plan_id === null ? null : ids.includes(r.plan_id);
    return negative ? or3(inIds, r.plan_id === null) : inIds;
  }
  return odooLeafOn(r[left as keyof Row] as unknown, type, op, right);
}

/** __leaf_to_sql for one column value (with parse()'s date-only expansion for datetime fields). */
function odooLeafOn(col: unknown, type: string, op: string, right: unknown): V3 {
  if (op === 'in' || op === 'not in') {
    const values = right as unknown[];
    const params = type === 'boolean' ? [true, false].filter((b) => values.includes(b)) : values.filter((x) => x !== false && x !== null);
    const checkNull = type === 'boolean' ? values.includes(false) : params.length < values.length;
    let q: V3;
    if (params.length === 0) q = op === 'in' ? false : true;
    else if (col === null) q = null;
    else {
      const found = params.some((p) => sqlCompare(col, '=', p) === true);
      q = op === 'in' ? found : !found;
    }
    if ((op === 'in' && checkNull) || (op === 'not in' && !checkNull)) return or3(q, col === null);
    if (op === 'not in' && checkNull) return and3(q, col !== null);
    return q;
  }
  if (type === 'boolean' && ((op === '=' && right === false) || (op === '!=' && right === true))) return col === null || col === false;
  if ((right === false || right === null) && op === '=') return col === null;
  if (type === 'boolean' && op === '!=' && right === false) return col !== null && col !== false;
  if ((right === false || right === null) && op === '!=') return col !== null;
  if (op === '=?') return right === false || right === null ? true : odooLeafOn(col, type, '=', right);
  let value = right;
  if (type === 'datetime' && typeof value === 'string' && value.length === 10) value += op === '>' || op === '<=' ? ' 23:59:59' : ' 00:00:00';
  const wildcard = ['like', 'ilike', 'not like', 'not ilike'].includes(op);
  const sqlOp = op === '=like' ? 'like' : op === '=ilike' ? 'ilike' : op;
  let q = sqlCompare(col, sqlOp, wildcard ? `%${String(value)}%` : value);
  if ((wildcard && !truthy(right)) || (truthy(right) && ['!=', 'not like', 'not ilike', 'not in'].includes(op))) q = or3(q, col === null);
  return q;
}

function evalOdoo(domain: unknown[], r: Row): boolean {
  const tokens = odooDistributeNot(odooNormalize(domain));
  const stack: V3[] = [];
  for (let i = tokens.length - 1; i >= 0; i--) {
    const t = tokens[i];
    if (t === '!') stack.push(not3(stack.pop()!));
    else if (t === '&') stack.push(and3(stack.pop()!, stack.pop()!));
    else if (t === '|') stack.push(or3(stack.pop()!, stack.pop()!));
    else stack.push(odooLeaf(t as unknown[], r));
  }
  return stack.pop() === true;
}

// Odoo terms whose SQL is defined and ours is meant to agree with: like/ilike values without wildcards
// (Odoo does not escape them), no `like` on non-text columns, whole-second datetimes.
function odooTermArb(): fc.Arbitrary<unknown[]> {
  const t = (field: string, ops: string[], values: fc.Arbitrary<unknown>) => fc.tuple(fc.constant(field), fc.constantFrom(...ops), values);
  const int = fc.integer({ min: -2, max: 8 });
  const intOrFalse = fc.oneof(int, fc.constant(false));
  const text = fc.constantFrom('a', 'b', 'A', 'ab', 'ba', ' a', '', 'open', 'draft');
  const textOrFalse = fc.oneof(text, fc.constant(false));
  const intList = fc.array(intOrFalse, { maxLength: 4 });
  return fc.oneof(
    fc.constantFrom<unknown[]>([1, '=', 1], [0, '=', 1]),
    t('qty', ['=', '!=', '<>', '=?'], intOrFalse),
    t('qty', ['<', '>', '<=', '>='], int),
    t('qty', ['in', 'not in', '=', '!=', '<>'], intList),
    t('price', ['=', '!=', '<', '>=', '=?'], fc.constantFrom(0, 1.5, 2, -1)),
    t('price', ['=', '!='], fc.constant(false)),
    t('name', ['=', '!=', '<>', '=?'], textOrFalse),
    t('name', ['<', '>', '<=', '>='], text),
    t('name', ['like', 'not like', 'ilike', 'not ilike'], text),
    t('name', ['=like', '=ilike'], fc.constantFrom('a%', '%b', 'a_', '_', '%', 'A%', 'a\\%')),
    t('name', ['in', 'not in'], fc.array(textOrFalse, { maxLength: 3 })),
    t('state', ['=', '!=', 'ilike', 'not ilike', 'in', 'not in'], fc.oneof(fc.constantFrom('open', 'draft', 'pen', ''), fc.array(fc.constantFrom('open', 'draft', false), { maxLength: 3 }))).filter(
      ([, op, v]) => Array.isArray(v) === (op === 'in' || op === 'not in'),
    ),
    t('active', ['=', '!=', '<>', 'in', 'not in'], fc.boolean()),
    t('active', ['in', 'not in', '=', '!='], fc.array(fc.boolean(), { maxLength: 2 })),
    t('seen_at', ['=', '!=', '<', '>', '<=', '>='], fc.constantFrom('2024-01-01', '2024-01-02', '2023-12-31', '2024-01-01 10:00:00', '2024-01-01 23:59:59')),
    t('seen_at', ['=', '!='], fc.constant(false)),
    t('plan_id', ['=', '!=', '<>', '=?'], fc.oneof(fc.integer({ min: 0, max: 4 }), fc.constant(false))),
    t('plan_id', ['<', '>', '<=', '>='], fc.integer({ min: 0, max: 4 })),
    t('plan_id', ['in', 'not in'], intList),
    t('plan_id', ['=', '!=', 'ilike', 'not ilike', 'like', 'not like'], fc.constantFrom('Basic', 'basic', 'Pro', 'x', 'prise')),
    t('plan_id', ['in', 'not in'], fc.array(fc.constantFrom('Basic', 'Pro 100%', 'x'), { minLength: 1, maxLength: 3 })),
  );
}

const { expr: odooExprArb } = fc.letrec<{ expr: unknown[] }>((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    odooTermArb().map((term) => [term]),
    tie('expr').map((e) => ['!', ...e]),
    fc.tuple(fc.constantFrom('&', '|'), tie('expr'), tie('expr')).map(([op, l, r]) => [op, ...l, ...r]),
  ),
}));
const odooDomainArb = fc.array(odooExprArb, { maxLength: 3 }).map((parts) => parts.flat());

const odooRowArb = (id: number) =>
  rowArb(id).map((r) => ({ ...r, name: r.name === null ? null : r.name.replace(/[%_\\]/g, 'x') }));
const odooRowsArb = fc.integer({ min: 3, max: 14 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => odooRowArb(i + 1))));

describe("properties against Odoo's expression.py", () => {
  it('a parsed domain selects what Odoo would', async () => {
    await fc.assert(
      fc.asyncProperty(odooRowsArb, fc.array(odooDomainArb, { minLength: 1, maxLength: 5 }), async (rows, domains) => {
        await load(rows);
        for (const domain of domains) {
          const expected = rows.filter((r) => evalOdoo(domain, r)).map((r) => r.id);
          expect(await odoo(domain), JSON.stringify(domain)).toEqual(expected);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('the Odoo reading itself agrees with the examples above', () => {
    const row = (over: Partial<Row>): Row => ({ id: 1, name: null, qty: null, price: null, active: null, seen_at: null, state: null, plan_id: null, ...over });
    expect(evalOdoo([['qty', '!=', 5]], row({}))).toBe(true);
    expect(evalOdoo([['qty', '!=', 0]], row({}))).toBe(false);
    expect(evalOdoo(['!', ['qty', '<', 5]], row({}))).toBe(false);
    expect(evalOdoo([['name', 'like', '']], row({}))).toBe(true);
    expect(evalOdoo([['name', 'not like', '']], row({ name: 'a' }))).toBe(false);
    expect(evalOdoo([['active', '=', false]], row({}))).toBe(true);
    expect(evalOdoo([['plan_id', 'not ilike', 'basic']], row({}))).toBe(true);
    expect(evalOdoo(['|', ['qty', '=', 1], '&', ['name', '=', 'a'], ['qty', '=', 2]], row({ qty: 2, name: 'a' }))).toBe(true);
  });
});
