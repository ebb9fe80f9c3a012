import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpcmdFunctions, soapName } from '../../src/facades/apiscp/cpcmd.functions.js';
import { encodeSoapRequest } from '../../src/facades/apiscp/soap/soap-codec.js';
import { auditMark, expectDoorAnswer, expectRefusalsChangedNothing, HUGE, hostileValues, RawJson, startFuzzWorld, toJsonText, type FuzzWorld } from './fuzz-world.js';

/**
 * The fuzz pass over the doors that are not REST: ApisCP's functions over JSON (`/api/v1/cpcmd/{fn}`)
 * and SOAP, Odoo's XML-RPC and JSON-RPC, and the console's server-rendered forms. Every argument
 * position of every function and model method gets every hostile value, as the door's legitimate
 * caller (the operator key, the portal administrator, the signed-in client).
 */

const SLOW = 240_000;
let w: FuzzWorld;
let mark: number;
/** Sites the pass itself created (an add-site whose changed argument happened to be valid). */
const created = new Set<string>();

beforeAll(async () => {
  w = await startFuzzWorld();
  mark = await auditMark(w.t);
});
afterAll(() => w?.close());

const values = hostileValues({ long: 20_000, seed: 7, random: 3 }).filter(([label]) => label !== 'deep');

/** A site-changing call's arguments, with one position replaced; the others name the real site. */
function argsWith(fn: string, arity: number, i: number, value: unknown): unknown[] {
  const base: unknown[] = fn === 'admin:edit-site' ? ['fuzz-target.example', { 'ssh.enabled': 1 }, { 'dry-run': true }] : fn === 'admin:add-site' ? ['fuzz-new.example', 'fuzzadmin', {}] : Array<unknown>(arity).fill(null);
  const args = base.slice(0, Math.max(arity, 1));
  args[i] = value;
  return args;
}

/** XML text; a NUL goes as the character reference XML forbids, which the door must refuse. */
const xmlText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').split('\u0000').join('&#0;');

/** An XML-RPC request as Python's xmlrpc.client writes one (ints, doubles, strings, nil, arrays, structs). */
function xmlValue(v: unknown): string {
  if (v === null || v === undefined) return '<nil/>';
  if (typeof v === 'boolean') return `<boolean>${v ? 1 : 0}</boolean>`;
  if (typeof v === 'number') return Number.isSafeInteger(v) && Math.abs(v) < 2 ** 31 ? `<int>${v}</int>` : `<double>${v}</double>`;
  if (typeof v === 'string') return `<string>${xmlText(v)}</string>`;
  if (Array.isArray(v)) return `<array><data>${v.map((x) => `<value>${xmlValue(x)}</value>`).join('')}</data></array>`;
  const members = Object.entries(v as object).map(([k, x]) => `<member><name>${xmlText(k)}</name><value>${xmlValue(x)}</value></member>`);
  return `<struct>${members.join('')}</struct>`;
}
const methodCall = (method: string, params: unknown[]) => `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${params.map((p) => `<param><value>${xmlValue(p)}</value></param>`).join('')}</params></methodCall>`;

const MODEL_METHODS: [string, string][] = [
  ['saas_portal.client', 'search_read'],
  ['saas_portal.client', 'read'],
  ['saas_portal.plan', 'search'],
  ['saas_portal.plan', 'create_new_database'],
  ['res.users', 'signup'],
  ['res.users', 'fields_get'],
  ['ir.model', 'search'],
  ['saas.config', 'do_upgrade_database'],
];

describe('ApisCP functions: every argument of every function, over JSON and SOAP', () => {
  it('never a 5xx over JSON, never an internal fault over SOAP', async () => {
    for (const fn of cpcmdFunctions()) {
      const arity = fn.variadic ? fn.params.length + 1 : fn.params.length;
      for (let i = 0; i < Math.max(arity, 1); i++) {
        for (const [label, value] of values) {
          const args = argsWith(fn.name, arity, i, value);
          const url = `/api/v1/cpcmd/${fn.name}`;
          const json = await w.send('POST', url, { ...w.operator, 'content-type': 'application/json' }, toJsonText({ args, ...(fn.needsSite ? { site: 'fuzz-target.example' } : {}) }));
          expectDoorAnswer(json, url, `${fn.name} arg ${i}: ${label}`);
          if (fn.name === 'admin:add-site' && json.status === 200) created.add(String(args[0]));
          if (fn.needsSite) continue;
          const soap = await w.send('POST', `/soap?authkey=${w.t.operatorKey}`, { 'content-type': 'text/xml', 'abort-on': 'error' }, encodeSoapRequest(soapName(fn), args, fn.params));
          expectDoorAnswer(soap, '/soap', `${soapName(fn)} arg ${i}: ${label}`);
          if (fn.name === 'admin:add-site' && soap.status === 200) created.add(String(args[0]));
        }
      }
    }
  }, SLOW);

  it('the call envelope itself: site, user and the body as a whole', async () => {
    const url = '/api/v1/cpcmd/common:whoami';
    for (const [label, value] of [...values, ['deep', new RawJson('{"args":' + '['.repeat(5000) + ']'.repeat(5000) + '}')] as [string, unknown]]) {
      for (const body of [value, { args: [], site: value }, { args: [], user: value }, { args: value }]) {
        expectDoorAnswer(await w.send('POST', url, { ...w.operator, 'content-type': 'application/json' }, toJsonText(body)), url, `envelope ${label}`);
      }
    }
    expectDoorAnswer(await w.send('POST', url, { ...w.operator, 'content-type': 'application/json' }, toJsonText({ args: [HUGE] })), url, 'an argument of a few MB');
    const soapHuge = await w.send('POST', `/soap?authkey=${w.t.operatorKey}`, { 'content-type': 'text/xml', 'abort-on': 'error' }, encodeSoapRequest('admin_get_plan', [HUGE], ['name']));
    expectDoorAnswer(soapHuge, '/soap', 'SOAP argument of a few MB');
  });
});

describe('Odoo XML-RPC and JSON-RPC: every argument of the portal methods', () => {
  const objectArgs = (model: string, method: string, args: unknown[], kwargs: unknown) => ['hostplane', w.portal.uid, w.portal.password, model, method, args, kwargs];

  it('never an internal fault, on either transport', async () => {
    for (const [model, method] of MODEL_METHODS) {
      for (const [label, value] of values) {
        const shapes: [string, unknown[], unknown][] = [
          ['args[0]', [value, w.portal.instanceId], {}],
          ['args[1]', method === 'do_upgrade_database' ? [{ params: [] }, value] : [[], value], {}],
          ['kwargs', [[]], typeof value === 'object' && value !== null && !Array.isArray(value) ? value : { x: value }],
        ];
        for (const [where, args, kwargs] of shapes) {
          const xml = await w.send('POST', '/xmlrpc/2/object', { 'content-type': 'text/xml' }, methodCall('execute_kw', objectArgs(model, method, args, kwargs)));
          expectDoorAnswer(xml, '/xmlrpc/2/object', `${model}.${method} ${where}: ${label}`);
          const body = { jsonrpc: '2.0', id: 1, method: 'call', params: { service: 'object', method: 'execute_kw', args: objectArgs(model, method, args, kwargs) } };
          const json = await w.send('POST', '/jsonrpc', { 'content-type': 'application/json' }, toJsonText(body));
          expectDoorAnswer(json, '/jsonrpc', `${model}.${method} ${where}: ${label} (JSON-RPC)`);
        }
      }
    }
  }, SLOW);

  it('sign-in and the call itself: db, login, password, model and method names', async () => {
    for (const [label, value] of values) {
      for (const args of [[value, 'fuzz-portal', 'x', {}], ['hostplane', value, value, {}]]) {
        expectDoorAnswer(await w.send('POST', '/xmlrpc/2/common', { 'content-type': 'text/xml' }, methodCall('authenticate', args)), '/xmlrpc/2/common', `authenticate: ${label}`);
      }
      const named = ['hostplane', w.portal.uid, w.portal.password, value, value, [], {}];
      expectDoorAnswer(await w.send('POST', '/xmlrpc/2/object', { 'content-type': 'text/xml' }, methodCall('execute_kw', named)), '/xmlrpc/2/object', `model and method: ${label}`);
      const web = { jsonrpc: '2.0', id: 2, params: { db: 'hostplane', login: value, password: value } };
      expectDoorAnswer(await w.send('POST', '/web/session/authenticate', { 'content-type': 'application/json' }, toJsonText(web)), '/web/session/authenticate', `web authenticate: ${label}`);
      const envelope = { jsonrpc: '2.0', id: 3, params: value };
      expectDoorAnswer(await w.send('POST', '/jsonrpc', { 'content-type': 'application/json' }, toJsonText(envelope)), '/jsonrpc', `params: ${label}`);
    }
  });
});

describe("the console's server-rendered forms", () => {
  it('site switch, client sign-in and instance forms: every field; pages, never a 5xx', async () => {
    const id = w.portal.instanceId;
    const forms = [
      { url: '/apps/dashboard/switch', fields: ['site'] },
      { url: `/console/clients/${w.clientId}/login`, fields: ['login', 'password'] },
      { url: `/console/clients/${id}/users`, fields: ['csrf', 'login', 'name', 'password'] },
      { url: `/console/clients/${id}/files`, fields: ['csrf', 'name', 'content'] },
    ];
    const headers = { cookie: w.clientSession.cookie!, 'content-type': 'application/x-www-form-urlencoded' };
    for (const form of forms) {
      for (const field of form.fields) {
        for (const [label, value] of values) {
          const text = typeof value === 'string' ? value : toJsonText(value);
          let encoded: string;
          try {
            encoded = encodeURIComponent(text);
          } catch {
            encoded = '%ED%A0%80';
          }
          const answer = await w.send('POST', form.url, headers, `${field}=${encoded}`);
          expectDoorAnswer(answer, form.url, `${form.url} ${field}: ${label}`);
        }
      }
    }
  });
});

describe('afterwards', () => {
  it('logged no internal failure, and refused calls changed nothing', async () => {
    expect(w.internalErrors).toEqual([]);
    await expectRefusalsChangedNothing(w, mark);
    // Spot check: the world's two sites (the hosting client and the SaaS instance), and only what an accepted add-site made.
    const sites = JSON.parse((await w.send('POST', '/api/v1/cpcmd/admin:collect', { ...w.operator, 'content-type': 'application/json' }, '{"args":[["siteinfo.domain"]]}')).body) as { result: Record<string, unknown> };
    expect(Object.keys(sites.result).length).toBe(2 + created.size);
  });
});
