import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReseller, createTestApp, seedDemoCatalog, type ResellerFixture, type TestApp } from '../support/test-app.js';

let t: TestApp;
let alice: ResellerFixture;

beforeAll(async () => {
  t = await createTestApp();
  await seedDemoCatalog(t);
  alice = await createReseller(t);
});
afterAll(() => t.close());

const get = (url: string, headers: Record<string, string> = {}) => t.app.server.inject({ method: 'GET', url, headers });

describe('health', () => {
  it('/healthz → 200 ok', async () => {
    const res = await get('/healthz');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('/readyz → 200 when the database answers', async () => {
    const res = await get('/readyz');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ready' });
  });
});

describe('/metrics', () => {
  it('counts requests by route pattern, never by raw URL', async () => {
    await get('/v1/clients/123456', { authorization: alice.auth });
    await get('/v1/clients/654321', { authorization: alice.auth });
    const res = await get('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toContain('# TYPE http_requests_total counter');
    expect(res.body).toMatch(/http_requests_total\{method="GET",route="\/v1\/clients\/:id",status_code="404"\} [2-9]/);
    expect(res.body).not.toContain('123456');
    expect(res.body).toContain('http_request_duration_seconds_bucket');
  });

  it('unmatched URLs share one label', async () => {
    await get('/no/such/path/1');
    await get('/no/such/path/2');
    const body = (await get('/metrics')).body;
    expect(body).toMatch(/route="unmatched",status_code="404"/);
    expect(body).not.toContain('/no/such/path');
  });
});

describe('OpenAPI and docs', () => {
  const expected = [
    '/v1/clients',
    '/v1/clients/{id}',
    '/v1/clients/{id}/auth_token',
    '/v1/clients/{id}/usage',
    '/v1/domains/{domain_name}',
    '/v1/domains/{domain_name}/client',
    '/v1/domains/{domain_name}/auth_token',
    '/v1/domains/{domain_name}/status',
    '/v1/packages/by_tag/{tag_name}',
    '/v1/audit',
    '/v1/webhooks',
    '/v1/webhooks/{id}',
    '/v1/webhooks/{id}/deliveries',
    '/v1/webhook-deliveries/{id}/replay',
    '/v1/resellers/new',
    '/v1/resellers',
    // The reseller web console's session and reads.
    '/v1/session',
    '/v1/branding',
    '/v1/clients/search',
    '/v1/packages',
    '/v1/credentials',
    '/v1/stats',
    '/v1/credentials/rotate',
    '/admin/v1/resellers',
    '/admin/v1/resellers/{id}',
    '/admin/v1/resellers/{id}/approve',
    '/admin/v1/resellers/{id}/rotate-key',
    '/admin/v1/resellers/{id}/login',
    '/admin/v1/resellers/{id}/suspend',
    '/admin/v1/resellers/{id}/activate',
    '/admin/v1/packages',
    '/admin/v1/packages/{uid}',
    '/admin/v1/features',
    '/admin/v1/clients',
    '/admin/v1/clients/{id}',
    '/admin/v1/clients/{id}/restore',
    '/admin/v1/clients/{id}/instance',
    '/admin/v1/clients/{id}/instance/owner-password',
    '/admin/v1/clients/{id}/users',
    '/admin/v1/clients/{id}/files',
    '/admin/v1/clients/{id}/owner',
    '/admin/v1/clients/{id}/usage',
    '/agent/v1/usage',
    '/admin/v1/family-types/{id}/disable',
    '/admin/v1/family-codes/{code}',
    '/admin/v1/account-groups',
    '/admin/v1/account-groups/members',
    '/admin/v1/account-groups/suspend',
    '/admin/v1/account-groups/activate',
    '/admin/v1/account-groups/delete',
    '/admin/v1/settings',
    '/admin/v1/packages/{uid}/inheritance',
    '/admin/v1/domains/{name}/status',
    '/admin/v1/audit',
    '/admin/v1/jobs',
    '/admin/v1/jobs/{id}',
    '/admin/v1/jobs/{id}/retry',
    '/admin/v1/webhooks',
    '/admin/v1/webhooks/{id}',
    '/admin/v1/webhooks/{id}/deliveries',
    '/admin/v1/webhook-deliveries/{id}/replay',
    '/admin/v1/keys',
    '/admin/v1/keys/{id}/revoke',
    '/admin/v1/clients/{id}/users/{user}/deactivate',
    '/admin/v1/database/backup',
    '/admin/v1/demo',
    '/admin/v1/users',
    '/admin/v1/users/{user}/revoke-tokens',
    '/admin/v1/overview',
    '/admin/v1/overview/history',
    '/admin/v1/session',
    '/admin/v1/api-tokens',
    '/admin/v1/api-tokens/{id}/revoke',
    '/admin/v1/family-types',
    '/admin/v1/subscription-types',
    '/admin/v1/subscriptions/{id}/family-requests',
    '/admin/v1/nodes',
    '/admin/v1/nodes/{id}',
    '/admin/v1/nodes/{id}/drain',
    '/admin/v1/nodes/{id}/undrain',
    '/admin/v1/nodes/{id}/rotate-token',
    '/admin/v1/nodes/{id}/revoke-token',
    '/admin/v1/nodes/{id}/objects',
    '/agent/v1/enrol',
    '/agent/v1/state',
    '/agent/v1/status',
    '/agent/v1/heartbeat',
    '/agent/v1/files/{id}',
    '/api/v1/cpcmd/{fn}',
    '/api/v1/family/activate',
    '/api/v1/family/deactivate',
    '/api/v1/family/list',
    '/api/v1/payments/create',
    '/api/v1/subscriptions/create',
    '/api/v1/user/info',
    '/api/v1/users/login',
    '/api/v1/users/logout',
    '/api/v1/users/register',
    '/api/v1/users/subscriptions',
    '/client/v1/session',
    '/client/v1/session/switch',
    '/client/v1/domains',
    '/client/v1/subscriptions',
    '/client/v1/family-codes',
    '/client/v1/family-codes/{code}/cancel',
    '/client/v1/users',
    '/client/v1/databases',
    '/client/v1/databases/{engine}/{name}',
    '/client/v1/usage',
    '/client/v1/usage/daily',
    '/client/v1/instance',
    '/client/v1/instance/users',
    '/client/v1/instance/users/{user}/deactivate',
  ];

  it('/openapi.json is OpenAPI 3.1 with exactly the /v1, /admin/v1, /api/v1, /client/v1 and /agent/v1 paths, and nothing internal', async () => {
    const res = await get('/openapi.json');
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.info.title).toEqual(expect.any(String));
    const paths = Object.keys(doc.paths);
    expect(paths.sort()).toEqual([...expected].sort());
    expect(doc.components.securitySchemes).toMatchObject({ resellerBasic: { type: 'http', scheme: 'basic' }, operatorBearer: { type: 'http', scheme: 'bearer' } });
  });

  it('every documented operation is a route that exists (not a 404 when called)', async () => {
    const doc = (await get('/openapi.json')).json() as { paths: Record<string, Record<string, unknown>> };
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const method of Object.keys(ops)) {
        const url = path.replace('{id}', '1').replace('{domain_name}', 'x.test').replace('{tag_name}', 'x').replace('{uid}', 'x').replace('{name}', 'x.test').replace('{fn}', 'admin:collect').replace('{user}', '1');
        const res = await t.app.server.inject({ method: method.toUpperCase() as 'GET', url });
        // No credentials: a real route answers 401 (or 200/422 for the public sign-up, 204 for signing
        // out without a session; on the REMP door 400 for an empty login or registration and 403 without a
        // token, as REMP answers), never the 404 of an unknown path.
        const crm = path.startsWith('/api/v1/') && !path.startsWith('/api/v1/cpcmd/');
        const expected = crm && (path === '/api/v1/users/login' || path === '/api/v1/users/register') ? [400] : crm ? [403] : [200, 204, 401, 422];
        expect(expected, `${method} ${path}`).toContain(res.statusCode);
      }
    }
  });

  it('/v1 operations are marked with Basic auth, /admin ones with Bearer, sign-up is public', async () => {
    const doc = (await get('/openapi.json')).json() as { paths: Record<string, Record<string, { security?: unknown[] }>> };
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        if (path.startsWith('/v1/resellers')) expect(op.security, `${method} ${path}`).toBeUndefined();
        // The reseller console's sign-in and brand lookup are public; who-am-I and sign-out take its cookie.
        else if (path === '/v1/branding') expect(op.security, `${method} ${path}`).toBeUndefined();
        else if (path === '/v1/session') expect(op.security, `${method} ${path}`).toEqual(method === 'post' ? undefined : [{ resellerSession: [] }]);
        else if (path.startsWith('/v1/')) expect(op.security, `${method} ${path}`).toEqual([{ resellerBasic: [] }, { resellerSession: [] }]);
        // The console's sign-in is public; who-am-I and sign-out take the session cookie.
        else if (path === '/admin/v1/session') expect(op.security, `${method} ${path}`).toEqual(method === 'post' ? undefined : [{ operatorSession: [] }]);
        // The client area: public sign-in; everything else takes the client session cookie.
        else if (path === '/client/v1/session' && method === 'post') expect(op.security, `${method} ${path}`).toBeUndefined();
        else if (path.startsWith('/client/v1/')) expect(op.security, `${method} ${path}`).toEqual([{ clientSession: [] }]);
        // The REMP CRM door: public sign-in and registration, end-user tokens, per-endpoint API tokens.
        else if (path === '/api/v1/users/login' || path === '/api/v1/users/register') expect(op.security, `${method} ${path}`).toBeUndefined();
        else if (path === '/api/v1/subscriptions/create' || path === '/api/v1/payments/create') expect(op.security, `${method} ${path}`).toEqual([{ crmApiToken: [] }]);
        else if (path.startsWith('/api/v1/') && !path.startsWith('/api/v1/cpcmd/')) expect(op.security, `${method} ${path}`).toEqual([{ crmUser: [] }]);
        // Hosting nodes: the one-time enrolment token buys the node's own token, which the rest take.
        else if (path === '/agent/v1/enrol') expect(op.security, `${method} ${path}`).toEqual([{ nodeEnrolBearer: [] }]);
        else if (path.startsWith('/agent/v1/')) expect(op.security, `${method} ${path}`).toEqual([{ nodeBearer: [] }]);
        else if (path.startsWith('/admin/v1/') && op.security?.length === 2) expect(op.security, `${method} ${path}`).toEqual([{ operatorBearer: [] }, { operatorSession: [] }]);
        else expect(op.security, `${method} ${path}`).toEqual([{ operatorBearer: [] }]);
      }
    }
  });

  it('/docs serves the HTML reference', async () => {
    const res = await get('/docs');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.body.toLowerCase()).toContain('<html');
  });
});

describe('request ids', () => {
  it('echoes a well-formed x-request-id on every kind of response', async () => {
    for (const [url, headers] of [
      ['/healthz', {}],
      ['/v1/clients', {}],
      ['/v1/clients', { authorization: alice.auth }],
      ['/admin/v1/resellers', {}],
      ['/nowhere', {}],
    ] as const) {
      const res = await get(url, { ...headers, 'x-request-id': 'req-abc.123:XYZ' });
      expect(res.headers['x-request-id'], url).toBe('req-abc.123:XYZ');
    }
  });

  it('generates one when absent or malformed', async () => {
    const a = await get('/healthz');
    const b = await get('/healthz');
    expect(a.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id']);
    for (const bad of ['has space', 'x'.repeat(200), '<script>', 'a\tb']) {
      const res = await get('/healthz', { 'x-request-id': bad });
      expect(res.headers['x-request-id'], bad).toMatch(/^[0-9a-f-]{36}$/);
    }
  });
});

describe('unknown paths', () => {
  it('under /v1 → 404 in the HSP shape, whatever the credentials', async () => {
    for (const [method, url, headers] of [
      ['GET', '/v1/nothing', {}],
      ['GET', '/v1/nothing', { authorization: alice.auth }],
      ['POST', '/v1/clients/1/explode', { authorization: alice.auth }],
      ['PATCH', '/v1/clients', { authorization: alice.auth }],
      ['GET', '/v1/', {}],
    ] as const) {
      const res = await t.app.server.inject({ method, url, headers });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      expect(res.json()).toEqual({ errors: { base: ['Not found'] } });
    }
  });

  it('under /admin → 404 in the admin shape', async () => {
    for (const url of ['/admin/v1/nothing', '/admin/v1/resellers/1/explode']) {
      const res = await get(url, { authorization: `Bearer ${t.operatorKey}` });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ error: { code: 'not_found', message: expect.any(String) } });
    }
  });

  it('elsewhere → 404 with a small JSON body', async () => {
    const res = await get('/wp-login.php');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: 'not found' });
  });
});
