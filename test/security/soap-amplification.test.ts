import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NS } from '../../src/facades/apiscp/soap/soap-codec.js';
import { expectServerUnchanged, serverSnapshot, startApiscpServer, type ApiscpServer } from '../apiscp/apiscp-harness.js';
import { fromPhp, requirePhpSoap, runPhpSoap, type PhpCall, type PhpOutcome } from '../support/php-soap.js';

// SOAP-ENC multi-references (href="#id") let a small body name one value many times. These bodies are
// built the way an attacker would: one large string, and arrays of references that fan out level by
// level, so a body of about 200 KB stands for gigabytes once every reference is followed.
let s: ApiscpServer;
const SITE = 'amplify.example';

beforeAll(async () => {
  await requirePhpSoap();
  s = await startApiscpServer();
  const added = await s.fn('admin:add-site', [SITE, 'ampadmin', { 'siteinfo.email': 'owner@amplify.example' }]);
  expect(added.status, JSON.stringify(added.body)).toBe(200);
});
afterAll(() => s?.close());

// As billing modules call: with `Abort-On: error`, so a refused call is a fault carrying the message.
const php = (calls: PhpCall[]): Promise<PhpOutcome[]> =>
  runPhpSoap(calls.map((c) => ({ ...c, headers: c.headers ?? ['Abort-On: error'] })), { wsdl: `${s.url}/apnscp.wsdl`, location: `${s.url}/soap?authkey=${encodeURIComponent(s.t.operatorKey)}` });

function envelope(body: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="${NS.envelope}" xmlns:ns1="${NS.apnscp}" xmlns:xsd="${NS.xsd}"` +
    ` xmlns:xsi="${NS.xsi}" xmlns:SOAP-ENC="${NS.encoding}" xmlns:ns2="${NS.apache}" SOAP-ENV:encodingStyle="${NS.encoding}"><SOAP-ENV:Body>${body}</SOAP-ENV:Body></SOAP-ENV:Envelope>`
  );
}

/**
 * `admin_edit_site(SITE, {"siteinfo.email": ref<levels>})` where ref0 is a string of `stringBytes`
 * bytes and every ref<k> is an array of `fanOut` references to ref<k-1>: fanOut^levels copies.
 */
function fanOutEditSite(stringBytes: number, fanOut: number, levels: number): string {
  let defs = `<multiRef id="ref0" xsi:type="xsd:string">${'A'.repeat(stringBytes)}</multiRef>`;
  for (let k = 1; k <= levels; k++) {
    defs += `<multiRef id="ref${k}" xsi:type="SOAP-ENC:Array" SOAP-ENC:arrayType="xsd:anyType[${fanOut}]">${`<item href="#ref${k - 1}"/>`.repeat(fanOut)}</multiRef>`;
  }
  const call =
    `<ns1:admin_edit_site><site xsi:type="xsd:string">${SITE}</site><params xsi:type="ns2:Map">` +
    `<item><key xsi:type="xsd:string">siteinfo.email</key><value href="#ref${levels}"/></item></params></ns1:admin_edit_site>`;
  return envelope(call + defs);
}

async function post(xml: string): Promise<{ status: number; body: string; fault: { faultcode: string; faultstring: string } | undefined }> {
  const res = await fetch(`${s.url}/soap?authkey=${encodeURIComponent(s.t.operatorKey)}`, {
    method: 'POST',
    headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '"urn:apnscp.api.soap#admin_edit_site"' },
    body: xml,
    signal: AbortSignal.timeout(60_000),
  });
  const body = await res.text();
  const m = /<faultcode>([^<]*)<\/faultcode><faultstring>([^<]*)<\/faultstring>/.exec(body);
  return { status: res.status, body, fault: m ? { faultcode: m[1]!, faultstring: m[2]! } : undefined };
}

describe('SOAP multi-reference amplification', () => {
  it('happy: PHP SoapClient still edits a site and reads it back', async () => {
    const [edited, collected] = await php([
      { op: 'admin_edit_site', args: [SITE, { 'siteinfo.email': 'billing@amplify.example', 'diskquota.quota': 1500 }] },
      { op: 'admin_collect', args: [['siteinfo.email', 'diskquota.quota'], [], [SITE]] },
    ]);
    expect(edited, JSON.stringify(edited)).toMatchObject({ ok: true, status: 200 });
    expect(fromPhp(collected!.value!)).toMatchObject({ [SITE]: { siteinfo: { email: 'billing@amplify.example' }, diskquota: { quota: 1500 } } });
  });

  it('happy: a few references to a small value are still followed', async () => {
    // Two levels of two: four copies of a short address, the way PHP repeats a shared value.
    const xml = envelope(
      `<ns1:admin_edit_site><site xsi:type="xsd:string">${SITE}</site><params xsi:type="ns2:Map">` +
        '<item><key xsi:type="xsd:string">siteinfo.email</key><value href="#mail"/></item>' +
        '<item><key xsi:type="xsd:string">diskquota.quota</key><value href="#quota"/></item></params></ns1:admin_edit_site>' +
        '<multiRef id="mail" xsi:type="xsd:string">refs@amplify.example</multiRef><multiRef id="quota" xsi:type="xsd:int">1700</multiRef>',
    );
    const res = await post(xml);
    expect(res.status, res.body).toBe(200);
    expect(res.body).toContain('<return xsi:type="xsd:boolean">true</return>');
    const read = await s.fn('admin:collect', [['siteinfo.email', 'diskquota.quota'], [], [SITE]]);
    expect(read.body.result).toMatchObject({ [SITE]: { siteinfo: { email: 'refs@amplify.example' }, diskquota: { quota: 1700 } } });
  });

  it('security: 200 KB reached 16,807 times is a Client fault, answered promptly, and changes nothing', async () => {
    const xml = fanOutEditSite(200 * 1024, 7, 5);
    expect(xml.length).toBeGreaterThan(200 * 1024);
    expect(xml.length).toBeLessThan(s.t.config.bodyLimit);
    const before = await serverSnapshot(s);
    const res = await post(xml);
    // SOAP 1.1 over HTTP carries every fault with status 500; what matters is a Client fault, not "Internal error".
    expect(res.status).toBe(500);
    expect(res.fault, res.body.slice(0, 500)).toEqual({ faultcode: 'SOAP-ENV:Client', faultstring: expect.stringMatching(/^request too large: (more than \d+ references|the arguments would decode to more than \d+ bytes)$/) });
    expect(res.body.length).toBeLessThan(2000);
    await expectServerUnchanged(s, before);
  });

  it('security: fewer references to a large string are refused by the decoded-size budget', async () => {
    // 7 + 49 + 343 references (under the reference cap) to 200 KB: 68 MB once decoded.
    const res = await post(fanOutEditSite(200 * 1024, 7, 3));
    expect(res.fault, res.body.slice(0, 500)).toEqual({ faultcode: 'SOAP-ENV:Client', faultstring: expect.stringMatching(/^request too large: the arguments would decode to more than \d+ bytes$/) });
  });

  it('security: many references to a tiny value are refused by the reference cap', async () => {
    // 4^6 = 4,096 copies of one character: small once decoded, but each copy is a reference to follow.
    const res = await post(fanOutEditSite(1, 4, 6));
    expect(res.fault, res.body.slice(0, 500)).toEqual({ faultcode: 'SOAP-ENV:Client', faultstring: expect.stringMatching(/^request too large: more than \d+ references$/) });
  });

  it('security: a reference cycle is a Client fault', async () => {
    const xml = envelope(
      `<ns1:admin_edit_site><site xsi:type="xsd:string">${SITE}</site><params href="#loop"/></ns1:admin_edit_site>` +
        '<multiRef id="loop" xsi:type="SOAP-ENC:Array" SOAP-ENC:arrayType="xsd:anyType[1]"><item href="#loop"/></multiRef>',
    );
    const res = await post(xml);
    expect(res.fault).toEqual({ faultcode: 'SOAP-ENV:Client', faultstring: 'cyclic reference in request' });
  });

  it('security: faults quote at most a short piece of a hostile name', async () => {
    const long = 'x'.repeat(100_000);
    const cases = [
      envelope(`<ns1:admin_edit_site><site href="#${long}"/></ns1:admin_edit_site>`), // unresolved reference
      envelope(`<ns1:admin_edit_site><site xsi:type="${long}:string">a</site></ns1:admin_edit_site>`), // undeclared type prefix
      envelope(`<${long}:admin_edit_site/>`), // undeclared element prefix
      envelope(`<ns1:admin_edit_site><site>&${long};</site></ns1:admin_edit_site>`), // undefined entity
      envelope(`<ns1:admin_edit_site><n xsi:type="xsd:int">${'9'.repeat(100_000)}</n></ns1:admin_edit_site>`), // integer out of range
      `<${long}/>`, // not an envelope
      `<e:Envelope xmlns:e="urn:${long}"><e:Body/></e:Envelope>`, // foreign envelope namespace
    ];
    for (const xml of cases) {
      const res = await post(xml);
      expect(res.fault, res.body.slice(0, 300)).toBeDefined();
      expect(res.fault!.faultcode).toMatch(/^SOAP-ENV:(Client|VersionMismatch)$/);
      expect(res.body.length, res.fault!.faultstring).toBeLessThan(1500);
    }
  });

  it('security: a refused huge value or parameter name is quoted only in part; nothing changes', async () => {
    const before = await serverSnapshot(s);
    const huge = 'y'.repeat(150_000);
    const out = await php([
      { op: 'admin_edit_site', args: [SITE, { 'siteinfo.email': huge }] },
      { op: 'admin_edit_site', args: [SITE, { [`siteinfo.${huge}`]: 'x' }] },
      { op: 'admin_edit_site', args: [huge, { 'diskquota.quota': 10 }] },
    ]);
    for (const o of out) {
      expect(o.ok, JSON.stringify(o).slice(0, 300)).toBeUndefined();
      expect(o.fault!.faultcode).toMatch(/^SOAP-ENV:(Client|Server)$/);
      expect(o.fault!.faultstring).not.toBe('Internal error');
      expect(JSON.stringify(o.fault).length).toBeLessThan(3000);
    }
    expect(out[0]!.fault!.faultstring).toMatch(/siteinfo,email: "y{80}…" is not an email address/);
    await expectServerUnchanged(s, before);
  });
});
