import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, createTestApp, seedDemoCatalog, type TestApp } from '../support/test-app.js';

let t: TestApp;
let admin: { authorization: string };

beforeAll(async () => {
  t = await createTestApp();
  await seedDemoCatalog(t);
  admin = { authorization: `Bearer ${t.operatorKey}` };
});
afterAll(() => t.close());

const op = (method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: string, payload?: unknown) =>
  t.app.server.inject({ method, url, headers: admin, ...(payload !== undefined ? { payload: payload as object } : {}) });

let n = 0;
const unique = () => `${Date.now().toString(36)}-${n++}`;
const newResellerBody = (overrides: Record<string, unknown> = {}) => {
  const u = unique();
  return { name: `Reseller ${u}`, username: `res-${u}`, email_address: `res-${u}@example.com`, ...overrides };
};

const resellerKeys = [
  'address',
  'application_name',
  'approved_at',
  'city',
  'country',
  'created_at',
  'email_address',
  'first_name',
  'id',
  'last_name',
  'login_hostname',
  'name',
  'phone',
  'postal_code',
  'state',
  'status',
  'suspend_reason',
  'suspended_at',
  'tags',
  'username',
];

async function create(overrides: Record<string, unknown> = {}) {
  const res = await op('POST', '/admin/v1/resellers', newResellerBody(overrides));
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: number; api_token: string; api_key: string; username: string; status: string };
}

const hsp = (token: string, key: string) => t.app.server.inject({ method: 'GET', url: '/v1/clients', headers: { authorization: basic(token, key) } });

describe('POST /admin/v1/resellers', () => {
  it('creates an active reseller with credentials that work at once', async () => {
    const body = newResellerBody({ first_name: 'Phil', tags: ['cpanel', 'Plesk'], application_name: 'whmcs', login_hostname: 'Login.Example.COM' });
    const res = await op('POST', '/admin/v1/resellers', body);
    expect(res.statusCode).toBe(201);
    const r = res.json();
    expect(Object.keys(r).sort()).toEqual([...resellerKeys, 'api_key', 'api_token'].sort());
    expect(r).toMatchObject({ ...body, tags: ['cpanel', 'plesk', 'whmcs'], login_hostname: 'login.example.com', status: 'active', suspended_at: null });
    expect(new Date(r.approved_at).getTime()).not.toBeNaN();
    expect(new Date(r.created_at).toISOString()).toBe(r.created_at);
    expect((await hsp(r.api_token, r.api_key)).statusCode).toBe(200);
  });

  it('never shows the credentials again', async () => {
    const r = await create();
    for (const res of [await op('GET', `/admin/v1/resellers/${r.id}`), await op('GET', '/admin/v1/resellers')]) {
      expect(res.body).not.toContain(r.api_key);
      expect(res.body).not.toContain(r.api_token);
      expect(res.body).not.toMatch(/api_key|api_token|digest/);
    }
  });

  it.each([
    ['missing username', { username: undefined }, 'username', 'must be specified'],
    ['blank name', { name: '  ' }, 'name', 'must be specified'],
    ['bad email', { email_address: 'nope' }, 'email_address', 'is not a valid email address'],
    ['bad login_hostname', { login_hostname: 'not a host' }, 'login_hostname', 'must be a host name such as login.example.com'],
    ['bad tag', { tags: ['Has Space'] }, 'tags', expect.stringMatching(/^must be 1-64/)],
    ['unknown field', { api_key: 'mine' }, 'api_key', 'is not a known attribute'],
    ['status is not writable', { status: 'pending' }, 'status', 'is not a known attribute'],
  ])('%s → 422 in the admin error shape, nothing created', async (_label, overrides, field, message) => {
    const before = (await op('GET', '/admin/v1/resellers')).json().length;
    const res = await op('POST', '/admin/v1/resellers', newResellerBody(overrides));
    expect(res.statusCode).toBe(422);
    expect(res.json()).toEqual({ error: { code: 'validation_failed', message: expect.any(String), fields: expect.any(Object) } });
    expect(res.json().error.fields[field]).toEqual([message]);
    expect((await op('GET', '/admin/v1/resellers')).json().length).toBe(before);
  });

  it('a taken username, in any case → 422 "has already been taken"', async () => {
    const r = await create();
    const res = await op('POST', '/admin/v1/resellers', newResellerBody({ username: r.username.toUpperCase() }));
    expect(res.statusCode).toBe(422);
    expect(res.json().error.fields).toEqual({ username: ['has already been taken'] });
  });
});

describe('POST /admin/v1/resellers: races', () => {
  it('the same username created several times at once: one 201, the rest 422', async () => {
    const username = `race-${unique()}`;
    const results = await Promise.all(Array.from({ length: 4 }, () => op('POST', '/admin/v1/resellers', newResellerBody({ username }))));
    expect(results.map((r) => r.statusCode).sort()).toEqual([201, 422, 422, 422]);
    for (const r of results.filter((x) => x.statusCode === 422)) expect(r.json().error.fields).toEqual({ username: ['has already been taken'] });
  });
});

describe('GET /admin/v1/resellers[/:id]', () => {
  it('lists every reseller in id order, filtered by status', async () => {
    const a = await create();
    const b = await create();
    await op('POST', `/admin/v1/resellers/${b.id}/suspend`, { reason: 'testing' });
    const all = (await op('GET', '/admin/v1/resellers')).json() as { id: number; status: string }[];
    expect(all.map((r) => r.id)).toEqual(expect.arrayContaining([a.id, b.id]));
    expect([...all.map((r) => r.id)].sort((x, y) => x - y)).toEqual(all.map((r) => r.id));
    for (const r of all) expect(Object.keys(r).sort()).toEqual(resellerKeys);

    const active = (await op('GET', '/admin/v1/resellers?status=active')).json() as { id: number; status: string }[];
    expect(active.every((r) => r.status === 'active')).toBe(true);
    expect(active.map((r) => r.id)).toContain(a.id);
    expect(active.map((r) => r.id)).not.toContain(b.id);
    const suspended = (await op('GET', '/admin/v1/resellers?status=suspended')).json() as { id: number }[];
    expect(suspended.map((r) => r.id)).toContain(b.id);
    expect((await op('GET', '/admin/v1/resellers?status=pending')).json()).toEqual([]);
  });

  it('a bad status filter → 422', async () => {
    for (const q of ['status=gone', 'status=active&status=pending', 'status=']) {
      const res = await op('GET', `/admin/v1/resellers?${q}`);
      expect(res.statusCode, q).toBe(422);
      expect(res.json().error.fields).toEqual({ status: ['must be pending, active or suspended'] });
    }
  });

  it('gets one by id; unknown or malformed ids → 404', async () => {
    const r = await create();
    const res = await op('GET', `/admin/v1/resellers/${r.id}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: r.id, username: r.username, status: 'active' });
    for (const id of ['999999999', 'abc', '-1', '1.5', '9'.repeat(30)]) {
      const missing = await op('GET', `/admin/v1/resellers/${id}`);
      expect(missing.statusCode, id).toBe(404);
      expect(missing.json()).toEqual({ error: { code: 'not_found', message: 'reseller not found' } });
    }
  });
});

describe('PATCH /admin/v1/resellers/:id', () => {
  it('sets and clears the login hostname, tags and name', async () => {
    const r = await create({ tags: ['cpanel'] });
    const res = await op('PATCH', `/admin/v1/resellers/${r.id}`, { login_hostname: 'Portal.Brand.test', tags: ['plesk'], name: 'Renamed' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: r.id, login_hostname: 'portal.brand.test', tags: ['plesk'], name: 'Renamed' });
    const cleared = await op('PATCH', `/admin/v1/resellers/${r.id}`, { login_hostname: null });
    expect(cleared.json()).toMatchObject({ login_hostname: null, tags: ['plesk'], name: 'Renamed' });
    expect((await op('PATCH', `/admin/v1/resellers/${r.id}`, {})).json()).toMatchObject({ name: 'Renamed' });
    // Credentials survive a profile edit.
    expect((await hsp(r.api_token, r.api_key)).statusCode).toBe(200);
  });

  it('refuses bad values and unknown or protected fields with 422, unknown resellers with 404', async () => {
    const r = await create();
    for (const payload of [{ login_hostname: 'has space.test' }, { login_hostname: 'single' }, { name: '' }, { tags: 'cpanel' }, { status: 'active' }, { username: 'new-name' }, { api_token: 'x' }]) {
      const res = await op('PATCH', `/admin/v1/resellers/${r.id}`, payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(422);
      expect(res.json().error.code).toBe('validation_failed');
    }
    expect((await op('GET', `/admin/v1/resellers/${r.id}`)).json()).toMatchObject({ username: r.username, status: 'active', login_hostname: null });
    expect((await op('PATCH', '/admin/v1/resellers/999999999', { name: 'x' })).statusCode).toBe(404);
  });
});

describe('reseller lifecycle', () => {
  it('suspend → 403 on the HSP API with the reason kept; activate → works again; both idempotent', async () => {
    const r = await create();
    const suspended = await op('POST', `/admin/v1/resellers/${r.id}/suspend`, { reason: '  unpaid invoice  ' });
    expect(suspended.statusCode).toBe(200);
    expect(suspended.json()).toMatchObject({ status: 'suspended', suspend_reason: 'unpaid invoice' });
    expect(suspended.json().suspended_at).toEqual(expect.any(String));
    expect((await hsp(r.api_token, r.api_key)).statusCode).toBe(403);
    expect((await op('POST', `/admin/v1/resellers/${r.id}/suspend`)).json()).toMatchObject({ status: 'suspended', suspend_reason: 'unpaid invoice' });

    const active = await op('POST', `/admin/v1/resellers/${r.id}/activate`);
    expect(active.statusCode).toBe(200);
    expect(active.json()).toMatchObject({ status: 'active', suspended_at: null, suspend_reason: null });
    expect((await hsp(r.api_token, r.api_key)).statusCode).toBe(200);
    expect((await op('POST', `/admin/v1/resellers/${r.id}/activate`)).json().status).toBe('active');
  });

  it('a bad suspend reason → 422', async () => {
    const r = await create();
    for (const payload of [{ reason: 42 }, { reason: 'x'.repeat(501) }]) {
      expect((await op('POST', `/admin/v1/resellers/${r.id}/suspend`, payload)).statusCode).toBe(422);
    }
    expect((await op('GET', `/admin/v1/resellers/${r.id}`)).json().status).toBe('active');
  });

  it('rotate-key: new credentials work, the old ones stop working at once', async () => {
    const r = await create();
    const res = await op('POST', `/admin/v1/resellers/${r.id}/rotate-key`);
    expect(res.statusCode).toBe(200);
    const rotated = res.json();
    expect(rotated).toMatchObject({ id: r.id, status: 'active' });
    expect(rotated.api_token).not.toBe(r.api_token);
    expect(rotated.api_key).not.toBe(r.api_key);
    expect((await hsp(r.api_token, r.api_key)).statusCode).toBe(401);
    expect((await hsp(rotated.api_token, r.api_key)).statusCode).toBe(401);
    expect((await hsp(r.api_token, rotated.api_key)).statusCode).toBe(401);
    expect((await hsp(rotated.api_token, rotated.api_key)).statusCode).toBe(200);
  });

  it('a suspended reseller can be rotated and stays suspended', async () => {
    const r = await create();
    await op('POST', `/admin/v1/resellers/${r.id}/suspend`);
    const rotated = (await op('POST', `/admin/v1/resellers/${r.id}/rotate-key`)).json();
    expect(rotated.status).toBe('suspended');
    expect((await hsp(rotated.api_token, rotated.api_key)).statusCode).toBe(403);
  });

  it('approve is for pending sign-ups only: an active reseller → 409 and keeps its credentials', async () => {
    const r = await create();
    const res = await op('POST', `/admin/v1/resellers/${r.id}/approve`);
    expect(res.statusCode).toBe(409);
    expect(res.json()).toEqual({ error: { code: 'invalid_state', message: 'reseller is active, not pending' } });
    expect((await hsp(r.api_token, r.api_key)).statusCode).toBe(200);
  });

  it('every lifecycle action on an unknown reseller → 404', async () => {
    for (const action of ['approve', 'suspend', 'activate', 'rotate-key']) {
      const res = await op('POST', `/admin/v1/resellers/999999999/${action}`);
      expect(res.statusCode, action).toBe(404);
      expect(res.json().error.code).toBe('not_found');
    }
  });
});

describe('resellers: security', () => {
  it('no key, a wrong key, or a reseller’s Basic credentials → 401 in the admin shape, nothing changed', async () => {
    const r = await create();
    for (const headers of [{}, { authorization: 'Bearer hpo_wrong' }, { authorization: 'Bearer ' }, { authorization: t.operatorKey }, { authorization: basic(r.api_token, r.api_key) }]) {
      for (const [method, url, payload] of [
        ['GET', '/admin/v1/resellers'],
        ['GET', `/admin/v1/resellers/${r.id}`],
        ['POST', '/admin/v1/resellers', newResellerBody()],
        ['PATCH', `/admin/v1/resellers/${r.id}`, { name: 'Hijacked' }],
        ['POST', `/admin/v1/resellers/${r.id}/suspend`],
        ['POST', `/admin/v1/resellers/${r.id}/rotate-key`],
      ] as const) {
        const res = await t.app.server.inject({ method, url, headers, ...(payload ? { payload } : {}) });
        expect(res.statusCode, `${method} ${url} ${JSON.stringify(headers)}`).toBe(401);
        expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
        expect(res.json()).toEqual({ error: { code: 'unauthenticated', message: expect.any(String) } });
      }
    }
    expect((await op('GET', `/admin/v1/resellers/${r.id}`)).json()).toMatchObject({ name: expect.stringMatching(/^Reseller /), status: 'active' });
    expect((await hsp(r.api_token, r.api_key)).statusCode).toBe(200);
  });
});
