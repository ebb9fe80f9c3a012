import { expect } from 'vitest';
import type { TestApp } from '../support/test-app.js';

/** An operator user's console session: the cookie and its CSRF token, as the browser holds them. */
export interface ConsoleSession {
  cookie: string;
  csrf: string;
}

export async function signInOperator(t: TestApp, login = `op-${Math.random().toString(36).slice(2, 8)}`): Promise<ConsoleSession> {
  const password = 'a long operator password';
  const made = await t.app.server.inject({ method: 'POST', url: '/admin/v1/users', headers: { authorization: `Bearer ${t.operatorKey}` }, payload: { login, password, operator: true } });
  expect(made.statusCode, made.body).toBe(201);
  const res = await t.app.server.inject({ method: 'POST', url: '/admin/v1/session', payload: { login, password } });
  expect(res.statusCode, res.body).toBe(200);
  const setCookie = String(res.headers['set-cookie']);
  return { cookie: setCookie.split(';')[0]!, csrf: (res.json() as { csrf_token: string }).csrf_token };
}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** A JSON response body, read loosely: each test asserts the shape it relies on. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Body = Record<string, any>;

/** One request with a given kind of authentication, for the security cases every endpoint gets. */
export async function call(t: TestApp, method: Method, url: string, auth: 'key' | 'none' | 'bad-key' | { session: ConsoleSession; csrf: boolean }, payload?: unknown) {
  const headers: Record<string, string> = {};
  if (auth === 'key') headers.authorization = `Bearer ${t.operatorKey}`;
  else if (auth === 'bad-key') headers.authorization = 'Bearer not-a-real-operator-key';
  else if (auth !== 'none') {
    headers.cookie = auth.session.cookie;
    if (auth.csrf) headers['x-csrf-token'] = auth.session.csrf;
  }
  const res = await t.app.server.inject({ method, url, headers, ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}) });
  return { status: res.statusCode, body: res.json() as Body };
}

/** The admin API's error body: exactly one `error` with a code and a message. */
export function expectAdminError(r: { status: number; body: Body }, status: number, code: string): void {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(Object.keys(r.body)).toEqual(['error']);
  expect(r.body.error.code).toBe(code);
  expect(typeof r.body.error.message).toBe('string');
}
