import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ctxFor } from '../../src/core/context.js';
import { bumpNodeObjects } from '../../src/core/nodes/bump-node-objects.js';
import { createReseller, seedDemoCatalog, type ResellerFixture, type TestApp, createTestApp } from '../support/test-app.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let t: TestApp;
let reseller: ResellerFixture;

beforeAll(async () => {
  t = await createTestApp({ HOSTPLANE_NODE_UNHEALTHY_SECONDS: '45' });
  await seedDemoCatalog(t);
  reseller = await createReseller(t);
});
afterAll(() => t.close());

async function call(method: string, url: string, payload?: unknown, auth = `Bearer ${t.operatorKey}`) {
  const res = await t.app.server.inject({ method: method as 'GET', url, headers: { authorization: auth }, ...(payload !== undefined ? { payload: payload as Json } : {}) });
  return { status: res.statusCode, body: res.json() as Json };
}

async function createNode(name: string, extra: Json = {}) {
  const res = await call('POST', '/admin/v1/nodes', { name, roles: ['web'], ...extra });
  expect(res.status).toBe(201);
  return res.body;
}

async function hspClient(): Promise<number> {
  const domain = `n${Math.random().toString(36).slice(2, 8)}.test`;
  const res = await t.app.server.inject({
    method: 'POST',
    url: '/v1/clients',
    headers: { authorization: reseller.auth },
    payload: { package_uid: 'spamstopshere-standard', user_count: 1, email_address: 'owner@example.com', name: 'Customer', domains: [{ name: domain, mail_servers: [`mail.${domain}`] }] },
  });
  if (res.statusCode !== 201) throw new Error(`client create failed: ${res.statusCode} ${res.body}`);
  return (res.json() as { id: number }).id;
}

describe('/admin/v1/nodes', () => {
  it('creates a node with roles and labels, answers its enrolment token once, and lists and shows it', async () => {
    const created = await createNode('adm-web1', { roles: ['web', 'db', 'web'], labels: { zone: 'eu1', 'tier.example/ssd': 'yes' } });
    expect(created).toMatchObject({ name: 'adm-web1', roles: ['db', 'web'], token: expect.stringMatching(/^hpe_/) });
    expect(created.node).toMatchObject({ status: 'unhealthy', enrolled: false, enrol_pending: true, version: 0, labels: { zone: 'eu1', 'tier.example/ssd': 'yes' } });
    const shown = await call('GET', `/admin/v1/nodes/${created.id}`);
    expect(shown.status).toBe(200);
    expect(shown.body).not.toHaveProperty('token');
    expect(JSON.stringify(shown.body)).not.toContain(created.token);
    const list = await call('GET', '/admin/v1/nodes');
    expect(list.body.map((n: Json) => n.name)).toContain('adm-web1');
    const row = await t.app.dbHandle.db.selectFrom('nodes').select(['enrol_token_digest', 'token_digest']).where('id', '=', created.id).executeTakeFirstOrThrow();
    expect(row.enrol_token_digest).toMatch(/^[0-9a-f]{64}$/);
    expect(row.enrol_token_digest).not.toContain(created.token);
  });

  it('refuses bad names, roles and labels with 422 per field, and a taken name with 409', async () => {
    const bad = await call('POST', '/admin/v1/nodes', { name: '-Web_1', roles: ['mail'], labels: { 'bad key': 'x', zone: 'a b' } });
    expect(bad.status).toBe(422);
    expect(Object.keys(bad.body.error.fields).sort()).toEqual(expect.arrayContaining(['name', 'roles']));
    expect(JSON.stringify(bad.body.error.fields)).toMatch(/label/);
    expect((await call('POST', '/admin/v1/nodes', { name: 'x'.repeat(64), roles: ['web'] })).status).toBe(422);
    expect((await call('POST', '/admin/v1/nodes', { name: 'ok', roles: [] })).status).toBe(422);
    expect((await call('POST', '/admin/v1/nodes', { name: 'ok', roles: ['web'], extra: 1 })).status).toBe(422);
    const notJson = await t.app.server.inject({ method: 'POST', url: '/admin/v1/nodes', headers: { authorization: `Bearer ${t.operatorKey}`, 'content-type': 'application/json' }, payload: '{"name": "x",' });
    expect(notJson.statusCode).toBe(400);
    await createNode('adm-taken');
    const taken = await call('POST', '/admin/v1/nodes', { name: 'adm-taken', roles: ['web'] });
    expect(taken.status).toBe(409);
    expect(taken.body.error.fields).toEqual({ name: ['is already taken'] });
  });

  it('drains and undrains; status follows the heartbeat and the configured limit', async () => {
    const created = await createNode('adm-drain');
    const drained = await call('POST', `/admin/v1/nodes/${created.id}/drain`);
    expect(drained.body).toMatchObject({ state: 'draining', status: 'draining' });
    expect((await call('POST', `/admin/v1/nodes/${created.id}/drain`)).body.status).toBe('draining');
    const undrained = await call('POST', `/admin/v1/nodes/${created.id}/undrain`);
    expect(undrained.body).toMatchObject({ state: 'active', status: 'unhealthy' });
    const now = new Date();
    await t.app.dbHandle.db.updateTable('nodes').set({ last_heartbeat_at: new Date(now.getTime() - 40_000) }).where('id', '=', created.id).execute();
    t.setNow(now);
    try {
      expect((await call('GET', `/admin/v1/nodes/${created.id}`)).body.status).toBe('healthy');
      t.setNow(new Date(now.getTime() + 10_000));
      expect((await call('GET', `/admin/v1/nodes/${created.id}`)).body.status).toBe('unhealthy');
    } finally {
      t.setNow(new Date());
    }
    const audit = await call('GET', `/admin/v1/audit?target_type=node&target_id=${created.id}`);
    expect(audit.body.events.map((e: Json) => e.action)).toEqual(['node.undrained', 'node.drained', 'node.created']);
  });

  it('counts objects placed, applied, failed and pending, and pages them with a failed filter', async () => {
    const created = await createNode('adm-counts');
    const system = ctxFor(t.app.deps, { kind: 'system' });
    const spec = (n: number) => ({ siteId: n, name: `site${n}`, domain: `c${n}.example.com`, aliases: [], status: 'active' as const, suspendReason: null, php: false });
    const v = await bumpNodeObjects(system, created.id, [1, 2, 3].map((n) => ({ kind: 'site' as const, objectId: `site${n}`, clientId: null, state: 'present' as const, spec: spec(n) })));
    await t.app.dbHandle.db.updateTable('node_objects').set({ applied_version: v }).where('node_id', '=', created.id).where('object_id', '=', 'site1').execute();
    await t.app.dbHandle.db.updateTable('node_objects').set({ error: 'refused' }).where('node_id', '=', created.id).where('object_id', '=', 'site2').execute();
    const shown = await call('GET', `/admin/v1/nodes/${created.id}`);
    expect(shown.body.counts).toEqual({ placed: 3, applied: 1, failed: 1, pending: 1, sites: 0 });
    expect(shown.body.version).toBe(v);
    const page1 = await call('GET', `/admin/v1/nodes/${created.id}/objects?limit=2`);
    expect(page1.body.objects.map((o: Json) => [o.id, o.status])).toEqual([
      ['site1', 'applied'],
      ['site2', 'failed'],
    ]);
    expect(page1.body.next_after).toBe('site2');
    const page2 = await call('GET', `/admin/v1/nodes/${created.id}/objects?limit=2&after=site2`);
    expect(page2.body).toEqual({ objects: [expect.objectContaining({ id: 'site3', status: 'applying' })], next_after: null });
    const failed = await call('GET', `/admin/v1/nodes/${created.id}/objects?failed=true`);
    expect(failed.body.objects.map((o: Json) => o.id)).toEqual(['site2']);
    for (const q of ['limit=0', 'limit=1001', 'limit=x', 'failed=maybe', 'failed=true&failed=false']) {
      expect((await call('GET', `/admin/v1/nodes/${created.id}/objects?${q}`)).status, q).toBe(422);
    }
  });

  it('refuses to delete a node holding live sites unless forced, which leaves them not placed', async () => {
    const created = await createNode('adm-delete');
    const clientId = await hspClient();
    await t.app.dbHandle.db.updateTable('clients').set({ node_id: created.id }).where('id', '=', clientId).execute();
    const refused = await call('DELETE', `/admin/v1/nodes/${created.id}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/holds 1 site/);
    expect((await call('GET', `/admin/v1/nodes/${created.id}`)).status).toBe(200);
    expect((await call('DELETE', `/admin/v1/nodes/${created.id}?force=yes`)).status).toBe(422);
    const forced = await call('DELETE', `/admin/v1/nodes/${created.id}?force=true`);
    expect(forced.body).toEqual({ id: created.id, name: 'adm-delete', unplaced_sites: 1 });
    const client = await t.app.dbHandle.db.selectFrom('clients').select('node_id').where('id', '=', clientId).executeTakeFirstOrThrow();
    expect(client.node_id).toBeNull();
    expect((await call('GET', `/admin/v1/nodes/${created.id}`)).status).toBe(404);
  });

  it('answers 404 for unknown or non-numeric ids on every route', async () => {
    for (const [method, url] of [
      ['GET', '/admin/v1/nodes/999999'],
      ['GET', '/admin/v1/nodes/web1'],
      ['DELETE', '/admin/v1/nodes/999999'],
      ['POST', '/admin/v1/nodes/999999/drain'],
      ['POST', '/admin/v1/nodes/999999/undrain'],
      ['POST', '/admin/v1/nodes/999999/rotate-token'],
      ['POST', '/admin/v1/nodes/999999/revoke-token'],
      ['GET', '/admin/v1/nodes/999999/objects'],
    ] as const) {
      const res = await call(method, url);
      expect(res.status, `${method} ${url}`).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    }
  });

  it('is closed to resellers, node tokens and the unauthenticated', async () => {
    const created = await createNode('adm-sec');
    const enrol = await t.app.server.inject({ method: 'POST', url: '/agent/v1/enrol', headers: { authorization: `Bearer ${created.token}` } });
    const nodeToken = (enrol.json() as { token: string }).token;
    for (const auth of [reseller.auth, `Bearer ${reseller.api_key}`, `Bearer ${nodeToken}`, `Bearer ${created.token}`, '']) {
      for (const [method, url] of [
        ['GET', '/admin/v1/nodes'],
        ['POST', '/admin/v1/nodes'],
        ['GET', `/admin/v1/nodes/${created.id}`],
        ['POST', `/admin/v1/nodes/${created.id}/drain`],
        ['POST', `/admin/v1/nodes/${created.id}/rotate-token`],
        ['DELETE', `/admin/v1/nodes/${created.id}`],
        ['GET', `/admin/v1/nodes/${created.id}/objects`],
      ] as const) {
        const res = await call(method, url, method === 'POST' && url === '/admin/v1/nodes' ? { name: 'sneaky', roles: ['web'] } : undefined, auth);
        expect(res.status, `${method} ${url} with ${auth.slice(0, 12)}`).toBe(401);
      }
    }
    expect((await call('GET', `/admin/v1/nodes/${created.id}`)).body.state).toBe('active');
    expect((await call('GET', '/admin/v1/nodes')).body.map((n: Json) => n.name)).not.toContain('sneaky');
  });
});
