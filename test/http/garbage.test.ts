import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReseller, createTestApp, seedDemoCatalog, type ResellerFixture, type TestApp } from '../support/test-app.js';

/**
 * No input may produce a 500: every write endpoint gets wrong types, nested nulls, huge strings,
 * arrays where objects belong, NUL characters, deep nesting and bytes that are not JSON.
 */
let t: TestApp;
let alice: ResellerFixture;
let victim: ResellerFixture;
let clientId: number;
let domain: string;
let admin: { authorization: string };

beforeAll(async () => {
  t = await createTestApp();
  await seedDemoCatalog(t);
  alice = await createReseller(t);
  victim = await createReseller(t);
  admin = { authorization: `Bearer ${t.operatorKey}` };
  domain = `garbage-${Date.now().toString(36)}.test`;
  const res = await t.app.server.inject({
    method: 'POST',
    url: '/v1/clients',
    headers: { authorization: alice.auth },
    payload: { package_uid: 'spamstopshere-standard', user_count: 1, domains: [{ name: domain }] },
  });
  expect(res.statusCode).toBe(201);
  clientId = res.json().id;
});
afterAll(() => t.close());

type Method = 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'GET';
interface Endpoint {
  method: Method;
  url: () => string;
  auth: () => Record<string, string>;
  fields: string[];
}

const hsp = () => ({ authorization: alice.auth });
const op = () => admin;
const resellerFields = ['name', 'first_name', 'last_name', 'email_address', 'address', 'city', 'state', 'postal_code', 'country', 'phone', 'username', 'application_name', 'tags'];
const packageFields = ['uid', 'name', 'description', 'position', 'free_trial', 'tags', 'domain_cost_cents', 'mailbox_cost_cents', 'limits', 'features', 'parent_uid'];
const clientFields = ['package_uid', 'user_count', 'email_address', 'name', 'domains'];

const endpoints: Endpoint[] = [
  { method: 'POST', url: () => '/v1/clients', auth: hsp, fields: clientFields },
  { method: 'PUT', url: () => `/v1/clients/${clientId}`, auth: hsp, fields: clientFields },
  { method: 'PUT', url: () => `/v1/domains/${domain}/client`, auth: hsp, fields: clientFields },
  { method: 'PUT', url: () => `/v1/domains/${domain}`, auth: hsp, fields: ['mail_servers'] },
  { method: 'POST', url: () => '/v1/resellers', auth: () => ({}), fields: ['captcha', 'reseller'] },
  { method: 'POST', url: () => '/admin/v1/resellers', auth: op, fields: [...resellerFields, 'login_hostname'] },
  { method: 'PATCH', url: () => `/admin/v1/resellers/${victim.id}`, auth: op, fields: ['login_hostname', 'tags', 'name'] },
  { method: 'POST', url: () => `/admin/v1/resellers/${victim.id}/suspend`, auth: op, fields: ['reason'] },
  { method: 'POST', url: () => `/admin/v1/resellers/${victim.id}/activate`, auth: op, fields: [] },
  { method: 'POST', url: () => `/admin/v1/resellers/${victim.id}/approve`, auth: op, fields: [] },
  { method: 'POST', url: () => `/admin/v1/resellers/${victim.id}/rotate-key`, auth: op, fields: [] },
  { method: 'POST', url: () => '/admin/v1/packages', auth: op, fields: packageFields },
  { method: 'PATCH', url: () => '/admin/v1/packages/spamstopshere-enterprise', auth: op, fields: packageFields.filter((f) => f !== 'uid') },
  { method: 'POST', url: () => '/admin/v1/features', auth: op, fields: ['code', 'name', 'blurb', 'description', 'position'] },
  { method: 'PUT', url: () => `/admin/v1/domains/${domain}/status`, auth: op, fields: ['status'] },
  { method: 'POST', url: () => `/admin/v1/clients/${clientId}/restore`, auth: op, fields: [] },
  { method: 'POST', url: () => '/admin/v1/keys', auth: op, fields: ['name'] },
  { method: 'POST', url: () => '/admin/v1/demo', auth: op, fields: [] },
];

/** Deeply nested JSON, built as text: too deep for JSON.stringify in a test worker. */
class RawJson {
  constructor(readonly text: string) {}
}
const deep = (levels: number) => new RawJson('{"a":['.repeat(levels) + '"x"' + ']}'.repeat(levels));
const toBody = (payload: unknown): string => {
  if (payload instanceof RawJson) return payload.text;
  // Splice raw parts into an otherwise ordinary payload.
  const parts: string[] = [];
  const text = JSON.stringify(payload, (_k, v: unknown) => {
    if (v instanceof RawJson) {
      parts.push(v.text);
      return `@@RAW${parts.length - 1}@@`;
    }
    return v;
  });
  return text.replace(/"@@RAW(\d+)@@"/g, (_m, i: string) => parts[Number(i)]!);
};

const huge = 'x'.repeat(200_000);
const badValues: [string, unknown][] = [
  ['null', null],
  ['empty array', []],
  ['empty object', {}],
  ['array of null', [null]],
  ['array of objects', [{}]],
  ['array of arrays', [[]]],
  ['nested nulls', { a: null, b: [null, { c: null }] }],
  ['huge string', huge],
  ['array of huge strings', [huge.slice(0, 50_000), huge.slice(0, 50_000)]],
  ['many entries', Array.from({ length: 5000 }, (_, i) => `x${i}.test`)],
  ['negative', -1],
  ['fraction', 1.5],
  ['int4 overflow', 2 ** 31],
  ['beyond safe integer', 2 ** 60],
  ['huge float', 1e308],
  ['negative zero', -0],
  ['boolean', true],
  ['empty string', ''],
  ['blank string', '   '],
  ['NUL character', 'a\u0000b'],
  ['control characters', '\u0001\u0002\u001f'],
  ['lone surrogate', '\ud800'],
  ['emoji and RTL', '😀\u202ename'],
  ['SQL-ish', "'; drop table resellers; --"],
  ['LIKE wildcards', '%_\\'],
  ['number as string', '12'],
  ['proto key', JSON.parse('{"__proto__": {"polluted": true}}')],
  ['deep nesting', deep(20_000)],
];

function payloadsFor(e: Endpoint): [string, unknown][] {
  const out: [string, unknown][] = [
    ['empty object', {}],
    ['empty array', []],
    ['array of objects', [{}, {}]],
    ['JSON null', null],
    ['JSON string', 'hello'],
    ['JSON number', 42],
    ['JSON true', true],
    ['deep nesting', deep(50_000)],
    ['proto pollution', JSON.parse('{"__proto__": {"admin": true}, "constructor": {"prototype": {"admin": true}}}')],
  ];
  for (const field of e.fields) for (const [label, value] of badValues) out.push([`${field}: ${label}`, { [field]: value }]);
  if (e.fields.includes('domains')) {
    for (const [label, value] of badValues) {
      out.push([`domains[].name: ${label}`, { package_uid: 'spamstopshere-standard', user_count: 1, domains: [{ name: value }] }]);
      out.push([`domains[].mail_servers: ${label}`, { package_uid: 'spamstopshere-standard', user_count: 1, domains: [{ name: 'g.test', mail_servers: value }] }]);
      out.push([`domains[].mail_servers[]: ${label}`, { package_uid: 'spamstopshere-standard', user_count: 1, domains: [{ name: 'g.test', mail_servers: [value] }] }]);
      out.push([`complete client, name: ${label}`, { package_uid: 'spamstopshere-standard', user_count: 1, name: value, email_address: value, domains: [{ name: `g${Math.random().toString(36).slice(2)}.test` }] }]);
      out.push([`client wrapper: ${label}`, { client: value }]);
    }
  }
  if (e.fields.includes('mail_servers')) for (const [label, value] of badValues) out.push([`mail_servers[]: ${label}`, { mail_servers: [value] }]);
  if (e.fields.includes('reseller')) {
    for (const field of [...resellerFields, 'unknown']) {
      for (const [label, value] of badValues) out.push([`reseller.${field}: ${label}`, { captcha: { id: 'x', answer: 'y' }, reseller: { name: 'N', email_address: 'n@example.com', username: 'garbage-user', [field]: value } }]);
    }
    for (const [label, value] of badValues) {
      out.push([`captcha.id: ${label}`, { captcha: { id: value, answer: 'friday' }, reseller: {} }]);
      out.push([`captcha.answer: ${label}`, { captcha: { id: 'abc', answer: value }, reseller: {} }]);
    }
  }
  if (e.fields.includes('limits')) for (const [label, value] of badValues) out.push([`limits.max_users: ${label}`, { uid: `g-${Math.random().toString(36).slice(2)}`, name: 'G', limits: { max_users: value } }]);
  if (e.fields.includes('name') && e.fields.includes('email_address') && e.fields.includes('username')) {
    for (const [label, value] of badValues) {
      out.push([`complete reseller, text fields: ${label}`, { name: value, email_address: value === null ? null : `a@b.test`, username: `g-${Math.random().toString(36).slice(2)}`, city: value, phone: value }]);
    }
  }
  if (e.fields.includes('uid')) {
    for (const [label, value] of badValues) out.push([`complete package: ${label}`, { uid: `g-${Math.random().toString(36).slice(2)}`, name: 'G', description: value, position: value, free_trial: value }]);
  }
  return out;
}

async function send(e: Endpoint, body: string, contentType: string) {
  return t.app.server.inject({ method: e.method, url: e.url(), headers: { ...e.auth(), 'content-type': contentType }, payload: body });
}

describe('garbage input never produces a 500', () => {
  for (const e of endpoints) {
    const label = e.url.toString().replace(/^\(\) => /, '').replace(/[`'"]/g, '').replace('${clientId}', ':id').replace('${domain}', ':domain_name').replace('${victim.id}', ':id');
    it(`${e.method} ${label}`, async () => {
      const failures: string[] = [];
      for (const [label, payload] of payloadsFor(e)) {
        const res = await send(e, toBody(payload), 'application/json');
        if (res.statusCode >= 500) failures.push(`${label} → ${res.statusCode} ${res.body.slice(0, 120)}`);
      }
      for (const [label, body, type] of [
        ['text/plain', 'hello', 'text/plain'],
        ['form', 'name=x&user_count=1', 'application/x-www-form-urlencoded'],
        ['xml', '<client/>', 'application/xml'],
        ['multipart', '--b\r\n\r\nx\r\n--b--', 'multipart/form-data; boundary=b'],
        ['invalid JSON', '{"name": ', 'application/json'],
        ['JSON with trailing garbage', '{} {}', 'application/json'],
        ['empty JSON body', '', 'application/json'],
        ['JSON with a charset', '{}', 'application/json; charset=utf-8'],
        ['JSON in latin1', '{}', 'application/json; charset=latin1'],
        ['raw NUL byte in JSON', '{"name": "a\u0000b"}', 'application/json'],
        ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]).toString('latin1'), 'application/json'],
        ['vendor JSON type', '{}', 'application/vnd.api+json'],
        ['no content type', '{}', ''],
        ['too large', JSON.stringify({ name: 'x'.repeat(t.config.bodyLimit) }), 'application/json'],
      ] as const) {
        const res = await send(e, body, type);
        if (res.statusCode >= 500) failures.push(`${label} → ${res.statusCode} ${res.body.slice(0, 120)}`);
      }
      expect(failures).toEqual([]);
    });
  }
});

describe('garbage in URLs, query strings and headers never produces a 500', () => {
  it('path parameters and query strings', async () => {
    const failures: string[] = [];
    const segments = ['%00', 'a%00b', '%ZZ', '%E0%A4%A', '..%2F..%2Fetc%2Fpasswd', 'x'.repeat(400), 'x'.repeat(600), '%F0%9F%98%80', "'%20or%201=1", '-1', '1e3', '0x10', '9'.repeat(16), '9'.repeat(25), '%20', '.', '%2e%2e'];
    const templates: [Method, string, Record<string, string>][] = [
      ['GET', '/v1/clients/:x', hsp()],
      ['GET', '/v1/clients/:x/auth_token', hsp()],
      ['GET', '/v1/domains/:x', hsp()],
      ['GET', '/v1/domains/:x/status', hsp()],
      ['GET', '/v1/domains/:x/client', hsp()],
      ['GET', '/v1/domains/:x/auth_token', hsp()],
      ['DELETE', '/v1/domains/:x/client', hsp()],
      ['DELETE', '/v1/clients/:x', hsp()],
      ['GET', '/v1/packages/by_tag/:x', hsp()],
      ['GET', '/admin/v1/resellers/:x', admin],
      ['GET', '/admin/v1/packages/:x', admin],
      ['GET', '/admin/v1/clients/:x', admin],
      ['PUT', '/admin/v1/domains/:x/status', admin],
      ['GET', '/console/clients/:x', {}],
      ['GET', '/login/auth_token?token=:x', {}],
      ['GET', '/admin/v1/clients?q=:x', admin],
      ['GET', '/admin/v1/clients?limit=:x', admin],
      ['GET', '/admin/v1/clients?after=:x', admin],
      ['GET', '/admin/v1/clients?reseller_id=:x', admin],
      ['GET', '/admin/v1/clients?status=:x', admin],
      ['GET', '/admin/v1/resellers?status=:x', admin],
      ['GET', '/healthz?x=:x', {}],
      ['GET', '/openapi.json?x=:x', {}],
      ['GET', '/no-such-page/:x', {}],
    ];
    for (const [method, template, headers] of templates) {
      for (const seg of segments) {
        const url = template.replace(':x', seg);
        const res = await t.app.server.inject({ method, url, headers, ...(method === 'PUT' ? { payload: { status: 'ready' } } : {}) });
        if (res.statusCode >= 500) failures.push(`${method} ${url.slice(0, 80)} → ${res.statusCode} ${res.body.slice(0, 120)}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('authorization headers and cookies', async () => {
    const failures: string[] = [];
    const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
    const authHeaders = [
      'Basic',
      'Basic ',
      'Basic ====',
      `Basic ${b64('no-colon')}`,
      `Basic ${b64(':only-key')}`,
      `Basic ${b64('token-only:')}`,
      `Basic ${b64('a\u0000b:c')}`,
      `Basic ${b64(`${alice.api_token}\u0000:${alice.api_key}`)}`,
      `Basic ${b64(`${'t'.repeat(5000)}:${'k'.repeat(5000)}`)}`,
      `Basic ${Buffer.from([0xff, 0xfe, 0x3a, 0xff]).toString('base64')}`,
      'Bearer',
      'Bearer hpo_\u00e9',
      `Bearer hpo_${'x'.repeat(10_000)}`,
      'Digest username="x"',
      '\u00ff\u00fe',
    ];
    for (const authorization of authHeaders) {
      for (const url of ['/v1/clients', '/admin/v1/resellers']) {
        const res = await t.app.server.inject({ method: 'GET', url, headers: { authorization } });
        if (res.statusCode >= 500) failures.push(`${url} ${JSON.stringify(authorization).slice(0, 60)} → ${res.statusCode}`);
        else expect(res.statusCode, `${url} ${JSON.stringify(authorization).slice(0, 60)}`).toBe(401);
      }
    }
    for (const cookie of ['hp_session=', 'hp_session=%', 'hp_session=%E0%A4%A', `hp_session=${'x'.repeat(5000)}`, 'hp_session=a\u0001b', '=;;=;hp_session']) {
      const res = await t.app.server.inject({ method: 'GET', url: `/console/clients/${clientId}`, headers: { cookie } });
      if (res.statusCode >= 500) failures.push(`cookie ${JSON.stringify(cookie).slice(0, 40)} → ${res.statusCode}`);
      else expect(res.statusCode).toBe(401);
    }
    expect(failures).toEqual([]);
  });
});

describe('what the garbage gets back', () => {
  it('a NUL character is a 400 in the door’s own shape, and changes nothing', async () => {
    const before = (await t.app.server.inject({ method: 'GET', url: `/v1/clients/${clientId}`, headers: hsp() })).json();
    const res = await t.app.server.inject({ method: 'PUT', url: `/v1/clients/${clientId}`, headers: hsp(), payload: { name: 'a\u0000b' } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ errors: { base: ['text must not contain NUL (U+0000) characters'] } });
    expect((await t.app.server.inject({ method: 'GET', url: `/v1/clients/${clientId}`, headers: hsp() })).json()).toEqual(before);

    const tag = await t.app.server.inject({ method: 'GET', url: '/v1/packages/by_tag/a%00b', headers: hsp() });
    expect(tag.statusCode).toBe(400);
    expect(tag.json().errors.base).toHaveLength(1);

    const adminRes = await t.app.server.inject({ method: 'GET', url: '/admin/v1/packages/a%00b', headers: admin });
    expect(adminRes.statusCode).toBe(400);
    expect(adminRes.json()).toEqual({ error: { code: 'malformed_request', message: 'text must not contain NUL (U+0000) characters' } });

    const key = await t.app.server.inject({ method: 'POST', url: '/admin/v1/keys', headers: admin, payload: { ['na\u0000me']: 'x' } });
    expect(key.statusCode).toBe(400);
    expect((await t.app.server.inject({ method: 'GET', url: '/healthz?x=%00' })).statusCode).toBe(400);
  });

  it('a NUL in the Basic token is just a wrong token (401)', async () => {
    const res = await t.app.server.inject({ method: 'GET', url: '/v1/clients', headers: { authorization: `Basic ${Buffer.from(`${alice.api_token}\u0000:${alice.api_key}`).toString('base64')}` } });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Basic/);
  });

  it('a session cookie with broken percent-encoding is no session (401)', async () => {
    const res = await t.app.server.inject({ method: 'GET', url: `/console/clients/${clientId}`, headers: { cookie: 'hp_session=%E0%A4%A' } });
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toMatch(/text\/html/);
  });

  it('the sign-up echo carries plain values only, never posted structures', async () => {
    const res = await t.app.server.inject({
      method: 'POST',
      url: '/v1/resellers',
      remoteAddress: '203.0.113.250',
      headers: { 'content-type': 'application/json' },
      payload: toBody({ captcha: { id: 'x', answer: 'y' }, reseller: { name: deep(20_000), city: { nested: true }, phone: 5, tags: ['a', 'b'], username: 'echo-user', is_admin: true } }),
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().reseller).toEqual({ phone: 5, tags: ['a', 'b'], username: 'echo-user' });
    expect(res.json().errors.reseller.name).toEqual(['must be a string']);
  });
});
