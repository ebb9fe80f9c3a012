import { execFile } from 'node:child_process';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeSoapRequest } from '../../src/facades/apiscp/soap/soap-codec.js';
import { runBin } from '../cli/cli-harness.js';
import { auditMark, auditSince } from '../support/audit.js';
import { fromPhp, requirePhpSoap, runPhpSoap, soapVar, type PhpCall, type PhpOutcome, type PhpSoapOptions } from '../support/php-soap.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { expectServerUnchanged, serverSnapshot, startApiscpServer, type ApiscpServer } from './apiscp-harness.js';

// The SOAP door's transport as the billing modules' connectors use it: the WSDL's URL spellings,
// HTTPS with Clientexec's constructor, WHMCS's headers and cookie, Abort-On, and SoapVar arguments.

let s: ApiscpServer;
let tlsDir: string;
let tls: TestApp;
let tlsBase: string;
const exec = promisify(execFile);

beforeAll(async () => {
  await requirePhpSoap();
  s = await startApiscpServer();
  tlsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostplane-tls-'));
  const cert = path.join(tlsDir, 'cert.pem');
  const key = path.join(tlsDir, 'key.pem');
  await exec('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
  tls = await createTestApp({ HOSTPLANE_TLS_CERT: cert, HOSTPLANE_TLS_KEY: key });
  await tls.app.server.listen({ port: 0, host: '127.0.0.1' });
  tlsBase = `https://127.0.0.1:${(tls.app.server.server.address() as AddressInfo).port}`;
}, 60_000);
afterAll(async () => {
  await tls?.close();
  await s?.close();
  if (tlsDir) fs.rmSync(tlsDir, { recursive: true, force: true });
});

const ABORT_ON = ['Abort-On: error'];
const keyed = (base = s.url, key = s.t.operatorKey) => `${base}/soap?authkey=${encodeURIComponent(key)}`;
const soap = (calls: PhpCall[], opts: Partial<PhpSoapOptions> = {}): Promise<PhpOutcome[]> => runPhpSoap(calls, { wsdl: `${s.url}/apnscp.wsdl`, location: keyed(), ...opts });

function value(o: PhpOutcome | undefined): unknown {
  if (!o?.ok) throw new Error(`expected a result, got ${JSON.stringify(o)}`);
  return fromPhp(o.value!);
}

async function rawSoap(operation: string, args: unknown[], headers: Record<string, string> = {}, key = s.t.operatorKey): Promise<{ status: number; body: string }> {
  const res = await fetch(keyed(s.url, key), { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: `"urn:apnscp.api.soap#${operation}"`, ...headers }, body: encodeSoapRequest(operation, args) });
  return { status: res.status, body: await res.text() };
}

describe('the WSDL at every URL billing modules use', () => {
  it('serves the same WSDL at /apnscp.wsdl, any number of leading slashes, ?wsdl and GET /soap?wsdl, for GET and HEAD', async () => {
    const reference = await fetch(`${s.url}/apnscp.wsdl`);
    expect(reference.status).toBe(200);
    const wsdl = await reference.text();
    expect(wsdl).toContain('<operation name="admin_add_site"');
    // fetch() would normalise "//": a raw request keeps the path exactly as Clientexec sends it.
    for (const url of ['/apnscp.wsdl', '//apnscp.wsdl', '///apnscp.wsdl', '/apnscp.wsdl?wsdl', '//apnscp.wsdl?wsdl', '/soap?wsdl', '/soap?WSDL', '/soap?wsdl=1&x=2']) {
      const get = await s.t.app.server.inject({ method: 'GET', url });
      expect(get.statusCode, url).toBe(200);
      expect(get.headers['content-type'], url).toBe('text/xml; charset=utf-8');
      expect(get.body, url).toBe(wsdl);
      const head = await s.t.app.server.inject({ method: 'HEAD', url });
      expect(head.statusCode, url).toBe(200);
      expect(head.body, url).toBe('');
    }
  });

  it('PHP loads the WSDL from the double-slash URL and from /soap?wsdl', async () => {
    for (const wsdl of [`${s.url}//apnscp.wsdl`, `${s.url}/soap?wsdl`]) {
      const [who] = await soap([{ op: 'common_whoami', headers: ABORT_ON }], { wsdl });
      expect(value(who), wsdl).toBe('admin');
    }
  });

  it('GET /soap without ?wsdl is a SOAP fault with 405, not a call', async () => {
    const res = await s.t.app.server.inject({ method: 'GET', url: `/soap?authkey=${s.t.operatorKey}` });
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD, POST');
    expect(res.body).toContain('<faultcode>SOAP-ENV:Client</faultcode>');
  });

  it('security: only the WSDL path is rewritten; every other doubled slash is still not found', async () => {
    const before = await serverSnapshot(s);
    for (const url of ['//soap', '//admin/v1/packages', '//api/v1/cpcmd/common:whoami', '//apnscp.wsdl/../admin/v1/packages', '//apnscp.wsdlx', '//apnscp.wsdl%2F..%2Fadmin%2Fv1%2Fpackages', '/x//apnscp.wsdl']) {
      const res = await s.t.app.server.inject({ method: 'GET', url, headers: { authorization: `Bearer ${s.t.operatorKey}` } });
      expect(res.statusCode, url).toBe(404);
      expect(res.body, url).not.toContain('<definitions');
    }
    const post = await s.t.app.server.inject({ method: 'POST', url: `//soap?authkey=${s.t.operatorKey}`, headers: { 'content-type': 'text/xml' }, payload: encodeSoapRequest('common_whoami', []) });
    expect(post.statusCode).toBe(404);
    const postWsdl = await s.t.app.server.inject({ method: 'POST', url: '//apnscp.wsdl', headers: { 'content-type': 'text/xml' }, payload: encodeSoapRequest('common_whoami', []) });
    expect(postWsdl.statusCode).toBe(404);
    await expectServerUnchanged(s, before);
  });
});

describe('HTTPS (HOSTPLANE_TLS_CERT / HOSTPLANE_TLS_KEY), as Clientexec calls', () => {
  // ApisCPAPI::create_client: https only, WSDL at "https://host:port//apnscp.wsdl", PHP's default WSDL cache.
  const clientexec = (calls: PhpCall[], extra: Partial<PhpSoapOptions> = {}) =>
    runPhpSoap(calls, {
      style: 'clientexec',
      wsdl: `${tlsBase}//apnscp.wsdl`,
      location: keyed(tlsBase, tls.operatorKey),
      caFile: path.join(tlsDir, 'cert.pem'),
      phpSettings: { 'soap.wsdl_cache_dir': tlsDir },
      ...extra,
    });

  it('runs a Clientexec create / look-up / delete over TLS with its exact constructor options', async () => {
    const out = await clientexec(
      [
        { op: 'common_whoami' },
        { op: 'admin_add_site', args: ['tls-ce.example', 'tlsceadmin', { 'siteinfo.enabled': 1, 'siteinfo.domain': 'tls-ce.example', 'siteinfo.admin_user': 'tlsceadmin', 'siteinfo.email': 'owner@tls-ce.example', 'siteinfo.plan': 'basic' }] },
        { op: 'admin_collect', args: [null, [], ['tls-ce.example']] },
        { op: 'admin_delete_site', args: ['tls-ce.example'] },
      ],
      { showRequest: true },
    );
    expect(out.every((o) => o.ok), JSON.stringify(out)).toBe(true);
    expect(value(out[0])).toBe('admin');
    expect(value(out[1])).toBe(true);
    expect((value(out[2]) as Record<string, { active: boolean }>)['tls-ce.example']).toMatchObject({ active: true, domain: 'tls-ce.example' });
    expect(out[0]!.request_headers).toMatch(/^POST \/soap\?authkey=/);
    expect(out[0]!.request_headers).toMatch(/\r\nAbort-On: error\r\n/);
  });

  it('a refused call over TLS is a fault carrying the message (Clientexec sends Abort-On: error)', async () => {
    const [bad] = await clientexec([{ op: 'admin_add_site', args: ['not a domain', 'x', []] }]);
    expect(bad!.status).toBe(500);
    expect(bad!.fault).toMatchObject({ faultcode: 'SOAP-ENV:Server', faultstring: expect.stringContaining('not a valid domain name') });
  });

  it('security: PHP that does not trust the certificate refuses to talk; plain http to the TLS port gets nothing', async () => {
    const [untrusted] = await runPhpSoap([{ op: 'common_whoami' }], { style: 'clientexec', wsdl: `${tlsBase}//apnscp.wsdl`, location: keyed(tlsBase, tls.operatorKey), phpSettings: { 'soap.wsdl_cache_enabled': '0', 'openssl.cafile': path.join(tlsDir, 'nonexistent.pem') } });
    expect(untrusted!.ok).toBeUndefined();
    expect(untrusted!.fault!.faultstring).toMatch(/failed to load|Could not connect|SSL/i);
    const plain = await fetch(`${tlsBase.replace('https:', 'http:')}/apnscp.wsdl`).then(
      (r) => r.status,
      () => 'refused',
    );
    expect(plain === 'refused' || plain === 400).toBe(true);
  });

  // Every refusal is covered in test/config.test.ts; here, two of them through the real `serve`.
  it('start-up: one variable alone, or a key that is not the certificate\'s, stops serve with exit 1 before anything is created', async () => {
    const cert = path.join(tlsDir, 'cert.pem');
    const otherKey = path.join(tlsDir, 'other-key.pem');
    await exec('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', otherKey]);
    const cases: [Record<string, string>, RegExp][] = [
      [{ HOSTPLANE_TLS_CERT: cert }, /HOSTPLANE_TLS_KEY: is required when HOSTPLANE_TLS_CERT is set/],
      [{ HOSTPLANE_TLS_CERT: cert, HOSTPLANE_TLS_KEY: otherKey }, /HOSTPLANE_TLS_KEY: the key in ".*other-key\.pem" does not belong to the certificate/],
    ];
    for (const [env, message] of cases) {
      const r = await runBin(['serve'], { HOSTPLANE_DATA_DIR: path.join(tlsDir, 'never-created'), PORT: '0', ...env }, 90_000);
      expect(r.code, JSON.stringify(env)).toBe(1);
      expect(r.stderr).toContain('hostplane: invalid configuration');
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toContain('PRIVATE KEY');
    }
    expect(fs.existsSync(path.join(tlsDir, 'never-created'))).toBe(false);
  }, 200_000);
});

describe('WHMCS connector: Abort-On, X-Forwarded-For and the esprit_id cookie', () => {
  const whmcs = (calls: PhpCall[], extra: Partial<PhpSoapOptions> = {}) => soap(calls, { style: 'whmcs', forwardedFor: '203.0.113.77', espritId: '', showRequest: true, ...extra });

  it('the key authenticates; the cookie (empty or not) and X-Forwarded-For change nothing, and the audit keeps the real address', async () => {
    const mark = await auditMark(s.t);
    const out = await whmcs([
      { op: 'admin_add_site', args: ['whmcs-transport.example', 'whmcstadmin', { 'siteinfo.email': 'owner@whmcs-transport.example', 'billing.invoice': 'WHMCS-7001' }] },
      { op: 'admin_deactivate_site', args: ['WHMCS-7001'] },
      { op: 'admin_activate_site', args: ['WHMCS-7001'] },
      { op: 'common_whoami' },
    ]);
    expect(out.map((o) => o.ok), JSON.stringify(out)).toEqual([true, true, true, true]);
    expect(value(out[3])).toBe('admin');
    for (const o of out) {
      expect(o.request_headers).toMatch(/\r\nAbort-On: error\r\n/);
      expect(o.request_headers).toMatch(/\r\nX-Forwarded-For: 203\.0\.113\.77\r\n/);
      expect(o.request_headers).toMatch(/\r\nCookie: esprit_id=;?\r\n/);
    }
    const events = await auditSince(s.t, mark);
    expect(events.map((e) => e.action)).toEqual(['client.created', 'client.suspended', 'client.activated']);
    // The server does not trust proxies: a billing system cannot put an address of its choice in the audit log.
    for (const e of events) expect(e.source_ip, e.action).toBe('127.0.0.1');

    // A real panel session id as the cookie neither replaces the key nor changes who the caller is.
    const [hijacked] = await whmcs([{ op: 'admin_hijack', args: ['whmcs-transport.example'] }]);
    const session = String(value(hijacked));
    const [who] = await whmcs([{ op: 'common_whoami' }], { espritId: session });
    expect(value(who)).toBe('admin');
    expect(who!.request_headers).toContain(`Cookie: esprit_id=${session}`);
  });

  it('security: a panel session cookie without the key, or with a wrong key, is "Invalid API key"; nothing changes', async () => {
    const [hijacked] = await whmcs([{ op: 'admin_hijack', args: ['whmcs-transport.example'] }]);
    const session = String(value(hijacked));
    const before = await serverSnapshot(s);
    for (const location of [`${s.url}/soap`, keyed(s.url, 'wrong-key'), `${s.url}/soap?esprit_id=${session}`]) {
      const out = await whmcs([{ op: 'admin_delete_site', args: ['whmcs-transport.example'] }, { op: 'common_whoami' }], { location, espritId: session });
      for (const o of out) expect(o.fault, location).toMatchObject({ faultcode: 'SOAP-ENV:Client', faultstring: 'Invalid API key' });
    }
    await expectServerUnchanged(s, before);
  });
});

describe('Abort-On: false for error-level failures without it, a fault with it', () => {
  beforeAll(async () => {
    const [added, suspended] = await soap([
      { op: 'admin_add_site', args: ['abort-levels.example', 'abortlvl', []], headers: ABORT_ON },
      { op: 'admin_add_site', args: ['abort-suspended.example', 'abortsus', []], headers: ABORT_ON },
      { op: 'admin_deactivate_site', args: ['abort-suspended.example'], headers: ABORT_ON },
    ]);
    expect(value(added)).toBe(true);
    expect(value(suspended)).toBe(true);
  });

  // Each error level the real functions reach, with the JSON door's code for the same call.
  const cases: { level: string; call: PhpCall; fn: [string, unknown[]] }[] = [
    { level: 'validation_failed', call: { op: 'admin_add_site', args: ['not a domain', 'x', []] }, fn: ['admin:add-site', ['not a domain', 'x', []]] },
    { level: 'validation_failed (domain taken)', call: { op: 'admin_add_site', args: ['abort-levels.example', 'other', []] }, fn: ['admin:add-site', ['abort-levels.example', 'other', []]] },
    { level: 'not_found', call: { op: 'admin_get_plan', args: ['no-such-plan'] }, fn: ['admin:get-plan', ['no-such-plan']] },
    { level: 'not_found (site)', call: { op: 'admin_edit_site', args: ['no-such-site.example', { 'diskquota.quota': 1 }] }, fn: ['admin:edit-site', ['no-such-site.example', { 'diskquota.quota': 1 }]] },
    { level: 'invalid_state', call: { op: 'admin_hijack', args: ['abort-suspended.example'] }, fn: ['admin:hijack', ['abort-suspended.example']] },
  ];

  it('the JSON door answers each of these as an error whatever the header', async () => {
    const codes = [];
    for (const c of cases) {
      const r = await s.fn(c.fn[0], c.fn[1]);
      codes.push(r.body.error?.code);
    }
    expect(codes).toEqual(['validation_failed', 'validation_failed', 'not_found', 'not_found', 'invalid_state']);
  });

  it('without the header each answers false (xsd:boolean, HTTP 200); with it, a Server fault carrying the message; nothing changes either way', async () => {
    const before = await serverSnapshot(s);
    const lenient = await soap(cases.map((c) => ({ ...c.call, headers: [] })));
    const strict = await soap(cases.map((c) => ({ ...c.call, headers: ABORT_ON })));
    for (const [i, c] of cases.entries()) {
      expect(lenient[i], c.level).toMatchObject({ ok: true, status: 200, value: ['boolean', false] });
      expect(strict[i]!.status, c.level).toBe(500);
      expect(strict[i]!.fault, c.level).toMatchObject({ faultcode: 'SOAP-ENV:Server' });
      expect(strict[i]!.fault!.faultstring, c.level).not.toBe('Internal error');
    }
    expect(strict[0]!.fault!.faultstring).toContain('not a valid domain name');
    expect(strict[2]!.fault!.faultstring).toContain('no-such-plan');
    expect(strict[4]!.fault!.faultstring).toContain('is suspended');
    await expectServerUnchanged(s, before);
  });

  it('parses the header like ApisCP: comma-separated levels in any case, possibly repeated', async () => {
    const call = cases[2]!.call;
    const spellings: [string[], boolean][] = [
      [['Abort-On: ERROR'], true],
      [['abort-on: warning, Error'], true],
      [['Abort-On: fatal', 'Abort-On: error'], true],
      [['Abort-On: fatal'], false],
      [['Abort-On: errors'], false],
      [['Abort-On: '], false],
    ];
    const out = await soap(spellings.map(([headers]) => ({ ...call, headers })));
    for (const [i, [headers, aborts]] of spellings.entries()) {
      if (aborts) expect(out[i]!.fault, headers.join('|')).toMatchObject({ faultcode: 'SOAP-ENV:Server' });
      else expect(out[i], headers.join('|')).toMatchObject({ ok: true, value: ['boolean', false] });
    }
  });

  it('security: a wrong key, a malformed envelope, an unknown operation and a body over the limit are faults whatever the header', async () => {
    const before = await serverSnapshot(s);
    for (const headers of [{}, { 'abort-on': 'error' }] as Record<string, string>[]) {
      const label = JSON.stringify(headers);
      const wrongKey = await rawSoap('common_whoami', [], headers, 'wrong-key');
      expect([wrongKey.status, wrongKey.body], label).toEqual([500, expect.stringContaining('<faultstring>Invalid API key</faultstring>')]);
      const unknown = await rawSoap('admin_nope', [], headers);
      expect([unknown.status, unknown.body], label).toEqual([500, expect.stringContaining("<faultstring>Function 'admin_nope' doesn't exist</faultstring>")]);
      const malformed = await fetch(keyed(), { method: 'POST', headers: { 'content-type': 'text/xml', ...headers }, body: '<SOAP-ENV:Envelope><oops' });
      expect(malformed.status, label).toBe(500);
      expect(await malformed.text(), label).toContain('<faultcode>SOAP-ENV:Client</faultcode>');
      const huge = await fetch(keyed(), { method: 'POST', headers: { 'content-type': 'text/xml', ...headers }, body: encodeSoapRequest('admin_get_plan', ['x'.repeat(2 * 1024 * 1024)]) });
      expect(huge.status, label).toBe(500);
      expect(await huge.text(), label).toContain('<faultstring>Request body is too large</faultstring>');
      const dtd = await fetch(keyed(), { method: 'POST', headers: { 'content-type': 'text/xml', ...headers }, body: '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body><ns1:common_whoami xmlns:ns1="urn:apnscp.api.soap">&a;</ns1:common_whoami></SOAP-ENV:Body></SOAP-ENV:Envelope>' });
      expect(dtd.status, label).toBe(500);
      expect(await dtd.text(), label).toContain('SOAP messages must not contain a DTD');
    }
    await expectServerUnchanged(s, before);
  });

  it('a successful keyed call never answers an empty body or nil where the function returned a value', async () => {
    for (const [operation, args] of [['common_whoami', []], ['admin_list_plans', []], ['admin_get_plan', ['basic']], ['admin_collect', [['siteinfo.domain'], [], ['abort-levels.example']]], ['admin_activate_site', ['abort-levels.example']]] as [string, unknown[]][]) {
      for (const headers of [{}, { 'abort-on': 'error' }] as Record<string, string>[]) {
        const res = await rawSoap(operation, args, headers);
        expect(res.status, operation).toBe(200);
        expect(res.body, operation).toMatch(new RegExp(`<ns1:${operation}Response><return xsi:type="[^"]+"`));
        expect(res.body, operation).not.toMatch(/<return xsi:nil/);
      }
    }
  });
});

describe('Blesta / HostBill / WISECP style arguments: SoapVar-wrapped values', () => {
  const opts = { 'siteinfo.email': 'owner@soapvar.example', 'billing.invoice': 'SV-1', 'diskquota.quota': 1500, 'ssh.enabled': false };

  it('adds sites with options as a Struct, an Apache map and a typed Struct, and scalars as XSD_STRING; all store the same values', async () => {
    const forms: [string, unknown][] = [
      ['plain', opts],
      ['struct', soapVar('SOAP_ENC_OBJECT', opts)],
      ['stdclass-struct', soapVar('SOAP_ENC_OBJECT', { __object__: opts })],
      ['apache-map', soapVar('APACHE_MAP', opts)],
      ['typed-struct', soapVar('SOAP_ENC_OBJECT', opts, { name: 'Struct', namespace: 'http://schemas.xmlsoap.org/soap/encoding/' })],
    ];
    const adds = await soap(
      forms.map(([form, o]) => ({ op: 'admin_add_site', args: [soapVar('XSD_STRING', `${form}.soapvar.example`), soapVar('XSD_STRING', `sv${form.replace(/-/g, '')}`), o], headers: ABORT_ON })),
    );
    for (const [i, [form]] of forms.entries()) expect(value(adds[i]), form).toBe(true);
    const fields = ['siteinfo.email', 'billing.invoice', 'diskquota.quota', 'ssh.enabled'];
    const domains = forms.map(([form]) => `${form}.soapvar.example`);
    const [plain, wrapped] = await soap([
      { op: 'admin_collect', args: [fields, [], domains], headers: ABORT_ON },
      { op: 'admin_collect', args: [soapVar('SOAP_ENC_ARRAY', fields), soapVar('APACHE_MAP', {}), soapVar('SOAP_ENC_ARRAY', domains)], headers: ABORT_ON },
    ]);
    const view = value(plain) as Record<string, unknown>;
    expect(value(wrapped)).toEqual(view);
    const expected = { siteinfo: { email: 'owner@soapvar.example' }, billing: { invoice: 'SV-1' }, diskquota: { quota: 1500 }, ssh: { enabled: 0 } };
    for (const d of domains) expect(view[d], d).toMatchObject(expected);
  });

  it('a lookup map passed as a SoapVar Struct selects like the plain array', async () => {
    const [plain, struct] = await soap([
      { op: 'admin_collect', args: [['siteinfo.domain'], { 'billing.invoice': 'SV-1' }], headers: ABORT_ON },
      { op: 'admin_collect', args: [['siteinfo.domain'], soapVar('SOAP_ENC_OBJECT', { 'billing.invoice': 'SV-1' })], headers: ABORT_ON },
    ]);
    expect(Object.keys(value(plain) as object)).toHaveLength(5);
    expect(value(struct)).toEqual(value(plain));
  });

  it('security: Struct member names PHP writes as invalid XML are a Client fault; an integer key reaches the function as PHP names it; nothing changes', async () => {
    const before = await serverSnapshot(s);
    const out = await soap([
      { op: 'admin_add_site', args: ['badname.soapvar.example', 'svbad', soapVar('SOAP_ENC_OBJECT', { 'with space': 1 })], headers: ABORT_ON },
      { op: 'admin_add_site', args: ['badname.soapvar.example', 'svbad', soapVar('SOAP_ENC_OBJECT', { '1digit': 1 })], headers: ABORT_ON },
      { op: 'admin_add_site', args: ['badname.soapvar.example', 'svbad', soapVar('SOAP_ENC_OBJECT', { 'a<b': 1 })], headers: [] },
      // PHP writes an integer key of a Struct as <BOGUS>: an unknown service, refused like any other.
      { op: 'admin_add_site', args: ['badname.soapvar.example', 'svbad', soapVar('SOAP_ENC_OBJECT', { 7: 'x' })], headers: ABORT_ON },
    ]);
    for (const o of out.slice(0, 3)) {
      expect(o.status).toBe(500);
      expect(o.fault).toMatchObject({ faultcode: 'SOAP-ENV:Client', faultstring: expect.stringMatching(/^malformed XML: /) });
      expect(o.fault!.faultstring.length).toBeLessThan(300);
    }
    expect(out[3]!.fault).toMatchObject({ faultcode: 'SOAP-ENV:Server', faultstring: expect.stringContaining('BOGUS') });
    await expectServerUnchanged(s, before);
  });
});
