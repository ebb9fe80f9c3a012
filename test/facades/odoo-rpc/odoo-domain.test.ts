import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../../src/errors/app-error.js';
import type { RecordFilter } from '../../../src/core/shared/record-filter.js';
import {
  ODOO_DOMAIN_LIMITS,
  parseOdooDomain,
  parseOdooFields,
  parseOdooLimit,
  parseOdooOffset,
  parseOdooOrder,
  parseOdooQuery,
  pyRepr,
} from '../../../src/facades/odoo-rpc/odoo-domain.js';

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

const A = ['a', '=', 1];
const B = ['b', '=', 2];
const C = ['c', '=', 3];
const a: RecordFilter = { field: 'a', op: '=', value: 1 };
const b: RecordFilter = { field: 'b', op: '=', value: 2 };
const c: RecordFilter = { field: 'c', op: '=', value: 3 };
const TRUE = { and: [] };
const FALSE = { or: [] };

describe('parseOdooDomain: structure', () => {
  it.each<[string, unknown]>([
    ['[]', []],
    ['None', null],
    ['False', false],
    ['nothing', undefined],
  ])('%s matches everything', (_, domain) => {
    expect(parseOdooDomain(domain)).toBeNull();
  });

  it.each<[string, unknown[], RecordFilter]>([
    ['one term', [A], a],
    ['implicit AND', [A, B], { and: [a, b] }],
    ['explicit AND', ['&', A, B], { and: [a, b] }],
    ['OR', ['|', A, B], { or: [a, b] }],
    ['OR with a nested AND', ['|', A, '&', B, C], { or: [a, { and: [b, c] }] }],
    ['AND with a nested OR', ['&', '|', A, B, C], { and: [{ or: [a, b] }, c] }],
    ['a chain of ANDs is flat', ['&', '&', A, B, C], { and: [a, b, c] }],
    ['a chain of ORs is flat', ['|', A, '|', B, C], { or: [a, b, c] }],
    ['an operator, then implicit AND', ['|', A, B, C], { and: [{ or: [a, b] }, c] }],
    ['NOT, then implicit AND', ['!', A, B], { and: [{ field: 'a', op: '!=', value: 1 }, b] }],
    ['terms as tuples or lists alike', [['name', 'ilike', 'acme']], { field: 'name', op: 'ilike', value: 'acme' }],
  ])('%s', (_, domain, expected) => {
    expect(parseOdooDomain(domain)).toEqual(expected);
  });

  it('reads the seed calls', () => {
    expect(parseOdooDomain([['name', '=', 'crm-001.odoo.com']])).toEqual({ field: 'name', op: '=', value: 'crm-001.odoo.com' });
    expect(parseOdooDomain([['plan_id', '=', 3], ['partner_id', '=', 7]])).toEqual({
      and: [
        { field: 'plan_id', op: '=', value: 3 },
        { field: 'partner_id', op: '=', value: 7 },
      ],
    });
  });

  it('knows the TRUE and FALSE leaves', () => {
    expect(parseOdooDomain([[1, '=', 1]])).toEqual(TRUE);
    expect(parseOdooDomain([[0, '=', 1]])).toEqual(FALSE);
    expect(parseOdooDomain([[true, '=', 1]])).toEqual(TRUE);
    expect(parseOdooDomain(['!', [1, '=', 1]])).toEqual(FALSE);
    expect(parseOdooDomain(['|', [0, '=', 1], A])).toEqual({ or: [a] });
    expect(parseOdooDomain([[1, '=', 1], A])).toEqual({ and: [a] });
  });
});

describe('parseOdooDomain: negation as Odoo distributes it', () => {
  it.each<[string, unknown[], RecordFilter]>([
    ['= becomes !=', ['!', ['x', '=', 5]], { field: 'x', op: '!=', value: 5 }],
    ['!= becomes =', ['!', ['x', '!=', 5]], { field: 'x', op: '=', value: 5 }],
    ['< becomes >=', ['!', ['x', '<', 5]], { field: 'x', op: '>=', value: 5 }],
    ['> becomes <=', ['!', ['x', '>', 5]], { field: 'x', op: '<=', value: 5 }],
    ['<= becomes >', ['!', ['x', '<=', 5]], { field: 'x', op: '>', value: 5 }],
    ['>= becomes <', ['!', ['x', '>=', 5]], { field: 'x', op: '<', value: 5 }],
    ['in becomes not in', ['!', ['x', 'in', [1, 2]]], { field: 'x', op: 'not_in', value: [1, 2] }],
    ['not in becomes in', ['!', ['x', 'not in', [1]]], { field: 'x', op: 'in', value: [1] }],
    ['like becomes not like', ['!', ['x', 'like', 'a']], { field: 'x', op: 'not_like', value: 'a' }],
    ['ilike becomes not ilike', ['!', ['x', 'ilike', 'a']], { field: 'x', op: 'not_ilike', value: 'a' }],
    ['not ilike becomes ilike', ['!', ['x', 'not ilike', 'a']], { field: 'x', op: 'ilike', value: 'a' }],
    ['= False becomes != None', ['!', ['x', '=', false]], { field: 'x', op: '!=', value: null }],
    ['De Morgan on AND', ['!', '&', A, B], { or: [{ field: 'a', op: '!=', value: 1 }, { field: 'b', op: '!=', value: 2 }] }],
    ['De Morgan on OR', ['!', '|', A, B], { and: [{ field: 'a', op: '!=', value: 1 }, { field: 'b', op: '!=', value: 2 }] }],
    ['double negation', ['!', '!', A], a],
    ['nested', ['!', '|', A, '!', B], { and: [{ field: 'a', op: '!=', value: 1 }, b] }],
  ])('%s', (_, domain, expected) => {
    expect(parseOdooDomain(domain)).toEqual(expected);
  });

  it('keeps NOT (with the field set) for operators Odoo cannot negate', () => {
    expect(parseOdooDomain(['!', ['x', '=like', 'a%']])).toEqual({
      and: [{ not: { field: 'x', op: '=like', value: 'a%' } }, { field: 'x', op: '!=', value: null }],
    });
    expect(parseOdooDomain(['!', ['x', '=?', false]])).toEqual({ and: [{ not: TRUE }, { field: 'x', op: '!=', value: null }] });
  });

  it('reads <> as != before negating', () => {
    expect(parseOdooDomain(['!', ['x', '<>', 4]])).toEqual({ field: 'x', op: '=', value: 4 });
    expect(parseOdooDomain(['!', ['x', '<>', false]])).toEqual({ field: 'x', op: '=', value: null });
    expect(parseOdooDomain(['!', ['x', '<>', [1, false]]])).toEqual({ field: 'x', op: 'in', value: [1, null] });
  });
});

describe('parseOdooDomain: terms as normalize_leaf and __leaf_to_sql read them', () => {
  it.each<[string, unknown[], RecordFilter]>([
    ['<> is !=', ['x', '<>', 4], { field: 'x', op: '!=', value: 4 }],
    ['in with a boolean is =', ['x', 'in', true], { field: 'x', op: '=', value: true }],
    ['not in with False is != None', ['x', 'not in', false], { field: 'x', op: '!=', value: null }],
    ['= with a list is in', ['x', '=', [1, 2]], { field: 'x', op: 'in', value: [1, 2] }],
    ['!= with a list is not in', ['x', '!=', [1]], { field: 'x', op: 'not_in', value: [1] }],
    ['=? with False is TRUE', ['x', '=?', false], TRUE],
    ['=? with None is TRUE', ['x', '=?', null], TRUE],
    ['=? with a value is =', ['x', '=?', 0], { field: 'x', op: '=', value: 0 }],
    ['False is None', ['x', '=', false], { field: 'x', op: '=', value: null }],
    ['False in a list is None', ['x', 'in', [1, false]], { field: 'x', op: 'in', value: [1, null] }],
    ['True stays', ['active', '=', true], { field: 'active', op: '=', value: true }],
    ["like '' is TRUE", ['x', 'like', ''], TRUE],
    ["ilike '' is TRUE", ['x', 'ilike', ''], TRUE],
    ["not ilike '' matches unset only", ['x', 'not ilike', ''], { field: 'x', op: '=', value: null }],
    ['!= 0 excludes unset', ['x', '!=', 0], { and: [{ field: 'x', op: '!=', value: 0 }, { field: 'x', op: '!=', value: null }] }],
    ["!= '' excludes unset", ['x', '!=', ''], { and: [{ field: 'x', op: '!=', value: '' }, { field: 'x', op: '!=', value: null }] }],
    ['=like keeps its pattern', ['x', '=like', 'a%_'], { field: 'x', op: '=like', value: 'a%_' }],
    ['=ilike', ['x', '=ilike', 'A%'], { field: 'x', op: '=ilike', value: 'A%' }],
    ['not like', ['x', 'not like', 'b'], { field: 'x', op: 'not_like', value: 'b' }],
  ])('%s', (_, term, expected) => {
    expect(parseOdooDomain([term])).toEqual(expected);
  });

  it('passes dates through', () => {
    const d = new Date('2024-05-01T10:00:00Z');
    expect(parseOdooDomain([['expiration_datetime', '<', d]])).toEqual({ field: 'expiration_datetime', op: '<', value: d });
  });
});

describe('parseOdooDomain: refusals', () => {
  it.each<[string, unknown, RegExp]>([
    ['not a list', 'name', /^Invalid domain: expected a list of terms, got 'name'$/],
    ['a struct', { name: 'x' }, /expected a list of terms, got \{\.\.\.\}/],
    ['two elements', [['name', '=']], /^Invalid domain term \('name', '='\): a term has 3 elements \(field, operator, value\), not 2$/],
    ['four elements', [['name', '=', 1, 2]], /a term has 3 elements/],
    ['an unknown operator', [['name', 'lke', 'x']], /^Invalid domain term \('name', 'lke', 'x'\): unknown operator 'lke'$/],
    ['an upper-case operator', [['name', 'IN', [1]]], /unknown operator 'IN'/],
    ['a number as operator', [['name', 1, 'x']], /unknown operator 1/],
    ['a number as field', [[5, '=', 1]], /^Invalid domain term \(5, '=', 1\): the field name must be text$/],
    ['a near TRUE leaf', [[1, '=', 2]], /the field name must be text/],
    ['an empty field', [['', '=', 1]], /the field name must be text/],
    ['a long field', [['f'.repeat(200), '=', 1]], /the field name is too long/],
    ['child_of', [['id', 'child_of', 1]], /operator 'child_of' is not supported/],
    ['a struct value', [['name', '=', { a: 1 }]], /unsupported value \{\.\.\.\}/],
    ['a nested list value', [['id', 'in', [[1]]]], /a list may hold only numbers, text, booleans, dates and None/],
    ['NaN', [['x', '=', Number.NaN]], /unsupported value NaN/],
    ['=? with a list', [['x', '=?', [1]]], /^Invalid domain term \('x', '=\?', \[1\]\): operator '=\?' needs a single value$/],
    ['a dangling OR', ['|', A], /^Invalid domain: operator '\|' at index 0 needs two terms after it, found 1$/],
    ['a lone AND', ['&'], /operator '&' at index 0 needs two terms after it, found 0/],
    ['a dangling NOT', [A, '!'], /^Invalid domain: operator '!' at index 1 has no term after it$/],
    ['an OR in the middle', [A, '|', B], /operator '\|' at index 1 needs two terms/],
    ['an unknown domain operator', ['^', A, B], /^Invalid domain: '\^' at index 0 is not a domain operator \('&', '\|', '!'\)$/],
    ['a number', [A, 7], /^Invalid domain: 7 at index 1 is neither a term nor an operator$/],
    ['None in the list', [null], /None at index 0 is neither a term nor an operator/],
  ])('%s', (_, domain, message) => {
    const e = errorOf(() => parseOdooDomain(domain));
    expect(e.message).toMatch(message);
    expect(e.details.fields?.domain).toEqual([e.message]);
  });

  it('caps the number of elements', () => {
    const ok = Array.from({ length: ODOO_DOMAIN_LIMITS.maxElements }, (_, i) => ['id', '=', i]);
    expect(parseOdooDomain(ok)).toMatchObject({ and: expect.any(Array) });
    const e = errorOf(() => parseOdooDomain([...ok, A]));
    expect(e.message).toBe(`Invalid domain: more than ${ODOO_DOMAIN_LIMITS.maxElements} elements`);
  });

  it('a long chain of one operator is not deep', () => {
    const n = 400;
    const domain = [...Array<string>(n - 1).fill('|'), ...Array.from({ length: n }, (_, i) => ['id', '=', i])];
    const f = parseOdooDomain(domain) as { or: RecordFilter[] };
    expect(f.or).toHaveLength(n);
    expect(f.or[0]).toEqual({ field: 'id', op: '=', value: 0 });
  });

  it('caps alternating nesting', () => {
    const nest = (levels: number): unknown[] => (levels === 0 ? [A] : [levels % 2 ? '&' : '|', B, ...nest(levels - 1)]);
    expect(() => parseOdooDomain(nest(ODOO_DOMAIN_LIMITS.maxDepth - 1))).not.toThrow();
    const e = errorOf(() => parseOdooDomain(nest(ODOO_DOMAIN_LIMITS.maxDepth + 5)));
    expect(e.message).toBe(`Invalid domain: nested deeper than ${ODOO_DOMAIN_LIMITS.maxDepth} levels`);
    // Negation walks the tree: still bounded.
    expect(() => parseOdooDomain(['!', ...nest(ODOO_DOMAIN_LIMITS.maxDepth - 1)])).not.toThrow();
  });

  it('caps list sizes', () => {
    const big = Array.from({ length: ODOO_DOMAIN_LIMITS.maxListValues + 1 }, (_, i) => i);
    expect(errorOf(() => parseOdooDomain([['id', 'in', big]])).message).toMatch(/more than 10000 values/);
    expect(parseOdooDomain([['id', 'in', big.slice(1)]])).toMatchObject({ op: 'in' });
  });

  it('cuts long values short in messages', () => {
    const e = errorOf(() => parseOdooDomain([['name', 'nope', 'x'.repeat(5000)]]));
    expect(e.message.length).toBeLessThan(300);
  });

  it('never fails with anything but a validation error', () => {
    const token = fc.oneof(
      fc.constantFrom('&', '|', '!', '=', 'x'),
      fc.tuple(fc.constantFrom('name', 'id', '', 1, 0), fc.constantFrom('=', 'in', 'like', '=?', '<>', 'bad', 'child_of'), fc.oneof(fc.jsonValue(), fc.date())),
      fc.array(fc.jsonValue(), { maxLength: 4 }),
      fc.jsonValue(),
    );
    fc.assert(
      fc.property(fc.oneof(fc.array(token, { maxLength: 12 }), fc.anything()), (domain) => {
        try {
          parseOdooDomain(domain);
        } catch (e) {
          expect(e).toBeInstanceOf(AppError);
          expect((e as AppError).code).toBe('validation_failed');
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('double negation of any expression is the expression', () => {
    const term = fc
      .tuple(fc.constantFrom('a', 'b', 'c'), fc.constantFrom('=', '!=', '<', '>=', 'in', 'not in', 'ilike', '=like', '<>', '=?'), fc.constantFrom(1, 0, false, 'x', '', [1, false]))
      .filter(([, op, value]) => !(op === '=?' && Array.isArray(value)));
    const { expr } = fc.letrec<{ expr: unknown[] }>((tie) => ({
      expr: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        term.map((t) => [t]),
        tie('expr').map((e) => ['!', ...e]),
        fc.tuple(fc.constantFrom('&', '|'), tie('expr'), tie('expr')).map(([op, l, r]) => [op, ...l, ...r]),
      ),
    }));
    fc.assert(
      fc.property(expr, (e) => {
        expect(parseOdooDomain(['!', '!', ...e])).toEqual(parseOdooDomain(e));
      }),
      { numRuns: 500 },
    );
  });
});

describe('parseOdooOrder', () => {
  it.each<[unknown, unknown]>([
    [undefined, undefined],
    [null, undefined],
    [false, undefined],
    ['', undefined],
    ['  ', undefined],
    ['name', [{ field: 'name', desc: false }]],
    ['name asc, id desc', [{ field: 'name', desc: false }, { field: 'id', desc: true }]],
    ['name DESC,id', [{ field: 'name', desc: true }, { field: 'id', desc: false }]],
    ['"name" desc', [{ field: 'name', desc: true }]],
    ['expiration_datetime desc nulls last', [{ field: 'expiration_datetime', desc: true, nulls: 'last' }]],
    ['name NULLS FIRST', [{ field: 'name', desc: false, nulls: 'first' }]],
  ])('%j', (input, expected) => {
    expect(parseOdooOrder(input)).toEqual(expected);
  });

  it.each<[unknown]>([['name;drop table clients'], ['name asc,'], [',name'], ['name sideways'], ['name asc desc'], ['"name'], ['plan_id.name'], ['count(*)'], [5], [['name']], ['x'.repeat(3000)]])(
    'refuses %j',
    (input) => {
      const e = errorOf(() => parseOdooOrder(input));
      expect(e.message).toMatch(/^Invalid "order" specified \(.*\)\. A valid "order" specification is a comma-separated list of valid field names/);
      expect(e.details.fields).toHaveProperty('order');
    },
  );
});

describe('parseOdooFields', () => {
  it('reads a list of names, once each, in order', () => {
    expect(parseOdooFields(['name', 'plan_id', 'name'])).toEqual(['name', 'plan_id']);
  });

  it.each([[undefined], [null], [false], [[]]])('%j means all fields', (input) => {
    expect(parseOdooFields(input)).toBeNull();
  });

  it('checks names against the model when told', () => {
    expect(parseOdooFields(['name'], { known: ['id', 'name'], model: 'saas_portal.client' })).toEqual(['name']);
    expect(errorOf(() => parseOdooFields(['name', 'nope'], { known: new Set(['id', 'name']), model: 'saas_portal.client' })).message).toBe(
      "Invalid field 'nope' on model 'saas_portal.client'",
    );
  });

  it.each<[unknown, RegExp]>([
    ['name', /expected a list of field names, got 'name'/],
    [[1], /1 is not a field name/],
    [[''], /'' is not a field name/],
    [Array.from({ length: 501 }, (_, i) => `f${i}`), /more than 500 names/],
  ])('refuses %j', (input, message) => {
    expect(errorOf(() => parseOdooFields(input)).message).toMatch(message);
  });
});

describe('limit, offset and the whole query', () => {
  it('treats None, False and 0 as no limit', () => {
    expect(parseOdooLimit(undefined)).toBeUndefined();
    expect(parseOdooLimit(null)).toBeUndefined();
    expect(parseOdooLimit(false)).toBeUndefined();
    expect(parseOdooLimit(0)).toBeUndefined();
    expect(parseOdooLimit(80)).toBe(80);
    expect(parseOdooOffset(false)).toBe(0);
    expect(parseOdooOffset(20)).toBe(20);
  });

  it.each([[-1], [1.5], ['10'], [true]])('refuses the limit and offset %j', (v) => {
    expect(errorOf(() => parseOdooLimit(v)).details.fields).toHaveProperty('limit');
    expect(errorOf(() => parseOdooOffset(v)).details.fields).toHaveProperty('offset');
  });

  it('builds a RecordQuery', () => {
    expect(parseOdooQuery([['name', 'ilike', 'crm']], { limit: 10, offset: 5, order: 'name desc' })).toEqual({
      filter: { field: 'name', op: 'ilike', value: 'crm' },
      limit: 10,
      offset: 5,
      order: [{ field: 'name', desc: true }],
    });
    expect(parseOdooQuery([])).toEqual({ filter: null, offset: 0 });
  });
});

describe('pyRepr', () => {
  it('writes values as Python would', () => {
    expect(pyRepr(['name', '=', false], true)).toBe("('name', '=', False)");
    expect(pyRepr([null, true, 1.5, "it's"])).toBe("[None, True, 1.5, 'it\\'s']");
    expect(pyRepr(['x'], true)).toBe("('x',)");
    expect(pyRepr(new Date('2024-01-02T03:04:05Z'))).toBe("'2024-01-02 03:04:05'");
  });
});
