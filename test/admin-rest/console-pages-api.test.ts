import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReseller, createTestApp, seedDemoCatalog, type ResellerFixture, type TestApp } from '../support/test-app.js';
import { call, expectAdminError, signInOperator, type ConsoleSession } from './console-session.js';

// The existing admin endpoints the console's webhooks and audit pages use, as a console session
// calls them: with the CSRF token a change works, without it nothing changes; keys and input as usual.

let t: TestApp;
let session: ConsoleSession;
let reseller: ResellerFixture;
const withCsrf = () => ({ session, csrf: true });
const noCsrf = () => ({ session, csrf: false });
const endpoints = async () => (await call(t, 'GET', '/admin/v1/webhooks', 'key')).body as unknown as { id: number; url: string }[];

beforeAll(async () => {
  t = await createTestApp({ HOSTPLANE_WEBHOOK_ALLOW_PRIVATE: 'true' });
  await seedDemoCatalog(t);
  reseller = await createReseller(t);
  session = await signInOperator(t);
});
afterAll(() => t.close());

describe('webhooks from a console session', () => {
  let id: number;

  it('adds an endpoint with the CSRF token; the secret comes back once', async () => {
    const r = await call(t, 'POST', '/admin/v1/webhooks', withCsrf(), { url: 'http://127.0.0.1:9/hook', event_types: ['client.created'] });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body).toMatchObject({ reseller_id: null, url: 'http://127.0.0.1:9/hook', event_types: ['client.created'], active: true });
    expect(typeof r.body.secret).toBe('string');
    id = r.body.id as number;
    const listed = await call(t, 'GET', '/admin/v1/webhooks', noCsrf());
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual([expect.objectContaining({ id, url: 'http://127.0.0.1:9/hook' })]);
    expect(JSON.stringify(listed.body)).not.toContain(r.body.secret as string);
  });

  it('refuses adding or deleting without the CSRF token, and without or with a bad key; nothing changes', async () => {
    const before = await endpoints();
    expectAdminError(await call(t, 'POST', '/admin/v1/webhooks', noCsrf(), { url: 'http://127.0.0.1:9/other', event_types: ['client.created'] }), 403, 'forbidden');
    expectAdminError(await call(t, 'DELETE', `/admin/v1/webhooks/${id}`, noCsrf()), 403, 'forbidden');
    expectAdminError(await call(t, 'DELETE', `/admin/v1/webhooks/${id}`, 'none'), 401, 'unauthenticated');
    expectAdminError(await call(t, 'DELETE', `/admin/v1/webhooks/${id}`, 'bad-key'), 401, 'unauthenticated');
    expectAdminError(await call(t, 'GET', '/admin/v1/webhooks', 'none'), 401, 'unauthenticated');
    expect(await endpoints()).toEqual(before);
  });

  it('refuses bad input with 422 naming the field; nothing is added', async () => {
    const before = await endpoints();
    const noEvents = await call(t, 'POST', '/admin/v1/webhooks', withCsrf(), { url: 'http://127.0.0.1:9/x', event_types: [] });
    expectAdminError(noEvents, 422, 'validation_failed');
    expect(Object.keys(noEvents.body.error.fields)).toEqual(['event_types']);
    expectAdminError(await call(t, 'POST', '/admin/v1/webhooks', withCsrf(), { url: 'ftp://example.com', event_types: ['client.created'] }), 422, 'validation_failed');
    expectAdminError(await call(t, 'POST', '/admin/v1/webhooks', withCsrf(), { url: 'http://127.0.0.1:9/x', event_types: ['client.exploded'] }), 422, 'validation_failed');
    expect(await endpoints()).toEqual(before);
  });

  it('lists deliveries and replays one with the CSRF token (a new delivery of the same event); not without it', async () => {
    const made = await t.app.server.inject({ method: 'POST', url: '/v1/clients', headers: { authorization: reseller.auth }, payload: { package_uid: 'spamstopshere-standard', user_count: 1, name: 'Hook Test', domains: [{ name: `hook-${Date.now().toString(36)}.test` }] } });
    expect(made.statusCode, made.body).toBe(201);
    const list = await call(t, 'GET', `/admin/v1/webhooks/${id}/deliveries`, noCsrf());
    expect(list.status).toBe(200);
    const deliveries = list.body as unknown as { id: number; event_id: string; event_type: string; status: string }[];
    expect(deliveries.map((d) => d.event_type)).toEqual(['client.created']);

    expectAdminError(await call(t, 'POST', `/admin/v1/webhook-deliveries/${deliveries[0]!.id}/replay`, noCsrf()), 403, 'forbidden');
    expect((await call(t, 'GET', `/admin/v1/webhooks/${id}/deliveries`, 'key')).body).toHaveLength(1);

    const replay = await call(t, 'POST', `/admin/v1/webhook-deliveries/${deliveries[0]!.id}/replay`, withCsrf());
    expect(replay.status, JSON.stringify(replay.body)).toBe(201);
    expect(replay.body).toMatchObject({ endpoint_id: id, event_id: deliveries[0]!.event_id, status: 'pending' });
    expect(replay.body.id).not.toBe(deliveries[0]!.id);
    expect((await call(t, 'GET', `/admin/v1/webhooks/${id}/deliveries`, 'key')).body).toHaveLength(2);
  });

  it('404 for unknown endpoints and deliveries', async () => {
    expectAdminError(await call(t, 'GET', '/admin/v1/webhooks/999999/deliveries', 'key'), 404, 'not_found');
    expectAdminError(await call(t, 'POST', '/admin/v1/webhook-deliveries/999999/replay', withCsrf()), 404, 'not_found');
    expectAdminError(await call(t, 'DELETE', '/admin/v1/webhooks/999999', withCsrf()), 404, 'not_found');
  });

  it('deletes the endpoint with the CSRF token', async () => {
    const r = await call(t, 'DELETE', `/admin/v1/webhooks/${id}`, withCsrf());
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(await endpoints()).toEqual([]);
  });
});

describe('the audit log from a console session', () => {
  it('pages newest first and filters by action and target', async () => {
    const first = await call(t, 'GET', '/admin/v1/audit?limit=2', noCsrf());
    expect(first.status).toBe(200);
    const events = first.body.events as { id: number }[];
    expect(events).toHaveLength(2);
    expect(events[0]!.id).toBeGreaterThan(events[1]!.id);
    expect(first.body.next_before).toBe(events[1]!.id);
    const next = await call(t, 'GET', `/admin/v1/audit?limit=2&before=${first.body.next_before}`, noCsrf());
    expect((next.body.events as { id: number }[]).every((e) => e.id < events[1]!.id)).toBe(true);

    const deleted = await call(t, 'GET', '/admin/v1/audit?action=webhook.deleted', noCsrf());
    expect((deleted.body.events as { action: string }[]).map((e) => e.action)).toEqual(['webhook.deleted']);
    const byTarget = await call(t, 'GET', `/admin/v1/audit?target_type=reseller&target_id=${reseller.id}`, noCsrf());
    expect((byTarget.body.events as { target_id: string }[]).length).toBeGreaterThan(0);
    expect((byTarget.body.events as { target_type: string; target_id: string }[]).every((e) => e.target_type === 'reseller' && e.target_id === String(reseller.id))).toBe(true);
  });

  it('refuses an unknown filter value with 422, and no or a bad key with 401', async () => {
    expectAdminError(await call(t, 'GET', '/admin/v1/audit?action=client.exploded', noCsrf()), 422, 'validation_failed');
    expectAdminError(await call(t, 'GET', '/admin/v1/audit?actor_kind=robot', 'key'), 422, 'validation_failed');
    expectAdminError(await call(t, 'GET', '/admin/v1/audit', 'none'), 401, 'unauthenticated');
    expectAdminError(await call(t, 'GET', '/admin/v1/audit', 'bad-key'), 401, 'unauthenticated');
  });
});
