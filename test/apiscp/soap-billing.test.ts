import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditMark, auditSince } from '../support/audit.js';
import { fromPhp, requirePhpSoap, runPhpSoap, type PhpCall, type PhpOutcome } from '../support/php-soap.js';
import { startApiscpServer, type ApiscpServer } from './apiscp-harness.js';

// A billing module's life cycle of a site, through PHP's SoapClient against the real server: the
// calls ApisCP modules (WHMCS, Blesta, Clientexec) make, with the types PHP gets back.
let s: ApiscpServer;
beforeAll(async () => {
  await requirePhpSoap();
  s = await startApiscpServer();
});
afterAll(() => s?.close());

// Every module sends `Abort-On: error`; a call with its own `headers` (even none) sends only those.
const soap = (calls: PhpCall[], key = s.t.operatorKey): Promise<PhpOutcome[]> =>
  runPhpSoap(
    calls.map((c) => ({ ...c, headers: c.headers ?? ['Abort-On: error'] })),
    { wsdl: `${s.url}/apnscp.wsdl`, location: `${s.url}/soap?authkey=${encodeURIComponent(key)}` },
  );

function value(o: PhpOutcome | undefined): unknown {
  if (!o?.ok) throw new Error(`expected a result, got ${JSON.stringify(o)}`);
  return fromPhp(o.value!);
}

describe('SOAP door for billing modules (PHP SoapClient)', () => {
  it('adds, edits, suspends, activates, collects, hijacks and deletes a site', async () => {
    const mark = await auditMark(s.t);
    const out = await soap([
      { op: 'admin_add_site', args: ['billing-soap.example', 'billadmin', { 'siteinfo.email': 'owner@billing-soap.example', 'billing.invoice': 'WHMCS-1001', 'diskquota.quota': 2000 }] },
      { op: 'admin_collect', args: [['siteinfo.domain', 'diskquota.quota', 'billing.invoice'], { 'billing.invoice': 'WHMCS-1001' }] },
      { op: 'admin_edit_site', args: ['billing-soap.example', { 'diskquota.quota': 3000, 'ssh.enabled': false }] },
      { op: 'admin_deactivate_site', args: ['billing-soap.example', 'unpaid invoice'] },
      // Clientexec indexes the answer by the domain it passed.
      { op: 'admin_collect', args: [null, [], ['billing-soap.example']] },
      { op: 'admin_activate_site', args: ['WHMCS-1001'] },
      { op: 'admin_hijack', args: ['billing-soap.example', null, 'UI'] },
      { op: 'admin_list_plans', args: [] },
      { op: 'admin_get_plan', args: ['basic'] },
      { op: 'common_whoami', args: [] },
      { op: 'admin_delete_site', args: ['WHMCS-1001', { 'dry-run': true }] },
      { op: 'admin_delete_site', args: ['WHMCS-1001'] },
      { op: 'admin_collect', args: [[], { 'billing.invoice': 'WHMCS-1001' }] },
    ]);
    expect(out.every((o) => o.ok), JSON.stringify(out.filter((o) => !o.ok))).toBe(true);
    const [added, collected, edited, suspended, byDomain, activated, hijacked, plans, plan, who, dry, deleted, gone] = out;
    expect(value(added)).toBe(true);
    const sites = value(collected) as Record<string, { siteinfo: { domain: string }; diskquota: { quota: number }; billing: { invoice: string }; active: boolean; domain: string }>;
    const [siteKey] = Object.keys(sites);
    expect(siteKey).toMatch(/^site\d+$/);
    expect(sites[siteKey!]).toEqual({ siteinfo: { domain: 'billing-soap.example' }, diskquota: { quota: 2000 }, billing: { invoice: 'WHMCS-1001' }, active: true, domain: 'billing-soap.example' });
    expect(value(edited)).toBe(true);
    expect(value(suspended)).toBe(true);
    const view = value(byDomain) as Record<string, Record<string, unknown>>;
    expect(Object.keys(view)).toEqual(['billing-soap.example']);
    expect(view['billing-soap.example']).toMatchObject({ active: false, domain: 'billing-soap.example', diskquota: { quota: 3000 }, ssh: { enabled: 0 }, siteinfo: { email: 'owner@billing-soap.example', admin_user: 'billadmin', plan: 'basic' } });
    expect(value(activated)).toBe(true);
    const sessionId = value(hijacked);
    expect(sessionId).toEqual(expect.stringMatching(/^[A-Za-z0-9_-]{40,}$/));
    expect(value(plans)).toContain('basic');
    expect(value(plan)).toMatchObject({ diskquota: { quota: expect.any(Number) }, ssh: { enabled: 1 } });
    expect(value(who)).toBe('admin');
    expect(value(dry)).toEqual([{ site: siteKey, id: Number(siteKey!.slice(4)), domain: 'billing-soap.example', active: true, suspended_at: null, suspend_reason: null }]);
    expect(value(deleted)).toHaveLength(1);
    // PHP has one array type: nothing left is an empty array.
    expect(value(gone)).toEqual([]);

    // Every change is in the audit log, each with the SOAP request's id and the caller's address.
    const events = await auditSince(s.t, mark);
    expect(events.map((e) => e.action)).toEqual(['client.created', 'client.updated', 'client.suspended', 'client.activated', 'client.hijacked', 'client.deleted']);
    for (const e of events) expect(e, e.action).toMatchObject({ actor_kind: 'operator', target_id: siteKey!.slice(4), request_id: expect.any(String), source_ip: '127.0.0.1' });
    expect(new Set(events.map((e) => e.request_id)).size).toBe(events.length);

    // The hijacked session opened the site's panel (before the delete ended it).
    const panel = await fetch(`${s.url}/apps/dashboard?esprit_id=${encodeURIComponent(String(sessionId))}`);
    expect(panel.status).toBe(401);
  });

  it('a hijacked session opens the site dashboard at /apps/dashboard?esprit_id=', async () => {
    const [added, hijacked] = await soap([
      { op: 'admin_add_site', args: ['panel-soap.example', 'paneladmin', []] },
      { op: 'admin_hijack', args: ['panel-soap.example'] },
    ]);
    expect(value(added)).toBe(true);
    const id = String(value(hijacked));
    const landing = await fetch(`${s.url}/apps/dashboard?esprit_id=${encodeURIComponent(id)}`, { redirect: 'manual' });
    expect(landing.status).toBe(303);
    expect(landing.headers.get('location')).toBe('/console/my');
    expect(landing.headers.get('set-cookie')).toMatch(/^hp_session=[^;]+; Path=\/; HttpOnly; SameSite=Lax/);
    const panel = await fetch(`${s.url}/apps/dashboard`, { headers: { cookie: landing.headers.get('set-cookie')!.split(';')[0]! } });
    expect(panel.status).toBe(200);
    const html = await panel.text();
    expect(html).toContain('panel-soap.example');
    expect(html).toContain('paneladmin');
  });

  it('answers bad calls with SOAP faults and changes nothing', async () => {
    const out = await soap([
      { op: 'admin_add_site', args: ['not a domain', 'x', []] },
      { op: 'admin_add_site', args: ['fault-soap.example', 'faultadmin', { 'diskquota.quota': 'lots' }] },
      { op: 'admin_add_site', args: ['fault-soap.example', 'faultadmin', { 'nosuch.param': 1 }] },
      { op: 'admin_edit_site', args: ['no-such-site.example', { 'diskquota.quota': 1 }] },
      { op: 'admin_get_plan', args: ['no-such-plan'] },
      { op: 'admin_collect', args: [['siteinfo.nope'], []] },
      // Without Abort-On an unknown site is left out of collect's answer instead of failing it.
      { op: 'admin_collect', args: [[], [], ['fault-soap.example']], headers: [] },
    ]);
    expect(out.slice(0, 6).map((o) => o.fault?.faultcode)).toEqual(Array(6).fill('SOAP-ENV:Server'));
    expect(out[0]!.fault!.faultstring).toContain('not a valid domain name');
    expect(out[1]!.fault!.faultstring).toContain('diskquota,quota');
    expect(out[2]!.fault!.faultstring).toContain('nosuch: unknown service');
    expect(out[3]!.fault!.faultstring).toContain('no-such-site.example');
    expect(out[4]!.fault!.faultstring).toContain('no-such-plan');
    expect(out[5]!.fault!.faultstring).toContain('siteinfo,nope');
    // None of the refused adds created the site.
    expect(value(out[6])).toEqual([]);
  });

  it('honours Abort-On: error: an unknown site among several fails the call instead of being left out', async () => {
    const [added, lenient, strict] = await soap([
      { op: 'admin_add_site', args: ['abort-on.example', 'abortadmin', []] },
      { op: 'admin_collect', args: [['siteinfo.domain'], [], ['abort-on.example', 'missing-abort-on.example']], headers: [] },
      { op: 'admin_collect', args: [['siteinfo.domain'], [], ['abort-on.example', 'missing-abort-on.example']], headers: ['Abort-On: error'] },
    ]);
    expect(value(added)).toBe(true);
    expect(Object.keys(value(lenient) as object)).toEqual(['abort-on.example']);
    expect(strict!.fault).toMatchObject({ faultcode: 'SOAP-ENV:Server' });
    expect(strict!.fault!.faultstring).toContain('missing-abort-on.example');
  });

  it('takes a list of sites as one change: all suspended, or none when one is unknown', async () => {
    const out = await soap([
      { op: 'admin_add_site', args: ['list-soap-a.example', 'listsoapa', []] },
      { op: 'admin_add_site', args: ['list-soap-b.example', 'listsoapb', []] },
      { op: 'admin_deactivate_site', args: [['list-soap-a.example', 'missing-list-soap.example'], 'unpaid'] },
      { op: 'admin_collect', args: [['siteinfo.domain'], [], ['list-soap-a.example', 'list-soap-b.example']] },
      { op: 'admin_deactivate_site', args: [['list-soap-a.example', 'list-soap-b.example'], 'unpaid'] },
      { op: 'admin_collect', args: [['siteinfo.domain'], [], ['list-soap-a.example', 'list-soap-b.example']] },
      { op: 'admin_delete_site', args: [['list-soap-a.example', 'list-soap-b.example']] },
    ]);
    expect(value(out[0])).toBe(true);
    expect(value(out[1])).toBe(true);
    expect(out[2]!.fault).toMatchObject({ faultcode: 'SOAP-ENV:Server', faultstring: 'site, domain or invoice "missing-list-soap.example" not found' });
    const active = (o: PhpOutcome | undefined) => Object.values(value(o) as Record<string, { active: boolean }>).map((v) => v.active);
    expect(active(out[3])).toEqual([true, true]);
    expect(value(out[4])).toBe(true);
    expect(active(out[5])).toEqual([false, false]);
    expect((value(out[6]) as { domain: string }[]).map((d) => d.domain)).toEqual(['list-soap-a.example', 'list-soap-b.example']);
  });

  it('refuses a missing, wrong or reseller key with a Client fault', async () => {
    const wrong = await soap([{ op: 'admin_list_plans' }], 'hp_op_not-a-real-key');
    expect(wrong[0]!.fault).toMatchObject({ faultcode: 'SOAP-ENV:Client', faultstring: 'Invalid API key' });
    const none = await runPhpSoap([{ op: 'admin_list_plans' }], { wsdl: `${s.url}/apnscp.wsdl`, location: `${s.url}/soap` });
    expect(none[0]!.fault).toMatchObject({ faultcode: 'SOAP-ENV:Client', faultstring: 'Invalid API key' });
    const reseller = await soap([{ op: 'admin_list_plans' }], 'token:key');
    expect(reseller[0]!.fault).toMatchObject({ faultcode: 'SOAP-ENV:Client' });
  });
});
