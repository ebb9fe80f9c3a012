import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ctxFor } from '../../src/core/context.js';
import { createInstance, createOperatorUser, signupPortalUser } from '../../src/core/saas/saas.service.js';
import { upgradeInstance } from '../../src/core/saas/upgrade-instance.js';
import { setInstanceOwnerPassword } from '../../src/core/saas/instance-owner-password.js';
import { odooPasswordMatches } from '../../src/core/shared/odoo-password.js';
import { sha256Hex } from '../../src/core/shared/secrets.js';
import { startApiscpServer, type ApiscpServer } from '../apiscp/apiscp-harness.js';

// A SaaS instance's database as desired state and as measured, through the server with no agent:
// placement on a db node when the plan names a template, the spec every change rewrites (with the
// owner's SCRAM verifier, never the password), usage samples of the db role and their over-quota
// event and policy, and what a node that does not hold the database may not do.

let s: ApiscpServer;
const db = () => s.t.app.deps.db;
const system = () => ctxFor(s.t.app.deps, { kind: 'system' });
const MB = 1024 * 1024;
const tokens: Record<string, string> = {};
const nodeNames = new Map<number, string>();
const OWNER_PASSWORD = 'the owner password, in full';
let ownerId: number;
let planId: number;
let seq = 0;

async function addDbNode(name: string, healthy = true): Promise<number> {
  const token = `node-token-${name}-${Math.random().toString(36).slice(2)}-${'x'.repeat(20)}`;
  tokens[name] = token;
  const row = await db()
    .insertInto('nodes')
    .values({ name, roles: ['db'], labels: JSON.stringify({}), token_digest: sha256Hex(token), last_heartbeat_at: healthy ? new Date() : null })
    .returning('id')
    .executeTakeFirstOrThrow();
  nodeNames.set(Number(row.id), name);
  return row.id;
}

async function admin(method: 'GET' | 'POST' | 'PATCH', url: string, payload?: unknown) {
  const res = await s.t.app.server.inject({ method, url, headers: { authorization: `Bearer ${s.t.operatorKey}` }, ...(payload === undefined ? {} : { payload: payload as object }) });
  return { status: res.statusCode, body: res.json() as Record<string, unknown> };
}

async function report(node: string, samples: unknown[]) {
  const res = await s.t.app.server.inject({ method: 'POST', url: '/agent/v1/usage', headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[node]}` }, payload: JSON.stringify({ samples }) });
  return { status: res.statusCode, body: res.json() as Record<string, unknown> };
}

async function newInstance(password: string | null = OWNER_PASSWORD): Promise<number> {
  const created = await createInstance(system(), { planId, dbname: `dbobj-${++seq}-${Math.random().toString(36).slice(2, 7)}.example.com`, userId: ownerId, ownerPassword: password ?? undefined });
  return created.id;
}

async function object(id: number) {
  return db().selectFrom('node_objects').select(['node_id', 'state', 'spec', 'version']).where('kind', '=', 'database').where('object_id', '=', `db${id}`).executeTakeFirst();
}

async function overQuota(id: number): Promise<{ quota: string; object: string }[]> {
  const rows = await db().selectFrom('webhook_deliveries').select('payload').where('event_type', '=', 'site.over_quota').execute();
  return rows.map((r) => (r.payload as { data: { id: string; quota: string; object: string } }).data).filter((d) => d.id === `db${id}`);
}

const sample = (id: number, at: number, bytes: number, users?: number) => ({ kind: 'database', id: `db${id}`, at: new Date(at).toISOString(), storageBytes: bytes, transferBytes: 0, ...(users === undefined ? {} : { activeUsers: users }) });

beforeAll(async () => {
  s = await startApiscpServer();
  await createOperatorUser(system(), { login: 'admin', password: 'portal-admin-password' });
  ownerId = (await signupPortalUser(system(), { login: 'owner@example.com', password: 'portal password', name: 'Owner' })).id;
  const p = await admin('POST', '/admin/v1/packages', { uid: 'odoo-db', name: 'Odoo with a database', template_database: 'odoo_template', limits: { max_users: 2 } });
  expect(p.status, JSON.stringify(p.body)).toBe(201);
  planId = p.body.id as number;
  await db().insertInto('webhook_endpoints').values({ reseller_id: null, url: 'https://hooks.example.com/hostplane', secret: 'plain-secret-of-enough-length', secret_key_id: null, event_types: ['site.over_quota'], created_at: new Date() }).execute();
}, 60_000);
afterAll(async () => {
  await s?.close();
});

describe('desired state', () => {
  it('without a healthy db node the instance is created, its database not placed; a later change places it', async () => {
    const id = await newInstance();
    expect(await object(id)).toBeUndefined();
    const view = await admin('GET', `/admin/v1/clients/${id}/instance`);
    expect(view.body.database).toMatchObject({ status: 'not_placed', node: null, template: 'odoo_template' });
    const answer = await upgradeInstance(system(), id, { params: [{ key: 'saas_client.max_users', value: '5' }] });
    expect(Object.values(answer)[0]).toEqual({ database: [expect.stringContaining('is not placed')] });
    await addDbNode('dba');
    await upgradeInstance(system(), id, { params: [{ key: 'saas_client.max_users', value: '6' }] });
    expect(await object(id)).toMatchObject({ state: 'present', spec: { limits: { maxUsers: 6 } } });
  });

  it('create_new_database writes the spec with a SCRAM verifier; the password is nowhere in the desired state', async () => {
    const id = await newInstance();
    const o = await object(id);
    const uuid = (await db().selectFrom('clients').select('instance_uuid').where('id', '=', id).executeTakeFirstOrThrow()).instance_uuid!.replace(/-/g, '');
    expect(o!.spec).toEqual({
      clientId: id,
      name: `saas_${uuid}`,
      template: 'odoo_template',
      owner: `saas_${uuid}_owner`,
      ownerPassword: expect.stringMatching(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/),
      connectionLimit: 20,
      // The storage limit as the plan chain resolves diskquota,quota (the base plan's here).
      limits: { maxUsers: 2, storageMb: expect.any(Number), expiresAt: null },
      status: 'active',
      // Its users, for its res_users (ADR 27): the administrator and the owner, with their groups; the
      // owner with Odoo's hash of the owner password (the administrator has none).
      users: [
        { login: 'admin', name: 'Administrator', active: true, groups: ['base.group_erp_manager', 'base.group_system', 'base.group_user'] },
        { login: expect.any(String), name: expect.any(String), active: true, groups: ['base.group_partner_manager', 'base.group_user'], passwordHash: expect.stringMatching(/^\$pbkdf2-sha512\$/) },
      ],
    });
    expect(await odooPasswordMatches((o!.spec as { users: { passwordHash: string }[] }).users[1]!.passwordHash, OWNER_PASSWORD)).toBe(true);
    const all = await db().selectFrom('node_objects').select('spec').execute();
    expect(JSON.stringify(all)).not.toContain(OWNER_PASSWORD);
    // No owner password given: no password login rather than one nobody knows.
    const bare = await newInstance(null);
    expect((await object(bare))!.spec).toMatchObject({ ownerPassword: null });
    // Nor an Odoo hash: the portal password is only Hostplane's hash here.
    expect(((await object(bare))!.spec as { users: object[] }).users[1]).not.toHaveProperty('passwordHash');
  });

  it('suspend, resume, limits and delete rewrite the object in the same change; an unchanged spec is not rewritten', async () => {
    const id = await newInstance();
    const v0 = Number((await object(id))!.version);
    await upgradeInstance(system(), id, { params: [{ key: 'saas_client.suspended', value: '1' }, { key: 'saas_client.total_storage_limit', value: 50 }] });
    expect(await object(id)).toMatchObject({ spec: { status: 'suspended', limits: { storageMb: 50 } } });
    const v1 = Number((await object(id))!.version);
    expect(v1).toBeGreaterThan(v0);
    await upgradeInstance(system(), id, { install_addons: [] });
    expect(Number((await object(id))!.version)).toBe(v1);
    await upgradeInstance(system(), id, { params: [{ key: 'saas_client.suspended', value: '0' }] });
    expect(await object(id)).toMatchObject({ spec: { status: 'active' } });
    const del = await s.fn('admin:delete-site', [`site${id}`, {}]);
    expect(del.status, JSON.stringify(del.body)).toBe(200);
    expect(await object(id)).toMatchObject({ state: 'absent', spec: { name: expect.stringMatching(/^saas_/) } });
  });
});

describe('owner password', () => {
  it("PUT .../instance/owner-password sends a new verifier to the node; someone else's instance is not found; a bad password changes nothing", async () => {
    const id = await newInstance();
    const before = (await object(id))!.spec as { ownerPassword: string };
    const r = await s.t.app.server.inject({ method: 'PUT', url: `/admin/v1/clients/${id}/instance/owner-password`, headers: { authorization: `Bearer ${s.t.operatorKey}` }, payload: { password: 'a brand new password' } });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toEqual({ id, database: true });
    const after = (await object(id))!.spec as { ownerPassword: string };
    expect(after.ownerPassword).toMatch(/^SCRAM-SHA-256\$/);
    expect(after.ownerPassword).not.toBe(before.ownerPassword);
    expect(JSON.stringify(await db().selectFrom('node_objects').select('spec').execute())).not.toContain('a brand new password');
    for (const payload of [{ password: '' }, { password: 5 }, {}]) {
      const bad = await s.t.app.server.inject({ method: 'PUT', url: `/admin/v1/clients/${id}/instance/owner-password`, headers: { authorization: `Bearer ${s.t.operatorKey}` }, payload });
      expect(bad.statusCode, JSON.stringify(payload)).toBe(422);
    }
    expect(((await object(id))!.spec as { ownerPassword: string }).ownerPassword).toBe(after.ownerPassword);
    const stranger = (await signupPortalUser(system(), { login: `stranger-${id}@example.com`, password: 'stranger password' })).id;
    await expect(setInstanceOwnerPassword(ctxFor(s.t.app.deps, { kind: 'user', userId: stranger }), id, 'taken over')).rejects.toMatchObject({ code: 'not_found' });
    await expect(setInstanceOwnerPassword(ctxFor(s.t.app.deps, { kind: 'user', userId: ownerId }), id, 'the owner may')).resolves.toEqual({ id, database: true });
    const unauth = await s.t.app.server.inject({ method: 'PUT', url: `/admin/v1/clients/${id}/instance/owner-password`, payload: { password: 'no key' } });
    expect(unauth.statusCode).toBe(401);
  });
});

describe('usage of databases', () => {
  let id: number;
  beforeAll(async () => {
    id = await newInstance();
    await upgradeInstance(system(), id, { params: [{ key: 'saas_client.total_storage_limit', value: 10 }] });
  });

  it('records size and users; a sample without users keeps the last count; older samples are left out', async () => {
    const t = Date.now();
    expect(await report('dba', [sample(id, t, 3 * MB, 1)])).toEqual({ status: 200, body: { accepted: 1, ignored: 0 } });
    expect(await report('dba', [sample(id, t + 1000, 4 * MB), sample(id, t - 5000, 1, 9)])).toEqual({ status: 200, body: { accepted: 1, ignored: 1 } });
    const view = await admin('GET', `/admin/v1/clients/${id}/instance`);
    expect(view.body.database).toMatchObject({ size_bytes: 4 * MB, active_users: 1 });
    expect(view.body.usage).toMatchObject({ used_bytes: 4 * MB, limit_mb: 10, exceeded: false });
  });

  it('another node cannot report on it', async () => {
    await addDbNode('dbb');
    expect(await report('dbb', [sample(id, Date.now() + 5000, 99 * MB, 99)])).toEqual({ status: 200, body: { accepted: 0, ignored: 1 } });
    expect((await admin('GET', `/admin/v1/clients/${id}/instance`)).body.database).toMatchObject({ size_bytes: 4 * MB, active_users: 1 });
  });

  it('over storage or users fires site.over_quota once per crossing; the notify policy leaves it active', async () => {
    const t = Date.now() + 10_000;
    await report('dba', [sample(id, t, 11 * MB, 3)]);
    await report('dba', [sample(id, t + 1000, 12 * MB, 3)]);
    expect((await overQuota(id)).map((d) => `${d.object}:${d.quota}`).sort()).toEqual(['database:storage', 'database:users']);
    await report('dba', [sample(id, t + 2000, 1 * MB, 1)]);
    await report('dba', [sample(id, t + 3000, 11 * MB, 1)]);
    expect((await overQuota(id)).map((d) => d.quota).sort()).toEqual(['storage', 'storage', 'users']);
    expect((await db().selectFrom('clients').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status).toBe('active');
  });

  it("the instance's stored files count with its database against the storage limit", async () => {
    const other = await newInstance();
    await upgradeInstance(system(), other, { params: [{ key: 'saas_client.total_storage_limit', value: 10 }] });
    const node = nodeNames.get(Number((await object(other))!.node_id))!;
    const t = Date.now() + 30_000;
    await report(node, [sample(other, t, 5 * MB, 1)]);
    const stored = await admin('POST', `/admin/v1/clients/${other}/files`, { name: 'scan.pdf', content_base64: Buffer.alloc(3 * MB, 7).toString('base64') });
    expect(stored.status, JSON.stringify(stored.body)).toBe(201);
    // The database grows to 8 MB: alone under the 10 MB limit, with the 3 MB file over it.
    await report(node, [sample(other, t + 1000, 8 * MB, 1)]);
    expect(await overQuota(other)).toEqual([expect.objectContaining({ object: 'database', quota: 'storage', used_bytes: 11 * MB, limit_bytes: 10 * MB, files_bytes: 3 * MB, databases_bytes: 8 * MB })]);
  });

  it('the suspend policy suspends the instance, and its database object follows', async () => {
    expect((await admin('PATCH', '/admin/v1/settings', { over_quota_policy: 'suspend' })).status).toBe(200);
    const other = await newInstance();
    // Placed on the db node holding the fewest: whichever it is reports.
    await report(nodeNames.get(Number((await object(other))!.node_id))!, [sample(other, Date.now() + 20_000, 1 * MB, 5)]);
    expect(await db().selectFrom('clients').select(['status', 'suspend_reason']).where('id', '=', other).executeTakeFirstOrThrow()).toEqual({ status: 'suspended', suspend_reason: 'over quota: users' });
    expect(await object(other)).toMatchObject({ spec: { status: 'suspended' } });
    await admin('PATCH', '/admin/v1/settings', { over_quota_policy: 'notify' });
  });
});

describe('deleting a db node', () => {
  it('is refused while instance databases are on it; with force they become not placed, and a later change places them again', async () => {
    const nodeId = await addDbNode('dbgone');
    // Drain the others: the new instance must land on this node.
    for (const [id, name] of nodeNames) if (name !== 'dbgone') expect((await admin('POST', `/admin/v1/nodes/${id}/drain`)).status).toBe(200);
    const id = await newInstance();
    expect((await object(id))!.node_id).toBe(nodeId);
    const refused = await s.t.app.server.inject({ method: 'DELETE', url: `/admin/v1/nodes/${nodeId}`, headers: { authorization: `Bearer ${s.t.operatorKey}` } });
    expect(refused.statusCode).toBe(409);
    const forced = await s.t.app.server.inject({ method: 'DELETE', url: `/admin/v1/nodes/${nodeId}?force=true`, headers: { authorization: `Bearer ${s.t.operatorKey}` } });
    expect(forced.statusCode, forced.body).toBe(200);
    expect(forced.json()).toMatchObject({ unplaced_sites: 1 });
    expect((await admin('GET', `/admin/v1/clients/${id}/instance`)).body.database).toMatchObject({ status: 'not_placed', node: null });
    for (const [nid, name] of nodeNames) if (name !== 'dbgone') expect((await admin('POST', `/admin/v1/nodes/${nid}/undrain`)).status).toBe(200);
    await upgradeInstance(system(), id, { params: [{ key: 'saas_client.max_users', value: '4' }] });
    expect(await object(id)).toMatchObject({ state: 'present', spec: { limits: { maxUsers: 4 } } });
  });
});

