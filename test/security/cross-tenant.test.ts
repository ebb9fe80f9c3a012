import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInOperator, type ConsoleSession } from '../admin-rest/console-session.js';
import { createReseller, createTestApp, seedDemoCatalog, type ResellerFixture, type TestApp } from '../support/test-app.js';

// The cross-tenant matrix, generated from the OpenAPI document so that a new operation is covered the
// day it is added: every operation × anonymous, every credential kind it does not take, another tenant's
// credentials on this tenant's records, and a console session without its CSRF token. Refusals must be
// 401/403/404 (never 2xx, never 5xx), no answer may carry the other tenant's data, and after the whole
// run tenant A's records are exactly as they were.

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** The security schemes of the OpenAPI document: each is one kind of credential. */
type Kind = 'resellerBasic' | 'resellerSession' | 'operatorBearer' | 'operatorSession' | 'clientSession' | 'crmUser' | 'crmApiToken' | 'nodeBearer' | 'nodeEnrolBearer';
const KINDS: Kind[] = ['resellerBasic', 'resellerSession', 'operatorBearer', 'operatorSession', 'clientSession', 'crmUser', 'crmApiToken', 'nodeBearer', 'nodeEnrolBearer'];
const SESSION_KINDS = new Set<Kind>(['resellerSession', 'operatorSession', 'clientSession']);

interface Operation {
  method: Method;
  path: string;
  kinds: Kind[];
}

interface Tenant {
  reseller: ResellerFixture;
  resellerSession: { cookie: string; csrf: string };
  client: { id: number; name: string; email: string; domain: string };
  clientSession: { cookie: string; csrf: string };
  webhook: { id: number; url: string };
  deliveryId: number | null;
  owner: { email: string; token: string };
  code: string;
}

let t: TestApp;
let a: Tenant;
let b: Tenant;
let operatorSession: ConsoleSession;
let crmApiToken: string;
/** A hosting node's own token, and an unused enrolment token of the same node. */
let nodeToken: string;
let nodeEnrolToken: string;
let operations: Operation[];
const operator = () => ({ authorization: `Bearer ${t.operatorKey}` });
let seq = 0;

async function inject(method: Method, url: string, headers: Record<string, string> = {}, payload?: unknown) {
  const res = await t.app.server.inject({ method, url, headers, ...(payload !== undefined ? { payload: payload as Json } : {}) });
  let body: unknown = res.body;
  try {
    body = JSON.parse(res.body);
  } catch {
    // not JSON (XML, HTML or empty): kept as text
  }
  return { status: res.statusCode, body, text: res.body };
}

async function expectOk(res: Promise<{ status: number; body: unknown }>, status = 200): Promise<Json> {
  const r = await res;
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  return r.body as Json;
}

async function tenant(label: string, parentTypeId: number): Promise<Tenant> {
  const n = `${label}${++seq}${Math.random().toString(36).slice(2, 7)}`;
  const reseller = await createReseller(t, { name: `Tenant ${n}` });
  const password = `a long password for ${n}`;
  await expectOk(inject('PUT', `/admin/v1/resellers/${reseller.id}/login`, operator(), { login: `login-${n}`, password }));
  const signIn = await t.app.server.inject({ method: 'POST', url: '/v1/session', payload: { login: `login-${n}`, password } });
  expect(signIn.statusCode, signIn.body).toBe(200);
  const resellerSession = { cookie: String(signIn.headers['set-cookie']).split(';')[0]!, csrf: signIn.json().csrf_token as string };

  const domain = `${n}-marker.example`;
  const email = `${n}-marker@example.com`;
  const name = `Client ${n} marker`;
  const made = await expectOk(
    inject('POST', '/v1/clients', { authorization: reseller.auth }, { package_uid: 'spamstopshere-standard', user_count: 1, name, email_address: email, domains: [{ name: domain, mail_servers: [`mail.${domain}`] }] }),
    201,
  );
  const client = { id: made.id as number, name, email, domain };

  const hookUrl = `http://127.0.0.1:9/hooks-${n}-marker`;
  const hook = await expectOk(inject('POST', '/v1/webhooks', { authorization: reseller.auth }, { url: hookUrl, event_types: ['client.updated'] }), 201);
  // An update makes a delivery row (whether or not it can be delivered), so replay has a real target.
  await expectOk(inject('PUT', `/v1/clients/${client.id}`, { authorization: reseller.auth }, { user_count: 2 }));
  const deliveries = await expectOk(inject('GET', `/v1/webhooks/${hook.id}/deliveries`, { authorization: reseller.auth }));
  const list = (deliveries.deliveries ?? deliveries.items ?? deliveries) as Json[];
  const deliveryId = Array.isArray(list) && list[0] ? (list[0].id as number) : null;

  // The client's owner: an end user with a parent subscription, whose family codes the client area shares.
  const ownerEmail = `${n}-owner@example.com`;
  const registered = await expectOk(inject('POST', '/api/v1/users/register', { 'content-type': 'application/json' }, { email: ownerEmail, password: 'owner-password' }));
  await expectOk(inject('POST', '/api/v1/subscriptions/create', { authorization: `Bearer ${crmApiToken}`, 'content-type': 'application/json' }, { email: ownerEmail, subscription_type_id: parentTypeId, is_paid: true }));
  await expectOk(inject('PUT', `/admin/v1/clients/${client.id}/owner`, operator(), { email: ownerEmail }));
  const owner = { email: ownerEmail, token: registered.access.token as string };

  const issued = await expectOk(inject('GET', `/v1/clients/${client.id}/auth_token`, { authorization: reseller.auth }));
  const landing = await t.app.server.inject({ method: 'GET', url: issued.path as string });
  expect(landing.statusCode).toBe(303);
  const clientCookie = String(landing.headers['set-cookie']).split(';')[0]!;
  const clientView = await expectOk(inject('GET', '/client/v1/session', { cookie: clientCookie }));
  const codes = await expectOk(inject('GET', '/client/v1/family-codes', { cookie: clientCookie }));
  expect(codes.codes.length).toBeGreaterThan(0);

  return {
    reseller,
    resellerSession,
    client,
    clientSession: { cookie: clientCookie, csrf: clientView.csrf_token as string },
    webhook: { id: hook.id as number, url: hookUrl },
    deliveryId,
    owner,
    code: codes.codes[0].code as string,
  };
}

/** The headers that present one kind of credential, as tenant `who` holds it. */
function credential(kind: Kind, who: Tenant, withCsrf = true): Record<string, string> {
  const session = (s: { cookie: string; csrf: string }) => ({ cookie: s.cookie, ...(withCsrf ? { 'x-csrf-token': s.csrf } : {}) });
  switch (kind) {
    case 'resellerBasic':
      return { authorization: who.reseller.auth };
    case 'resellerSession':
      return session(who.resellerSession);
    case 'operatorBearer':
      return operator();
    case 'operatorSession':
      return session(operatorSession);
    case 'clientSession':
      return session(who.clientSession);
    case 'crmUser':
      return { authorization: `Bearer ${who.owner.token}` };
    case 'crmApiToken':
      return { authorization: `Bearer ${crmApiToken}` };
    case 'nodeBearer':
      return { authorization: `Bearer ${nodeToken}` };
    case 'nodeEnrolBearer':
      return { authorization: `Bearer ${nodeEnrolToken}` };
  }
}

/** Fills a path template with tenant `of`'s records (or harmless values where a path names no tenant's record). */
function urlFor(path: string, of: Tenant): string {
  const id = path.startsWith('/v1/clients/') || path.startsWith('/admin/v1/clients/')
    ? of.client.id
    : path.startsWith('/v1/webhooks/')
      ? of.webhook.id
      : path.startsWith('/v1/webhook-deliveries/')
        ? (of.deliveryId ?? 999_999)
        : path.startsWith('/admin/v1/resellers/')
          ? of.reseller.id
          : 1;
  return path
    .replace('{id}', String(id))
    .replace(/\{(domain_name|name)\}/, of.client.domain)
    .replace('{tag_name}', 'cpanel')
    .replace('{uid}', 'spamstopshere-standard')
    .replace('{code}', of.code)
    .replace('{fn}', 'admin:collect');
}

/** A body a legitimate caller might send; the checks are about who may call, not about the body. */
function bodyFor(op: Operation, of: Tenant): unknown {
  if (op.method === 'GET' || op.method === 'DELETE') return undefined;
  if (op.path === '/v1/clients/{id}' || op.path === '/v1/domains/{domain_name}/client') return { user_count: 7 };
  if (op.path === '/v1/domains/{domain_name}') return { mail_servers: ['mx.intruder.example'] };
  if (op.path.startsWith('/api/v1/family/')) return { code: of.code };
  return {};
}

/** The strings that only tenant `of` may ever see. */
function markers(of: Tenant): string[] {
  return [of.client.domain, of.client.email, of.client.name, of.webhook.url, of.owner.email, of.code];
}

/** `sent` is what the caller itself put in the request: an error may echo it without leaking anything. */
function expectNoLeak(text: string, of: Tenant, what: string, sent: string[] = []): void {
  for (const m of markers(of).filter((x) => !sent.includes(x))) expect(text.includes(m), `${what} leaked ${m}`).toBe(false);
}

/**
 * The three sign-in doors' own session resources answer anyone: "who am I" is `{signed_in: false}` without
 * a session of that door, and signing out without one is a no-op 204. Both are checked as such.
 */
const SESSION_RESOURCES = new Set(['/v1/session', '/admin/v1/session', '/client/v1/session']);

function isRefusal(op: Operation, res: { status: number; body: unknown }): boolean {
  if (SESSION_RESOURCES.has(op.path) && op.method === 'GET') return res.status === 200 && JSON.stringify(res.body) === '{"signed_in":false}';
  if (SESSION_RESOURCES.has(op.path) && op.method === 'DELETE') return res.status === 204;
  // REMP's CRM door answers a missing or wrong token with 403 no_authorization, as the original does.
  return res.status === 401 || res.status === 403;
}

beforeAll(async () => {
  // Webhook targets on loopback (port 9, discard): deliveries are made and fail, which is all the replay needs.
  t = await createTestApp({ HOSTPLANE_WEBHOOK_ALLOW_PRIVATE: 'true' });
  await seedDemoCatalog(t);
  crmApiToken = (await expectOk(inject('POST', '/admin/v1/api-tokens', operator(), { name: 'matrix', allow: ['/api/v1/subscriptions/create', '/api/v1/payments/create'] }), 201)).token;
  const node = await expectOk(inject('POST', '/admin/v1/nodes', operator(), { name: 'matrix-node', roles: ['web'] }), 201);
  nodeToken = (await expectOk(inject('POST', '/agent/v1/enrol', { authorization: `Bearer ${node.token as string}` }))).token;
  // A new enrolment token leaves the node's token working until it is exchanged, which no check here does.
  nodeEnrolToken = (await expectOk(inject('POST', `/admin/v1/nodes/${node.id as number}/rotate-token`, operator()))).token;
  const parent = await expectOk(inject('POST', '/admin/v1/subscription-types', operator(), { code: 'matrix_parent', name: 'Matrix parent', length: 365, access: ['web'] }), 201);
  await expectOk(inject('POST', '/admin/v1/subscription-types', operator(), { code: 'matrix_child', name: 'Matrix child', length: 365, access: ['web'] }), 201);
  await expectOk(inject('POST', '/admin/v1/family-types', operator(), { parent: 'matrix_parent', child: 'matrix_child', method: 'copy', count: 2, is_paid: true }), 201);
  operatorSession = await signInOperator(t);
  a = await tenant('a', parent.id);
  b = await tenant('b', parent.id);

  const doc = (await expectOk(inject('GET', '/openapi.json'))) as { paths: Record<string, Record<string, { security?: Record<string, unknown>[] }>> };
  operations = Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({
      method: method.toUpperCase() as Method,
      path: path.replace(/:(\w+)/g, '{$1}'),
      kinds: (op.security ?? []).flatMap((s) => Object.keys(s)) as Kind[],
    })),
  );
}, 120_000);
afterAll(() => t?.close());

describe('the matrix covers the API', () => {
  it('reads every operation and every security scheme from /openapi.json', () => {
    expect(operations.length).toBeGreaterThan(100);
    for (const op of operations) for (const k of op.kinds) expect(KINDS, `${op.method} ${op.path}`).toContain(k);
    // Every credential kind protects some operation, so no kind goes untested.
    for (const k of KINDS) expect(operations.some((op) => op.kinds.includes(k)), k).toBe(true);
  });
});

describe('anonymous callers', () => {
  it('every protected operation refuses a call without credentials (401, or REMP\'s 403) and shows nothing of any tenant', async () => {
    const failures: string[] = [];
    for (const op of operations.filter((o) => o.kinds.length > 0)) {
      const res = await inject(op.method, urlFor(op.path, a), bodyFor(op, a) !== undefined ? { 'content-type': 'application/json' } : {}, bodyFor(op, a));
      if (!isRefusal(op, res)) failures.push(`${op.method} ${op.path}: ${res.status} ${res.text.slice(0, 200)}`);
      expectNoLeak(res.text, a, `${op.method} ${op.path}`);
    }
    expect(failures).toEqual([]);
  });
});

describe('the wrong kind of credential', () => {
  it('every operation refuses each credential kind it does not take (401 or 403, never 2xx or 5xx)', async () => {
    const failures: string[] = [];
    let tried = 0;
    for (const op of operations.filter((o) => o.kinds.length > 0)) {
      for (const kind of KINDS.filter((k) => !op.kinds.includes(k))) {
        tried++;
        const payload = bodyFor(op, a);
        const res = await inject(op.method, urlFor(op.path, a), { ...credential(kind, a), ...(payload !== undefined ? { 'content-type': 'application/json' } : {}) }, payload);
        if (!isRefusal(op, res)) failures.push(`${op.method} ${op.path} with ${kind}: ${res.status} ${res.text.slice(0, 200)}`);
        expectNoLeak(res.text, a, `${op.method} ${op.path} with ${kind}`, [a.code]);
      }
    }
    expect(tried).toBeGreaterThan(400);
    expect(failures).toEqual([]);
  });
});

describe("another tenant's credentials", () => {
  it("every reseller operation on tenant A's records answers 404 to tenant B, by key and by console session", async () => {
    const failures: string[] = [];
    const targeted = operations.filter((o) => o.path.startsWith('/v1/') && /\{(id|domain_name)\}/.test(o.path) && (o.kinds.includes('resellerBasic') || o.kinds.includes('resellerSession')));
    expect(targeted.length).toBeGreaterThan(10);
    for (const op of targeted) {
      for (const kind of op.kinds.filter((k) => k === 'resellerBasic' || k === 'resellerSession')) {
        const payload = bodyFor(op, a);
        const res = await inject(op.method, urlFor(op.path, a), { ...credential(kind, b), ...(payload !== undefined ? { 'content-type': 'application/json' } : {}) }, payload);
        if (res.status !== 404) failures.push(`${op.method} ${op.path} as B (${kind}): ${res.status} ${res.text.slice(0, 200)}`);
        expectNoLeak(res.text, a, `${op.method} ${op.path} as B`, [a.client.domain]);
      }
    }
    expect(failures).toEqual([]);
  });

  it("a client session cannot cancel another client's family code", async () => {
    const res = await inject('POST', `/client/v1/family-codes/${a.code}/cancel`, credential('clientSession', b));
    expect(res.status).toBe(404);
    expectNoLeak(res.text, a, 'client code cancel', [a.code]);
  });

  it("no read of any door, with tenant B's credentials of each kind, carries tenant A's data", async () => {
    let reads = 0;
    for (const op of operations.filter((o) => o.method === 'GET' && o.kinds.length > 0)) {
      for (const kind of op.kinds.filter((k) => k !== 'operatorBearer' && k !== 'operatorSession' && k !== 'crmApiToken')) {
        reads++;
        const res = await inject('GET', urlFor(op.path, b), credential(kind, b));
        expect(res.status, `${op.path} as B (${kind}): ${res.text.slice(0, 200)}`).toBeLessThan(500);
        expectNoLeak(res.text, a, `GET ${op.path} as B (${kind})`);
      }
    }
    expect(reads).toBeGreaterThan(30);
  });
});

describe('console sessions without their CSRF token', () => {
  it('every change through a session cookie is refused with 403 when the X-CSRF-Token header is missing or wrong', async () => {
    const failures: string[] = [];
    let tried = 0;
    for (const op of operations.filter((o) => o.method !== 'GET')) {
      for (const kind of op.kinds.filter((k) => SESSION_KINDS.has(k))) {
        // Signing out and the family-code cancel are the session's own; the rest target tenant A's records.
        for (const bad of [undefined, '0'.repeat(64)]) {
          tried++;
          const payload = bodyFor(op, a);
          const headers = { ...credential(kind, a, false), ...(bad ? { 'x-csrf-token': bad } : {}), ...(payload !== undefined ? { 'content-type': 'application/json' } : {}) };
          const res = await inject(op.method, urlFor(op.path, a), headers, payload);
          if (res.status !== 403) failures.push(`${op.method} ${op.path} (${kind}, csrf ${bad ? 'wrong' : 'missing'}): ${res.status} ${res.text.slice(0, 200)}`);
        }
      }
    }
    expect(tried).toBeGreaterThan(40);
    expect(failures).toEqual([]);
  });
});

describe('after the matrix', () => {
  it("tenant A's records and sessions are exactly as they were", async () => {
    const client = await expectOk(inject('GET', `/v1/clients/${a.client.id}`, { authorization: a.reseller.auth }));
    expect(client).toMatchObject({ id: a.client.id, name: a.client.name, email_address: a.client.email, user_count: 2 });
    expect(JSON.stringify(client)).toContain(`mail.${a.client.domain}`);
    expect(JSON.stringify(client)).not.toContain('intruder');
    const hooks = await expectOk(inject('GET', '/v1/webhooks', { authorization: a.reseller.auth }));
    expect(JSON.stringify(hooks)).toContain(a.webhook.url);
    const codes = await expectOk(inject('GET', '/client/v1/family-codes', { cookie: a.clientSession.cookie }));
    expect(codes.codes.find((c: Json) => c.code === a.code)).toMatchObject({ status: 'created' });
    expect((await expectOk(inject('GET', '/v1/session', { cookie: a.resellerSession.cookie }))).signed_in).toBe(true);
    expect((await expectOk(inject('GET', '/admin/v1/session', { cookie: operatorSession.cookie }))).signed_in).toBe(true);
    expect((await expectOk(inject('GET', `/admin/v1/resellers/${a.reseller.id}`, operator()))).status).toBe('active');
  });
});
