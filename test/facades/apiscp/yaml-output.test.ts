import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { formatJson, formatYaml } from '../../../src/facades/cli/apiscp/yaml-output.js';

const lines = (...l: string[]) => `${l.join('\n')}\n`;

describe('formatYaml: the seed samples', () => {
  it('prints admin:collect with chosen fields', () => {
    const site = (id: string, domain: string) => ({
      [id]: { siteinfo: { domain }, diskquota: { quota: 5000 }, ssh: { enabled: 1 }, active: true, domain },
    });
    expect(formatYaml({ ...site('site146', 'test-domain-child1.com'), ...site('site156', 'test-domain-child2.com') })).toBe(
      lines(
        'site146:',
        '  siteinfo: { domain: test-domain-child1.com }',
        '  diskquota: { quota: 5000 }',
        '  ssh: { enabled: 1 }',
        '  active: true',
        '  domain: test-domain-child1.com',
        'site156:',
        '  siteinfo: { domain: test-domain-child2.com }',
        '  diskquota: { quota: 5000 }',
        '  ssh: { enabled: 1 }',
        '  active: true',
        '  domain: test-domain-child2.com',
      ),
    );
  });

  it('prints admin:collect with the default fields of suspended sites', () => {
    const site = (admin: string, domain: string) => ({
      siteinfo: { email: 'blackhole@apiscp.com', admin_user: admin },
      aliases: { aliases: {} },
      billing: { invoice: null, parent_invoice: 'master-invoice-123' },
      active: false,
      domain,
    });
    expect(formatYaml({ site146: site('test-child-1', 'test-domain-child1.com'), site156: site('test-child-2', 'test-domain-child2.com') })).toBe(
      lines(
        'site146:',
        '  siteinfo: { email: blackhole@apiscp.com, admin_user: test-child-1 }',
        '  aliases: { aliases: { } }',
        '  billing: { invoice: null, parent_invoice: master-invoice-123 }',
        '  active: false',
        '  domain: test-domain-child1.com',
        'site156:',
        '  siteinfo: { email: blackhole@apiscp.com, admin_user: test-child-2 }',
        '  aliases: { aliases: { } }',
        '  billing: { invoice: null, parent_invoice: master-invoice-123 }',
        '  active: false',
        '  domain: test-domain-child2.com',
      ),
    );
  });

  it('prints auth:is-inactive as given', () => {
    expect(formatYaml(1)).toBe('1\n');
  });
});

describe('formatYaml: layout', () => {
  it.each<[unknown, string]>([
    [true, 'true\n'],
    [false, 'false\n'],
    [null, 'null\n'],
    [undefined, 'null\n'],
    [1.5, '1.5\n'],
    [-0, '-0\n'],
    [Number.NaN, '.NaN\n'],
    [Number.NEGATIVE_INFINITY, '-.Inf\n'],
    // PHP has one array type: an empty list prints like an empty map.
    [[], '{ }\n'],
    [{}, '{ }\n'],
  ])('%j prints %j', (value, text) => {
    expect(formatYaml(value)).toBe(text);
  });

  it('prints a top-level string as is, for shell capture', () => {
    expect(formatYaml('0123abc')).toBe('0123abc\n');
    expect(formatYaml('30 days')).toBe('30 days\n');
    expect(formatYaml('')).toBe('\n');
  });

  it('prints lists as block sequences at the top two levels and in flow style below', () => {
    expect(formatYaml(['basic', 'advanced'])).toBe(lines('- basic', '- advanced'));
    expect(formatYaml({ plans: ['basic', 'advanced'], none: [], empty: {}, deep: [[1, [2]], { a: [] }] })).toBe(
      lines('plans:', '  - basic', '  - advanced', 'none: { }', 'empty: { }', 'deep:', '  - [1, [2]]', '  - { a: { } }'),
    );
  });

  it('puts a block collection inside a sequence on the lines below its dash, as Symfony does', () => {
    expect(formatYaml([{ a: 1, b: 2 }, ['x']])).toBe(lines('-', '  a: 1', '  b: 2', '-', '  - x'));
  });

  it('prints canonical integer keys bare, as PHP int keys', () => {
    expect(formatYaml({ 0: 'a', 12: { 7: { 3: 'b' } }, '007': 'c' })).toBe(lines('0: a', '12:', '  7: { 3: b }', "'007': c"));
  });

  it('prints what toJSON gives and leaves out undefined like JSON', () => {
    const when = new Date(Date.UTC(2019, 11, 16));
    expect(formatYaml({ when, gone: undefined, list: [undefined] })).toBe(
      lines("when: '2019-12-16T00:00:00.000Z'", 'list:', '  - null'),
    );
  });
});

describe('formatYaml: quoting', () => {
  it.each<[string, string]>([
    ['plain', 'plain'],
    ['test-domain-child1.com', 'test-domain-child1.com'],
    ['a@b.com', 'a@b.com'],
    ['/var/www/html', '/var/www/html'],
    ['', "''"],
    [' lead', "' lead'"],
    ['trail ', "'trail '"],
    ['30 days', "'30 days'"],
    ['a: b', "'a: b'"],
    ['a #b', "'a #b'"],
    ['a,b', "'a,b'"],
    ['{x}', "'{x}'"],
    ['[x]', "'[x]'"],
    ["it's", "'it''s'"],
    ['-x', "'-x'"],
    ['@x', "'@x'"],
    ['!tag', "'!tag'"],
    ['%x', "'%x'"],
    ['*alias', "'*alias'"],
    ['&anchor', "'&anchor'"],
    ['007', "'007'"],
    ['5000', "'5000'"],
    ['1.5', "'1.5'"],
    ['1e5', "'1e5'"],
    ['0x1F', "'0x1F'"],
    ['1_000', "'1_000'"],
    ['.inf', "'.inf'"],
    ['2019-12-16', "'2019-12-16'"],
    ['null', "'null'"],
    ['~', "'~'"],
    ['True', "'True'"],
    ['yes', "'yes'"],
    ['off', "'off'"],
    ['a\nb', '"a\\nb"'],
    ['tab\there', '"tab\\there"'],
    ['bell\u0007', '"bell\\a"'],
    ['del\u007f', '"del\\x7F"'],
    ['nbsp\u00a0', '"nbsp\\_"'],
    ['ls\u2028', '"ls\\L"'],
    ['quote" and \\ in escapes\n', '"quote\\" and \\\\ in escapes\\n"'],
    ['é日本😀', 'é日本😀'],
  ])('%j is written %s', (value, text) => {
    expect(formatYaml({ k: value })).toBe(`k: ${text}\n`);
    expect(parse(`k: ${text}`)).toEqual({ k: value });
  });

  it('quotes keys by the same rules', () => {
    expect(formatYaml({ 'a b': 1, '': 2, 'true': 3, 'x:y': { '-': { '#': 4 } } })).toBe(
      lines("'a b': 1", "'': 2", "'true': 3", "'x:y':", "  '-': { '#': 4 }"),
    );
  });
});

const tricky = fc.constantFrom(
  '', ' ', ' x', 'x ', 'a: b', 'a #b', '#', '- x', '-', '? x', 'a,b', '{', '}', '[', ']', "'", '"', '\\', 'null',
  'Null', '~', 'true', 'FALSE', 'yes', 'No', 'on', '007', '0x1F', '0o17', '0b101', '1e5', '-1.5', '.5', '+1',
  '.inf', '-.Inf', '.NaN', '1_000', '12:30:00', '2019-12-16', '<<', '=', '!x', '%x', '@x', '`x', '|', '>',
  '*x', '&x', '---', '...', '\n', '\r\n', '\t', '\u0085', '\u00a0', '\u2028', '\ufeff', '\ud800', '\udfff',
  '\uffff', 'é', '😀', '__proto__',
);
const text = fc.oneof(tricky, fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }));
const number = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(-0, 1e21, 5e-324, Number.MAX_SAFE_INTEGER));
const { value: data } = fc.letrec<{ value: unknown; list: unknown[]; map: Record<string, unknown> }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, text, number, fc.boolean(), fc.constant(null), tie('list'), tie('map')),
  list: fc.array(tie('value'), { maxLength: 5 }),
  map: fc.dictionary(text, tie('value'), { maxKeys: 5, noNullPrototype: true }),
}));

/** What a YAML reader gets back: every empty list reads as an empty map, as PHP prints them alike. */
function phpArrays(value: unknown): unknown {
  if (Array.isArray(value)) return value.length === 0 ? {} : value.map(phpArrays);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, phpArrays(v)]));
  return value;
}

describe('formatYaml parses back', () => {
  it('to the same value, at every depth (empty lists as empty maps)', () => {
    fc.assert(
      fc.property(data, (value) => {
        const php = phpArrays(value);
        expect(parse(formatYaml({ result: value }))).toEqual({ result: php });
        expect(parse(formatYaml([value]))).toEqual([php]);
        expect(parse(formatYaml({ a: { b: { c: value } } }))).toEqual({ a: { b: { c: php } } });
        if (typeof value !== 'string') expect(parse(formatYaml(value))).toEqual(php);
      }),
      { numRuns: 2000 },
    );
  });

  it('keeping key order', () => {
    fc.assert(
      fc.property(fc.dictionary(text, data, { noNullPrototype: true }), (value) => {
        expect(Object.keys(parse(formatYaml(value)) as object)).toEqual(Object.keys(value));
      }),
    );
  });
});

describe('formatJson', () => {
  it('prints compact JSON and a newline, as PHP json_encode does', () => {
    expect(formatJson({ site146: { domain: 'a.com', active: true, quota: 5000 } })).toBe(
      '{"site146":{"domain":"a.com","active":true,"quota":5000}}\n',
    );
    expect(formatJson(1)).toBe('1\n');
    expect(formatJson(undefined)).toBe('null\n');
  });

  it('prints an empty map as [], because PHP cannot tell it from an empty list', () => {
    expect(formatJson({})).toBe('[]\n');
    expect(formatJson({ aliases: { aliases: {} }, list: [], nested: [{}] })).toBe('{"aliases":{"aliases":[]},"list":[],"nested":[[]]}\n');
  });

  it('writes bigints as numbers', () => {
    expect(formatJson({ n: 5n })).toBe('{"n":5}\n');
  });

  it('parses back with JSON.parse, empty maps aside', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const back: unknown = JSON.parse(formatJson(value));
        expect(JSON.stringify(back)).toBe(JSON.stringify(value, (_k, v: unknown) => (isEmptyMap(v) ? [] : v)));
      }),
    );
  });
});

function isEmptyMap(v: unknown): boolean {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0;
}
