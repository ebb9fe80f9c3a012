import { createTestApp, type TestApp } from '../support/test-app.js';

export interface Res {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  headers: Record<string, unknown>;
}

export interface Crm {
  t: TestApp;
  /** A REMP call: JSON bodies as objects, raw strings as they are. */
  call(method: 'GET' | 'POST', url: string, opts?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<Res>;
  admin(method: 'GET' | 'POST' | 'PATCH', url: string, payload?: unknown): Promise<Res>;
  /** An end user with a user token. */
  user(email?: string): Promise<{ id: number; email: string; token: string }>;
  apiToken(...allow: string[]): Promise<string>;
  subscriptionType(code: string, extra?: Record<string, unknown>): Promise<{ id: number; code: string }>;
  familyType(body: Record<string, unknown>): Promise<{ id: number }>;
  close(): Promise<void>;
}

let seq = 0;

export async function startCrm(env: Record<string, string> = {}): Promise<Crm> {
  const t = await createTestApp(env);
  const inject = async (method: 'GET' | 'POST' | 'PATCH', url: string, headers: Record<string, string>, payload?: string): Promise<Res> => {
    const res = await t.app.server.inject({ method, url, headers, ...(payload !== undefined ? { payload } : {}) });
    let body: unknown = res.body;
    try {
      body = JSON.parse(res.body);
    } catch {
      // not JSON: kept as text
    }
    return { status: res.statusCode, body, headers: res.headers };
  };
  const crm: Crm = {
    t,
    call: (method, url, opts = {}) => {
      const headers: Record<string, string> = { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...opts.headers };
      let payload: string | undefined;
      if (opts.body !== undefined) {
        payload = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
        headers['content-type'] ??= 'application/json';
      }
      return inject(method, url, headers, payload);
    },
    admin: (method, url, payload) => inject(method, url, { authorization: `Bearer ${t.operatorKey}`, ...(payload !== undefined ? { 'content-type': 'application/json' } : {}) }, payload === undefined ? undefined : JSON.stringify(payload)),
    user: async (email) => {
      const address = email ?? `user${++seq}-${Math.random().toString(36).slice(2, 8)}@example.com`;
      const res = await crm.call('POST', '/api/v1/users/register', { body: { email: address, password: 'secret-pass' } });
      if (res.status !== 200) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
      return { id: res.body.user.id, email: address, token: res.body.access.token };
    },
    apiToken: async (...allow) => {
      const res = await crm.admin('POST', '/admin/v1/api-tokens', { name: `token-${++seq}`, allow });
      if (res.status !== 201) throw new Error(`api token failed: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.token;
    },
    subscriptionType: async (code, extra = {}) => {
      const res = await crm.admin('POST', '/admin/v1/subscription-types', { code, name: code, length: 31, access: ['web'], ...extra });
      if (res.status !== 201) throw new Error(`subscription type failed: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    },
    familyType: async (body) => {
      const res = await crm.admin('POST', '/admin/v1/family-types', body);
      if (res.status !== 201) throw new Error(`family type failed: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    },
    close: () => t.close(),
  };
  return crm;
}
