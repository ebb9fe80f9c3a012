import { Writable } from 'node:stream';
import fc from 'fast-check';
import { pino } from 'pino';
import { expect } from 'vitest';
import { auditMark, auditSince } from '../support/audit.js';
import { createReseller, createTestApp, seedDemoCatalog, type ResellerFixture, type TestApp } from '../support/test-app.js';

/**
 * What every door's fuzz pass shares: an app with one legitimate caller of each door, a bounded and
 * deterministic catalogue of hostile values, and the oracle: no 5xx (no internal fault on the RPC
 * doors), nothing logged as an internal failure, every answer in the door's own format, and no audit
 * event from a request that was refused.
 */

/** Bodies up to 3 MiB here, so "huge" is a few MB that still gets past the limit into the door. */
export const BODY_LIMIT = 3 * 1024 * 1024;
export const HUGE = 'h'.repeat(BODY_LIMIT - 64 * 1024);

export interface Answer {
  status: number;
  type: string;
  body: string;
  requestId: string;
}

export interface FuzzWorld {
  t: TestApp;
  reseller: ResellerFixture;
  victim: ResellerFixture;
  clientId: number;
  domain: string;
  operator: Record<string, string>;
  clientSession: Record<string, string>;
  crmUser: Record<string, string>;
  crmApi: Record<string, string>;
  /** A hosting node's own token (/agent/v1). */
  node: Record<string, string>;
  portal: { uid: number; password: string; instanceId: number };
  /** Internal failures the app logged while serving (the one oracle that sees every door). */
  internalErrors: string[];
  send(method: string, url: string, headers: Record<string, string>, payload?: string | Buffer): Promise<Answer>;
  /** Request ids of the answers below 400: the only requests that may have changed something. */
  accepted: Set<string>;
  close(): Promise<void>;
}

let seq = 0;

export async function startFuzzWorld(): Promise<FuzzWorld> {
  const internalErrors: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) {
        const entry = JSON.parse(line) as { level: number; msg?: string; err?: { stack?: string } };
        if (entry.level >= 50) internalErrors.push(`${entry.msg ?? ''}: ${(entry.err?.stack ?? '').split('\n').slice(0, 3).join(' ')}`);
      }
      done();
    },
  });
  const t = await createTestApp({ HOSTPLANE_BODY_LIMIT: String(BODY_LIMIT) }, { logger: pino({ level: 'error' }, sink) });
  await seedDemoCatalog(t);
  const reseller = await createReseller(t);
  const victim = await createReseller(t);
  const operator = { authorization: `Bearer ${t.operatorKey}` };
  const accepted = new Set<string>();

  const send: FuzzWorld['send'] = async (method, url, headers, payload) => {
    const requestId = `fuzz-${++seq}`;
    const res = await t.app.server.inject({ method: method as 'GET', url, headers: { 'x-request-id': requestId, ...headers }, ...(payload !== undefined ? { payload } : {}) });
    if (res.statusCode < 400) accepted.add(requestId);
    return { status: res.statusCode, type: String(res.headers['content-type'] ?? ''), body: res.body, requestId };
  };
  const json = async (method: string, url: string, headers: Record<string, string>, body: unknown) => {
    const res = body === undefined ? await send(method, url, headers) : await send(method, url, { ...headers, 'content-type': 'application/json' }, JSON.stringify(body));
    if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${res.body}`);
    return JSON.parse(res.body) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  };

  const domain = 'fuzz-target.example';
  const client = await json('POST', '/v1/clients', { authorization: reseller.auth }, { package_uid: 'spamstopshere-standard', user_count: 1, domains: [{ name: domain }] });
  const issued = await json('GET', `/v1/clients/${client.id}/auth_token`, { authorization: reseller.auth }, undefined);
  const landing = await t.app.server.inject({ method: 'GET', url: issued.path as string });
  const sessionCookie = String(landing.headers['set-cookie']).split(';')[0]!;
  const session = JSON.parse((await send('GET', '/client/v1/session', { cookie: sessionCookie })).body) as { csrf_token: string };

  const user = await json('POST', '/api/v1/users/register', {}, { email: 'fuzz-user@example.com', password: 'fuzz-user-pass' });
  const token = await json('POST', '/admin/v1/api-tokens', operator, { name: 'fuzz', allow: ['/api/v1/subscriptions/create', '/api/v1/payments/create'] });
  await json('POST', '/admin/v1/subscription-types', operator, { code: 'fuzz_year', name: 'Fuzz year', length: 365, access: ['web'] });

  const fuzzNode = await json('POST', '/admin/v1/nodes', operator, { name: 'fuzz-node', roles: ['web'] });
  const nodeToken = await json('POST', '/agent/v1/enrol', { authorization: `Bearer ${fuzzNode.token as string}` }, undefined);

  const portalPassword = 'fuzz-portal-password';
  const portalUser = await json('POST', '/admin/v1/users', operator, { operator: true, login: 'fuzz-portal', name: 'Fuzz Portal', password: portalPassword });
  const plan = await json('POST', '/admin/v1/packages', operator, { uid: 'fuzz-open', name: 'Fuzz open', dbname_template: 'fuzz-%i.odoo.test' });
  const created = await send('POST', '/jsonrpc', { 'content-type': 'application/json' }, JSON.stringify({ jsonrpc: '2.0', id: 1, params: { service: 'object', method: 'execute_kw', args: ['hostplane', portalUser.id, portalPassword, 'saas_portal.plan', 'create_new_database', [plan.id], { dbname: 'fuzz-instance.odoo.test', user_id: portalUser.id }] } }));
  const instanceId = (JSON.parse(created.body) as { result?: { id: number } }).result?.id;
  if (!instanceId) throw new Error(`no SaaS instance: ${created.body}`);

  return {
    t,
    reseller,
    victim,
    clientId: client.id as number,
    domain,
    operator,
    clientSession: { cookie: sessionCookie, 'x-csrf-token': session.csrf_token },
    crmUser: { authorization: `Bearer ${user.access.token as string}` },
    crmApi: { authorization: `Bearer ${token.token as string}` },
    node: { authorization: `Bearer ${nodeToken.token as string}` },
    portal: { uid: portalUser.id as number, password: portalPassword, instanceId },
    internalErrors,
    send,
    accepted,
    close: () => t.close(),
  };
}

// ---------------------------------------------------------------------------------------------
// Values

/** Names an attacker picks because plain objects inherit them. */
export const PROTO_NAMES = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__', 'isPrototypeOf'] as const;

/** Deep nesting, as text: JSON.stringify of the value itself would overflow this worker's stack. */
export class RawJson {
  constructor(readonly text: string) {}
}
export const deepJson = (levels: number) => new RawJson('{"a":['.repeat(levels) + '1' + ']}'.repeat(levels));

/** JSON text of a payload, with RawJson parts spliced in where they stand. */
export function toJsonText(payload: unknown): string {
  if (payload instanceof RawJson) return payload.text;
  const parts: string[] = [];
  const text = JSON.stringify(payload, (_k, v: unknown) => {
    if (v instanceof RawJson) {
      parts.push(v.text);
      return `@@RAW${parts.length - 1}@@`;
    }
    return v;
  });
  return text.replace(/"@@RAW(\d+)@@"/g, (_m, i: string) => parts[Number(i)]!);
}

/**
 * The hostile values every parameter gets: prototype names as keys and as values, NUL, long text,
 * deep nesting and wrong types; then a fixed-seed sample of arbitrary JSON so the list is not only
 * what we thought of. Deterministic: the same values in the same order on every run.
 */
export function hostileValues(options: { long: number; seed: number; random: number }): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const name of PROTO_NAMES) {
    out.push([`name ${name}`, name]);
    out.push([`{${name}}`, JSON.parse(`{"${name}": "x"}`)]);
    out.push([`{${name}: {}}`, JSON.parse(`{"${name}": {"${name}": 1}}`)]);
  }
  out.push(
    ['NUL', 'a\u0000b'],
    ['NUL key', { 'k\u0000': 1 }],
    ['NUL in list', ['ok', '\u0000']],
    ['long text', 'x'.repeat(options.long)],
    ['deep', deepJson(10_000)],
    ['null', null],
    ['true', true],
    ['zero', 0],
    ['negative', -1],
    ['fraction', 1.5],
    ['huge number', 1e308],
    ['beyond int8', 2 ** 64],
    ['empty string', ''],
    ['empty list', []],
    ['empty object', {}],
    ['list of objects', [{}, { a: null }]],
    ['lone surrogate', '\ud800'],
  );
  const json = fc.jsonValue({ maxDepth: 3 });
  fc.sample(json, { seed: options.seed, numRuns: options.random }).forEach((v, i) => out.push([`random ${i}`, v]));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Oracle

/** The door that answers a URL, by its prefix. */
export type Door = 'hsp' | 'admin' | 'client' | 'crm' | 'cpcmd' | 'agent' | 'soap' | 'xmlrpc' | 'jsonrpc' | 'console';

export function doorOf(url: string): Door {
  const path = url.split('?')[0]!;
  if (path.startsWith('/v1/')) return 'hsp';
  if (path.startsWith('/admin/v1/')) return 'admin';
  if (path.startsWith('/client/v1/')) return 'client';
  if (path.startsWith('/api/v1/cpcmd/')) return 'cpcmd';
  if (path.startsWith('/api/v1/')) return 'crm';
  if (path.startsWith('/agent/v1/')) return 'agent';
  if (path.startsWith('/soap')) return 'soap';
  if (path.startsWith('/xmlrpc/')) return 'xmlrpc';
  if (path.startsWith('/jsonrpc') || path.startsWith('/web/')) return 'jsonrpc';
  return 'console';
}

function parsed(a: Answer): any { // eslint-disable-line @typescript-eslint/no-explicit-any
  expect(a.type, a.body.slice(0, 300)).toMatch(/^application\/json/);
  return JSON.parse(a.body);
}

/** No internal failure, and the answer is in the door's own format. */
export function expectDoorAnswer(a: Answer, url: string, what: string): void {
  const door = doorOf(url);
  const label = `${what}: ${a.status} ${a.body.slice(0, 300)}`;
  if (door === 'soap') {
    expect(a.type, label).toMatch(/^text\/xml/);
    expect(a.body, label).toMatch(/<SOAP-ENV:Envelope/);
    if (a.status !== 200) {
      expect(a.status, label).toBe(500); // SOAP 1.1 sends every fault as a 500
      expect(a.body, label).toMatch(/<SOAP-ENV:Fault><faultcode>SOAP-ENV:(Client|Server)<\/faultcode>/);
      expect(a.body, label).not.toMatch(/<faultstring>Internal error<\/faultstring>/);
    }
    return;
  }
  expect(a.status, label).toBeLessThan(500);
  if (door === 'xmlrpc') {
    expect(a.status, label).toBe(200);
    expect(a.body, label).toMatch(/^<\?xml[^>]*>\s*<methodResponse>/);
    expect(a.body, label).not.toMatch(/Internal server error/);
    return;
  }
  if (door === 'jsonrpc') {
    const body = parsed(a);
    expect(a.status, label).toBe(200);
    expect(body.jsonrpc, label).toBe('2.0');
    // Odoo reports a bad request as internal_error too; only the internal fault itself is a failure.
    if (body.error) expect(body.error.data.name, label).not.toBe('builtins.Exception');
    return;
  }
  if (door === 'console') {
    if (a.status >= 400) expect(a.type, label).toMatch(/^text\/html/);
    return;
  }
  if (a.status < 400 || a.status === 404 && a.body === '') return;
  const body = parsed(a);
  if (door === 'hsp') expect(body.errors, label).toEqual(expect.any(Object));
  else if (door === 'crm') expect(body.message, label).toEqual(expect.any(String));
  else expect(body.error, label).toMatchObject({ code: expect.any(String), message: expect.any(String) });
}

/** Every audit event since `mark` came from a request that was answered below 400. */
export async function expectRefusalsChangedNothing(w: FuzzWorld, mark: number): Promise<void> {
  const events = await auditSince(w.t, mark);
  const fromRefused = events.filter((e) => e.request_id !== null && e.request_id.startsWith('fuzz-') && !w.accepted.has(e.request_id));
  expect(fromRefused.map((e) => `${e.action} by ${e.request_id}`)).toEqual([]);
}

export { auditMark };
