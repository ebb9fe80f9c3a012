import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '../../src/core/clients/client.schema.js';
import { createReseller, createTestApp, seedDemoCatalog, type ResellerFixture, type TestApp } from '../support/test-app.js';

let t: TestApp;
let admin: { authorization: string };
let alice: ResellerFixture;
let bob: ResellerFixture;
const stamp = Date.now().toString(36);
const made: Record<string, { id: number; domain: string }> = {};


async function hspCreate(reseller: ResellerFixture, key: string, name: string, email: string | null) {
  const domain = `${key}-${stamp}.test`;
  const res = await t.app.server.inject({
    method: 'POST',
    url: '/v1/clients',
    headers: { authorization: reseller.auth },
    payload: { package_uid: 'spamstopshere-standard', user_count: 2, name, email_address: email, domains: [{ name: domain, mail_servers: [`mx.${domain}`] }] },
  });
  expect(res.statusCode).toBe(201);
  made[key] = { id: res.json().id, domain };
}

beforeAll(async () => {
  t = await createTestApp();
  await seedDemoCatalog(t);
  admin = { authorization: `Bearer ${t.operatorKey}` };
  alice = await createReseller(t);
  bob = await createReseller(t);
  await hspCreate(alice, 'a1', `Alpha Widgets ${stamp}`, 'ops@alpha.example');
  await hspCreate(alice, 'a2', `Beta 100%_Sure ${stamp}`, null);
  await hspCreate(alice, 'a3', `Gamma ${stamp}`, 'gamma@example.org');
  await hspCreate(bob, 'b1', `Bob's Alpha ${stamp}`, 'bob@example.net');
  const cancel = await t.app.server.inject({ method: 'DELETE', url: `/v1/clients/${made.a3!.id}`, headers: { authorization: alice.auth } });
  expect(cancel.statusCode).toBe(200);
});
afterAll(() => t.close());

const list = async (query: string) => {
  const res = await t.app.server.inject({ method: 'GET', url: `/admin/v1/clients${query}`, headers: admin });
  return res;
};
const ids = (res: { json(): { clients: Client[] } }) => res.json().clients.map((c) => c.id);

describe('GET /admin/v1/clients', () => {
  it('lists clients of every reseller, cancelled ones included, in id order', async () => {
    const res = await list('');
    expect(res.statusCode).toBe(200);
    const body = res.json() as { clients: Client[]; next_after: number | null };
    expect(Object.keys(body).sort()).toEqual(['clients', 'next_after']);
    expect(body.next_after).toBeNull();
    expect(ids(res)).toEqual(expect.arrayContaining([made.a1!.id, made.a2!.id, made.a3!.id, made.b1!.id]));
    expect([...ids(res)].sort((a, b) => a - b)).toEqual(ids(res));
    const a1 = body.clients.find((c) => c.id === made.a1!.id)!;
    expect(a1).toEqual({
      id: made.a1!.id,
      reseller_id: alice.id,
      package_uid: 'spamstopshere-standard',
      name: `Alpha Widgets ${stamp}`,
      email_address: 'ops@alpha.example',
      user_count: 2,
      status: 'active',
      domains: [{ name: made.a1!.domain, status: 'initializing', mail_servers: [`mx.${made.a1!.domain}`] }],
      // No hosting node is registered here: the site is not placed.
      node: null,
    });
    expect(body.clients.find((c) => c.id === made.a3!.id)!.status).toBe('cancelled');
  });

  it('filters by reseller_id', async () => {
    expect(ids(await list(`?reseller_id=${alice.id}`)).sort()).toEqual([made.a1!.id, made.a2!.id, made.a3!.id].sort());
    expect(ids(await list(`?reseller_id=${bob.id}`))).toEqual([made.b1!.id]);
    expect(ids(await list('?reseller_id=999999999'))).toEqual([]);
  });

  it('filters by status', async () => {
    const cancelled = await list(`?status=cancelled&reseller_id=${alice.id}`);
    expect(ids(cancelled)).toEqual([made.a3!.id]);
    const active = await list(`?status=active&reseller_id=${alice.id}`);
    expect(ids(active).sort()).toEqual([made.a1!.id, made.a2!.id].sort());
  });

  it('q searches name, email and domain names, case-insensitively; LIKE wildcards are literal', async () => {
    expect(ids(await list(`?q=${encodeURIComponent(`alpha widgets ${stamp}`)}`))).toEqual([made.a1!.id]);
    expect(ids(await list('?q=OPS%40ALPHA.example'))).toEqual([made.a1!.id]);
    expect(ids(await list(`?q=${encodeURIComponent(made.b1!.domain.toUpperCase())}`))).toEqual([made.b1!.id]);
    expect(ids(await list(`?q=${encodeURIComponent(`alpha`)}&reseller_id=${bob.id}`))).toEqual([made.b1!.id]);
    expect(ids(await list(`?q=${encodeURIComponent('100%_Sure')}`))).toEqual([made.a2!.id]);
    expect(ids(await list(`?q=${encodeURIComponent('%')}&reseller_id=${alice.id}`))).toEqual([made.a2!.id]);
    expect(ids(await list(`?q=${encodeURIComponent('_')}&reseller_id=${bob.id}`))).toEqual([]);
    expect(ids(await list(`?q=nothing-matches-${stamp}`))).toEqual([]);
  });

  it('pages with limit and after; next_after is null on the last page', async () => {
    const all = ids(await list(`?reseller_id=${alice.id}`));
    expect(all).toHaveLength(3);
    const seen: number[] = [];
    let after: number | null | undefined;
    for (let page = 0; page < 5; page++) {
      const res = await list(`?reseller_id=${alice.id}&limit=2${after ? `&after=${after}` : ''}`);
      expect(res.statusCode).toBe(200);
      const body = res.json() as { clients: Client[]; next_after: number | null };
      expect(body.clients.length).toBeLessThanOrEqual(2);
      seen.push(...body.clients.map((c) => c.id));
      after = body.next_after;
      if (after === null) break;
      expect(after).toBe(body.clients[body.clients.length - 1]!.id);
    }
    expect(after).toBeNull();
    expect(seen).toEqual(all);
    const one = (await list(`?reseller_id=${alice.id}&limit=1`)).json();
    expect(one.clients).toHaveLength(1);
    expect(one.next_after).toBe(all[0]);
  });

  it.each([
    ['limit=0', 'limit', 'must be a whole number from 1 to 1000'],
    ['limit=1001', 'limit', 'must be a whole number from 1 to 1000'],
    ['limit=abc', 'limit', 'must be a whole number from 1 to 1000'],
    ['limit=-1', 'limit', 'must be a whole number from 1 to 1000'],
    ['limit=1.5', 'limit', 'must be a whole number from 1 to 1000'],
    ['limit=1&limit=2', 'limit', 'must be a whole number from 1 to 1000'],
    ['after=abc', 'after', 'must be a positive whole number'],
    ['after=-5', 'after', 'must be a positive whole number'],
    ['reseller_id=x', 'reseller_id', 'must be a positive whole number'],
    ['reseller_id=1&reseller_id=2', 'reseller_id', 'must be a positive whole number'],
    ['status=gone', 'status', 'must be active, suspended, cancelled or deleted'],
    ['status=active&status=cancelled', 'status', 'must be active, suspended, cancelled or deleted'],
  ])('%s → 422 naming the parameter', async (query, field, message) => {
    const res = await list(`?${query}`);
    expect(res.statusCode).toBe(422);
    expect(res.json()).toEqual({ error: { code: 'validation_failed', message: expect.any(String), fields: { [field]: [message] } } });
  });

  it('a repeated q → 422, not a server error', async () => {
    const res = await list('?q=a&q=b');
    expect(res.statusCode).toBe(422);
    expect(res.json().error.fields).toEqual({ q: ['must be given once'] });
  });

  it('a very long q is cut, not refused', async () => {
    const res = await list(`?q=${'z'.repeat(5000)}`);
    expect(res.statusCode).toBe(200);
    expect(res.json().clients).toEqual([]);
  });
});

describe('GET /admin/v1/clients/:id', () => {
  it('gets any client, cancelled ones too', async () => {
    for (const key of ['a1', 'a3', 'b1']) {
      const res = await t.app.server.inject({ method: 'GET', url: `/admin/v1/clients/${made[key]!.id}`, headers: admin });
      expect(res.statusCode).toBe(200);
      expect(res.json().id).toBe(made[key]!.id);
    }
    const cancelled = (await t.app.server.inject({ method: 'GET', url: `/admin/v1/clients/${made.a3!.id}`, headers: admin })).json();
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.domains).toEqual([]);
  });

  it('unknown or malformed id → 404', async () => {
    for (const id of ['999999999', 'abc', '0x10', '9'.repeat(20)]) {
      const res = await t.app.server.inject({ method: 'GET', url: `/admin/v1/clients/${id}`, headers: admin });
      expect(res.statusCode, id).toBe(404);
      expect(res.json()).toEqual({ error: { code: 'not_found', message: 'client not found' } });
    }
  });

  it('restore of a live client → 409; of an unknown one → 404', async () => {
    const live = await t.app.server.inject({ method: 'POST', url: `/admin/v1/clients/${made.a1!.id}/restore`, headers: admin });
    expect(live.statusCode).toBe(409);
    expect(live.json().error.code).toBe('invalid_state');
    expect((await t.app.server.inject({ method: 'POST', url: '/admin/v1/clients/999999999/restore', headers: admin })).statusCode).toBe(404);
  });
});

describe('clients: security', () => {
  it('no key, a wrong key, or reseller credentials → 401', async () => {
    for (const headers of [{}, { authorization: 'Bearer hpo_x' }, { authorization: `Bearer ${alice.api_key}` }, { authorization: alice.auth }]) {
      for (const [method, url] of [
        ['GET', '/admin/v1/clients'],
        ['GET', `/admin/v1/clients/${made.a1!.id}`],
        ['POST', `/admin/v1/clients/${made.a3!.id}/restore`],
      ] as const) {
        const res = await t.app.server.inject({ method, url, headers });
        expect(res.statusCode, `${method} ${url}`).toBe(401);
        expect(res.json()).toEqual({ error: { code: 'unauthenticated', message: expect.any(String) } });
      }
    }
    const cancelled = await t.app.server.inject({ method: 'GET', url: `/admin/v1/clients/${made.a3!.id}`, headers: admin });
    expect(cancelled.json().status).toBe('cancelled');
  });
});
