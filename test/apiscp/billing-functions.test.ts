import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditMark, auditSince } from '../support/audit.js';
import { fromPhp, requirePhpSoap, runPhpSoap, type PhpCall, type PhpOutcome } from '../support/php-soap.js';
import { createReseller } from '../support/test-app.js';
import { startApiscpServer, type ApiscpServer } from './apiscp-harness.js';

// The functions billing modules call besides add/edit (WHMCS's SuspendAccount, TerminateAccount,
// ChangePassword, UsageUpdate, its DailyCronJob and client-area hooks; Clientexec's plugin), each
// through the three doors: the JSON door, cpcmd, and PHP's SoapClient sending `Abort-On: error` as
// both modules do. The same call answers the same on all three.
let s: ApiscpServer;
beforeAll(async () => {
  await requirePhpSoap();
  s = await startApiscpServer();
});
afterAll(() => s?.close());

const ABORT_ON = ['Abort-On: error'];
/** Calls as the modules make them: every one with `Abort-On: error`. */
const soap = (calls: PhpCall[], key = s.t.operatorKey): Promise<PhpOutcome[]> =>
  runPhpSoap(
    calls.map((c) => ({ ...c, headers: c.headers ?? ABORT_ON })),
    { wsdl: `${s.url}/apnscp.wsdl`, location: `${s.url}/soap?authkey=${encodeURIComponent(key)}` },
  );

function value(o: PhpOutcome | undefined): unknown {
  if (!o?.ok) throw new Error(`expected a result, got ${JSON.stringify(o)}`);
  return fromPhp(o.value!);
}

async function json(name: string, args: unknown[] = [], extra: Record<string, unknown> = {}): Promise<unknown> {
  const r = await s.fn(name, args, extra);
  expect(r.status, `${name} ${JSON.stringify(args)}: ${JSON.stringify(r.body)}`).toBe(200);
  return r.body.result;
}

async function jsonRefused(name: string, args: unknown[], status: number, code: string, extra: Record<string, unknown> = {}): Promise<{ code: string; message: string; fields?: Record<string, string[]> }> {
  const r = await s.fn(name, args, extra);
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(r.body.error?.code).toBe(code);
  return r.body.error!;
}

async function cpcmd(...args: string[]): Promise<unknown> {
  const r = await s.tool('cpcmd', '-o', 'json', ...args);
  expect(r.code, `cpcmd ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout) as unknown;
}

async function addSite(domain: string, admin: string, opts: Record<string, unknown> = {}): Promise<number> {
  expect(await json('admin:add-site', [domain, admin, opts])).toBe(true);
  const found = (await json('admin:collect', [['siteinfo.domain'], null, [domain]])) as Record<string, unknown>;
  expect(Object.keys(found)).toEqual([domain]);
  const all = (await json('admin:collect', [['siteinfo.domain'], { 'siteinfo.domain': domain }])) as Record<string, unknown>;
  return Number(Object.keys(all)[0]!.slice(4));
}

const suspensions = async (target: string) =>
  ((await json('admin:delete-site', [target, { 'dry-run': true }])) as { site: string; domain: string; active: boolean; suspend_reason: string | null }[]).map((r) => [r.domain, r.active, r.suspend_reason]);

describe('admin:get-usage in ApisCP shapes and units', () => {
  it("serves WHMCS's UsageUpdate end to end: collect siteinfo.domain, usage storage and bandwidth, divided into MB", async () => {
    const small = await addSite('usage-small.example', 'usagesmall', { 'diskquota.quota': 500, 'bandwidth.threshold': 2, 'bandwidth.units': 'GB' });
    const big = await addSite('usage-big.example', 'usagebig', { 'diskquota.quota': 2000 });
    // The big site is a SaaS instance with a stored file: measured storage in use.
    await s.t.app.deps.db.updateTable('clients').set({ instance_uuid: randomUUID() }).where('id', '=', big).execute();
    const content = Buffer.alloc(300 * 1024 + 5, 7);
    const stored = await s.t.app.server.inject({ method: 'POST', url: `/admin/v1/clients/${big}/files`, headers: { authorization: `Bearer ${s.t.operatorKey}` }, payload: { name: 'report.bin', content_base64: content.toString('base64') } });
    expect(stored.statusCode, stored.body).toBe(201);

    const [collected, storage, bandwidth] = await soap([
      { op: 'admin_collect', args: [['siteinfo.domain']] },
      { op: 'admin_get_usage', args: ['storage'] },
      { op: 'admin_get_usage', args: ['bandwidth'] },
    ]);
    // What the module does with them, key by key (`$storageArr[$site]['qused'] / 1024` ...).
    const sites = value(collected) as Record<string, { domain: string }>;
    const storageArr = value(storage) as Record<string, Record<string, unknown>>;
    const bandwidthArr = value(bandwidth) as Record<string, Record<string, unknown>>;
    expect(Object.keys(storageArr).sort()).toEqual(Object.keys(sites).sort());
    expect(Object.keys(bandwidthArr).sort()).toEqual(Object.keys(sites).sort());
    const update = Object.fromEntries(
      Object.entries(sites).map(([site, v]) => [
        v.domain,
        {
          diskusage: (storageArr[site]!.qused as number) / 1024,
          disklimit: (storageArr[site]!.qhard as number) / 1024,
          bwusage: (bandwidthArr[site]!.sum as number) / 1024 / 1024,
          bwlimit: (bandwidthArr[site]!.threshold as number) / 1024 / 1024,
        },
      ]),
    );
    expect(update['usage-small.example']).toEqual({ diskusage: 0, disklimit: 500, bwusage: 0, bwlimit: 2048 });
    expect(update['usage-big.example']).toEqual({ diskusage: 301 / 1024, disklimit: 2000, bwusage: 0, bwlimit: 0 });
    // PHP gets integers, never null or floats, for every figure.
    expect(storageArr[`site${big}`]).toEqual({ qused: 301, qsoft: 2000 * 1024, qhard: 2000 * 1024, fused: 1, fsoft: 0, fhard: 0 });
    expect(storageArr[`site${small}`]).toEqual({ qused: 0, qsoft: 500 * 1024, qhard: 500 * 1024, fused: 0, fsoft: 0, fhard: 0 });
    const period = bandwidthArr[`site${small}`]!;
    expect(period).toMatchObject({ sum: 0, threshold: 2048 * 1024 * 1024, begin: expect.any(Number), end: expect.any(Number) });
    const now = Date.now() / 1000;
    expect(period.begin as number).toBeLessThanOrEqual(now);
    expect(period.end as number).toBeGreaterThan(now);
    expect(new Date((period.begin as number) * 1000).getUTCDate()).toBe(1);

    // The same call answers the same through the JSON door and cpcmd.
    expect((await json('admin:get-usage', ['storage']))).toEqual(storageArr);
    expect(await cpcmd('admin:get-usage', 'storage')).toEqual(storageArr);
    expect(((await cpcmd('admin:get-usage', 'bandwidth')) as Record<string, unknown>)[`site${big}`]).toEqual(bandwidthArr[`site${big}`]);
  });

  it('keys by the identifiers passed in sites (a group by siteNN), gives cgroup figures, and keeps domains and users', async () => {
    const master = await addSite('usage-master.example', 'usagemaster', { 'billing.invoice': 'USAGE-INV' });
    const sub = await addSite('usage-sub.example', 'usagesub', { 'billing.parent_invoice': 'USAGE-INV' });
    const plain = await addSite('usage-plain.example', 'usageplain');
    const byName = (await json('admin:get-usage', ['storage', ['usage-plain.example', 'USAGE-INV']])) as Record<string, unknown>;
    expect(Object.keys(byName).sort()).toEqual(['usage-plain.example', `site${master}`, `site${sub}`].sort());
    const [viaSoap] = await soap([{ op: 'admin_get_usage', args: ['storage', ['usage-plain.example', 'USAGE-INV']] }]);
    expect(value(viaSoap)).toEqual(byName);
    expect(await cpcmd('admin:get-usage', 'storage', '[usage-plain.example,USAGE-INV]')).toEqual(byName);

    expect(await json('admin:get-usage', ['cgroup', [`site${plain}`]])).toEqual({ [`site${plain}`]: { memory: { used: 0, limit: 0 }, cpu: { used: 0, limit: 0 }, proclimit: { used: 0, limit: 0 } } });
    expect(await json('admin:get-usage', ['domains', [plain]])).toEqual({ [String(plain)]: 1 });
    expect(await json('admin:get-usage', ['users', ['usage-plain.example']])).toEqual({ 'usage-plain.example': 1 });
  });

  it('refuses unknown fields, bad site lists and unknown sites alike on every door', async () => {
    for (const [args, code] of [
      [['inodes'], 'validation_failed'],
      [[42], 'validation_failed'],
      [['storage', [{ site: 1 }]], 'validation_failed'],
      [['storage', ['']], 'validation_failed'],
      [['storage', ['no-such-usage.example']], 'not_found'],
    ] as [unknown[], string][]) {
      await jsonRefused('admin:get-usage', args, code === 'not_found' ? 404 : 422, code);
      const [fault] = await soap([{ op: 'admin_get_usage', args }]);
      expect(fault!.fault, JSON.stringify(args)).toMatchObject({ faultcode: 'SOAP-ENV:Server' });
    }
    const cli = await s.tool('cpcmd', 'admin:get-usage', 'inodes');
    expect(cli.code).toBe(5);
    expect(cli.stderr).toContain('must be storage, bandwidth, cgroup, domains, users or null');
    const missing = await s.tool('cpcmd', 'admin:get-usage', 'storage', '[no-such-usage.example]');
    expect(missing.code).toBe(4);
  });
});

describe('admin:deactivate-site flags and admin:delete-site selection', () => {
  it("keeps WHMCS's suspend reason (an empty one is none), Clientexec's flagless call and the plain text reason", async () => {
    await addSite('susp-whmcs.example', 'suspwhmcs');
    await addSite('susp-empty.example', 'suspempty');
    await addSite('susp-ce.example', 'suspce');
    await addSite('susp-cli.example', 'suspcli');
    const out = await soap([
      { op: 'admin_deactivate_site', args: ['susp-whmcs.example', { reason: 'Overdue on Payment' }] },
      { op: 'admin_deactivate_site', args: ['susp-empty.example', { reason: '' }] },
      { op: 'admin_deactivate_site', args: ['susp-ce.example'] },
    ]);
    expect(out.map(value)).toEqual([true, true, true]);
    expect(await cpcmd('admin:deactivate-site', 'susp-cli.example', 'unpaid invoice')).toBe(true);
    expect(await suspensions('susp-whmcs.example')).toEqual([['susp-whmcs.example', false, 'Overdue on Payment']]);
    expect(await suspensions('susp-empty.example')).toEqual([['susp-empty.example', false, null]]);
    expect(await suspensions('susp-ce.example')).toEqual([['susp-ce.example', false, null]]);
    expect(await suspensions('susp-cli.example')).toEqual([['susp-cli.example', false, 'unpaid invoice']]);
    // A template is a plain name, kept with the suspension's audit record.
    await addSite('susp-tpl.example', 'susptpl');
    const mark = await auditMark(s.t);
    expect(await json('admin:deactivate-site', ['susp-tpl.example', { reason: 'abuse', template: 'abuse-page' }])).toBe(true);
    const [event] = await auditSince(s.t, mark);
    expect(event).toMatchObject({ action: 'client.suspended', changes: { suspend_reason: { after: 'abuse' }, template: { after: 'abuse-page' } } });
  });

  it('refuses bad flags on every door and suspends nothing', async () => {
    await addSite('susp-bad.example', 'suspbad');
    for (const flags of [{ reason: 'x'.repeat(501) }, { reason: ['a'] }, { template: '../../etc/passwd' }, { template: 'x'.repeat(65) }, { why: 'x' }, ['positional']]) {
      await jsonRefused('admin:deactivate-site', ['susp-bad.example', flags], 422, 'validation_failed');
      const [fault] = await soap([{ op: 'admin_deactivate_site', args: ['susp-bad.example', flags] }]);
      expect(fault!.fault, JSON.stringify(flags)).toMatchObject({ faultcode: 'SOAP-ENV:Server' });
    }
    await jsonRefused('admin:deactivate-site', ['no-such-susp.example', { reason: 'x' }], 404, 'not_found');
    const cli = await s.tool('cpcmd', 'admin:deactivate-site', 'susp-bad.example', '[template:a/b]');
    expect(cli.code).toBe(5);
    expect(await suspensions('susp-bad.example')).toEqual([['susp-bad.example', true, null]]);
  });

  it("WHMCS's DailyCronJob deletes what since and match (or filter) select, forced; the answer is never null", async () => {
    await addSite('cron-deferred.example', 'crondeferred');
    await addSite('cron-other.example', 'cronother');
    await addSite('cron-active.example', 'cronactive');
    expect(value((await soap([{ op: 'admin_deactivate_site', args: ['cron-deferred.example', { reason: 'Deferred Account Cancellation' }] }]))[0])).toBe(true);
    expect(await json('admin:deactivate-site', ['cron-other.example', { reason: 'Overdue on Payment' }])).toBe(true);
    const cron = { since: '14 days ago', match: 'Deferred Account Cancellation', force: true };

    // Suspended today: not yet 14 days ago. The answer is an empty list, which the module does not re-send.
    const [early] = await soap([{ op: 'admin_delete_site', args: [null, cron] }]);
    expect(value(early)).toEqual([]);
    expect(await json('admin:delete-site', [null, { ...cron, 'dry-run': true }])).toEqual([]);

    // The same selection with since=now: only the matching suspension, in every spelling of the flags.
    const dry = (await json('admin:delete-site', [null, { since: 'now', filter: 'Deferred Account Cancellation', force: 'true', 'dry-run': 1 }])) as { domain: string }[];
    expect(dry.map((d) => d.domain)).toEqual(['cron-deferred.example']);
    expect(((await cpcmd('admin:delete-site', '', '[since:now,match:Deferred Account Cancellation,dry-run:true]')) as { domain: string }[]).map((d) => d.domain)).toEqual(['cron-deferred.example']);

    // Fifteen days on, the cron job deletes it and leaves the others.
    s.t.setNow(new Date(Date.now() + 15 * 86_400_000));
    try {
      const [deleted] = await soap([{ op: 'admin_delete_site', args: [null, cron] }]);
      expect((value(deleted) as { domain: string; suspend_reason: string }[]).map((d) => [d.domain, d.suspend_reason])).toEqual([['cron-deferred.example', 'Deferred Account Cancellation']]);
      const left = (await json('admin:collect', [['siteinfo.domain'], null, ['cron-deferred.example', 'cron-other.example', 'cron-active.example']])) as Record<string, { active: boolean }>;
      expect(Object.entries(left).map(([k, v]) => [k, v.active])).toEqual([
        ['cron-other.example', false],
        ['cron-active.example', true],
      ]);
    } finally {
      s.t.setNow(new Date());
    }
  });

  it('refuses bad delete flags: an unreadable force, match and filter that disagree, a bad time', async () => {
    await addSite('del-bad.example', 'delbad');
    for (const flags of [{ force: 'maybe' }, { 'dry-run': 'perhaps' }, { match: 'a', filter: 'b' }, { since: 'fortnight' }, { match: 'x'.repeat(201) }]) {
      await jsonRefused('admin:delete-site', ['del-bad.example', flags], 422, 'validation_failed');
      const [fault] = await soap([{ op: 'admin_delete_site', args: ['del-bad.example', flags] }]);
      expect(fault!.fault, JSON.stringify(flags)).toMatchObject({ faultcode: 'SOAP-ENV:Server' });
    }
    // The same pattern in both spellings is one option.
    expect(await json('admin:delete-site', [null, { since: 'now', match: 'zzz-none', filter: 'zzz-none', 'dry-run': true }])).toEqual([]);
    // Clientexec's terminate: the domain, no flags.
    const [terminated] = await soap([{ op: 'admin_delete_site', args: ['del-bad.example'] }]);
    expect((value(terminated) as { domain: string }[]).map((d) => d.domain)).toEqual(['del-bad.example']);
  });
});

describe('auth:change-password, auth:is-inactive, common:whoami', () => {
  it('changes the password (7 characters is enough) and ends the sessions the old one opened', async () => {
    const id = await addSite('pw-change.example', 'pwchange');
    expect(await json('auth:change-password', ['first-password', 'pwchange', 'pw-change.example'])).toBe(true);
    const [hijacked] = await soap([{ op: 'admin_hijack', args: ['pw-change.example', 'pwchange', 'UI'] }]);
    const session = String(value(hijacked));
    const landing = () => fetch(`${s.url}/apps/dashboard?esprit_id=${encodeURIComponent(session)}`, { redirect: 'manual' });
    const entered = await landing();
    expect(entered.status).toBe(303);
    const cookie = entered.headers.get('set-cookie')!.split(';')[0]!;
    const panel = () => fetch(`${s.url}/apps/dashboard`, { headers: { cookie }, redirect: 'manual' });
    expect((await panel()).status).toBe(200);

    const mark = await auditMark(s.t);
    // WHMCS's ChangePassword: (password, username, domain).
    const [changed] = await soap([{ op: 'auth_change_password', args: ['seven77', 'pwchange', 'pw-change.example'] }]);
    expect(value(changed)).toBe(true);
    expect((await panel()).status).toBe(401);
    expect((await landing()).status).toBe(401);
    const events = (await auditSince(s.t, mark)).filter((e) => e.action === 'user.password_changed');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actor_kind: 'operator', changes: { login: { after: 'pwchange' }, sessions_ended: { after: 1 } } });

    // The new password signs in; the old one does not.
    const signIn = (password: string) =>
      s.t.app.server.inject({ method: 'POST', url: `/console/clients/${id}/login`, remoteAddress: '192.0.2.50', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ login: 'pwchange', password }).toString() });
    expect((await signIn('first-password')).statusCode).toBe(401);
    expect((await signIn('seven77')).statusCode).toBe(303);
    // JSON door and cpcmd: the same call.
    expect(await json('auth:change-password', ['another-one', 'pwchange', 'pw-change.example'])).toBe(true);
    expect(await cpcmd('auth:change-password', 'third-one', 'pwchange', 'pw-change.example')).toBe(true);
  });

  it('refuses short, long and non-text passwords and unknown users or domains, with ApisCP\'s words for a weak password', async () => {
    await addSite('pw-bad.example', 'pwbad');
    const weak = 'weak password disallowed: a password must be 7 to 1024 characters';
    for (const password of ['sixsix', 'x'.repeat(1025), 1234567, ['long-enough']]) {
      expect((await jsonRefused('auth:change-password', [password, 'pwbad', 'pw-bad.example'], 422, 'validation_failed')).message).toBe(weak);
      const [fault] = await soap([{ op: 'auth_change_password', args: [password, 'pwbad', 'pw-bad.example'] }]);
      expect(fault!.fault).toMatchObject({ faultcode: 'SOAP-ENV:Server', faultstring: weak });
    }
    const [noUser, noDomain] = await soap([
      { op: 'auth_change_password', args: ['long-enough', 'nobody', 'pw-bad.example'] },
      { op: 'auth_change_password', args: ['long-enough', 'pwbad', 'no-such-pw.example'] },
    ]);
    expect(noUser!.fault!.faultstring).toMatch(/^user nobody of site\d+ not found$/);
    expect(noDomain!.fault!.faultstring).toBe('site, domain or invoice "no-such-pw.example" not found');
    await jsonRefused('auth:change-password', ['long-enough', 'nobody', 'pw-bad.example'], 404, 'not_found');
    await jsonRefused('auth:change-password', ['long-enough', { user: 1 }, 'pw-bad.example'], 422, 'validation_failed');
    const cli = await s.tool('cpcmd', 'auth:change-password', 'short', 'pwbad', 'pw-bad.example');
    expect(cli.code).toBe(5);
    expect(cli.stderr).toContain(weak);
  });

  it('auth:is-inactive is false for the server administrator and the -d site\'s state with one; whoami stays admin', async () => {
    await addSite('inactive.example', 'inactiveadmin');
    const [inactive, who] = await soap([{ op: 'auth_is_inactive' }, { op: 'common_whoami' }]);
    expect(value(inactive)).toBe(false);
    expect(value(who)).toBe('admin');
    expect(await json('auth:is-inactive')).toBe(false);
    expect(await cpcmd('auth:is-inactive')).toBe(false);
    expect(await cpcmd('common:whoami')).toBe('admin');
    expect(await json('admin:deactivate-site', ['inactive.example'])).toBe(true);
    expect(await json('auth:is-inactive', [], { site: 'inactive.example' })).toBe(true);
    expect(await cpcmd('-d', 'inactive.example', 'auth:is-inactive')).toBe(true);
    await jsonRefused('auth:is-inactive', [], 404, 'not_found', { site: 'no-such-inactive.example' });
  });
});

describe('rampart over the failed sign-in lockouts', () => {
  const LOCKED = '203.0.113.77';
  const signIn = (id: number, login: string, password: string, ip: string) =>
    s.t.app.server.inject({ method: 'POST', url: `/console/clients/${id}/login`, remoteAddress: ip, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ login, password }).toString() });

  it('reports the address locked out of every sign-in after too many failures, and unban lets it in again (audited)', async () => {
    const id = await addSite('rampart.example', 'rampartadmin');
    expect(await json('auth:change-password', ['rampart-password', 'rampartadmin', 'rampart.example'])).toBe(true);
    expect(await json('rampart:is-banned', [LOCKED])).toBe(false);
    // Fifty wrong guesses, each at another login so no account lockout comes first: the address's limit.
    for (let i = 0; i < 50; i++) expect((await signIn(id, `guess${i}`, 'wrong', LOCKED)).statusCode).toBe(401);
    expect((await signIn(id, 'rampartadmin', 'rampart-password', LOCKED)).statusCode).toBe(429);
    expect((await signIn(id, 'rampartadmin', 'rampart-password', '203.0.113.78')).statusCode).toBe(303);

    const services = ['operator-login', 'client-login', 'hsp-login', 'crm-login', 'odoo'];
    // WHMCS's client-area hook: is-banned, banned-services (cast to an array), then unban.
    const [banned, jails, other, otherJails, mapped] = await soap([
      { op: 'rampart_is_banned', args: [LOCKED] },
      { op: 'rampart_banned_services', args: [LOCKED] },
      { op: 'rampart_is_banned', args: ['203.0.113.78'] },
      { op: 'rampart_banned_services', args: ['203.0.113.78'] },
      { op: 'rampart_is_banned', args: [`::ffff:${LOCKED}`] },
    ]);
    expect(value(banned)).toBe(true);
    expect(value(jails)).toEqual(services);
    expect(value(other)).toBe(false);
    expect(value(otherJails)).toEqual([]);
    expect(value(mapped)).toBe(true);
    expect(await json('rampart:banned-services', [LOCKED])).toEqual(services);
    expect(await cpcmd('rampart:is-banned', LOCKED)).toBe(true);
    expect(await json('rampart:is-banned', [LOCKED, 'odoo'])).toBe(true);
    expect(await json('rampart:is-banned', [LOCKED, 'reseller-signup'])).toBe(false);
    expect(await json('rampart:get-jails')).toEqual([...services, 'reseller-signup']);

    const mark = await auditMark(s.t);
    const [unbanned] = await soap([{ op: 'rampart_unban', args: [LOCKED] }]);
    expect(value(unbanned)).toBe(true);
    const events = await auditSince(s.t, mark);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ action: 'address.unbanned', target_type: 'address', target_id: LOCKED, actor_kind: 'operator', changes: { banned: { before: services, after: [] } } });
    expect(await json('rampart:is-banned', [LOCKED])).toBe(false);
    expect(await cpcmd('rampart:banned-services', LOCKED)).toEqual([]);
    expect((await signIn(id, 'rampartadmin', 'rampart-password', LOCKED)).statusCode).toBe(303);
    // Nothing left to lift: still true, nothing audited.
    const again = await auditMark(s.t);
    expect(await json('rampart:unban', [LOCKED])).toBe(true);
    expect(await auditSince(s.t, again)).toEqual([]);
  }, 180_000);

  it('reports an address locked out of the reseller sign-up by wrong captcha answers', async () => {
    const ip = '198.51.100.201';
    for (let i = 0; i < 5; i++) {
      const res = await s.t.app.server.inject({ method: 'POST', url: '/v1/resellers', remoteAddress: ip, headers: { accept: 'application/json' }, payload: { reseller: {}, captcha: { id: 'nope', answer: 'wrong' } } });
      expect(res.statusCode).not.toBe(429);
    }
    expect(await json('rampart:banned-services', [ip])).toEqual(['reseller-signup']);
    expect(await json('rampart:unban', [ip, 'reseller-signup'])).toBe(true);
    expect(await json('rampart:banned-services', [ip])).toEqual([]);
  });

  it("refuses an invalid address with ApisCP's words and an unknown service, on every door; a wrong key lifts nothing", async () => {
    for (const ip of ['999.1.1.1', 'not-an-ip', '1.2.3.4/24', 'x'.repeat(300), 42, ['1.2.3.4']]) {
      const err = await jsonRefused('rampart:is-banned', [ip], 422, 'validation_failed');
      expect(err.message).toMatch(/^invalid IP address `/);
      const [fault] = await soap([{ op: 'rampart_unban', args: [ip] }]);
      expect(fault!.fault, JSON.stringify(ip)).toMatchObject({ faultcode: 'SOAP-ENV:Server', faultstring: expect.stringMatching(/^invalid IP address `/) });
    }
    expect((await jsonRefused('rampart:is-banned', ['999.1.1.1'], 422, 'validation_failed')).message).toBe("invalid IP address `999.1.1.1'");
    await jsonRefused('rampart:unban', ['192.0.2.1', 'sshd'], 422, 'validation_failed');
    const cli = await s.tool('cpcmd', 'rampart:is-banned', 'not-an-ip');
    expect(cli.code).toBe(5);
    expect(cli.stderr).toContain("invalid IP address `not-an-ip'");

    // Lock an address out (real failures), then try to lift it with a wrong key and a reseller's.
    const ip = '198.51.100.202';
    for (let i = 0; i < 5; i++) await s.t.app.server.inject({ method: 'POST', url: '/v1/resellers', remoteAddress: ip, headers: { accept: 'application/json' }, payload: { reseller: {}, captcha: { id: 'nope', answer: 'wrong' } } });
    const [wrongKey] = await soap([{ op: 'rampart_unban', args: [ip] }], 'hp_op_not-a-real-key');
    expect(wrongKey!.fault).toMatchObject({ faultcode: 'SOAP-ENV:Client', faultstring: 'Invalid API key' });
    expect((await s.fn('rampart:unban', [ip], {}, 'Bearer token:key')).status).toBe(401);
    expect((await s.fn('rampart:unban', [ip], {}, null)).status).toBe(401);
    // A reseller's key opens the door for its own sites, not for the server's address bans.
    const reseller = await createReseller(s.t);
    for (const fn of ['rampart:unban', 'rampart:is-banned', 'rampart:banned-services']) {
      const asReseller = await s.fn(fn, [ip], {}, `Bearer ${reseller.api_token}:${reseller.api_key}`);
      expect(asReseller.status, fn).toBe(403);
      expect(asReseller.body.error?.code, fn).toBe('forbidden');
    }
    const [resellerSoap] = await soap([{ op: 'rampart_unban', args: [ip] }], `${reseller.api_token}:${reseller.api_key}`);
    expect(resellerSoap!.fault).toMatchObject({ faultcode: 'SOAP-ENV:Client' });
    expect(await json('rampart:banned-services', [ip])).toEqual(['reseller-signup']);
  });
});
