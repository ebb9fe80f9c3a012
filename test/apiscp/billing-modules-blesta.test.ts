import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirePhpSoap } from '../support/php-soap.js';
import { cp, ensureSite, expectClean, expectNone, runStep, signIn, siteRecord, startModuleServer, suspensions, type Json, type ModuleServer } from './modules-harness.js';

// Calls as Blesta's, HostBill's and WISECP's ApisCP modules make them: the functions the WHMCS and
// Clientexec modules use, with positional arguments as plain PHP arrays or wrapped in SoapVar (model in
// test/apiscp/modules/blesta-style.php); and bad input for each function.

let s: ModuleServer;

beforeAll(async () => {
  await requirePhpSoap();
  s = await startModuleServer();
});
afterAll(() => s?.close());

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

  it('a wrong key is refused with a Client fault', async () => {
    const run = await runStep('blesta', 'calls', { endpoint: s.url, key: 'hp_op_wrong', calls: [{ op: 'common_whoami', args: [] }] });
    expect((run.value as Outcome[])[0]!.fault).toMatchObject({ code: 'SOAP-ENV:Client' });
  });
});
