import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { call, expectAdminError, type Body, signInOperator, type ConsoleSession } from './console-session.js';

// GET /admin/v1/packages/:uid/inheritance: which plan in a package's parent chain sets each site
// value, as the packages editor shows it.

let t: TestApp;
let session: ConsoleSession;
const stamp = Date.now().toString(36);
const parent = `parent-${stamp}`;
const child = `child-${stamp}`;

beforeAll(async () => {
  t = await createTestApp();
  session = await signInOperator(t);
  const p = await call(t, 'POST', '/admin/v1/packages', 'key', { uid: parent, name: 'Parent', service_defaults: { diskquota: { quota: 5000 }, ssh: { enabled: 0 } } });
  expect(p.status, JSON.stringify(p.body)).toBe(201);
  const c = await call(t, 'POST', '/admin/v1/packages', 'key', { uid: child, name: 'Child', parent_uid: parent, service_defaults: { ssh: { enabled: 1 } } });
  expect(c.status, JSON.stringify(c.body)).toBe(201);
});
afterAll(() => t.close());

const valueOf = (body: Body, key: string) => body.values.find((v: { service: string; param: string }) => `${v.service}.${v.param}` === key);

describe('GET /admin/v1/packages/:uid/inheritance', () => {
  it("shows the plan's own values, its parent's and the base", async () => {
    const r = await call(t, 'GET', `/admin/v1/packages/${child}/inheritance`, { session, csrf: false });
    expect(r.status).toBe(200);
    expect(r.body.plan).toBe(child);
    expect(r.body.chain).toEqual([child, parent]);
    expect(valueOf(r.body, 'ssh.enabled')).toMatchObject({ value: 1, source: child, own: true, inherited: { value: 0, source: parent } });
    expect(valueOf(r.body, 'diskquota.quota')).toMatchObject({ value: 5000, source: parent, own: false });
    expect(valueOf(r.body, 'sites.max')).toMatchObject({ value: null, source: 'base', own: false, inherited: { value: null, source: 'base' } });
  });

  it('follows a change of the parent, and the child setting its own value', async () => {
    expect((await call(t, 'PATCH', `/admin/v1/packages/${parent}`, 'key', { service_defaults: { diskquota: { quota: 7000 } } })).status).toBe(200);
    let r = await call(t, 'GET', `/admin/v1/packages/${child}/inheritance`, 'key');
    expect(valueOf(r.body, 'diskquota.quota')).toMatchObject({ value: 7000, source: parent });
    expect((await call(t, 'PATCH', `/admin/v1/packages/${child}`, { session, csrf: true }, { service_defaults: { diskquota: { quota: 100 } } })).status).toBe(200);
    r = await call(t, 'GET', `/admin/v1/packages/${child}/inheritance`, 'key');
    expect(valueOf(r.body, 'diskquota.quota')).toMatchObject({ value: 100, source: child, own: true });
    // null means "inherit again"
    expect((await call(t, 'PATCH', `/admin/v1/packages/${child}`, 'key', { service_defaults: { diskquota: { quota: null } } })).status).toBe(200);
    r = await call(t, 'GET', `/admin/v1/packages/${child}/inheritance`, 'key');
    expect(valueOf(r.body, 'diskquota.quota')).toMatchObject({ value: 7000, source: parent, own: false });
  });

  it('404 for an unknown package; 401 without or with a bad key', async () => {
    expectAdminError(await call(t, 'GET', '/admin/v1/packages/no-such-plan/inheritance', 'key'), 404, 'not_found');
    expectAdminError(await call(t, 'GET', `/admin/v1/packages/${child}/inheritance`, 'none'), 401, 'unauthenticated');
    expectAdminError(await call(t, 'GET', `/admin/v1/packages/${child}/inheritance`, 'bad-key'), 401, 'unauthenticated');
  });

  it('an edit from a session without CSRF is refused and changes nothing', async () => {
    const before = await call(t, 'GET', `/admin/v1/packages/${child}/inheritance`, 'key');
    expectAdminError(await call(t, 'PATCH', `/admin/v1/packages/${child}`, { session, csrf: false }, { service_defaults: { diskquota: { quota: 1 } } }), 403, 'forbidden');
    const bad = await call(t, 'PATCH', `/admin/v1/packages/${child}`, 'key', { service_defaults: { diskquota: { quota: 'lots' } } });
    expectAdminError(bad, 422, 'validation_failed');
    expect((await call(t, 'GET', `/admin/v1/packages/${child}/inheritance`, 'key')).body).toEqual(before.body);
  });
});
