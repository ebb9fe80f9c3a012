import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeSoapRequest } from '../../src/facades/apiscp/soap/soap-codec.js';
import { auditMark, auditSince } from '../support/audit.js';
import { startFuzzWorld, type FuzzWorld } from './fuzz-world.js';

/**
 * Issue 12, item 5: a NUL (U+0000) that reached PostgreSQL was a 500 ("invalid byte sequence"). The
 * shared hook refused it in bodies Fastify parses; doors that decode their own bodies (the CRM's JSON
 * and forms, SOAP, XML-RPC) missed it. Now every door answers 400 in its own format, and nothing runs.
 */

const NUL = 'text must not contain NUL (U+0000) characters';
const REMP_NUL = { status: 'error', message: NUL };

let w: FuzzWorld;
let mark: number;
beforeAll(async () => {
  w = await startFuzzWorld();
  mark = await auditMark(w.t);
});
afterAll(() => w?.close());

const crm = async (url: string, headers: Record<string, string>, body: string, type = 'application/json') => {
  const res = await w.send('POST', url, { ...headers, 'content-type': type }, body);
  return { status: res.status, body: JSON.parse(res.body) as unknown };
};

describe('the CRM door (REMP): 400 in its error shape', () => {
  it('login email, as JSON and as a form', async () => {
    expect(await crm('/api/v1/users/login', {}, JSON.stringify({ email: 'fuzz-user@example.com\u0000', password: 'fuzz-user-pass' }))).toEqual({ status: 400, body: REMP_NUL });
    expect(await crm('/api/v1/users/login', {}, 'email=fuzz-user%40example.com%00&password=fuzz-user-pass', 'application/x-www-form-urlencoded')).toEqual({ status: 400, body: REMP_NUL });
  });

  it('register names and keys: no user is made', async () => {
    for (const body of [{ first_name: 'Ann\u0000' }, { last_name: '\u0000' }, { ['note\u0000']: 'x' }]) {
      expect(await crm('/api/v1/users/register', {}, JSON.stringify({ email: 'nul-user@example.com', password: 'secret-pass', ...body }))).toEqual({ status: 400, body: REMP_NUL });
    }
    expect(await crm('/api/v1/users/register', {}, 'email=nul-user%40example.com&password=secret-pass&first_name=A%00', 'application/x-www-form-urlencoded')).toEqual({ status: 400, body: REMP_NUL });
    // The address is still free: none of the refused registrations made the user.
    const ok = await crm('/api/v1/users/register', {}, JSON.stringify({ email: 'nul-user@example.com', password: 'secret-pass' }));
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
  });

  it('family codes, payment and subscription emails', async () => {
    for (const url of ['/api/v1/family/activate', '/api/v1/family/deactivate']) {
      expect(await crm(url, w.crmUser, JSON.stringify({ code: 'abc\u0000' })), url).toEqual({ status: 400, body: REMP_NUL });
    }
    const activateByQuery = await w.send('GET', '/api/v1/family/activate?code=abc%00', w.crmUser);
    expect([activateByQuery.status, JSON.parse(activateByQuery.body)]).toEqual([400, REMP_NUL]);
    expect(await crm('/api/v1/payments/create', w.crmApi, JSON.stringify({ email: 'fuzz-user@example.com\u0000', subscription_type_id: 1, amount: 10 }))).toEqual({ status: 400, body: REMP_NUL });
    expect(await crm('/api/v1/subscriptions/create', w.crmApi, 'email=fuzz-user%40example.com%00&subscription_type_id=1&is_paid=1', 'application/x-www-form-urlencoded')).toEqual({ status: 400, body: REMP_NUL });
  });
});

describe('every other door: 400 in its own format', () => {
  it('HSP, admin and client JSON', async () => {
    const hsp = await w.send('POST', '/v1/clients', { authorization: w.reseller.auth, 'content-type': 'application/json' }, JSON.stringify({ package_uid: 'spamstopshere-standard', user_count: 1, name: 'A\u0000', domains: [{ name: 'nul.example' }] }));
    expect([hsp.status, JSON.parse(hsp.body)]).toEqual([400, { errors: { base: [NUL] } }]);
    const admin = await w.send('POST', '/admin/v1/session', { 'content-type': 'application/json' }, JSON.stringify({ login: 'a\u0000', password: 'x' }));
    expect([admin.status, JSON.parse(admin.body)]).toEqual([400, { error: { code: 'malformed_request', message: NUL } }]);
    const client = await w.send('POST', '/client/v1/session', { 'content-type': 'application/json' }, JSON.stringify({ email: 'a\u0000@example.com', password: 'x' }));
    expect([client.status, JSON.parse(client.body)]).toEqual([400, { error: { code: 'malformed_request', message: NUL } }]);
  });

  it('SOAP: a string that reaches the door as base64Binary is a Client fault', async () => {
    const envelope = encodeSoapRequest('admin_get_plan', ['a\u0000b'], ['name']);
    expect(envelope).toContain('xsd:base64Binary'); // XML cannot carry it as text
    const res = await w.send('POST', `/soap?authkey=${w.t.operatorKey}`, { 'content-type': 'text/xml' }, envelope);
    expect(res.status).toBe(500);
    expect(res.body).toContain(`<faultcode>SOAP-ENV:Client</faultcode><faultstring>${NUL}</faultstring>`);
  });

  it('XML-RPC and JSON-RPC: a fault, never an internal one', async () => {
    const call = `<?xml version="1.0"?><methodCall><methodName>authenticate</methodName><params><param><value><string>hostplane</string></value></param><param><value><string>a&#0;b</string></value></param><param><value><string>x</string></value></param><param><value><struct></struct></value></param></params></methodCall>`;
    const xml = await w.send('POST', '/xmlrpc/2/common', { 'content-type': 'text/xml' }, call);
    expect(xml.status).toBe(200);
    expect(xml.body).toMatch(/<fault>.*<int>1<\/int>/s);
    expect(xml.body).not.toContain('Internal server error');
    const json = await w.send('POST', '/jsonrpc', { 'content-type': 'application/json' }, JSON.stringify({ params: { service: 'common', method: 'authenticate', args: ['hostplane', 'a\u0000', 'x', {}] } }));
    expect(JSON.parse(json.body).error.data).toMatchObject({ name: 'werkzeug.exceptions.BadRequest', message: `Invalid JSON-RPC data: ${NUL}` });
  });

  it("the console's forms: an HTML page, not Fastify's JSON", async () => {
    const res = await w.send('POST', `/console/clients/${w.clientId}/login`, { 'content-type': 'application/x-www-form-urlencoded' }, 'login=a%00&password=x');
    expect(res.status).toBe(400);
    expect(res.type).toMatch(/^text\/html/);
    expect(res.body).toContain(NUL);
  });

  it('a NUL that gets past every door (a Host header) is still a 400 when the database refuses it', async () => {
    const res = await w.send('GET', '/v1/branding', { host: 'a\u0000b.example' });
    expect([res.status, JSON.parse(res.body)]).toEqual([400, { errors: { base: [NUL] } }]);
  });

  it('logged no internal failure and changed nothing', async () => {
    expect(w.internalErrors).toEqual([]);
    const events = await auditSince(w.t, mark);
    expect(events.filter((e) => !w.accepted.has(e.request_id ?? '')).map((e) => e.action)).toEqual([]);
  });
});
