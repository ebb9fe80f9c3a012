import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReseller, createTestApp, seedDemoCatalog, type ResellerFixture, type TestApp } from '../support/test-app.js';
import { hspFixture } from '../support/fixtures.js';
import { expectSameShape } from '../support/shape.js';

let t: TestApp;
let alice: ResellerFixture;
let bob: ResellerFixture;

beforeAll(async () => {
  t = await createTestApp();
  await seedDemoCatalog(t);
  alice = await createReseller(t);
  bob = await createReseller(t);
});
afterAll(() => t.close());

const call = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, auth: string | undefined, payload?: unknown) =>
  t.app.server.inject({ method, url, headers: auth ? { authorization: auth } : {}, ...(payload !== undefined ? { payload: payload as object } : {}) });

let n = 0;
const uniqueDomain = () => `customer-${Date.now().toString(36)}-${n++}.test`;

function clientBody(domain = uniqueDomain(), extra: Record<string, unknown> = {}) {
  return {
    package_uid: 'spamstopshere-standard',
    user_count: 1,
    email_address: 'phil@greenviewdata.com',
    name: 'Test Customer',
    domains: [{ name: domain, mail_servers: [`mail.${domain}`] }],
    ...extra,
  };
}

describe('clients: happy paths', () => {
  it('creates a client from the seed example and answers 201 in the documented shape', async () => {
    const body = hspFixture<Record<string, unknown>>('create-client-request');
    const res = await call('POST', '/v1/clients', alice.auth, body);
    expect(res.statusCode).toBe(201);
    const client = res.json();
    expectSameShape(client, hspFixture('get-client'));
    expect(client).toMatchObject({
      package_uid: 'spamstopshere-standard',
      user_count: 1,
      email_address: 'phil@greenviewdata.com',
      name: 'Test Customer',
      domains: [
        {
          name: 'customer-domain.test',
          mx_records: [
            { priority: 10, hostname: 'customer-domain-test.relay1g.spamh.com.' },
            { priority: 20, hostname: 'customer-domain-test.relay1h.spamh.com.' },
          ],
          mail_servers: ['mail.customer-domain.test'],
        },
      ],
    });

    const byId = await call('GET', `/v1/clients/${client.id}`, alice.auth);
    expect(byId.statusCode).toBe(200);
    expect(byId.json()).toEqual(client);
    const byDomain = await call('GET', '/v1/domains/customer-domain.test/client', alice.auth);
    expect(byDomain.json()).toEqual(client);
  });

  it('lists only live clients of the reseller, as a bare array in the documented shape', async () => {
    const created = (await call('POST', '/v1/clients', alice.auth, clientBody())).json();
    const res = await call('GET', '/v1/clients', alice.auth);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    const list = res.json() as { id: number }[];
    expectSameShape(list, hspFixture('get-clients'));
    expect(list.map((c) => c.id)).toContain(created.id);
    const ids = list.map((c) => c.id);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
  });

  it('accepts the later {"client": ...} wrapper and answers flat', async () => {
    const res = await call('POST', '/v1/clients', alice.auth, { client: clientBody() });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toHaveProperty('domains');
  });

  it('normalises domain names: case, trailing dot, IDN', async () => {
    const stamp = Date.now().toString(36);
    const res = await call('POST', '/v1/clients', alice.auth, {
      package_uid: 'spamstopshere-standard',
      user_count: 3,
      domains: [{ name: `Mixed-${stamp}.Example.` }, { name: `bücher-${stamp}.example` }],
    });
    expect(res.statusCode).toBe(201);
    const names = res.json().domains.map((d: { name: string }) => d.name);
    expect(names[0]).toBe(`mixed-${stamp}.example`);
    expect(names[1]).toMatch(/^xn--/);
    const found = await call('GET', `/v1/domains/${encodeURIComponent(`BÜCHER-${stamp}.example`)}/client`, alice.auth);
    expect(found.statusCode).toBe(200);
    expect(res.json().email_address).toBeNull();
  });

  it('PUT replaces the domain set: added, kept (with its mail servers) and removed', async () => {
    const keep = uniqueDomain();
    const drop = uniqueDomain();
    const add = uniqueDomain();
    const created = (
      await call('POST', '/v1/clients', alice.auth, {
        ...clientBody(keep),
        domains: [{ name: keep, mail_servers: ['mx.keep.test'] }, { name: drop }],
      })
    ).json();
    const res = await call('PUT', `/v1/clients/${created.id}`, alice.auth, {
      package_uid: 'spamstopshere-standard',
      user_count: 4,
      domains: [{ name: add }, { name: keep }],
    });
    expect(res.statusCode).toBe(200);
    const updated = res.json();
    expect(updated.user_count).toBe(4);
    expect(updated.domains.map((d: { name: string }) => d.name)).toEqual([add, keep]);
    expect(updated.domains[1].mail_servers).toEqual(['mx.keep.test']);
    expect((await call('GET', `/v1/domains/${drop}/client`, alice.auth)).statusCode).toBe(404);
    // The removed name is free again.
    expect((await call('POST', '/v1/clients', bob.auth, clientBody(drop))).statusCode).toBe(201);
  });

  it('PUT without domains leaves them untouched; PUT by domain name works too', async () => {
    const domain = uniqueDomain();
    const created = (await call('POST', '/v1/clients', alice.auth, clientBody(domain))).json();
    const res = await call('PUT', `/v1/domains/${domain}/client`, alice.auth, { name: 'Renamed', user_count: 7 });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: created.id, name: 'Renamed', user_count: 7, domains: created.domains });
  });

  it('DELETE cancels: the client disappears, its domains are free, and it answers 200', async () => {
    const domain = uniqueDomain();
    const created = (await call('POST', '/v1/clients', alice.auth, clientBody(domain))).json();
    const res = await call('DELETE', `/v1/clients/${created.id}`, alice.auth);
    expect(res.statusCode).toBe(200);
    expect((await call('GET', `/v1/clients/${created.id}`, alice.auth)).statusCode).toBe(404);
    const list = (await call('GET', '/v1/clients', alice.auth)).json() as { id: number }[];
    expect(list.map((c) => c.id)).not.toContain(created.id);
    expect((await call('DELETE', `/v1/clients/${created.id}`, alice.auth)).statusCode).toBe(404);

    // The operator can still see it, and restore it.
    const admin = await t.app.server.inject({ method: 'GET', url: `/admin/v1/clients/${created.id}`, headers: { authorization: `Bearer ${t.operatorKey}` } });
    expect(admin.json()).toMatchObject({ status: 'cancelled', saas_instance: false });
    const restored = await t.app.server.inject({ method: 'POST', url: `/admin/v1/clients/${created.id}/restore`, headers: { authorization: `Bearer ${t.operatorKey}` } });
    expect(restored.statusCode).toBe(200);
    expect((await call('GET', `/v1/clients/${created.id}`, alice.auth)).json().domains[0].name).toBe(domain);
  });

  it('DELETE by domain name cancels the client holding it', async () => {
    const domain = uniqueDomain();
    await call('POST', '/v1/clients', alice.auth, clientBody(domain));
    expect((await call('DELETE', `/v1/domains/${domain}/client`, alice.auth)).statusCode).toBe(200);
    expect((await call('GET', `/v1/domains/${domain}/client`, alice.auth)).statusCode).toBe(404);
  });
});

describe('clients: bad input changes nothing', () => {
  async function count(auth: string) {
    return ((await call('GET', '/v1/clients', auth)).json() as unknown[]).length;
  }

  it.each([
    ['missing package_uid', { user_count: 1, domains: [{ name: 'x1.test' }] }, 'package_uid', "can't be blank"],
    ['unknown package', { package_uid: 'nope', user_count: 1, domains: [{ name: 'x2.test' }] }, 'package_uid', 'does not exist'],
    ['negative user_count', { package_uid: 'spamstopshere-standard', user_count: -1, domains: [{ name: 'x3.test' }] }, 'user_count', 'must be greater than 0'],
    ['fractional user_count', { package_uid: 'spamstopshere-standard', user_count: 1.5, domains: [{ name: 'x4.test' }] }, 'user_count', 'must be an integer'],
    ['string user_count', { package_uid: 'spamstopshere-standard', user_count: '1', domains: [{ name: 'x5.test' }] }, 'user_count', 'must be a number'],
    ['no domains', { package_uid: 'spamstopshere-standard', user_count: 1, domains: [] }, 'domains', "can't be blank"],
    ['missing domains', { package_uid: 'spamstopshere-standard', user_count: 1 }, 'domains', "can't be blank"],
    ['bad domain name', { package_uid: 'spamstopshere-standard', user_count: 1, domains: [{ name: 'bad..name' }] }, 'domains.name', '"bad..name" is not a valid domain name'],
    ['single-label domain', { package_uid: 'spamstopshere-standard', user_count: 1, domains: [{ name: 'localhost' }] }, 'domains.name', '"localhost" is not a valid domain name'],
    ['duplicate domain', { package_uid: 'spamstopshere-standard', user_count: 1, domains: [{ name: 'dup.test' }, { name: 'DUP.test' }] }, 'domains.name', 'dup.test is listed more than once'],
    ['unknown field', { package_uid: 'spamstopshere-standard', user_count: 1, domains: [{ name: 'x6.test' }], admin: true }, 'admin', 'is not a known attribute'],
    ['multiple mail servers without the feature', { package_uid: 'spamstopshere-standard', user_count: 1, domains: [{ name: 'x7.test', mail_servers: ['a.x7.test', 'b.x7.test'] }] }, 'domains.mail_servers', 'are invalid. Your subscription does not allow multiple mail servers, please upgrade to unlock this feature.'],
    ['bad mail server', { package_uid: 'spamstopshere-standard', user_count: 1, domains: [{ name: 'x8.test', mail_servers: ['not a host'] }] }, 'domains.mail_servers', '"not a host" is not a valid host name or IP address'],
    ['body is an array', [], 'base', 'must be an object'],
  ])('%s → 422 with a field error', async (_label, body, field, message) => {
    const before = await count(alice.auth);
    const res = await call('POST', '/v1/clients', alice.auth, body);
    expect(res.statusCode).toBe(422);
    expect(Object.keys(res.json())).toEqual(['errors']);
    for (const messages of Object.values(res.json().errors as Record<string, unknown>)) expect(messages).toEqual(expect.arrayContaining([expect.any(String)]));
    expect(res.json().errors[field]).toContain(message);
    expect(await count(alice.auth)).toBe(before);
  });

  it('a domain held by another live client → 422, nothing written', async () => {
    const domain = uniqueDomain();
    await call('POST', '/v1/clients', bob.auth, clientBody(domain));
    const before = await count(alice.auth);
    const res = await call('POST', '/v1/clients', alice.auth, { ...clientBody(uniqueDomain()), domains: [{ name: uniqueDomain() }, { name: domain }] });
    expect(res.statusCode).toBe(422);
    expect(res.json().errors['domains.name']).toEqual([`${domain} has already been taken`]);
    expect(await count(alice.auth)).toBe(before);
  });

  it('concurrent creates of the same domain: exactly one wins', async () => {
    const domain = uniqueDomain();
    const results = await Promise.all(Array.from({ length: 6 }, () => call('POST', '/v1/clients', alice.auth, clientBody(domain))));
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes.filter((c) => c === 201)).toHaveLength(1);
    expect(codes.filter((c) => c === 422)).toHaveLength(5);
  });

  it('a failed PUT leaves the client exactly as it was', async () => {
    const domain = uniqueDomain();
    const taken = uniqueDomain();
    await call('POST', '/v1/clients', bob.auth, clientBody(taken));
    const created = (await call('POST', '/v1/clients', alice.auth, clientBody(domain))).json();
    const res = await call('PUT', `/v1/clients/${created.id}`, alice.auth, { user_count: 9, name: 'Changed', domains: [{ name: uniqueDomain() }, { name: taken }] });
    expect(res.statusCode).toBe(422);
    expect((await call('GET', `/v1/clients/${created.id}`, alice.auth)).json()).toEqual(created);
  });

  it('malformed JSON → 400 in the error shape', async () => {
    const res = await t.app.server.inject({ method: 'POST', url: '/v1/clients', headers: { authorization: alice.auth, 'content-type': 'application/json' }, payload: '{"package_uid": ' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ errors: { base: ['request body is not valid JSON'] } });
  });

  it('a huge body → 413 in the error shape', async () => {
    const res = await t.app.server.inject({
      method: 'POST',
      url: '/v1/clients',
      headers: { authorization: alice.auth, 'content-type': 'application/json' },
      payload: JSON.stringify({ ...clientBody(), name: 'x'.repeat(t.config.bodyLimit + 10) }),
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().errors.base[0]).toMatch(/too large/);
  });

  it('a non-numeric or unknown id → 404', async () => {
    expect((await call('GET', '/v1/clients/abc', alice.auth)).statusCode).toBe(404);
    expect((await call('GET', '/v1/clients/999999999', alice.auth)).statusCode).toBe(404);
    expect((await call('PUT', '/v1/clients/999999999', alice.auth, { user_count: 2 })).statusCode).toBe(404);
    expect((await call('GET', '/v1/clients/99999999999999999999999', alice.auth)).statusCode).toBe(404);
  });
});

describe('clients: security', () => {
  it('no credentials → 401 with WWW-Authenticate', async () => {
    const res = await call('GET', '/v1/clients', undefined);
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Basic/);
    expect(res.json().errors.base).toHaveLength(1);
  });

  it('a wrong key, an unknown token, a malformed header → 401', async () => {
    for (const auth of [`Basic ${Buffer.from(`${alice.api_token}:wrong`).toString('base64')}`, `Basic ${Buffer.from('nobody:nothing').toString('base64')}`, 'Basic !!!', `Bearer ${alice.api_key}`]) {
      expect((await call('GET', '/v1/clients', auth)).statusCode).toBe(401);
    }
  });

  it("another reseller's client is a 404 for every verb, and stays unchanged", async () => {
    const domain = uniqueDomain();
    const created = (await call('POST', '/v1/clients', alice.auth, clientBody(domain))).json();
    expect((await call('GET', `/v1/clients/${created.id}`, bob.auth)).statusCode).toBe(404);
    expect((await call('GET', `/v1/domains/${domain}/client`, bob.auth)).statusCode).toBe(404);
    expect((await call('PUT', `/v1/clients/${created.id}`, bob.auth, { user_count: 5 })).statusCode).toBe(404);
    expect((await call('PUT', `/v1/domains/${domain}/client`, bob.auth, { user_count: 5 })).statusCode).toBe(404);
    expect((await call('DELETE', `/v1/clients/${created.id}`, bob.auth)).statusCode).toBe(404);
    expect((await call('DELETE', `/v1/domains/${domain}/client`, bob.auth)).statusCode).toBe(404);
    expect(((await call('GET', '/v1/clients', bob.auth)).json() as { id: number }[]).map((c) => c.id)).not.toContain(created.id);
    expect((await call('GET', `/v1/clients/${created.id}`, alice.auth)).json()).toEqual(created);
  });

  it('a suspended reseller gets 403; reactivated it works again', async () => {
    const carol = await createReseller(t);
    const admin = { authorization: `Bearer ${t.operatorKey}` };
    await t.app.server.inject({ method: 'POST', url: `/admin/v1/resellers/${carol.id}/suspend`, headers: admin, payload: { reason: 'unpaid' } });
    const res = await call('GET', '/v1/clients', carol.auth);
    expect(res.statusCode).toBe(403);
    expect(res.json().errors.base[0]).toMatch(/suspended/);
    await t.app.server.inject({ method: 'POST', url: `/admin/v1/resellers/${carol.id}/activate`, headers: admin });
    expect((await call('GET', '/v1/clients', carol.auth)).statusCode).toBe(200);
  });

  it('a package outside the reseller tags is refused', async () => {
    const other = await createReseller(t, { tags: ['plesk'] });
    const res = await call('POST', '/v1/clients', other.auth, clientBody());
    expect(res.statusCode).toBe(422);
    expect(res.json().errors.package_uid).toEqual(['is not available to your account']);
  });
});
