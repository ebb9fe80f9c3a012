import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReseller, type ResellerFixture } from '../support/test-app.js';
import { startCrm, type Crm } from './crm-harness.js';

let crm: Crm;
let reseller: ResellerFixture;

beforeAll(async () => {
  crm = await startCrm();
  reseller = await createReseller(crm.t);
});
afterAll(() => crm.close());

const inject = (method: 'GET' | 'POST', url: string, headers: Record<string, string>, payload?: unknown) =>
  crm.t.app.server.inject({ method, url, headers: { ...headers, ...(payload !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(payload !== undefined ? { payload: JSON.stringify(payload) } : {}) });

describe('operator admin API of the CRM door', () => {
  const routes: ['GET' | 'POST', string, unknown][] = [
    ['POST', '/admin/v1/api-tokens', { name: 'x', allow: [] }],
    ['GET', '/admin/v1/api-tokens', undefined],
    ['POST', '/admin/v1/subscription-types', { code: 'sec_type', name: 'x', length: 3 }],
    ['GET', '/admin/v1/subscription-types', undefined],
    ['POST', '/admin/v1/family-types', { parent: 'sec_type', method: 'copy', count: 1 }],
    ['GET', '/admin/v1/family-types', undefined],
    ['POST', '/admin/v1/users', { login: 'sec@example.com', password: 'secret-pass' }],
    ['POST', '/admin/v1/subscriptions/1/family-requests', undefined],
  ];

  it.each(routes)('%s %s: no key, a bad key, a reseller credential and a CRM user token are 401', async (method, url, body) => {
    const u = await crm.user();
    const api = await crm.apiToken('/api/v1/subscriptions/create');
    const attempts: Record<string, string>[] = [{}, { authorization: 'Bearer not-a-key' }, { authorization: reseller.auth }, { authorization: `Bearer ${u.token}` }, { authorization: `Bearer ${api}` }];
    for (const headers of attempts) {
      const res = await inject(method, url, headers, body);
      expect(res.statusCode, `${url} ${JSON.stringify(headers)}`).toBe(401);
    }
  });

  it('creates and lists tokens, types and family types; unknown fields and bad values are 422, never 500', async () => {
    const created = await crm.admin('POST', '/admin/v1/api-tokens', { name: 'billing', allow: ['/api/v1/payments/create'] });
    expect(created).toMatchObject({ status: 201, body: { name: 'billing', allow: ['/api/v1/payments/create'], token: expect.any(String) } });
    const listed = await crm.admin('GET', '/admin/v1/api-tokens');
    expect(listed.body.find((t: { id: number }) => t.id === created.body.id)).not.toHaveProperty('token');
    // Stored as a digest only.
    const rows = await crm.t.app.dbHandle.db.selectFrom('api_tokens').select('token_digest').execute();
    expect(rows.map((r) => r.token_digest)).not.toContain(created.body.token);
    expect(rows.map((r) => r.token_digest).join()).not.toContain(created.body.token);

    for (const [url, body] of [
      ['/admin/v1/api-tokens', { name: 'x', allow: [], admin: true }],
      ['/admin/v1/api-tokens', { name: '', allow: [] }],
      ['/admin/v1/api-tokens', { name: 'x', allow: ['/etc/passwd'] }],
      ['/admin/v1/subscription-types', { code: 'a', name: 'a', length: 3, price: 1 }],
      ['/admin/v1/subscription-types', { code: 'a', name: 'a', length: 0 }],
      ['/admin/v1/subscription-types', { code: 'a', name: 'a', length: 3, extension_method: 'forever' }],
      ['/admin/v1/family-types', { parent: 'nope', method: 'copy', count: 1 }],
      ['/admin/v1/family-types', { parent: 'a', method: 'fixed_days', count: 1 }],
      ['/admin/v1/family-types', { parent: 'a', method: 'copy', count: -1 }],
      ['/admin/v1/users', { login: 'not-an-email', password: 'secret-pass' }],
      ['/admin/v1/users', { login: 'short@example.com', password: 'x' }],
      ['/admin/v1/users', { login: 'extra@example.com', password: 'secret-pass', role: 'operator' }],
    ] as const) {
      const res = await crm.admin('POST', url, body);
      expect(res.status, `${url} ${JSON.stringify(body)} → ${JSON.stringify(res.body)}`).toBe(422);
    }
    const type = await crm.subscriptionType('sec_parent');
    await crm.familyType({ parent: type.code, method: 'copy', count: 1 });
    expect((await crm.admin('POST', '/admin/v1/family-types', { parent: type.code, method: 'copy', count: 1 })).status).toBe(422);
    expect((await crm.admin('POST', '/admin/v1/subscription-types', { code: 'sec_parent', name: 'again', length: 3 })).status).toBe(422);
    expect((await crm.admin('GET', '/admin/v1/family-types')).body).toEqual(expect.arrayContaining([expect.objectContaining({ parent: 'sec_parent', child: null })]));
    expect((await crm.admin('POST', '/admin/v1/subscriptions/999999/family-requests')).status).toBe(404);
    expect((await crm.admin('POST', '/admin/v1/subscriptions/abc/family-requests')).status).toBe(404);
  });

  it('an end user made by an operator signs in to the CRM door; a taken login is refused', async () => {
    const made = await crm.admin('POST', '/admin/v1/users', { login: 'Made@Example.com', password: 'made-password', name: 'Made User' });
    expect(made).toMatchObject({ status: 201, body: { login: 'made@example.com', role: 'end_user' } });
    expect((await crm.admin('POST', '/admin/v1/users', { login: 'made@example.com', password: 'other-password' })).status).toBe(409);
    const login = await crm.call('POST', '/api/v1/users/login', { body: { email: 'made@example.com', password: 'made-password' } });
    expect(login).toMatchObject({ status: 200, body: { user: { first_name: 'Made', last_name: 'User' } } });
    const stored = await crm.t.app.dbHandle.db.selectFrom('users').select('password_hash').where('login', '=', 'made@example.com').executeTakeFirstOrThrow();
    expect(stored.password_hash).toMatch(/^scrypt\$/);
  });
});

describe('CRM login rate limits', () => {
  it('failures from one address across many accounts are limited per address', async () => {
    const from = (remoteAddress: string, email: string, password: string) =>
      crm.t.app.server.inject({ method: 'POST', url: '/api/v1/users/login', remoteAddress, headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ email, password }) });
    const victim = await crm.user();
    // 50 wrong guesses from one address, each on a different account so no account limit trips.
    for (let i = 0; i < 50; i++) expect((await from('203.0.113.7', `spray-${i}@example.com`, 'guess')).statusCode).toBe(400);
    const blocked = await from('203.0.113.7', victim.email, 'secret-pass');
    expect(blocked.statusCode).toBe(429);
    expect(JSON.parse(blocked.body)).toMatchObject({ status: 'error', error: 'rate_limited' });
    // The same account from another address is not affected.
    expect((await from('198.51.100.9', victim.email, 'secret-pass')).statusCode).toBe(200);
  });
});

describe('API tokens', () => {
  it('a new token without endpoints can call nothing, with the 403 body of the original', async () => {
    const none = await crm.apiToken();
    for (const url of ['/api/v1/subscriptions/create', '/api/v1/payments/create']) {
      const res = await crm.call('POST', url, { token: none, body: {} });
      expect(res.status).toBe(403);
      expect(res.body).toEqual({ status: 'error', message: `Not authorized: the API token may not call ${url}`, error: 'no_authorization' });
    }
    expect(await crm.call('POST', '/api/v1/subscriptions/create', { body: {} })).toMatchObject({ status: 403, body: { status: 'error', error: 'no_authorization', message: 'Not authorized: no API token given' } });
  });
});
