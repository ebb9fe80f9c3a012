import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReseller, createTestApp, seedDemoCatalog, type ResellerFixture, type TestApp } from '../support/test-app.js';
import { call, expectAdminError, type Body } from './console-session.js';

// GET /admin/v1/clients filtered by package (plan) and by account group (invoice), with the other
// filters and keyset paging.

let t: TestApp;
let alice: ResellerFixture;
const stamp = Date.now().toString(36);
const INV = `GRP-${stamp}`;
const id: Record<string, number> = {};

async function hsp(key: string, plan: string) {
  const res = await t.app.server.inject({
    method: 'POST',
    url: '/v1/clients',
    headers: { authorization: alice.auth },
    payload: { package_uid: plan, user_count: 1, name: `${key} ${stamp}`, domains: [{ name: `${key}-${stamp}.test` }] },
  });
  expect(res.statusCode, res.body).toBe(201);
  id[key] = res.json().id as number;
}

async function site(key: string, opts: Record<string, unknown>) {
  const res = await t.app.server.inject({ method: 'POST', url: '/api/v1/cpcmd/admin%3Aadd-site', headers: { authorization: `Bearer ${t.operatorKey}` }, payload: { args: [`${key}-${stamp}.example`, key, opts] } });
  expect(res.statusCode, res.body).toBe(200);
  const found = await call(t, 'GET', `/admin/v1/clients?q=${key}-${stamp}.example`, 'key');
  id[key] = found.body.clients[0].id as number;
}

const ids = (r: { body: Body }) => (r.body.clients as { id: number }[]).map((c) => c.id);

beforeAll(async () => {
  t = await createTestApp();
  await seedDemoCatalog(t);
  alice = await createReseller(t);
  await hsp('std1', 'spamstopshere-standard');
  await hsp('pro1', 'spamstopshere-professional');
  await hsp('std2', 'spamstopshere-standard');
  await hsp('pro2', 'spamstopshere-professional');
  await site('master', { 'billing.invoice': INV });
  await site('sub', { 'billing.parent_invoice': INV });
  await site('other', { 'billing.parent_invoice': `ELSE-${stamp}` });
});
afterAll(() => t.close());

describe('GET /admin/v1/clients?package_uid= & invoice=', () => {
  it('filters by package, in id order, and pages', async () => {
    const r = await call(t, 'GET', '/admin/v1/clients?package_uid=spamstopshere-professional', 'key');
    expect(r.status).toBe(200);
    expect(ids(r)).toEqual([id.pro1, id.pro2]);
    expect(r.body.clients.every((c: { package_uid: string }) => c.package_uid === 'spamstopshere-professional')).toBe(true);
    const first = await call(t, 'GET', '/admin/v1/clients?package_uid=spamstopshere-standard&limit=1', 'key');
    expect(ids(first)).toEqual([id.std1]);
    const next = await call(t, 'GET', `/admin/v1/clients?package_uid=spamstopshere-standard&limit=1&after=${first.body.next_after}`, 'key');
    expect(ids(next)).toEqual([id.std2]);
  });

  it('filters by account group: the master and its subordinates only', async () => {
    const r = await call(t, 'GET', `/admin/v1/clients?invoice=${INV}`, 'key');
    expect(ids(r)).toEqual([id.master, id.sub]);
  });

  it('combines with the other filters', async () => {
    expect(ids(await call(t, 'GET', `/admin/v1/clients?package_uid=spamstopshere-standard&reseller_id=${alice.id}&q=std2`, 'key'))).toEqual([id.std2]);
    expect(ids(await call(t, 'GET', `/admin/v1/clients?invoice=${INV}&status=suspended`, 'key'))).toEqual([]);
    expect(ids(await call(t, 'GET', `/admin/v1/clients?invoice=${INV}&package_uid=spamstopshere-standard`, 'key'))).toEqual([]);
  });

  it('an unknown package or invoice matches nothing', async () => {
    expect(ids(await call(t, 'GET', '/admin/v1/clients?package_uid=no-such-plan', 'key'))).toEqual([]);
    expect(ids(await call(t, 'GET', '/admin/v1/clients?invoice=NO-SUCH', 'key'))).toEqual([]);
  });

  it('refuses a repeated or empty filter with 422, and no or a bad key with 401', async () => {
    expectAdminError(await call(t, 'GET', '/admin/v1/clients?package_uid=a&package_uid=b', 'key'), 422, 'validation_failed');
    expectAdminError(await call(t, 'GET', '/admin/v1/clients?invoice=', 'key'), 422, 'validation_failed');
    expectAdminError(await call(t, 'GET', `/admin/v1/clients?invoice=${'x'.repeat(129)}`, 'key'), 422, 'validation_failed');
    expectAdminError(await call(t, 'GET', '/admin/v1/clients?invoice=X', 'none'), 401, 'unauthenticated');
    expectAdminError(await call(t, 'GET', '/admin/v1/clients?invoice=X', 'bad-key'), 401, 'unauthenticated');
  });
});
