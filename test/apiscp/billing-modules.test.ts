import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditMark, auditSince } from '../support/audit.js';
import { requirePhpSoap } from '../support/php-soap.js';
import { expectClean, landing, ops, phpTypeAt, runStep, startModuleServer, type ModuleServer, type StepRun } from './modules-harness.js';

// The billing systems' ApisCP modules, replayed call by call through PHP's SoapClient (models in
// test/apiscp/modules/), each effect checked through the admin API and the client console.

/**
 * Clientexec's plugin only speaks https. While the server cannot be given a certificate
 * (HOSTPLANE_TLS_CERT / HOSTPLANE_TLS_KEY), this stays false and the Clientexec model runs over http;
 * everything else it sends is unchanged. Set it to true once the server serves HTTPS.
 */
const CLIENTEXEC_OVER_TLS = false;

let s: ModuleServer;
let ce: ModuleServer;

beforeAll(async () => {
  await requirePhpSoap();
  s = await startModuleServer();
  ce = CLIENTEXEC_OVER_TLS ? await startModuleServer({ tls: true }) : s;
});
afterAll(async () => {
  if (ce && ce !== s) await ce.close();
  await s?.close();
});

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function admin(srv: ModuleServer, method: 'GET' | 'POST', url: string, payload?: unknown): Promise<{ status: number; body: Json }> {
  const res = await srv.t.app.server.inject({ method, url, headers: { authorization: `Bearer ${srv.t.operatorKey}` }, ...(payload !== undefined ? { payload: payload as Json } : {}) });
  return { status: res.statusCode, body: res.json() as Json };
}

/** The JSON door, for reading what ApisCP's collect shows. */
async function cp(srv: ModuleServer, fn: string, args: unknown[]): Promise<unknown> {
  const r = await admin(srv, 'POST', `/api/v1/cpcmd/${encodeURIComponent(fn)}`, { args });
  expect(r.status, `${fn}: ${JSON.stringify(r.body)}`).toBe(200);
  return r.body.result;
}

/** The site's admin-API record (sites are clients there), found by its domain; null when gone. */
async function siteRecord(srv: ModuleServer, domain: string): Promise<Json | null> {
  const r = await admin(srv, 'GET', `/admin/v1/clients?q=${encodeURIComponent(domain)}`);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  const found = (r.body.clients as Json[]).filter((c) => (c.domains as Json[]).some((d) => d.name === domain) && c.status !== 'deleted');
  expect(found.length).toBeLessThanOrEqual(1);
  return found[0] ?? null;
}

async function collectOne(srv: ModuleServer, domain: string, params: unknown = null): Promise<Json> {
  const all = (await cp(srv, 'admin:collect', [params, null, [domain]])) as Json;
  expect(Object.keys(all), JSON.stringify(all)).toEqual([domain]);
  return all[domain] as Json;
}

async function signIn(srv: ModuleServer, clientId: number, login: string, password: string): Promise<{ status: number; cookie: string | null; body: Json }> {
  const res = await srv.t.app.server.inject({ method: 'POST', url: '/client/v1/session', payload: { client_id: clientId, login, password } });
  const set = res.headers['set-cookie'];
  return { status: res.statusCode, cookie: set ? String(set).split(';')[0]! : null, body: res.json() as Json };
}

async function sessionAlive(srv: ModuleServer, cookie: string): Promise<boolean> {
  const res = await srv.t.app.server.inject({ method: 'GET', url: '/client/v1/session', headers: { cookie } });
  return (res.json() as Json).signed_in === true;
}

/** A console session of the site's admin opened the operator's way (hijack, then /apps/dashboard): its cookie. */
async function hijackedSession(srv: ModuleServer, domain: string, user: string): Promise<string> {
  const id = String(await cp(srv, 'admin:hijack', [domain, user, 'UI']));
  const res = await srv.t.app.server.inject({ method: 'GET', url: `/apps/dashboard?esprit_id=${encodeURIComponent(id)}` });
  expect(res.statusCode, res.body).toBe(200);
  const cookie = String(res.headers['set-cookie'] ?? '').split(';')[0]!;
  expect(await sessionAlive(srv, cookie), 'the hijacked session signs in to the client API').toBe(true);
  return cookie;
}

async function suspensions(srv: ModuleServer): Promise<Json[]> {
  return (await cp(srv, 'admin:delete-site', [null, { since: 'now', 'dry-run': true }])) as Json[];
}

/** A model that sent nothing failed before its first call (the WSDL, the connection): say why first. */
function expectSent(run: StepRun): void {
  if (run.wire.length === 0) throw new Error(`nothing was sent: ${JSON.stringify(run.exception ?? run.value)}`);
}

/**
 * Puts the site in place through the JSON door when the module's own create did not, so that each later
 * step's result is about its own call and not a repeat of the create failure.
 */
async function ensureSite(srv: ModuleServer, domain: string, user: string, extra: Json = {}): Promise<number> {
  const rec = await siteRecord(srv, domain);
  if (rec) return rec.id as number;
  await cp(srv, 'admin:add-site', [domain, user, { 'siteinfo.email': `owner@${domain}`, ...extra }]);
  return (await siteRecord(srv, domain))!.id as number;
}

/** Fails with every entry written out in full (an assertion diff would cut them short). */
function expectNone(problems: (string | null | undefined | false)[], what: string): void {
  const list = problems.filter(Boolean);
  if (list.length > 0) throw new Error(`${what}:\n${list.join('\n')}`);
}

const faultOf = (w: { response: string | null }) => /<faultstring>([\s\S]*?)<\/faultstring>/.exec(w.response ?? '')?.[1] ?? null;

function expectSucceeded(run: StepRun, what: unknown = 'success'): void {
  expect(run.exception, JSON.stringify(run.exception)).toBeNull();
  const faults = run.wire.filter((w) => faultOf(w) !== null).map((w) => `${w.action.replace(/^.*#/, '')}: ${faultOf(w)}`);
  expectNone(faults, 'SOAP faults');
  expect(run.value, 'module answer').toEqual(what);
  expectClean(run);
}

// ---------------------------------------------------------------------------------------------------------
// WHMCS (LithiumHosting/apiscp-whmcs)

const BROWSER_SESSION = 'k3v9q0s7d2m5p8x1c4b6n0a2z7';
const ADMIN_BROWSER = '198.51.100.23';

function whmcsServer(srv: ModuleServer) {
  return { serverhttpprefix: 'http', serverhostname: srv.host, serverport: srv.port, serverpassword: srv.t.operatorKey, serverid: 1 };
}

/** WHMCS's module parameters for a product whose module settings have only the plan set (every other option left blank). */
function whmcsPlanOnly(srv: ModuleServer, over: Json): Json {
  const blank = Object.fromEntries(Array.from({ length: 23 }, (_, i) => [`configoption${i + 2}`, '']));
  return { ...whmcsServer(srv), ...blank, configoption1: 'basic', _session_id: BROWSER_SESSION, _remote_addr: ADMIN_BROWSER, ...over };
}

/** A product with every module option filled, as an operator selling a full plan would set them. */
function whmcsAllFilled(srv: ModuleServer, over: Json): Json {
  const filled: Json = {
    configoption1: 'basic',
    configoption2: '5', // addon domains
    configoption3: '50', // bandwidth GB
    configoption4: '512', // cgroup memory MB
    configoption5: '150', // cgroup cpu
    configoption6: '200', // cgroup cpuweight
    configoption7: '100', // process limit
    configoption8: '10', // disk quota GB
    configoption9: '200000', // inode quota
    configoption10: 'on', // ftp
    configoption11: 'shared', // shared IP
    configoption12: 'dedicated', // IPv6 (unused by the module)
    configoption13: 'on', // mail
    configoption14: '1', // mysql on
    configoption15: '-1', // mysql databases: unlimited ('null')
    configoption16: '5', // pgsql on, 5 databases
    configoption17: 'on', // spam filter
    configoption18: 'rspamd', // spam filter provider
    configoption19: 'on', // ssh
    configoption20: 'on', // ssl
    configoption21: '-1', // users: unlimited ('null')
    configoption22: 'unused',
    configoption23: 'unused',
    configoption24: 'unused',
  };
  return { ...whmcsServer(srv), ...filled, _session_id: BROWSER_SESSION, _remote_addr: ADMIN_BROWSER, ...over };
}

const WHMCS_APPS = ['usermanage', 'mailboxroutes', 'vacation', 'filemanager', 'domainmanager', 'bandwidthbd', 'crontab', 'subdomains', 'changemysql', 'phpmyadmin', 'webapps', 'terminal', 'whitelist'];

function expectWhmcsWire(run: StepRun, srv: ModuleServer, expected: { ops: string[]; session: string; forwardedFor: string }): void {
  expectSent(run);
  expect(ops(run)).toEqual(expected.ops);
  for (const c of run.clients) {
    expect(c.wsdl).toBe(`${srv.url}/apnscp.wsdl`);
    expect(c.options).toEqual({ connection_timeout: 30, location: `${srv.url}/soap?authkey=${srv.t.operatorKey}`, uri: 'urn:apnscp.api.soap', trace: true });
    expect(c.stream_context?.http?.header).toBe(`Abort-On: error\r\nX-Forwarded-For: ${expected.forwardedFor}\r\n`);
  }
  for (const w of run.wire) {
    expect(w.location).toBe(`${srv.url}/soap?authkey=${srv.t.operatorKey}`);
    expect(w.headers).toMatch(/^Abort-On: error$/m);
    expect(w.headers).toContain(`X-Forwarded-For: ${expected.forwardedFor}`);
    expect(w.headers).toMatch(new RegExp(`^Cookie: esprit_id=${expected.session};?\\s*$`, 'm'));
  }
}

for (const product of [
  { name: 'plan option only', params: whmcsPlanOnly, domain: 'whmcs-plain.example', typed: 'whmcs-plain.example', user: 'whplain', sid: 1001 },
  // WHMCS passes the domain as the customer typed it: the module lower-cases the first argument only.
  { name: 'every option filled', params: whmcsAllFilled, domain: 'whmcs-full.example', typed: 'WHMCS-Full.Example', user: 'whfull', sid: 1002 },
] as const) {
  describe.sequential(`WHMCS module, product with ${product.name}`, () => {
    const first = 'Initial-pass1';
    const second = 'Changed-pass22';
    let p: Json;
    let siteId = 0;
    let consoleCookie = '';

    beforeAll(() => {
      p = product.params(s, { domain: product.typed, username: product.user, password: first, serviceid: product.sid, userid: 77, pid: 3, model: { client: { email: `owner@${product.domain}`, ip: '203.0.113.50' } } });
    });

    it('CreateAccount: admin_add_site with the module option map; the site, its values and the admin password are in place', async () => {
      const run = await runStep('whmcs', 'CreateAccount', p);
      expectWhmcsWire(run, s, { ops: ['admin_add_site'], session: BROWSER_SESSION, forwardedFor: ADMIN_BROWSER });
      expect(run.wire[0]!.body).toContain(`>${product.domain}<`);
      expectSucceeded(run);

      const rec = await siteRecord(s, product.domain);
      expect(rec).toMatchObject({ status: 'active', package_uid: 'basic', email_address: `owner@${product.domain}` });
      siteId = rec!.id as number;
      const view = await collectOne(s, product.domain, null);
      expect(view).toMatchObject({ active: true, siteinfo: { domain: product.domain, admin_user: product.user, plan: 'basic' }, billing: { invoice: `whmcs-${product.sid}` } });
      if (product.name === 'every option filled') {
        expect(view).toMatchObject({
          mysql: { enabled: 1, dbaseadmin: product.user, dbaseprefix: `${product.user}_` },
          pgsql: { enabled: 1, dbaseadmin: product.user, dbaseprefix: `${product.user}_`, dbasenum: 5 },
          aliases: { enabled: 1, max: 5 },
          ssh: { enabled: 1 },
          mail: { enabled: 1 },
        });
        expect(view.mysql.dbasenum).toBeNull();
        expect(view.users.max).toBeNull();
      } else {
        expect(view).toMatchObject({ mysql: { enabled: 0 }, pgsql: { enabled: 0 }, ssh: { enabled: 0 }, mail: { enabled: 0 } });
      }

      const signed = await signIn(s, siteId, product.user, first);
      expect(signed.status, JSON.stringify(signed.body)).toBe(200);
      consoleCookie = signed.cookie!;
    });

    it('ServiceSingleSignOn: admin_hijack, and every app link lands on a console page', async () => {
      siteId = await ensureSite(s, product.domain, product.user, { 'billing.invoice': `whmcs-${product.sid}` });
      const failures: string[] = [];
      for (const app of ['dashboard', ...WHMCS_APPS, 'not-on-the-list']) {
        const run = await runStep('whmcs', 'ServiceSingleSignOn', { ...p, _app: app });
        expectWhmcsWire(run, s, { ops: ['admin_hijack'], session: BROWSER_SESSION, forwardedFor: ADMIN_BROWSER });
        expect(run.wire[0]!.body).toContain('>UI<');
        expectClean(run);
        const answer = run.value as Json;
        if (answer.success !== true) {
          failures.push(`${app}: ${answer.errorMsg}`);
          continue;
        }
        const landsOn = app === 'not-on-the-list' ? 'dashboard' : app;
        expect(answer.redirectTo).toMatch(new RegExp(`^${s.url}/apps/${landsOn}\\?${app === 'subdomains' ? 'mode=add&' : ''}esprit_id=[^&]+$`));
        const hop = await landing(answer.redirectTo as string);
        if (hop.final.status !== 200) failures.push(`${app}: ${hop.first.status} ${hop.first.location ?? ''} -> ${hop.final.url} ${hop.final.status}`);
      }
      expectNone(failures, 'single sign-on links that do not land');
    });

    it('SuspendAccount: admin_deactivate_site with the reason; the site is suspended and the reason is recorded', async () => {
      siteId = await ensureSite(s, product.domain, product.user, { 'billing.invoice': `whmcs-${product.sid}` });
      const run = await runStep('whmcs', 'SuspendAccount', { ...p, suspendreason: 'Overdue on Payment' });
      expectWhmcsWire(run, s, { ops: ['admin_deactivate_site'], session: BROWSER_SESSION, forwardedFor: ADMIN_BROWSER });
      expectSucceeded(run);
      expect(await siteRecord(s, product.domain)).toMatchObject({ status: 'suspended' });
      expect((await collectOne(s, product.domain, ['siteinfo.domain'])).active).toBe(false);
      expect((await suspensions(s)).find((x) => x.domain === product.domain)).toMatchObject({ suspend_reason: 'Overdue on Payment' });
    });

    it('UnsuspendAccount: admin_activate_site; the site is active again (audited from the real peer, not X-Forwarded-For)', async () => {
      siteId = await ensureSite(s, product.domain, product.user, { 'billing.invoice': `whmcs-${product.sid}` });
      await cp(s, 'admin:deactivate-site', [product.domain]);
      const mark = await auditMark(s.t);
      const run = await runStep('whmcs', 'UnsuspendAccount', p);
      expectWhmcsWire(run, s, { ops: ['admin_activate_site'], session: BROWSER_SESSION, forwardedFor: ADMIN_BROWSER });
      expectSucceeded(run);
      expect(await siteRecord(s, product.domain)).toMatchObject({ status: 'active' });
      expect((await collectOne(s, product.domain, ['siteinfo.domain'])).active).toBe(true);
      const events = (await auditSince(s.t, mark)).filter((e) => e.action === 'client.activated');
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ actor_kind: 'operator', target_id: String(siteId), source_ip: '127.0.0.1' });
    });

    it("ChangePackage: admin_edit_site(plan, ['reset' => true]) applies the new plan's values", async () => {
      siteId = await ensureSite(s, product.domain, product.user, { 'billing.invoice': `whmcs-${product.sid}` });
      const plan = `gold-${product.sid}`;
      const made = await admin(s, 'POST', '/admin/v1/packages', { uid: plan, name: `Gold ${product.sid}`, service_defaults: { diskquota: { quota: 7000 } } });
      expect(made.status, JSON.stringify(made.body)).toBe(201);
      const run = await runStep('whmcs', 'ChangePackage', { ...p, configoption1: plan });
      expectWhmcsWire(run, s, { ops: ['admin_edit_site'], session: BROWSER_SESSION, forwardedFor: ADMIN_BROWSER });
      expect(run.wire[0]!.body).toMatch(/<key xsi:type="xsd:string">reset<\/key><value xsi:type="xsd:boolean">true<\/value>/);
      expectSucceeded(run);
      expect(await siteRecord(s, product.domain)).toMatchObject({ package_uid: plan });
      const planValues = (await cp(s, 'admin:get-plan', [plan])) as Json;
      const view = await collectOne(s, product.domain, ['siteinfo.plan', 'diskquota.quota']);
      expect(view).toMatchObject({ siteinfo: { plan }, diskquota: { quota: planValues.diskquota.quota } });
    });

    it('ChangePassword: auth_change_password(password, user, domain) ends the sessions; the new password signs in', async () => {
      siteId = await ensureSite(s, product.domain, product.user, { 'billing.invoice': `whmcs-${product.sid}` });
      const hijacked = await hijackedSession(s, product.domain, product.user);
      const run = await runStep('whmcs', 'ChangePassword', { ...p, password: second });
      expectWhmcsWire(run, s, { ops: ['auth_change_password'], session: BROWSER_SESSION, forwardedFor: ADMIN_BROWSER });
      expectSucceeded(run);
      expect(await sessionAlive(s, hijacked), 'the hijacked session ended').toBe(false);
      expect((await signIn(s, siteId, product.user, first)).status).toBe(401);
      expect((await signIn(s, siteId, product.user, second)).status).toBe(200);
      // The sign-in with the create step's password (absent when that step failed) ended too.
      if (consoleCookie) expect(await sessionAlive(s, consoleCookie)).toBe(false);
    });

    it('UsageUpdate (cron): collect, storage and bandwidth usage; every figure is a number', async () => {
      siteId = await ensureSite(s, product.domain, product.user, { 'billing.invoice': `whmcs-${product.sid}` });
      const { _session_id: _sid, _remote_addr: _ip, ...cron } = p;
      const run = await runStep('whmcs', 'UsageUpdate', { ...cron, _session_id: '' });
      expectWhmcsWire(run, s, { ops: ['admin_collect', 'admin_get_usage', 'admin_get_usage'], session: '', forwardedFor: '127.0.0.1' });
      expectNone([run.exception && `${run.exception.class}: ${run.exception.message}`], 'UsageUpdate failed');
      expectClean(run);
      const site = `site${siteId}`;
      const row = (run.value as Json)[site] as Json;
      expect(row, JSON.stringify(run.value)).toMatchObject({ domain: product.domain });
      for (const k of ['qused', 'qhard', 'sum', 'threshold']) expect(['integer', 'double'], `${k} is ${phpTypeAt(run.typed, site, 'raw', k)}`).toContain(phpTypeAt(run.typed, site, 'raw', k));
      for (const k of ['diskusage', 'disklimit', 'bwusage', 'bwlimit']) expect(typeof row[k]).toBe('number');
      expect(row.disklimit).toBeGreaterThan(0);
    });

    it('TerminateAccount: admin_delete_site(domain, force); the site is gone and its domain is free again', async () => {
      siteId = await ensureSite(s, product.domain, product.user, { 'billing.invoice': `whmcs-${product.sid}` });
      const run = await runStep('whmcs', 'TerminateAccount', p);
      expectWhmcsWire(run, s, { ops: ['admin_delete_site'], session: BROWSER_SESSION, forwardedFor: ADMIN_BROWSER });
      expectSucceeded(run);
      expect(await siteRecord(s, product.domain)).toBeNull();
      expect(Object.keys((await cp(s, 'admin:collect', [['siteinfo.domain'], { 'siteinfo.domain': product.domain }])) as object)).toEqual([]);
      // The domain can be sold again.
      const again = await runStep('whmcs', 'CreateAccount', { ...p, serviceid: product.sid + 50 });
      expectSucceeded(again);
      const rerun = await runStep('whmcs', 'TerminateAccount', p);
      expectSucceeded(rerun);
    });
  });
}

describe.sequential('WHMCS module, server-wide calls', () => {
  it("the plan dropdown (admin_list_plans) lists Hostplane's packages", async () => {
    const run = await runStep('whmcs', 'getPlans', { secure: 'off', hostname: s.host, _port_for_test: s.port, password: s.t.operatorKey, name: 'hp1', _session_id: BROWSER_SESSION, _remote_addr: ADMIN_BROWSER });
    expect(ops(run)).toEqual(['admin_list_plans']);
    expectClean(run);
    const packages = (await admin(s, 'GET', '/admin/v1/packages')).body as unknown as Json[];
    expect(run.value).toEqual(Object.fromEntries(packages.map((x) => [x.uid, `hp1 - ${x.uid}`])));
  });

  it('the client-area hook (rampart_is_banned) answers for an address that is not blocked', async () => {
    const p = whmcsPlanOnly(s, { domain: 'whmcs-rampart.example', username: 'whramp', password: 'Initial-pass1', serviceid: 1003, model: { client: { email: 'o@whmcs-rampart.example', ip: '203.0.113.51' } } });
    // Created the module's way when the server takes it (the life cycle tests judge that call).
    await runStep('whmcs', 'CreateAccount', p);
    await ensureSite(s, 'whmcs-rampart.example', 'whramp');
    const run = await runStep('whmcs', 'CheckIp', { ...p, domain: 'whmcs-rampart.example', ip: '203.0.113.99' });
    expectNone([(run.value as Json).error as string | null], 'the hook\'s error');
    expect(ops(run)).toEqual(['rampart_is_banned']);
    expectClean(run);
    expect(run.value).toEqual({ is_banned: false, jails: [], rampart_enabled: false, error: null });
  });
});

// ---------------------------------------------------------------------------------------------------------
// Clientexec (clientexec/apiscp-server)

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
    expectSucceeded(await step('getAvailableActions'), ['Create']);
  });

  it('a failure reaches Clientexec as its exception with the server message', async () => {
    const run = await step('suspend', { package: { ...a.package, domain_name: 'ce-missing.example' } });
    expect(run.exception).toMatchObject({ class: 'CE_Exception', message: expect.stringContaining('ce-missing.example') });
  });
});

// ---------------------------------------------------------------------------------------------------------
// Blesta / HostBill / WISECP style: the same functions, arguments plain or wrapped in SoapVar

const blesta = (calls: Json[]) => runStep('blesta', 'calls', { endpoint: s.url, key: s.t.operatorKey, calls });

type Outcome = { ok?: unknown; fault?: { code: string; message: string } };

for (const wrap of ['plain', 'object', 'map', 'scalars'] as const) {
  describe.sequential(`Blesta-style calls, arguments ${wrap}`, () => {
    const domain = `blesta-${wrap}.example`;
    const user = `bl${wrap}`;

    it('admin_add_site with a plain password, email, plan and invoice', async () => {
      const run = await blesta([{ op: 'admin_add_site', wrap, args: [domain, user, { 'siteinfo.email': `o@${domain}`, 'siteinfo.plan': 'basic', 'auth.tpasswd': 'Initial-pass1', 'billing.invoice': `BL-${wrap}` }] }]);
      expect(run.exception).toBeNull();
      const out = run.value as Outcome[];
      expectNone(out.map((o) => o.fault && `admin_add_site: ${o.fault.message}`), 'SOAP faults');
      expectClean(run);
      expect(out[0]!.ok).toBe(true);
      const id = (await siteRecord(s, domain))!.id as number;
      expect((await signIn(s, id, user, 'Initial-pass1')).status).toBe(200);
    });

    it('collect, suspend with a reason, activate, change plan, change password, hijack, usage, plans, whoami, delete', async () => {
      await ensureSite(s, domain, user, { 'billing.invoice': `BL-${wrap}` });
      const calls = [
        { op: 'admin_collect', wrap, args: [['siteinfo', 'billing'], null, [domain]] },
        { op: 'admin_deactivate_site', wrap, args: [domain, { reason: 'Blesta suspension' }] },
        { op: 'admin_collect', wrap, args: [['siteinfo.domain'], null, [domain]] },
        { op: 'admin_activate_site', wrap, args: [domain] },
        { op: 'admin_edit_site', wrap, args: [domain, { 'siteinfo.plan': 'basic' }, { reset: true }] },
        { op: 'auth_change_password', wrap, args: ['Changed-pass22', user, domain] },
        { op: 'admin_hijack', wrap, args: [domain, user, 'UI'] },
        { op: 'admin_get_usage', wrap, args: ['storage', [domain]] },
        { op: 'admin_list_plans', wrap, args: [] },
        { op: 'admin_get_plan', wrap, args: ['basic'] },
        { op: 'common_whoami', wrap, args: [] },
        { op: 'admin_delete_site', wrap, args: [domain, { force: true }] },
      ];
      const run = await blesta(calls);
      expect(run.exception).toBeNull();
      const out = run.value as Outcome[];
      expectNone(out.map((o, i) => o.fault && `${calls[i]!.op}: ${o.fault.message}`), 'SOAP faults');
      expectClean(run);
      expect(out[0]!.ok).toMatchObject({ [domain]: { active: true, siteinfo: { domain, admin_user: user, email: `o@${domain}`, plan: 'basic' }, billing: { invoice: `BL-${wrap}` } } });
      expect(out[2]!.ok).toMatchObject({ [domain]: { active: false } });
      expect(out[6]!.ok).toEqual(expect.stringMatching(/^[A-Za-z0-9_-]{20,}$/));
      expect(out[8]!.ok).toContain('basic');
      expect(out[9]!.ok).toMatchObject({ diskquota: { quota: expect.any(Number) } });
      expect(out[10]!.ok).toBe('admin');
      expect(await siteRecord(s, domain)).toBeNull();
    });
  });
}

describe('bad input per function: a SOAP fault with the reason, nothing changed', () => {
  it('wrong types, unknown services, unknown sites and oversized strings are refused', async () => {
    const setup = await blesta([{ op: 'admin_add_site', args: ['bad-input.example', 'badinput', { 'siteinfo.email': 'o@bad-input.example' }] }]);
    expect((setup.value as Outcome[])[0]).toEqual({ ok: true });
    const before = { sites: await cp(s, 'admin:collect', [null]), suspended: await suspensions(s) };

    const cases: [string, Json, RegExp][] = [
      ['add: domain not a string', { op: 'admin_add_site', args: [['bad-array.example'], 'badarr', []] }, /domain|string/i],
      ['add: unknown service', { op: 'admin_add_site', args: ['bad-svc.example', 'badsvc', { 'nosuch.param': '1' }] }, /nosuch/],
      ['add: unknown plan', { op: 'admin_add_site', args: ['bad-plan.example', 'badplan', { 'siteinfo.plan': 'no-such-plan' }] }, /no-such-plan/],
      ['add: oversized domain', { op: 'admin_add_site', args: [`${'a'.repeat(300)}.example`, 'badlong', []] }, /domain/i],
      ['add: oversized email', { op: 'admin_add_site', args: ['bad-mail.example', 'badmail', { 'siteinfo.email': `${'m'.repeat(70_000)}@example.com` }] }, /email/i],
      ['add: flags not a map', { op: 'admin_add_site', args: ['bad-flags.example', 'badflags', [], 'yes'] }, /./],
      ['edit: unknown site', { op: 'admin_edit_site', args: ['missing-site.example', { 'siteinfo.plan': 'basic' }, { reset: true }] }, /missing-site\.example/],
      ['edit: unknown plan', { op: 'admin_edit_site', args: ['bad-input.example', { 'siteinfo.plan': 'no-such-plan' }, { reset: true }] }, /no-such-plan/],
      ['edit: options not a map', { op: 'admin_edit_site', args: ['bad-input.example', 'siteinfo.plan=basic'] }, /./],
      ['deactivate: unknown site', { op: 'admin_deactivate_site', args: ['missing-site.example'] }, /missing-site\.example/],
      ['deactivate: oversized reason', { op: 'admin_deactivate_site', args: ['bad-input.example', { reason: 'r'.repeat(70_000) }] }, /reason/i],
      ['activate: site not a string', { op: 'admin_activate_site', args: [{ site: 'bad-input.example' }] }, /./],
      ['delete: unparseable since', { op: 'admin_delete_site', args: [null, { since: 'not a time at all', force: true }] }, /since/i],
      ['delete: unknown site', { op: 'admin_delete_site', args: ['missing-site.example', { force: true }] }, /missing-site\.example/],
      ['change password: too short', { op: 'auth_change_password', args: ['short', 'badinput', 'bad-input.example'] }, /password/i],
      ['change password: not a string', { op: 'auth_change_password', args: [['Changed-pass22'], 'badinput', 'bad-input.example'] }, /password|string/i],
      ['change password: oversized', { op: 'auth_change_password', args: ['p'.repeat(70_000), 'badinput', 'bad-input.example'] }, /password/i],
      ['change password: unknown user', { op: 'auth_change_password', args: ['Changed-pass22', 'nosuchuser', 'bad-input.example'] }, /nosuchuser/],
      ['hijack: unknown site', { op: 'admin_hijack', args: ['missing-site.example', null, 'UI'] }, /missing-site\.example/],
      ['usage: unknown field', { op: 'admin_get_usage', args: ['nosuchfield'] }, /field/],
      ['collect: unknown service', { op: 'admin_collect', args: [['nosuch.param'], null, ['bad-input.example']] }, /nosuch/],
      ['plan: unknown', { op: 'admin_get_plan', args: ['no-such-plan'] }, /no-such-plan/],
    ];
    const run = await blesta(cases.map(([, c]) => c));
    expect(run.exception).toBeNull();
    const out = run.value as Outcome[];
    const wrong: string[] = [];
    cases.forEach(([name, , pattern], i) => {
      const o = out[i]!;
      if (!o.fault) wrong.push(`${name}: answered ${JSON.stringify(o.ok)?.slice(0, 200)}`);
      else if (!/^SOAP-ENV:(Client|Server)$/.test(o.fault.code) || !pattern.test(o.fault.message)) wrong.push(`${name}: ${o.fault.code} ${o.fault.message.slice(0, 200)}`);
    });
    for (const w of run.wire) expect(w.status === 500 || w.status === 200, `${w.action} answered ${w.status}`).toBe(true);
    expectNone(wrong, 'bad input not refused as expected');
    expect({ sites: await cp(s, 'admin:collect', [null]), suspended: await suspensions(s) }).toEqual(before);
  });

  it('a wrong key is refused for every module-style client', async () => {
    const run = await runStep('blesta', 'calls', { endpoint: s.url, key: 'hp_op_wrong', calls: [{ op: 'common_whoami', args: [] }] });
    expect((run.value as Outcome[])[0]!.fault).toMatchObject({ code: 'SOAP-ENV:Client' });
    const ceRun = await runStep('clientexec', 'testConnection', { server: { ServerHostName: ce.host, plugin_apiscp_Port: ce.port, plugin_apiscp_API_Key: 'hp_op_wrong', ...(CLIENTEXEC_OVER_TLS ? {} : { _scheme: 'http' }) } }, ce.cafile ? { cafile: ce.cafile } : {});
    expect(ceRun.exception).toMatchObject({ class: 'CE_Exception' });
    const wh = await runStep('whmcs', 'UnsuspendAccount', { ...whmcsServer(s), serverpassword: 'hp_op_wrong', domain: 'bad-input.example', _session_id: '' });
    expect(wh.value).toMatch(/key/i);
    expect(wh.resends).toBe(0);
  });
});

// Last: it moves the server's clock forward.
describe.sequential('WHMCS module, daily cron', () => {
  it("the daily cron deletes only sites suspended for 'Deferred Account Cancellation' 14 days ago or more", async () => {
    const make = async (domain: string, user: string, sid: number, reason: string) => {
      const p = whmcsPlanOnly(s, { domain, username: user, password: 'Initial-pass1', serviceid: sid, model: { client: { email: `o@${domain}`, ip: '203.0.113.52' } } });
      await runStep('whmcs', 'CreateAccount', p);
      await ensureSite(s, domain, user);
      expectSucceeded(await runStep('whmcs', 'SuspendAccount', { ...p, suspendreason: reason }));
    };
    await make('cron-old-deferred.example', 'cronold', 2001, 'Deferred Account Cancellation');
    await make('cron-old-overdue.example', 'cronover', 2002, 'Overdue on Payment');
    s.t.setNow(new Date(Date.now() + 15 * 86_400_000));
    await make('cron-new-deferred.example', 'cronnew', 2003, 'Deferred Account Cancellation');

    const run = await runStep('whmcs', 'DailyCronJob', { ...whmcsServer(s), _session_id: '' });
    expect(ops(run)).toEqual(['admin_delete_site']);
    expect(run.wire[0]!.body).toMatch(/<param0 xsi:nil="true"\/>/);
    expectClean(run);
    expect(run.value, 'the hook logs a failure message').toBeNull();
    expect(await siteRecord(s, 'cron-old-deferred.example')).toBeNull();
    expect(await siteRecord(s, 'cron-old-overdue.example')).toMatchObject({ status: 'suspended' });
    expect(await siteRecord(s, 'cron-new-deferred.example')).toMatchObject({ status: 'suspended' });
  });
});
