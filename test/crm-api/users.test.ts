import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCrm, type Crm } from './crm-harness.js';

let crm: Crm;
beforeAll(async () => {
  crm = await startCrm();
});
afterAll(() => crm.close());

describe('users', () => {
  it('register, login with JSON or a form, info', async () => {
    const reg = await crm.call('POST', '/api/v1/users/register', { body: { email: 'Jane@Example.com', password: 'jane-secret', first_name: 'Jane', last_name: 'Doe' } });
    expect(reg).toMatchObject({ status: 200, body: { status: 'ok', user: { email: 'jane@example.com', first_name: 'Jane', last_name: 'Doe' }, access: { token: expect.any(String) } } });
    const json = await crm.call('POST', '/api/v1/users/login', { body: { email: 'jane@example.com', password: 'jane-secret' } });
    expect(json.status).toBe(200);
    const form = await crm.call('POST', '/api/v1/users/login', { body: 'email=JANE%40example.com&password=jane-secret', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(200);
    expect(form.body.access.token).not.toBe(json.body.access.token);
    const info = await crm.call('GET', '/api/v1/user/info', { token: form.body.access.token });
    expect(info).toMatchObject({ status: 200, body: { status: 'ok', user: { id: reg.body.user.id, email: 'jane@example.com' } } });
    // Tokens are stored as digests only.
    const stored = await crm.t.app.dbHandle.db.selectFrom('user_access_tokens').select('token_digest').execute();
    expect(stored.map((r) => r.token_digest)).not.toContain(form.body.access.token);
  });

  it('a taken email, bad input and unknown fields are 400s, never 500', async () => {
    await crm.user('taken@example.com');
    expect(await crm.call('POST', '/api/v1/users/register', { body: { email: 'TAKEN@example.com', password: 'whatever1' } })).toMatchObject({ status: 400, body: { code: 'email_taken' } });
    expect(await crm.call('POST', '/api/v1/users/register', { body: { email: 'not-an-email', password: 'whatever1' } })).toMatchObject({ status: 400, body: { message: 'Payload error' } });
    expect(await crm.call('POST', '/api/v1/users/register', { body: { email: 'x@example.com', password: 'whatever1', admin: true } })).toMatchObject({ status: 400, body: { message: 'Payload error' } });
    expect(await crm.call('POST', '/api/v1/users/login', { body: '{' })).toMatchObject({ status: 400, body: { message: 'Malformed JSON' } });
    expect(await crm.call('POST', '/api/v1/users/login', { body: { email: ['a'], password: { x: 1 } } })).toMatchObject({ status: 400 });
    expect((await crm.call('POST', '/api/v1/users/login', { body: '\u0000\uffff', headers: { 'content-type': 'text/plain' } })).status).toBe(400);
  });

  it('wrong passwords are refused alike for unknown accounts, then rate-limited per account', async () => {
    const u = await crm.user('limited@example.com');
    expect(await crm.call('POST', '/api/v1/users/login', { body: { email: 'nobody@example.com', password: 'x' } })).toMatchObject({ status: 400, body: { status: 'error', error: 'auth_failed' } });
    for (let i = 0; i < 10; i++) expect((await crm.call('POST', '/api/v1/users/login', { body: { email: u.email, password: 'wrong' } })).status).toBe(400);
    const blocked = await crm.call('POST', '/api/v1/users/login', { body: { email: u.email, password: 'secret-pass' } });
    expect(blocked.status).toBe(429);
    expect(blocked.headers['retry-after']).toBeDefined();
  });
});

describe('subscriptions/create', () => {
  it('is idempotent with an Idempotency-Key, and refuses unknown users, types and fields', async () => {
    const api = await crm.apiToken('/api/v1/subscriptions/create');
    const type = await crm.subscriptionType('idem_type');
    const u = await crm.user();
    const body = { email: u.email, subscription_type_id: type.id, is_paid: true, note: 'first' };
    const a = await crm.call('POST', '/api/v1/subscriptions/create', { token: api, body, headers: { 'idempotency-key': 'k-1' } });
    const b = await crm.call('POST', '/api/v1/subscriptions/create', { token: api, body, headers: { 'idempotency-key': 'k-1' } });
    expect(a.status).toBe(200);
    expect(b.body).toEqual(a.body);
    expect(b.headers['idempotency-replayed']).toBe('true');
    expect((await crm.call('GET', '/api/v1/users/subscriptions', { token: u.token })).body.subscriptions).toHaveLength(1);

    expect(await crm.call('POST', '/api/v1/subscriptions/create', { token: api, body: { ...body, email: 'ghost@example.com' } })).toMatchObject({ status: 404, body: { status: 'error', code: 'user_not_found' } });
    expect(await crm.call('POST', '/api/v1/subscriptions/create', { token: api, body: { ...body, subscription_type_id: 999999 } })).toMatchObject({ status: 404, body: { code: 'subscription_type_not_found' } });
    expect(await crm.call('POST', '/api/v1/subscriptions/create', { token: api, body: { ...body, price: 3 } })).toMatchObject({ status: 400, body: { message: 'Payload error' } });
    expect(await crm.call('POST', '/api/v1/subscriptions/create', { token: api, body: { ...body, start_time: 'yesterday' } })).toMatchObject({ status: 400, body: { message: 'Payload error' } });
  });
});
