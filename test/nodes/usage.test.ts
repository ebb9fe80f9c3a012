import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/core/shared/secrets.js';
import { startApiscpServer, type ApiscpServer } from '../apiscp/apiscp-harness.js';
import { seedDemoCatalog } from '../support/test-app.js';

// POST /agent/v1/usage through the server, read back by admin:get-usage and the admin API; the
// site.over_quota event once per crossing, and the suspend policy.

let s: ApiscpServer;
const db = () => s.t.app.deps.db;
const MB = 1024 * 1024;
let n = 0;
const tokens: Record<string, string> = {};

async function addNode(name: string): Promise<number> {
  const token = `node-token-${name}-${Math.random().toString(36).slice(2)}-${'x'.repeat(20)}`;
  tokens[name] = token;
  const row = await db()
    .insertInto('nodes')
    .values({ name, roles: ['web'], labels: JSON.stringify({ usage: name }), token_digest: sha256Hex(token), last_heartbeat_at: new Date() })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

async function addSite(node: string, opts: Record<string, unknown> = {}): Promise<number> {
  const plan = `usage-${node}`;
  const name = `usage-${++n}-${Math.random().toString(36).slice(2, 7)}.example.com`;
  const r = await s.fn('admin:add-site', [name, `usage${n}`, { 'siteinfo.plan': plan, ...opts }]);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return (await db().selectFrom('domains').select('client_id').where('name', '=', name).where('released_at', 'is', null).executeTakeFirstOrThrow()).client_id;
}

async function report(node: string | null, samples: unknown[], raw?: string) {
  const res = await s.t.app.server.inject({
    method: 'POST',
    url: '/agent/v1/usage',
    headers: { 'content-type': 'application/json', ...(node === null ? {} : { authorization: `Bearer ${tokens[node] ?? node}` }) },
    payload: raw ?? JSON.stringify({ samples }),
  });
  return { status: res.statusCode, body: res.json() as Record<string, unknown> };
}

const sample = (id: number, at: Date, storage: number, transfer: number) => ({ kind: 'site', id: `site${id}`, at: at.toISOString(), storageBytes: storage, transferBytes: transfer });

async function usage(id: number) {
  const r = await s.fn('admin:get-usage', [null, [`site${id}`]]);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return (r.body.result as Record<string, { storage: { qused: number; qhard: number }; bandwidth: { sum: number; threshold: number } }>)[`site${id}`]!;
}

async function overQuotaDeliveries(id: number): Promise<{ quota: string }[]> {
  const rows = await db().selectFrom('webhook_deliveries').select('payload').where('event_type', '=', 'site.over_quota').execute();
  return rows.map((r) => (r.payload as { data: { id: string; quota: string } }).data).filter((d) => d.id === `site${id}`);
}

async function admin(method: 'GET' | 'POST' | 'PATCH', url: string, payload?: unknown) {
  const res = await s.t.app.server.inject({ method, url, headers: { authorization: `Bearer ${s.t.operatorKey}` }, ...(payload === undefined ? {} : { payload: payload as object }) });
  return { status: res.statusCode, body: res.json() as Record<string, unknown> };
}

beforeAll(async () => {
  s = await startApiscpServer();
  await seedDemoCatalog(s.t);
  for (const node of ['a', 'b']) {
    await addNode(node);
    const p = await admin('POST', '/admin/v1/packages', { uid: `usage-${node}`, name: `Usage ${node}`, node_label: `usage=${node}` });
    expect(p.status, JSON.stringify(p.body)).toBe(201);
  }
  // An operator endpoint as a row: creating one through the API resolves its host, and no delivery is attempted here.
  await db().insertInto('webhook_endpoints').values({ reseller_id: null, url: 'https://hooks.example.com/hostplane', secret: 'plain-secret-of-enough-length', secret_key_id: null, event_types: ['site.over_quota'], created_at: new Date() }).execute();
}, 60_000);
afterAll(async () => {
  await s?.close();
});

describe('usage samples', () => {
  it('storage and the transfer counter become qused and sum; a resent or older sample adds nothing; a reset counter adds what it shows', async () => {
    const id = await addSite('a', { 'diskquota.quota': 100, 'bandwidth.threshold': 100 });
    const t0 = new Date();
    let r = await report('a', [sample(id, new Date(t0.getTime() - 60_000), 5 * MB, 1000), sample(id, t0, 6 * MB, 3000)]);
    expect(r).toEqual({ status: 200, body: { accepted: 2, ignored: 0 } });
    expect(await usage(id)).toMatchObject({ storage: { qused: 6 * 1024, qhard: 100 * 1024 }, bandwidth: { sum: 3000, threshold: 100 * MB } });
    r = await report('a', [sample(id, t0, 6 * MB, 3000), sample(id, new Date(t0.getTime() - 120_000), 1, 1)]);
    expect(r.body).toEqual({ accepted: 1, ignored: 1 });
    expect((await usage(id)).bandwidth.sum).toBe(3000);
    await report('a', [sample(id, new Date(t0.getTime() + 1000), 6 * MB, 500)]);
    expect((await usage(id)).bandwidth.sum).toBe(3500);
    const daily = await admin('GET', `/admin/v1/clients/${id}/usage?days=7`);
    expect(daily.status, JSON.stringify(daily.body)).toBe(200);
    const days = daily.body.days as { day: string; storage_bytes: number; transfer_bytes: number }[];
    expect(days.reduce((sum, d) => sum + d.transfer_bytes, 0)).toBe(3500);
    expect(days.at(-1)!.storage_bytes).toBe(6 * MB);
  });

  it("a node's samples of sites it does not hold are left out", async () => {
    const other = await addSite('b');
    const r = await report('a', [sample(other, new Date(), 1, 1), { kind: 'site', id: 'site0', at: new Date().toISOString(), storageBytes: 1, transferBytes: 1 }]);
    expect(r.body).toEqual({ accepted: 0, ignored: 2 });
    expect((await usage(other)).storage.qused).toBe(0);
  });

  it('refuses a missing or wrong token, and a malformed report, with the agent error body', async () => {
    expect((await report(null, [])).status).toBe(401);
    const wrong = await report('not-a-node-token-but-long-enough-to-look', []);
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ error: { code: 'unauthenticated' } });
    for (const bad of ['{"samples": [{"kind": "site", "id": "site1", "at": "yesterday", "storageBytes": 1, "transferBytes": 1}]}', '{"samples": [{"kind": "site", "id": "site1", "at": "2026-01-01T00:00:00Z", "storageBytes": -1, "transferBytes": 1}]}', '{"samples": "all"}', 'not json']) {
      const r = await report('a', [], bad);
      expect([400, 422], bad).toContain(r.status);
      expect(r.body, bad).toHaveProperty('error.code');
    }
  });
});

describe('over quota', () => {
  it('fires site.over_quota once per crossing and, with the notify policy, leaves the site active', async () => {
    const id = await addSite('a', { 'diskquota.quota': 1, 'bandwidth.threshold': 2 });
    const t = Date.now();
    await report('a', [sample(id, new Date(t), 2 * MB, 0)]);
    await report('a', [sample(id, new Date(t + 1000), 3 * MB, 3 * MB)]);
    await report('a', [sample(id, new Date(t + 2000), 3 * MB, 4 * MB)]);
    expect((await overQuotaDeliveries(id)).map((d) => d.quota).sort()).toEqual(['bandwidth', 'storage']);
    // Back under the quota and over it again: a new crossing.
    await report('a', [sample(id, new Date(t + 3000), 100, 4 * MB)]);
    await report('a', [sample(id, new Date(t + 4000), 2 * MB, 4 * MB)]);
    expect((await overQuotaDeliveries(id)).map((d) => d.quota).sort()).toEqual(['bandwidth', 'storage', 'storage']);
    const status = (await db().selectFrom('clients').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;
    expect(status).toBe('active');
  });

  it('with the suspend policy, suspends the site with a reason, which its node object carries', async () => {
    const set = await admin('PATCH', '/admin/v1/settings', { over_quota_policy: 'suspend' });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body.over_quota_policy).toBe('suspend');
    const id = await addSite('a', { 'diskquota.quota': 1 });
    await report('a', [sample(id, new Date(), 2 * MB, 0)]);
    const row = await db().selectFrom('clients').select(['status', 'suspend_reason']).where('id', '=', id).executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'suspended', suspend_reason: 'over quota: storage' });
    const obj = await db().selectFrom('node_objects').select('spec').where('object_id', '=', `site${id}`).executeTakeFirstOrThrow();
    expect(obj.spec).toMatchObject({ status: 'suspended', suspendReason: 'over quota: storage' });
    expect(await overQuotaDeliveries(id)).toHaveLength(1);
    const bad = await admin('PATCH', '/admin/v1/settings', { over_quota_policy: 'delete' });
    expect(bad.status).toBe(422);
    await admin('PATCH', '/admin/v1/settings', { over_quota_policy: 'notify' });
    const count = (await sql<{ n: number }>`select count(*)::int as n from site_usage where client_id = ${id}`.execute(db())).rows[0]!.n;
    expect(count).toBe(1);
  });
});
