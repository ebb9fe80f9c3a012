import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ctxFor } from '../../src/core/context.js';
import { createInstance, createOperatorUser, signupPortalUser } from '../../src/core/saas/saas.service.js';
import { sha256Hex } from '../../src/core/shared/secrets.js';
import { startApiscpServer, type ApiscpServer } from '../apiscp/apiscp-harness.js';

// The whole user list of an instance's res_users over /agent/v1 (docs/adr/0027, "Addendum: every
// user reported"), through the server with no agent: a sample names the list's digest, the control
// plane answers which lists it wants, pages arrive in order (across requests) and become the list
// when the last is in; pages out of order, of another node's database or not of the contract change
// nothing. The agent's side against a real PostgreSQL is test/odoo/instance-users-all.test.ts.

let s: ApiscpServer;
const db = () => s.t.app.deps.db;
const system = () => ctxFor(s.t.app.deps, { kind: 'system' });
const tokens: Record<string, string> = {};
let ownerId: number;
let planId: number;
let seq = 0;

async function addDbNode(name: string): Promise<number> {
  const token = `node-token-${name}-${Math.random().toString(36).slice(2)}-${'x'.repeat(20)}`;
  tokens[name] = token;
  const row = await db()
    .insertInto('nodes')
    .values({ name, roles: ['db'], labels: JSON.stringify({}), token_digest: sha256Hex(token), last_heartbeat_at: new Date() })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

async function usage(node: string, body: unknown) {
  const res = await s.t.app.server.inject({ method: 'POST', url: '/agent/v1/usage', headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[node]}` }, payload: JSON.stringify(body) });
  return { status: res.statusCode, body: res.json() as { accepted: number; ignored: number; usersWanted?: string[]; error?: { code: string } } };
}

interface Overview {
  users_source: string;
  users: { id: number | null; login: string; name: string | null; role: string }[];
  users_total: number;
  users_next_offset: number | null;
  users_count: number;
  pending_logins: string[];
}

async function overview(id: number, query = ''): Promise<Overview> {
  const res = await s.t.app.server.inject({ method: 'GET', url: `/admin/v1/clients/${id}/instance${query}`, headers: { authorization: `Bearer ${s.t.operatorKey}` } });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as Overview;
}

type User = { login: string; name: string | null; active: boolean; share: boolean };
const user = (login: string, over: Partial<User> = {}): User => ({ login, name: login, active: true, share: false, ...over });
/** A digest as a node names one; the control plane only compares them. */
const digestOf = (users: User[]) => createHash('sha256').update(JSON.stringify(users)).digest('hex');
let clock = Date.parse('2026-12-01T00:00:00Z');
const at = () => new Date((clock += 1000)).toISOString();
const sample = (id: number, digest: string, total: number) => ({ kind: 'database', id: `db${id}`, at: at(), storageBytes: 1024, transferBytes: 0, activeUsers: total, usersDigest: digest, usersTotal: total });
const page = (id: number, users: User[], offset: number, count: number, digest = digestOf(users)) => ({ id: `db${id}`, at: at(), digest, total: users.length, offset, users: users.slice(offset, offset + count) });

async function newInstance(): Promise<number> {
  return (await createInstance(system(), { planId, dbname: `lists-${++seq}-${Math.random().toString(36).slice(2, 7)}.example.com`, userId: ownerId, ownerPassword: 'owner password' })).id;
}

const listRows = async (id: number) => db().selectFrom('instance_reported_users').select(['digest', 'position', 'login']).where('client_id', '=', id).orderBy('digest').orderBy('position').execute();

beforeAll(async () => {
  s = await startApiscpServer();
  await createOperatorUser(system(), { login: 'admin', password: 'portal-admin-password' });
  ownerId = (await signupPortalUser(system(), { login: 'owner@example.com', password: 'portal password', name: 'Owner' })).id;
  const p = await s.t.app.server.inject({ method: 'POST', url: '/admin/v1/packages', headers: { authorization: `Bearer ${s.t.operatorKey}` }, payload: { uid: 'odoo-lists', name: 'Odoo lists', template_database: 'odoo_template', limits: { max_users: 4 } } });
  expect(p.statusCode, p.body).toBe(201);
  planId = (p.json() as { id: number }).id;
  await addDbNode('lists-a');
}, 60_000);
afterAll(async () => {
  await s?.close();
});

const owner = () => 'owner@example.com';

describe('a list in pages', () => {
  it('a digest the control plane does not hold is wanted; pages across requests become the list; the same digest again wants nothing', async () => {
    const id = await newInstance();
    const users = [user('__system__', { active: false }), user('admin'), user('portal', { share: true }), user(owner()), ...Array.from({ length: 5 }, (_, i) => user(`u${i}@x.test`))];
    const d = digestOf(users);
    expect(await usage('lists-a', { samples: [sample(id, d, users.length)] })).toEqual({ status: 200, body: { accepted: 1, ignored: 0, usersWanted: [`db${id}`] } });
    // Not whole yet: the doors keep Hostplane's list.
    expect((await usage('lists-a', { samples: [], userLists: [page(id, users, 0, 4), page(id, users, 4, 3)] })).status).toBe(200);
    expect((await overview(id)).users_source).toBe('hostplane');
    expect((await usage('lists-a', { samples: [], userLists: [page(id, users, 7, 2)] })).status).toBe(200);
    const o = await overview(id);
    expect(o).toMatchObject({ users_source: 'instance_database', users_total: 7, users_next_offset: null, pending_logins: [] });
    expect(o.users.map((u) => u.login)).toEqual(['admin', owner(), 'u0@x.test', 'u1@x.test', 'u2@x.test', 'u3@x.test', 'u4@x.test']);
    expect(o.users_count).toBe(6);
    expect(new Set((await listRows(id)).map((r) => r.digest))).toEqual(new Set([d]));
    // The same digest: nothing wanted, nothing written.
    const before = await listRows(id);
    expect(await usage('lists-a', { samples: [sample(id, d, users.length)] })).toEqual({ status: 200, body: { accepted: 1, ignored: 0 } });
    expect(await listRows(id)).toEqual(before);
    // A page of the list already kept (resent) changes nothing either.
    expect((await usage('lists-a', { samples: [], userLists: [page(id, users, 0, 9)] })).status).toBe(200);
    expect(await listRows(id)).toEqual(before);
    // The doors page it.
    const p1 = await overview(id, '?users_limit=3');
    expect(p1.users.map((u) => u.login)).toEqual(['admin', owner(), 'u0@x.test']);
    expect(p1.users_next_offset).toBe(3);
    expect((await overview(id, '?users_offset=6&users_limit=3')).users.map((u) => u.login)).toEqual(['u4@x.test']);
  });

  it('the limit check counts every user of the list', async () => {
    const id = await newInstance();
    const users = [user('admin'), user(owner()), user('a@x.test'), user('b@x.test'), user('c@x.test')];
    await usage('lists-a', { samples: [sample(id, digestOf(users), users.length)] });
    await usage('lists-a', { samples: [], userLists: [page(id, users, 0, 5)] });
    const res = await s.t.app.server.inject({ method: 'POST', url: `/admin/v1/clients/${id}/users`, headers: { authorization: `Bearer ${s.t.operatorKey}` }, payload: { login: 'd@x.test', password: 'a password' } });
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().error.message).toBe('Maximum allowed users is 4, while you already have 4');
  });

  it('a page out of order, or of a list that changed meanwhile, is left out; the list is sent again from its first page', async () => {
    const id = await newInstance();
    const first = [user('admin'), user(owner())];
    await usage('lists-a', { samples: [sample(id, digestOf(first), 2)] });
    await usage('lists-a', { samples: [], userLists: [page(id, first, 0, 2)] });
    const changed = [...first, user('x@x.test'), user('y@x.test')];
    // The second page without the first: nothing kept of it.
    await usage('lists-a', { samples: [], userLists: [page(id, changed, 2, 2)] });
    expect((await listRows(id)).map((r) => r.digest)).toEqual([digestOf(first), digestOf(first)]);
    // A first page of the changed list, then a second page of yet another list: the latter is left out.
    const other = [...first, user('z@x.test'), user('w@x.test')];
    await usage('lists-a', { samples: [], userLists: [page(id, changed, 0, 2), page(id, other, 2, 2)] });
    expect((await overview(id)).users.map((u) => u.login)).toEqual(['admin', owner()]);
    // Sent again whole: it replaces the list, and what was gathered of others goes.
    await usage('lists-a', { samples: [], userLists: [page(id, other, 0, 2), page(id, other, 2, 2)] });
    expect((await overview(id)).users.map((u) => u.login)).toEqual(['admin', owner(), 'z@x.test', 'w@x.test']);
    expect(new Set((await listRows(id)).map((r) => r.digest))).toEqual(new Set([digestOf(other)]));
  });

  it("an agent before digests sends the first users in its sample: they are the list until a digest's list replaces them", async () => {
    const id = await newInstance();
    const res = await usage('lists-a', { samples: [{ kind: 'database', id: `db${id}`, at: at(), storageBytes: 1, transferBytes: 0, activeUsers: 2, users: [user('admin'), user(owner())], usersTotal: 2 }] });
    expect(res).toEqual({ status: 200, body: { accepted: 1, ignored: 0 } });
    expect((await overview(id)).users.map((u) => u.login)).toEqual(['admin', owner()]);
    // A newer agent's digest is not that list's: it is wanted.
    expect((await usage('lists-a', { samples: [sample(id, digestOf([user('admin')]), 1)] })).body.usersWanted).toEqual([`db${id}`]);
  });
});

describe('security', () => {
  it('hostile logins are stored and answered as they are; pages not of the contract are refused whole', async () => {
    const id = await newInstance();
    const hostile = [user('admin'), user(owner()), user(`a'); drop table instance_reported_users; --`), user('<img src=x onerror=alert(1)>'), user('nul\u0001bell\u0007\u001b[2J'), user('L'.repeat(254), { name: 'N'.repeat(256) })];
    await usage('lists-a', { samples: [sample(id, digestOf(hostile), hostile.length)] });
    expect((await usage('lists-a', { samples: [], userLists: [page(id, hostile, 0, hostile.length)] })).status).toBe(200);
    const o = await overview(id);
    expect(o.users.map((u) => u.login)).toEqual(hostile.map((u) => u.login));
    expect(o.users.find((u) => u.login === 'L'.repeat(254))!.name).toBe('N'.repeat(256));
    for (const bad of [
      { ...page(id, hostile, 0, 1), digest: "1' or '1'='1" },
      { ...page(id, hostile, 0, 1), users: [{ login: 'L'.repeat(255), name: null, active: true, share: false }] },
      { ...page(id, hostile, 0, 1), offset: -1 },
      { ...page(id, hostile, 0, 1), users: Array.from({ length: 1001 }, (_, i) => user(`p${i}`)) },
    ]) {
      const r = await usage('lists-a', { samples: [], userLists: [bad] });
      // The agent door's own format: 400 with a code; nothing of the request is kept.
      expect(r.status, JSON.stringify(bad).slice(0, 200)).toBe(400);
      expect(r.body.error?.code).toBeTruthy();
    }
    // A page that claims more users than its list holds is left out.
    await usage('lists-a', { samples: [], userLists: [{ ...page(id, [user('admin')], 0, 1), total: 0 }] });
    expect((await overview(id)).users.map((u) => u.login)).toEqual(hostile.map((u) => u.login));
    expect(new Set((await listRows(id)).map((r) => r.digest))).toEqual(new Set([digestOf(hostile)]));
  });

  it("another node's pages for a database it does not hold change nothing", async () => {
    const id = await newInstance();
    const users = [user('admin'), user(owner())];
    await usage('lists-a', { samples: [sample(id, digestOf(users), 2)] });
    await usage('lists-a', { samples: [], userLists: [page(id, users, 0, 2)] });
    await addDbNode('lists-intruder');
    const forged = [user('admin'), user('intruder@evil.test')];
    expect((await usage('lists-intruder', { samples: [sample(id, digestOf(forged), 2)] })).body).toEqual({ accepted: 0, ignored: 1 });
    expect((await usage('lists-intruder', { samples: [], userLists: [page(id, forged, 0, 2)] })).status).toBe(200);
    expect((await overview(id)).users.map((u) => u.login)).toEqual(['admin', owner()]);
    expect((await listRows(id)).map((r) => r.login)).not.toContain('intruder@evil.test');
  });
});
