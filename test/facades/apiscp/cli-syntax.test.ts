import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CliSyntaxError,
  formatCliArgument,
  parseCliArgument,
  type CliValue,
} from '../../../src/facades/cli/apiscp/cli-syntax.js';

function errorOf(text: string): CliSyntaxError {
  try {
    parseCliArgument(text);
  } catch (e) {
    expect(e).toBeInstanceOf(CliSyntaxError);
    return e as CliSyntaxError;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be rejected`);
}

describe('parseCliArgument: the seed arguments', () => {
  it.each<[string, CliValue]>([
    ['[siteinfo.domain,diskquota.quota,ssh.enabled]', ['siteinfo.domain', 'diskquota.quota', 'ssh.enabled']],
    ['[billing.parent_invoice:master-invoice-123]', { 'billing.parent_invoice': 'master-invoice-123' }],
    ['["billing,parent_invoice":master-invoice-123]', { 'billing,parent_invoice': 'master-invoice-123' }],
    ['[billing:[parent_invoice:master-invoice-123]]', { billing: { parent_invoice: 'master-invoice-123' } }],
    ['[billing:[invoice:master-invoice-123]]', { billing: { invoice: 'master-invoice-123' } }],
    ['[]', []],
    ['null', null],
    ['30 days', '30 days'],
    ['false', false],
  ])('%s', (text, expected) => {
    expect(parseCliArgument(text)).toEqual(expected);
  });

  it('reads the arguments of the public cpcmd examples', () => {
    expect(parseCliArgument('[mysql.enabled:1]')).toEqual({ 'mysql.enabled': 1 });
    expect(parseCliArgument('[read:true,write:true]')).toEqual({ read: true, write: true });
    expect(parseCliArgument('[active:false]')).toEqual({ active: false });
    expect(parseCliArgument("['new.ip.add.ress']")).toEqual(['new.ip.add.ress']);
    expect(parseCliArgument('[site:mydomain.com]')).toEqual({ site: 'mydomain.com' });
  });
});

describe('parseCliArgument: scalars', () => {
  it.each<[string, CliValue]>([
    ['5000', 5000],
    ['-3', -3],
    ['0', 0],
    ['1.5', 1.5],
    ['-0.25', -0.25],
    ['true', true],
    ['007', '007'],
    ['1e5', '1e5'],
    ['+1', '+1'],
    ['.5', '.5'],
    ['1.', '1.'],
    ['-', '-'],
    ['NULL', 'NULL'],
    ['True', 'True'],
    ['"5000"', '5000'],
    ["'null'", 'null'],
    ['"true"', 'true'],
    ['""', ''],
    ['', ''],
    ['   ', ''],
    ['  padded words  ', 'padded words'],
    ['http://x:8080/a,b', 'http://x:8080/a,b'],
    ["it's", "it's"],
    ['a]', 'a]'],
    ['" kept  spaces "', ' kept  spaces '],
  ])('%j reads as %j', (text, expected) => {
    expect(parseCliArgument(text)).toEqual(expected);
  });

  it('keeps integers beyond 2^53 as text so long ids are never rounded', () => {
    expect(parseCliArgument('12345678901234567890')).toBe('12345678901234567890');
    expect(parseCliArgument('9007199254740991')).toBe(9007199254740991);
    expect(parseCliArgument('[n:9007199254740993]')).toEqual({ n: '9007199254740993' });
  });

  it('reads a decimal as a number even when large, but not one that overflows', () => {
    expect(parseCliArgument('12345678901234567890.0')).toBe(Number('12345678901234567890'));
    const huge = `1${'0'.repeat(400)}.5`;
    expect(parseCliArgument(huge)).toBe(huge);
  });

  it('reads -0 as negative zero', () => {
    expect(Object.is(parseCliArgument('-0'), -0)).toBe(true);
  });
});

describe('parseCliArgument: groups', () => {
  it.each<[string, CliValue]>([
    ['[a,b,c]', ['a', 'b', 'c']],
    ['[ a , b ,c ]', ['a', 'b', 'c']],
    ['[ ]', []],
    ['[:]', {}],
    ['[ : ]', {}],
    ['[1,2.5,null,true,false,007]', [1, 2.5, null, true, false, '007']],
    ['[[1,2],[3]]', [[1, 2], [3]]],
    ['[[]]', [[]]],
    ['[[:]]', [{}]],
    ['[a:[],b:[:]]', { a: [], b: {} }],
    ['[a:[x,[y:[z]]]]', { a: ['x', { y: ['z'] }] }],
    ['[k : v , k2:v2]', { k: 'v', k2: 'v2' }],
    ['[siteinfo.email:a@b.com]', { 'siteinfo.email': 'a@b.com' }],
    ['[path:/var/www/my site, note: 30 days ]', { path: '/var/www/my site', note: '30 days' }],
    ['[url:http://x]', { url: 'http://x' }],
    ['[a:b:c]', { a: 'b:c' }],
    ['[1:a,2:b]', { 1: 'a', 2: 'b' }],
    ['[null:x,true:y]', { null: 'x', true: 'y' }],
    ['["a,b:c":"[x]"]', { 'a,b:c': '[x]' }],
    ["['k':'v']", { k: 'v' }],
    ['["":""]', { '': '' }],
    ['["a\\"b",\'c\\\'d\',"e\\\\f"]', ['a"b', "c'd", 'e\\f']],
    ['["C:\\dir\\new"]', ['C:\\dir\\new']],
    ["[o'neil,x\"y]", ["o'neil", 'x"y']],
    ['[name:O\'Brien]', { name: "O'Brien" }],
    ['["5000","null",\'true\']', ['5000', 'null', 'true']],
    ['[ "x" : "y" ]', { x: 'y' }],
    ['["a\nb",\té]', ['a\nb', 'é']],
  ])('%j reads as %j', (text, expected) => {
    expect(parseCliArgument(text)).toEqual(expected);
  });

  it('keeps map keys in insertion order', () => {
    expect(Object.keys(parseCliArgument('[z:1,a:2,m:3]') as object)).toEqual(['z', 'a', 'm']);
  });

  it('keeps the first position and the last value of a repeated key, as PHP arrays do', () => {
    const map = parseCliArgument('[a:1,b:2,a:3]') as object;
    expect(Object.entries(map)).toEqual([['a', 3], ['b', 2]]);
  });

  it('makes __proto__ an ordinary key instead of changing the prototype', () => {
    const map = parseCliArgument('[__proto__:[polluted:true]]') as Record<string, unknown>;
    expect(Object.getPrototypeOf(map)).toBe(Object.prototype);
    expect(Object.keys(map)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(map, '__proto__')?.value).toEqual({ polluted: true });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('parseCliArgument: malformed input', () => {
  it.each<[string, RegExp, number]>([
    ['[a,b', /expected ',' or '\]' to close the '\[' at column 1, found the end/, 5],
    ['[', /expected an element, found the end/, 2],
    ['[a:[b]', /to close the '\[' at column 1/, 7],
    ['[a]]', /expected the end of the argument, found "\]"/, 4],
    ['[a] x', /expected the end of the argument, found "x"/, 5],
    ['"abc', /expected the closing " of the string opened at column 1, found the end/, 5],
    ["[a,'b]", /expected the closing ' of the string opened at column 4/, 7],
    ['"a"b', /expected the end of the argument, found "b"/, 4],
    ['["a"b]', /expected ',' or '\]' after an element, found "b"/, 5],
    ['[a:1,b]', /expected 'key:value': this group is a map/, 6],
    ['[a:1, [x]]', /expected 'key:value': this group is a map/, 7],
    ['[a,b:1]', /unexpected ':': this group is a list/, 5],
    ['[a,,b]', /expected an element, found ","/, 4],
    ['[,]', /expected an element, found ","/, 2],
    ['[a,]', /expected an element, found "\]"/, 4],
    ['[a:]', /expected a value after ':', found "\]"/, 4],
    ['[a: ,b:1]', /expected a value after ':', found ","/, 5],
    ['[:x]', /expected an element, found ":"/, 2],
    ['[[a]:b]', /a map key must be text/, 2],
    ['[a[b]]', /unexpected '\[' inside unquoted text/, 3],
    ['[a:b[c]]', /unexpected '\[' inside unquoted text/, 5],
  ])('%j fails: %s at column %i', (text, message, column) => {
    const e = errorOf(text);
    expect(e.message).toMatch(message);
    expect(e.message).toContain(`column ${column}`);
    expect(e.column).toBe(column);
    expect(e.name).toBe('CliSyntaxError');
  });

  it('rejects absurd nesting with a syntax error instead of overflowing the stack', () => {
    expect(errorOf('['.repeat(100_000)).message).toMatch(/nested deeper than 100 levels/);
    expect(parseCliArgument(`${'['.repeat(100)}${']'.repeat(100)}`)).toBeInstanceOf(Array);
  });

  it('never throws anything but CliSyntaxError, for any text', () => {
    const structural = fc.string({ unit: fc.constantFrom('[', ']', ',', ':', '"', "'", '\\', ' ', 'a', '1', '-', '.', 'n') });
    const anything = fc.string({ unit: 'binary' });
    fc.assert(
      fc.property(fc.oneof(structural, anything), (text) => {
        try {
          parseCliArgument(text);
        } catch (e) {
          if (!(e instanceof CliSyntaxError)) throw e;
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('formatCliArgument', () => {
  it.each<[CliValue, string]>([
    [['siteinfo.domain', 'diskquota.quota', 'ssh.enabled'], '[siteinfo.domain,diskquota.quota,ssh.enabled]'],
    [{ billing: { parent_invoice: 'master-invoice-123' } }, '[billing:[parent_invoice:master-invoice-123]]'],
    [{ 'billing,parent_invoice': 'master-invoice-123' }, '["billing,parent_invoice":master-invoice-123]'],
    [[], '[]'],
    [{}, '[:]'],
    [null, 'null'],
    [false, 'false'],
    ['30 days', '30 days'],
    ['', '""'],
    [' x', '" x"'],
    ['007', '"007"'],
    ['5000', '"5000"'],
    ['null', '"null"'],
    ['true', '"true"'],
    ['1e5', '"1e5"'],
    ['NULL', '"NULL"'],
    ['+1', '"+1"'],
    ['.5', '".5"'],
    ['1.0.0', '1.0.0'],
    ['http://x', '"http://x"'],
    ['say "hi"\\', '"say \\"hi\\"\\\\"'],
    [{ 1: 'a', null: 'b' }, '[1:a,null:b]'],
    [5000, '5000'],
    [-0, '-0'],
    [1.5e-7, '0.00000015'],
    [1e21, '1000000000000000000000.0'],
    [-(2 ** 60), '-1152921504606847000.0'],
  ])('%j is written %s', (value, text) => {
    expect(formatCliArgument(value)).toBe(text);
    expect(parseCliArgument(text)).toEqual(value);
  });

  it('refuses numbers the syntax cannot express', () => {
    expect(() => formatCliArgument(Number.NaN)).toThrow(RangeError);
    expect(() => formatCliArgument([Number.POSITIVE_INFINITY])).toThrow(RangeError);
  });
});

const tricky = fc.constantFrom(
  '', ' ', ' x', 'x ', 'a,b', 'k:v', '[x]', ']', '[', '"', "'", '\\', '\\"', 'null', 'true', 'false', 'NULL',
  '007', '5000', '-3', '1.5', '-0', '1e5', '30 days', 'a@b.com', '__proto__', 'constructor', '\n', '\t x',
  'é', '日本', '😀', '\u2028', '\ud800',
);
const text = fc.oneof(
  tricky,
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: fc.constantFrom('[', ']', ',', ':', '"', "'", '\\', ' ', 'a', '1', '.', '-') }),
);
const number = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(-0, 2 ** 53, 1e21, 5e-324));
const { value: cliValue } = fc.letrec<{ value: CliValue; list: CliValue[]; map: Record<string, CliValue> }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, text, number, fc.boolean(), fc.constant(null), tie('list'), tie('map')),
  list: fc.array(tie('value'), { maxLength: 5 }),
  map: fc.dictionary(text, tie('value'), { maxKeys: 5, noNullPrototype: true }),
}));

describe('formatCliArgument and parseCliArgument round-trip', () => {
  it('reads back every value it writes', () => {
    fc.assert(
      fc.property(cliValue, (value) => {
        expect(parseCliArgument(formatCliArgument(value))).toEqual(value);
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps key order and distinguishes -0', () => {
    fc.assert(
      fc.property(cliValue, (value) => {
        const back = parseCliArgument(formatCliArgument(value));
        expect(JSON.stringify(back)).toBe(JSON.stringify(value));
        expect(Object.is(back, -0)).toBe(Object.is(value, -0));
      }),
      { numRuns: 500 },
    );
  });
});
