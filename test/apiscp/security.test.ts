import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ctxFor } from '../../src/core/context.js';
import { createOperatorKey } from '../../src/core/credentials/credential.service.js';
import { cpcmdFunctions, soapName } from '../../src/facades/apiscp/cpcmd.functions.js';
import { requirePhpSoap, runPhpSoap } from '../support/php-soap.js';
import { createReseller } from '../support/test-app.js';
import { expectServerUnchanged, serverSnapshot, startApiscpServer, type ApiscpServer } from './apiscp-harness.js';

// Every function of the catalog, on both doors, with every credential that is not a live operator
// key: refused before the function runs, in the door's own error shape, and nothing changes. Each
// function gets a call that would change something (or read) had it got through; the last test
// makes the same calls with the operator key, so a refusal can only have come from the credential.
let s: ApiscpServer;
/** Credentials that must not open either door, by what they are. */
let wrong: { label: string; key: string | null }[];

/** An address locked out of the reseller sign-up (wrong captcha answers) before the tests: only the operator may lift it. */
const LOCKED_OUT = '192.0.2.9';
const bannedServices = async () => (await ok('rampart:banned-services', [LOCKED_OUT])) as string[];

/** A call per function, in an order in which all of them succeed with the operator key. */
const SAMPLES: { fn: string; args: unknown[]; site?: string }[] = [
  { fn: 'admin:list-plans', args: [] },
  { fn: 'admin:get-plan', args: ['basic'] },
  { fn: 'admin:collect', args: [[], [], ['sec-a.example']] },
  { fn: 'admin:get-usage', args: [null, ['sec-a.example']] },
  { fn: 'common:whoami', args: [], site: 'sec-a.example' },
  { fn: 'auth:is-inactive', args: [], site: 'sec-a.example' },
  { fn: 'scope:get', args: ['opcenter.account-cleanup'] },
  { fn: 'admin:add-site', args: ['sec-new.example', 'secnew', { 'billing.invoice': 'SEC-NEW' }] },
  { fn: 'admin:edit-site', args: ['sec-a.example', { 'diskquota.quota': 4321 }] },
  { fn: 'auth:change-password', args: ['long-enough-password'], site: 'sec-a.example' },
  { fn: 'admin:hijack', args: ['sec-a.example'] },
  { fn: 'admin:deactivate-site', args: [['sec-a.example', 'sec-b.example'], 'intrusion'] },
  { fn: 'admin:activate-site', args: ['sec-suspended.example'] },
  { fn: 'admin:delete-site', args: ['sec-c.example'] },
  { fn: 'scope:set', args: ['opcenter.account-cleanup', '7 days'] },
  { fn: 'rampart:get-jails', args: [] },
  { fn: 'rampart:is-banned', args: [LOCKED_OUT] },
  { fn: 'rampart:banned-services', args: [LOCKED_OUT] },
  { fn: 'rampart:unban', args: [LOCKED_OUT] },
];

async function ok(fn: string, args: unknown[] = [], extra: Record<string, unknown> = {}): Promise<unknown> {
  const r = await s.fn(fn, args, extra);
  expect(r.status, `${fn}: ${JSON.stringify(r.body)}`).toBe(200);
  return r.body.result;
}

beforeAll(async () => {
  await requirePhpSoap();
  s = await startApiscpServer();
  for (const [domain, admin] of [
    ['sec-a.example', 'seca'],
    ['sec-b.example', 'secb'],
    ['sec-c.example', 'secc'],
    ['sec-suspended.example', 'secsusp'],
  ]) {
    await ok('admin:add-site', [domain, admin]);
  }
  await ok('admin:deactivate-site', ['sec-suspended.example', 'for the activate call']);
  for (let i = 0; i < 5; i++) await s.t.app.server.inject({ method: 'POST', url: '/v1/resellers', remoteAddress: LOCKED_OUT, headers: { accept: 'application/json' }, payload: { reseller: {}, captcha: { id: 'nope', answer: 'wrong' } } });
  expect(await bannedServices()).toEqual(['reseller-signup']);
  const reseller = await createReseller(s.t);
  const { key: revoked, id } = await createOperatorKey(ctxFor(s.t.app.deps, { kind: 'system' }), 'revoked-for-security-test');
  await s.t.app.deps.db.updateTable('operator_keys').set({ revoked_at: new Date() }).where('id', '=', id).execute();
  // A site session: a real secret of this server, but a site user's, not an operator's.
  const session = (await ok('admin:hijack', ['sec-b.example'])) as string;
  wrong = [
    { label: 'none', key: null },
    { label: 'empty', key: '' },
    { label: 'made-up operator key', key: 'hp_op_not-a-real-key' },
    { label: 'not a key at all', key: 'not-even-an-operator-key' },
    { label: 'revoked operator key', key: revoked },
    // A reseller's right TOKEN:KEY is a key of this door (reseller-keys.test.ts); a wrong key with its token is not.
    { label: "reseller's token with a wrong key", key: `${reseller.api_token}:${reseller.api_key}x` },
    { label: "reseller's key alone", key: reseller.api_key },
    { label: 'site session id', key: session },
    { label: 'operator key with a stray byte', key: `${s.t.operatorKey}x` },
  ];
});
afterAll(() => s?.close());

describe('every function, refused without an operator key', () => {
  it('the samples cover the whole catalog', () => {
    expect(SAMPLES.map((c) => c.fn).sort()).toEqual(cpcmdFunctions().map((f) => f.name).sort());
  });

  it('JSON door: 401 with the admin error body for every function and credential, under both spellings; nothing changes', async () => {
    const before = await serverSnapshot(s);
    for (const c of SAMPLES) {
      const spellings = [c.fn, soapName(cpcmdFunctions().find((f) => f.name === c.fn)!)];
      for (const name of spellings) {
        for (const w of wrong) {
          const auths = w.key === null ? [null] : [`Bearer ${w.key}`, `Basic ${Buffer.from(w.key).toString('base64')}`, w.key];
          for (const auth of auths) {
            const label = `${name} with ${w.label} (${auth === null ? 'no header' : auth.split(' ')[0]})`;
            const res = await s.t.app.server.inject({
              method: 'POST',
              url: `/api/v1/cpcmd/${encodeURIComponent(name)}`,
              headers: auth === null ? {} : { authorization: auth },
              payload: { args: c.args, ...(c.site ? { site: c.site } : {}) },
            });
            expect(res.statusCode, `${label}: ${res.body}`).toBe(401);
            expect(res.headers['www-authenticate'], label).toBe('Bearer realm="Hostplane admin API"');
            const body = res.json() as { error: { code: string; message: string } };
            expect(Object.keys(body), label).toEqual(['error']);
            expect(body.error.code, label).toBe('unauthenticated');
            expect(body.error.message, label).toMatch(/^(API key required|invalid operator key$|invalid API token or key$)/);
          }
        }
      }
    }
    await expectServerUnchanged(s, before);
    expect(await bannedServices()).toEqual(['reseller-signup']);
  });

  it('SOAP door: a Client fault "Invalid API key" for every operation and authkey; nothing changes', async () => {
    const before = await serverSnapshot(s);
    const calls = SAMPLES.map((c) => ({ op: soapName(cpcmdFunctions().find((f) => f.name === c.fn)!), args: c.args }));
    for (const w of wrong) {
      const location = w.key === null ? `${s.url}/soap` : `${s.url}/soap?authkey=${encodeURIComponent(w.key)}`;
      const out = await runPhpSoap(calls, { wsdl: `${s.url}/apnscp.wsdl`, location });
      expect(out).toHaveLength(calls.length);
      for (const [i, o] of out.entries()) {
        const label = `${calls[i]!.op} with ${w.label}`;
        expect(o.ok, `${label}: ${JSON.stringify(o)}`).toBeUndefined();
        expect(o.status, label).toBe(500);
        expect(o.fault, label).toMatchObject({ faultcode: 'SOAP-ENV:Client', faultstring: 'Invalid API key' });
      }
    }
    await expectServerUnchanged(s, before);
    expect(await bannedServices()).toEqual(['reseller-signup']);
  });

  it('the same calls go through with the operator key', async () => {
    for (const c of SAMPLES) await ok(c.fn, c.args, c.site ? { site: c.site } : {});
    const sites = (await ok('admin:collect', [['diskquota.quota'], [], ['sec-a.example', 'sec-b.example', 'sec-c.example', 'sec-suspended.example', 'sec-new.example']])) as Record<string, { active: boolean }>;
    expect(Object.fromEntries(Object.entries(sites).map(([k, v]) => [k, v.active]))).toEqual({ 'sec-a.example': false, 'sec-b.example': false, 'sec-suspended.example': true, 'sec-new.example': true });
    expect(await ok('scope:get', ['opcenter.account-cleanup'])).toBe('7 days');
    expect(await bannedServices()).toEqual([]);
  });
});
