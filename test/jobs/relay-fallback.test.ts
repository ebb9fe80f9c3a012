import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRelayDriver } from '../../src/relay/create-relay-driver.js';
import { createReseller, createTestApp, seedDemoCatalog, type ResellerFixture, type TestApp } from '../support/test-app.js';
import { createRelayClient, uniqueDomain } from './relay-clients.js';

// A deployment moving between the control plane's own relay (no relay node: the one-machine default)
// and relay nodes, both ways. The control plane's maps are the real postfix-maps driver's files in a
// temp dir; relay nodes are registered through the admin API and read their objects over /agent/v1.

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostplane-relay-fallback-'));
let t: TestApp;
let alice: ResellerFixture;
const admin = () => ({ authorization: `Bearer ${t.operatorKey}` });

beforeAll(async () => {
  t = await createTestApp({}, { relayDriver: createRelayDriver({ driver: 'postfix-maps', dataDir: dir }), jobRunner: { backoffBaseMs: 1000, backoffMaxMs: 60_000, leaseMs: 30_000 } });
  await seedDemoCatalog(t);
  alice = await createReseller(t);
});
afterAll(async () => {
  await t.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const maps = () => ({
  domains: fs.readFileSync(path.join(dir, 'relay', 'relay_domains'), 'utf8'),
  transport: fs.readFileSync(path.join(dir, 'relay', 'transport'), 'utf8'),
});
const status = async (name: string) => (await t.app.server.inject({ method: 'GET', url: `/v1/domains/${name}/status`, headers: { authorization: alice.auth } })).json().status as string;
const domain = uniqueDomain;
const createClient = (domains: { name: string; mail_servers?: string[] }[]) => createRelayClient(t, alice, domains);

/** A relay node registered and enrolled; returns what its agent would fetch. */
async function relayNode(name: string): Promise<{ id: number; objects: () => Promise<{ id: string; state: string; spec: { mailServers?: string[] } }[]> }> {
  const created = await t.app.server.inject({ method: 'POST', url: '/admin/v1/nodes', headers: admin(), payload: { name, roles: ['relay'] } });
  expect(created.statusCode, created.body).toBe(201);
  const enrol = await t.app.server.inject({ method: 'POST', url: '/agent/v1/enrol', headers: { authorization: `Bearer ${created.json().token as string}` } });
  expect(enrol.statusCode, enrol.body).toBe(200);
  const token = enrol.json().token as string;
  return {
    id: created.json().id as number,
    objects: async () => (await t.app.server.inject({ method: 'GET', url: '/agent/v1/state', headers: { authorization: `Bearer ${token}` } })).json().objects,
  };
}

describe('moving between the control plane\'s relay and relay nodes', () => {
  it('the first relay node gets every domain; when the last goes, the control plane\'s maps are rebuilt from the full set; the next relay node gets every domain again', async () => {
    const kept = domain('kept');
    const moved = domain('moved');
    const removed = domain('removed');
    await createClient([{ name: kept, mail_servers: ['mx.kept.example.net'] }, { name: moved, mail_servers: ['old.moved.example.net'] }]);
    const removedClient = await createClient([{ name: removed }]);
    await t.app.jobs.drain();
    expect(maps().domains).toContain(kept);
    expect(maps().domains).toContain(removed);

    // The first relay node: it holds every live domain from the start, and the control plane's maps stand still.
    const r1 = await relayNode('fallback-r1');
    const held = await r1.objects();
    expect(held.filter((o) => o.state === 'present').map((o) => o.id).sort()).toEqual([kept, moved, removed].sort());
    const before = maps();

    // While it exists: a domain added, one removed, one whose mail servers change.
    const added = domain('added');
    await createClient([{ name: added, mail_servers: ['mx.added.example.net'] }]);
    expect((await t.app.server.inject({ method: 'PUT', url: `/v1/domains/${moved}`, headers: { authorization: alice.auth }, payload: { mail_servers: ['new.moved.example.net'] } })).statusCode).toBe(200);
    expect((await t.app.server.inject({ method: 'DELETE', url: `/v1/clients/${removedClient}`, headers: { authorization: alice.auth } })).statusCode).toBe(200);
    await t.app.jobs.drain();
    expect(maps()).toEqual(before);
    expect(await status(added)).toBe('initializing');

    // The last relay node deleted: one rebuild, and the maps are the live set exactly.
    expect((await t.app.server.inject({ method: 'DELETE', url: `/admin/v1/nodes/${r1.id}`, headers: admin() })).statusCode).toBe(200);
    await t.app.jobs.drain();
    const after = maps();
    expect(after.domains).toContain(`${added}  OK`);
    expect(after.domains).toContain(`${kept}  OK`);
    expect(after.domains).not.toContain(removed);
    expect(after.transport).toContain(`${moved}  smtp:[new.moved.example.net]`);
    expect(after.transport).not.toContain('old.moved.example.net');
    expect(after.transport).toContain(`${added}  smtp:[mx.added.example.net]`);
    expect(await status(added)).toBe('ready');

    // A relay node enrolled again starts with every live domain, and the removed one is not among them.
    const r2 = await relayNode('fallback-r2');
    const again = (await r2.objects()).filter((o) => o.state === 'present');
    expect(again.map((o) => o.id)).toEqual(expect.arrayContaining([kept, moved, added]));
    expect(again.map((o) => o.id)).not.toContain(removed);
    expect(again.find((o) => o.id === moved)!.spec.mailServers).toEqual(['new.moved.example.net']);
    expect((await t.app.server.inject({ method: 'DELETE', url: `/admin/v1/nodes/${r2.id}`, headers: admin() })).statusCode).toBe(200);
    await t.app.jobs.drain();
  });

  it('a map line the control plane holds for no live domain (left from before) is removed by the rebuild', async () => {
    const live = domain('live');
    await createClient([{ name: live }]);
    await t.app.jobs.drain();
    // A name in the maps that no domain row has any more (e.g. maps restored from an older backup).
    const stray = domain('stray');
    const driver = createRelayDriver({ driver: 'postfix-maps', dataDir: dir });
    await driver.provisionDomain({ name: stray, mailServers: [] });
    expect(maps().domains).toContain(stray);
    const r = await relayNode('fallback-r3');
    expect((await t.app.server.inject({ method: 'DELETE', url: `/admin/v1/nodes/${r.id}`, headers: admin() })).statusCode).toBe(200);
    await t.app.jobs.drain();
    expect(maps().domains).not.toContain(stray);
    expect(maps().domains).toContain(live);
  });

  it('deleting a node that is not there changes nothing and queues nothing', async () => {
    const jobs = async () => Number((await t.app.deps.db.selectFrom('jobs').select((eb) => eb.fn.countAll<number>().as('n')).where('kind', '=', 'relay.apply').executeTakeFirstOrThrow()).n);
    const queued = await jobs();
    const res = await t.app.server.inject({ method: 'DELETE', url: '/admin/v1/nodes/999999', headers: admin() });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('not_found');
    expect(await jobs()).toBe(queued);
  });
});
