import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirePhpSoap } from '../support/php-soap.js';
import { admin, cp, collectOne, ensureSite, expectClean, expectSent, expectSucceeded, hijackedSession, landing, ops, runStep, sessionAlive, signIn, siteRecord, startModuleServer, type Json, type ModuleServer, type StepRun } from './modules-harness.js';

// Clientexec's ApisCP server plugin (clientexec/apiscp-server), replayed call by call through PHP's
// SoapClient (model in test/apiscp/modules/clientexec-model.php); each effect checked through the admin
// API, the JSON door and the client console.

/**
 * Clientexec's plugin only speaks https: the server gets a fresh self-signed certificate
 * (HOSTPLANE_TLS_CERT / HOSTPLANE_TLS_KEY) and PHP trusts it through openssl.cafile. False runs the same
 * calls over http, for a machine where that cannot be set up.
 */
const CLIENTEXEC_OVER_TLS = true;

let ce: ModuleServer;

beforeAll(async () => {
  await requirePhpSoap();
  ce = await startModuleServer({ tls: CLIENTEXEC_OVER_TLS });
});
afterAll(() => ce?.close());

describe.sequential(`Clientexec plugin (${CLIENTEXEC_OVER_TLS ? 'https' : 'http: flip CLIENTEXEC_OVER_TLS once the server serves HTTPS'})`, () => {
  const domain = 'ce-site.example';
  let a: Json;
  let siteId = 0;
  let cookie = '';
  const opts = () => (ce.cafile ? { cafile: ce.cafile } : {});
  const step = (name: string, extra: Json = {}) => runStep('clientexec', name, { ...a, ...extra }, opts());

  beforeAll(() => {
    a = {
      server: { ServerHostName: ce.host, plugin_apiscp_Port: ce.port, plugin_apiscp_API_Key: ce.t.operatorKey, ...(CLIENTEXEC_OVER_TLS ? {} : { _scheme: 'http' }) },
      package: { id: 9, domain_name: 'CE-Site.example', username: 'cesite', password: 'Initial-pass1', name_on_server: 'basic' },
      customer: { email: 'owner@ce-site.example' },
    };
  });

  function expectCeWire(run: StepRun, expectedOps: string[]): void {
    const scheme = CLIENTEXEC_OVER_TLS ? 'https' : 'http';
    expectSent(run);
    expect(ops(run)).toEqual(expectedOps);
    for (const c of run.clients) {
      expect(c.wsdl).toBe(`${scheme}://${ce.host}:${ce.port}//apnscp.wsdl`);
      expect(c.options).toEqual({ connection_timeout: 30, location: `${scheme}://${ce.host}:${ce.port}/soap?authkey=${ce.t.operatorKey}`, uri: 'urn:apnscp.api.soap', trace: true });
      expect(c.stream_context?.http?.header).toBe('Abort-On: error\r\n');
    }
    for (const w of run.wire) {
      expect(w.headers).toMatch(/^Abort-On: error$/m);
      expect(w.headers).not.toMatch(/^Cookie:/m);
    }
  }

  it('testConnection: common_whoami', async () => {
    const run = await step('testConnection');
    expectCeWire(run, ['common_whoami']);
    expectSucceeded(run, true);
  });

  it('create: admin_add_site; the site exists with the plan named on the server and the password signs in', async () => {
    const run = await step('create');
    expectCeWire(run, ['admin_add_site']);
    expect(run.wire[0]!.body).toContain('>CE-Site.example<');
    expectSucceeded(run, 'Package has been created.');
    const rec = await siteRecord(ce, domain);
    expect(rec).toMatchObject({ status: 'active', package_uid: 'basic', email_address: 'owner@ce-site.example' });
    siteId = rec!.id as number;
    const signed = await signIn(ce, siteId, 'cesite', 'Initial-pass1');
    expect(signed.status, JSON.stringify(signed.body)).toBe(200);
    cookie = signed.cookie!;
  });

  it("getAvailableActions: admin_collect(['siteinfo'], null, [domain]) read by domain → Suspend, Delete", async () => {
    siteId = await ensureSite(ce, domain, 'cesite');
    const run = await step('getAvailableActions');
    expectCeWire(run, ['admin_collect']);
    expectSucceeded(run, ['Suspend', 'Delete']);
  });

  it('getDirectLink: admin_hijack, and the /apps/dashboard link lands on the console', async () => {
    siteId = await ensureSite(ce, domain, 'cesite');
    const run = await step('getDirectLink');
    expectCeWire(run, ['admin_hijack']);
    expectClean(run);
    expect(run.value).toMatch(new RegExp(`^${ce.url}/apps/dashboard\\?esprit_id=[^&]+$`));
    const hop = await landing(run.value as string, ce.cafile);
    expect(hop.final.status, `${hop.first.status} ${hop.first.location ?? ''}`).toBe(200);
  });

  it('suspend: admin_deactivate_site(domain) with no flags; the buttons turn to UnSuspend', async () => {
    siteId = await ensureSite(ce, domain, 'cesite');
    const run = await step('suspend');
    expectCeWire(run, ['admin_deactivate_site']);
    expectSucceeded(run, 'Package has been suspended.');
    expect(await siteRecord(ce, domain)).toMatchObject({ status: 'suspended' });
    expectSucceeded(await step('getAvailableActions'), ['UnSuspend', 'Delete']);
  });

  it('unsuspend: admin_activate_site', async () => {
    siteId = await ensureSite(ce, domain, 'cesite');
    const run = await step('unsuspend');
    expectCeWire(run, ['admin_activate_site']);
    expectSucceeded(run, 'Package has been unsuspended.');
    expect(await siteRecord(ce, domain)).toMatchObject({ status: 'active' });
  });

  it("update package: admin_edit_site(plan, ['reset' => 'true']) moves the site to the new plan", async () => {
    siteId = await ensureSite(ce, domain, 'cesite');
    const made = await admin(ce, 'POST', '/admin/v1/packages', { uid: 'ce-silver', name: 'CE Silver', service_defaults: { diskquota: { quota: 6000 } } });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const run = await step('update', { package: { ...a.package, name_on_server: 'ce-silver' }, changes: { package: 'ce-silver' } });
    expectCeWire(run, ['admin_edit_site']);
    expect(run.wire[0]!.body).toMatch(/<key xsi:type="xsd:string">reset<\/key><value xsi:type="xsd:string">true<\/value>/);
    expectSucceeded(run, 'CE-Site.example has been updated.');
    expect(await siteRecord(ce, domain)).toMatchObject({ package_uid: 'ce-silver' });
    const planValues = (await cp(ce, 'admin:get-plan', ['ce-silver'])) as Json;
    expect(await collectOne(ce, domain, ['diskquota.quota'])).toMatchObject({ diskquota: { quota: planValues.diskquota.quota } });
  });

  it('update password: auth_change_password ends the sessions; the new password signs in', async () => {
    siteId = await ensureSite(ce, domain, 'cesite');
    const hijacked = await hijackedSession(ce, domain, 'cesite');
    const run = await step('update', { changes: { password: 'Changed-pass22' } });
    expectCeWire(run, ['auth_change_password']);
    expectSucceeded(run, 'CE-Site.example has been updated.');
    expect(await sessionAlive(ce, hijacked), 'the hijacked session ended').toBe(false);
    expect((await signIn(ce, siteId, 'cesite', 'Initial-pass1')).status).toBe(401);
    expect((await signIn(ce, siteId, 'cesite', 'Changed-pass22')).status).toBe(200);
    if (cookie) expect(await sessionAlive(ce, cookie)).toBe(false);
  });

  it('delete: admin_delete_site(domain); the site is gone and the buttons offer Create', async () => {
    siteId = await ensureSite(ce, domain, 'cesite');
    const run = await step('delete');
    expectCeWire(run, ['admin_delete_site']);
    expectSucceeded(run, 'Package has been deleted.');
    expect(await siteRecord(ce, domain)).toBeNull();
    // The look-up of a gone site is refused (a fault, with Abort-On); the plugin takes that for "Create".
    const after = await step('getAvailableActions');
    expectCeWire(after, ['admin_collect']);
    expect(after.exception).toBeNull();
    expect(after.warnings).toEqual([]);
    expect(after.value).toEqual(['Create']);
  });

  it('a failure reaches Clientexec as its exception with the server message', async () => {
    const run = await step('suspend', { package: { ...a.package, domain_name: 'ce-missing.example' } });
    expect(run.exception).toMatchObject({ class: 'CE_Exception', message: expect.stringContaining('ce-missing.example') });
  });
});

describe('Clientexec plugin, refused key', () => {
  it('a wrong key fails the connection test with the server message', async () => {
    const run = await runStep('clientexec', 'testConnection', { server: { ServerHostName: ce.host, plugin_apiscp_Port: ce.port, plugin_apiscp_API_Key: 'hp_op_wrong', ...(CLIENTEXEC_OVER_TLS ? {} : { _scheme: 'http' }) } }, ce.cafile ? { cafile: ce.cafile } : {});
    expect(run.exception).toMatchObject({ class: 'CE_Exception', message: expect.stringMatching(/key/i) });
  });
});
