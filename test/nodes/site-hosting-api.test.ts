import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReseller, createTestApp, seedDemoCatalog, type ResellerFixture, type TestApp } from '../support/test-app.js';

// Where each site is served and what it used per day, through the three doors the consoles use: the
// admin client list and read and GET /admin/v1/clients/:id/usage (operators), GET
// /v1/clients/:id/usage (a reseller, its own clients only) and GET /client/v1/usage/daily (the
// signed-in site). Sites are placed by the real placement, the node reports through /agent/v1.

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let t: TestApp;
let a: ResellerFixture;
let b: ResellerFixture;
let nodeToken: string;
let placed: number;
let failing: number;
let early: number;
let theirs: number;
let cookie: string;
const MB = 1024 * 1024;
const DAY = 86_400_000;
let seq = 0;

const admin = () => ({ authorization: `Bearer ${t.operatorKey}` });
async function inject(method: 'GET' | 'POST', url: string, headers: Record<string, string> = {}, payload?: unknown) {
  const res = await t.app.server.inject({ method, url, headers, ...(payload !== undefined ? { payload: payload as object } : {}) });
  return { status: res.statusCode, body: (res.body ? res.json() : null) as Json, headers: res.headers };
}

async function newClient(r: ResellerFixture): Promise<number> {
  seq += 1;
  const res = await inject('POST', '/v1/clients', { authorization: r.auth }, { package_uid: 'spamstopshere-standard', user_count: 1, name: `Hosted ${seq}`, email_address: `h${seq}@example.com`, domains: [{ name: `hosted${seq}.example.com` }] });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id as number;
}

async function nodeOf(id: number): Promise<number | null> {
  const row = await t.app.deps.db.selectFrom('clients').select('node_id').where('id', '=', id).executeTakeFirstOrThrow();
  return row.node_id === null ? null : Number(row.node_id);
}

async function objectVersion(id: number): Promise<number> {
  const row = await t.app.deps.db.selectFrom('node_objects').select('version').where('object_id', '=', `site${id}`).executeTakeFirstOrThrow();
  return Number(row.version);
}

const node = () => ({ authorization: `Bearer ${nodeToken}` });
const day = (offset: number) => new Date(Date.now() - offset * DAY).toISOString();

beforeAll(async () => {
  t = await createTestApp();
  await seedDemoCatalog(t);
  a = await createReseller(t, { name: 'Hosting A' });
  b = await createReseller(t, { name: 'Hosting B' });
  // Before any node exists: this client stays "not placed".
  early = await newClient(a);

  const created = await inject('POST', '/admin/v1/nodes', admin(), { name: 'web1', roles: ['web'] });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  nodeToken = (await inject('POST', '/agent/v1/enrol', { authorization: `Bearer ${created.body.token as string}` })).body.token as string;
  expect((await inject('POST', '/agent/v1/heartbeat', node(), { agentVersion: '0.1.0', capacity: { diskFreeBytes: 40 * 1024 ** 3, diskTotalBytes: 100 * 1024 ** 3, load1: 0.25, cpus: 2 }, drivers: { web: { ok: true } } })).status).toBe(200);

  placed = await newClient(a);
  failing = await newClient(a);
  theirs = await newClient(b);
  expect(await nodeOf(placed)).not.toBeNull();
  expect(await nodeOf(early)).toBeNull();

  const results = [
    { kind: 'site', id: `site${placed}`, version: await objectVersion(placed), ok: true },
    { kind: 'site', id: `site${failing}`, version: await objectVersion(failing), ok: false, error: 'nginx: [emerg] could not build server_names_hash' },
  ];
  expect((await inject('POST', '/agent/v1/status', node(), { results })).status).toBe(200);
  // Two days of usage for `placed`: the transfer counter grows, storage is a sample.
  const usage = await inject('POST', '/agent/v1/usage', node(), {
    samples: [
      { kind: 'site', id: `site${placed}`, at: day(1), storageBytes: 3 * MB, transferBytes: 1000 },
      { kind: 'site', id: `site${placed}`, at: day(0), storageBytes: 5 * MB, transferBytes: 4000 },
    ],
  });
  expect(usage.body).toEqual({ accepted: 2, ignored: 0 });

  const issued = await inject('GET', `/v1/clients/${placed}/auth_token`, { authorization: a.auth });
  expect(issued.status).toBe(200);
  const landing = await inject('GET', issued.body.path as string);
  expect(landing.status).toBe(303);
  cookie = String(landing.headers['set-cookie']).split(';')[0]!;
}, 60_000);

afterAll(async () => {
  await t?.close();
});

const today = () => new Date().toISOString().slice(0, 10);
const yesterday = () => new Date(Date.now() - DAY).toISOString().slice(0, 10);

describe('the operator: the client list and read carry each site node; the usage series', () => {
  it('lists each client with its node: applied, failed with the node error, or null (not placed)', async () => {
    const res = await inject('GET', `/admin/v1/clients?reseller_id=${a.id}`, admin());
    expect(res.status).toBe(200);
    const byId = new Map((res.body.clients as Json[]).map((c) => [c.id as number, c]));
    expect(byId.get(placed)!.node).toEqual({ name: 'web1', status: 'healthy', object: 'applied', error: null });
    expect(byId.get(failing)!.node).toEqual({ name: 'web1', status: 'healthy', object: 'failed', error: 'nginx: [emerg] could not build server_names_hash' });
    expect(byId.get(early)!.node).toBeNull();
    expect(byId.has(theirs)).toBe(false);
    expect((await inject('GET', `/admin/v1/clients/${placed}`, admin())).body.node).toMatchObject({ name: 'web1', object: 'applied' });
  });

  it('answers the per-day series with the node, the window and the days reported', async () => {
    const res = await inject('GET', `/admin/v1/clients/${placed}/usage?days=7`, admin());
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ site: `site${placed}`, node: { name: 'web1', status: 'healthy', object: 'applied' }, until: today() });
    expect(res.body.since).toBe(new Date(Date.now() - 6 * DAY).toISOString().slice(0, 10));
    expect(res.body.days).toEqual([
      { day: yesterday(), storage_bytes: 3 * MB, transfer_bytes: 1000 },
      { day: today(), storage_bytes: 5 * MB, transfer_bytes: 3000 },
    ]);
    const one = await inject('GET', `/admin/v1/clients/${placed}/usage?days=1`, admin());
    expect(one.body.days).toEqual([{ day: today(), storage_bytes: 5 * MB, transfer_bytes: 3000 }]);
    const unplaced = await inject('GET', `/admin/v1/clients/${early}/usage`, admin());
    expect(unplaced.body).toMatchObject({ site: `site${early}`, node: null, days: [] });
  });

  it('refuses bad input in its own error format and changes nothing', async () => {
    for (const [url, status] of [
      [`/admin/v1/clients/${placed}/usage?days=0`, 422],
      [`/admin/v1/clients/${placed}/usage?days=367`, 422],
      [`/admin/v1/clients/${placed}/usage?days=abc`, 422],
      [`/admin/v1/clients/${placed}/usage?days=1&days=2`, 422],
      ['/admin/v1/clients/abc/usage', 422],
      ['/admin/v1/clients/0/usage', 422],
      ['/admin/v1/clients/99999999/usage', 404],
    ] as const) {
      const res = await inject('GET', url, admin());
      expect(res.status, url).toBe(status);
      expect(res.body, url).toHaveProperty('error.code');
    }
    expect((await inject('GET', `/admin/v1/clients/${placed}/usage?days=7`, admin())).body.days).toHaveLength(2);
  });

  it('opens to no one else: no credential, a reseller credential or a node token are 401', async () => {
    for (const headers of [{}, { authorization: a.auth }, node()]) {
      for (const url of [`/admin/v1/clients/${placed}/usage`, '/admin/v1/clients']) {
        const res = await inject('GET', url, headers);
        expect(res.status, url).toBe(401);
        expect(res.body).toHaveProperty('error.code', 'unauthenticated');
      }
    }
  });
});

describe('the reseller: GET /v1/clients/:id/usage', () => {
  it("answers its own client's node and days", async () => {
    const res = await inject('GET', `/v1/clients/${placed}/usage`, { authorization: a.auth });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ site: `site${placed}`, node: { name: 'web1', status: 'healthy', object: 'applied', error: null } });
    expect((res.body.days as Json[]).map((d) => d.transfer_bytes)).toEqual([1000, 3000]);
    expect((await inject('GET', `/v1/clients/${failing}/usage?days=90`, { authorization: a.auth })).body.node).toMatchObject({ object: 'failed', error: expect.stringContaining('server_names_hash') });
    expect((await inject('GET', `/v1/clients/${early}/usage`, { authorization: a.auth })).body).toMatchObject({ node: null, days: [] });
  });

  it("another reseller's client, an unknown or malformed id are 404 in the HSP error shape", async () => {
    for (const url of [`/v1/clients/${theirs}/usage`, '/v1/clients/99999999/usage', '/v1/clients/abc/usage', '/v1/clients/0/usage']) {
      const res = await inject('GET', url, { authorization: a.auth });
      expect(res.status, url).toBe(url.endsWith('/0/usage') ? 422 : 404);
      expect(res.body, url).toHaveProperty('errors');
      expect(JSON.stringify(res.body)).not.toContain('web1');
    }
    // The other reseller reads its own.
    expect((await inject('GET', `/v1/clients/${theirs}/usage`, { authorization: b.auth })).status).toBe(200);
  });

  it('refuses a bad window (422) and a missing or foreign credential (401)', async () => {
    const bad = await inject('GET', `/v1/clients/${placed}/usage?days=400`, { authorization: a.auth });
    expect(bad.status).toBe(422);
    expect(bad.body).toEqual({ errors: { days: ['must be a whole number of days from 1 to 366'] } });
    for (const headers of [{ 'x-requested-with': 'hostplane-console' }, admin(), node()]) {
      const res = await inject('GET', `/v1/clients/${placed}/usage`, headers);
      expect(res.status).toBe(401);
      expect(res.body).toHaveProperty('errors');
    }
  });
});

describe('the client area: GET /client/v1/usage/daily and the usage gauges', () => {
  it("answers the signed-in site's own node and days, and the gauges show what the node measured", async () => {
    const res = await inject('GET', '/client/v1/usage/daily?days=30', { cookie });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ site: `site${placed}`, node: { name: 'web1', status: 'healthy', object: 'applied' } });
    expect(res.body.days).toHaveLength(2);
    const gauges = await inject('GET', '/client/v1/usage', { cookie });
    expect(gauges.body.storage.used_bytes).toBe(5 * MB);
    // Both samples fall in the current bandwidth period unless the period began today.
    expect([4000, 3000]).toContain(gauges.body.bandwidth.used_bytes);
  });

  it('names no other site: a client_id or id in the query is ignored; bad windows are 422; no session is 401', async () => {
    const other = await inject('GET', `/client/v1/usage/daily?client_id=${theirs}&id=${theirs}`, { cookie });
    expect(other.status).toBe(200);
    expect(other.body.site).toBe(`site${placed}`);
    for (const q of ['days=0', 'days=x', 'days=1&days=2']) {
      const res = await inject('GET', `/client/v1/usage/daily?${q}`, { cookie });
      expect(res.status, q).toBe(422);
      expect(res.body).toHaveProperty('error.code');
    }
    for (const headers of [{} as Record<string, string>, { authorization: a.auth }, admin(), { cookie: 'hp_session=not-a-session' }]) {
      const res = await inject('GET', '/client/v1/usage/daily', headers);
      expect(res.status).toBe(401);
    }
  });
});

describe('a node that stopped heartbeating', () => {
  it('shows its sites as unhealthy through every door', async () => {
    // Its last heartbeat an hour ago: well past the unhealthy window (30 s by default).
    await t.app.deps.db.updateTable('nodes').set({ last_heartbeat_at: new Date(Date.now() - 3_600_000) }).where('name', '=', 'web1').execute();
    const list = await inject('GET', `/admin/v1/clients?reseller_id=${a.id}`, admin());
    expect((list.body.clients as Json[]).find((c) => c.id === placed)!.node).toMatchObject({ name: 'web1', status: 'unhealthy', object: 'applied' });
    expect((await inject('GET', `/admin/v1/clients/${placed}/usage`, admin())).body.node.status).toBe('unhealthy');
    expect((await inject('GET', `/v1/clients/${placed}/usage`, { authorization: a.auth })).body.node.status).toBe('unhealthy');
    expect((await inject('GET', '/client/v1/usage/daily', { cookie })).body.node.status).toBe('unhealthy');
  });
});
