import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import OdooAwait from 'odoo-await';
import { OdooClient } from 'odoo-xmlrpc-ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError, type ErrorCode } from '../../../src/errors/app-error.js';
import { odooRpcRoutes, type OdooRpcCall, type OdooVersion } from '../../../src/facades/odoo-rpc/odoo-rpc.routes.js';
import { plain, pythonCalls, pythonLoads, requirePython, type PyOutcome } from './python-xmlrpc.js';

/**
 * The Odoo RPC transport on a bare Fastify server with a test dispatcher, driven by real clients:
 * Python's xmlrpc.client (as the SaaS seed's scripts), the npm clients odoo-await and odoo-xmlrpc-ts,
 * and raw HTTP for JSON-RPC and for requests no client would send. The dispatcher echoes what it
 * received, returns values of every kind, or throws AppErrors. Fails without python3.
 */

const DB = 'hostplane';
const UID = 7;
const PASSWORD = 'secret';

const version: OdooVersion = { server_version: '11.0', server_version_info: [11, 0, 0, 'final', 0, ''], server_serie: '11.0', protocol_version: 1 };

const values: Record<string, unknown> = {
  none: null,
  undef: undefined,
  int: 42,
  big: 5_000_000_000,
  float: 2.5,
  yes: true,
  text: 'héllo 😀 <&> "q"\r\n',
  list: [1, 'a', false, null],
  dict: { a: 1, nested: { b: [] }, gone: undefined },
  empty_dict: {},
  empty_list: [],
  date: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)),
  bytes: Buffer.from([0, 255]),
  records: [{ id: 1, name: 'client.odoo.local', plan_id: [1, 'Basic'], partner_id: false }],
  unencodable: { f: () => 1 },
};

const received: OdooRpcCall[] = [];
let lastRequest: { id: string; ip: string } | undefined;

function failure(code: string, message: string): AppError {
  if (code === 'validation_failed') return AppError.validation({ login: ['is already taken'], base: ['plan is full'] });
  return new AppError(code as ErrorCode, message);
}

async function dispatch(input: OdooRpcCall, request: FastifyRequest): Promise<unknown> {
  received.push(input);
  lastRequest = { id: request.id, ip: request.ip };
  const { service, method, args } = input;
  if (service === 'common' && (method === 'authenticate' || method === 'login')) return args[1] === 'admin' && args[2] === PASSWORD ? UID : false;
  if (service === 'common' && method === 'authenticate_session') {
    const ok = args[1] === 'admin' && args[2] === PASSWORD;
    return { uid: ok ? UID : false, db: args[0], username: args[1], user_context: ok ? { lang: 'en_US', tz: 'UTC', uid: UID } : {}, session_id: null };
  }
  if (service === 'db' && method === 'list') return [DB];
  if (service === 'object' && (method === 'execute_kw' || method === 'execute')) {
    const [db, uid, password, model, fn, fnArgs = [], kwargs = {}] = args;
    if (uid !== UID || password !== PASSWORD) throw new AppError('unauthenticated', `wrong password for uid ${String(uid)}`);
    switch (model) {
      case 'test.echo':
        return { db, model, method: fn, args: fnArgs, kwargs, legacy: input.legacy, transport: input.transport };
      case 'test.value':
        return values[String(fn)];
      case 'test.fail':
        throw failure(String(fn), String((fnArgs as unknown[])[0] ?? `${String(fn)} happened`));
      case 'test.crash':
        throw new Error('connect ECONNREFUSED db.internal:5432 password=hunter2');
      default:
        throw new AppError('not_found', `Object ${String(model)} doesn't exist`);
    }
  }
  throw new AppError('not_found', `no method ${method} on service ${service}`);
}

let app: FastifyInstance;
let base: string;
let port: number;

beforeAll(async () => {
  await requirePython();
  app = Fastify({ logger: false });
  await app.register(async (scope) => odooRpcRoutes(scope, { call: dispatch, version }));
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  port = Number(new URL(base).port);
});
afterAll(() => app?.close());

const kw = (model: string, method: string, args: unknown[] = [], kwargs?: Record<string, unknown>) => ({
  method: 'execute_kw',
  args: [DB, UID, PASSWORD, model, method, args, ...(kwargs ? [kwargs] : [])],
});

const failures: [ErrorCode, string][] = [
  ['unauthenticated', 'wrong password for uid 7'],
  ['forbidden', 'Only the portal administrator may do this'],
  ['validation_failed', 'validation failed'],
  ['not_found', "Object saas_portal.nope doesn't exist"],
  ['conflict', 'login is taken'],
  ['invalid_state', 'instance is suspended'],
  ['rate_limited', 'too many requests'],
  ['malformed_request', 'unknown operator "~"'],
  ['payload_too_large', 'too big'],
  ['internal', 'pool exhausted at db.internal'],
];

describe("Python's xmlrpc.client", () => {
  it('gets version() from the transport itself, without the dispatcher', async () => {
    const before = received.length;
    const [out] = await pythonCalls(`${base}/xmlrpc/2/common`, [{ method: 'version' }]);
    expect(plain(out!.ok!)).toEqual(version);
    expect(out!.ok![0]).toBe('dict');
    expect(received.length).toBe(before);
  });

  it('authenticates: the uid as an int, False for bad credentials (not a fault)', async () => {
    const outs = await pythonCalls(`${base}/xmlrpc/2/common`, [
      { method: 'authenticate', args: [DB, 'admin', PASSWORD, {}] },
      { method: 'authenticate', args: [DB, 'admin', 'wrong', {}] },
      { method: 'login', args: [DB, 'admin', PASSWORD] },
    ]);
    expect(outs).toEqual([{ ok: ['int', UID] }, { ok: ['bool', false] }, { ok: ['int', UID] }]);
    expect(received.at(-1)).toEqual({ service: 'common', method: 'login', args: [DB, 'admin', PASSWORD], legacy: false, transport: 'xmlrpc' });
    expect(lastRequest).toEqual({ id: expect.any(String), ip: '127.0.0.1' });
  });

  it("hands the seed's execute_kw calls to the dispatcher exactly as sent", async () => {
    const upgrade = { params: [{ key: 'saas_client.suspended', value: '1', hidden: true }] };
    const create = { dbname: 'client.odoo.local', user_id: 9, owner_password: 'pw', maybe: { __none__: true } };
    const [a, b] = await pythonCalls(`${base}/xmlrpc/2/object`, [
      kw('test.echo', 'do_upgrade_database', [upgrade, 5]),
      kw('test.echo', 'create_new_database', [1], create),
    ]);
    expect(plain(a!.ok!)).toEqual({ db: DB, model: 'test.echo', method: 'do_upgrade_database', args: [upgrade, 5], kwargs: {}, legacy: false, transport: 'xmlrpc' });
    expect(received.at(-1)!.args).toEqual([DB, UID, PASSWORD, 'test.echo', 'create_new_database', [1], { dbname: 'client.odoo.local', user_id: 9, owner_password: 'pw', maybe: null }]);
    expect(b!.ok).toBeDefined();
  });

  it('receives results with Python types, None as False', async () => {
    const names = Object.keys(values).filter((n) => n !== 'unencodable');
    const outs = await pythonCalls(`${base}/xmlrpc/2/object`, names.map((n) => kw('test.value', n)));
    const got = Object.fromEntries(names.map((n, i) => [n, outs[i]!.ok]));
    expect(got).toEqual({
      none: ['bool', false],
      undef: ['bool', false],
      int: ['int', 42],
      big: ['int', 5_000_000_000],
      float: ['float', 2.5],
      yes: ['bool', true],
      text: ['str', 'héllo 😀 <&> "q"\r\n'],
      list: ['list', [['int', 1], ['str', 'a'], ['bool', false], ['bool', false]]],
      dict: ['dict', { a: ['int', 1], nested: ['dict', { b: ['list', []] }] }],
      empty_dict: ['dict', {}],
      empty_list: ['list', []],
      date: ['str', '2024-01-02 03:04:05'],
      bytes: ['binary', 'AP8='],
      records: ['list', [['dict', { id: ['int', 1], name: ['str', 'client.odoo.local'], plan_id: ['list', [['int', 1], ['str', 'Basic']]], partner_id: ['bool', false] }]]],
    });
  });

  it('gets xmlrpc.client.Fault with Odoo’s int codes on /xmlrpc/2/object', async () => {
    const outs = await pythonCalls(`${base}/xmlrpc/2/object`, [
      ...failures.map(([code, message]) => kw('test.fail', code, [message])),
      kw('test.crash', 'x'),
      kw('test.value', 'unencodable'),
      { method: 'execute_kw', args: [DB, UID, 'wrong', 'test.echo', 'search', [[]]] },
      kw('saas_portal.nope', 'search', [[]]),
    ]);
    expect(outs.map((o) => o.fault)).toEqual([
      { faultCode: 3, faultString: 'Access denied' },
      { faultCode: 4, faultString: 'Only the portal administrator may do this' },
      { faultCode: 2, faultString: 'login is already taken; plan is full' },
      { faultCode: 2, faultString: "Object saas_portal.nope doesn't exist" },
      { faultCode: 2, faultString: 'login is taken' },
      { faultCode: 2, faultString: 'instance is suspended' },
      { faultCode: 2, faultString: 'too many requests' },
      { faultCode: 1, faultString: 'unknown operator "~"' },
      { faultCode: 1, faultString: 'too big' },
      { faultCode: 1, faultString: 'Internal server error' },
      { faultCode: 1, faultString: 'Internal server error' },
      { faultCode: 1, faultString: 'Internal server error' },
      { faultCode: 3, faultString: 'Access denied' },
      { faultCode: 2, faultString: "Object saas_portal.nope doesn't exist" },
    ]);
    expect(JSON.stringify(outs)).not.toMatch(/hunter2|db\.internal|ECONNREFUSED|wrong password/);
  });

  it('gets Odoo’s string fault codes on the legacy /xmlrpc/object and /xmlrpc/common', async () => {
    const outs = await pythonCalls(`${base}/xmlrpc/object`, [
      kw('test.fail', 'unauthenticated', ['x']),
      kw('test.fail', 'forbidden', ['Only the portal administrator may do this']),
      kw('test.fail', 'validation_failed'),
      kw('test.fail', 'not_found', ["Object x doesn't exist"]),
      kw('test.crash', 'x'),
      kw('test.fail', 'malformed_request', ['bad domain']),
      kw('test.echo', 'search', [[]]),
    ]);
    expect(outs.slice(0, 6).map((o) => o.fault)).toEqual([
      { faultCode: 'AccessDenied', faultString: 'Access denied' },
      { faultCode: 'warning -- AccessError\n\nOnly the portal administrator may do this', faultString: '' },
      { faultCode: 'warning -- UserError\n\nlogin is already taken; plan is full', faultString: '' },
      { faultCode: 'warning -- UserError\n\nObject x doesn\'t exist', faultString: '' },
      { faultCode: 'Internal server error', faultString: '' },
      { faultCode: 'bad domain', faultString: '' },
    ]);
    expect(plain(outs[6]!.ok!)).toMatchObject({ legacy: true, transport: 'xmlrpc' });
    const [v] = await pythonCalls(`${base}/xmlrpc/common`, [{ method: 'version' }]);
    expect(plain(v!.ok!)).toEqual(version);
  });

  it('reaches the db service, and gets fault 1 for a service Odoo does not have', async () => {
    const [list] = await pythonCalls(`${base}/xmlrpc/2/db`, [{ method: 'list' }]);
    expect(list).toEqual({ ok: ['list', [['str', DB]]] });
    expect(received.at(-1)).toMatchObject({ service: 'db', method: 'list', args: [] });
    const [report] = await pythonCalls(`${base}/xmlrpc/2/report`, [{ method: 'render_report' }]);
    expect(report!.fault).toEqual({ faultCode: 1, faultString: 'unknown RPC service: "report"' });
  });
});

describe('npm odoo-await', () => {
  const client = (password = PASSWORD) => new OdooAwait({ baseUrl: 'http://127.0.0.1', port, db: DB, username: 'admin', password });

  it('connects, calls execute_kw and reads results', async () => {
    const odoo = client();
    expect(await odoo.connect()).toBe(UID);
    const echo = (await odoo.searchRead('test.echo', [['name', '=', 'client.odoo.local']], ['name'], { limit: 1 })) as unknown;
    expect(echo).toMatchObject({ db: DB, model: 'test.echo', method: 'search_read', transport: 'xmlrpc', legacy: false });
    expect(received.at(-1)!.args.slice(0, 5)).toEqual([DB, UID, PASSWORD, 'test.echo', 'search_read']);
    expect(await odoo.execute_kw('test.value', 'records', [[]])).toEqual(values.records);
    expect(await odoo.execute_kw('test.value', 'dict', [[]])).toEqual({ a: 1, nested: { b: [] } });
    expect(await odoo.execute_kw('test.value', 'big', [[]])).toBe(5_000_000_000);
    expect(await odoo.execute_kw('test.value', 'none', [[]])).toBe(false);
    expect(await odoo.execute_kw('test.value', 'bytes', [[]])).toEqual(Buffer.from([0, 255]));
  });

  it('refuses to connect with a bad password (authenticate answers False)', async () => {
    await expect(client('wrong').connect()).rejects.toMatch(/invalid credentials/);
  });

  it('sees faults with their codes', async () => {
    const odoo = client();
    await odoo.connect();
    await expect(odoo.execute_kw('test.fail', 'forbidden', [['not yours']])).rejects.toMatchObject({ faultCode: 4, faultString: 'not yours' });
    await expect(odoo.execute_kw('test.fail', 'validation_failed', [[]])).rejects.toMatchObject({ faultCode: 2, faultString: 'login is already taken; plan is full' });
    await expect(odoo.execute_kw('test.nope', 'search', [[]])).rejects.toMatchObject({ faultCode: 2, faultString: "Object test.nope doesn't exist" });
    await expect(odoo.execute_kw('test.fail', 'unauthenticated', [[]])).rejects.toMatchObject({ faultCode: 3, faultString: 'Access denied' });
  });
});

describe('npm odoo-xmlrpc-ts', () => {
  const client = (password = PASSWORD) => new OdooClient({ url: base, db: DB, username: 'admin', password });

  it('reads version, authenticates and sends kwargs', async () => {
    const odoo = client();
    expect(await odoo.version()).toEqual(version);
    expect(await odoo.authenticate()).toBe(UID);
    const echo = await odoo.search('test.echo', [['name', '=', 'x']], { limit: 1, offset: 0 });
    expect(echo).toMatchObject({ method: 'search', args: [[['name', '=', 'x']]], kwargs: { limit: 1, offset: 0 } });
    expect(await odoo.execute('test.value', 'records', [[1]], { fields: ['name'] })).toEqual(values.records);
  });

  it('reports bad credentials and faults as its own errors', async () => {
    await expect(client('wrong').authenticate()).rejects.toThrow(/Authentication failed/);
    const odoo = client();
    await expect(odoo.execute('test.fail', 'forbidden', ['not yours'])).rejects.toThrow(/Method forbidden failed on test.fail: Error: XML-RPC fault: not yours/);
    await expect(odoo.execute('test.crash', 'x')).rejects.toThrow(/XML-RPC fault: Internal server error$/);
  });
});

describe('JSON-RPC over raw HTTP', () => {
  async function rpc(path: string, body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) {
    const res = await fetch(`${base}${path}`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
    return { status: res.status, type: res.headers.get('content-type'), json: (await res.json()) as Record<string, unknown> };
  }
  const call = (service: string, method: string, args: unknown[], id: unknown = 1) => ({ jsonrpc: '2.0', method: 'call', params: { service, method, args }, id });

  it('answers common.version itself and dispatches the rest with transport jsonrpc', async () => {
    expect((await rpc('/jsonrpc', call('common', 'version', [], 'abc'))).json).toEqual({ jsonrpc: '2.0', id: 'abc', result: version });
    const login = await rpc('/jsonrpc', call('common', 'login', [DB, 'admin', PASSWORD], 2));
    expect(login).toEqual({ status: 200, type: 'application/json; charset=utf-8', json: { jsonrpc: '2.0', id: 2, result: UID } });
    const echo = await rpc('/jsonrpc', call('object', 'execute_kw', [DB, UID, PASSWORD, 'test.echo', 'search', [[['name', '=', 'x']]], { limit: 1 }], 3));
    expect(echo.json.result).toEqual({ db: DB, model: 'test.echo', method: 'search', args: [[['name', '=', 'x']]], kwargs: { limit: 1 }, legacy: false, transport: 'jsonrpc' });
  });

  it('accepts 64 levels of nesting in an argument', async () => {
    // execute_kw's args list is the outer level: [deep] nests 64 deep.
    const deep = JSON.parse('['.repeat(63) + ']'.repeat(63)) as unknown;
    const res = await rpc('/jsonrpc', call('object', 'execute_kw', [DB, UID, PASSWORD, 'test.echo', 'write', [deep]]));
    expect((res.json.result as { args: unknown[] }).args).toEqual([deep]);
  });

  it('sends results the way Odoo’s JSON encoder does, a null result as false', async () => {
    const get = async (name: string) => (await rpc('/jsonrpc', call('object', 'execute_kw', [DB, UID, PASSWORD, 'test.value', name, []]))).json.result;
    expect(await get('none')).toBe(false);
    expect(await get('undef')).toBe(false);
    expect(await get('list')).toEqual([1, 'a', false, null]);
    expect(await get('date')).toBe('2024-01-02 03:04:05');
    expect(await get('bytes')).toBe('AP8=');
    expect(await get('records')).toEqual(values.records);
  });

  it('answers errors in Odoo’s shape, code 200 and the exception class in data.name', async () => {
    const error = async (code: string, message = `${code} happened`) =>
      (await rpc('/jsonrpc', call('object', 'execute_kw', [DB, UID, PASSWORD, 'test.fail', code, [message]], 9))).json;
    expect(await error('unauthenticated')).toEqual({
      jsonrpc: '2.0',
      id: 9,
      error: {
        code: 200,
        message: 'Odoo Server Error',
        data: { name: 'odoo.exceptions.AccessDenied', debug: '', message: 'Access denied', arguments: ['Access denied'], exception_type: 'access_denied', context: {} },
      },
    });
    const data = async (code: string) => ((await error(code)).error as { data: Record<string, unknown> }).data;
    expect(await data('forbidden')).toMatchObject({ name: 'odoo.exceptions.AccessError', message: 'forbidden happened', exception_type: 'access_error' });
    expect(await data('validation_failed')).toMatchObject({ name: 'odoo.exceptions.ValidationError', message: 'login is already taken; plan is full', exception_type: 'validation_error' });
    expect(await data('not_found')).toMatchObject({ name: 'odoo.exceptions.UserError', message: 'not_found happened', exception_type: 'user_error' });
    expect(await data('internal')).toMatchObject({ name: 'builtins.Exception', message: 'Internal server error', exception_type: 'internal_error' });
    const crash = await rpc('/jsonrpc', call('object', 'execute_kw', [DB, UID, PASSWORD, 'test.crash', 'x', []], 10));
    expect(crash.status).toBe(200);
    expect(JSON.stringify(crash.json)).not.toMatch(/hunter2|db\.internal|ECONNREFUSED/);
  });

  it('serves /web/session/authenticate through the dispatcher as authenticate_session', async () => {
    const ok = await rpc('/web/session/authenticate', { jsonrpc: '2.0', method: 'call', params: { db: DB, login: 'admin', password: PASSWORD }, id: 5 });
    expect(received.at(-1)).toEqual({ service: 'common', method: 'authenticate_session', args: [DB, 'admin', PASSWORD], legacy: false, transport: 'jsonrpc' });
    expect(ok.json).toEqual({ jsonrpc: '2.0', id: 5, result: { uid: UID, db: DB, username: 'admin', user_context: { lang: 'en_US', tz: 'UTC', uid: UID }, session_id: null } });
    const bad = await rpc('/web/session/authenticate', { jsonrpc: '2.0', method: 'call', params: { db: DB, login: 'admin', password: 'x' }, id: 6 });
    expect(bad.json.result).toMatchObject({ uid: false });
    const missing = await rpc('/web/session/authenticate', { jsonrpc: '2.0', method: 'call', params: { db: DB, password: 'x' }, id: 7 });
    expect(missing.json).toMatchObject({ id: 7, error: { code: 200, data: { name: 'werkzeug.exceptions.BadRequest', message: "authenticate() missing required argument: 'login'" } } });
  });

  it('serves /web/webclient/version_info, with or without a body', async () => {
    expect((await rpc('/web/webclient/version_info', { jsonrpc: '2.0', method: 'call', params: {}, id: 1 })).json).toEqual({ jsonrpc: '2.0', id: 1, result: version });
    expect((await rpc('/web/webclient/version_info', '', {})).json).toEqual({ jsonrpc: '2.0', id: null, result: version });
  });

  it.each([
    ['invalid JSON', '{"jsonrpc": "2.0", "params": ', /^Invalid JSON data: /],
    ['an empty body', '', /^Invalid JSON data: empty request/],
    ['an array', '[1, 2]', /expected an object/],
    ['params that are not an object', '{"params": [1]}', /params must be an object/],
    ['an unknown service', JSON.stringify(call('report', 'x', [])), /unknown RPC service: "report"/],
    ['no method', '{"params": {"service": "common", "args": []}}', /params.method must be a method name/],
    ['args that are not a list', '{"params": {"service": "common", "method": "login", "args": "x"}}', /params.args must be an array/],
    ['a NUL in text', JSON.stringify(call('common', 'login', ['a\u0000b'])), /must not contain NUL/],
    ['65 levels of nesting', JSON.stringify(call('object', 'execute_kw', ['['.repeat(65)])).replace('"' + '['.repeat(65) + '"', '['.repeat(65) + ']'.repeat(65)), /nested deeper than 64 levels/],
    ['a million levels of nesting', `{"params": {"service": "object", "method": "x", "args": ${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}}}`, /nested deeper than 64 levels/],
    ['bytes that are not UTF-8', Buffer.from([0x7b, 0xff, 0x7d]), /not valid utf-8/],
  ])('answers %s with a JSON-RPC error, never a 500', async (_name, body, message) => {
    const res = await fetch(`${base}/jsonrpc`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(res.status).toBe(200);
    const json = (await res.json()) as { error: { code: number; data: { name: string; message: string } } };
    expect(json.error.code).toBe(200);
    expect(json.error.data.name).toBe('werkzeug.exceptions.BadRequest');
    expect(json.error.data.message).toMatch(message);
  });

  it('answers a body over the limit with RequestEntityTooLarge', async () => {
    const body = JSON.stringify(call('common', 'login', ['x'.repeat(3 * 1024 * 1024)]));
    const res = await rpc('/jsonrpc', body);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ id: null, error: { code: 200, data: { name: 'werkzeug.exceptions.RequestEntityTooLarge', message: 'request body is too large (the limit is 2097152 bytes)' } } });
  });
});

describe('XML-RPC requests no client would send', () => {
  async function post(path: string, body: string | Buffer, headers: Record<string, string> = { 'content-type': 'text/xml' }) {
    const res = await fetch(`${base}${path}`, { method: 'POST', headers, body: typeof body === 'string' ? body : new Uint8Array(body) });
    const text = await res.text();
    const [python] = await pythonLoads([text]);
    return { status: res.status, type: res.headers.get('content-type'), text, python: python! };
  }
  const versionCall = '<?xml version="1.0"?><methodCall><methodName>version</methodName></methodCall>';
  const nested = (levels: number) =>
    `<methodCall><methodName>login</methodName><params><param><value>${'<array><data><value>'.repeat(levels)}1${'</value></data></array>'.repeat(levels)}</value></param></params></methodCall>`;

  it.each([
    ['malformed XML', '<methodCall><methodName>version</methodName>', /^malformed XML/],
    ['another root element', '<methodResponse><params/></methodResponse>', /expected <methodCall> as the root element/],
    ['a DTD with entity expansion', `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>${versionCall.slice(21)}`, /must not contain a DTD/],
    ['65 levels of nesting', nested(65), /nested deeper than 64 levels/],
    ['40000 levels of nesting (just under the body limit)', nested(40_000), /nested deeper than 64 levels/],
    ['an empty body', '', /^empty request/],
    ['JSON', '{"method": "version"}', /^malformed XML/],
    ['bytes that are not UTF-8', Buffer.from([0x3c, 0xff]), /not valid utf-8/],
    ['a body over the limit', `<methodCall><methodName>x</methodName><params><param><value>${'x'.repeat(3 * 1024 * 1024)}</value></param></params></methodCall>`, /^request body is too large \(the limit is 2097152 bytes\)$/],
  ])('answers %s with fault 1 (HTTP 200, text/xml) that Python reads', async (_name, body, message) => {
    const res = await post('/xmlrpc/2/object', body);
    expect(res.status).toBe(200);
    expect(res.type).toBe('text/xml; charset=utf-8');
    expect(res.python.fault?.faultCode).toBe(1);
    expect(res.python.fault?.faultString).toMatch(message);
  });

  it('uses the message as faultCode on the legacy endpoint', async () => {
    const res = await post('/xmlrpc/object', '<oops');
    expect(res.python.fault).toEqual({ faultCode: expect.stringMatching(/^malformed XML/), faultString: '' });
  });

  it('reads XML-RPC whatever the content type says, or without one', async () => {
    for (const headers of [{ 'content-type': 'application/xml' }, { 'content-type': 'application/octet-stream' }, { 'content-type': 'text/plain; charset=utf-8' }, {}] as Record<string, string>[]) {
      const res = await post('/xmlrpc/2/common', versionCall, headers);
      expect(res.python, JSON.stringify(headers)).toEqual({ ok: expect.arrayContaining(['dict']) } satisfies PyOutcome);
    }
  });

  it('reads a body in the encoding its declaration names', async () => {
    const latin1 = Buffer.concat([
      Buffer.from("<?xml version='1.0' encoding='iso-8859-1'?><methodCall><methodName>login</methodName><params><param><value><string>"),
      Buffer.from([0xe9]),
      Buffer.from('</string></value></param></params></methodCall>'),
    ]);
    const res = await post('/xmlrpc/2/common', latin1);
    expect(res.python).toEqual({ ok: ['bool', false] });
    expect(received.at(-1)).toMatchObject({ method: 'login', args: ['é'] });
  });
});

describe('logging', () => {
  it('logs the real error of an internal failure, which the caller never sees', async () => {
    const lines: string[] = [];
    const logged = Fastify({ logger: { level: 'error', stream: { write: (line: string) => void lines.push(line) } } });
    await logged.register(async (scope) => odooRpcRoutes(scope, { call: dispatch, version }));
    try {
      const res = await logged.inject({ method: 'POST', url: '/jsonrpc', payload: { params: { service: 'object', method: 'execute_kw', args: [DB, UID, PASSWORD, 'test.crash', 'x', []] } } });
      expect(res.json()).toMatchObject({ error: { data: { message: 'Internal server error' } } });
      expect(res.body).not.toContain('hunter2');
      expect(lines.join('')).toContain('ECONNREFUSED db.internal:5432');
      expect(lines.join('')).toContain('Odoo RPC request failed');
    } finally {
      await logged.close();
    }
  });
});
