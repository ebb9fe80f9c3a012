import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rebuildAfterRestore } from '../../src/core/backups/backup.service.js';
import { ctxFor } from '../../src/core/context.js';
import { bumpNodeObjects } from '../../src/core/nodes/bump-node-objects.js';
import type { SiteSpec } from '../../src/core/nodes/agent-wire.schema.js';
import { createReseller, createTestApp, seedDemoCatalog, type TestApp } from '../support/test-app.js';

// What a restore does to the data plane (ADR 0026): agents that applied a newer, lost state get the
// restored one whole, and the control plane's own relay maps are rewritten from the restored domains.
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let t: TestApp;
let base: string;
beforeAll(async () => {
  t = await createTestApp();
  await seedDemoCatalog(t);
  await t.app.server.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(t.app.server.server.address() as AddressInfo).port}`;
});
afterAll(() => t.close());

const system = () => ctxFor(t.app.deps, { kind: 'system' });

async function call(method: string, path: string, auth: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${base}${path}`, { method, headers: { authorization: auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as Json };
}

const spec = (n: number): SiteSpec => ({ siteId: n, name: `site${n}`, domain: `r${n}.example.com`, aliases: [], status: 'active', suspendReason: null, php: false });

describe('rebuildAfterRestore', () => {
  it('moves every node past any version an agent saw; the agent then gets its whole state, marked full, and later changes come as changes again', async () => {
    const created = await call('POST', '/admin/v1/nodes', `Bearer ${t.operatorKey}`, { name: 'restore-node', roles: ['web'] });
    expect(created.status).toBe(201);
    const enrolled = await call('POST', '/agent/v1/enrol', `Bearer ${created.body.token}`);
    const node = `Bearer ${enrolled.body.token}`;
    const id = created.body.id as number;
    await bumpNodeObjects(system(), id, [{ kind: 'site', objectId: 'site1', clientId: null, state: 'present', spec: spec(1) }]);
    await bumpNodeObjects(system(), id, [{ kind: 'site', objectId: 'site2', clientId: null, state: 'present', spec: spec(2) }]);
    const v = await bumpNodeObjects(system(), id, [{ kind: 'site', objectId: 'site3', clientId: null, state: 'absent', spec: null }]);
    // Before: an agent at v-1 gets only the change after it.
    const before = await call('GET', `/agent/v1/state?since=${v - 1}`, node);
    expect(before.body).toMatchObject({ full: false, objects: [{ id: 'site3' }] });

    const restoredAt = Date.now();
    const r = await rebuildAfterRestore(system());
    expect(r.nodes).toBeGreaterThanOrEqual(1);

    // An agent of the lost database holds some version (above or below the restored one); both get everything.
    for (const since of [v - 1, v + 40]) {
      const after = await call('GET', `/agent/v1/state?since=${since}`, node);
      expect(after.status).toBe(200);
      expect(after.body.full).toBe(true);
      expect(after.body.version).toBeGreaterThanOrEqual(restoredAt);
      expect(after.body.objects.map((o: Json) => [o.id, o.state, o.version])).toEqual([
        ['site1', 'present', after.body.version],
        ['site2', 'present', after.body.version],
        ['site3', 'absent', after.body.version],
      ]);
    }
    const caughtUp = (await call('GET', '/agent/v1/state', node)).body.version as number;
    const next = await bumpNodeObjects(system(), id, [{ kind: 'site', objectId: 'site4', clientId: null, state: 'present', spec: spec(4) }]);
    expect(next).toBe(caughtUp + 1);
    const change = await call('GET', `/agent/v1/state?since=${caughtUp}`, node);
    expect(change.body).toMatchObject({ full: false, version: next, objects: [{ id: 'site4' }] });
  });

  it('without relay nodes, queues a relay job for every domain name the database knows', async () => {
    const reseller = await createReseller(t);
    const made = await call('POST', '/v1/clients', reseller.auth, { package_uid: 'spamstopshere-standard', user_count: 1, name: 'Restored', domains: [{ name: 'kept.example.com', mail_servers: ['mx.kept.example.com'] }, { name: 'gone.example.com' }] });
    expect(made.status).toBe(201);
    const known = await t.app.dbHandle.db.selectFrom('domains').select('name').distinct().execute();
    const before = await relayJobsFor(['kept.example.com', 'gone.example.com']);
    const r = await rebuildAfterRestore(system());
    // No relay node exists in this file (the other test's is a web node): the control plane relays.
    expect(r.relay_domains).toBe(known.length);
    const after = await relayJobsFor(['kept.example.com', 'gone.example.com']);
    expect(after - before).toBe(2);
  });
});

async function relayJobsFor(names: string[]): Promise<number> {
  const rows = await t.app.dbHandle.db.selectFrom('jobs').select('payload').where('kind', '=', 'relay.apply').execute();
  return rows.filter((r) => names.includes(String((r.payload as { domain?: unknown }).domain))).length;
}
