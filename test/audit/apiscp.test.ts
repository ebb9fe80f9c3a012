import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditMark, auditSince, onlyEventSince, testOperatorKeyId, type AuditRow } from '../support/audit.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

// The ApisCP door (cpcmd functions over JSON, as bin/cpcmd and billing modules call them) and the
// site dashboard's switch: each change leaves its audit events, under the caller's request id and
// address, with the changed fields and nothing secret.
let t: TestApp;
let keyId: number;

beforeAll(async () => {
  t = await createTestApp();
  keyId = await testOperatorKeyId(t);
});
afterAll(() => t.close());

const IP = '192.0.2.71';
const BROWSER_IP = '198.51.100.72';
let requests = 0;
const byOperator = () => ({ actor_kind: 'operator', actor_id: keyId, source_ip: IP, reseller_id: null });

/** Every session id and cookie handed out below, to look for in the log at the end. */
const secrets: string[] = [];

async function cpcmd(name: string, args: unknown[], rid = `audit-apiscp-${++requests}`): Promise<unknown> {
  const res = await t.app.server.inject({
    method: 'POST',
    url: `/api/v1/cpcmd/${name}`,
    headers: { authorization: `Bearer ${t.operatorKey}`, 'x-request-id': rid },
    remoteAddress: IP,
    payload: { args },
  });
  expect(res.statusCode, res.body).toBe(200);
  return (res.json() as { result: unknown }).result;
}

let n = 0;
const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${n++}`;

/** The site (`siteNN`) that holds a domain. */
async function siteOf(domain: string): Promise<string> {
  const found = Object.keys((await cpcmd('admin:collect', [['siteinfo.domain'], { 'siteinfo.domain': domain }])) as Record<string, unknown>);
  expect(found).toHaveLength(1);
  return found[0]!;
}
const idOf = (site: string) => site.replace(/^site/, '');

describe('cpcmd functions over the JSON door', () => {
  it('admin:add-site: client.created with the site’s fields, never the admin’s password', async () => {
    const domain = `${unique('added')}.example`;
    const mark = await auditMark(t);
    expect(await cpcmd('admin:add-site', [domain, 'owner', { 'billing.invoice': 'audit-inv-1', 'siteinfo.email': 'owner@example.com' }], 'add-site-req')).toBe(true);
    const e = await onlyEventSince(t, mark);
    const site = await siteOf(domain);
    expect(e).toMatchObject({ ...byOperator(), action: 'client.created', target_type: 'client', target_id: idOf(site), request_id: 'add-site-req' });
    expect(e.changes).toEqual({
      site: { after: site },
      domain: { after: domain },
      aliases: { after: [] },
      admin_user: { after: 'owner' },
      email: { after: 'owner@example.com' },
      plan: { after: 'basic' },
      invoice: { after: 'audit-inv-1' },
      service_meta: { after: {} },
    });

    // A refused add (the domain is taken) records nothing.
    const mark2 = await auditMark(t);
    const taken = await t.app.server.inject({ method: 'POST', url: '/api/v1/cpcmd/admin:add-site', headers: { authorization: `Bearer ${t.operatorKey}` }, remoteAddress: IP, payload: { args: [domain, 'other'] } });
    expect(taken.statusCode).toBe(422);
    expect(await auditSince(t, mark2)).toEqual([]);
  });

  it('admin:edit-site: client.updated with before and after of each changed parameter; a dry run records nothing', async () => {
    const domain = `${unique('edited')}.example`;
    await cpcmd('admin:add-site', [domain, 'editor', { 'siteinfo.email': 'before@example.com' }]);
    const site = await siteOf(domain);

    let mark = await auditMark(t);
    expect(await cpcmd('admin:edit-site', [site, { 'siteinfo.email': 'after@example.com', 'users.max': 4, 'diskquota.quota': 5000 }], 'edit-site-req')).toBe(true);
    const e = await onlyEventSince(t, mark);
    expect(e).toMatchObject({ ...byOperator(), action: 'client.updated', target_type: 'client', target_id: idOf(site), request_id: 'edit-site-req' });
    expect(e.changes).toEqual({
      'siteinfo,email': { before: 'before@example.com', after: 'after@example.com' },
      'users,max': { before: 1, after: 4 },
      'diskquota,quota': { before: 1024, after: 5000 },
    });

    // Setting a value it already has is no change.
    mark = await auditMark(t);
    expect(await cpcmd('admin:edit-site', [site, { 'users.max': 4 }])).toBe(true);
    expect(await auditSince(t, mark)).toEqual([]);

    const dry = (await cpcmd('admin:edit-site', [site, { 'users.max': 9 }, { 'dry-run': true }])) as { changes: unknown[] }[];
    expect(dry[0]!.changes).toHaveLength(1);
    expect(await auditSince(t, mark)).toEqual([]);
  });

  it('admin:edit-site on an account group: one event per site changed, all under the one request', async () => {
    const invoice = unique('group-inv');
    const domains = [`${unique('master')}.example`, `${unique('child')}.example`, `${unique('child')}.example`];
    await cpcmd('admin:add-site', [domains[0], 'master', { 'billing.invoice': invoice }]);
    for (const d of domains.slice(1)) await cpcmd('admin:add-site', [d, `admin-${n++}`, { 'billing.parent_invoice': invoice }]);
    const sites = await Promise.all(domains.map(siteOf));

    const mark = await auditMark(t);
    expect(await cpcmd('admin:edit-site', [invoice, { 'diskquota.quota': 2048 }], 'group-edit-req')).toBe(true);
    const events = await auditSince(t, mark);
    expect(events.map((e) => e.target_id).sort()).toEqual(sites.map(idOf).sort());
    for (const e of events) {
      expect(e).toMatchObject({ ...byOperator(), action: 'client.updated', request_id: 'group-edit-req' });
      expect(e.changes).toEqual({ 'diskquota,quota': { before: 1024, after: 2048 } });
    }
  });

  it('admin:deactivate-site and admin:activate-site: client.suspended, then client.activated; activating an active site records nothing', async () => {
    const domain = `${unique('paused')}.example`;
    await cpcmd('admin:add-site', [domain, 'pauser']);
    const site = await siteOf(domain);

    let mark = await auditMark(t);
    expect(await cpcmd('admin:deactivate-site', [site, 'unpaid'], 'deactivate-req')).toBe(true);
    const suspended = await onlyEventSince(t, mark);
    expect(suspended).toMatchObject({ ...byOperator(), action: 'client.suspended', target_type: 'client', target_id: idOf(site), request_id: 'deactivate-req' });
    expect(suspended.changes).toMatchObject({ status: { before: 'active', after: 'suspended' }, suspend_reason: { before: null, after: 'unpaid' } });

    mark = await auditMark(t);
    expect(await cpcmd('admin:activate-site', [site], 'activate-req')).toBe(true);
    const activated = await onlyEventSince(t, mark);
    expect(activated).toMatchObject({ ...byOperator(), action: 'client.activated', target_type: 'client', target_id: idOf(site), request_id: 'activate-req' });
    expect(activated.changes.status).toEqual({ before: 'suspended', after: 'active' });

    mark = await auditMark(t);
    expect(await cpcmd('admin:activate-site', [site])).toBe(true);
    expect(await auditSince(t, mark)).toEqual([]);
  });

  it('scope:set: scope.set with the old and new value', async () => {
    let mark = await auditMark(t);
    expect(await cpcmd('scope:set', ['opcenter.account-cleanup', '30 days'], 'scope-req-1')).toBe(true);
    let e = await onlyEventSince(t, mark);
    expect(e).toMatchObject({ ...byOperator(), action: 'scope.set', target_type: 'scope', target_id: 'opcenter.account-cleanup', request_id: 'scope-req-1' });
    expect(e.changes).toEqual({ value: { before: null, after: '30 days' } });

    mark = await auditMark(t);
    expect(await cpcmd('scope:set', ['opcenter.account-cleanup', false], 'scope-req-2')).toBe(true);
    e = await onlyEventSince(t, mark);
    expect(e).toMatchObject({ ...byOperator(), action: 'scope.set', target_id: 'opcenter.account-cleanup', request_id: 'scope-req-2' });
    expect(e.changes).toEqual({ value: { before: '30 days', after: 'false' } });

    mark = await auditMark(t);
    expect(await cpcmd('scope:set', ['cp.config', 'auth', 'subordinate_site_sso', true], 'scope-req-3')).toBe(true);
    e = await onlyEventSince(t, mark);
    expect(e).toMatchObject({ ...byOperator(), action: 'scope.set', target_id: 'cp.config auth subordinate_site_sso', request_id: 'scope-req-3' });
    expect(e.changes).toEqual({ value: { before: null, after: 'true' } });

    // An unknown scope is refused and records nothing.
    mark = await auditMark(t);
    const bad = await t.app.server.inject({ method: 'POST', url: '/api/v1/cpcmd/scope:set', headers: { authorization: `Bearer ${t.operatorKey}` }, remoteAddress: IP, payload: { args: ['no.such-scope', 'x'] } });
    expect(bad.statusCode).toBe(422);
    expect(await auditSince(t, mark)).toEqual([]);
  });
});

describe('the site dashboard', () => {
  it('switching from a master into a subordinate: client.switched, by the browser’s request and address', async () => {
    const invoice = unique('switch-inv');
    const masterDomain = `${unique('boss')}.example`;
    const subDomain = `${unique('sub')}.example`;
    await cpcmd('admin:add-site', [masterDomain, 'boss', { 'billing.invoice': invoice }]);
    await cpcmd('admin:add-site', [subDomain, 'subadmin', { 'billing.parent_invoice': invoice }]);
    const master = await siteOf(masterDomain);
    const sub = await siteOf(subDomain);

    const sessionId = (await cpcmd('admin:hijack', [master])) as string;
    secrets.push(sessionId);
    const dash = await t.app.server.inject({ method: 'GET', url: `/apps/dashboard?esprit_id=${encodeURIComponent(sessionId)}`, remoteAddress: BROWSER_IP });
    expect(dash.statusCode).toBe(303);
    const cookie = String(dash.headers['set-cookie']).split(';')[0]!;

    const mark = await auditMark(t);
    const switched = await t.app.server.inject({
      method: 'POST',
      url: '/apps/dashboard/switch',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', 'x-request-id': 'switch-req' },
      remoteAddress: BROWSER_IP,
      payload: new URLSearchParams({ site: sub }).toString(),
    });
    expect(switched.statusCode, switched.body).toBe(303);
    const next = String(switched.headers['set-cookie']).split(';')[0]!;
    expect(next).not.toBe(cookie);
    secrets.push(next.slice(next.indexOf('=') + 1));

    const e = await onlyEventSince(t, mark);
    expect(e).toMatchObject({ actor_kind: 'user', actor_id: expect.any(Number), action: 'client.switched', target_type: 'client', target_id: idOf(sub), reseller_id: null, request_id: 'switch-req', source_ip: BROWSER_IP });
    expect(e.changes).toEqual({ from: { after: master }, user: { after: 'subadmin' } });

    // A refused switch (to a site outside the group, or to none at all) records nothing.
    const outsider = `${unique('outsider')}.example`;
    await cpcmd('admin:add-site', [outsider, 'stranger']);
    const mark2 = await auditMark(t);
    for (const [site, status] of [
      [await siteOf(outsider), 403],
      ['site999999', 404],
    ] as const) {
      const refused = await t.app.server.inject({
        method: 'POST',
        url: '/apps/dashboard/switch',
        headers: { cookie: next, 'content-type': 'application/x-www-form-urlencoded' },
        remoteAddress: BROWSER_IP,
        payload: new URLSearchParams({ site }).toString(),
      });
      expect(refused.statusCode, site).toBe(status);
    }
    expect(await auditSince(t, mark2)).toEqual([]);
  });
});

describe('secrets never reach the log', () => {
  it('no session id or operator key appears in what this door recorded, nor any field named like a secret', async () => {
    expect(secrets).toHaveLength(2);
    const all: AuditRow[] = await auditSince(t, 0);
    expect(all.length).toBeGreaterThan(10);
    const text = JSON.stringify(all);
    for (const secret of [...secrets, t.operatorKey]) expect(text).not.toContain(secret);
    const names = new Set<string>();
    const walk = (v: unknown) => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') {
        for (const [k, item] of Object.entries(v)) {
          names.add(k.toLowerCase());
          walk(item);
        }
      }
    };
    for (const e of all) walk(e.changes);
    for (const name of names) expect(name).not.toMatch(/password|token|secret|api_key|esprit|session_id|digest/);
  });
});
