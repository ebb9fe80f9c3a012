import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditMark, auditSince } from '../support/audit.js';
import { createTestApp, seedDemoCatalog, type TestApp } from '../support/test-app.js';
import { call, expectAdminError, type Body, signInOperator, type ConsoleSession } from './console-session.js';

// Account groups over the admin API: the list, one group's members, and bulk suspend / activate /
// delete with a dry run that names exactly the sites the real run changes and changes nothing.

let t: TestApp;
let session: ConsoleSession;
const stamp = Date.now().toString(36);
const INV = `INV-${stamp}`;
const OTHER = `OTHER-${stamp}`;
const site: Record<string, number> = {};

async function addSite(key: string, opts: Record<string, unknown>): Promise<number> {
  const res = await t.app.server.inject({
    method: 'POST',
    url: '/api/v1/cpcmd/admin%3Aadd-site',
    headers: { authorization: `Bearer ${t.operatorKey}` },
    payload: { args: [`${key}-${stamp}.example`, key.replace(/[^a-z]/g, ''), opts] },
  });
  expect(res.statusCode, res.body).toBe(200);
  const found = await call(t, 'GET', `/admin/v1/clients?q=${key}-${stamp}.example`, 'key');
  expect(found.body.clients).toHaveLength(1);
  site[key] = found.body.clients[0].id as number;
  return site[key]!;
}

const statusOf = async (id: number) => {
  const r = await call(t, 'GET', `/admin/v1/clients/${id}`, 'key');
  expect(r.status).toBe(200);
  return r.body.status as string;
};
const allStatuses = async () => Object.fromEntries(await Promise.all(Object.entries(site).map(async ([k, id]) => [k, await statusOf(id)])));

beforeAll(async () => {
  t = await createTestApp();
  await seedDemoCatalog(t);
  await addSite('master', { 'billing.invoice': INV });
  await addSite('suba', { 'billing.parent_invoice': INV });
  await addSite('subb', { 'billing.parent_invoice': INV });
  await addSite('othermaster', { 'billing.invoice': OTHER });
  await addSite('othersub', { 'billing.parent_invoice': OTHER });
  await addSite('loner', {});
  session = await signInOperator(t);
});
afterAll(() => t.close());

describe('GET /admin/v1/account-groups', () => {
  it('lists each master with its count of subordinates, in invoice order, paged with after', async () => {
    const r = await call(t, 'GET', `/admin/v1/account-groups?q=${stamp}`, 'key');
    expect(r.status).toBe(200);
    expect(r.body.groups.map((g: { invoice: string }) => g.invoice)).toEqual([INV, OTHER]);
    expect(r.body.groups[0]).toMatchObject({ invoice: INV, masters: 1, subordinates: 2, master: { id: site.master, site: `site${site.master}`, domain: `master-${stamp}.example`, active: true } });
    expect(r.body.next_after).toBeNull();

    const first = await call(t, 'GET', `/admin/v1/account-groups?q=${stamp}&limit=1`, { session, csrf: false });
    expect(first.body.groups.map((g: { invoice: string }) => g.invoice)).toEqual([INV]);
    expect(first.body.next_after).toBe(INV);
    const second = await call(t, 'GET', `/admin/v1/account-groups?q=${stamp}&limit=1&after=${encodeURIComponent(INV)}`, 'key');
    expect(second.body.groups.map((g: { invoice: string }) => g.invoice)).toEqual([OTHER]);
  });

  it('searches by a master domain', async () => {
    const r = await call(t, 'GET', `/admin/v1/account-groups?q=othermaster-${stamp}`, 'key');
    expect(r.body.groups.map((g: { invoice: string }) => g.invoice)).toEqual([OTHER]);
  });

  it('refuses a bad limit and a repeated parameter with 422', async () => {
    expectAdminError(await call(t, 'GET', '/admin/v1/account-groups?limit=0', 'key'), 422, 'validation_failed');
    expectAdminError(await call(t, 'GET', '/admin/v1/account-groups?q=a&q=b', 'key'), 422, 'validation_failed');
  });

  it('refuses no authentication and a bad key with 401', async () => {
    expectAdminError(await call(t, 'GET', '/admin/v1/account-groups', 'none'), 401, 'unauthenticated');
    expectAdminError(await call(t, 'GET', '/admin/v1/account-groups', 'bad-key'), 401, 'unauthenticated');
  });
});

describe('GET /admin/v1/account-groups/members', () => {
  it("gives a group's master and subordinates", async () => {
    const r = await call(t, 'GET', `/admin/v1/account-groups/members?invoice=${encodeURIComponent(INV)}`, 'key');
    expect(r.status).toBe(200);
    expect(r.body.masters.map((s: { id: number }) => s.id)).toEqual([site.master]);
    expect(r.body.subordinates.map((s: { id: number }) => s.id)).toEqual([site.suba, site.subb]);
  });

  it('404 for an unknown invoice, 422 without one', async () => {
    expectAdminError(await call(t, 'GET', '/admin/v1/account-groups/members?invoice=NOPE-NOT-HERE', 'key'), 404, 'not_found');
    expectAdminError(await call(t, 'GET', '/admin/v1/account-groups/members', 'key'), 422, 'validation_failed');
  });
});

describe('POST /admin/v1/account-groups/{suspend,activate,delete}', () => {
  const groupIds = () => [site.master, site.suba, site.subb];
  const ids = (r: { body: Body }) => (r.body.sites as { id: number }[]).map((s) => s.id);

  it('a dry run lists exactly the master and its subordinates and changes nothing (no audit either)', async () => {
    const before = await allStatuses();
    const mark = await auditMark(t);
    const r = await call(t, 'POST', '/admin/v1/account-groups/suspend', { session, csrf: true }, { invoice: INV, dry_run: true });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ invoice: INV, action: 'suspend', dry_run: true });
    expect(ids(r)).toEqual(groupIds());
    expect(await allStatuses()).toEqual(before);
    expect(await auditSince(t, mark)).toEqual([]);
  });

  it('suspends the group in one go, with the reason; nothing else changes', async () => {
    const mark = await auditMark(t);
    const r = await call(t, 'POST', '/admin/v1/account-groups/suspend', { session, csrf: true }, { invoice: INV, reason: 'unpaid' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.dry_run).toBe(false);
    expect(ids(r)).toEqual(groupIds());
    expect(r.body.sites.every((s: { active: boolean; suspend_reason: string }) => !s.active && s.suspend_reason === 'unpaid')).toBe(true);
    expect(await allStatuses()).toEqual({ master: 'suspended', suba: 'suspended', subb: 'suspended', othermaster: 'active', othersub: 'active', loner: 'active' });
    const events = await auditSince(t, mark);
    expect(events.map((e) => [e.action, Number(e.target_id)]).sort()).toEqual(groupIds().map((id) => ['client.suspended', id]).sort());
  });

  it('a second suspend dry run has nothing left to change', async () => {
    const r = await call(t, 'POST', '/admin/v1/account-groups/suspend', 'key', { invoice: INV, dry_run: true });
    expect(ids(r)).toEqual([]);
  });

  it('activates only the suspended sites of the group', async () => {
    const dry = await call(t, 'POST', '/admin/v1/account-groups/activate', 'key', { invoice: INV, dry_run: true });
    expect(ids(dry)).toEqual(groupIds());
    const r = await call(t, 'POST', '/admin/v1/account-groups/activate', 'key', { invoice: INV });
    expect(ids(r)).toEqual(groupIds());
    expect(await allStatuses()).toEqual({ master: 'active', suba: 'active', subb: 'active', othermaster: 'active', othersub: 'active', loner: 'active' });
  });

  it('refuses a change from a session without the CSRF token: 403, nothing changed', async () => {
    const before = await allStatuses();
    expectAdminError(await call(t, 'POST', '/admin/v1/account-groups/suspend', { session, csrf: false }, { invoice: INV }), 403, 'forbidden');
    expect(await allStatuses()).toEqual(before);
  });

  it('refuses no authentication and a bad key: 401, nothing changed', async () => {
    const before = await allStatuses();
    expectAdminError(await call(t, 'POST', '/admin/v1/account-groups/delete', 'none', { invoice: INV }), 401, 'unauthenticated');
    expectAdminError(await call(t, 'POST', '/admin/v1/account-groups/delete', 'bad-key', { invoice: INV }), 401, 'unauthenticated');
    expect(await allStatuses()).toEqual(before);
  });

  it('refuses bad input with 422 and an unknown group with 404, nothing changed', async () => {
    const before = await allStatuses();
    const noInvoice = await call(t, 'POST', '/admin/v1/account-groups/suspend', 'key', {});
    expectAdminError(noInvoice, 422, 'validation_failed');
    expect(Object.keys(noInvoice.body.error.fields)).toEqual(['invoice']);
    expectAdminError(await call(t, 'POST', '/admin/v1/account-groups/suspend', 'key', { invoice: 'has space' }), 422, 'validation_failed');
    expectAdminError(await call(t, 'POST', '/admin/v1/account-groups/suspend', 'key', { invoice: INV, dry_run: 'yes' }), 422, 'validation_failed');
    expectAdminError(await call(t, 'POST', '/admin/v1/account-groups/activate', 'key', { invoice: INV, reason: 'x' }), 422, 'validation_failed');
    expectAdminError(await call(t, 'POST', '/admin/v1/account-groups/suspend', 'key', { invoice: INV, reason: 'x'.repeat(501) }), 422, 'validation_failed');
    expectAdminError(await call(t, 'POST', '/admin/v1/account-groups/suspend', 'key', { invoice: `NONE-${stamp}` }), 404, 'not_found');
    // The invoice is never read as a site id: site<loner>'s number is no group.
    expectAdminError(await call(t, 'POST', '/admin/v1/account-groups/suspend', 'key', { invoice: String(site.loner) }), 404, 'not_found');
    expect(await allStatuses()).toEqual(before);
  });

  it('deletes the whole group after a dry run naming the same sites; the other group stays', async () => {
    const dry = await call(t, 'POST', '/admin/v1/account-groups/delete', 'key', { invoice: INV, dry_run: true });
    expect(dry.status, JSON.stringify(dry.body)).toBe(200);
    expect(ids(dry)).toEqual(groupIds());
    expect((await allStatuses()).master).toBe('active');
    const r = await call(t, 'POST', '/admin/v1/account-groups/delete', { session, csrf: true }, { invoice: INV });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(ids(r)).toEqual(groupIds());
    expect(await allStatuses()).toEqual({ master: 'deleted', suba: 'deleted', subb: 'deleted', othermaster: 'active', othersub: 'active', loner: 'active' });
    expectAdminError(await call(t, 'GET', `/admin/v1/account-groups/members?invoice=${encodeURIComponent(INV)}`, 'key'), 404, 'not_found');
  });
});
