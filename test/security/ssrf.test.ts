import { lookup } from 'node:dns/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embeddedIpv4, isPrivateAddress } from '../../src/core/webhooks/webhook-target.js';
import type { RelayDriver } from '../../src/relay/relay-driver.js';
import { createReseller, createTestApp, seedDemoCatalog, type ResellerFixture, type TestApp } from '../support/test-app.js';
import { startReceiver, type Receiver } from '../webhooks/receiver.js';

// Webhook targets an attacker would try to steer the server at itself or its network with: IPv6
// forms that carry an IPv4 address, IPv4 spelled as one number, in hex or octal, and host names that
// resolve (or later re-resolve) to a private address. The tests' DNS is a table consulted first; a
// name not in it goes to the system resolver.
const relay: RelayDriver = { name: 'noop', apply: async () => {}, provisionDomain: async () => {}, updateDomain: async () => {}, deprovisionDomain: async () => {} };

function fakeDns(): { table: Map<string, string[]>; resolve: (host: string) => Promise<{ address: string; family: 4 | 6 }[]> } {
  const table = new Map<string, string[]>();
  return {
    table,
    resolve: async (host) => {
      const known = table.get(host);
      if (known) return known.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
      return (await lookup(host, { all: true, verbatim: true })).map((a) => ({ address: a.address, family: a.family as 4 | 6 }));
    },
  };
}

let n = 0;
async function createClient(t: TestApp, r: ResellerFixture): Promise<void> {
  const res = await t.app.server.inject({
    method: 'POST',
    url: '/v1/clients',
    headers: { authorization: r.auth },
    payload: { package_uid: 'spamstopshere-professional', user_count: 1, domains: [{ name: `ssrf-${Date.now().toString(36)}-${n++}.test` }] },
  });
  expect(res.statusCode, res.body).toBe(201);
}

interface Delivery {
  id: number;
  status: string;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
}
async function deliveries(t: TestApp, r: ResellerFixture, endpointId: number): Promise<Delivery[]> {
  const res = await t.app.server.inject({ method: 'GET', url: `/v1/webhooks/${endpointId}/deliveries`, headers: { authorization: r.auth } });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as Delivery[];
}

describe('address classification of every form', () => {
  it('IPv6 forms carrying a private IPv4 address are private, with the right address decoded', () => {
    const cases: [string, string[]][] = [
      ['2002:7f00:1::', ['127.0.0.1']], // 6to4 of 127.0.0.1
      ['2002:a00:1::1', ['10.0.0.1']],
      ['2002:a9fe:a9fe::', ['169.254.169.254']],
      ['2001:0:4136:e378:8000:63bf:80ff:fffe', ['65.54.227.120', '127.0.0.1']], // Teredo: client bits inverted
      ['2001::f5ff:fffe', ['0.0.0.0', '10.0.0.1']],
      ['64:ff9b::7f00:1', ['127.0.0.1']], // NAT64
      ['64:ff9b::192.168.0.1', ['192.168.0.1']],
      ['::ffff:127.0.0.1', ['127.0.0.1']], // IPv4-mapped
      ['::ffff:a9fe:a9fe', ['169.254.169.254']],
      ['::ffff:0:7f00:1', ['127.0.0.1']], // IPv4-translated
      ['::127.0.0.1', ['127.0.0.1']], // IPv4-compatible
      ['0:0:0:0:0:ffff:7f00:0001', ['127.0.0.1']], // zero-padded
    ];
    for (const [address, v4] of cases) {
      expect(embeddedIpv4(address), address).toEqual(v4);
      expect(isPrivateAddress(address), address).toBe(true);
    }
  });

  it('other private, local-use and special addresses are private', () => {
    for (const a of ['64:ff9b:1::808:808', '2001:db8::1', '100::1', 'fe80::1%eth0', 'fe80::1%25eth0', 'FE80::1', 'fd12:3456::1', '::', '::1', '0.0.0.0', '127.255.255.254', '192.0.2.1', 'not-an-address']) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
  });

  it('public addresses, including transition forms of public IPv4 addresses, are not', () => {
    for (const a of ['93.184.216.34', '2606:4700:4700::1111', '2002:5db8:d822::1', '64:ff9b::808:808', '::ffff:8.8.8.8', '2001:0:4136:e378:8000:63bf:a247:27dd']) {
      expect(isPrivateAddress(a), a).toBe(false);
    }
  });
});

describe('webhook targets without HOSTPLANE_WEBHOOK_ALLOW_PRIVATE', () => {
  let t: TestApp;
  let reseller: ResellerFixture;
  let receiver: Receiver;
  const dns = fakeDns();
  beforeAll(async () => {
    t = await createTestApp({}, { relayDriver: relay, webhookResolveHost: dns.resolve });
    receiver = await startReceiver();
    await seedDemoCatalog(t);
    reseller = await createReseller(t);
    dns.table.set('internal.test', ['10.0.0.7']);
    dns.table.set('mixed.test', ['93.184.216.34', '127.0.0.1']);
    dns.table.set('six-to-four.test', ['2002:7f00:1::']);
    dns.table.set('metadata.test', ['64:ff9b::a9fe:a9fe']);
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  const hsp = (url: string) => t.app.server.inject({ method: 'POST', url: '/v1/webhooks', headers: { authorization: reseller.auth }, payload: { url, event_types: ['client.created'] } });
  const admin = (url: string) => t.app.server.inject({ method: 'POST', url: '/admin/v1/webhooks', headers: { authorization: `Bearer ${t.operatorKey}` }, payload: { url, event_types: ['client.created'] } });
  const endpointCount = async () => {
    const [mine, all] = await Promise.all([
      t.app.server.inject({ method: 'GET', url: '/v1/webhooks', headers: { authorization: reseller.auth } }),
      t.app.server.inject({ method: 'GET', url: '/admin/v1/webhooks', headers: { authorization: `Bearer ${t.operatorKey}` } }),
    ]);
    return JSON.stringify([mine.json(), all.json()]);
  };

  const privateTargets = [
    'http://[2002:7f00:1::]/', // 6to4 of 127.0.0.1
    'http://[2002:a9fe:a9fe::1]/latest/meta-data/',
    'http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/', // Teredo, client 127.0.0.1
    'http://[2001::f5ff:fffe]/', // Teredo, client 10.0.0.1
    'http://[64:ff9b::7f00:1]/', // NAT64
    'http://[64:ff9b::169.254.169.254]/',
    'http://[64:ff9b:1::808:808]/', // local-use NAT64
    'http://[::ffff:127.0.0.1]/', // IPv4-mapped
    'http://[::ffff:7f00:1]:8080/',
    'http://[::ffff:0:7f00:1]/', // IPv4-translated
    'http://[::127.0.0.1]/', // IPv4-compatible
    'http://[0:0:0:0:0:ffff:7f00:0001]/', // zero-padded hextets
    'http://2130706433/', // 127.0.0.1 as one decimal number
    'http://0x7f000001/', // as one hex number
    'http://0x7f.1/', // hex, short form
    'http://0177.0.0.1/', // octal
    'http://017700000001/',
    'http://127.000.000.001/', // zero-padded octets
    'http://127.1/',
    'http://0/',
    'http://[fe80::1]/',
    'http://LOCALHOST/',
    'http://internal.test/', // names whose DNS answer is private
    'http://mixed.test/',
    'http://six-to-four.test/',
    'http://metadata.test/',
  ];

  it.each(privateTargets)('refuses %s at both doors with the door\'s 422, creating nothing', async (url) => {
    const before = await endpointCount();
    const r1 = await hsp(url);
    expect(r1.statusCode, r1.body).toBe(422);
    expect(r1.json().errors.url[0]).toMatch(/must not point at a loopback, private or link-local address/);
    const r2 = await admin(url);
    expect(r2.statusCode, r2.body).toBe(422);
    expect(r2.json().error.fields.url[0]).toMatch(/must not point at a loopback, private or link-local address/);
    expect(await endpointCount()).toBe(before);
  });

  it.each(['http://[fe80::1%25eth0]/', 'http://[fe80::1%eth0]/', 'http://[::1%251]/', 'http://localhost./'])('refuses %s (not a URL, or a name that is private or does not resolve)', async (url) => {
    const r1 = await hsp(url);
    expect(r1.statusCode, r1.body).toBe(422);
    expect(r1.json().errors.url[0]).toMatch(/http or https URL|private|could not be resolved/);
    const r2 = await admin(url);
    expect(r2.statusCode, r2.body).toBe(422);
  });

  it('accepts transition forms that lead to a public address', async () => {
    for (const url of ['http://[2002:5db8:d822::1]/hook', 'http://[64:ff9b::808:808]/hook']) {
      const res = await hsp(url);
      expect(res.statusCode, res.body).toBe(201);
      const del = await t.app.server.inject({ method: 'DELETE', url: `/v1/webhooks/${res.json().id}`, headers: { authorization: reseller.auth } });
      expect(del.statusCode, del.body).toBe(200);
    }
  });

  it('a name that re-resolves to a private address after registration is not delivered; the delivery fails with the reason', async () => {
    const port = new URL(receiver.url).port;
    dns.table.set('rebind.test', ['93.184.216.34']);
    const reg = await hsp(`http://rebind.test:${port}/hook`);
    expect(reg.statusCode, reg.body).toBe(201);
    // Rebinding: the same name now answers with the loopback address the receiver listens on.
    dns.table.set('rebind.test', ['127.0.0.1']);
    const mark = receiver.received.length;
    await createClient(t, reseller);
    await t.app.jobs.drain();
    const [d] = await deliveries(t, reseller, reg.json().id);
    expect(d).toMatchObject({ status: 'failed', attempts: 1, last_status_code: null });
    expect(d!.last_error).toMatch(/^refused: must not point at a loopback, private or link-local address \(rebind\.test is 127\.0\.0\.1\)$/);
    expect(receiver.received.slice(mark)).toEqual([]);
  });

  it('localhost, resolved by the system at delivery time, is not delivered', async () => {
    const port = new URL(receiver.url).port;
    // Registered while the table pretends localhost is public; delivery asks the system resolver.
    dns.table.set('localhost', ['93.184.216.34']);
    const reg = await hsp(`http://localhost:${port}/hook`);
    expect(reg.statusCode, reg.body).toBe(201);
    dns.table.delete('localhost');
    const mark = receiver.received.length;
    await createClient(t, reseller);
    await t.app.jobs.drain();
    const [d] = await deliveries(t, reseller, reg.json().id);
    expect(d).toMatchObject({ status: 'failed', attempts: 1 });
    expect(d!.last_error).toMatch(/^refused: must not point at a loopback, private or link-local address \(localhost is (127\.0\.0\.1|::1)\)$/);
    expect(receiver.received.slice(mark)).toEqual([]);
  });

  it('a name that stops resolving is retried later, not failed for good', async () => {
    dns.table.set('flaky.test', ['93.184.216.34']);
    const reg = await hsp('http://flaky.test/hook');
    expect(reg.statusCode, reg.body).toBe(201);
    dns.table.set('flaky.test', []);
    await createClient(t, reseller);
    await t.app.jobs.drain();
    const [d] = await deliveries(t, reseller, reg.json().id);
    expect(d).toMatchObject({ status: 'pending', attempts: 1, last_error: 'host flaky.test could not be resolved' });
    const del = await t.app.server.inject({ method: 'DELETE', url: `/v1/webhooks/${reg.json().id}`, headers: { authorization: reseller.auth } });
    expect(del.statusCode).toBe(200);
  });
});

describe('webhook delivery with HOSTPLANE_WEBHOOK_ALLOW_PRIVATE (tests and private setups)', () => {
  let t: TestApp;
  let reseller: ResellerFixture;
  let receiver: Receiver;
  const dns = fakeDns();
  beforeAll(async () => {
    t = await createTestApp({ HOSTPLANE_WEBHOOK_ALLOW_PRIVATE: 'true' }, { relayDriver: relay, webhookResolveHost: dns.resolve });
    receiver = await startReceiver();
    await seedDemoCatalog(t);
    reseller = await createReseller(t);
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  it('connects to the address the check resolved, under the URL\'s host name', async () => {
    // receiver-name.test exists only in the tests' table: reaching the receiver proves the socket went
    // to the checked address and nobody resolved the name a second time.
    dns.table.set('receiver-name.test', ['127.0.0.1']);
    const port = new URL(receiver.url).port;
    const reg = await t.app.server.inject({ method: 'POST', url: '/v1/webhooks', headers: { authorization: reseller.auth }, payload: { url: `http://receiver-name.test:${port}/pinned`, event_types: ['client.created'] } });
    expect(reg.statusCode, reg.body).toBe(201);
    const mark = receiver.received.length;
    await createClient(t, reseller);
    await t.app.jobs.drain();
    const got = receiver.received.slice(mark);
    expect(got).toHaveLength(1);
    expect(got[0]!.path).toBe('/pinned');
    expect(got[0]!.headers.host).toBe(`receiver-name.test:${port}`);
    const [d] = await deliveries(t, reseller, reg.json().id);
    expect(d).toMatchObject({ status: 'delivered', last_status_code: 200 });
  });
});
