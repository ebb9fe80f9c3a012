import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditMark, auditSince } from '../support/audit.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { call, expectAdminError, signInOperator, type ConsoleSession } from './console-session.js';

// The operator console's settings: the account clean-up of suspended sites and subordinate-site SSO,
// the same scopes `scope:set` / `scope:get` change through the ApisCP door.

let t: TestApp;
let session: ConsoleSession;

const scopeGet = async (...args: unknown[]) => {
  const res = await t.app.server.inject({ method: 'POST', url: '/api/v1/cpcmd/scope%3Aget', headers: { authorization: `Bearer ${t.operatorKey}` }, payload: { args } });
  expect(res.statusCode, res.body).toBe(200);
  return (res.json() as { result: unknown }).result;
};

beforeAll(async () => {
  t = await createTestApp();
  session = await signInOperator(t);
});
afterAll(() => t.close());

describe('GET /admin/v1/settings', () => {
  it('starts with no clean-up and switching allowed', async () => {
    const r = await call(t, 'GET', '/admin/v1/settings', { session, csrf: false });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ account_cleanup: false, subordinate_site_sso: true, suspended_login: true, show_suspension_reason: true, over_quota_policy: 'notify' });
  });

  it('refuses no authentication and a bad key', async () => {
    expectAdminError(await call(t, 'GET', '/admin/v1/settings', 'none'), 401, 'unauthenticated');
    expectAdminError(await call(t, 'GET', '/admin/v1/settings', 'bad-key'), 401, 'unauthenticated');
  });
});

describe('PATCH /admin/v1/settings', () => {
  it('changes both, as the ApisCP scopes see them, with an audit event each', async () => {
    const mark = await auditMark(t);
    const r = await call(t, 'PATCH', '/admin/v1/settings', { session, csrf: true }, { account_cleanup: '30 days', subordinate_site_sso: false });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toEqual({ account_cleanup: '30 days', subordinate_site_sso: false, suspended_login: true, show_suspension_reason: true, over_quota_policy: 'notify' });
    expect(await scopeGet('opcenter.account-cleanup')).toBe('30 days');
    expect(await scopeGet('cp.config', 'auth', 'subordinate_site_sso')).toBe(false);
    const events = await auditSince(t, mark);
    expect(events.map((e) => [e.action, e.target_id, e.changes.value?.after]).sort()).toEqual([
      ['scope.set', 'cp.config auth subordinate_site_sso', 'false'],
      ['scope.set', 'opcenter.account-cleanup', '30 days'],
    ]);
  });

  it('changes one and leaves the other', async () => {
    const r = await call(t, 'PATCH', '/admin/v1/settings', 'key', { account_cleanup: false });
    expect(r.body).toEqual({ account_cleanup: false, subordinate_site_sso: false, suspended_login: true, show_suspension_reason: true, over_quota_policy: 'notify' });
    const back = await call(t, 'PATCH', '/admin/v1/settings', 'key', { subordinate_site_sso: true, account_cleanup: '2 weeks' });
    expect(back.body).toEqual({ account_cleanup: '2 weeks', subordinate_site_sso: true, suspended_login: true, show_suspension_reason: true, over_quota_policy: 'notify' });
  });

  it('refuses bad values with 422 naming the field, and writes neither', async () => {
    const before = (await call(t, 'GET', '/admin/v1/settings', 'key')).body;
    const mark = await auditMark(t);
    for (const [payload, field] of [
      [{ account_cleanup: 'soon', subordinate_site_sso: false }, 'account_cleanup'],
      [{ account_cleanup: 30 }, 'account_cleanup'],
      [{ account_cleanup: true }, 'account_cleanup'],
      [{ subordinate_site_sso: 'no', account_cleanup: '5 days' }, 'subordinate_site_sso'],
      [{ suspended_login: 'no', account_cleanup: '5 days' }, 'suspended_login'],
      [{ show_suspension_reason: 1 }, 'show_suspension_reason'],
      [{}, 'settings'],
    ] as const) {
      const r = await call(t, 'PATCH', '/admin/v1/settings', 'key', payload);
      expectAdminError(r, 422, 'validation_failed');
      expect(Object.keys(r.body.error.fields), JSON.stringify(payload)).toEqual([field]);
    }
    expect((await call(t, 'GET', '/admin/v1/settings', 'key')).body).toEqual(before);
    expect(await auditSince(t, mark)).toEqual([]);
  });

  it('refuses a session without CSRF (403), no authentication and a bad key (401); nothing changes', async () => {
    const before = (await call(t, 'GET', '/admin/v1/settings', 'key')).body;
    expectAdminError(await call(t, 'PATCH', '/admin/v1/settings', { session, csrf: false }, { account_cleanup: false }), 403, 'forbidden');
    expectAdminError(await call(t, 'PATCH', '/admin/v1/settings', 'none', { account_cleanup: false }), 401, 'unauthenticated');
    expectAdminError(await call(t, 'PATCH', '/admin/v1/settings', 'bad-key', { account_cleanup: false }), 401, 'unauthenticated');
    expect((await call(t, 'GET', '/admin/v1/settings', 'key')).body).toEqual(before);
  });
});
