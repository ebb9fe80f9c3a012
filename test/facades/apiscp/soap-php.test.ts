import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError, type ErrorCode } from '../../../src/errors/app-error.js';
import { soapRoutes, type SoapDispatch } from '../../../src/facades/apiscp/soap/soap.routes.js';
import { fromPhp, requirePhpSoap, runPhpSoap, soapVar, type PhpCall, type PhpOutcome, type Tree } from '../../support/php-soap.js';

/**
 * The SOAP door's transport against PHP's real SoapClient (php-soap, as ApisCP billing modules use it):
 * a bare Fastify server with soapRoutes and a dispatcher that echoes what it received, returns values
 * PHP cannot send, or throws AppErrors. The end-to-end test through the real app lives elsewhere.
 *
 * Requires `php` with the soap extension (CI installs php-cli php-soap); without it this file fails.
 */

const AUTHKEY = 'test-key-123';

const operations = [
  { name: 'echo', params: ['a', 'b', 'c', 'd'] },
  { name: 'noargs', params: [] },
  { name: 'value', params: ['which'] },
  { name: 'fail', params: ['code', 'message'] },
  { name: 'crash', params: [] },
];

const values: Record<string, unknown> = {
  empty_object: {},
  empty_array: [],
  nested: { a: { b: { c: [{ d: true }, { e: [] }] } }, n: null, f: 0.1, big: 2 ** 40, neg: -3, s: '' },
  control: 'a\u0001b\u0000c',
  floats: [NaN, Infinity, -Infinity, 1e21, -0.5],
  undefined: undefined,
  int_keys: { '10': 'a', '2': 'b', x: 'c' },
  js_map: new Map<unknown, unknown>([[1, 'one'], ['k', new Map()]]),
  date: new Date(0),
};

const received: SoapDispatch[] = [];

async function dispatch(input: SoapDispatch): Promise<unknown> {
  received.push(input);
  const { operation, args, authkey, abortOnError } = input;
  switch (operation) {
    case 'echo':
    case 'noargs':
      return { operation, args, authkey: authkey ?? null, abortOnError };
    case 'value':
      return values[String(args[0])];
    case 'fail': {
      const code = String(args[0]) as ErrorCode;
      const fields = code === 'validation_failed' ? { 'siteinfo.domain': ['is not a valid domain'], base: ['plan is full'] } : undefined;
      throw new AppError(code, String(args[1] ?? `${code} happened`), fields ? { fields } : {});
    }
    case 'crash':
      throw new Error('connect ECONNREFUSED db.internal:5432 password=hunter2');
    default:
      throw new Error(`test dispatcher has no ${operation}`);
  }
}

let app: FastifyInstance;
let base: string;


beforeAll(async () => {
  await requirePhpSoap();
  app = Fastify({ logger: false });
  await app.register(async (scope) => soapRoutes(scope, { operations, publicUrl: 'http://soap.example.test/', call: dispatch }));
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(() => app?.close());

function php(calls: PhpCall[], location = `${base}/soap?authkey=${AUTHKEY}`): Promise<PhpOutcome[]> {
  return runPhpSoap(calls, { wsdl: `${base}/apnscp.wsdl`, location });
}

async function phpOne(call: PhpCall): Promise<PhpOutcome> {
  const [outcome] = await php([call]);
  return outcome!;
}

/** Follows a path of keys in PHP's tree and lists the keys there with their PHP types. */
function phpKeys(tree: Tree, ...path: (string | number)[]): [string | number, 'int' | 'string'][] {
  let node = tree;
  for (const key of path) node = (node[2] as [string | number, Tree][]).find(([k]) => k === key)![1];
  expect(node[0]).toBe('array');
  return (node[2] as [string | number, Tree][]).map(([k]) => [k, typeof k === 'number' ? 'int' : 'string']);
}

describe('SOAP door with PHP SoapClient', () => {
  it('serves the rpc/encoded WSDL without authentication', async () => {
    const res = await fetch(`${base}/apnscp.wsdl`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/xml/);
    const wsdl = await res.text();
    expect(wsdl).toContain('<soap:address location="http://soap.example.test/soap"/>');
    expect(wsdl).toContain('targetNamespace="urn:apnscp.api.soap"');
    expect(wsdl).toContain('<part name="which" type="xsd:anyType"/>');
  });

  it('delivers typed arguments and PHP gets nested associative arrays, ints, bools, null and lists back', async () => {
    const args = [
      {
        siteinfo: { domain: 'test-domain.com', admin_user: 'test-admin' },
        diskquota: { quota: 5000 },
        ssh: { enabled: true },
        billing: { invoice: null, parent_invoice: 'master-invoice-123' },
        aliases: { aliases: [] },
        '7': 'seven',
      },
      [1, 'two', false, null, 2.5, ['nested', 'list']],
      'line1\r\nline2\ttab ünïcødé 😀 <&> "quoted"',
      { __int__: '5000000000' },
    ];
    const out = await phpOne({ op: 'echo', args });
    expect(out.fault).toBeUndefined();
    expect(out.status).toBe(200);
    expect(fromPhp(out.value!)).toEqual({
      operation: 'echo',
      args: [
        {
          siteinfo: { domain: 'test-domain.com', admin_user: 'test-admin' },
          diskquota: { quota: 5000 },
          ssh: { enabled: true },
          billing: { invoice: null, parent_invoice: 'master-invoice-123' },
          aliases: { aliases: [] },
          '7': 'seven',
        },
        [1, 'two', false, null, { float: 2.5 }, ['nested', 'list']],
        'line1\r\nline2\ttab ünïcødé 😀 <&> "quoted"',
        5000000000,
      ],
      authkey: AUTHKEY,
      abortOnError: false,
    });
    expect(out.export).not.toContain('stdClass');
    // The integer key stays an integer key both ways.
    expect(phpKeys(out.value!, 'args', 0)).toContainEqual([7, 'int']);
    // What the dispatcher saw: plain objects, an int key as a string key, a real JS number.
    const seen = received.at(-1)!;
    expect(seen.args[0]).toMatchObject({ '7': 'seven', ssh: { enabled: true }, billing: { invoice: null } });
    expect(seen.args[3]).toBe(5000000000);
  });

  it('sends the Abort-On header through to the dispatcher', async () => {
    const [plain, aborting] = await php([
      { op: 'echo', args: ['x'] },
      { op: 'echo', args: ['x'], headers: ['Abort-On: error'] },
    ]);
    expect(fromPhp(plain!.value!)).toMatchObject({ abortOnError: false });
    expect(fromPhp(aborting!.value!)).toMatchObject({ abortOnError: true });
  });

  it('passes omitted optional arguments as null and handles zero-argument calls', async () => {
    const [partial, none] = await php([{ op: 'echo', args: ['only'] }, { op: 'noargs' }]);
    expect(fromPhp(partial!.value!)).toMatchObject({ args: ['only', null, null, null] });
    expect(fromPhp(none!.value!)).toEqual({ operation: 'noargs', args: [], authkey: AUTHKEY, abortOnError: false });
  });

  it('decodes PHP objects (SOAP-ENC:Struct) and the same object sent twice (href multi-reference)', async () => {
    const shared = { __object__: { p: 1, q: 'x' }, __ref__: 'o' };
    const out = await phpOne({ op: 'echo', args: [shared, shared] });
    expect(fromPhp(out.value!)).toMatchObject({ args: [{ p: 1, q: 'x' }, { p: 1, q: 'x' }, null, null] });
  });

  it('reports the authkey as sent, and none when the URL has none', async () => {
    const out = await php([{ op: 'noargs' }], `${base}/soap`);
    expect(fromPhp(out[0]!.value!)).toMatchObject({ authkey: null });
  });

  it('encodes results PHP could not have sent', async () => {
    const names = Object.keys(values);
    const outcomes = await php(names.map((which) => ({ op: 'value', args: [which] })));
    const got = Object.fromEntries(names.map((n, i) => [n, outcomes[i]!]));
    for (const [name, outcome] of Object.entries(got)) expect(outcome.fault, name).toBeUndefined();

    expect(got.empty_object!.value).toEqual(['array', true, []]);
    expect(got.empty_array!.value).toEqual(['array', true, []]);
    expect(fromPhp(got.nested!.value!)).toEqual({ a: { b: { c: [{ d: true }, { e: [] }] } }, n: null, f: { float: 0.1 }, big: 2 ** 40, neg: -3, s: '' });
    expect(got.nested!.export).not.toContain('stdClass');
    expect(fromPhp(got.control!.value!)).toBe('a\u0001b\u0000c');
    expect(fromPhp(got.floats!.value!)).toEqual([{ float: 'NAN' }, { float: 'INF' }, { float: '-INF' }, { float: 1e21 }, { float: -0.5 }]);
    expect(got.undefined!.value).toEqual(['NULL', null]);
    expect(phpKeys(got.int_keys!.value!)).toEqual([
      [2, 'int'],
      [10, 'int'],
      ['x', 'string'],
    ]);
    expect(fromPhp(got.js_map!.value!)).toEqual({ '1': 'one', k: [] });
    expect(fromPhp(got.date!.value!)).toBe('1970-01-01T00:00:00.000Z');
  });

  it('turns AppErrors into SoapFaults with our faultcode and faultstring, over HTTP 500 (Abort-On: error)', async () => {
    const abortOn = ['Abort-On: error'];
    const outcomes = await php([
      { op: 'fail', args: ['unauthenticated', 'no such key'], headers: abortOn },
      { op: 'fail', args: ['forbidden', 'this key may not call admin functions'], headers: abortOn },
      { op: 'fail', args: ['validation_failed', 'validation failed'], headers: abortOn },
      { op: 'fail', args: ['not_found', 'site test-domain.com not found'], headers: abortOn },
      { op: 'fail', args: ['conflict', 'domain test-domain.com is taken'], headers: abortOn },
      { op: 'fail', args: ['invalid_state', 'site is already suspended'], headers: abortOn },
      { op: 'fail', args: ['internal', 'pool exhausted at db.internal'], headers: abortOn },
      { op: 'crash', headers: abortOn },
    ]);
    const faults = outcomes.map((o) => {
      expect(o.status).toBe(500);
      return o.fault!;
    });
    expect(faults.map((f) => [f.faultcode, f.faultstring])).toEqual([
      ['SOAP-ENV:Client', 'Invalid API key'],
      ['SOAP-ENV:Client', 'this key may not call admin functions'],
      ['SOAP-ENV:Server', 'siteinfo.domain is not a valid domain; plan is full'],
      ['SOAP-ENV:Server', 'site test-domain.com not found'],
      ['SOAP-ENV:Server', 'domain test-domain.com is taken'],
      ['SOAP-ENV:Server', 'site is already suspended'],
      ['SOAP-ENV:Server', 'Internal error'],
      ['SOAP-ENV:Server', 'Internal error'],
    ]);
    expect(fromPhp(faults[2]!.detail!)).toEqual({ fields: { 'siteinfo.domain': ['is not a valid domain'], base: ['plan is full'] } });
    expect(JSON.stringify(faults.slice(6))).not.toMatch(/hunter2|db\.internal|ECONNREFUSED/);
  });

  it('without Abort-On: error, error-level codes answer false and every other failure is still a fault', async () => {
    const errorLevel: ErrorCode[] = ['validation_failed', 'not_found', 'conflict', 'invalid_state'];
    const fatal: ErrorCode[] = ['unauthenticated', 'forbidden', 'rate_limited', 'unavailable', 'internal', 'malformed_request', 'payload_too_large'];
    const out = await php([...errorLevel, ...fatal].map((code) => ({ op: 'fail', args: [code, `${code} here`] })));
    for (const [i, code] of errorLevel.entries()) {
      expect(out[i], code).toMatchObject({ ok: true, status: 200, value: ['boolean', false] });
    }
    for (const [i, code] of fatal.entries()) {
      const o = out[errorLevel.length + i]!;
      expect(o.ok, code).toBeUndefined();
      expect(o.status, code).toBe(500);
      expect(o.fault!.faultcode, code).toMatch(/^SOAP-ENV:(Client|Server)$/);
    }
    const [crash] = await php([{ op: 'crash' }]);
    expect(crash!.fault).toMatchObject({ faultcode: 'SOAP-ENV:Server', faultstring: 'Internal error' });
  });

  it('decodes SoapVar-wrapped arguments to the same values as plain PHP arrays and scalars', async () => {
    const opts = { 'siteinfo.domain': 'a.example', 'diskquota.quota': 2000, 'ssh.enabled': false, nested: { n: 1, list: ['x', 'y'] } };
    const list = ['siteinfo.domain', 'siteinfo.email'];
    const [plain, wrapped, typed, object] = await php([
      { op: 'echo', args: ['dom.example', opts, list, 7] },
      { op: 'echo', args: [soapVar('XSD_STRING', 'dom.example'), soapVar('APACHE_MAP', opts), soapVar('SOAP_ENC_ARRAY', list), soapVar('XSD_INT', 7)] },
      { op: 'echo', args: [soapVar('XSD_STRING', 'dom.example'), soapVar('SOAP_ENC_OBJECT', opts, { name: 'Struct', namespace: 'http://schemas.xmlsoap.org/soap/encoding/' }), soapVar('SOAP_ENC_ARRAY', list), 7] },
      { op: 'echo', args: ['dom.example', soapVar('SOAP_ENC_OBJECT', opts), list, 7] },
    ]);
    const expected = fromPhp(plain!.value!) as { args: unknown[] };
    expect(expected.args).toEqual(['dom.example', { ...opts, nested: { n: 1, list: ['x', 'y'] } }, list, 7]);
    for (const [name, o] of Object.entries({ wrapped, typed, object })) expect(fromPhp(o!.value!), name).toEqual(expected);
  });

  it('refuses integers PHP can send but JavaScript cannot hold exactly, as a Client fault', async () => {
    const out = await phpOne({ op: 'echo', args: [{ __int__: '9223372036854775807' }] });
    expect(out.status).toBe(500);
    expect(out.fault).toMatchObject({ faultcode: 'SOAP-ENV:Client', faultstring: expect.stringMatching(/^integer out of range/) });
  });

  it('PHP itself refuses an operation the WSDL lacks, without sending anything', async () => {
    const before = received.length;
    const out = await phpOne({ op: 'admin_nope' });
    expect(out.fault?.faultcode).toBe('Client');
    expect(out.fault?.faultstring).toMatch(/not a valid method/);
    expect(out.status).toBeNull();
    expect(received.length).toBe(before);
  });
});

describe('SOAP door over raw HTTP', () => {
  const envelope = (body: string) =>
    '<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" ' +
    'xmlns:ns1="urn:apnscp.api.soap" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">' +
    `<SOAP-ENV:Body>${body}</SOAP-ENV:Body></SOAP-ENV:Envelope>`;

  async function post(body: string, headers: Record<string, string> = { 'content-type': 'text/xml; charset=utf-8' }) {
    const res = await fetch(`${base}/soap?authkey=${AUTHKEY}`, { method: 'POST', headers, body });
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
  }

  it('answers an unknown operation with a Client fault naming it', async () => {
    const before = received.length;
    const res = await post(envelope('<ns1:admin_nope/>'));
    expect(res.status).toBe(500);
    expect(res.type).toMatch(/^text\/xml/);
    expect(res.text).toContain('<faultcode>SOAP-ENV:Client</faultcode>');
    expect(res.text).toContain("<faultstring>Function 'admin_nope' doesn't exist</faultstring>");
    expect(received.length).toBe(before);
  });

  it('falls back to the SOAPAction header when the Body has no wrapper', async () => {
    const res = await post(envelope(''), { 'content-type': 'text/xml', soapaction: '"urn:apnscp.api.soap#noargs"' });
    expect(res.status).toBe(200);
    expect(res.text).toContain('<ns1:noargsResponse><return xsi:type="ns2:Map">');
  });

  it('accepts application/soap+xml', async () => {
    const res = await post(envelope('<ns1:noargs/>'), { 'content-type': 'application/soap+xml; charset=utf-8' });
    expect(res.status).toBe(200);
  });

  it.each([
    ['malformed XML', '<SOAP-ENV:Envelope', 'text/xml'],
    ['not an envelope', '<html><body>hi</body></html>', 'text/xml'],
    ['an envelope without Body', '<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"/>', 'text/xml'],
    ['an empty body', '', 'text/xml'],
    ['a DTD', '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><x>&b;</x>', 'text/xml'],
    ['a JSON body', '{"op":"noargs"}', 'application/json'],
    ['no content type', envelope('<ns1:noargs/>'), 'application/octet-stream'],
  ])('answers %s with a Client fault, never a crash or an empty 200', async (_name, body, type) => {
    const res = await post(body, { 'content-type': type });
    expect(res.status).toBe(500);
    expect(res.type).toMatch(/^text\/xml/);
    expect(res.text).toContain('<SOAP-ENV:Fault><faultcode>SOAP-ENV:Client</faultcode>');
  });
});
