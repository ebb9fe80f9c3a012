import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hspFixture } from '../support/fixtures.js';
import { expectSameShape } from '../support/shape.js';
import { createReseller, createTestApp, seedDemoCatalog, type ResellerFixture, type TestApp } from '../support/test-app.js';

let t: TestApp;
let alice: ResellerFixture;
let bob: ResellerFixture;
let branded: ResellerFixture;

beforeAll(async () => {
  t = await createTestApp();
  await seedDemoCatalog(t);
  alice = await createReseller(t);
  bob = await createReseller(t);
  branded = await createReseller(t);
  const res = await t.app.server.inject({
    method: 'PATCH',
    url: `/admin/v1/resellers/${branded.id}`,
    headers: { authorization: `Bearer ${t.operatorKey}` },
    payload: { login_hostname: 'Login.Reseller-Branded.TEST' },
  });
  expect(res.statusCode).toBe(200);
  expect(res.json().login_hostname).toBe('login.reseller-branded.test');
});
afterAll(() => t.close());

const get = (url: string, headers: Record<string, string> = {}) => t.app.server.inject({ method: 'GET', url, headers });
const as = (r: ResellerFixture) => ({ authorization: r.auth });

let n = 0;
const uniqueDomain = () => `sso-${Date.now().toString(36)}-${n++}.test`;

async function newClient(reseller: ResellerFixture, name = 'SSO Customer'): Promise<{ id: number; domain: string }> {
  const domain = uniqueDomain();
  const res = await t.app.server.inject({
    method: 'POST',
    url: '/v1/clients',
    headers: as(reseller),
    payload: { package_uid: 'spamstopshere-standard', user_count: 1, name, domains: [{ name: domain }] },
  });
  expect(res.statusCode).toBe(201);
  return { id: res.json().id, domain };
}

interface Token {
  token: string;
  protocol: string;
  login_hostname: string;
  path: string;
}

async function issue(reseller: ResellerFixture, url: string): Promise<Token> {
  const res = await get(url, as(reseller));
  expect(res.statusCode).toBe(200);
  return res.json();
}

function sessionCookie(setCookie: string | string[] | undefined): string {
  const header = Array.isArray(setCookie) ? setCookie[0]! : setCookie!;
  return header.split(';')[0]!;
}

describe('issuing a login token', () => {
  it('GET /v1/clients/:id/auth_token answers the seed shape, pointing at the public URL when unbranded', async () => {
    const { id } = await newClient(alice);
    const res = await get(`/v1/clients/${id}/auth_token`, as(alice));
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    const body = res.json() as Token;
    expectSameShape(body, hspFixture('auth-token'));
    const publicUrl = new URL(t.config.publicUrl);
    expect(body.protocol).toBe('https');
    expect(body.protocol).toBe(publicUrl.protocol.replace(':', ''));
    expect(body.login_hostname).toBe('panel.hostplane.test');
    expect(body.login_hostname).toBe(publicUrl.host);
    expect(body.token.length).toBeGreaterThanOrEqual(40);
    expect(body.token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(body.path).toBe(`/login/auth_token?token=${encodeURIComponent(body.token)}`);
    expect(new URL(`${body.protocol}://${body.login_hostname}${body.path}`).searchParams.get('token')).toBe(body.token);
  });

  it('GET /v1/domains/:name/auth_token does the same for the client holding the domain', async () => {
    const { domain } = await newClient(alice);
    const body = await issue(alice, `/v1/domains/${domain.toUpperCase()}/auth_token`);
    expectSameShape(body, hspFixture('auth-token'));
    expect(body.login_hostname).toBe('panel.hostplane.test');
  });

  it("a reseller with a login_hostname gets its branded host over https", async () => {
    const { id, domain } = await newClient(branded);
    for (const body of [await issue(branded, `/v1/clients/${id}/auth_token`), await issue(branded, `/v1/domains/${domain}/auth_token`)]) {
      expectSameShape(body, hspFixture('auth-token'));
      expect(body.protocol).toBe('https');
      expect(body.login_hostname).toBe('login.reseller-branded.test');
    }
  });

  it('every token is different', async () => {
    const { id } = await newClient(alice);
    const tokens = new Set<string>();
    for (let i = 0; i < 5; i++) tokens.add((await issue(alice, `/v1/clients/${id}/auth_token`)).token);
    expect(tokens.size).toBe(5);
  });

  it('unknown, invalid or cancelled clients and domains → 404', async () => {
    const { id, domain } = await newClient(alice);
    await t.app.server.inject({ method: 'DELETE', url: `/v1/clients/${id}`, headers: as(alice) });
    for (const url of [`/v1/clients/${id}/auth_token`, `/v1/domains/${domain}/auth_token`, '/v1/clients/999999999/auth_token', '/v1/clients/abc/auth_token', '/v1/domains/nobody.test/auth_token', '/v1/domains/not..valid/auth_token']) {
      const res = await get(url, as(alice));
      expect(res.statusCode, url).toBe(404);
      expect(res.json()).toEqual({ errors: { base: ['Not found'] } });
    }
  });
});

describe('issuing: security', () => {
  it('no credentials or bad credentials → 401, and no token', async () => {
    const { id, domain } = await newClient(alice);
    for (const headers of [{} as Record<string, string>, { authorization: `Basic ${Buffer.from(`${alice.api_token}:wrong`).toString('base64')}` }, { authorization: `Bearer ${t.operatorKey}` }]) {
      for (const url of [`/v1/clients/${id}/auth_token`, `/v1/domains/${domain}/auth_token`]) {
        const res = await get(url, headers);
        expect(res.statusCode).toBe(401);
        expect(res.headers['www-authenticate']).toMatch(/^Basic/);
        expect(res.json()).not.toHaveProperty('token');
      }
    }
  });

  it("another reseller's client or domain → 404", async () => {
    const { id, domain } = await newClient(alice);
    for (const url of [`/v1/clients/${id}/auth_token`, `/v1/domains/${domain}/auth_token`]) {
      const res = await get(url, as(bob));
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ errors: { base: ['Not found'] } });
    }
  });
});

describe('following the login link', () => {
  it('first use: 303 to the client area with an HttpOnly SameSite session cookie; the client page shows the client', async () => {
    const { id, domain } = await newClient(alice, 'Acme & <Sons>');
    const { path } = await issue(alice, `/v1/clients/${id}/auth_token`);
    const res = await get(path);
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/console/my');
    expect(res.headers['cache-control']).toBe('no-store');
    const setCookie = String(res.headers['set-cookie']);
    expect(setCookie).toMatch(/^hp_session=[A-Za-z0-9_-]+;/);
    expect(setCookie).toMatch(/;\s*HttpOnly/i);
    expect(setCookie).toMatch(/;\s*SameSite=(Lax|Strict)/i);
    expect(setCookie).toMatch(/;\s*Secure/i);
    expect(setCookie).toMatch(/;\s*Path=\//);

    const page = await get(`/console/clients/${id}`, { cookie: sessionCookie(res.headers['set-cookie']) });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toContain('Acme &#38; &#60;Sons&#62;');
    expect(page.body).not.toContain('<Sons>');
    expect(page.body).toContain(domain);
  });

  it('a branded link works on this server too, and from the domain endpoint', async () => {
    const { id, domain } = await newClient(branded);
    const { path } = await issue(branded, `/v1/domains/${domain}/auth_token`);
    const res = await get(path);
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/console/my');
    expect((await get(`/console/clients/${id}`, { cookie: sessionCookie(res.headers['set-cookie']) })).statusCode).toBe(200);
  });

  it('the second use of the same token → 403 refusal page', async () => {
    const { id } = await newClient(alice);
    const { path } = await issue(alice, `/v1/clients/${id}/auth_token`);
    expect((await get(path)).statusCode).toBe(303);
    const again = await get(path);
    expect(again.statusCode).toBe(403);
    expect(again.headers['content-type']).toMatch(/text\/html/);
    expect(again.headers['set-cookie']).toBeUndefined();
    expect(again.body).toContain('This login link cannot be used');
  });

  it.each([
    ['a garbage token', '/login/auth_token?token=garbage'],
    ['an empty token', '/login/auth_token?token='],
    ['no token', '/login/auth_token'],
    ['a huge token', `/login/auth_token?token=${'a'.repeat(2000)}`],
    ['two tokens', '/login/auth_token?token=a&token=b'],
  ])('%s → 403 refusal page without a cookie', async (_label, url) => {
    const res = await get(url);
    expect(res.statusCode).toBe(403);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('a token cannot be reused with a different query spelling', async () => {
    const { id } = await newClient(alice);
    const { token } = await issue(alice, `/v1/clients/${id}/auth_token`);
    expect((await get(`/login/auth_token?token=${token}&x=1`)).statusCode).toBe(303);
    expect((await get(`/login/auth_token?x=1&token=${encodeURIComponent(token)}`)).statusCode).toBe(403);
  });

  it('single use under concurrent redemption: exactly one 303', async () => {
    const { id } = await newClient(alice);
    const { path } = await issue(alice, `/v1/clients/${id}/auth_token`);
    const results = await Promise.all(Array.from({ length: 6 }, () => get(path)));
    const codes = results.map((r) => r.statusCode);
    expect(codes.filter((c) => c === 303)).toHaveLength(1);
    expect(codes.filter((c) => c === 403)).toHaveLength(5);
    expect(results.filter((r) => r.headers['set-cookie'] !== undefined)).toHaveLength(1);
  });
});

describe('the console page', () => {
  it('without a session cookie, with a garbage one, or with another client’s → 401', async () => {
    const mine = await newClient(alice, 'Mine');
    const other = await newClient(alice, 'Other');
    const { path } = await issue(alice, `/v1/clients/${mine.id}/auth_token`);
    const cookie = sessionCookie((await get(path)).headers['set-cookie']);

    expect((await get(`/console/clients/${mine.id}`, { cookie })).statusCode).toBe(200);
    for (const [url, headers] of [
      [`/console/clients/${mine.id}`, {}],
      [`/console/clients/${mine.id}`, { cookie: 'hp_session=garbage' }],
      [`/console/clients/${mine.id}`, { cookie: 'other=1' }],
      [`/console/clients/${other.id}`, { cookie }],
      [`/console/clients/abc`, { cookie }],
    ] as const) {
      const res = await get(url, headers);
      expect(res.statusCode, `${url} ${JSON.stringify(headers)}`).toBe(401);
      expect(res.headers['content-type']).toMatch(/text\/html/);
      expect(res.body).not.toContain('Other');
    }
  });

  it("another reseller's client cannot be reached with this reseller's session", async () => {
    const mine = await newClient(alice);
    const theirs = await newClient(bob, 'Bob Customer');
    const { path } = await issue(alice, `/v1/clients/${mine.id}/auth_token`);
    const cookie = sessionCookie((await get(path)).headers['set-cookie']);
    const res = await get(`/console/clients/${theirs.id}`, { cookie });
    expect(res.statusCode).toBe(401);
    expect(res.body).not.toContain('Bob Customer');
  });
});

// Last: moves the app clock forward.
describe('expiry', () => {
  it('a token used after its minute → 403', async () => {
    const { id } = await newClient(alice);
    const { path } = await issue(alice, `/v1/clients/${id}/auth_token`);
    t.setNow(new Date(Date.now() + 61_000));
    const res = await get(path);
    expect(res.statusCode).toBe(403);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('a token used within its minute still works', async () => {
    const { id } = await newClient(alice);
    const start = new Date();
    t.setNow(start);
    const { path } = await issue(alice, `/v1/clients/${id}/auth_token`);
    t.setNow(new Date(start.getTime() + 59_000));
    expect((await get(path)).statusCode).toBe(303);
  });
});

describe('a client that is no longer active', () => {
  it('a link issued before the client was cancelled no longer logs in, and its session ends', async () => {
    const client = await newClient(alice);
    const early = await issue(alice, `/v1/clients/${client.id}/auth_token`);
    const used = await issue(alice, `/v1/clients/${client.id}/auth_token`);
    const login = await get(used.path);
    expect(login.statusCode).toBe(303);
    const cookie = sessionCookie(login.headers['set-cookie']);
    expect((await get(`/console/clients/${client.id}`, { cookie })).statusCode).toBe(200);

    expect((await t.app.server.inject({ method: 'DELETE', url: `/v1/clients/${client.id}`, headers: as(alice) })).statusCode).toBe(200);
    const refused = await get(early.path);
    expect(refused.statusCode).toBe(403);
    expect(refused.headers['content-type']).toMatch(/text\/html/);
    expect((await get(`/console/clients/${client.id}`, { cookie })).statusCode).toBe(401);
    // And no new link can be had for it.
    expect((await get(`/v1/clients/${client.id}/auth_token`, as(alice))).statusCode).toBe(404);
  });
});
