import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInOperator, type ConsoleSession } from '../admin-rest/console-session.js';
import { auditMark, auditSince, testOperatorKeyId } from '../support/audit.js';
import { createReseller, createTestApp, type ResellerFixture, type TestApp } from '../support/test-app.js';

// Issue 12 item 9: operator keys, CRM API tokens and CRM user tokens can be revoked (CLI, admin API,
// console) and stop working at once; CRM user tokens sign out (REMP's logout) and expire when idle.

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Method = 'GET' | 'POST' | 'DELETE';

let t: TestApp;
let reseller: ResellerFixture;
let consoleSession: ConsoleSession;
let ownKeyId: number;

async function inject(method: Method, url: string, headers: Record<string, string> = {}, payload?: unknown) {
  const res = await t.app.server.inject({ method, url, headers, ...(payload !== undefined ? { payload: payload as Json } : {}) });
  let body: Json | string = res.body;
  try {
    body = JSON.parse(res.body) as Json;
  } catch {
    // kept as text
  }
  return { status: res.statusCode, body: body as Json, headers: res.headers };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const operator = () => bearer(t.operatorKey);
const json = { 'content-type': 'application/json' };

async function newOperatorKey(name = 'spare'): Promise<{ id: number; key: string }> {
  const res = await inject('POST', '/admin/v1/keys', { ...operator(), ...json }, { name });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: number; key: string };
}

async function newApiToken(...allow: string[]): Promise<{ id: number; token: string }> {
  const res = await inject('POST', '/admin/v1/api-tokens', { ...operator(), ...json }, { name: `t-${Math.random().toString(36).slice(2, 8)}`, allow });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: number; token: string };
}

let seq = 0;
async function endUser(): Promise<{ id: number; email: string; token: string }> {
  const email = `reader${++seq}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  const res = await inject('POST', '/api/v1/users/register', json, { email, password: 'reader-password' });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return { id: res.body.user.id, email, token: res.body.access.token };
}

async function signInCrm(email: string): Promise<string> {
  const res = await inject('POST', '/api/v1/users/login', json, { email, password: 'reader-password' });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.access.token as string;
}

const userInfo = (token: string) => inject('GET', '/api/v1/user/info', bearer(token));

function expectAdminError(r: { status: number; body: Json }, status: number, code: string): void {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(Object.keys(r.body)).toEqual(['error']);
  expect(r.body.error.code).toBe(code);
}

/** The CRM door's answer to any credential it will not take: REMP's 403 no_authorization body. */
function expectRempRefusal(r: { status: number; body: Json }, message?: string): void {
  expect(r.status, JSON.stringify(r.body)).toBe(403);
  expect(r.body).toMatchObject({ status: 'error', error: 'no_authorization' });
  expect(r.body.message).toMatch(/^Not authorized: /);
  if (message) expect(r.body.message).toBe(message);
}

/** The wrong-credential cases every operator endpoint gets; each must change nothing. */
async function expectOperatorOnly(method: Method, url: string, crmUserToken: string, apiToken: string): Promise<void> {
  for (const headers of [{}, bearer('hpo_not-a-real-key'), bearer(crmUserToken), bearer(apiToken), { authorization: reseller.auth }]) {
    const r = await inject(method, url, headers);
    expectAdminError(r, 401, 'unauthenticated');
    expect(r.headers['www-authenticate']).toMatch(/^Bearer/);
  }
  if (method !== 'GET') {
    // A console session without its CSRF token is refused before anything happens.
    expectAdminError(await inject(method, url, { cookie: consoleSession.cookie }), 403, 'forbidden');
  }
}

beforeAll(async () => {
  t = await createTestApp();
  reseller = await createReseller(t);
  consoleSession = await signInOperator(t);
  ownKeyId = await testOperatorKeyId(t);
});
afterAll(() => t?.close());

describe('operator keys', () => {
  it('list shows every key without its secret; revoking one refuses it (401) at once, and says when', async () => {
    const spare = await newOperatorKey('billing-sync');
    expect((await inject('GET', '/admin/v1/overview', bearer(spare.key))).status).toBe(200);

    const listed = await inject('GET', '/admin/v1/keys', operator());
    expect(listed.status).toBe(200);
    const row = (listed.body as unknown as Json[]).find((k) => k.id === spare.id);
    expect(row).toEqual({ id: spare.id, name: 'billing-sync', created_at: expect.any(String), revoked_at: null });
    expect(JSON.stringify(listed.body)).not.toContain(spare.key);
    expect(JSON.stringify(listed.body)).not.toMatch(/digest|hpo_/);

    const mark = await auditMark(t);
    const revoked = await inject('POST', `/admin/v1/keys/${spare.id}/revoke`, operator());
    expect(revoked.status, JSON.stringify(revoked.body)).toBe(200);
    expect(revoked.body).toEqual({ id: spare.id, name: 'billing-sync', created_at: row!.created_at, revoked_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });

    for (const url of ['/admin/v1/overview', '/admin/v1/keys']) {
      const refused = await inject('GET', url, bearer(spare.key));
      expectAdminError(refused, 401, 'unauthenticated');
    }
    // A revoked key cannot make itself a new one either.
    expectAdminError(await inject('POST', '/admin/v1/keys', { ...bearer(spare.key), ...json }, { name: 'sneaky' }), 401, 'unauthenticated');

    const events = await auditSince(t, mark);
    expect(events.map((e) => e.action)).toEqual(['operator_key.revoked']);
    expect(events[0]).toMatchObject({ actor_kind: 'operator', actor_id: ownKeyId, target_type: 'operator_key', target_id: String(spare.id) });

    // Revoking again changes nothing and answers the same record.
    const again = await inject('POST', `/admin/v1/keys/${spare.id}/revoke`, operator());
    expect(again.status).toBe(200);
    expect(again.body.revoked_at).toBe(revoked.body.revoked_at);
    expect(await auditSince(t, mark)).toHaveLength(1);
    const after = (await inject('GET', '/admin/v1/keys', operator())).body as unknown as Json[];
    expect(after.find((k) => k.id === spare.id)!.revoked_at).toBe(revoked.body.revoked_at);
  });

  it('the key signing the request cannot revoke itself (409), and keeps working', async () => {
    const r = await inject('POST', `/admin/v1/keys/${ownKeyId}/revoke`, operator());
    expectAdminError(r, 409, 'invalid_state');
    expect(r.body.error.message).toContain('another key or from the console');
    expect((await inject('GET', '/admin/v1/keys', operator())).status).toBe(200);
  });

  it('a console session (with its CSRF token) revokes a key', async () => {
    const spare = await newOperatorKey();
    const r = await inject('POST', `/admin/v1/keys/${spare.id}/revoke`, { cookie: consoleSession.cookie, 'x-csrf-token': consoleSession.csrf });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.revoked_at).not.toBeNull();
    expectAdminError(await inject('GET', '/admin/v1/keys', bearer(spare.key)), 401, 'unauthenticated');
  });

  it('unknown, malformed or huge ids are 404 and change nothing', async () => {
    for (const id of ['999999999', 'abc', '-1', '1.5', '9'.repeat(40), '%00']) {
      const r = await inject('POST', `/admin/v1/keys/${id}/revoke`, operator());
      expect(r.status, id).toBeGreaterThanOrEqual(400);
      expect(r.status, id).toBeLessThan(500);
      expect(['not_found', 'malformed_request']).toContain(r.body.error.code);
    }
  });

  it('security: anonymous, a bad key, a CRM user or API token, reseller credentials → 401; a console session without CSRF → 403; nothing is revoked', async () => {
    const spare = await newOperatorKey();
    const user = await endUser();
    const api = await newApiToken();
    await expectOperatorOnly('GET', '/admin/v1/keys', user.token, api.token);
    await expectOperatorOnly('POST', `/admin/v1/keys/${spare.id}/revoke`, user.token, api.token);
    expect((await inject('GET', '/admin/v1/overview', bearer(spare.key))).status).toBe(200);
    // The reseller's own door knows no such route: its key rotation is the reseller's only key change.
    expect((await inject('POST', `/v1/keys/${spare.id}/revoke`, { authorization: reseller.auth })).status).toBe(404);
  });
});

describe('CRM API tokens', () => {
  const PATH = '/api/v1/subscriptions/create';
  const create = (token: string) => inject('POST', PATH, { ...bearer(token), ...json }, { email: 'nobody@example.com', subscription_type_id: 1 });

  it('a revoked token gets the door answer for a bad token, at once; the list shows when', async () => {
    const api = await newApiToken(PATH);
    const before = await create(api.token);
    expect(before.status).not.toBe(403); // authorized: the use case itself answers (here: no such user)

    const mark = await auditMark(t);
    const revoked = await inject('POST', `/admin/v1/api-tokens/${api.id}/revoke`, operator());
    expect(revoked.status, JSON.stringify(revoked.body)).toBe(200);
    expect(revoked.body).toMatchObject({ id: api.id, allow: [PATH], revoked_at: expect.stringMatching(/^\d{4}-/) });
    expect(revoked.body).not.toHaveProperty('token');

    const refused = await create(api.token);
    const garbage = await create('not-a-token-at-all');
    expectRempRefusal(refused, 'Not authorized: invalid API token');
    expect(refused.body).toEqual(garbage.body); // no hint that the token once existed

    const listed = (await inject('GET', '/admin/v1/api-tokens', operator())).body as unknown as Json[];
    expect(listed.find((r) => r.id === api.id)!.revoked_at).toBe(revoked.body.revoked_at);
    expect((await auditSince(t, mark)).map((e) => e.action)).toEqual(['api_token.revoked']);

    const again = await inject('POST', `/admin/v1/api-tokens/${api.id}/revoke`, operator());
    expect(again.body.revoked_at).toBe(revoked.body.revoked_at);
    expect(await auditSince(t, mark)).toHaveLength(1);
  });

  it('unknown or malformed ids → 404', async () => {
    for (const id of ['999999999', 'abc', '0x1']) expectAdminError(await inject('POST', `/admin/v1/api-tokens/${id}/revoke`, operator()), 404, 'not_found');
  });

  it('security: only operators revoke; the token itself, a user token, anonymous → 401; console without CSRF → 403', async () => {
    const api = await newApiToken(PATH);
    const user = await endUser();
    await expectOperatorOnly('POST', `/admin/v1/api-tokens/${api.id}/revoke`, user.token, api.token);
    expect((await create(api.token)).status).not.toBe(403);
    // The CRM door has no revoke endpoint a token could call on itself.
    expect((await inject('POST', `/api/v1/api-tokens/${api.id}/revoke`, bearer(api.token))).status).toBe(404);
  });
});

describe('CRM user tokens: logout (REMP POST /api/v1/users/logout)', () => {
  it('ends only the token it carries: 200 {status: ok}; that token is then refused, the other sign-in goes on', async () => {
    const user = await endUser();
    const second = await signInCrm(user.email);
    const mark = await auditMark(t);
    const out = await inject('POST', '/api/v1/users/logout', bearer(user.token));
    expect(out.status, JSON.stringify(out.body)).toBe(200);
    expect(out.body).toEqual({ status: 'ok' });
    expectRempRefusal(await userInfo(user.token), 'Not authorized: invalid user token');
    expectRempRefusal(await inject('GET', '/api/v1/family/list', bearer(user.token)));
    expect((await userInfo(second)).status).toBe(200);
    const events = await auditSince(t, mark);
    expect(events.map((e) => e.action)).toEqual(['user.logged_out']);
    expect(events[0]).toMatchObject({ actor_kind: 'user', actor_id: user.id, target_id: String(user.id) });
    // Signing in again works.
    expect((await userInfo(await signInCrm(user.email))).status).toBe(200);
  });

  it('a form body or no body at all is the same logout', async () => {
    const user = await endUser();
    const out = await inject('POST', '/api/v1/users/logout', { ...bearer(user.token), 'content-type': 'application/x-www-form-urlencoded' }, 'anything=1');
    expect(out.status).toBe(200);
    expectRempRefusal(await userInfo(user.token));
  });

  it('errors and security: no token, an ended token, an API token, an operator key, a garbage token → 403 no_authorization', async () => {
    const user = await endUser();
    expect((await inject('POST', '/api/v1/users/logout', bearer(user.token))).status).toBe(200);
    const api = await newApiToken('/api/v1/users/logout');
    for (const headers of [{}, bearer(user.token), bearer(api.token), operator(), bearer('x'.repeat(5000)), { authorization: 'Basic eDp5' }]) {
      expectRempRefusal(await inject('POST', '/api/v1/users/logout', headers));
    }
  });

  it("one user's logout never touches another user's token", async () => {
    const a = await endUser();
    const b = await endUser();
    expect((await inject('POST', '/api/v1/users/logout', bearer(a.token))).status).toBe(200);
    expect((await userInfo(b.token)).status).toBe(200);
  });
});

describe("CRM user tokens: an operator revokes a user's tokens", () => {
  it('by id: every token of the user stops; by email (any case) afterwards there is none left; signing in again works', async () => {
    const user = await endUser();
    const second = await signInCrm(user.email);
    const bystander = await endUser();
    const mark = await auditMark(t);
    const r = await inject('POST', `/admin/v1/users/${user.id}/revoke-tokens`, operator());
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toEqual({ user_id: user.id, email: user.email, revoked: 2 });
    expectRempRefusal(await userInfo(user.token));
    expectRempRefusal(await userInfo(second));
    expect((await userInfo(bystander.token)).status).toBe(200);
    expect((await auditSince(t, mark)).map((e) => [e.action, e.changes.revoked_tokens?.after])).toEqual([['user.tokens_revoked', 2]]);

    const byEmail = await inject('POST', `/admin/v1/users/${encodeURIComponent(user.email.toUpperCase())}/revoke-tokens`, operator());
    expect(byEmail.body).toEqual({ user_id: user.id, email: user.email, revoked: 0 });
    expect((await userInfo(await signInCrm(user.email))).status).toBe(200);
  });

  it('from a console session with CSRF', async () => {
    const user = await endUser();
    const r = await inject('POST', `/admin/v1/users/${user.id}/revoke-tokens`, { cookie: consoleSession.cookie, 'x-csrf-token': consoleSession.csrf });
    expect(r.status).toBe(200);
    expect(r.body.revoked).toBe(1);
    expectRempRefusal(await userInfo(user.token));
  });

  it('unknown users, operator users and odd references → 404, never a 500', async () => {
    const operatorUser = await inject('POST', '/admin/v1/users', { ...operator(), ...json }, { login: 'portal-admin-revoke', password: 'portal-admin-password', operator: true });
    expect(operatorUser.status).toBe(201);
    for (const ref of ['999999999', 'ghost@example.com', String(operatorUser.body.id), 'toString', '__proto__', 'a'.repeat(300), '%00']) {
      const r = await inject('POST', `/admin/v1/users/${ref}/revoke-tokens`, operator());
      expect(r.status, ref).toBeGreaterThanOrEqual(400);
      expect(r.status, ref).toBeLessThan(500);
      if (ref !== '%00') expectAdminError(r, 404, 'not_found');
    }
  });

  it('security: the user themself, an API token, anonymous, a reseller → 401; console without CSRF → 403; nothing revoked', async () => {
    const user = await endUser();
    const api = await newApiToken();
    await expectOperatorOnly('POST', `/admin/v1/users/${user.id}/revoke-tokens`, user.token, api.token);
    expect((await userInfo(user.token)).status).toBe(200);
  });
});

describe('OpenAPI', () => {
  it('documents the new operations with their schemas and examples', async () => {
    const doc = (await inject('GET', '/openapi.json')).body;
    for (const [path, method] of [
      ['/admin/v1/keys', 'get'],
      ['/admin/v1/keys/{id}/revoke', 'post'],
      ['/admin/v1/api-tokens/{id}/revoke', 'post'],
      ['/admin/v1/users/{user}/revoke-tokens', 'post'],
      ['/api/v1/users/logout', 'post'],
    ] as const) {
      const op = doc.paths[path]?.[method];
      expect(op, `${method} ${path}`).toBeDefined();
      expect(op.responses['200'], `${method} ${path}`).toBeDefined();
    }
    // Swagger moves a schema's one example onto the media type.
    expect(doc.paths['/admin/v1/keys/{id}/revoke'].post.responses['200'].content['application/json'].example).toMatchObject({ revoked_at: expect.any(String) });
    expect(doc.paths['/admin/v1/keys'].get.responses['200'].content['application/json'].schema.items).toBeDefined();
    expect(doc.paths['/admin/v1/keys'].post.requestBody.content['application/json'].example).toEqual({ name: 'billing-sync' });
    expect(doc.paths['/admin/v1/users/{user}/revoke-tokens'].post.responses['200'].content['application/json'].example).toMatchObject({ revoked: expect.any(Number) });
    expect(doc.paths['/admin/v1/api-tokens/{id}/revoke'].post.responses['200'].content['application/json'].example).toMatchObject({ revoked_at: expect.any(String) });
  });
});
