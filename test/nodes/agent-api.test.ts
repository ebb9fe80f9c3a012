import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StateResponse } from '../../src/core/nodes/agent-wire.schema.js';
import type { SiteSpec } from '../../src/core/nodes/agent-wire.schema.js';
import { ctxFor } from '../../src/core/context.js';
import { bumpNodeObjects } from '../../src/core/nodes/bump-node-objects.js';
import { createTestApp, createReseller, type TestApp } from '../support/test-app.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let t: TestApp;
let base: string;

beforeAll(async () => {
  t = await createTestApp();
  await t.app.server.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(t.app.server.server.address() as AddressInfo).port}`;
});
afterAll(() => t.close());

const system = () => ctxFor(t.app.deps, { kind: 'system' });

async function admin(method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${t.operatorKey}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, body: (await res.json()) as Json };
}

async function agent(method: string, path: string, token: string | undefined, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}/agent/v1${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as Json, headers: res.headers };
}

let seq = 0;
/** A node created through the admin API and enrolled through /agent/v1, as an operator and an agent would. */
async function enrolledNode(): Promise<{ id: number; name: string; token: string; enrolToken: string }> {
  const name = `agent-node-${++seq}`;
  const created = await admin('POST', '/admin/v1/nodes', { name, roles: ['web'] });
  expect(created.status).toBe(201);
  const enrolToken = created.body.token as string;
  const enrolled = await agent('POST', '/enrol', enrolToken);
  expect(enrolled.status).toBe(200);
  return { id: created.body.id as number, name, token: enrolled.body.token as string, enrolToken };
}

function spec(n: number, over: Partial<SiteSpec> = {}): SiteSpec {
  return { siteId: n, name: `site${n}`, domain: `d${n}.example.com`, aliases: [], status: 'active', suspendReason: null, php: false, ...over };
}

async function place(nodeId: number, n: number, over: Partial<SiteSpec> = {}) {
  return bumpNodeObjects(system(), nodeId, [{ kind: 'site', objectId: `site${n}`, clientId: null, state: 'present', spec: spec(n, over) }]);
}

describe('/agent/v1 enrol', () => {
  it('exchanges the one-time enrolment token for a node token, once', async () => {
    const created = await admin('POST', '/admin/v1/nodes', { name: 'enrol-once', roles: ['web', 'relay'] });
    const first = await agent('POST', '/enrol', created.body.token as string);
    expect(first.status).toBe(200);
    expect(first.body.node).toEqual({ id: created.body.id, name: 'enrol-once', roles: ['relay', 'web'] });
    expect(first.body.token).toMatch(/^hpn_/);
    const again = await agent('POST', '/enrol', created.body.token as string);
    expect(again.status).toBe(401);
    expect(again.body.error.code).toBe('unauthenticated');
    expect(again.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('refuses no token, an unknown token, and a node token used as an enrolment token', async () => {
    const n = await enrolledNode();
    for (const token of [undefined, 'hpe_not-a-real-token', n.token]) {
      const res = await agent('POST', '/enrol', token);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('unauthenticated');
    }
  });

  it('refuses an expired enrolment token', async () => {
    const created = await admin('POST', '/admin/v1/nodes', { name: 'enrol-expired', roles: ['web'] });
    t.setNow(new Date(Date.now() + 25 * 3600 * 1000));
    try {
      const res = await agent('POST', '/enrol', created.body.token as string);
      expect(res.status).toBe(401);
    } finally {
      t.setNow(new Date());
    }
  });
});

describe('/agent/v1/state', () => {
  it('answers the full state without since, only changes after since, and the node only sees its own objects', async () => {
    const a = await enrolledNode();
    const b = await enrolledNode();
    await place(a.id, 101);
    await place(b.id, 201);
    const v = await place(a.id, 102, { status: 'suspended', suspendReason: 'unpaid' });
    const full = await agent('GET', '/state', a.token);
    expect(full.status).toBe(200);
    const parsed = StateResponse.parse(full.body);
    expect(parsed.full).toBe(true);
    expect(parsed.version).toBe(v);
    expect(parsed.node).toEqual({ id: a.id, name: a.name, roles: ['web'] });
    expect(parsed.objects.map((o) => o.id)).toEqual(['site101', 'site102']);
    expect(parsed.settings).toEqual({ heartbeatIntervalSeconds: 10, usageIntervalSeconds: 60, archiveRetentionDays: 30 });
    const since = await agent('GET', `/state?since=${v - 1}`, a.token);
    expect(since.body.full).toBe(false);
    expect(since.body.objects.map((o: { id: string }) => o.id)).toEqual(['site102']);
    expect(since.body.objects[0].spec.suspendReason).toBe('unpaid');
    const other = await agent('GET', '/state', b.token);
    expect(other.body.objects.map((o: { id: string }) => o.id)).toEqual(['site201']);
  });

  it('a waiting request answers at once when the node is already past since', async () => {
    const a = await enrolledNode();
    const v = await place(a.id, 301);
    const res = await agent('GET', `/state?since=${v - 1}&wait=60`, a.token);
    expect(res.status).toBe(200);
    expect(res.body.version).toBe(v);
    expect(res.body.objects).toHaveLength(1);
  });

  it('a waiting request wakes on a change to its node and not on another node', async () => {
    const a = await enrolledNode();
    const b = await enrolledNode();
    const v = await place(a.id, 401);
    const waiting = agent('GET', `/state?since=${v}&wait=30`, a.token);
    let answered = false;
    void waiting.then(() => (answered = true));
    // Wait until the request is parked on the waiter, then change another node: it must stay parked.
    for (let i = 0; i < 500 && t.app.deps.nodeWaiter!.size === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(t.app.deps.nodeWaiter!.size).toBe(1);
    await place(b.id, 402);
    const stillParked = await Promise.race([waiting.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 300))]);
    expect(stillParked).toBe(true);
    expect(answered).toBe(false);
    const v2 = await place(a.id, 403);
    const res = await waiting;
    expect(res.status).toBe(200);
    expect(res.body.version).toBe(v2);
    expect(res.body.objects.map((o: { id: string }) => o.id)).toEqual(['site403']);
  });

  it('a change whose notification is lost is still found by the waiting request\'s re-check', async () => {
    const a = await enrolledNode();
    const v = await place(a.id, 450);
    const waiting = agent('GET', `/state?since=${v}&wait=30`, a.token);
    for (let i = 0; i < 500 && t.app.deps.nodeWaiter!.size === 0; i++) await new Promise((r) => setTimeout(r, 10));
    // Written by hand, without the core's notification: only the periodic re-check can see it.
    await t.app.dbHandle.db.updateTable('nodes').set({ version: v + 1 }).where('id', '=', a.id).execute();
    await t.app.dbHandle.db.updateTable('node_objects').set({ version: v + 1 }).where('node_id', '=', a.id).execute();
    const res = await waiting;
    expect(res.status).toBe(200);
    expect(res.body.version).toBe(v + 1);
    expect(res.body.objects.map((o: { id: string }) => o.id)).toEqual(['site450']);
  });

  it('a waiting request with no change answers at the same version with nothing', async () => {
    const a = await enrolledNode();
    const v = await place(a.id, 501);
    const res = await agent('GET', `/state?since=${v}&wait=1`, a.token);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ version: v, full: false, objects: [] });
  });

  it('refuses bad query values with 400 and a missing or wrong token with 401', async () => {
    const a = await enrolledNode();
    for (const q of ['since=-1', 'since=abc', 'wait=61&since=0', 'wait=x&since=0', 'since=1&since=2', 'bogus=1']) {
      const res = await agent('GET', `/state?${q}`, a.token);
      expect(res.status, q).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
    }
    expect((await agent('GET', '/state', undefined)).status).toBe(401);
    expect((await agent('GET', '/state', 'hpn_wrong')).status).toBe(401);
    expect((await agent('GET', '/state', a.enrolToken)).status).toBe(401);
  });
});

describe('/agent/v1/status', () => {
  it('records applied versions and errors, ignores other nodes\' objects, and forgets removed objects once applied', async () => {
    const a = await enrolledNode();
    const b = await enrolledNode();
    await place(a.id, 601);
    const v = await place(a.id, 602);
    await place(b.id, 603);
    const res = await agent('POST', '/status', a.token, {
      results: [
        { kind: 'site', id: 'site601', version: v - 1, ok: true },
        { kind: 'site', id: 'site602', version: v, ok: false, error: 'nginx refused it' },
        { kind: 'site', id: 'site603', version: 1, ok: true },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ accepted: 2, forgotten: 0 });
    const objects = await admin('GET', `/admin/v1/nodes/${a.id}/objects`);
    expect(objects.body.objects).toMatchObject([
      { id: 'site601', status: 'applied', applied_version: v - 1, error: null },
      { id: 'site602', status: 'failed', applied_version: null, error: 'nginx refused it' },
    ]);
    const bObjects = await admin('GET', `/admin/v1/nodes/${b.id}/objects`);
    expect(bObjects.body.objects).toMatchObject([{ id: 'site603', status: 'applying', applied_version: null }]);

    const gone = await bumpNodeObjects(system(), a.id, [{ kind: 'site', objectId: 'site601', clientId: null, state: 'absent', spec: null }]);
    const removed = await agent('POST', '/status', a.token, { results: [{ kind: 'site', id: 'site601', version: gone, ok: true }] });
    expect(removed.body).toEqual({ accepted: 1, forgotten: 1 });
    const after = await admin('GET', `/admin/v1/nodes/${a.id}/objects`);
    expect(after.body.objects.map((o: { id: string }) => o.id)).toEqual(['site602']);
  });

  it('refuses malformed and invalid bodies with 400, and an oversized one with 413', async () => {
    const a = await enrolledNode();
    expect((await agent('POST', '/status', a.token, '{not json')).status).toBe(400);
    const invalid = await agent('POST', '/status', a.token, { results: [{ kind: 'vm', id: 'x', version: -1, ok: 'yes' }] });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.code).toBe('validation_failed');
    const huge = JSON.stringify({ results: [{ kind: 'site', id: 'site1', version: 1, ok: false, error: 'x'.repeat(17 * 1024 * 1024) }] });
    const big = await agent('POST', '/status', a.token, huge);
    expect(big.status).toBe(413);
    expect((await agent('POST', '/status', undefined, { results: [] })).status).toBe(401);
  });
});

describe('/agent/v1/heartbeat', () => {
  const hb = { agentVersion: '0.1.0', capacity: { diskFreeBytes: 10, diskTotalBytes: 20, load1: 0.5, cpus: 2 }, drivers: { web: { ok: true } } };

  it('makes the node healthy and records capacity and agent version', async () => {
    const a = await enrolledNode();
    expect((await admin('GET', `/admin/v1/nodes/${a.id}`)).body.status).toBe('unhealthy');
    const res = await agent('POST', '/heartbeat', a.token, hb);
    expect(res.status).toBe(200);
    expect(res.body.settings).toEqual({ heartbeatIntervalSeconds: 10, usageIntervalSeconds: 60, archiveRetentionDays: 30 });
    const node = await admin('GET', `/admin/v1/nodes/${a.id}`);
    expect(node.body).toMatchObject({ status: 'healthy', agent_version: '0.1.0', capacity: hb.capacity, drivers: hb.drivers });
    expect(node.body.last_heartbeat_at).toEqual(expect.any(String));
  });

  it('refuses an invalid heartbeat with 400 and changes nothing', async () => {
    const a = await enrolledNode();
    const res = await agent('POST', '/heartbeat', a.token, { ...hb, capacity: { diskFreeBytes: -1 } });
    expect(res.status).toBe(400);
    expect((await admin('GET', `/admin/v1/nodes/${a.id}`)).body.last_heartbeat_at).toBeNull();
  });
});

describe('node tokens', () => {
  it('a revoked token is 401 at once; rotate keeps the old token until the new enrolment token is exchanged', async () => {
    const a = await enrolledNode();
    const rotated = await admin('POST', `/admin/v1/nodes/${a.id}/rotate-token`);
    expect(rotated.status).toBe(200);
    expect((await agent('GET', '/state', a.token)).status).toBe(200);
    const re = await agent('POST', '/enrol', rotated.body.token as string);
    expect(re.status).toBe(200);
    expect((await agent('GET', '/state', a.token)).status).toBe(401);
    expect((await agent('GET', '/state', re.body.token)).status).toBe(200);
    expect((await admin('POST', `/admin/v1/nodes/${a.id}/revoke-token`)).status).toBe(200);
    expect((await agent('GET', '/state', re.body.token)).status).toBe(401);
    expect((await agent('POST', '/heartbeat', re.body.token, {})).status).toBe(401);
  });

  it('node tokens cannot use the admin API, operator and reseller keys cannot use the agent API', async () => {
    const a = await enrolledNode();
    const asNode = await fetch(`${base}/admin/v1/nodes`, { headers: { authorization: `Bearer ${a.token}` } });
    expect(asNode.status).toBe(401);
    expect((await agent('GET', '/state', t.operatorKey)).status).toBe(401);
    const reseller = await createReseller(t);
    const res = await fetch(`${base}/agent/v1/state`, { headers: { authorization: reseller.auth } });
    expect(res.status).toBe(401);
    const resellerAdmin = await fetch(`${base}/admin/v1/nodes`, { headers: { authorization: reseller.auth } });
    expect(resellerAdmin.status).toBe(401);
  });

  it('an unknown /agent path answers in the agent error format', async () => {
    const res = await agent('GET', '/nothing-here', undefined);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });
});

describe('long-poll limits and shutdown', () => {
  it('a node may hold a few waiting requests at once; one more is 429 with Retry-After', async () => {
    const a = await enrolledNode();
    const v = await place(a.id, 701);
    const parked = [1, 2, 3, 4].map(() => agent('GET', `/state?since=${v}&wait=30`, a.token));
    for (let i = 0; i < 500 && t.app.deps.nodeWaiter!.size < 4; i++) await new Promise((r) => setTimeout(r, 10));
    const fifth = await agent('GET', `/state?since=${v}&wait=30`, a.token);
    expect(fifth.status).toBe(429);
    expect(fifth.body.error.code).toBe('rate_limited');
    expect(fifth.headers.get('retry-after')).toBe('5');
    // A request that does not wait is still served.
    expect((await agent('GET', `/state?since=${v}`, a.token)).status).toBe(200);
    const v2 = await place(a.id, 702);
    for (const res of await Promise.all(parked)) expect(res.body.version).toBe(v2);
  });
});

describe('server shutdown', () => {
  it('ends waiting requests at once with what there is, instead of holding the close for their wait', async () => {
    const own = await createTestApp();
    await own.app.server.listen({ port: 0, host: '127.0.0.1' });
    const ownBase = `http://127.0.0.1:${(own.app.server.server.address() as AddressInfo).port}`;
    const created = (await (await fetch(`${ownBase}/admin/v1/nodes`, { method: 'POST', headers: { authorization: `Bearer ${own.operatorKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'closing', roles: ['web'] }) })).json()) as Json;
    const token = ((await (await fetch(`${ownBase}/agent/v1/enrol`, { method: 'POST', headers: { authorization: `Bearer ${created.token as string}` } })).json()) as Json).token as string;
    const waiting = fetch(`${ownBase}/agent/v1/state?since=0&wait=60`, { headers: { authorization: `Bearer ${token}` } });
    for (let i = 0; i < 500 && own.app.deps.nodeWaiter!.size === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(own.app.deps.nodeWaiter!.size).toBe(1);
    const closing = own.close();
    const res = await waiting;
    expect(res.status).toBe(200);
    expect(((await res.json()) as Json).objects).toEqual([]);
    await closing;
    expect(own.app.deps.nodeWaiter!.size).toBe(0);
  });
});
