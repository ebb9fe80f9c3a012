import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, createTestApp, type TestApp } from '../support/test-app.js';

let t: TestApp;
let admin: { authorization: string };

beforeAll(async () => {
  t = await createTestApp();
  admin = { authorization: `Bearer ${t.operatorKey}` };
});
afterAll(() => t.close());

describe('POST /admin/v1/demo', () => {
  it('loads the demo catalog and reseller once; the second call says created:false', async () => {
    const first = await t.app.server.inject({ method: 'POST', url: '/admin/v1/demo', headers: admin });
    expect(first.statusCode).toBe(200);
    const body = first.json();
    expect(body.created).toBe(true);
    expect(body.reseller).toMatchObject({ username: 'demo-reseller', status: 'active', tags: ['cpanel'] });
    const auth = basic(body.reseller.api_token, body.reseller.api_key);
    const packages = await t.app.server.inject({ method: 'GET', url: '/v1/packages/by_tag/cpanel', headers: { authorization: auth } });
    expect(packages.statusCode).toBe(200);
    expect(packages.json().map((p: { uid: string }) => p.uid)).toEqual(['spamstopshere-standard', 'spamstopshere-professional', 'spamstopshere-enterprise']);

    const second = await t.app.server.inject({ method: 'POST', url: '/admin/v1/demo', headers: admin });
    expect(second.statusCode).toBe(200);
    expect(second.json()).toEqual({ created: false });
    const all = (await t.app.server.inject({ method: 'GET', url: '/admin/v1/packages', headers: admin })).json() as { uid: string }[];
    // The demo's three, besides `basic`, the default plan of sites that every database has.
    expect(all.map((p) => p.uid).sort()).toEqual(['basic', 'spamstopshere-enterprise', 'spamstopshere-professional', 'spamstopshere-standard']);
    const resellers = (await t.app.server.inject({ method: 'GET', url: '/admin/v1/resellers', headers: admin })).json() as { username: string }[];
    expect(resellers.filter((r) => r.username === 'demo-reseller')).toHaveLength(1);
    // The first credentials still work.
    expect((await t.app.server.inject({ method: 'GET', url: '/v1/clients', headers: { authorization: auth } })).statusCode).toBe(200);
  });

  it('concurrent demo seeds load one catalog', async () => {
    const results = await Promise.all(Array.from({ length: 3 }, () => t.app.server.inject({ method: 'POST', url: '/admin/v1/demo', headers: admin })));
    for (const r of results) expect(r.statusCode).toBeLessThan(500);
    expect((await t.app.server.inject({ method: 'GET', url: '/admin/v1/packages', headers: admin })).json()).toHaveLength(4);
  });
});

describe('POST /admin/v1/keys', () => {
  it('creates a key that is shown once and works at once; both keys keep working', async () => {
    const res = await t.app.server.inject({ method: 'POST', url: '/admin/v1/keys', headers: admin, payload: { name: '  ci pipeline ' } });
    expect(res.statusCode).toBe(201);
    const { id, name, key } = res.json();
    expect(id).toEqual(expect.any(Number));
    expect(name).toBe('ci pipeline');
    expect(key).toMatch(/^hpo_[A-Za-z0-9_-]{40,}$/);
    expect(key).not.toBe(t.operatorKey);
    const withNew = await t.app.server.inject({ method: 'GET', url: '/admin/v1/resellers', headers: { authorization: `Bearer ${key}` } });
    expect(withNew.statusCode).toBe(200);
    expect((await t.app.server.inject({ method: 'GET', url: '/admin/v1/resellers', headers: admin })).statusCode).toBe(200);
    // The scheme name is case-insensitive.
    expect((await t.app.server.inject({ method: 'GET', url: '/admin/v1/resellers', headers: { authorization: `bearer ${key}` } })).statusCode).toBe(200);
  });

  it.each([[{}], [{ name: '' }], [{ name: '   ' }], [{ name: 42 }], [{ name: 'x'.repeat(201) }], [{ name: null }]])('%j → 422', async (payload) => {
    const res = await t.app.server.inject({ method: 'POST', url: '/admin/v1/keys', headers: admin, payload });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toEqual({ error: { code: 'validation_failed', message: expect.any(String), fields: { name: [expect.any(String)] } } });
  });
});

describe('admin: security and shape', () => {
  const endpoints = [
    ['GET', '/admin/v1/resellers'],
    ['POST', '/admin/v1/resellers'],
    ['GET', '/admin/v1/resellers/1'],
    ['PATCH', '/admin/v1/resellers/1'],
    ['POST', '/admin/v1/resellers/1/approve'],
    ['POST', '/admin/v1/resellers/1/rotate-key'],
    ['POST', '/admin/v1/resellers/1/suspend'],
    ['POST', '/admin/v1/resellers/1/activate'],
    ['GET', '/admin/v1/packages'],
    ['POST', '/admin/v1/packages'],
    ['GET', '/admin/v1/packages/x'],
    ['PATCH', '/admin/v1/packages/x'],
    ['GET', '/admin/v1/features'],
    ['POST', '/admin/v1/features'],
    ['GET', '/admin/v1/clients'],
    ['GET', '/admin/v1/clients/1'],
    ['POST', '/admin/v1/clients/1/restore'],
    ['PUT', '/admin/v1/domains/x.test/status'],
    ['POST', '/admin/v1/keys'],
    ['POST', '/admin/v1/demo'],
  ] as const;

  it('every endpoint: no key, a wrong key, a malformed header or reseller Basic credentials → 401 {"error":{...}}', async () => {
    const reseller = await t.app.server.inject({
      method: 'POST',
      url: '/admin/v1/resellers',
      headers: admin,
      payload: { name: 'Sec', username: `sec-${Date.now().toString(36)}`, email_address: 'sec@example.com' },
    });
    const { api_token, api_key } = reseller.json();
    const bad = [{}, { authorization: 'Bearer hpo_definitely-wrong' }, { authorization: 'Bearer not-even-prefixed' }, { authorization: `Bearer ${'x'.repeat(5000)}` }, { authorization: `Token ${t.operatorKey}` }, { authorization: basic(api_token, api_key) }, { authorization: basic('operator', t.operatorKey) }];
    for (const [method, url] of endpoints) {
      for (const headers of bad) {
        const res = await t.app.server.inject({ method, url, headers, payload: { name: 'x' } });
        expect(res.statusCode, `${method} ${url} ${JSON.stringify(headers).slice(0, 60)}`).toBe(401);
        expect(res.headers['www-authenticate']).toBe('Bearer realm="Hostplane admin API"');
        expect(res.json()).toEqual({ error: { code: 'unauthenticated', message: expect.any(String) } });
      }
    }
  });

  it('the operator key does not open the reseller API', async () => {
    const res = await t.app.server.inject({ method: 'GET', url: '/v1/clients', headers: admin });
    expect(res.statusCode).toBe(401);
    expect(res.json().errors).toBeDefined();
  });

  it('an unknown /admin path → 404 in the admin shape', async () => {
    for (const url of ['/admin/v1/nothing', '/admin/v2/resellers', '/admin/']) {
      const res = await t.app.server.inject({ method: 'GET', url, headers: admin });
      expect(res.statusCode, url).toBe(404);
      expect(res.json()).toEqual({ error: { code: 'not_found', message: expect.any(String) } });
    }
  });
});
