import { execFile } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditMark, auditSince } from '../support/audit.js';
import { fromPhp, requirePhpSoap, runPhpSoap, type PhpCall, type PhpOutcome } from '../support/php-soap.js';
import { createReseller, seedDemoCatalog, type ResellerFixture } from '../support/test-app.js';
import { BIN_DIR, expectServerUnchanged, serverSnapshot, startApiscpServer, type ApiscpServer } from './apiscp-harness.js';

// Resellers' billing systems on the ApisCP door: a reseller's TOKEN:KEY is a key of every door
// (JSON, SOAP, cpcmd), and each reseller reaches only its own clients. Another reseller's site, or the
// operator's own, answers exactly as a site that does not exist, and nothing changes.
let s: ApiscpServer;
let a: ResellerFixture;
let b: ResellerFixture;
let keyA: string;
let keyB: string;
/** Site ids by primary domain, read with the operator's key. */
const ids: Record<string, number> = {};

const keyOf = (r: ResellerFixture) => `${r.api_token}:${r.api_key}`;
const as = (key: string) => `Bearer ${key}`;

async function call(key: string, name: string, args: unknown[] = [], extra: Record<string, unknown> = {}) {
  return s.fn(name, args, extra, as(key));
}

async function ok(key: string, name: string, args: unknown[] = [], extra: Record<string, unknown> = {}): Promise<unknown> {
  const r = await call(key, name, args, extra);
  expect(r.status, `${name}: ${JSON.stringify(r.body)}`).toBe(200);
  return r.body.result;
}

async function idOf(domain: string): Promise<number> {
  const found = (await ok(s.t.operatorKey, 'admin:collect', [[], { 'siteinfo.domain': domain }])) as Record<string, unknown>;
  const keys = Object.keys(found);
  expect(keys, domain).toHaveLength(1);
  return Number(keys[0]!.slice(4));
}

/** Site keys (siteNN) a collect answered, sorted. */
const siteKeys = (result: unknown) => Object.keys(result as object).sort();
const names = (...domains: string[]) => domains.map((d) => `site${ids[d]}`).sort();

// Billing modules send `Abort-On: error`, so a refused call is a fault rather than ApisCP's bare `false`.
const soap = (calls: PhpCall[], key: string): Promise<PhpOutcome[]> =>
  runPhpSoap(
    calls.map((c) => ({ ...c, headers: c.headers ?? ['Abort-On: error'] })),
    { wsdl: `${s.url}/apnscp.wsdl`, location: `${s.url}/soap?authkey=${encodeURIComponent(key)}` },
  );

function value(o: PhpOutcome | undefined): unknown {
  if (!o?.ok) throw new Error(`expected a result, got ${JSON.stringify(o)}`);
  return fromPhp(o.value!);
}

/** Tests that start cpcmd processes: each is a Node start-up, slow on a busy machine (a limit, not a measurement). */
const CLI_TIMEOUT = 180_000;

/** cpcmd as a reseller's terminal would run it, with its TOKEN:KEY as HOSTPLANE_API_KEY. */
function cpcmd(key: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { PATH: `${BIN_DIR}:${process.env.PATH ?? ''}`, HOSTPLANE_URL: s.url, HOSTPLANE_API_KEY: key, HOME: process.env.HOME ?? '/tmp' };
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(BIN_DIR, 'cpcmd'), ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  await requirePhpSoap();
  s = await startApiscpServer();
  await seedDemoCatalog(s.t);
  a = await createReseller(s.t);
  b = await createReseller(s.t);
  keyA = keyOf(a);
  keyB = keyOf(b);
  // The same invoice numbers in A's and B's billing systems, and the operator's own sites.
  await ok(keyA, 'admin:add-site', ['a-master.example', 'amaster', { 'billing.invoice': 'INV-1' }]);
  await ok(keyA, 'admin:add-site', ['a-sub.example', 'asub', { 'billing.parent_invoice': 'INV-1' }]);
  await ok(keyB, 'admin:add-site', ['b-master.example', 'bmaster', { 'billing.invoice': 'INV-1' }]);
  await ok(keyB, 'admin:add-site', ['b-only.example', 'bonly', { 'billing.invoice': 'B-ONLY-7' }]);
  await ok(s.t.operatorKey, 'admin:add-site', ['op-own.example', 'opown', { 'billing.invoice': 'OP-9' }]);
  for (const d of ['a-master.example', 'a-sub.example', 'b-master.example', 'b-only.example', 'op-own.example']) ids[d] = await idOf(d);
});
afterAll(() => s?.close());

describe('a reseller key on the JSON door', () => {
  it('adds a site as the reseller\'s client: audited as the reseller, listed by its HSP door, not by another\'s', async () => {
    const mark = await auditMark(s.t);
    expect(await ok(keyA, 'admin:add-site', ['a-added.example', 'aadded', { 'siteinfo.email': 'o@a-added.example' }])).toBe(true);
    ids['a-added.example'] = await idOf('a-added.example');
    const events = await auditSince(s.t, mark);
    expect(events.filter((e) => e.actor_kind !== 'system').map((e) => [e.action, e.actor_kind, e.actor_id, e.reseller_id, e.target_id])).toEqual([['client.created', 'reseller', a.id, a.id, String(ids['a-added.example'])]]);

    const listOf = async (r: ResellerFixture) => {
      const res = await s.t.app.server.inject({ method: 'GET', url: '/v1/clients', headers: { authorization: r.auth } });
      expect(res.statusCode, res.body).toBe(200);
      return res.json() as { id: number; domains: { name: string }[] }[];
    };
    const mine = await listOf(a);
    expect(mine.find((c) => c.id === ids['a-added.example'])?.domains.map((d) => d.name)).toEqual(['a-added.example']);
    expect((await listOf(b)).map((c) => c.id)).not.toContain(ids['a-added.example']);
    // The HSP door reads it as A's client by id too; B's door does not know it.
    const get = (r: ResellerFixture) => s.t.app.server.inject({ method: 'GET', url: `/v1/clients/${ids['a-added.example']}`, headers: { authorization: r.auth } });
    expect((await get(a)).statusCode).toBe(200);
    expect((await get(b)).statusCode).toBe(404);
  });

  it('a client the reseller created over the HSP door is collectable and manageable with its ApisCP key, not with another\'s', async () => {
    const res = await s.t.app.server.inject({
      method: 'POST',
      url: '/v1/clients',
      headers: { authorization: a.auth },
      payload: { package_uid: 'spamstopshere-standard', user_count: 1, name: 'HSP Customer', domains: [{ name: 'a-hsp.example' }] },
    });
    expect(res.statusCode, res.body).toBe(201);
    const id = (res.json() as { id: number }).id;
    ids['a-hsp.example'] = id;
    const seen = (await ok(keyA, 'admin:collect', [['siteinfo.domain'], [], ['a-hsp.example']])) as Record<string, { siteinfo: { domain: string } }>;
    expect(seen).toEqual({ 'a-hsp.example': { siteinfo: { domain: 'a-hsp.example' }, active: true, domain: 'a-hsp.example' } });
    expect(await ok(keyA, 'admin:edit-site', [`site${id}`, { 'diskquota.quota': 1500 }])).toBe(true);
    expect(await ok(keyB, 'admin:collect', [['siteinfo.domain'], [], ['a-hsp.example', `site${id}`]])).toEqual({});
  });

  it('collect with null, [] and no sites lists only the reseller\'s own sites; the operator still sees all', async () => {
    const own = names('a-master.example', 'a-sub.example', 'a-added.example', 'a-hsp.example');
    expect(siteKeys(await ok(keyA, 'admin:collect', [null]))).toEqual(own);
    expect(siteKeys(await ok(keyA, 'admin:collect', [[]]))).toEqual(own);
    expect(siteKeys(await ok(keyA, 'admin:collect', [])).sort()).toEqual(own);
    expect(siteKeys(await ok(keyB, 'admin:collect', [[]]))).toEqual(names('b-master.example', 'b-only.example'));
    const all = siteKeys(await ok(s.t.operatorKey, 'admin:collect', [[]]));
    for (const d of Object.keys(ids)) expect(all).toContain(`site${ids[d]}`);
    // Usage without sites is per reseller too.
    expect(siteKeys(await ok(keyA, 'admin:get-usage', []))).toEqual(own);
  });

  it('an invoice names only the caller\'s sites: the same number at another reseller is another group', async () => {
    expect(siteKeys(await ok(keyA, 'admin:collect', [[], [], ['INV-1']]))).toEqual(names('a-master.example', 'a-sub.example'));
    expect(siteKeys(await ok(keyA, 'admin:collect', [[], { 'billing.invoice': 'INV-1' }]))).toEqual(names('a-master.example'));
    expect(siteKeys(await ok(keyA, 'admin:collect', [[], { 'billing.parent_invoice': 'INV-1' }]))).toEqual(names('a-sub.example'));
    // One site named by an invoice is keyed by the invoice, as billing modules index it.
    expect(await ok(keyB, 'admin:collect', [['siteinfo.domain'], [], ['INV-1']])).toEqual({ 'INV-1': { siteinfo: { domain: 'b-master.example' }, active: true, domain: 'b-master.example' } });
    const bBefore = await ok(keyB, 'admin:collect', [null]);
    expect(await ok(keyA, 'admin:edit-site', ['INV-1', { 'diskquota.quota': 4321 }])).toBe(true);
    const quotas = (await ok(keyA, 'admin:collect', [['diskquota.quota'], [], ['INV-1']])) as Record<string, { diskquota: { quota: number } }>;
    expect(Object.values(quotas).map((q) => q.diskquota.quota)).toEqual([4321, 4321]);
    expect(await ok(keyB, 'admin:collect', [null])).toEqual(bBefore);
    // A's invoice group is only A's: deleting its master without force counts only A's subordinate.
    const refused = await call(keyA, 'admin:delete-site', [`site${ids['a-master.example']}`, { 'dry-run': true }]);
    expect(refused.status).toBe(409);
    expect(refused.body.error?.message).toContain(`site${ids['a-sub.example']}`);
    expect(refused.body.error?.message).not.toContain(`site${ids['b-master.example']}`);
  });

  it('edits, suspends, activates, hijacks and reads its own sites; every change is audited as the reseller', async () => {
    const mark = await auditMark(s.t);
    const own = 'a-added.example';
    expect(await ok(keyA, 'admin:edit-site', [own, { 'diskquota.quota': 2500, 'siteinfo.email': 'new@a-added.example' }])).toBe(true);
    expect(await ok(keyA, 'admin:deactivate-site', [own, 'unpaid'])).toBe(true);
    expect(await ok(keyA, 'auth:is-inactive', [], { site: own })).toBe(true);
    expect(await ok(keyA, 'admin:activate-site', [own])).toBe(true);
    expect(await ok(keyA, 'auth:is-inactive', [], { site: own })).toBe(false);
    expect(await ok(keyA, 'common:whoami', [], { site: own })).toBe('aadded');
    expect(await ok(keyA, 'auth:change-password', ['a-new-password-1', null, own])).toBe(true);
    expect(await ok(keyA, 'admin:hijack', [own])).toEqual(expect.stringMatching(/^[A-Za-z0-9_-]{40,}$/));
    // Keyed by the identifier passed; quotas in KB as ApisCP reports them.
    const usage = (await ok(keyA, 'admin:get-usage', [null, [own]])) as Record<string, { storage: { qhard: number } }>;
    expect(usage[own]?.storage.qhard).toBe(2500 * 1024);
    expect(await ok(keyA, 'admin:list-plans')).toContain('basic');
    expect(await ok(keyA, 'admin:get-plan', ['basic'])).toMatchObject({ diskquota: { quota: expect.any(Number) } });
    const events = (await auditSince(s.t, mark)).filter((e) => e.actor_kind !== 'system');
    expect(events.map((e) => e.action)).toEqual(['client.updated', 'client.suspended', 'client.activated', 'user.password_changed', 'client.hijacked']);
    for (const e of events) expect(e, e.action).toMatchObject({ actor_kind: 'reseller', actor_id: a.id, reseller_id: a.id });
  });

  it('a domain of another reseller\'s site is taken without saying whose, on add and on edit', async () => {
    const before = await serverSnapshot(s);
    for (const taken of ['b-master.example', 'op-own.example']) {
      const added = await call(keyA, 'admin:add-site', [taken, 'thief']);
      expect(added.status).toBe(422);
      expect(added.body.error?.message).toBe(`${taken}: domain already belongs to a site`);
      const edited = await call(keyA, 'admin:edit-site', ['a-added.example', { 'aliases.aliases': [taken] }]);
      expect(edited.status).toBe(422);
      expect(edited.body.error?.message).toBe(`${taken}: domain already belongs to a site`);
      expect(JSON.stringify([added.body, edited.body])).not.toMatch(new RegExp(`site${ids[taken]}\\b|reseller|operator`));
    }
    await expectServerUnchanged(s, before);
  });
});

/** Every site function with one target, as the JSON door calls it. */
const TARGETED: { fn: string; args: (t: string) => unknown[]; extra?: (t: string) => Record<string, unknown> }[] = [
  { fn: 'admin:edit-site', args: (t) => [t, { 'diskquota.quota': 99 }] },
  { fn: 'admin:edit-site', args: (t) => [t, { 'siteinfo.domain': 'moved-here.example' }, { 'dry-run': true }] },
  { fn: 'admin:deactivate-site', args: (t) => [t, 'not yours'] },
  { fn: 'admin:deactivate-site', args: (t) => [['a-sub.example', t], 'not yours'] },
  { fn: 'admin:activate-site', args: (t) => [t] },
  { fn: 'admin:delete-site', args: (t) => [t] },
  { fn: 'admin:delete-site', args: (t) => [t, { force: true }] },
  { fn: 'admin:delete-site', args: (t) => [['a-sub.example', t]] },
  { fn: 'admin:delete-site', args: (t) => [t, { since: 'now', 'dry-run': true }] },
  { fn: 'admin:hijack', args: (t) => [t] },
  { fn: 'admin:get-usage', args: (t) => [null, [t]] },
  { fn: 'admin:collect', args: (t) => [null, [], [t]] },
  { fn: 'auth:is-inactive', args: () => [], extra: (t) => ({ site: t }) },
  { fn: 'auth:change-password', args: (t) => ['stolen-password-1', null, t] },
  { fn: 'auth:change-password', args: () => ['stolen-password-1'], extra: (t) => ({ site: t }) },
  { fn: 'common:whoami', args: () => [], extra: (t) => ({ site: t }) },
];

/** Another reseller's sites and the operator's, each paired with an unknown target of the same kind. */
function foreignTargets(): { target: string; unknown: string }[] {
  return [
    { target: 'b-master.example', unknown: 'nobody-here.example' },
    { target: `site${ids['b-only.example']}`, unknown: 'site987654321' },
    { target: String(ids['b-only.example']), unknown: '987654321' },
    { target: 'B-ONLY-7', unknown: 'NO-SUCH-INV' },
    { target: 'op-own.example', unknown: 'nobody-here.example' },
    { target: `site${ids['op-own.example']}`, unknown: 'site987654321' },
    { target: 'OP-9', unknown: 'NO-SUCH-INV' },
  ];
}

describe("another reseller's site, or the operator's, is unknown to a reseller", () => {
  it('JSON door: every function answers exactly as for an unknown site, and nothing changes', async () => {
    const before = await serverSnapshot(s);
    for (const { target, unknown } of foreignTargets()) {
      for (const c of TARGETED) {
        const label = `${c.fn} ${JSON.stringify(c.args(target))} ${JSON.stringify(c.extra?.(target) ?? {})}`;
        const foreign = await call(keyA, c.fn, c.args(target), c.extra?.(target) ?? {});
        const missing = await call(keyA, c.fn, c.args(unknown), c.extra?.(unknown) ?? {});
        expect(foreign.status, `${label}: ${JSON.stringify(foreign.body)}`).toBe(missing.status);
        expect(JSON.stringify(foreign.body).replaceAll(target, 'TARGET'), label).toBe(JSON.stringify(missing.body).replaceAll(unknown, 'TARGET'));
        // Collect leaves an unknown out; every other call is refused as not found.
        if (c.fn === 'admin:collect') expect(foreign.body.result, label).toEqual({});
        else {
          expect(foreign.status, label).toBe(404);
          expect(foreign.body.error?.code, label).toBe('not_found');
        }
      }
    }
    await expectServerUnchanged(s, before);
    // The same calls reach them with their owner's key (B's) and with the operator's.
    expect(await ok(keyB, 'common:whoami', [], { site: 'b-master.example' })).toBe('bmaster');
    expect(await ok(s.t.operatorKey, 'common:whoami', [], { site: 'b-master.example' })).toBe('bmaster');
  });

  it('SOAP door (PHP SoapClient): the same fault as for an unknown site, and nothing changes', async () => {
    const before = await serverSnapshot(s);
    const calls = (t: string): PhpCall[] => [
      { op: 'admin_edit_site', args: [t, { 'diskquota.quota': 99 }] },
      { op: 'admin_deactivate_site', args: [t, 'not yours'] },
      { op: 'admin_activate_site', args: [t] },
      { op: 'admin_delete_site', args: [t] },
      { op: 'admin_hijack', args: [t] },
      { op: 'admin_get_usage', args: [null, [t]] },
      { op: 'auth_change_password', args: ['stolen-password-1', null, t] },
      { op: 'admin_collect', args: [null, [], [t]] },
    ];
    for (const { target, unknown } of foreignTargets()) {
      const foreign = await soap(calls(target), keyA);
      const missing = await soap(calls(unknown), keyA);
      expect(JSON.stringify(foreign).replaceAll(target, 'TARGET'), target).toBe(JSON.stringify(missing).replaceAll(unknown, 'TARGET'));
      // With Abort-On: error, collect too refuses a site it cannot find instead of leaving it out.
      for (const o of foreign) expect(o.fault, target).toMatchObject({ faultcode: 'SOAP-ENV:Server', faultstring: expect.stringContaining('not found') });
    }
    await expectServerUnchanged(s, before);
  });

  it('cpcmd: the same error line and exit code as for an unknown site, and nothing changes', async () => {
    const before = await serverSnapshot(s);
    // Another reseller's domain and the operator's site id (each CLI run is a process of its own).
    const targets = foreignTargets();
    for (const { target, unknown } of [targets[0]!, targets[5]!]) {
      for (const args of [['-d', '%', 'auth:is-inactive'], ['admin:delete-site', '%'], ['admin:edit-site', '%', '[diskquota.quota:99]']]) {
        const foreign = await cpcmd(keyA, ...args.map((x) => (x === '%' ? target : x)));
        const missing = await cpcmd(keyA, ...args.map((x) => (x === '%' ? unknown : x)));
        expect(foreign.code, `${args.join(' ')}: ${foreign.stderr}`).not.toBe(0);
        expect([foreign.code, foreign.stdout, foreign.stderr.replaceAll(target, 'TARGET')]).toEqual([missing.code, missing.stdout, missing.stderr.replaceAll(unknown, 'TARGET')]);
      }
    }
    await expectServerUnchanged(s, before);
  }, CLI_TIMEOUT);
});

describe('cpcmd with a reseller key', () => {
  it('adds, lists, suspends and deletes its own sites', async () => {
    const added = await cpcmd(keyA, 'admin:add-site', 'a-cli.example', 'acli');
    expect(added.code, added.stderr).toBe(0);
    ids['a-cli.example'] = await idOf('a-cli.example');
    const listed = await cpcmd(keyA, '-o', 'json', 'admin:collect', '[siteinfo.domain]');
    expect(listed.code, listed.stderr).toBe(0);
    const sites = JSON.parse(listed.stdout) as Record<string, { siteinfo: { domain: string } }>;
    expect(Object.values(sites).map((v) => v.siteinfo.domain).sort()).toEqual(['a-added.example', 'a-cli.example', 'a-hsp.example', 'a-master.example', 'a-sub.example']);
    expect((await cpcmd(keyA, 'admin:deactivate-site', 'a-cli.example')).code).toBe(0);
    const inactive = await cpcmd(keyA, '-d', 'a-cli.example', 'auth:is-inactive');
    expect([inactive.code, inactive.stdout.trim()]).toEqual([0, '1']);
    const deleted = await cpcmd(keyA, '-o', 'json', 'admin:delete-site', 'a-cli.example');
    expect(deleted.code, deleted.stderr).toBe(0);
    expect((JSON.parse(deleted.stdout) as { site: string }[]).map((d) => d.site)).toEqual([`site${ids['a-cli.example']}`]);
    const gone = await cpcmd(keyA, '-o', 'json', 'admin:collect', '[]', '[]', '[a-cli.example]');
    expect(JSON.parse(gone.stdout)).toEqual([]);
  }, CLI_TIMEOUT);

  it('scope functions are the operator\'s: forbidden, nothing changes', async () => {
    const before = await serverSnapshot(s);
    const set = await cpcmd(keyA, 'scope:set', 'opcenter.account-cleanup', '1 day');
    expect(set.code).not.toBe(0);
    expect(set.stderr).toMatch(/^ERROR {3}: only an administrator/);
    await expectServerUnchanged(s, before);
  }, CLI_TIMEOUT);
});

describe('delete by since without a target', () => {
  it('selects and deletes only the reseller\'s own suspended sites', async () => {
    await ok(keyA, 'admin:add-site', ['a-old.example', 'aold']);
    await ok(keyB, 'admin:add-site', ['b-old.example', 'bold']);
    await ok(s.t.operatorKey, 'admin:add-site', ['op-old.example', 'opold']);
    await ok(keyA, 'admin:deactivate-site', ['a-old.example', 'gone']);
    await ok(keyB, 'admin:deactivate-site', ['b-old.example', 'gone']);
    await ok(s.t.operatorKey, 'admin:deactivate-site', ['op-old.example', 'gone']);
    for (const d of ['a-old.example', 'b-old.example', 'op-old.example']) ids[d] = await idOf(d);
    const dry = (await ok(keyA, 'admin:delete-site', [null, { since: 'now', 'dry-run': true }])) as { site: string }[];
    expect(dry.map((d) => d.site)).toEqual([`site${ids['a-old.example']}`]);
    const mark = await auditMark(s.t);
    const deleted = (await ok(keyA, 'admin:delete-site', [null, { since: 'now' }])) as { site: string }[];
    expect(deleted.map((d) => d.site)).toEqual([`site${ids['a-old.example']}`]);
    const events = (await auditSince(s.t, mark)).filter((e) => e.actor_kind !== 'system');
    expect(events.map((e) => [e.action, e.actor_kind, e.actor_id, e.reseller_id, e.target_id])).toEqual([['client.deleted', 'reseller', a.id, a.id, String(ids['a-old.example'])]]);
    // B's and the operator's suspended sites are still there.
    const left = (await ok(s.t.operatorKey, 'admin:delete-site', [null, { since: 'now', 'dry-run': true }])) as { site: string }[];
    expect(left.map((d) => d.site)).toEqual(expect.arrayContaining([`site${ids['b-old.example']}`, `site${ids['op-old.example']}`]));
    expect(left.map((d) => d.site)).not.toContain(`site${ids['a-old.example']}`);
  });
});

describe('what a reseller key may not do', () => {
  it('scope:set and scope:get are forbidden on the JSON door and SOAP; nothing changes', async () => {
    const before = await serverSnapshot(s);
    for (const [fn, args] of [
      ['scope:set', ['opcenter.account-cleanup', '1 day']],
      ['scope:get', ['opcenter.account-cleanup']],
      ['scope:set', ['cp.config', 'auth', 'subordinate_site_sso', 'false']],
    ] as [string, unknown[]][]) {
      const r = await call(keyA, fn, args);
      expect(r.status, fn).toBe(403);
      expect(r.body.error?.code).toBe('forbidden');
    }
    const out = await soap([{ op: 'scope_set', args: ['opcenter.account-cleanup', '1 day'] }, { op: 'scope_get', args: ['cp.config'] }], keyA);
    for (const o of out) expect(o.fault).toMatchObject({ faultcode: 'SOAP-ENV:Client', faultstring: 'only an administrator may manage sites' });
    await expectServerUnchanged(s, before);
  });

  it('the operator console APIs (account groups, settings) do not take a reseller key', async () => {
    for (const url of ['/admin/v1/account-groups', '/admin/v1/jobs?limit=1']) {
      const res = await s.t.app.server.inject({ method: 'GET', url, headers: { authorization: as(keyA) } });
      expect(res.statusCode, url).toBe(401);
    }
  });

  it('a suspended or pending reseller is refused on every door (forbidden), nothing changes', async () => {
    const c = await createReseller(s.t);
    const keyC = keyOf(c);
    await ok(keyC, 'admin:add-site', ['c-own.example', 'cown']);
    const suspend = await s.t.app.server.inject({ method: 'POST', url: `/admin/v1/resellers/${c.id}/suspend`, headers: { authorization: as(s.t.operatorKey) }, payload: { reason: 'unpaid' } });
    expect(suspend.statusCode, suspend.body).toBe(200);
    const p = await createReseller(s.t);
    await s.t.app.deps.db.updateTable('resellers').set({ status: 'pending' }).where('id', '=', p.id).execute();
    const before = await serverSnapshot(s);
    for (const [key, message] of [
      [keyC, 'reseller account is suspended'],
      [keyOf(p), 'reseller account is not approved'],
    ] as const) {
      for (const [fn, args] of [
        ['admin:collect', [null]],
        ['admin:add-site', ['c-more.example', 'cmore']],
        ['admin:deactivate-site', ['c-own.example']],
      ] as [string, unknown[]][]) {
        const r = await call(key, fn, args);
        expect(r.status, `${fn}: ${JSON.stringify(r.body)}`).toBe(403);
        expect(r.body.error).toEqual({ code: 'forbidden', message });
      }
      const [fault] = await soap([{ op: 'admin_collect', args: [null] }], key);
      expect(fault!.fault).toMatchObject({ faultcode: 'SOAP-ENV:Client', faultstring: message });
      const cli = await cpcmd(key, 'admin:collect');
      expect(cli.code).not.toBe(0);
      expect(cli.stderr).toContain(message);
    }
    await expectServerUnchanged(s, before);
  }, CLI_TIMEOUT);

  it('wrong key shapes are refused as unauthenticated, never a 500; nothing changes', async () => {
    const before = await serverSnapshot(s);
    const shapes = [':', `${a.api_token}:`, `:${a.api_key}`, `${a.api_token}:${a.api_key}:extra`, `${a.api_token}:${b.api_key}`, `${b.api_token}:${a.api_key}`, `${a.api_key}:${a.api_token}`, `${'x'.repeat(300)}:${a.api_key}`, `${a.api_token}:${'y'.repeat(5000)}`, `é:ü`, `${a.api_token}%00:${a.api_key}`, `${s.t.operatorKey}:${a.api_key}`];
    for (const key of shapes) {
      const r = await call(key, 'admin:add-site', ['intruder.example', 'intruder']);
      expect(r.status, `${key.slice(0, 40)}: ${JSON.stringify(r.body)}`).toBe(401);
      expect(r.body.error?.code).toBe('unauthenticated');
    }
    const out = await soap([{ op: 'admin_collect', args: [null] }], `${a.api_token}:wrong`);
    expect(out[0]!.fault).toMatchObject({ faultcode: 'SOAP-ENV:Client', faultstring: 'Invalid API key' });
    const cli = await cpcmd(`${a.api_token}:wrong`, 'admin:collect');
    expect(cli.code).toBe(3);
    await expectServerUnchanged(s, before);
  }, CLI_TIMEOUT);
});

describe('SOAP door for a reseller\'s billing module (PHP SoapClient)', () => {
  it('adds, collects, edits, suspends, activates, hijacks and deletes its own site; audited as the reseller', async () => {
    const mark = await auditMark(s.t);
    const out = await soap(
      [
        { op: 'admin_add_site', args: ['a-soap.example', 'asoap', { 'siteinfo.email': 'o@a-soap.example', 'billing.invoice': 'WHMCS-A-1' }] },
        { op: 'admin_collect', args: [['siteinfo.domain', 'billing.invoice'], { 'billing.invoice': 'WHMCS-A-1' }] },
        { op: 'admin_edit_site', args: ['a-soap.example', { 'diskquota.quota': 3000 }] },
        { op: 'admin_deactivate_site', args: ['WHMCS-A-1', 'unpaid'] },
        { op: 'admin_activate_site', args: ['WHMCS-A-1'] },
        { op: 'admin_hijack', args: ['a-soap.example', null, 'UI'] },
        { op: 'admin_collect', args: [null] },
        { op: 'admin_delete_site', args: ['WHMCS-A-1'] },
      ],
      keyA,
    );
    expect(out.every((o) => o.ok), JSON.stringify(out.filter((o) => !o.ok))).toBe(true);
    const [added, collected, edited, suspended, activated, hijacked, all, deleted] = out;
    expect(value(added)).toBe(true);
    const sites = value(collected) as Record<string, unknown>;
    const [key] = Object.keys(sites);
    expect(sites[key!]).toEqual({ siteinfo: { domain: 'a-soap.example' }, billing: { invoice: 'WHMCS-A-1' }, active: true, domain: 'a-soap.example' });
    expect([value(edited), value(suspended), value(activated)]).toEqual([true, true, true]);
    expect(value(hijacked)).toEqual(expect.stringMatching(/^[A-Za-z0-9_-]{40,}$/));
    expect(Object.keys(value(all) as object).sort()).toEqual([...names('a-master.example', 'a-sub.example', 'a-added.example', 'a-hsp.example'), key!].sort());
    expect(value(deleted)).toHaveLength(1);
    const events = (await auditSince(s.t, mark)).filter((e) => e.actor_kind !== 'system');
    expect(events.map((e) => e.action)).toEqual(['client.created', 'client.updated', 'client.suspended', 'client.activated', 'client.hijacked', 'client.deleted']);
    for (const e of events) expect(e, e.action).toMatchObject({ actor_kind: 'reseller', actor_id: a.id, reseller_id: a.id, target_id: key!.slice(4), request_id: expect.any(String) });
  });
});

/** A browser of one: keeps the site session cookie between requests. */
function browser() {
  let cookie = '';
  const remember = (res: Response) => {
    const set = res.headers.get('set-cookie');
    if (set) cookie = set.split(';')[0]!;
    return res;
  };
  return {
    open: async (p: string) => remember(await fetch(`${s.url}${p}`, { headers: cookie ? { cookie } : {}, redirect: 'manual' })),
    switchTo: async (site: string) =>
      remember(await fetch(`${s.url}/apps/dashboard/switch`, { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ site }).toString(), redirect: 'manual' })),
  };
}

describe("a reseller's site sessions", () => {
  it('a master enters only its own reseller\'s subordinates, though another reseller uses the same invoice number', async () => {
    await ok(keyB, 'admin:add-site', ['b-sub.example', 'bsub', { 'billing.parent_invoice': 'INV-1' }]);
    await ok(s.t.operatorKey, 'admin:add-site', ['op-sub.example', 'opsub', { 'billing.parent_invoice': 'INV-1' }]);
    for (const d of ['b-sub.example', 'op-sub.example']) ids[d] = await idOf(d);
    const me = browser();
    const id = (await ok(keyA, 'admin:hijack', ['a-master.example'])) as string;
    // The panel entry sets the session cookie and sends the browser on without the id in the address.
    expect((await me.open(`/apps/dashboard?esprit_id=${encodeURIComponent(id)}`)).status).toBe(303);
    const home = await me.open('/apps/dashboard');
    expect(home.status).toBe(200);
    const html = await home.text();
    expect(html).toContain(`value="site${ids['a-sub.example']}"`);
    expect(html).not.toContain('b-sub.example');
    expect(html).not.toContain('op-sub.example');
    for (const other of ['b-sub.example', 'op-sub.example']) {
      expect((await me.switchTo(`site${ids[other]}`)).status, other).toBe(403);
      expect(await (await me.open('/apps/dashboard')).text()).toContain('a-master.example');
    }
    expect((await me.switchTo(`site${ids['a-sub.example']}`)).status).toBe(303);
    expect(await (await me.open('/apps/dashboard')).text()).toContain('a-sub.example');
  });

  it('suspending the reseller ends the sessions its key opened', async () => {
    const d = await createReseller(s.t);
    await ok(keyOf(d), 'admin:add-site', ['d-own.example', 'down']);
    const id = (await ok(keyOf(d), 'admin:hijack', ['d-own.example'])) as string;
    expect((await fetch(`${s.url}/apps/dashboard?esprit_id=${encodeURIComponent(id)}`)).status).toBe(200);
    const suspend = await s.t.app.server.inject({ method: 'POST', url: `/admin/v1/resellers/${d.id}/suspend`, headers: { authorization: as(s.t.operatorKey) }, payload: { reason: 'unpaid' } });
    expect(suspend.statusCode, suspend.body).toBe(200);
    expect((await fetch(`${s.url}/apps/dashboard?esprit_id=${encodeURIComponent(id)}`)).status).toBe(401);
    // An operator's hijack of the same site is not the reseller's session: it stays open.
    const op = (await ok(s.t.operatorKey, 'admin:hijack', ['d-own.example'])) as string;
    expect((await fetch(`${s.url}/apps/dashboard?esprit_id=${encodeURIComponent(op)}`)).status).toBe(200);
  });
});
