import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCrm, type Crm } from './crm-harness.js';

// family/activate checks the user token in the activation's own read rather than in a look-up of its
// own: the token rules (unknown, revoked, disabled user, idle expiry, a use written at most once a
// minute, never reviving an idle token) and their order before the body must be those of every other
// user endpoint.

const IDLE = 3600;
let crm: Crm;
let api: string;
let parentTypeId: number;
let now: Date;

const at = (seconds: number) => {
  now = new Date(now.getTime() + seconds * 1000);
  crm.t.setNow(now);
};

beforeAll(async () => {
  crm = await startCrm({ HOSTPLANE_CRM_TOKEN_IDLE_SECONDS: String(IDLE) });
  now = new Date('2030-01-01T00:00:00.000Z');
  crm.t.setNow(now);
  api = await crm.apiToken('/api/v1/subscriptions/create');
  parentTypeId = (await crm.subscriptionType('token_company', { length: 365 })).id;
  await crm.subscriptionType('token_member', { length: 365 });
  await crm.familyType({ parent: 'token_company', child: 'token_member', method: 'copy', count: 3, is_paid: true });
});
afterAll(() => crm.close());

async function codes(): Promise<string[]> {
  const parent = await crm.user();
  const res = await crm.call('POST', '/api/v1/subscriptions/create', { token: api, body: { email: parent.email, subscription_type_id: parentTypeId, is_paid: true } });
  expect(res.status).toBe(200);
  const rows = await crm.t.app.dbHandle.db.selectFrom('family_requests').select('code').where('master_subscription_id', '=', res.body.subscriptions.id).orderBy('id').execute();
  return rows.map((r) => r.code);
}

const activate = (token: string, body: unknown) => crm.call('POST', '/api/v1/family/activate', { token, body });

/** The code's state and how many subscriptions its would-be user holds: what a refused activation must leave alone. */
async function untouched(code: string, userId: number) {
  const db = crm.t.app.dbHandle.db;
  const request = await db.selectFrom('family_requests').select(['status', 'slave_user_id', 'slave_subscription_id']).where('code', '=', code).executeTakeFirstOrThrow();
  expect(request).toEqual({ status: 'created', slave_user_id: null, slave_subscription_id: null });
  const subs = await db.selectFrom('subscriptions').select('id').where('user_id', '=', userId).execute();
  expect(subs).toEqual([]);
}

async function lastUsed(userId: number): Promise<(string | null)[]> {
  const rows = await crm.t.app.dbHandle.db.selectFrom('user_access_tokens').select('last_used_at').where('user_id', '=', userId).orderBy('id').execute();
  return rows.map((r) => r.last_used_at?.toISOString() ?? null);
}

const refused = (message: string) => ({ status: 403, body: { status: 'error', message, error: 'no_authorization' } });

describe('family/activate checks the user token in its own read', () => {
  it('the use is written at most once a minute, on a refused code as on an accepted one', async () => {
    const [code] = await codes();
    const u = await crm.user();
    at(30);
    expect((await activate(u.token, { code: 'unknown-code' })).status).toBe(404);
    expect(await lastUsed(u.id)).toEqual([null]);
    at(31);
    expect((await activate(u.token, { code: 'unknown-code' })).status).toBe(404);
    const written = now.toISOString();
    expect(await lastUsed(u.id)).toEqual([written]);
    at(10);
    expect((await activate(u.token, { code: code! })).status).toBe(201);
    expect(await lastUsed(u.id)).toEqual([written]);
    at(60);
    expect((await activate(u.token, { code: 'unknown-code' })).status).toBe(404);
    expect(await lastUsed(u.id)).toEqual([now.toISOString()]);
  });

  it('an idle token is refused as expired before the code is looked at, changes nothing and is not revived', async () => {
    const [code] = await codes();
    const u = await crm.user();
    at(90);
    expect((await crm.call('GET', '/api/v1/user/info', { token: u.token })).status).toBe(200);
    const before = await lastUsed(u.id);
    at(IDLE);
    const expired = refused('Not authorized: the user token has expired; sign in again');
    expect(await activate(u.token, { code: code! })).toMatchObject(expired);
    expect(await activate(u.token, { code: 'unknown-code' })).toMatchObject(expired);
    // Before the body too, as on the other user endpoints.
    expect(await activate(u.token, '{"code":')).toMatchObject(expired);
    expect(await activate(u.token, { code: 5 })).toMatchObject(expired);
    await untouched(code!, u.id);
    expect(await lastUsed(u.id)).toEqual(before);
    // A fresh sign-in activates the same code.
    const login = await crm.call('POST', '/api/v1/users/login', { body: { email: u.email, password: 'secret-pass' } });
    expect(login.status).toBe(200);
    expect((await activate(login.body.access.token, { code: code! })).status).toBe(201);
  });

  it('a revoked token, a disabled user, an unknown, an overlong or a missing token: 403, the code stays unused', async () => {
    const [code] = await codes();
    const loggedOut = await crm.user();
    expect((await crm.call('POST', '/api/v1/users/logout', { token: loggedOut.token })).status).toBe(200);
    const revokedByOperator = await crm.user();
    expect((await crm.admin('POST', `/admin/v1/users/${revokedByOperator.id}/revoke-tokens`)).status).toBe(200);
    const disabled = await crm.user();
    await crm.t.app.dbHandle.db.updateTable('users').set({ disabled_at: now }).where('id', '=', disabled.id).execute();
    const invalid = refused('Not authorized: invalid user token');
    for (const [who, token] of [
      ['logged out', loggedOut.token],
      ['revoked by an operator', revokedByOperator.token],
      ['disabled user', disabled.token],
      ['unknown', 'not-a-token'],
      ['overlong', 'x'.repeat(201)],
      ['an API token', api],
    ] as const) {
      for (const body of [{ code: code! }, { code: 'unknown-code' }, '{"code":', '', { code: code!, other: 1 }]) {
        expect(await activate(token, body), `${who} ${JSON.stringify(body)}`).toMatchObject(invalid);
      }
    }
    expect(await crm.call('POST', '/api/v1/family/activate', { body: { code: code! } })).toMatchObject(refused('Not authorized: no user token given'));
    expect(await crm.call('GET', `/api/v1/family/activate?code=${code!}`, { token: 'not-a-token' })).toMatchObject(invalid);
    for (const u of [loggedOut, revokedByOperator, disabled]) await untouched(code!, u.id);
    const audit = await crm.t.app.dbHandle.db.selectFrom('audit_events').select('id').where('action', '=', 'family_request.accepted').where('actor_id', 'in', [loggedOut.id, revokedByOperator.id, disabled.id]).execute();
    expect(audit).toEqual([]);
  });

  it('a chunked body or a GET with a body is checked before the body is read, then activates as any other', async () => {
    const [first, second] = await codes();
    const u = await crm.user();
    const chunked = (token: string, code: string) =>
      crm.t.app.server.inject({ method: 'POST', url: '/api/v1/family/activate', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, payload: JSON.stringify({ code }) });
    const bad = await chunked('not-a-token', first!);
    expect(bad.statusCode).toBe(403);
    expect(JSON.parse(bad.body)).toEqual({ status: 'error', message: 'Not authorized: invalid user token', error: 'no_authorization' });
    await untouched(first!, u.id);
    expect((await crm.call('GET', '/api/v1/family/activate', { token: 'not-a-token', body: { code: first! } })).status).toBe(403);
    await untouched(first!, u.id);
    expect((await chunked(u.token, first!)).statusCode).toBe(201);
    const other = await crm.user();
    expect((await crm.call('GET', '/api/v1/family/activate', { token: other.token, body: { code: second! } })).status).toBe(201);
  });
});
