import fc from 'fast-check';
import xmlrpcSerializer from 'xmlrpc/lib/serializer.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../src/errors/app-error.js';
import { decodeMethodCall, decodeXmlBytes, encodeFault, encodeMethodResponse } from '../../../src/facades/odoo-rpc/xmlrpc-codec.js';
import { plain, pythonDumps, pythonLoads, requirePython, type Typed } from './python-xmlrpc.js';

/**
 * The XML-RPC codec against the real thing: what Python's xmlrpc.client and the npm `xmlrpc` package
 * send is decoded, what we send is read back by Python's xmlrpc.client. Fails without python3.
 */

beforeAll(requirePython);

function call(params: string, method = 'm'): string {
  return `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${params}</params></methodCall>`;
}

function param(value: string): string {
  return `<param><value>${value}</value></param>`;
}

function decodeOne(value: string): unknown {
  return decodeMethodCall(call(param(value))).params[0];
}

function refusal(xml: string): string {
  try {
    decodeMethodCall(xml);
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('malformed_request');
    return (err as AppError).message;
  }
  throw new Error('expected the codec to refuse this request');
}

function nestedArrays(levels: number): string {
  return call(param('<array><data><value>'.repeat(levels) + '<int>1</int>' + '</value></data></array>'.repeat(levels)));
}

describe('decoding what Python xmlrpc.client sends', () => {
  it('reads every type Python writes, with its whitespace between elements', async () => {
    const [xml] = await pythonDumps([
      {
        method: 'execute_kw',
        args: [
          'db',
          1,
          true,
          { __float__: 1.5 },
          { __none__: true },
          [1, 'a', false],
          {},
          { k: { n: [] } },
          { __binary__: 'AP8=' },
          { __datetime__: '2024-01-02T03:04:05' },
          'a<&>"\'\tb\né 😀 中文',
          '',
          2147483647,
          -2147483648,
          { __float__: -0.25 },
          { __float__: 1e300 },
        ],
      },
    ]);
    expect(xml).toContain('<value><struct>\n</struct></value>');
    const { method, params } = decodeMethodCall(xml!);
    expect(method).toBe('execute_kw');
    expect(params).toEqual([
      'db',
      1,
      true,
      1.5,
      null,
      [1, 'a', false],
      {},
      { k: { n: [] } },
      Buffer.from([0, 255]),
      new Date(Date.UTC(2024, 0, 2, 3, 4, 5)),
      'a<&>"\'\tb\né 😀 中文',
      '',
      2147483647,
      -2147483648,
      -0.25,
      1e300,
    ]);
  });

  it('reads a call without parameters (common.version)', async () => {
    const [xml] = await pythonDumps([{ method: 'version' }]);
    expect(decodeMethodCall(xml!)).toEqual({ method: 'version', params: [] });
  });

  it("reads the seed's calls exactly", async () => {
    const upgrade = { params: [{ key: 'saas_client.suspended', value: '1', hidden: true }], install_addons: ['sale', 'fleet'] };
    const create = { dbname: 'client.odoo.local', user_id: 9, owner_password: 'pw' };
    const [a, b, c] = await pythonDumps([
      { method: 'execute_kw', args: ['portal', 2, 'admin', 'saas.config', 'do_upgrade_database', [upgrade, 5]] },
      { method: 'execute_kw', args: ['portal', 2, 'admin', 'saas_portal.plan', 'create_new_database', [1], create] },
      { method: 'execute_kw', args: ['portal', 2, 'admin', 'saas_portal.client', 'search', [[['plan_id', '=', 1], ['partner_id', '=', 7]]]] },
    ]);
    expect(decodeMethodCall(a!).params).toEqual(['portal', 2, 'admin', 'saas.config', 'do_upgrade_database', [upgrade, 5]]);
    expect(decodeMethodCall(b!).params).toEqual(['portal', 2, 'admin', 'saas_portal.plan', 'create_new_database', [1], create]);
    expect(decodeMethodCall(c!).params).toEqual(['portal', 2, 'admin', 'saas_portal.client', 'search', [[['plan_id', '=', 1], ['partner_id', '=', 7]]]]);
  });

  it('property: any value Python can send arrives unchanged', async () => {
    const values = fc.sample(pythonSendable, { numRuns: 150, seed: 20240601 });
    const bodies = await pythonDumps(values.map((v) => ({ method: 'echo', args: [v] })));
    bodies.forEach((xml, i) => expect(decodeMethodCall(xml).params[0]).toEqual(values[i]));
  });
});

describe('decoding what the npm xmlrpc package (odoo-await, odoo-xmlrpc-ts) sends', () => {
  it('reads its compact XML, <nil/> and CDATA included', () => {
    const xml = xmlrpcSerializer.serializeMethodCall('execute_kw', ['db', 7, 'pw', 'res.users', 'read', [[1, 2]], { fields: ['login'], x: null, f: 2.5, t: 'a<b & c' }, {}]);
    expect(decodeMethodCall(xml)).toEqual({
      method: 'execute_kw',
      params: ['db', 7, 'pw', 'res.users', 'read', [[1, 2]], { fields: ['login'], x: null, f: 2.5, t: 'a<b & c' }, {}],
    });
  });
});

describe('decoding hand-written XML', () => {
  it('reads compact forms, integer variants and untyped values', () => {
    expect(decodeOne('<struct/>')).toEqual({});
    expect(decodeOne('<array><data/></array>')).toEqual([]);
    expect(decodeOne('<array/>')).toEqual([]);
    expect(decodeOne('')).toBe('');
    expect(decodeOne('  untyped text  ')).toBe('  untyped text  ');
    expect(decodeOne('<string/>')).toBe('');
    expect(decodeOne('<nil/>')).toBeNull();
    expect(decodeOne('<ex:nil xmlns:ex="http://ws.apache.org/xmlrpc/namespaces/extensions"/>')).toBeNull();
    expect(decodeOne('<i4>-12</i4>')).toBe(-12);
    expect(decodeOne('<int> 42 </int>')).toBe(42);
    expect(decodeOne('<i8>9007199254740991</i8>')).toBe(9007199254740991);
    expect(decodeOne('<int>5000000000</int>')).toBe(5000000000);
    expect(decodeOne('<boolean>0</boolean>')).toBe(false);
    expect(decodeOne('<double>-1.5e3</double>')).toBe(-1500);
    expect(decodeOne('<double>inf</double>')).toBe(Infinity);
    expect(decodeOne('<double>nan</double>')).toBeNaN();
    expect(decodeOne('<dateTime.iso8601>2024-01-02T03:04:05Z</dateTime.iso8601>')).toEqual(new Date('2024-01-02T03:04:05Z'));
    expect(decodeOne('<dateTime.iso8601>20240102T03:04:05+02:00</dateTime.iso8601>')).toEqual(new Date('2024-01-02T01:04:05Z'));
    expect(decodeOne('<base64>\n  AP8=\n</base64>')).toEqual(Buffer.from([0, 255]));
  });

  it('decodes entities, character references and CDATA, keeping carriage returns sent as &#13;', () => {
    expect(decodeOne('<string>&lt;&amp;&gt;&quot;&apos; &#x1F600; &#233; a&#13;&#10;b</string>')).toBe('<&>"\' 😀 é a\r\nb');
    expect(decodeOne('<string><![CDATA[<not & markup>]]></string>')).toBe('<not & markup>');
  });

  it('keeps __proto__ an ordinary key, the last of duplicate keys winning', () => {
    const value = decodeOne(
      '<struct><member><name>__proto__</name><value><struct><member><name>admin</name><value><boolean>1</boolean></value></member></struct></value></member>' +
        '<member><name>k</name><value>1</value></member><member><name>k</name><value>2</value></member></struct>',
    ) as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__', 'k']);
    expect(value.k).toBe('2');
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('accepts a call with no <params> at all', () => {
    expect(decodeMethodCall('<methodCall><methodName>version</methodName></methodCall>')).toEqual({ method: 'version', params: [] });
  });

  it('reads the encoding the XML declaration names, and refuses bytes that are not that encoding', () => {
    const latin1 = Buffer.concat([Buffer.from("<?xml version='1.0' encoding='iso-8859-1'?><methodCall><methodName>m</methodName><params><param><value><string>"), Buffer.from([0xe9]), Buffer.from('</string></value></param></params></methodCall>')]);
    expect(decodeMethodCall(decodeXmlBytes(latin1)).params).toEqual(['é']);
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(call(param('<int>1</int>')))]);
    expect(decodeMethodCall(decodeXmlBytes(bom)).params).toEqual([1]);
    expect(() => decodeXmlBytes(Buffer.from([0x3c, 0xff, 0xfe]))).toThrow(/not valid utf-8/);
    expect(() => decodeXmlBytes(Buffer.from('<?xml version="1.0" encoding="x-klingon"?><a/>'))).toThrow(/unsupported encoding/);
  });

  it('allows 64 levels of nesting', () => {
    let value = decodeMethodCall(nestedArrays(64)).params[0];
    for (let i = 0; i < 64; i++) value = (value as unknown[])[0];
    expect(value).toBe(1);
  });
});

describe('refusing what is not an XML-RPC call', () => {
  it.each([
    ['an empty body', '', /^empty request/],
    ['plain text', 'hello', /^malformed XML/],
    ['unclosed elements', '<methodCall><methodName>m</methodName><params>', /^malformed XML/],
    ['mismatched elements', '<methodCall><methodName>m</params></methodCall>', /^malformed XML: Expected closing tag/],
    ['two roots', '<methodCall/><methodCall/>', /exactly one root/],
    ['another root', '<methodResponse><params/></methodResponse>', /expected <methodCall> as the root element, got <methodResponse>/],
    ['a SOAP envelope', '<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"/>', /expected <methodCall>/],
    ['no method name', '<methodCall><params/></methodCall>', /has no <methodName>/],
    ['an empty method name', '<methodCall><methodName> </methodName></methodCall>', /has no <methodName>/],
    ['a stray element', '<methodCall><methodName>m</methodName><extra/></methodCall>', /unexpected <extra>/],
    ['a param without value', call('<param/>'), /exactly one <value>/],
    ['an unknown type', call(param('<float128>1</float128>')), /unknown XML-RPC type <float128>/],
    ['text next to a typed value', call(param('x<int>1</int>')), /unexpected text in <value>/],
    ['two typed elements', call(param('<int>1</int><int>2</int>')), /exactly one typed element/],
    ['a non-integer int', call(param('<int>12abc</int>')), /^invalid integer/],
    ['an integer beyond 2^53', call(param('<i8>9223372036854775807</i8>')), /^integer out of range/],
    ['a boolean other than 0/1', call(param('<boolean>yes</boolean>')), /^invalid boolean/],
    ['a non-number double', call(param('<double>1.2.3</double>')), /^invalid double/],
    ['an impossible date', call(param('<dateTime.iso8601>20240231T00:00:00</dateTime.iso8601>')), /^invalid dateTime/],
    ['a date in another format', call(param('<dateTime.iso8601>yesterday</dateTime.iso8601>')), /^invalid dateTime/],
    ['bad base64', call(param('<base64>@@@</base64>')), /invalid base64/],
    ['markup inside a string', call(param('<string>a<b/></string>')), /<string> must not contain <b>/],
    ['a member without name', call(param('<struct><member><value>1</value></member></struct>')), /one <name> and one <value>/],
    ['a struct holding values directly', call(param('<struct><value>1</value></struct>')), /holds <member> elements/],
    ['an array without data', call(param('<array><value>1</value></array>')), /exactly one <data>/],
    ['an undefined entity', call(param('<string>&nbsp;</string>')), /undefined entity &nbsp;/],
    ['a bare ampersand', call(param('<string>a & b</string>')), /^malformed XML/],
    ['a NUL character reference', call(param('<string>&#0;</string>')), /invalid character reference/],
    ['a raw control character', call(param('<string>a\u0001b</string>')), /characters XML does not allow/],
    ['a DTD', `<?xml version="1.0"?><!DOCTYPE methodCall><methodCall><methodName>m</methodName></methodCall>`, /must not contain a DTD/],
    [
      'entity expansion (billion laughs)',
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>' + call(param('<string>&lol2;</string>')),
      /must not contain a DTD/,
    ],
    ['an external entity', '<!DOCTYPE m [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' + call(param('&xxe;')), /must not contain a DTD/],
    ['65 levels of nesting', nestedArrays(65), /values nested deeper than 64 levels/],
    ['100000 levels of nesting', nestedArrays(100_000), /values nested deeper than 64 levels/],
    [
      '65 levels of structs',
      call(param('<struct><member><name>k</name><value>'.repeat(65) + '1' + '</value></member></struct>'.repeat(65))),
      /values nested deeper than 64 levels/,
    ],
  ])('refuses %s', (_name, xml, message) => {
    expect(refusal(xml)).toMatch(message);
  });

  it('honours a smaller depth limit', () => {
    expect(() => decodeMethodCall(nestedArrays(3), { maxDepth: 2 })).toThrow(/nested deeper than 2 levels/);
    expect(decodeMethodCall(nestedArrays(2), { maxDepth: 2 }).params).toEqual([[[1]]]);
  });
});

describe('encoding results Python xmlrpc.client reads', () => {
  const proto = JSON.parse('{"__proto__": 1}') as unknown;
  const values: [string, unknown, Typed][] = [
    ['an int', 42, ['int', 42]],
    ['a negative int', -7, ['int', -7]],
    ['zero and negative zero', [0, -0], ['list', [['int', 0], ['int', 0]]]],
    ['an int beyond 32 bits', 5_000_000_000, ['int', 5_000_000_000]],
    ['the largest safe int', Number.MAX_SAFE_INTEGER, ['int', Number.MAX_SAFE_INTEGER]],
    ['a bigint beyond 2^64', 123456789012345678901234567890n, ['int', '123456789012345678901234567890']],
    ['a number beyond 2^53 (as a float)', 2 ** 60, ['float', 2 ** 60]],
    ['a float', 0.1, ['float', 0.1]],
    ['a tiny float', 5e-324, ['float', 5e-324]],
    ['a huge float', 1e21, ['float', 1e21]],
    ['non-finite floats', [NaN, Infinity, -Infinity], ['list', [['float', 'nan'], ['float', 'inf'], ['float', '-inf']]]],
    ['true', true, ['bool', true]],
    ['false', false, ['bool', false]],
    ['null as False', null, ['bool', false]],
    ['undefined as False', undefined, ['bool', false]],
    ['an empty string', '', ['str', '']],
    ['unicode', 'héllo wörld 😀 中文 \u200b', ['str', 'héllo wörld 😀 中文 \u200b']],
    ['markup characters', '<a href="x">&amp;</a> ]]>', ['str', '<a href="x">&amp;</a> ]]>']],
    ['line ends and tabs', 'a\r\nb\rc\nd\te', ['str', 'a\r\nb\rc\nd\te']],
    ['control characters, dropped', 'a\u0000b\u0001c\u001fd\uffff', ['str', 'abcd']],
    ['a lone surrogate, replaced', 'x\ud800y', ['str', 'x\ufffdy']],
    ['an empty list', [], ['list', []]],
    ['an empty dict', {}, ['dict', {}]],
    ['a list with nulls', [1, null, undefined, 'a'], ['list', [['int', 1], ['bool', false], ['bool', false], ['str', 'a']]]],
    ['a dict without its undefined members', { a: 1, b: undefined, c: null }, ['dict', { a: ['int', 1], c: ['bool', false] }]],
    ['a __proto__ key', proto, ['dict', JSON.parse('{"__proto__": ["int", 1]}')]],
    ['a Map', new Map<unknown, unknown>([[1, 'one'], ['k', []]]), ['dict', { '1': ['str', 'one'], k: ['list', []] }]],
    ['a Date as Odoo writes datetimes', new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678)), ['str', '2024-01-02 03:04:05']],
    ['bytes as base64', Buffer.from([0, 1, 255]), ['binary', 'AAH/']],
    ['a Uint8Array view', new Uint8Array([9, 8, 7, 6]).subarray(1, 3), ['binary', Buffer.from([8, 7]).toString('base64')]],
    [
      'an Odoo record list',
      [{ id: 1, name: 'client.odoo.local', plan_id: [1, 'Basic'], partner_id: false, expiration_datetime: null }],
      ['list', [['dict', { id: ['int', 1], name: ['str', 'client.odoo.local'], plan_id: ['list', [['int', 1], ['str', 'Basic']]], partner_id: ['bool', false], expiration_datetime: ['bool', false] }]]],
    ],
  ];

  it('gives Python the right types for every kind of value', async () => {
    const outcomes = await pythonLoads(values.map(([, value]) => encodeMethodResponse(value)));
    outcomes.forEach((outcome, i) => expect(outcome, values[i]![0]).toEqual({ ok: values[i]![2] }));
  });

  it('never writes <nil/>', () => {
    expect(encodeMethodResponse({ a: null, b: [null, undefined] })).not.toContain('nil');
  });

  it('refuses values XML-RPC cannot carry (an internal error, not a broken response)', () => {
    expect(() => encodeMethodResponse({ f: () => 1 })).toThrow(/cannot encode a function/);
    expect(() => encodeMethodResponse(Symbol('s'))).toThrow(/cannot encode a symbol/);
    expect(() => encodeMethodResponse(new (class Thing {})())).toThrow(/cannot encode a Thing/);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => encodeMethodResponse(cycle)).toThrow(/nested deeper than 256/);
  });

  it('writes faults Python raises as xmlrpc.client.Fault, with int or string codes', async () => {
    const [int, str] = await pythonLoads([
      encodeFault({ faultCode: 3, faultString: 'Access denied' }),
      encodeFault({ faultCode: 'warning -- UserError\n\nname is taken <&>', faultString: '' }),
    ]);
    expect(int).toEqual({ fault: { faultCode: 3, faultString: 'Access denied' } });
    expect(str).toEqual({ fault: { faultCode: 'warning -- UserError\n\nname is taken <&>', faultString: '' } });
  });

  it('property: what we encode, Python reads back as the same value', async () => {
    const values = fc.sample(encodable, { numRuns: 200, seed: 7 });
    const outcomes = await pythonLoads(values.map((v) => encodeMethodResponse(v)));
    outcomes.forEach((outcome, i) => {
      expect(outcome.ok, JSON.stringify(values[i])).toBeDefined();
      expect(plain(outcome.ok!)).toEqual(values[i]);
    });
  });
});

// Text without the characters XML cannot carry; carriage returns left out, since Python sends them
// raw and XML line-end normalisation turns them into newlines (for Python's own server too).
const text = fc
  .string({ unit: 'grapheme', maxLength: 12 })
  // eslint-disable-next-line no-control-regex -- removing control characters is the point here
  .map((s) => s.replace(/[\u0000-\u0008\u000B-\u001F\uFFFE\uFFFF]/g, ''));
const finiteDouble = fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => (d === 0 ? 0 : d));

/** What Python can send: 32-bit ints (its client refuses larger ones), floats, text, lists, dicts. */
const pythonSendable: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.integer(),
    fc.boolean(),
    finiteDouble,
    text,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(text, tie('value'), { maxKeys: 4, noNullPrototype: true }),
  ),
})).value;

/** What we send and Python reads back unchanged (beyond these, null becomes False by design). */
const encodable: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.maxSafeInteger(),
    fc.boolean(),
    finiteDouble,
    fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => s.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')), // eslint-disable-line no-control-regex
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(text, tie('value'), { maxKeys: 4, noNullPrototype: true }),
  ),
})).value;
