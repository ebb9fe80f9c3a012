import { XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../../src/errors/app-error.js';
import { soapFaultFor, toSoapFault } from '../../../src/facades/apiscp/apiscp.errors.js';
import {
  decodeSoapRequest,
  encodeSoapFault,
  encodeSoapRequest,
  encodeSoapResponse,
  encodeSoapValue,
  operationFromSoapAction,
  SoapFaultError,
  type SoapFault,
} from '../../../src/facades/apiscp/soap/soap-codec.js';
import { buildWsdl } from '../../../src/facades/apiscp/soap/soap-wsdl.js';

const ENV = 'http://schemas.xmlsoap.org/soap/envelope/';
const ENC = 'http://schemas.xmlsoap.org/soap/encoding/';
const XSD = 'http://www.w3.org/2001/XMLSchema';
const XSI = 'http://www.w3.org/2001/XMLSchema-instance';
const APACHE = 'http://xml.apache.org/xml-soap';

/**
 * Byte for byte what PHP 8.2's SoapClient (php-soap) sent for
 * `echo(['siteinfo' => ['domain' => "a\r\nb<&>", 'n' => 5000000000, 'f' => 1.5, 'b' => true, 'z' => null,
 * 'e' => [], 'l' => [1, 'two', false]], 7 => 'seven'], [1, 2, 3], 'ünï😀', null)` against our WSDL.
 */
const PHP_REQUEST =
  '<?xml version="1.0" encoding="UTF-8"?>\n' +
  `<SOAP-ENV:Envelope xmlns:SOAP-ENV="${ENV}" xmlns:ns1="urn:apnscp.api.soap" xmlns:xsi="${XSI}" xmlns:xsd="${XSD}" xmlns:SOAP-ENC="${ENC}" xmlns:ns2="${APACHE}" SOAP-ENV:encodingStyle="${ENC}">` +
  '<SOAP-ENV:Body><ns1:echo><a xsi:type="ns2:Map"><item><key xsi:type="xsd:string">siteinfo</key><value xsi:type="ns2:Map">' +
  '<item><key xsi:type="xsd:string">domain</key><value xsi:type="xsd:string">a&#13;\nb&lt;&amp;&gt;</value></item>' +
  '<item><key xsi:type="xsd:string">n</key><value xsi:type="xsd:int">5000000000</value></item>' +
  '<item><key xsi:type="xsd:string">f</key><value xsi:type="xsd:float">1.5</value></item>' +
  '<item><key xsi:type="xsd:string">b</key><value xsi:type="xsd:boolean">true</value></item>' +
  '<item><key xsi:type="xsd:string">z</key><value xsi:nil="true"/></item>' +
  '<item><key xsi:type="xsd:string">e</key><value SOAP-ENC:arrayType="xsd:ur-type[0]" xsi:type="SOAP-ENC:Array"/></item>' +
  '<item><key xsi:type="xsd:string">l</key><value SOAP-ENC:arrayType="xsd:ur-type[3]" xsi:type="SOAP-ENC:Array"><item xsi:type="xsd:int">1</item><item xsi:type="xsd:string">two</item><item xsi:type="xsd:boolean">false</item></value></item>' +
  '</value></item><item><key xsi:type="xsd:int">7</key><value xsi:type="xsd:string">seven</value></item></a>' +
  '<b SOAP-ENC:arrayType="xsd:int[3]" xsi:type="SOAP-ENC:Array"><item xsi:type="xsd:int">1</item><item xsi:type="xsd:int">2</item><item xsi:type="xsd:int">3</item></b>' +
  '<c xsi:type="xsd:string">ünï😀</c><d xsi:nil="true"/></ns1:echo></SOAP-ENV:Body></SOAP-ENV:Envelope>\n';

const PHP_REQUEST_ARGS = [
  { siteinfo: { domain: 'a\r\nb<&>', n: 5000000000, f: 1.5, b: true, z: null, e: [], l: [1, 'two', false] }, '7': 'seven' },
  [1, 2, 3],
  'ünï😀',
  null,
];

/** What PHP sent for `echo($o, $o)` with the same stdClass `$o` twice: a Struct and a multi-reference. */
const PHP_MULTIREF =
  `<?xml version="1.0" encoding="UTF-8"?>\n<SOAP-ENV:Envelope xmlns:SOAP-ENV="${ENV}" xmlns:ns1="urn:apnscp.api.soap" xmlns:xsd="${XSD}" xmlns:xsi="${XSI}" xmlns:SOAP-ENC="${ENC}" SOAP-ENV:encodingStyle="${ENC}">` +
  '<SOAP-ENV:Body><ns1:echo><a xsi:type="SOAP-ENC:Struct" id="ref1"><p xsi:type="xsd:int">1</p></a><b href="#ref1"/><c xsi:nil="true"/><d xsi:nil="true"/></ns1:echo></SOAP-ENV:Body></SOAP-ENV:Envelope>';

function faultOf(fn: () => unknown): SoapFault {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SoapFaultError);
    return (err as SoapFaultError).fault;
  }
  throw new Error('expected a SoapFaultError');
}

const envelope = (body: string, extraNs = '') =>
  `<SOAP-ENV:Envelope xmlns:SOAP-ENV="${ENV}" xmlns:ns1="urn:apnscp.api.soap" xmlns:xsi="${XSI}" xmlns:xsd="${XSD}" xmlns:SOAP-ENC="${ENC}" xmlns:ns2="${APACHE}"${extraNs}>` +
  `<SOAP-ENV:Body>${body}</SOAP-ENV:Body></SOAP-ENV:Envelope>`;

const roundTrip = (value: unknown) => decodeSoapRequest(encodeSoapResponse('op', value)).args[0];

describe('decoding what PHP sends', () => {
  it('decodes nested typed maps, int keys, lists, nil, big ints, \\r as &#13; and unicode', () => {
    const call = decodeSoapRequest(PHP_REQUEST);
    expect(call.operation).toBe('echo');
    expect(call.args).toEqual(PHP_REQUEST_ARGS);
    const site = (call.args[0] as { siteinfo: Record<string, unknown> }).siteinfo;
    expect(site.domain).toBe('a\r\nb<&>');
    expect(site.n).toBe(5000000000);
    expect(Object.getPrototypeOf(call.args[0])).toBe(Object.prototype);
  });

  it('resolves xsi:type prefixes by namespace URI, whatever they are called', () => {
    const renamed = PHP_REQUEST.replace(/SOAP-ENV:/g, 'soapenv:')
      .replace(/xmlns:SOAP-ENV=/g, 'xmlns:soapenv=')
      .replace(/ns2:Map/g, 'apache:Map')
      .replace(/xmlns:ns2=/g, 'xmlns:apache=')
      .replace(/SOAP-ENC:/g, 'enc:')
      .replace(/xmlns:SOAP-ENC=/g, 'xmlns:enc=')
      .replace(/xsd:/g, 's:')
      .replace(/xmlns:xsd=/g, 'xmlns:s=')
      .replace(/xsi:/g, 'i:')
      .replace(/xmlns:xsi=/g, 'xmlns:i=')
      .replace(/ns1:/g, 'x:')
      .replace(/xmlns:ns1=/g, 'xmlns:x=');
    expect(renamed).not.toContain('ns2');
    expect(decodeSoapRequest(renamed).args).toEqual(PHP_REQUEST_ARGS);
  });

  it('does not take a prefix for its usual meaning: ns2 bound elsewhere is not an Apache map', () => {
    const xml =
      `<e:Envelope xmlns:e="${ENV}"><e:Body><op xmlns:ns2="urn:other" xmlns:m="${APACHE}" xmlns:t="${XSI}" xmlns:d="${XSD}">` +
      '<a t:type="m:Map"><item><key t:type="d:string">k</key><value t:type="d:int">1</value></item></a>' +
      '<b t:type="ns2:Map"><item><key>k</key><value>1</value></item></b>' +
      '</op></e:Body></e:Envelope>';
    const { args } = decodeSoapRequest(xml);
    expect(args[0]).toEqual({ k: 1 });
    // Unknown type: decoded structurally (member names), not as a map.
    expect(args[1]).toEqual({ item: { key: 'k', value: '1' } });
  });

  it('declarations on inner elements shadow outer ones', () => {
    const xml = envelope(`<ns1:op><a xmlns:xsd="urn:not-schema" xsi:type="xsd:int">5</a><b xsi:type="xsd:int">5</b></ns1:op>`);
    expect(decodeSoapRequest(xml).args).toEqual(['5', 5]);
  });

  it('follows href multi-references and decodes SOAP-ENC:Struct as a plain object', () => {
    expect(decodeSoapRequest(PHP_MULTIREF).args).toEqual([{ p: 1 }, { p: 1 }, null, null]);
  });

  it('decodes every scalar form', () => {
    const xml = envelope(
      '<ns1:op>' +
        ['xsd:int">-42', 'xsd:long">9007199254740991', 'xsd:integer">+7', 'xsd:boolean">1', 'xsd:boolean">false', 'xsd:float">1.5e3', 'xsd:double">INF', 'xsd:double">-INF', 'xsd:decimal">.25', 'xsd:string">  spaced  ', 'SOAP-ENC:int">3', 'xsd:dateTime">2020-01-01T00:00:00Z', 'xsd:base64Binary">aMOpbGxv', 'xsd:string">']
          .map((t, i) => `<p${i} xsi:type="${t}</p${i}>`)
          .join('') +
        '<n xsi:nil="1"/><u>untyped</u><v><![CDATA[<raw> &amp;]]></v></ns1:op>',
    );
    const { args } = decodeSoapRequest(xml);
    expect(args).toEqual([-42, 9007199254740991, 7, true, false, 1500, Infinity, -Infinity, 0.25, '  spaced  ', 3, '2020-01-01T00:00:00Z', 'héllo', '', null, 'untyped', '<raw> &amp;']);
    expect(decodeSoapRequest(envelope('<ns1:op><f xsi:type="xsd:double">NaN</f></ns1:op>')).args[0]).toBeNaN();
  });

  it('keeps typed array items from SOAP-ENC:arrayType when the items are untyped', () => {
    const xml = envelope('<ns1:op><a xsi:type="SOAP-ENC:Array" SOAP-ENC:arrayType="xsd:int[2]"><item>1</item><item>2</item></a></ns1:op>');
    expect(decodeSoapRequest(xml).args).toEqual([[1, 2]]);
  });

  it('maps PHP key conversions and keeps "__proto__" an ordinary key', () => {
    const xml = envelope(
      '<ns1:op><a xsi:type="ns2:Map">' +
        '<item><key xsi:type="xsd:string">__proto__</key><value xsi:type="ns2:Map"><item><key xsi:type="xsd:string">polluted</key><value xsi:type="xsd:boolean">true</value></item></value></item>' +
        '<item><key xsi:type="xsd:boolean">true</key><value xsi:type="xsd:string">t</value></item>' +
        '<item><key xsi:type="xsd:int">-3</key><value xsi:type="xsd:string">neg</value></item>' +
        '<item><key xsi:type="xsd:string">dup</key><value xsi:type="xsd:int">1</value></item>' +
        '<item><key xsi:type="xsd:string">dup</key><value xsi:type="xsd:int">2</value></item>' +
        '</a></ns1:op>',
    );
    const map = decodeSoapRequest(xml).args[0] as Record<string, unknown>;
    expect(Object.getPrototypeOf(map)).toBe(Object.prototype);
    expect(Object.keys(map)).toEqual(['1', '__proto__', '-3', 'dup']);
    expect(Object.getOwnPropertyDescriptor(map, '__proto__')?.value).toEqual({ polluted: true });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(map).toMatchObject({ '1': 't', '-3': 'neg', dup: 2 });
  });

  it('reads the operation from the wrapper, or from SOAPAction when the Body is empty', () => {
    expect(decodeSoapRequest(envelope('<ns1:admin_list_plans/>'))).toEqual({ operation: 'admin_list_plans', args: [] });
    expect(decodeSoapRequest(envelope(''), { soapAction: '"urn:apnscp.api.soap#admin_list_plans"' })).toEqual({ operation: 'admin_list_plans', args: [] });
    expect(faultOf(() => decodeSoapRequest(envelope('')))).toMatchObject({ faultcode: 'SOAP-ENV:Client' });
    expect(operationFromSoapAction('"urn:apnscp.api.soap#common_whoami"')).toBe('common_whoami');
    expect(operationFromSoapAction('http://example.test/soap/common_whoami')).toBe('common_whoami');
    expect(operationFromSoapAction('""')).toBeUndefined();
    expect(operationFromSoapAction(undefined)).toBeUndefined();
  });

  it('accepts a SOAP 1.2 envelope and ignores optional headers', () => {
    const xml = `<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Header><h>1</h></env:Header><env:Body><op><a>x</a></op></env:Body></env:Envelope>`;
    expect(decodeSoapRequest(xml)).toEqual({ operation: 'op', args: ['x'] });
  });
});

describe('refusing bad requests as faults, never crashes', () => {
  it.each([
    ['malformed XML', '<SOAP-ENV:Envelope xmlns:SOAP-ENV="x"><SOAP-ENV:Body>', /malformed XML/],
    ['mismatched tags', envelope('<ns1:op></ns1:other>'), /malformed XML/],
    ['plain text', 'hello', /malformed XML/],
    ['an empty string', '', /empty request/],
    ['whitespace', '  \n ', /empty request/],
    ['not an envelope', '<html/>', /not a SOAP envelope/],
    ['an envelope without Body', `<e:Envelope xmlns:e="${ENV}"><e:Header/></e:Envelope>`, /no Body/],
    ['two roots', `${envelope('<op/>')}<x/>`, /one root/],
    ['an undeclared prefix', `<e:Envelope xmlns:e="${ENV}"><e:Body><q:op/></e:Body></e:Envelope>`, /undeclared namespace prefix "q"/],
    ['an undeclared type prefix', envelope('<ns1:op><a xsi:type="zz:int">1</a></ns1:op>'), /undeclared namespace prefix "zz"/],
    ['an undefined entity', envelope('<ns1:op><a>&nbsp;</a></ns1:op>'), /undefined entity &nbsp;/],
    ['a NUL character reference', envelope('<ns1:op><a>&#0;</a></ns1:op>'), /invalid character reference/],
    ['a surrogate character reference', envelope('<ns1:op><a>&#xD800;</a></ns1:op>'), /invalid character reference/],
    ['a raw control character', envelope('<ns1:op><a>\u0001</a></ns1:op>'), /characters XML does not allow/],
    ['an invalid int', envelope('<ns1:op><a xsi:type="xsd:int">12abc</a></ns1:op>'), /invalid integer/],
    ['an int beyond 2^53', envelope('<ns1:op><a xsi:type="xsd:int">9223372036854775807</a></ns1:op>'), /integer out of range/],
    ['an invalid boolean', envelope('<ns1:op><a xsi:type="xsd:boolean">yes</a></ns1:op>'), /invalid boolean/],
    ['an invalid float', envelope('<ns1:op><a xsi:type="xsd:float">1,5</a></ns1:op>'), /invalid number/],
    ['a map item without key', envelope('<ns1:op><a xsi:type="ns2:Map"><item><value>1</value></item></a></ns1:op>'), /no <key>/],
    ['a map key that is a map', envelope('<ns1:op><a xsi:type="ns2:Map"><item><key xsi:type="ns2:Map"/><value>1</value></item></a></ns1:op>'), /invalid map key/],
    ['an unresolved href', envelope('<ns1:op><a href="#nowhere"/></ns1:op>'), /unresolved reference/],
    ['a cyclic href', envelope('<ns1:op><a id="r" xsi:type="SOAP-ENC:Struct"><self href="#r"/></a></ns1:op>'), /cyclic reference/],
    ['nesting beyond 100 elements', envelope(`<ns1:op>${'<a>'.repeat(120)}${'</a>'.repeat(120)}</ns1:op>`), /malformed XML/],
  ])('%s → Client fault', (_name, xml, message) => {
    const fault = faultOf(() => decodeSoapRequest(xml));
    expect(fault.faultcode).toBe('SOAP-ENV:Client');
    expect(fault.faultstring).toMatch(message);
  });

  it('refuses a DTD (billion laughs) before expanding anything', () => {
    const lol =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' +
      Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`).join('') +
      `]>${envelope('<ns1:op><a>&lol9;</a></ns1:op>')}`;
    const started = performance.now();
    const fault = faultOf(() => decodeSoapRequest(lol));
    expect(performance.now() - started).toBeLessThan(100);
    expect(fault).toMatchObject({ faultcode: 'SOAP-ENV:Client', faultstring: expect.stringMatching(/must not contain a DTD/) });
    // An external entity (XXE) is refused the same way.
    expect(faultOf(() => decodeSoapRequest(`<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>${envelope('<ns1:op><a>&e;</a></ns1:op>')}`)).faultstring).toMatch(/DTD/);
  });

  it('refuses exponential href fan-out beyond the value budget', () => {
    const levels = 30;
    let body = '<r0 id="r0" xsi:type="xsd:string">x</r0>';
    for (let i = 1; i <= levels; i++) body += `<r${i} id="r${i}" xsi:type="SOAP-ENC:Struct"><a href="#r${i - 1}"/><b href="#r${i - 1}"/></r${i}>`;
    const xml = envelope(`<ns1:op><arg href="#r${levels}"/></ns1:op><defs xsi:type="SOAP-ENC:Struct">${body}</defs>`);
    const started = performance.now();
    // The reference cap would stop this first; lifted here so the value budget is what refuses it.
    expect(faultOf(() => decodeSoapRequest(xml, { maxReferences: Number.MAX_SAFE_INTEGER })).faultstring).toMatch(/more than 100000 values/);
    expect(faultOf(() => decodeSoapRequest(xml)).faultstring).toMatch(/more than 1000 references/);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('answers a foreign envelope namespace with VersionMismatch and a mandatory header with MustUnderstand', () => {
    expect(faultOf(() => decodeSoapRequest('<e:Envelope xmlns:e="urn:not-soap"><e:Body/></e:Envelope>')).faultcode).toBe('SOAP-ENV:VersionMismatch');
    const xml = `<e:Envelope xmlns:e="${ENV}"><e:Header><auth e:mustUnderstand="1">x</auth></e:Header><e:Body><op/></e:Body></e:Envelope>`;
    expect(faultOf(() => decodeSoapRequest(xml))).toMatchObject({ faultcode: 'SOAP-ENV:MustUnderstand', faultstring: 'header <auth> was not understood' });
  });
});

describe('encoding results', () => {
  it('types every level: maps as ns2:Map, lists as SOAP-ENC:Array, scalars by type, null as nil', () => {
    const xml = encodeSoapValue('return', { site: { domain: 'x.test', quota: 5000, ssh: true, ratio: 0.5, invoice: null, aliases: ['a.test'] } });
    expect(xml).toBe(
      '<return xsi:type="ns2:Map"><item><key xsi:type="xsd:string">site</key><value xsi:type="ns2:Map">' +
        '<item><key xsi:type="xsd:string">domain</key><value xsi:type="xsd:string">x.test</value></item>' +
        '<item><key xsi:type="xsd:string">quota</key><value xsi:type="xsd:int">5000</value></item>' +
        '<item><key xsi:type="xsd:string">ssh</key><value xsi:type="xsd:boolean">true</value></item>' +
        '<item><key xsi:type="xsd:string">ratio</key><value xsi:type="xsd:double">0.5</value></item>' +
        '<item><key xsi:type="xsd:string">invoice</key><value xsi:nil="true"/></item>' +
        '<item><key xsi:type="xsd:string">aliases</key><value xsi:type="SOAP-ENC:Array" SOAP-ENC:arrayType="xsd:string[1]"><item xsi:type="xsd:string">a.test</item></value></item>' +
        '</value></item></return>',
    );
  });

  it('sends an empty object or array as an empty SOAP-ENC:Array (an empty map reaches PHP as NULL)', () => {
    const empty = '<return xsi:type="SOAP-ENC:Array" SOAP-ENC:arrayType="xsd:anyType[0]"/>';
    expect(encodeSoapValue('return', {})).toBe(empty);
    expect(encodeSoapValue('return', [])).toBe(empty);
    expect(encodeSoapValue('return', new Map())).toBe(empty);
  });

  it('escapes markup, keeps \\r as &#13; and unicode as is, types integer keys as xsd:int', () => {
    const xml = encodeSoapValue('return', { '7': 'a\r\nb <&> ünï😀', big: 2 ** 40 });
    expect(xml).toContain('<key xsi:type="xsd:int">7</key><value xsi:type="xsd:string">a&#13;\nb &lt;&amp;&gt; ünï😀</value>');
    expect(xml).toContain('<value xsi:type="xsd:int">1099511627776</value>');
  });

  it('sends strings XML cannot carry as base64Binary, which PHP decodes to the same string', () => {
    expect(encodeSoapValue('v', 'a\u0000b')).toBe(`<v xsi:type="xsd:base64Binary">${Buffer.from('a\u0000b').toString('base64')}</v>`);
  });

  it('refuses a cyclic result', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => encodeSoapValue('return', cyclic)).toThrow(/cyclic/);
  });

  it('produces a well-formed envelope for any operation result', () => {
    const xml = encodeSoapResponse('admin_collect', { site1: { active: true } });
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(xml).toContain('<ns1:admin_collectResponse><return xsi:type="ns2:Map">');
    expect(() => encodeSoapResponse('bad name', 1)).toThrow();
  });

  it.each<[string, unknown, unknown]>([
    ['nested maps', { a: { b: { c: { d: 'deep' } } } }, { a: { b: { c: { d: 'deep' } } } }],
    ['int keys', { '10': 'x', '2': 'y', k: 'z' }, { '2': 'y', '10': 'x', k: 'z' }],
    ['lists of maps', [{ a: 1 }, { b: [true, false] }], [{ a: 1 }, { b: [true, false] }]],
    ['mixed lists', [1, 'a', null, 2.5, [], {}], [1, 'a', null, 2.5, [], []]],
    ['nil', null, null],
    ['undefined', undefined, null],
    ['big ints beyond 32 bits', [2 ** 32, -(2 ** 40), Number.MAX_SAFE_INTEGER], [2 ** 32, -(2 ** 40), Number.MAX_SAFE_INTEGER]],
    ['\\r\\n and tabs', 'a\r\n\tb\r', 'a\r\n\tb\r'],
    ['empty map', {}, []],
    ['empty array', [], []],
    ['empty string', '', ''],
    ['unicode', { 'ключ 🔑': 'значение ✓' }, { 'ключ 🔑': 'значение ✓' }],
    ['control characters', 'a\u0001b', 'a\u0001b'],
    ['floats', [0.1, -1e-7, 1e21, Infinity, -Infinity], [0.1, -1e-7, 1e21, Infinity, -Infinity]],
    ['a bare boolean', false, false],
    ['a Date', new Date(0), '1970-01-01T00:00:00.000Z'],
    ['a Set', new Set(['a', 'b']), ['a', 'b']],
    ['undefined properties left out like JSON', { a: 1, b: undefined }, { a: 1 }],
    ['a key "__proto__"', JSON.parse('{"__proto__": {"x": 1}}'), JSON.parse('{"__proto__": {"x": 1}}')],
  ])('round-trips %s', (_name, value, expected) => {
    const decoded = roundTrip(value);
    expect(decoded).toEqual(expected);
    if (expected && typeof expected === 'object' && Object.hasOwn(expected, '__proto__')) expect(Object.keys(decoded as object)).toEqual(['__proto__']);
  });

  it('round-trips a request built the way PHP builds one', () => {
    const args = [{ 'siteinfo.domain': 'x.test', 'billing.invoice': 'inv-1' }, ['siteinfo.domain'], null, true];
    const xml = encodeSoapRequest('admin_add_site', args, ['domain', 'opts']);
    expect(xml).toContain('<domain xsi:type="ns2:Map">');
    expect(decodeSoapRequest(xml)).toEqual({ operation: 'admin_add_site', args });
  });

  it('encodes faults with our faultcode, an escaped faultstring and a typed detail', () => {
    const xml = encodeSoapFault({ faultcode: 'SOAP-ENV:Server', faultstring: 'bad <input> & "quotes"\u0001', detail: { fields: { name: ["can't be blank"] } } });
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(xml).toContain('<SOAP-ENV:Fault><faultcode>SOAP-ENV:Server</faultcode><faultstring>bad &lt;input&gt; &amp; "quotes"\uFFFD</faultstring><detail xsi:type="ns2:Map">');
    expect(encodeSoapFault({ faultcode: 'SOAP-ENV:Client', faultstring: 'x' })).not.toContain('<detail');
  });
});

describe('the SOAP fault table', () => {
  it('maps every catalog code', () => {
    const cases: [AppError, string, string][] = [
      [new AppError('unauthenticated', 'no such key'), 'SOAP-ENV:Client', 'Invalid API key'],
      [new AppError('forbidden', 'not allowed for this key'), 'SOAP-ENV:Client', 'not allowed for this key'],
      [new AppError('forbidden', ''), 'SOAP-ENV:Client', 'Permission denied'],
      [new AppError('malformed_request', 'bad bytes'), 'SOAP-ENV:Client', 'bad bytes'],
      [new AppError('payload_too_large', 'x'), 'SOAP-ENV:Client', 'Request body is too large'],
      [AppError.validation({ 'siteinfo.domain': ['is taken', 'is too long'] }), 'SOAP-ENV:Server', 'siteinfo.domain is taken; siteinfo.domain is too long'],
      [new AppError('validation_failed', 'plan basic does not exist'), 'SOAP-ENV:Server', 'plan basic does not exist'],
      [AppError.notFound('site'), 'SOAP-ENV:Server', 'site not found'],
      [new AppError('conflict', 'domain is taken'), 'SOAP-ENV:Server', 'domain is taken'],
      [new AppError('invalid_state', 'site is suspended'), 'SOAP-ENV:Server', 'site is suspended'],
      [new AppError('rate_limited', 'slow down', { retryAfterSeconds: 30 }), 'SOAP-ENV:Client', 'slow down'],
      [new AppError('internal', 'SELECT * FROM secrets failed'), 'SOAP-ENV:Server', 'Internal error'],
    ];
    for (const [err, faultcode, faultstring] of cases) expect(soapFaultFor(err), err.code).toMatchObject({ faultcode, faultstring });
    expect(soapFaultFor(new AppError('rate_limited', 'slow down', { retryAfterSeconds: 30 })).detail).toEqual({ retry_after: 30 });
  });

  it('maps codec refusals, Fastify parse errors and unknown errors', () => {
    expect(toSoapFault(new SoapFaultError({ faultcode: 'SOAP-ENV:Client', faultstring: 'malformed XML: x' }))).toEqual({ faultcode: 'SOAP-ENV:Client', faultstring: 'malformed XML: x' });
    expect(toSoapFault(Object.assign(new Error('Unsupported Media Type'), { code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415 }))).toMatchObject({
      faultcode: 'SOAP-ENV:Client',
      faultstring: 'Content-Type must be text/xml',
    });
    expect(toSoapFault(Object.assign(new Error('too big'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 }))).toMatchObject({ faultcode: 'SOAP-ENV:Client' });
    expect(toSoapFault(new TypeError('cannot read x of undefined'))).toEqual({ faultcode: 'SOAP-ENV:Server', faultstring: 'Internal error' });
  });
});

describe('the WSDL', () => {
  const wsdl = buildWsdl(
    [
      { name: 'admin_collect', params: ['params', 'query', 'sites'] },
      { name: 'common_whoami', params: [] },
    ],
    'https://panel.example.test:2083/',
  );

  it('is well-formed rpc/encoded with anyType parts and the caller-given address', () => {
    expect(XMLValidator.validate(wsdl)).toBe(true);
    expect(wsdl).toContain('<part name="query" type="xsd:anyType"/>');
    expect(wsdl).toContain('<message name="admin_collectResponse">\n    <part name="return" type="xsd:anyType"/>');
    expect(wsdl).toContain('<operation name="admin_collect" parameterOrder="params query sites">');
    expect(wsdl).toContain('<soap:operation soapAction="urn:apnscp.api.soap#common_whoami" style="rpc"/>');
    expect(wsdl).toContain('<soap:binding style="rpc" transport="http://schemas.xmlsoap.org/soap/http"/>');
    expect(wsdl.match(/use="encoded" namespace="urn:apnscp.api.soap"/g)).toHaveLength(4);
    expect(wsdl).toContain('<soap:address location="https://panel.example.test:2083/soap"/>');
  });

  it('refuses names that are not XML names and duplicates', () => {
    expect(() => buildWsdl([{ name: 'a b', params: [] }], 'http://x')).toThrow(/invalid SOAP operation name/);
    expect(() => buildWsdl([{ name: 'op', params: ['<x>'] }], 'http://x')).toThrow(/invalid parameter name/);
    expect(() => buildWsdl([{ name: 'op', params: [] }, { name: 'op', params: [] }], 'http://x')).toThrow(/duplicate/);
  });
});
