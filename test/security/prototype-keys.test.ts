import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiscpServer, type ApiscpServer } from '../apiscp/apiscp-harness.js';
import { encodeSoapRequest } from '../../src/facades/apiscp/soap/soap-codec.js';
import { auditMark, auditSince } from '../support/audit.js';
import { seedDemoCatalog } from '../support/test-app.js';
import { startFuzzWorld, type FuzzWorld } from './fuzz-world.js';

/**
 * Issue 12, item 4: keys named like Object.prototype members ("toString", "constructor", "valueOf",
 * "__proto__") were a 500 wherever an error map or a lookup table was a plain object. Each door now
 * answers its own 4xx naming the key, and nothing changes.
 */

const NAMES = ['toString', 'constructor', 'valueOf', 'hasOwnProperty'];
const PROTO_MESSAGE = 'JSON objects must not have a "__proto__" key, nor a "constructor" key holding "prototype"';

let w: FuzzWorld;
let mark: number;
beforeAll(async () => {
  w = await startFuzzWorld();
  mark = await auditMark(w.t);
});
afterAll(() => w?.close());

const json = async (method: string, url: string, headers: Record<string, string>, body: unknown) => {
  const res = await w.send(method, url, { ...headers, 'content-type': 'application/json' }, typeof body === 'string' ? body : JSON.stringify(body));
  return { status: res.status, body: JSON.parse(res.body) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
};
const keyed = (name: string, value: unknown = 'x') => JSON.parse(`{${JSON.stringify(name)}: ${JSON.stringify(value)}}`) as Record<string, unknown>;

describe('query parameters named like prototype members', () => {
  it('GET /v1/audit?toString=1 and the other doors\' list filters: 422 naming the parameter', async () => {
    for (const name of NAMES) {
      const hsp = await w.send('GET', `/v1/audit?${name}=1`, { authorization: w.reseller.auth });
      expect(hsp.status, hsp.body).toBe(422);
      expect(JSON.parse(hsp.body).errors[name]).toEqual(['is not a known attribute']);
      const admin = await w.send('GET', `/admin/v1/audit?${name}=1`, w.operator);
      expect(admin.status, admin.body).toBe(422);
      expect(JSON.parse(admin.body).error.fields[name]).toEqual(['is not a known attribute']);
      const client = await w.send('GET', `/client/v1/domains?${name}=1`, w.clientSession);
      expect(client.status, client.body).toBe(422);
      expect(JSON.parse(client.body).error.fields[name]).toEqual(['is not a known attribute']);
    }
  });
});

describe('JSON bodies with prototype-named keys', () => {
  it('CRM register (no credentials): 400 Payload error in REMP\'s shape, no user made', async () => {
    for (const name of [...NAMES, '__proto__']) {
      const res = await json('POST', '/api/v1/users/register', {}, { email: `proto-${name.length}@example.com`, password: 'secret-pass', ...keyed(name) });
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body).toEqual({ status: 'error', message: 'Payload error', errors: [`${name}: is not a known attribute`] });
    }
    const login = await json('POST', '/api/v1/users/login', {}, { email: 'proto-8@example.com', password: 'secret-pass' });
    expect(login.status).toBe(400);
    expect(login.body.error).toBe('auth_failed');
  });

  it('HSP clients and webhooks: 422 with the key as a field', async () => {
    for (const name of NAMES) {
      const client = await json('POST', '/v1/clients', { authorization: w.reseller.auth }, { package_uid: 'spamstopshere-standard', user_count: 1, domains: [{ name: 'proto.example' }], ...keyed(name) });
      expect(client.status, JSON.stringify(client.body)).toBe(422);
      expect(client.body.errors[name]).toEqual(['is not a known attribute']);
      const hook = await json('POST', '/v1/webhooks', { authorization: w.reseller.auth }, { url: 'https://hooks.example.com/x', ...keyed(name) });
      expect(hook.status, JSON.stringify(hook.body)).toBe(422);
      expect(hook.body.errors[name]).toEqual(['is not a known attribute']);
    }
  });

  it('admin packages, resellers and family types: 422 in the admin shape', async () => {
    for (const name of NAMES) {
      for (const [url, body] of [
        ['/admin/v1/packages', { uid: 'proto-plan', name: 'Proto' }],
        ['/admin/v1/resellers', { name: 'Proto', username: 'proto-user', email_address: 'proto@example.com' }],
        ['/admin/v1/family-types', { parent: 'fuzz_year', child: 'fuzz_year', count: 1 }],
        ['/admin/v1/webhooks', { url: 'https://hooks.example.com/x' }],
      ] as const) {
        const res = await json('POST', url, w.operator, { ...body, ...keyed(name) });
        expect(res.status, `${url} ${JSON.stringify(res.body)}`).toBe(422);
        expect(res.body.error.code).toBe('validation_failed');
        expect(res.body.error.fields[name], url).toEqual(['is not a known attribute']);
      }
    }
  });

  it('the client API: 422 in its shape', async () => {
    for (const name of NAMES) {
      const answer = await w.send('GET', `/client/v1/family-codes?status=active&${name}=1`, w.clientSession);
      const res = { status: answer.status, body: JSON.parse(answer.body) as { error: { fields: Record<string, string[]> } } };
      expect(res.status, answer.body).toBe(422);
      expect(res.body.error.fields[name]).toEqual(['is not a known attribute']);
    }
  });

  it('__proto__ and constructor.prototype keys on the JSON doors: 400 that says why', async () => {
    for (const body of ['{"__proto__": {"admin": true}}', '{"name": "x", "constructor": {"prototype": {"admin": true}}}']) {
      const hsp = await json('POST', '/v1/clients', { authorization: w.reseller.auth }, body);
      expect(hsp).toEqual({ status: 400, body: { errors: { base: [PROTO_MESSAGE] } } });
      const admin = await json('POST', '/admin/v1/packages', w.operator, body);
      expect(admin).toEqual({ status: 400, body: { error: { code: 'malformed_request', message: PROTO_MESSAGE } } });
    }
  });
});

describe('ApisCP add-site and edit-site, Odoo do_upgrade_database', () => {
  it('cpcmd over JSON: the key is an unknown service, 422', async () => {
    for (const name of NAMES) {
      const add = await json('POST', '/api/v1/cpcmd/admin:add-site', w.operator, { args: ['proto.example', 'protoadmin', keyed(name, 1)] });
      expect(add.status, JSON.stringify(add.body)).toBe(422);
      expect(add.body.error.fields[name]).toEqual([`${name}: unknown service`]);
      const edit = await json('POST', '/api/v1/cpcmd/admin:edit-site', w.operator, { args: [w.domain, { siteinfo: keyed(name, 1) }] });
      expect(edit.status, JSON.stringify(edit.body)).toBe(422);
      expect(edit.body.error.message).toBe(`siteinfo,${name.toLowerCase()}: unknown parameter of service siteinfo`);
      const usage = await json('POST', '/api/v1/cpcmd/admin:get-usage', w.operator, { args: [null, keyed(name, 1)] });
      expect(usage.status, JSON.stringify(usage.body)).toBe(422);
    }
  });

  it('cpcmd over SOAP: a Server fault naming the key (Abort-On: error), false without the header', async () => {
    for (const name of NAMES) {
      const envelope = encodeSoapRequest('admin_add_site', ['proto.example', 'protoadmin', keyed(name, 1)], ['domain', 'admin', 'opts']);
      const lenient = await w.send('POST', `/soap?authkey=${w.t.operatorKey}`, { 'content-type': 'text/xml' }, envelope);
      expect(lenient.status, lenient.body).toBe(200);
      expect(lenient.body).toContain('<return xsi:type="xsd:boolean">false</return>');
      const res = await w.send('POST', `/soap?authkey=${w.t.operatorKey}`, { 'content-type': 'text/xml', 'abort-on': 'error' }, envelope);
      expect(res.status).toBe(500);
      expect(res.body).toContain('<faultcode>SOAP-ENV:Server</faultcode>');
      expect(res.body).toContain(`<faultstring>${name} ${name}: unknown service</faultstring>`);
    }
  });

  it('do_upgrade_database: the key is reported as unknown, as the portal reports problems', async () => {
    for (const name of [...NAMES, '__proto__']) {
      const body = { jsonrpc: '2.0', id: 1, params: { service: 'object', method: 'execute_kw', args: ['hostplane', w.portal.uid, w.portal.password, 'saas.config', 'do_upgrade_database', [keyed(name, 1), w.portal.instanceId]] } };
      const res = await json('POST', '/jsonrpc', {}, JSON.stringify(body));
      expect(res.body.error, JSON.stringify(res.body)).toBeUndefined();
      expect(JSON.parse(res.body.result as string)).toEqual({ 'fuzz-instance.odoo.test': { [name]: [`unknown key ${name}`] } });
    }
  });

  it('changed nothing', async () => {
    expect(w.internalErrors).toEqual([]);
    expect((await auditSince(w.t, mark)).map((e) => e.action)).toEqual([]);
  });
});

describe('bin/cpcmd and the account verbs with prototype-named keys', () => {
  let s: ApiscpServer;
  beforeAll(async () => {
    s = await startApiscpServer();
    await seedDemoCatalog(s.t);
    const made = await s.tool('cpcmd', 'admin:add-site', 'cli-proto.example', 'protoadmin');
    expect(made.code, made.stderr).toBe(0);
  });
  afterAll(() => s?.close());

  it('a clear error and a non-zero exit, never a stack trace', async () => {
    const cases: [string[], number, string][] = [
      [['cpcmd', 'admin:add-site', 'x.example', 'adm', '[toString:1]'], 5, 'toString: unknown service'],
      [['cpcmd', 'admin:add-site', 'x.example', 'adm', '[constructor:1]'], 5, 'constructor: unknown service'],
      [['cpcmd', 'admin:edit-site', 'cli-proto.example', '[valueOf:1]'], 5, 'valueOf: unknown service'],
      [['cpcmd', 'admin:edit-site', 'cli-proto.example', '[siteinfo:[toString:1]]'], 5, 'siteinfo,tostring: unknown parameter of service siteinfo'],
      [['cpcmd', 'admin:add-site', 'x.example', 'adm', '[__proto__:[siteinfo:[email:a@example.com]]]'], 1, PROTO_MESSAGE],
      [['cpcmd', 'admin:edit-site', 'cli-proto.example', '[constructor:[prototype:1]]'], 1, PROTO_MESSAGE],
      [['EditDomain', '-c', 'siteinfo,__proto__=1', 'cli-proto.example'], 5, 'siteinfo,__proto__: unknown parameter of service siteinfo'],
      [['AddDomain', '-c', 'siteinfo,domain=y.example', '-c', 'siteinfo,admin_user=adm', '-c', 'toString,x=1'], 5, 'tostring: unknown service'],
    ];
    const before = await auditMark(s.t);
    for (const [argv, code, message] of cases) {
      const r = await s.tool(argv[0]!, ...argv.slice(1));
      expect(r.code, `${argv.join(' ')}: ${r.stderr}`).toBe(code);
      expect(r.stderr).toContain(message);
      expect(r.stderr).not.toMatch(/\n\s+at |TypeError|Internal/);
    }
    expect((await auditSince(s.t, before)).map((e) => e.action)).toEqual([]);
  });
});
