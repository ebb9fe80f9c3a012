import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hspFixture } from '../support/fixtures.js';
import { expectSameShape } from '../support/shape.js';
import { createReseller, createTestApp, seedDemoCatalog, type ResellerFixture, type TestApp } from '../support/test-app.js';

let t: TestApp;
let alice: ResellerFixture;
let admin: { authorization: string };

interface HspFeature {
  id: number;
  name: string;
  blurb: string;
  description: string;
  position: number;
}
interface HspPackage {
  id: number;
  uid: string;
  name: string;
  description: string;
  position: number;
  free_trial: number;
  features: HspFeature[];
  added_features: HspFeature[];
  reseller_cost: { domain_cents: number; domain_formatted: string; mailbox_cents: number; mailbox_formatted: string };
}

beforeAll(async () => {
  t = await createTestApp();
  await seedDemoCatalog(t);
  alice = await createReseller(t);
  admin = { authorization: `Bearer ${t.operatorKey}` };
});
afterAll(() => t.close());

const byTag = (tag: string, auth: string | null = alice.auth) => t.app.server.inject({ method: 'GET', url: `/v1/packages/by_tag/${tag}`, headers: auth ? { authorization: auth } : {} });

async function adminPost(url: string, payload: object) {
  const res = await t.app.server.inject({ method: 'POST', url, headers: admin, payload });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

describe('GET /v1/packages/by_tag/:tag', () => {
  it('answers the demo catalog in the seed fixture shape', async () => {
    const res = await byTag('cpanel');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    const list = res.json() as HspPackage[];
    expectSameShape(list, hspFixture('packages-by-tag'));
    expect(list.map((p) => p.uid)).toEqual(['spamstopshere-standard', 'spamstopshere-professional', 'spamstopshere-enterprise']);
    const standard = list[0]!;
    expect(standard).toMatchObject({ name: 'Standard', description: '', position: 1, free_trial: 30 });
    expect(standard.reseller_cost).toEqual({ domain_cents: 50, domain_formatted: '$0.50', mailbox_cents: 100, mailbox_formatted: '$1.00' });
    expect(list[2]!.reseller_cost).toEqual({ domain_cents: 125, domain_formatted: '$1.25', mailbox_cents: 250, mailbox_formatted: '$2.50' });
    // Internal feature codes stay internal: features have exactly the seed's keys.
    for (const p of list) for (const f of [...p.features, ...p.added_features]) expect(Object.keys(f).sort()).toEqual(['blurb', 'description', 'id', 'name', 'position']);
  });

  it('added_features: all features of the first package, then those the previous package lacks', async () => {
    const list = (await byTag('cpanel')).json() as HspPackage[];
    const names = (fs: HspFeature[]) => fs.map((f) => f.name);
    expect(list[0]!.added_features).toEqual(list[0]!.features);
    expect(names(list[1]!.added_features)).toEqual(['Anti-Virus Scanning', 'Mail Spooling (up to 7 days)', 'Multiple Mail Servers']);
    expect(names(list[2]!.added_features)).toEqual(['Email Archiving']);
    for (let i = 1; i < list.length; i++) {
      const previous = new Set(list[i - 1]!.features.map((f) => f.id));
      expect(list[i]!.added_features).toEqual(list[i]!.features.filter((f) => !previous.has(f.id)));
    }
  });

  it('features are ordered by position', async () => {
    for (const p of (await byTag('cpanel')).json() as HspPackage[]) {
      const positions = p.features.map((f) => f.position);
      expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    }
  });

  it('orders packages by position, not by creation; compares each with the one before it', async () => {
    const tag = `order-${Date.now().toString(36)}`;
    const a = await adminPost('/admin/v1/features', { name: 'Feature A', position: 1 });
    const b = await adminPost('/admin/v1/features', { name: 'Feature B', blurb: 'bee', position: 2 });
    const c = await adminPost('/admin/v1/features', { name: 'Feature C', position: 3 });
    await adminPost('/admin/v1/packages', { uid: `${tag}-third`, name: 'Third', position: 30, tags: [tag], features: [a.id, c.id], domain_cost_cents: 1, mailbox_cost_cents: 1999 });
    await adminPost('/admin/v1/packages', { uid: `${tag}-first`, name: 'First', position: 10, tags: [tag], features: [a.id], description: 'entry level', free_trial: 7 });
    await adminPost('/admin/v1/packages', { uid: `${tag}-second`, name: 'Second', position: 20, tags: [tag, 'other'], features: [a.id, b.id] });
    await adminPost('/admin/v1/packages', { uid: `${tag}-elsewhere`, name: 'Elsewhere', position: 15, tags: ['not-this-one'], features: [b.id] });

    const list = (await byTag(tag)).json() as HspPackage[];
    expectSameShape(list, hspFixture('packages-by-tag'));
    expect(list.map((p) => p.name)).toEqual(['First', 'Second', 'Third']);
    expect(list.map((p) => p.position)).toEqual([10, 20, 30]);
    expect(list.map((p) => p.added_features.map((f) => f.id))).toEqual([[a.id], [b.id], [c.id]]);
    expect(list[0]).toMatchObject({ description: 'entry level', free_trial: 7 });
    expect(list[1]!.features[1]).toEqual({ id: b.id, name: 'Feature B', blurb: 'bee', description: '', position: 2 });
    expect(list[2]!.reseller_cost).toEqual({ domain_cents: 1, domain_formatted: '$0.01', mailbox_cents: 1999, mailbox_formatted: '$19.99' });
    expect(list[0]!.reseller_cost).toEqual({ domain_cents: 0, domain_formatted: '$0.00', mailbox_cents: 0, mailbox_formatted: '$0.00' });
  });

  it('a package edit shows up at once (position moves it)', async () => {
    const tag = `move-${Date.now().toString(36)}`;
    await adminPost('/admin/v1/packages', { uid: `${tag}-a`, name: 'A', position: 1, tags: [tag] });
    await adminPost('/admin/v1/packages', { uid: `${tag}-b`, name: 'B', position: 2, tags: [tag] });
    const res = await t.app.server.inject({ method: 'PATCH', url: `/admin/v1/packages/${tag}-a`, headers: admin, payload: { position: 3 } });
    expect(res.statusCode).toBe(200);
    expect(((await byTag(tag)).json() as HspPackage[]).map((p) => p.name)).toEqual(['B', 'A']);
  });

  it('tags match case-insensitively', async () => {
    expect((await byTag('CPanel')).json()).toEqual((await byTag('cpanel')).json());
  });

  it('an unknown tag → [] (200)', async () => {
    for (const tag of ['no-such-tag', 'cpane', '%25', encodeURIComponent("x' or 1=1 --"), 'a'.repeat(300)]) {
      const res = await byTag(tag);
      expect(res.statusCode, tag).toBe(200);
      expect(res.json()).toEqual([]);
    }
  });
});

describe('packages: security', () => {
  it('requires credentials: none or bad → 401', async () => {
    for (const auth of [null, `Basic ${Buffer.from(`${alice.api_token}:bad`).toString('base64')}`, `Bearer ${t.operatorKey}`, 'Basic Og==']) {
      const res = await byTag('cpanel', auth);
      expect(res.statusCode, String(auth)).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Basic/);
      expect(res.json()).toEqual({ errors: { base: [expect.any(String)] } });
    }
  });

  it('a suspended reseller → 403', async () => {
    const carol = await createReseller(t);
    await t.app.server.inject({ method: 'POST', url: `/admin/v1/resellers/${carol.id}/suspend`, headers: admin });
    expect((await byTag('cpanel', carol.auth)).statusCode).toBe(403);
  });
});
