import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditMark, auditSince } from '../support/audit.js';
import { requirePhpSoap } from '../support/php-soap.js';
import {
  admin, cp, collectOne, ensureSite, expectClean, expectNone, expectSent, expectSucceeded, hijackedSession, landing, ops, phpTypeAt, runStep, sessionAlive, signIn, siteRecord, startModuleServer, suspensions,
  type Json, type ModuleServer, type StepRun,
} from './modules-harness.js';

// The WHMCS server module for ApisCP (LithiumHosting/apiscp-whmcs), replayed call by call through PHP's
// SoapClient (model in test/apiscp/modules/whmcs-model.php); each effect checked through the admin API,
// the JSON door and the client console.

let s: ModuleServer;

beforeAll(async () => {
  await requirePhpSoap();
  s = await startModuleServer();
});
afterAll(() => s?.close());

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
        // 'null' (no limit) for users,max is the one user limit the HSP and SaaS doors share, where 0 is "no limit".
        expect(view.users.max).toBe(0);
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
      // The domain can be sold again (added through the JSON door: the create step judges the module's add).
      await cp(s, 'admin:add-site', [product.domain, `${product.user}2`, { 'siteinfo.email': `again@${product.domain}` }]);
      expect(await siteRecord(s, product.domain)).toMatchObject({ status: 'active' });
      await cp(s, 'admin:delete-site', [product.domain, { force: true }]);
      expect(await siteRecord(s, product.domain)).toBeNull();
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

describe('WHMCS module, refused key', () => {
  it('a wrong key comes back as the module message, without re-sending the call', async () => {
    const wh = await runStep('whmcs', 'UnsuspendAccount', { ...whmcsServer(s), serverpassword: 'hp_op_wrong', domain: 'any-site.example', _session_id: '' });
    expect(wh.value).toMatch(/key/i);
    expect(wh.resends).toBe(0);
    // A SOAP 1.1 fault travels with HTTP 500.
    expect(wh.wire.map((w) => w.status)).toEqual([500]);
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
    expect(run.wire[0]!.body).toMatch(/<ns1:admin_delete_site><\w+ xsi:nil="true"\/>/);
    expectClean(run);
    expect(run.value, 'the hook logs a failure message').toBeNull();
    expect(await siteRecord(s, 'cron-old-deferred.example')).toBeNull();
    expect(await siteRecord(s, 'cron-old-overdue.example')).toMatchObject({ status: 'suspended' });
    expect(await siteRecord(s, 'cron-new-deferred.example')).toMatchObject({ status: 'suspended' });
  });
});

