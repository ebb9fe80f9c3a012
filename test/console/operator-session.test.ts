import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditMark, auditSince } from '../support/audit.js';
import { createReseller, createTestApp, type TestApp } from '../support/test-app.js';

// The web console's door into the admin API: an operator user's session cookie, its CSRF token on
// every change, sign-out, rate-limited sign-in with an audit trail, the dashboard counts, and how
// /console itself is served.

let t: TestApp;
let admin: { authorization: string };
const LOGIN = 'console-operator';
const PASSWORD = 'correct horse battery staple';

beforeAll(async () => {
  t = await createTestApp();
  admin = { authorization: `Bearer ${t.operatorKey}` };
  const made = await t.app.server.inject({ method: 'POST', url: '/admin/v1/users', headers: admin, payload: { login: LOGIN, password: PASSWORD, operator: true } });
  expect(made.statusCode, made.body).toBe(201);
});
afterAll(() => t.close());

async function signIn(login = LOGIN, password = PASSWORD, ip = '203.0.113.7') {
  const res = await t.app.server.inject({ method: 'POST', url: '/admin/v1/session', payload: { login, password }, remoteAddress: ip });
  const setCookie = res.headers['set-cookie'];
  const header = Array.isArray(setCookie) ? setCookie[0] : setCookie;
  const cookie = header ? header.split(';')[0]! : '';
  return { res, header: header ?? '', cookie, csrf: res.statusCode === 200 ? (res.json() as { csrf_token: string }).csrf_token : '' };
}

describe('operator console session', () => {
  it('signs an operator user in with an HttpOnly, SameSite=Lax cookie scoped to the admin API, and audits it', async () => {
    const mark = await auditMark(t);
    const { res, header, cookie, csrf } = await signIn();
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ signed_in: true, user: { login: LOGIN }, csrf_token: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(res.headers['cache-control']).toBe('no-store');
    expect(header).toMatch(/^hp_operator=[A-Za-z0-9_-]{40,}; /);
    expect(header).toContain('HttpOnly');
    expect(header).toContain('SameSite=Lax');
    expect(header).toContain('Path=/admin/v1');
    expect(header).toContain('Secure'); // the test server's public URL is https
    expect(res.body).not.toContain(cookie.split('=')[1]);

    const who = await t.app.server.inject({ method: 'GET', url: '/admin/v1/session', headers: { cookie } });
    expect(who.statusCode).toBe(200);
    expect(who.json()).toMatchObject({ user: { login: LOGIN }, csrf_token: csrf });

    const events = await auditSince(t, mark);
    expect(events.map((e) => e.action)).toEqual(['operator.logged_in']);
    expect(events[0]).toMatchObject({ actor_kind: 'user', target_type: 'user', source_ip: '203.0.113.7' });
  });

  it('refuses a wrong password or an unknown login with one answer, audited as a failure', async () => {
    const mark = await auditMark(t);
    const wrong = await signIn(LOGIN, 'nope', '203.0.113.8');
    const unknown = await signIn('nobody-here', PASSWORD, '203.0.113.8');
    for (const r of [wrong, unknown]) {
      expect(r.res.statusCode).toBe(401);
      expect(r.res.json()).toEqual({ error: { code: 'unauthenticated', message: 'wrong login or password' } });
      expect(r.header).toBe('');
    }
    const events = await auditSince(t, mark);
    expect(events.map((e) => e.action)).toEqual(['operator.login_failed', 'operator.login_failed']);
    expect(JSON.stringify(events)).not.toContain(PASSWORD);
    expect(JSON.stringify(events)).not.toContain('"nope"');
  });

  it('refuses a portal or CRM user: only operator users sign in to the console', async () => {
    const made = await t.app.server.inject({ method: 'POST', url: '/admin/v1/users', headers: admin, payload: { login: 'end-user@example.com', password: PASSWORD } });
    expect(made.statusCode, made.body).toBe(201);
    expect((await signIn('end-user@example.com', PASSWORD, '203.0.113.9')).res.statusCode).toBe(401);
  });

  it('the session works on the admin API; a change needs the CSRF token of that session', async () => {
    const { cookie, csrf } = await signIn();
    const reseller = await createReseller(t);
    const list = await t.app.server.inject({ method: 'GET', url: '/admin/v1/resellers', headers: { cookie } });
    expect(list.statusCode).toBe(200);

    const noToken = await t.app.server.inject({ method: 'POST', url: `/admin/v1/resellers/${reseller.id}/suspend`, headers: { cookie }, payload: {} });
    expect(noToken.statusCode).toBe(403);
    expect(noToken.json().error.message).toContain('x-csrf-token');
    const other = await signIn();
    const foreignToken = await t.app.server.inject({ method: 'POST', url: `/admin/v1/resellers/${reseller.id}/suspend`, headers: { cookie, 'x-csrf-token': other.csrf }, payload: {} });
    expect(foreignToken.statusCode).toBe(403);
    expect((await t.app.server.inject({ method: 'GET', url: `/admin/v1/resellers/${reseller.id}`, headers: admin })).json().status).toBe('active');

    const mark = await auditMark(t);
    const ok = await t.app.server.inject({ method: 'POST', url: `/admin/v1/resellers/${reseller.id}/suspend`, headers: { cookie, 'x-csrf-token': csrf }, payload: { reason: 'console test' } });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().status).toBe('suspended');
    const [event] = await auditSince(t, mark);
    expect(event).toMatchObject({ action: 'reseller.suspended', actor_kind: 'user' });
  });

  it('without a cookie or key the admin API is 401; a made-up cookie too', async () => {
    expect((await t.app.server.inject({ method: 'GET', url: '/admin/v1/overview' })).statusCode).toBe(401);
    expect((await t.app.server.inject({ method: 'GET', url: '/admin/v1/overview', headers: { cookie: 'hp_operator=made-up' } })).statusCode).toBe(401);
    const anonymous = await t.app.server.inject({ method: 'GET', url: '/admin/v1/session', headers: { cookie: 'hp_operator=made-up' } });
    expect(anonymous.statusCode).toBe(200);
    expect(anonymous.json()).toEqual({ signed_in: false });
  });

  it('signing out needs the CSRF token, ends the session and clears the cookie', async () => {
    const { cookie, csrf } = await signIn();
    expect((await t.app.server.inject({ method: 'DELETE', url: '/admin/v1/session', headers: { cookie } })).statusCode).toBe(403);
    const out = await t.app.server.inject({ method: 'DELETE', url: '/admin/v1/session', headers: { cookie, 'x-csrf-token': csrf } });
    expect(out.statusCode).toBe(204);
    expect(String(out.headers['set-cookie'])).toMatch(/^hp_operator=; .*Max-Age=0/);
    expect((await t.app.server.inject({ method: 'GET', url: '/admin/v1/overview', headers: { cookie } })).statusCode).toBe(401);
  });

  it('after 10 wrong passwords for one login, even the right one waits (429 with Retry-After)', async () => {
    const login = 'rate-limited-operator';
    await t.app.server.inject({ method: 'POST', url: '/admin/v1/users', headers: admin, payload: { login, password: PASSWORD, operator: true } });
    for (let i = 0; i < 10; i++) expect((await signIn(login, `wrong-${i}`, `198.51.100.${i + 1}`)).res.statusCode).toBe(401);
    const blocked = await signIn(login, PASSWORD, '198.51.100.99');
    expect(blocked.res.statusCode).toBe(429);
    expect(Number(blocked.res.headers['retry-after'])).toBeGreaterThan(0);
    expect(blocked.header).toBe('');
  });
});

describe('GET /admin/v1/overview', () => {
  it('counts resellers, clients, live domains and jobs by state', async () => {
    const before = (await t.app.server.inject({ method: 'GET', url: '/admin/v1/overview', headers: admin })).json();
    const r = await createReseller(t);
    await t.app.server.inject({ method: 'POST', url: '/admin/v1/demo', headers: admin });
    const made = await t.app.server.inject({
      method: 'POST',
      url: '/v1/clients',
      headers: { authorization: r.auth },
      payload: { package_uid: 'spamstopshere-standard', user_count: 1, email_address: 'o@example.com', name: 'Overview', domains: [{ name: 'overview-count.test', mail_servers: ['mx.overview-count.test'] }] },
    });
    expect(made.statusCode, made.body).toBe(201);
    const after = await t.app.server.inject({ method: 'GET', url: '/admin/v1/overview', headers: admin });
    expect(after.statusCode).toBe(200);
    const body = after.json();
    expect(Object.keys(body)).toEqual(['resellers', 'clients', 'domains', 'jobs']);
    expect(body.resellers.active).toBe(before.resellers.active + 2); // ours and the demo's
    expect(body.clients.active).toBe(before.clients.active + 1);
    expect(body.domains.initializing).toBe(before.domains.initializing + 1);
    expect(body.jobs).toEqual({ queued: expect.any(Number), running: expect.any(Number), succeeded: expect.any(Number), failed: expect.any(Number) });
  });
});

describe('/console', () => {
  it('serves the single-page console with a strict CSP, never cached, on every app path', async () => {
    for (const url of ['/console', '/console/', '/console/login', '/console/clients', '/console/jobs?state=failed']) {
      const res = await t.app.server.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toContain('text/html');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['content-security-policy']).toContain("script-src 'self'");
      expect(res.headers['content-security-policy']).toContain("style-src 'self'");
      expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(res.headers['content-security-policy']).not.toContain('unsafe-inline');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['referrer-policy']).toBe('same-origin');
      expect(res.body).toContain('<div id="root"></div>');
    }
  });

  it('hashed assets are cached for a year; a missing one is a 404, not the app', async () => {
    const index = (await t.app.server.inject({ method: 'GET', url: '/console' })).body;
    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(index)?.[1];
    expect(script).toBeDefined();
    const res = await t.app.server.inject({ method: 'GET', url: script! });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('javascript');
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect((await t.app.server.inject({ method: 'GET', url: '/console/assets/missing-abc123.js' })).statusCode).toBe(404);
  });

  it('the server-rendered client pages keep their routes', async () => {
    const page = await t.app.server.inject({ method: 'GET', url: '/console/clients/1' });
    expect(page.statusCode).toBe(401);
    expect(page.body).toContain('Please log in');
    expect((await t.app.server.inject({ method: 'GET', url: '/console/clients/1/login' })).body).toContain('Sign in');
  });

  it('the OpenAPI document lists the console session and the overview', async () => {
    const doc = (await t.app.server.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/admin/v1/session', '/admin/v1/overview']));
    expect(doc.components.securitySchemes.operatorSession).toMatchObject({ type: 'apiKey', in: 'cookie', name: 'hp_operator' });
    expect(Object.keys(doc.paths).some((p: string) => p.startsWith('/console'))).toBe(false);
  });
});
