import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

// CRM user tokens expire after an idle time (HOSTPLANE_CRM_TOKEN_IDLE_SECONDS, 30 days by default):
// each use extends the token, but the last use is written at most once a minute.

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const IDLE = 3600;
let t: TestApp;
let now: Date;

const at = (seconds: number) => {
  now = new Date(now.getTime() + seconds * 1000);
  t.setNow(now);
};

async function inject(method: 'GET' | 'POST', url: string, headers: Record<string, string> = {}, payload?: Json) {
  const res = await t.app.server.inject({ method, url, headers, ...(payload !== undefined ? { payload } : {}) });
  return { status: res.statusCode, body: JSON.parse(res.body) as Json };
}

let seq = 0;
async function register(): Promise<{ id: number; email: string; token: string }> {
  const email = `idle${++seq}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  const res = await inject('POST', '/api/v1/users/register', { 'content-type': 'application/json' }, { email, password: 'idle-password' });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return { id: res.body.user.id, email, token: res.body.access.token };
}

const info = (token: string) => inject('GET', '/api/v1/user/info', { authorization: `Bearer ${token}` });

/** What the database holds as the token's last use (the only way to see that no write happened). */
async function lastUsed(userId: number): Promise<(Date | null)[]> {
  const rows = await t.app.deps.db.selectFrom('user_access_tokens').select('last_used_at').where('user_id', '=', userId).orderBy('id').execute();
  return rows.map((r) => r.last_used_at);
}

beforeAll(async () => {
  t = await createTestApp({ HOSTPLANE_CRM_TOKEN_IDLE_SECONDS: String(IDLE) });
  now = new Date('2030-01-01T00:00:00.000Z');
  t.setNow(now);
});
afterAll(() => t?.close());

describe('idle expiry of CRM user tokens', () => {
  it('a token used now and then lives on past the idle time (sliding); unused for the idle time it is refused in REMP shape', async () => {
    const user = await register();
    for (let i = 0; i < 4; i++) {
      at(IDLE - 120);
      expect((await info(user.token)).status, `use ${i}`).toBe(200);
    }
    // Four uses later the token is older than three idle times and still good.
    at(IDLE - 1);
    expect((await info(user.token)).status).toBe(200);
    at(IDLE);
    const expired = await info(user.token);
    expect(expired.status).toBe(403);
    expect(expired.body).toEqual({ status: 'error', message: 'Not authorized: the user token has expired; sign in again', error: 'no_authorization' });
    // Expired stays expired, on every user endpoint, including logout.
    expect((await info(user.token)).status).toBe(403);
    expect((await inject('POST', '/api/v1/family/list', { authorization: `Bearer ${user.token}` })).status).toBe(403);
    expect((await inject('POST', '/api/v1/users/logout', { authorization: `Bearer ${user.token}` })).status).toBe(403);
    // Signing in again gives a fresh token.
    const login = await inject('POST', '/api/v1/users/login', { 'content-type': 'application/json' }, { email: user.email, password: 'idle-password' });
    expect(login.status).toBe(200);
    expect((await info(login.body.access.token)).status).toBe(200);
  });

  it('the last use is written at most once a minute, not on every request', async () => {
    const user = await register();
    const issuedAt = now;
    at(30);
    expect((await info(user.token)).status).toBe(200);
    expect(await lastUsed(user.id)).toEqual([null]); // under a minute: nothing written
    at(31);
    expect((await info(user.token)).status).toBe(200);
    const firstWrite = now;
    expect((await lastUsed(user.id))[0]?.toISOString()).toBe(firstWrite.toISOString());
    for (let i = 0; i < 5; i++) {
      at(10);
      expect((await info(user.token)).status).toBe(200);
    }
    expect((await lastUsed(user.id))[0]?.toISOString()).toBe(firstWrite.toISOString());
    at(15);
    expect((await info(user.token)).status).toBe(200);
    expect((await lastUsed(user.id))[0]?.toISOString()).toBe(now.toISOString());
    expect(now.getTime() - issuedAt.getTime()).toBe(126_000);
  });

  it('an expired token is not brought back by using it: its last use stays where it was', async () => {
    const user = await register();
    at(90);
    expect((await info(user.token)).status).toBe(200);
    const lastUse = await lastUsed(user.id);
    expect(lastUse[0]?.toISOString()).toBe(now.toISOString());
    at(IDLE);
    expect((await info(user.token)).status).toBe(403);
    expect(await lastUsed(user.id)).toEqual(lastUse);
    at(30);
    expect((await info(user.token)).status).toBe(403);
    expect(await lastUsed(user.id)).toEqual(lastUse);
  });

  it('a token never used expires counted from its issue', async () => {
    const user = await register();
    at(IDLE - 1);
    expect((await info(user.token)).status).toBe(200);
    const other = await register();
    at(IDLE);
    expect((await info(other.token)).status).toBe(403);
    expect((await info(user.token)).status).toBe(403);
  });
});

describe('HOSTPLANE_CRM_TOKEN_IDLE_SECONDS', () => {
  it('defaults to 30 days and takes 60 s to 366 days; anything else is a configuration error', () => {
    expect(loadConfig({}).crmTokenIdleSeconds).toBe(30 * 86_400);
    expect(loadConfig({ HOSTPLANE_CRM_TOKEN_IDLE_SECONDS: '60' }).crmTokenIdleSeconds).toBe(60);
    for (const bad of ['59', '-1', 'soon', '1.5', String(367 * 86_400)]) {
      expect(() => loadConfig({ HOSTPLANE_CRM_TOKEN_IDLE_SECONDS: bad }), bad).toThrow(ConfigError);
    }
  });
});
