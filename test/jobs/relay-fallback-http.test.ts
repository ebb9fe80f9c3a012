import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRelayDriver } from '../../src/relay/create-relay-driver.js';
import { createReseller, createTestApp, seedDemoCatalog, type ResellerFixture, type TestApp } from '../support/test-app.js';
import { createRelayClient, uniqueDomain } from './relay-clients.js';

// The control plane's own relay is the http driver (docs/adr/0022): an endpoint that cannot be asked
// what it holds. A real HTTP relay runs here and keeps the domains it was told about, as a relay would;
// relay nodes come and go through the admin API. When the last one goes, the rebuild must leave the
// endpoint holding the live domains exactly: also removing the names that stopped being live while
// relay nodes held them, which the control plane noted as they went by.

interface Op {
  op: 'provision' | 'update' | 'deprovision';
  domain: string;
  mail_servers: string[];
}

/** What the relay endpoint holds, every request it received, and whether it answers with a failure now. */
const relay = { held: new Map<string, string[]>(), ops: [] as Op[], failing: false };
let server: http.Server;
let t: TestApp;
let alice: ResellerFixture;
const admin = () => ({ authorization: `Bearer ${t.operatorKey}` });

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (relay.failing) return void res.writeHead(503).end('relay busy');
      const op = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Op;
      relay.ops.push(op);
      if (op.op === 'deprovision') relay.held.delete(op.domain);
      else relay.held.set(op.domain, op.mail_servers);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/relay`;
  t = await createTestApp({}, { relayDriver: createRelayDriver({ driver: 'http', httpUrl: url, dataDir: os.tmpdir() }), jobRunner: { backoffBaseMs: 200, backoffMaxMs: 1000, leaseMs: 30_000 } });
  await seedDemoCatalog(t);
  alice = await createReseller(t);
});
afterAll(async () => {
  await t.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const domain = uniqueDomain;
const createClient = (domains: { name: string; mail_servers?: string[] }[]) => createRelayClient(t, alice, domains);

async function deleteClient(id: number): Promise<void> {
  expect((await t.app.server.inject({ method: 'DELETE', url: `/v1/clients/${id}`, headers: { authorization: alice.auth } })).statusCode).toBe(200);
}

async function relayNode(name: string): Promise<number> {
  const created = await t.app.server.inject({ method: 'POST', url: '/admin/v1/nodes', headers: admin(), payload: { name, roles: ['relay'] } });
  expect(created.statusCode, created.body).toBe(201);
  return created.json().id as number;
}

async function deleteNode(id: number): Promise<void> {
  const res = await t.app.server.inject({ method: 'DELETE', url: `/admin/v1/nodes/${id}`, headers: admin() });
  expect(res.statusCode, res.body).toBe(200);
}

/** The live domains, as the client API lists them to their reseller. */
async function liveNames(): Promise<string[]> {
  const rows = await t.app.deps.db
    .selectFrom('domains')
    .innerJoin('clients', 'clients.id', 'domains.client_id')
    .select('domains.name')
    .where('domains.released_at', 'is', null)
    .where('clients.status', 'in', ['active', 'suspended'])
    .execute();
  return rows.map((r) => r.name).sort();
}

const missed = async () => (await t.app.deps.db.selectFrom('relay_missed_names').select('name').orderBy('name').execute()).map((r) => r.name);

/** Runs the queue until `done` holds; retries come after a backoff of a fraction of a second. */
async function drainUntil(done: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    await t.app.jobs.drain();
    if (await done()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`not reached: ${what}`);
}

describe("the http relay after the last relay node goes", () => {
  it('holds the live domains exactly: names removed while relay nodes held them are deprovisioned, also across several relay nodes', async () => {
    const kept = domain('kept');
    const removed = domain('removed');
    const later = domain('later');
    await createClient([{ name: kept, mail_servers: ['mx.kept.example.net'] }]);
    const removedClient = await createClient([{ name: removed }]);
    const laterClient = await createClient([{ name: later }]);
    await t.app.jobs.drain();
    expect([...relay.held.keys()]).toEqual(expect.arrayContaining([kept, removed, later]));

    // r1 holds every domain; while it alone exists, one domain goes and another comes and goes.
    const r1 = await relayNode('http-r1');
    await deleteClient(removedClient);
    const transient = domain('transient');
    const transientClient = await createClient([{ name: transient }]);
    await deleteClient(transientClient);
    const added = domain('added');
    await createClient([{ name: added, mail_servers: ['mx.added.example.net'] }]);
    await t.app.jobs.drain();
    // The endpoint was told nothing meanwhile: relay nodes hold the domains.
    expect(relay.held.has(removed)).toBe(true);
    expect(relay.held.has(added)).toBe(false);
    expect(await missed()).toEqual([added, removed, transient].sort());

    // r2 comes, r1 goes (r2 still holds every live domain: no rebuild yet), then another domain goes.
    const r2 = await relayNode('http-r2');
    await deleteNode(r1);
    await deleteClient(laterClient);
    await t.app.jobs.drain();
    expect(relay.held.has(later)).toBe(true);

    // The last relay node goes: one rebuild, and the endpoint holds the live set exactly.
    relay.ops.length = 0;
    await deleteNode(r2);
    await t.app.jobs.drain();
    expect([...relay.held.keys()].sort()).toEqual(await liveNames());
    expect(relay.held.get(added)).toEqual(['mx.added.example.net']);
    for (const gone of [removed, later, transient]) expect(relay.ops).toContainEqual({ op: 'deprovision', domain: gone, mail_servers: [] });
    // Once applied, the noted names are forgotten: the next rebuild does not send them again.
    expect(await missed()).toEqual([]);
  });

  it('a rebuild the endpoint refuses keeps the noted names, and the retry removes them', async () => {
    const gone = domain('gone');
    const client = await createClient([{ name: gone }]);
    await t.app.jobs.drain();
    expect(relay.held.has(gone)).toBe(true);
    const r = await relayNode('http-r3');
    await deleteClient(client);
    await t.app.jobs.drain();
    relay.failing = true;
    await deleteNode(r);
    await t.app.jobs.drain();
    expect(relay.held.has(gone)).toBe(true);
    expect(await missed()).toEqual([gone]);
    relay.failing = false;
    await drainUntil(() => !relay.held.has(gone), 'the retried rebuild removes the name');
    expect([...relay.held.keys()].sort()).toEqual(await liveNames());
    expect(await missed()).toEqual([]);
  });

  it('no relay node: removals go straight to the endpoint and nothing is noted', async () => {
    const direct = domain('direct');
    const client = await createClient([{ name: direct }]);
    await t.app.jobs.drain();
    await deleteClient(client);
    await t.app.jobs.drain();
    expect(relay.held.has(direct)).toBe(false);
    expect(await missed()).toEqual([]);
  });
});
