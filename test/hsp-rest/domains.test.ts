import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MULTIPLE_MAIL_SERVERS_MESSAGE } from '../../src/core/domains/domain.rules.js';
import { hspFixture } from '../support/fixtures.js';
import { expectSameShape } from '../support/shape.js';
import { createReseller, createTestApp, seedDemoCatalog, type ResellerFixture, type TestApp } from '../support/test-app.js';

let t: TestApp;
let alice: ResellerFixture;
let bob: ResellerFixture;
let admin: { authorization: string };

beforeAll(async () => {
  t = await createTestApp();
  await seedDemoCatalog(t);
  alice = await createReseller(t);
  bob = await createReseller(t);
  admin = { authorization: `Bearer ${t.operatorKey}` };
});
afterAll(() => t.close());

const call = (method: 'GET' | 'PUT' | 'POST' | 'DELETE', url: string, auth: string | undefined, payload?: unknown) =>
  t.app.server.inject({ method, url, headers: auth ? { authorization: auth } : {}, ...(payload !== undefined ? { payload: payload as object } : {}) });

let n = 0;
const uniqueDomain = () => `dom-${Date.now().toString(36)}-${n++}.test`;

async function newClient(reseller: ResellerFixture, packageUid = 'spamstopshere-standard', domain = uniqueDomain()): Promise<{ id: number; domain: string }> {
  const res = await call('POST', '/v1/clients', reseller.auth, { package_uid: packageUid, user_count: 1, name: 'Domain Test', domains: [{ name: domain, mail_servers: [`mail.${domain}`] }] });
  expect(res.statusCode).toBe(201);
  return { id: res.json().id, domain };
}

const domainExample = hspFixture<{ domains: unknown[] }>('get-client').domains[0];

describe('GET /v1/domains/:name', () => {
  it('answers the domain object of the seed client example', async () => {
    const { domain } = await newClient(alice);
    const res = await call('GET', `/v1/domains/${domain}`, alice.auth);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expectSameShape(res.json(), domainExample);
    const label = domain.replaceAll('.', '-');
    expect(res.json()).toEqual({
      name: domain,
      mx_records: [
        { priority: 10, hostname: `${label}.relay1g.spamh.com.` },
        { priority: 20, hostname: `${label}.relay1h.spamh.com.` },
      ],
      mail_servers: [`mail.${domain}`],
    });
  });

  it('is the same object the client carries', async () => {
    const { id, domain } = await newClient(alice);
    const client = (await call('GET', `/v1/clients/${id}`, alice.auth)).json();
    expect((await call('GET', `/v1/domains/${domain}`, alice.auth)).json()).toEqual(client.domains[0]);
  });

  it('finds the domain whatever the case or a trailing dot', async () => {
    const { domain } = await newClient(alice);
    const res = await call('GET', `/v1/domains/${domain.toUpperCase()}.`, alice.auth);
    expect(res.statusCode).toBe(200);
    expect(res.json().name).toBe(domain);
  });

  it('unknown, invalid and cancelled domains are 404 in the HSP shape', async () => {
    const { id, domain } = await newClient(alice);
    expect((await call('DELETE', `/v1/clients/${id}`, alice.auth)).statusCode).toBe(200);
    for (const name of ['nothing-here.test', 'not..valid', 'localhost', domain]) {
      const res = await call('GET', `/v1/domains/${encodeURIComponent(name)}`, alice.auth);
      expect(res.statusCode, name).toBe(404);
      expect(res.json()).toEqual({ errors: { base: ['Not found'] } });
    }
  });
});

describe('PUT /v1/domains/:name', () => {
  it('replaces the mail servers and answers 200 with the domain (seed request)', async () => {
    const { domain } = await newClient(alice);
    const res = await call('PUT', `/v1/domains/${domain}`, alice.auth, { mail_servers: ['MX2.Example.com.'] });
    expect(res.statusCode).toBe(200);
    expectSameShape(res.json(), domainExample);
    expect(res.json().mail_servers).toEqual(['mx2.example.com']);
    expect((await call('GET', `/v1/domains/${domain}`, alice.auth)).json().mail_servers).toEqual(['mx2.example.com']);

    const seedBody = hspFixture('update-domain-request');
    const again = await call('PUT', `/v1/domains/${domain}`, alice.auth, seedBody);
    expect(again.statusCode).toBe(200);
    expect(again.json().mail_servers).toEqual(['mail.customer-domain.test']);
  });

  it('accepts an IP literal and an empty list', async () => {
    const { domain } = await newClient(alice);
    expect((await call('PUT', `/v1/domains/${domain}`, alice.auth, { mail_servers: ['[192.0.2.25]'] })).json().mail_servers).toEqual(['192.0.2.25']);
    expect((await call('PUT', `/v1/domains/${domain}`, alice.auth, { mail_servers: [] })).json().mail_servers).toEqual([]);
  });

  it('several mail servers on spamstopshere-standard → the seed 422, nothing changed', async () => {
    const { domain } = await newClient(alice, 'spamstopshere-standard');
    const before = (await call('GET', `/v1/domains/${domain}`, alice.auth)).json();
    const res = await call('PUT', `/v1/domains/${domain}`, alice.auth, { mail_servers: ['mx1.example.com', 'mx2.example.com'] });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toEqual(hspFixture('update-domain-error'));
    expect(res.json().errors.mail_servers).toEqual([MULTIPLE_MAIL_SERVERS_MESSAGE]);
    expect((await call('GET', `/v1/domains/${domain}`, alice.auth)).json()).toEqual(before);
  });

  it('several mail servers are allowed on spamstopshere-professional (multiple_mail_servers), up to its limit', async () => {
    const { domain } = await newClient(alice, 'spamstopshere-professional');
    const servers = ['mx1.example.com', 'mx2.example.com', '198.51.100.4'];
    const res = await call('PUT', `/v1/domains/${domain}`, alice.auth, { mail_servers: servers });
    expect(res.statusCode).toBe(200);
    expect(res.json().mail_servers).toEqual(servers);

    const tooMany = await call('PUT', `/v1/domains/${domain}`, alice.auth, { mail_servers: ['a', 'b', 'c', 'd', 'e', 'f'].map((h) => `${h}.example.com`) });
    expect(tooMany.statusCode).toBe(422);
    expect(tooMany.json().errors.mail_servers).toEqual(['has too many entries for this package (maximum is 5)']);
    expect((await call('GET', `/v1/domains/${domain}`, alice.auth)).json().mail_servers).toEqual(servers);
  });

  it('the same server written twice counts once', async () => {
    const { domain } = await newClient(alice, 'spamstopshere-standard');
    const res = await call('PUT', `/v1/domains/${domain}`, alice.auth, { mail_servers: ['mx.example.com', 'MX.example.com.'] });
    expect(res.statusCode).toBe(200);
    expect(res.json().mail_servers).toEqual(['mx.example.com']);
  });

  it.each([
    ['an invalid host', { mail_servers: ['not a host'] }, 'mail_servers', '"not a host" is not a valid host name or IP address'],
    ['a single-label host', { mail_servers: ['mail'] }, 'mail_servers', '"mail" is not a valid host name or IP address'],
    ['a host with a port', { mail_servers: ['mail.example.com:25'] }, 'mail_servers', '"mail.example.com:25" is not a valid host name or IP address'],
    ['an unknown field', { mail_servers: ['mx.example.com'], name: 'renamed.test' }, 'name', 'is not a known attribute'],
    ['status is not writable', { mail_servers: ['mx.example.com'], status: 'ready' }, 'status', 'is not a known attribute'],
    ['missing mail_servers', {}, 'mail_servers', "can't be blank"],
    ['null mail_servers', { mail_servers: null }, 'mail_servers', "can't be blank"],
    ['a string instead of a list', { mail_servers: 'mx.example.com' }, 'mail_servers', 'must be a list'],
    ['a number in the list', { mail_servers: [42] }, 'mail_servers', 'must be a string'],
    ['too many entries', { mail_servers: Array.from({ length: 21 }, (_, i) => `mx${i}.example.com`) }, 'mail_servers', 'has too many entries (maximum is 20)'],
    ['a body that is a list', [], 'base', 'must be an object'],
  ])('%s → 422 with a field error, nothing changed', async (_label, body, field, message) => {
    const { domain } = await newClient(alice, 'spamstopshere-professional');
    const before = (await call('GET', `/v1/domains/${domain}`, alice.auth)).json();
    const res = await call('PUT', `/v1/domains/${domain}`, alice.auth, body);
    expect(res.statusCode).toBe(422);
    expect(Object.keys(res.json())).toEqual(['errors']);
    expect(res.json().errors[field]).toContain(message);
    expect((await call('GET', `/v1/domains/${domain}`, alice.auth)).json()).toEqual(before);
  });

  it('an unknown domain → 404 even with a valid body', async () => {
    expect((await call('PUT', '/v1/domains/nobody-has-this.test', alice.auth, { mail_servers: ['mx.example.com'] })).statusCode).toBe(404);
  });
});

describe('GET /v1/domains/:name/status', () => {
  it('a new domain is initializing (seed shape); ready once the operator says so', async () => {
    const { domain } = await newClient(alice);
    const res = await call('GET', `/v1/domains/${domain}/status`, alice.auth);
    expect(res.statusCode).toBe(200);
    expectSameShape(res.json(), hspFixture('domain-status'));
    expect(res.json()).toEqual({ status: 'initializing' });

    const set = await t.app.server.inject({ method: 'PUT', url: `/admin/v1/domains/${domain}/status`, headers: admin, payload: { status: 'ready' } });
    expect(set.statusCode).toBe(200);
    expect(set.json()).toMatchObject({ name: domain, status: 'ready' });
    expect((await call('GET', `/v1/domains/${domain}/status`, alice.auth)).json()).toEqual({ status: 'ready' });

    await t.app.server.inject({ method: 'PUT', url: `/admin/v1/domains/${domain}/status`, headers: admin, payload: { status: 'unknown' } });
    expect((await call('GET', `/v1/domains/${domain}/status`, alice.auth)).json()).toEqual({ status: 'unknown' });
  });

  it('the operator status endpoint refuses a bad status (422), unknown domains (404) and non-operators (401)', async () => {
    const { domain } = await newClient(alice);
    for (const payload of [{ status: 'done' }, { status: 'READY' }, { status: 1 }, {}, { status: null }]) {
      const res = await t.app.server.inject({ method: 'PUT', url: `/admin/v1/domains/${domain}/status`, headers: admin, payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(422);
      expect(res.json().error).toMatchObject({ code: 'validation_failed', fields: { status: ['must be one of initializing, ready, unknown'] } });
    }
    expect((await call('GET', `/v1/domains/${domain}/status`, alice.auth)).json()).toEqual({ status: 'initializing' });
    const missing = await t.app.server.inject({ method: 'PUT', url: '/admin/v1/domains/nobody-has-this.test/status', headers: admin, payload: { status: 'ready' } });
    expect(missing.statusCode).toBe(404);
    const asReseller = await t.app.server.inject({ method: 'PUT', url: `/admin/v1/domains/${domain}/status`, headers: { authorization: alice.auth }, payload: { status: 'ready' } });
    expect(asReseller.statusCode).toBe(401);
    expect((await call('GET', `/v1/domains/${domain}/status`, alice.auth)).json()).toEqual({ status: 'initializing' });
  });

  it('a status is not a known attribute for the reseller to set', async () => {
    const { domain } = await newClient(alice);
    expect((await call('PUT', `/v1/domains/${domain}`, alice.auth, { status: 'ready' })).statusCode).toBe(422);
    expect((await call('GET', `/v1/domains/${domain}/status`, alice.auth)).json()).toEqual({ status: 'initializing' });
  });

  it('unknown domain → 404', async () => {
    expect((await call('GET', '/v1/domains/nobody-has-this.test/status', alice.auth)).statusCode).toBe(404);
  });
});

describe('domains: security', () => {
  it('no credentials → 401 on every domain endpoint', async () => {
    const { domain } = await newClient(alice);
    for (const [method, url, body] of [
      ['GET', `/v1/domains/${domain}`],
      ['PUT', `/v1/domains/${domain}`, { mail_servers: ['evil.example.com'] }],
      ['GET', `/v1/domains/${domain}/status`],
    ] as const) {
      const res = await call(method, url, undefined, body);
      expect(res.statusCode, `${method} ${url}`).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Basic/);
      expect(res.json().errors.base).toHaveLength(1);
    }
  });

  it('bad credentials → 401', async () => {
    const { domain } = await newClient(alice);
    for (const auth of [`Basic ${Buffer.from(`${alice.api_token}:nope`).toString('base64')}`, `Basic ${Buffer.from(`nobody:${alice.api_key}`).toString('base64')}`, `Bearer ${t.operatorKey}`, 'Basic']) {
      expect((await call('GET', `/v1/domains/${domain}`, auth)).statusCode).toBe(401);
      expect((await call('PUT', `/v1/domains/${domain}`, auth, { mail_servers: ['evil.example.com'] })).statusCode).toBe(401);
    }
    expect((await call('GET', `/v1/domains/${domain}`, alice.auth)).json().mail_servers).toEqual([`mail.${domain}`]);
  });

  it("another reseller's domain is a 404 everywhere, and stays unchanged", async () => {
    const { domain } = await newClient(alice);
    const before = (await call('GET', `/v1/domains/${domain}`, alice.auth)).json();
    for (const res of [
      await call('GET', `/v1/domains/${domain}`, bob.auth),
      await call('PUT', `/v1/domains/${domain}`, bob.auth, { mail_servers: ['evil.example.com'] }),
      await call('GET', `/v1/domains/${domain}/status`, bob.auth),
    ]) {
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ errors: { base: ['Not found'] } });
    }
    expect((await call('GET', `/v1/domains/${domain}`, alice.auth)).json()).toEqual(before);
  });

  it('404 for another reseller looks the same as 404 for a name nobody holds', async () => {
    const { domain } = await newClient(alice);
    const foreign = await call('PUT', `/v1/domains/${domain}`, bob.auth, { mail_servers: ['x.example.com', 'y.example.com'] });
    const absent = await call('PUT', '/v1/domains/nobody-has-this.test', bob.auth, { mail_servers: ['x.example.com', 'y.example.com'] });
    expect(foreign.statusCode).toBe(absent.statusCode);
    expect(foreign.body).toBe(absent.body);
  });
});
