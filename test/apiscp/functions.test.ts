import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ctxFor } from '../../src/core/context.js';
import { createOperatorKey } from '../../src/core/credentials/credential.service.js';
import { auditMark, auditPage, auditSince } from '../support/audit.js';
import { createReseller, seedDemoCatalog, type ResellerFixture } from '../support/test-app.js';
import { expectServerUnchanged, serverSnapshot, startApiscpServer, type ApiscpServer, type ServerSnapshot } from './apiscp-harness.js';

// Every function of the JSON door (`POST /api/v1/cpcmd/{fn}`): what it does, what it refuses, and
// that a refused call changes nothing (the whole server is re-collected and compared after each).
let s: ApiscpServer;
let reseller: ResellerFixture;
/** The HSP client a reseller created over /v1/clients: a site too, seen through the ApisCP door. */
let hsp: { id: number; domain: string };

interface ApiError {
  code: string;
  message: string;
  fields?: Record<string, string[]>;
}
type Sites = Record<string, Record<string, unknown>>;
interface Summary {
  site: string;
  id: number;
  domain: string | null;
  active: boolean;
  suspended_at: string | null;
  suspend_reason: string | null;
}
interface Edited {
  site: string;
  domain: string | null;
  changes: { param: string; before: unknown; after: unknown }[];
}

const operator = () => ({ authorization: `Bearer ${s.t.operatorKey}` });

async function admin(method: 'GET' | 'POST' | 'PATCH', url: string, payload?: Record<string, unknown>) {
  const res = await s.t.app.server.inject({ method, url, headers: operator(), ...(payload ? { payload } : {}) });
  return { status: res.statusCode, body: res.json() as Record<string, unknown> };
}

async function ok(name: string, args: unknown[] = [], extra: Record<string, unknown> = {}): Promise<unknown> {
  const r = await s.fn(name, args, extra);
  expect(r.status, `${name} ${JSON.stringify(args)}: ${JSON.stringify(r.body)}`).toBe(200);
  expect(Object.keys(r.body)).toEqual(['result']);
  return r.body.result;
}

const collect = async (...args: unknown[]) => (await ok('admin:collect', args)) as Sites;

const snapshot = () => serverSnapshot(s);
const expectUnchanged = (before: ServerSnapshot) => expectServerUnchanged(s, before);

/** A call that must fail with exactly this status and code, and leave everything as it was. */
async function refused(name: string, args: unknown[], status: number, code: string, opts: { extra?: Record<string, unknown>; auth?: string | null } = {}): Promise<ApiError> {
  const before = await snapshot();
  const r = await s.fn(name, args, opts.extra ?? {}, opts.auth === undefined ? `Bearer ${s.t.operatorKey}` : opts.auth);
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(Object.keys(r.body)).toEqual(['error']);
  expect(r.body.error?.code).toBe(code);
  expect(typeof r.body.error?.message).toBe('string');
  await expectUnchanged(before);
  return r.body.error!;
}

/** The id of the one live site whose primary domain this is. */
async function idOf(domain: string): Promise<number> {
  const keys = Object.keys(await collect(['siteinfo.domain'], { 'siteinfo.domain': domain }));
  expect(keys, domain).toHaveLength(1);
  return Number(keys[0]!.slice(4));
}

async function addSite(domain: string, adminUser: string, opts: Record<string, unknown> = {}, plan?: string): Promise<number> {
  expect(await ok('admin:add-site', plan === undefined ? [domain, adminUser, opts] : [domain, adminUser, opts, plan])).toBe(true);
  return idOf(domain);
}

async function group(prefix: string): Promise<{ invoice: string; master: number; sub1: number; sub2: number }> {
  const invoice = `${prefix.toUpperCase()}-INV`;
  return {
    invoice,
    master: await addSite(`${prefix}-master.example`, `${prefix}boss`, { 'billing.invoice': invoice }),
    sub1: await addSite(`${prefix}-sub1.example`, `${prefix}sub1`, { 'billing.parent_invoice': invoice }),
    sub2: await addSite(`${prefix}-sub2.example`, `${prefix}sub2`, { 'billing.parent_invoice': invoice }),
  };
}

const quotaOf = async (id: number) => ((await collect(['diskquota.quota'], [], [`site${id}`]))[`site${id}`]!.diskquota as { quota: number }).quota;

beforeAll(async () => {
  s = await startApiscpServer();
  await seedDemoCatalog(s.t);
  reseller = await createReseller(s.t);
  const domain = 'hsp-held.example';
  const res = await s.t.app.server.inject({
    method: 'POST',
    url: '/v1/clients',
    headers: { authorization: reseller.auth },
    payload: { package_uid: 'spamstopshere-standard', user_count: 1, name: 'HSP Customer', domains: [{ name: domain }] },
  });
  expect(res.statusCode, res.body).toBe(201);
  hsp = { id: (res.json() as { id: number }).id, domain };
  await addSite('plain.example', 'plainadmin', { 'siteinfo.email': 'owner@plain.example' });
});
afterAll(() => s?.close());

describe('who may call', () => {
  it('refuses a missing, wrong, reseller, unknown or revoked credential with 401 and the admin error body', async () => {
    const { key: revoked, id } = await createOperatorKey(ctxFor(s.t.app.deps, { kind: 'system' }), 'revoked-for-test');
    await s.t.app.deps.db.updateTable('operator_keys').set({ revoked_at: new Date() }).where('id', '=', id).execute();
    const credentials: (string | null)[] = [null, 'Bearer hp_op_not-a-real-key', 'Bearer not-even-an-operator-key', reseller.auth, `Basic ${Buffer.from(`x:${s.t.operatorKey}`).toString('base64')}`, `Bearer ${revoked}`, s.t.operatorKey, ''];
    for (const auth of credentials) {
      // A mutating call: had it got through, the snapshot would show a new site.
      const err = await refused('admin:add-site', ['intruder.example', 'intruder'], 401, 'unauthenticated', { auth });
      expect(err.message).toMatch(/operator key/);
    }
    // Reads are refused alike, and an unknown function does not reveal itself before the key is checked.
    await refused('admin:collect', [], 401, 'unauthenticated', { auth: reseller.auth });
    await refused('admin:no-such-function', [], 401, 'unauthenticated', { auth: null });
    const raw = await s.t.app.server.inject({ method: 'POST', url: '/api/v1/cpcmd/admin:collect', payload: { args: [] } });
    expect(raw.statusCode).toBe(401);
    expect(raw.headers['www-authenticate']).toBe('Bearer realm="Hostplane admin API"');
    expect(raw.json()).toEqual({ error: { code: 'unauthenticated', message: 'API key required: an operator key, or a reseller API token and key as TOKEN:KEY' } });
  });

  it('checks the key before the body: a bad body without a key is 401, not 422', async () => {
    const res = await s.t.app.server.inject({ method: 'POST', url: '/api/v1/cpcmd/admin:collect', payload: { args: 'x' } });
    expect(res.statusCode).toBe(401);
    expect((res.json() as { error: ApiError }).error.code).toBe('unauthenticated');
  });
});

describe('function names and the call body', () => {
  it('an unknown function is 404 not_found', async () => {
    for (const name of ['admin:no-such-function', 'nosuch:collect', 'admin_nope', 'collect', 'admin:']) {
      const err = await refused(name, [], 404, 'not_found');
      expect(err.message).toContain('not found');
    }
  });

  it('admin:collect and admin_collect, admin:add-site and admin_add_site are the same functions', async () => {
    expect(await collect([], [], ['plain.example'])).toEqual(await ok('admin_collect', [[], [], ['plain.example']]));
    expect(await ok('ADMIN:Collect', [['siteinfo.domain'], { 'siteinfo.domain': 'plain.example' }])).toEqual(await collect(['siteinfo.domain'], { 'siteinfo.domain': 'plain.example' }));
    expect(await ok('admin_add_site', ['underscored.example', 'underscored'])).toBe(true);
    expect(await ok('admin:add-site', ['dashed.example', 'dashed'])).toBe(true);
    const both = await collect(['siteinfo.admin_user'], [], ['underscored.example', 'dashed.example']);
    expect(both).toEqual({
      'underscored.example': { siteinfo: { admin_user: 'underscored' }, active: true, domain: 'underscored.example' },
      'dashed.example': { siteinfo: { admin_user: 'dashed' }, active: true, domain: 'dashed.example' },
    });
    // Both spellings of a refused call are refused the same way.
    const a = await refused('admin:add-site', ['underscored.example', 'again'], 422, 'validation_failed');
    const b = await refused('admin_add_site', ['underscored.example', 'again'], 422, 'validation_failed');
    expect(b).toEqual(a);
  });

  it('too many arguments is 422 naming the parameters the function takes', async () => {
    const err = await refused('admin:collect', [[], [], [], 'extra'], 422, 'validation_failed');
    expect(err.message).toBe('admin:collect takes at most 3 argument(s) (params, query, sites), got 4');
    expect(err.fields).toEqual({ args: [err.message] });
    expect((await refused('admin_add_site', ['x.example', 'x', [], 'basic', 'more'], 422, 'validation_failed')).message).toContain('(domain, admin, opts, flags)');
    expect((await refused('admin:list-plans', ['basic'], 422, 'validation_failed')).message).toBe('admin:list-plans takes at most 0 argument(s) (none), got 1');
    expect((await refused('admin:deactivate-site', ['plain.example', 'why', 'more'], 422, 'validation_failed')).message).toContain('(site, flags)');
  });

  it('a body that is not {"args": [...]} is 422', async () => {
    for (const payload of [{ args: 'plain.example' }, { args: { 0: 'x' } }, { arguments: [] }, { args: [], site: '' }, { args: [], site: 5 }]) {
      const before = await snapshot();
      const res = await s.t.app.server.inject({ method: 'POST', url: '/api/v1/cpcmd/admin:add-site', headers: operator(), payload });
      expect(res.statusCode, `${JSON.stringify(payload)}: ${res.body}`).toBe(422);
      expect((res.json() as { error: ApiError }).error.code).toBe('validation_failed');
      await expectUnchanged(before);
    }
    const list = await s.t.app.server.inject({ method: 'POST', url: '/api/v1/cpcmd/admin:collect', headers: operator(), payload: [1, 2] });
    expect(list.statusCode).toBe(422);
    expect((list.json() as { error: ApiError }).error.code).toBe('validation_failed');
    // No body at all is a call without arguments.
    const none = await s.t.app.server.inject({ method: 'POST', url: '/api/v1/cpcmd/admin:list-plans', headers: operator() });
    expect(none.statusCode, none.body).toBe(200);
  });
});

describe('admin:add-site', () => {
  it('creates a site with its options, a placeholder email and the basic plan', async () => {
    const id = await addSite('added.example', 'addedadmin', { 'diskquota.quota': 2048, 'ssh.enabled': '0', 'aliases.aliases': ['www.added.example'], 'billing.invoice': 'ADD-1' });
    expect((await collect(null, [], [`site${id}`]))[`site${id}`]).toEqual({
      siteinfo: { domain: 'added.example', admin_user: 'addedadmin', email: 'blackhole@apiscp.com', plan: 'basic', enabled: 1 },
      // Passwords are never shown; database names derive from the admin login while unset.
      auth: { tpasswd: null, cpasswd: null },
      mysql: { enabled: 1, dbaseprefix: 'addedadmin_', dbaseadmin: 'addedadmin', dbasenum: null, passwd: null },
      pgsql: { enabled: 1, dbaseprefix: 'addedadmin_', dbaseadmin: 'addedadmin', dbasenum: null, passwd: null },
      diskquota: { quota: 2048, units: 'MB', fquota: null },
      bandwidth: { enabled: 1, threshold: null, units: 'MB', rollover: 1 },
      ssh: { enabled: 0, jail: 1 },
      billing: { invoice: 'ADD-1', parent_invoice: null },
      aliases: { enabled: 1, max: null, aliases: ['www.added.example'] },
      users: { enabled: 1, max: 1 },
      sites: { max: null },
      ftp: { enabled: 1 },
      logs: { enabled: 1 },
      mail: { enabled: 1 },
      ssl: { enabled: 1 },
      spamfilter: { enabled: 1, provider: 'rspamd' },
      rampart: { enabled: 1, max: null, whitelist: [] },
      cgroup: { enabled: 1, memory: null, cpu: null, cpuweight: null, proclimit: null, ioweight: null, readbw: null, writebw: null, readiops: null, writeiops: null },
      dns: { enabled: 1, provider: 'builtin', key: null },
      ipinfo: { enabled: 1, namebased: 1 },
      apache: { enabled: 1 },
      php: { enabled: 1 },
      active: true,
      domain: 'added.example',
      // null (every value) also says where the site is served: no hosting nodes here, not placed.
      node: null,
    });
    const client = await admin('GET', `/admin/v1/clients/${id}`);
    expect((client.body.domains as { name: string }[]).map((d) => d.name)).toEqual(['added.example', 'www.added.example']);
  });

  it("takes the options WHMCS and Clientexec send: siteinfo.* repeated in opts, siteinfo.enabled = '1'", async () => {
    const opts = { 'siteinfo.enabled': '1', 'siteinfo.domain': 'whmcs.example', 'siteinfo.admin_user': 'whmcsuser', 'siteinfo.email': 'buyer@whmcs.example', 'siteinfo.plan': 'basic' };
    const id = await addSite('whmcs.example', 'whmcsuser', opts);
    expect((await collect(['siteinfo'], [], [`site${id}`]))[`site${id}`]).toEqual({
      siteinfo: { domain: 'whmcs.example', admin_user: 'whmcsuser', email: 'buyer@whmcs.example', plan: 'basic', enabled: 1 },
      active: true,
      domain: 'whmcs.example',
    });
    // A package change as WHMCS sends it; enabled is always 1 and cannot be turned off.
    expect(await ok('admin:edit-site', ['whmcs.example', { 'siteinfo.plan': 'basic', 'siteinfo.enabled': 1 }])).toBe(true);
    expect((await refused('admin:edit-site', ['whmcs.example', { 'siteinfo.enabled': 0 }], 422, 'validation_failed')).message).toBe('siteinfo,enabled: is always 1; it cannot be changed');
    expect((await refused('admin:add-site', ['whmcs2.example', 'whmcs2', { 'siteinfo.enabled': false }], 422, 'validation_failed')).fields).toEqual({ 'siteinfo.enabled': ['siteinfo,enabled: is always 1; it cannot be changed'] });
  });

  it('refuses bad input with 422 naming the parameter, and creates nothing', async () => {
    const cases: [unknown[], string, RegExp][] = [
      [[null, 'someadmin'], 'siteinfo.domain', /^siteinfo,domain: a value is required$/],
      [['missing-admin.example'], 'siteinfo.admin_user', /^siteinfo,admin_user: a value is required$/],
      [['not a domain', 'someadmin'], 'siteinfo.domain', /siteinfo,domain: "not a domain" is not a valid domain name/],
      [['bad-admin.example', 'Not A Login'], 'siteinfo.admin_user', /^siteinfo,admin_user: must start with a lower-case letter/],
      [['plain.example', 'someadmin'], 'siteinfo.domain', /^plain\.example: domain already belongs to a site$/],
      [['PLAIN.example.', 'someadmin'], 'siteinfo.domain', /^plain\.example: domain already belongs to a site$/],
      [['hsp-held.example', 'someadmin'], 'siteinfo.domain', /^hsp-held\.example: domain already belongs to a site$/],
      [['fresh.example', 'someadmin', { 'aliases.aliases': ['www.fresh.example', 'hsp-held.example'] }], 'siteinfo.domain', /^hsp-held\.example: domain already belongs to a site$/],
      [['fresh.example', 'someadmin', { 'nosuch.param': 1 }], 'nosuch.param', /^nosuch: unknown service$/],
      [['fresh.example', 'someadmin', { nosuch: { param: 1 } }], 'nosuch', /^nosuch: unknown service$/],
      [['fresh.example', 'someadmin', { 'siteinfo.nope': 1 }], 'siteinfo.nope', /^siteinfo,nope: unknown parameter of service siteinfo$/],
      [['fresh.example', 'someadmin', { 'diskquota.quota': 'lots' }], 'diskquota.quota', /^diskquota,quota: "lots" is not a whole number$/],
      [['fresh.example', 'someadmin', { 'diskquota,quota': 1.5 }], 'diskquota.quota', /^diskquota,quota: 1\.5 is not a whole number$/],
      [['fresh.example', 'someadmin', { diskquota: { quota: -1 } }], 'diskquota.quota', /^diskquota,quota: must be at least 0$/],
      [['fresh.example', 'someadmin', { 'ssh.enabled': 'maybe' }], 'ssh.enabled', /^ssh,enabled: must be 1 or 0$/],
      [['fresh.example', 'someadmin', { 'siteinfo.email': 'not-an-email' }], 'siteinfo.email', /^siteinfo,email: "not-an-email" is not an email address$/],
      [['fresh.example', 'someadmin', 'opts as text'], 'opts', /^must be a map of service\.param: value$/],
      [['fresh.example', 'someadmin', [], 'no-such-plan'], 'siteinfo.plan', /^siteinfo,plan: no plan named no-such-plan$/],
      [['fresh.example', 'someadmin', { 'siteinfo.plan': 'no-such-plan' }], 'siteinfo.plan', /^siteinfo,plan: no plan named no-such-plan$/],
    ];
    for (const [args, field, message] of cases) {
      const err = await refused('admin:add-site', args, 422, 'validation_failed');
      expect(Object.keys(err.fields ?? {}), JSON.stringify(args)).toContain(field);
      expect(err.fields![field]!.some((m) => message.test(m)), `${JSON.stringify(args)}: ${JSON.stringify(err.fields)}`).toBe(true);
      expect(err.message, JSON.stringify(args)).toMatch(message);
    }
    expect(await collect([], [], ['fresh.example', 'missing-admin.example', 'bad-admin.example'])).toEqual({});
  });
});

describe('admin:edit-site', () => {
  it('refuses single-site parameters on an invoice that names several sites', async () => {
    const g = await group('ed');
    for (const [param, value] of [
      ['siteinfo.domain', 'ed-new.example'],
      ['aliases.aliases', ['ed-alias.example']],
      ['siteinfo.admin_user', 'edboss2'],
    ] as const) {
      const err = await refused('admin:edit-site', [g.invoice, { [param]: value }], 422, 'validation_failed');
      expect(err.fields?.[param]?.[0]).toBe(`${param.replace('.', ',')} can only be changed on one site at a time; ${g.invoice} names 3`);
    }
    // Alongside a value every site can take, the whole edit is refused.
    await refused('admin:edit-site', [g.invoice, { 'diskquota.quota': 3000, 'siteinfo.domain': 'ed-new.example' }], 422, 'validation_failed');
    // A group-wide value works on the invoice.
    expect(await ok('admin:edit-site', [g.invoice, { 'ssh.enabled': false }])).toBe(true);
    expect(Object.values(await collect(['ssh.enabled'], { 'billing.parent_invoice': g.invoice })).map((v) => v.ssh)).toEqual([{ enabled: 0 }, { enabled: 0 }]);
  });

  it('renames the primary domain and sets aliases of one site; admin:collect and the admin API show them', async () => {
    const id = await addSite('rename-me.example', 'renamer', { 'aliases.aliases': ['old-alias.example'] });
    expect(await ok('admin:edit-site', [`site${id}`, { 'siteinfo.domain': 'renamed.example' }])).toBe(true);
    expect(await ok('admin:edit-site', ['renamed.example', { 'aliases.aliases': ['www.renamed.example', 'shop.renamed.example'] }])).toBe(true);
    expect(await collect(['siteinfo.domain', 'aliases.aliases'], [], [`site${id}`])).toEqual({
      [`site${id}`]: { siteinfo: { domain: 'renamed.example' }, aliases: { aliases: ['www.renamed.example', 'shop.renamed.example'] }, active: true, domain: 'renamed.example' },
    });
    const client = await admin('GET', `/admin/v1/clients/${id}`);
    expect(client.status).toBe(200);
    expect((client.body.domains as { name: string }[]).map((d) => d.name)).toEqual(['renamed.example', 'www.renamed.example', 'shop.renamed.example']);
    // An alias names the site; the old names no longer do, and are free again.
    expect(await ok('auth:is-inactive', [], { site: 'shop.renamed.example' })).toBe(false);
    await refused('auth:is-inactive', [], 404, 'not_found', { extra: { site: 'rename-me.example' } });
    await refused('auth:is-inactive', [], 404, 'not_found', { extra: { site: 'old-alias.example' } });
    expect(await addSite('old-alias.example', 'newowner')).not.toBe(id);
    // Renaming onto a domain another site holds is refused.
    const err = await refused('admin:edit-site', [`site${id}`, { 'siteinfo.domain': 'plain.example' }], 422, 'validation_failed');
    expect(err.fields).toEqual({ 'siteinfo.domain': ['plain.example: domain already belongs to a site'] });
    await refused('admin:edit-site', [`site${id}`, { 'aliases.aliases': ['hsp-held.example'] }], 422, 'validation_failed');
  });

  it('a dry run changes nothing and returns the diff', async () => {
    const id = await addSite('dry-edit.example', 'dryedit', { 'diskquota.quota': 1500 });
    const before = await snapshot();
    const diff = (await ok('admin:edit-site', ['dry-edit.example', { 'diskquota.quota': 2500, 'siteinfo.email': 'x@dry-edit.example' }, { 'dry-run': true }])) as Edited[];
    expect(diff).toEqual([
      {
        site: `site${id}`,
        domain: 'dry-edit.example',
        changes: [
          { param: 'siteinfo,email', before: 'blackhole@apiscp.com', after: 'x@dry-edit.example' },
          { param: 'diskquota,quota', before: 1500, after: 2500 },
        ],
      },
    ]);
    await expectUnchanged(before);
    expect(await ok('admin:edit-site', ['dry-edit.example', { 'siteinfo.domain': 'dry-renamed.example' }, { dry_run: 1 }])).toEqual([
      { site: `site${id}`, domain: 'dry-renamed.example', changes: [{ param: 'siteinfo,domain', before: 'dry-edit.example', after: 'dry-renamed.example' }] },
    ]);
    await expectUnchanged(before);
  });

  it('{reset: true} drops the overrides back to the plan', async () => {
    const id = await addSite('reset.example', 'resetter', { 'diskquota.quota': 4321, 'ssh.enabled': 0, 'sites.max': 7, 'users.max': 3 });
    expect(await ok('admin:edit-site', [`site${id}`, [], { reset: true }])).toBe(true);
    // users,max is the client's own user count, not a plan value: a reset keeps it.
    expect((await collect(['diskquota', 'ssh', 'sites', 'users'], [], [`site${id}`]))[`site${id}`]).toMatchObject({ diskquota: { quota: 1024 }, ssh: { enabled: 1 }, sites: { max: null }, users: { max: 3 } });
    // With a value: the reset keeps that one.
    await ok('admin:edit-site', [`site${id}`, { 'diskquota.quota': 99, 'ssh.enabled': 0 }]);
    expect(await ok('admin:edit-site', [`site${id}`, { 'ssh.enabled': 0 }, { reset: true }])).toBe(true);
    expect((await collect(['diskquota.quota', 'ssh.enabled'], [], [`site${id}`]))[`site${id}`]).toMatchObject({ diskquota: { quota: 1024 }, ssh: { enabled: 0 } });
  });

  it('{report: true} answers with the changes it made instead of true', async () => {
    const id = await addSite('report-edit.example', 'reportedit', { 'diskquota.quota': 1500 });
    const mark = await auditMark(s.t);
    expect(await ok('admin:edit-site', ['report-edit.example', { 'diskquota.quota': 2500 }, { report: true }])).toEqual([
      { site: `site${id}`, domain: 'report-edit.example', changes: [{ param: 'diskquota,quota', before: 1500, after: 2500 }] },
    ]);
    expect(await quotaOf(id)).toBe(2500);
    expect((await auditSince(s.t, mark)).filter((e) => e.actor_kind === 'operator').map((e) => [e.action, e.changes])).toEqual([['client.updated', { 'diskquota,quota': { before: 1500, after: 2500 } }]]);
    // With reset: the override goes, and the report says so.
    expect(await ok('admin:edit-site', [`site${id}`, [], { reset: true, report: 1 }])).toEqual([
      { site: `site${id}`, domain: 'report-edit.example', changes: [{ param: 'diskquota,quota', before: 2500, after: 1024 }] },
    ]);
    // A refused edit reports nothing and changes nothing.
    await refused('admin:edit-site', ['report-edit.example', { 'diskquota.quota': 'big' }, { report: true }], 422, 'validation_failed');
  });

  it('refuses unknown flags, nothing to change, bad values and unknown targets', async () => {
    expect((await refused('admin:edit-site', ['plain.example', { 'diskquota.quota': 1 }, { bogus: true }], 422, 'validation_failed')).fields).toEqual({ flags: ['unknown option bogus; known: reset, dry-run, dry_run, report, backup, force, reconfig, all, plan'] });
    await refused('admin:edit-site', ['plain.example', { 'diskquota.quota': 1 }, 'dry-run'], 422, 'validation_failed');
    expect((await refused('admin:edit-site', ['plain.example', {}], 422, 'validation_failed')).fields).toEqual({ opts: ['nothing to change: give at least one service,param=value'] });
    expect((await refused('admin:edit-site', ['plain.example', { 'diskquota.quota': 'big' }], 422, 'validation_failed')).message).toBe('diskquota,quota: "big" is not a whole number');
    expect((await refused('admin:edit-site', ['plain.example', { 'siteinfo.plan': 'no-such-plan' }], 422, 'validation_failed')).message).toBe('siteinfo,plan: no plan named no-such-plan');
    expect((await refused('admin:edit-site', ['no-such-site.example', { 'diskquota.quota': 1 }], 404, 'not_found')).message).toBe('site, domain or invoice "no-such-site.example" not found');
    await refused('admin:edit-site', ['site999999999', { 'diskquota.quota': 1 }], 404, 'not_found');
    expect((await refused('admin:edit-site', [], 422, 'validation_failed')).fields).toEqual({ site: ['admin:edit-site acts on a site: pass -d SITE'] });
  });
});

describe('plans', () => {
  it('inherit down the chain; a site follows its plan unless it set the value itself', async () => {
    const created = await admin('POST', '/admin/v1/packages', { uid: 'fx-big', name: 'Big', parent_uid: 'basic', service_defaults: { diskquota: { quota: 7777 } } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const onBig = await addSite('on-big.example', 'onbig', {}, 'fx-big');
    const overrides = await addSite('overrides.example', 'overrides', { 'diskquota.quota': 1234 }, 'fx-big');
    expect(await quotaOf(onBig)).toBe(7777);
    expect(await quotaOf(overrides)).toBe(1234);

    expect((await admin('POST', '/admin/v1/packages', { uid: 'fx-big-child', name: 'Big child', parent_uid: 'fx-big' })).status).toBe(201);
    const onChild = await addSite('on-child.example', 'onchild', { 'siteinfo.plan': 'fx-big-child' });
    expect(await quotaOf(onChild)).toBe(7777);

    expect((await admin('PATCH', '/admin/v1/packages/fx-big', { service_defaults: { diskquota: { quota: 9999 } } })).status).toBe(200);
    expect([await quotaOf(onBig), await quotaOf(overrides), await quotaOf(onChild)]).toEqual([9999, 1234, 9999]);
    expect(await ok('admin:get-plan', ['fx-big-child'])).toMatchObject({ diskquota: { quota: 9999, units: 'MB' }, ssh: { enabled: 1, jail: 1 }, sites: { max: null } });

    expect((await admin('PATCH', '/admin/v1/packages/fx-big-child', { service_defaults: { diskquota: { quota: 8888 }, ssh: { enabled: false } } })).status).toBe(200);
    expect([await quotaOf(onBig), await quotaOf(overrides), await quotaOf(onChild)]).toEqual([9999, 1234, 8888]);
    expect(await ok('admin:get-plan', ['fx-big'])).toMatchObject({ diskquota: { quota: 9999, units: 'MB' }, ssh: { enabled: 1, jail: 1 }, sites: { max: null } });
    expect(await ok('admin:get-plan', ['fx-big-child'])).toMatchObject({ diskquota: { quota: 8888, units: 'MB' }, ssh: { enabled: 0, jail: 1 }, sites: { max: null } });
    expect(await ok('admin:get-plan', ['basic'])).toMatchObject({ diskquota: { quota: 1024, units: 'MB' }, ssh: { enabled: 1, jail: 1 }, sites: { max: null } });
    // Every value a plan may set has a base value, so a plan shows each one.
    expect(Object.keys((await ok('admin:get-plan', ['basic'])) as object).sort()).toEqual(['aliases', 'apache', 'bandwidth', 'cgroup', 'diskquota', 'dns', 'ftp', 'ipinfo', 'logs', 'mail', 'mysql', 'pgsql', 'php', 'rampart', 'sites', 'spamfilter', 'ssh', 'ssl', 'users']);
    // Moving a site to another plan brings that plan's values.
    expect(await ok('admin:edit-site', ['on-big.example', { 'siteinfo.plan': 'fx-big-child' }])).toBe(true);
    expect((await collect(['siteinfo.plan', 'diskquota.quota'], [], ['on-big.example']))['on-big.example']).toMatchObject({ siteinfo: { plan: 'fx-big-child' }, diskquota: { quota: 8888 } });

    const plans = (await ok('admin:list-plans')) as string[];
    expect(plans).toEqual(expect.arrayContaining(['basic', 'fx-big', 'fx-big-child']));
    expect(new Set(plans).size).toBe(plans.length);
  });

  it('refuses plan defaults a plan cannot set, and unknown plans', async () => {
    for (const [body, field] of [
      [{ uid: 'fx-bad', name: 'Bad', service_defaults: { siteinfo: { domain: 'x.example' } } }, 'service_defaults.siteinfo.domain'],
      [{ uid: 'fx-bad', name: 'Bad', service_defaults: { diskquota: { nope: 1 } } }, 'service_defaults.diskquota.nope'],
      [{ uid: 'fx-bad', name: 'Bad', service_defaults: { nosuch: { x: 1 } } }, 'service_defaults.nosuch.x'],
      [{ uid: 'fx-bad', name: 'Bad', service_defaults: { diskquota: { quota: 'lots' } } }, 'service_defaults.diskquota.quota'],
      [{ uid: 'fx-bad', name: 'Bad', service_defaults: { billing: { invoice: 'X' } } }, 'service_defaults.billing.invoice'],
      [{ uid: 'fx-bad', name: 'Bad', service_defaults: { users: { max: 5 } } }, 'service_defaults.users.max'],
    ] as const) {
      const before = await snapshot();
      const res = await admin('POST', '/admin/v1/packages', body);
      expect(res.status, JSON.stringify(res.body)).toBe(422);
      expect(Object.keys((res.body.error as ApiError).fields ?? {})).toContain(field);
      await expectUnchanged(before);
    }
    expect((await admin('GET', '/admin/v1/packages/fx-bad')).status).toBe(404);
    const before = await snapshot();
    const patch = await admin('PATCH', '/admin/v1/packages/fx-big', { service_defaults: { siteinfo: { domain: 'x.example' } } });
    expect(patch.status).toBe(422);
    await expectUnchanged(before);

    expect((await refused('admin:get-plan', ['no-such-plan'], 404, 'not_found')).message).toBe('plan no-such-plan not found');
    await refused('admin:get-plan', [], 422, 'validation_failed');
  });
});

describe('admin:deactivate-site and admin:activate-site', () => {
  it('take a site id written siteNN or NN, a domain, or an invoice (master and subordinates)', async () => {
    const a = await addSite('state-a.example', 'statea');
    const active = async (...targets: string[]) => Object.values(await collect(['siteinfo.domain'], [], targets)).map((v) => v.active);

    expect(await ok('admin:deactivate-site', [`site${a}`])).toBe(true);
    expect(await active(`site${a}`)).toEqual([false]);
    expect(await ok('admin:activate-site', [String(a)])).toBe(true);
    expect(await active(`site${a}`)).toEqual([true]);
    expect(await ok('admin:deactivate-site', [a])).toBe(true);
    expect(await ok('admin:activate-site', ['state-a.example'])).toBe(true);
    expect(await active(`site${a}`)).toEqual([true]);

    const g = await group('st');
    expect(await ok('admin:deactivate-site', [g.invoice, 'unpaid invoice 42'])).toBe(true);
    expect(await active(`site${g.master}`, `site${g.sub1}`, `site${g.sub2}`)).toEqual([false, false, false]);
    expect(await active('plain.example')).toEqual([true]);
    const reasons = (await ok('admin:delete-site', [g.invoice, { 'dry-run': true }])) as Summary[];
    expect(reasons.map((r) => [r.id, r.active, r.suspend_reason])).toEqual([
      [g.master, false, 'unpaid invoice 42'],
      [g.sub1, false, 'unpaid invoice 42'],
      [g.sub2, false, 'unpaid invoice 42'],
    ]);
    expect(reasons.every((r) => r.suspended_at !== null && Date.now() - Date.parse(r.suspended_at) < 60_000)).toBe(true);
    expect(await ok('auth:is-inactive', [], { site: 'st-sub2.example' })).toBe(true);
    expect(await ok('auth:is-inactive', [], { site: 'plain.example' })).toBe(false);
    // Suspending again keeps the first date and reason.
    expect(await ok('admin:deactivate-site', [`site${g.sub1}`, 'another reason'])).toBe(true);
    expect(((await ok('admin:delete-site', [`site${g.sub1}`, { 'dry-run': true }])) as Summary[])[0]!.suspend_reason).toBe('unpaid invoice 42');

    expect(await ok('admin:activate-site', [g.invoice])).toBe(true);
    expect(await active(`site${g.master}`, `site${g.sub1}`, `site${g.sub2}`)).toEqual([true, true, true]);
    expect(((await ok('admin:delete-site', [g.invoice, { 'dry-run': true }])) as Summary[]).map((r) => [r.suspended_at, r.suspend_reason])).toEqual([
      [null, null],
      [null, null],
      [null, null],
    ]);
  });

  it("suspension blocks the HSP client's SSO login token until it is activated", async () => {
    const token = () => s.t.app.server.inject({ method: 'GET', url: `/v1/clients/${hsp.id}/auth_token`, headers: { authorization: reseller.auth } });
    expect((await token()).statusCode).toBe(200);
    expect(await ok('admin:deactivate-site', [hsp.domain, 'chargeback'])).toBe(true);
    expect(await ok('auth:is-inactive', [], { site: `site${hsp.id}` })).toBe(true);
    const refusedToken = await token();
    expect(refusedToken.statusCode).toBe(422);
    expect(refusedToken.json()).toEqual({ errors: { base: ['client is suspended; its admin cannot log in'] } });
    expect((await admin('GET', `/admin/v1/clients/${hsp.id}`)).body).toMatchObject({ status: 'suspended' });
    expect(await ok('admin:activate-site', [String(hsp.id)])).toBe(true);
    expect((await token()).statusCode).toBe(200);
    // users,max is the HSP client's user_count: one number, seen by both doors.
    expect(await ok('admin:edit-site', [hsp.domain, { 'users.max': 4 }])).toBe(true);
    const seen = await s.t.app.server.inject({ method: 'GET', url: `/v1/clients/${hsp.id}`, headers: { authorization: reseller.auth } });
    expect((seen.json() as { user_count: number }).user_count).toBe(4);
  });

  it('a list of targets is one change: all of them, or none when one is unknown', async () => {
    const a = await addSite('list-a.example', 'lista');
    const b = await addSite('list-b.example', 'listb');
    const g = await group('ls');
    const active = async () => Object.fromEntries(Object.entries(await collect(['siteinfo.domain'], [], [`site${a}`, `site${b}`, `site${g.master}`, `site${g.sub1}`])).map(([k, v]) => [k, v.active]));

    for (const targets of [
      ['list-a.example', 'no-such-site.example'],
      ['no-such-site.example', 'list-a.example'],
      [`site${a}`, g.invoice, 'NO-SUCH-INVOICE'],
    ]) {
      const missing = targets.find((t) => t.startsWith('no-') || t.startsWith('NO-'))!;
      expect((await refused('admin:deactivate-site', [targets, 'unpaid'], 404, 'not_found')).message).toBe(`site, domain or invoice ${JSON.stringify(missing)} not found`);
    }
    // An invoice and a site of it together: each site once.
    expect(await ok('admin:deactivate-site', [[`site${a}`, g.invoice, 'ls-sub1.example', b], 'unpaid'])).toBe(true);
    expect(await active()).toEqual({ [`site${a}`]: false, [`site${b}`]: false, [`site${g.master}`]: false, [`site${g.sub1}`]: false });
    const audit = await auditPage(s.t, 'action=client.suspended&limit=20');
    expect(audit.events.filter((e) => [a, b, g.master, g.sub1, g.sub2].includes(Number(e.target_id)))).toHaveLength(5);

    await refused('admin:activate-site', [[`site${a}`, 'no-such-site.example']], 404, 'not_found');
    expect(await ok('admin:activate-site', [[`site${a}`, 'list-b.example', g.invoice]])).toBe(true);
    expect(await active()).toEqual({ [`site${a}`]: true, [`site${b}`]: true, [`site${g.master}`]: true, [`site${g.sub1}`]: true });

    for (const bad of [[], [['list-a.example', ['nested']]], [['list-a.example', '']], [[{ site: 'list-a.example' }]]]) {
      await refused('admin:deactivate-site', bad, 422, 'validation_failed');
      await refused('admin:activate-site', bad, 422, 'validation_failed');
    }
  });

  it('refuses unknown targets (404), missing targets and bad reasons (422)', async () => {
    for (const target of ['no-such-site.example', 'site999999999', '999999999', 'NO-SUCH-INVOICE']) {
      expect((await refused('admin:deactivate-site', [target], 404, 'not_found')).message).toBe(`site, domain or invoice ${JSON.stringify(target)} not found`);
      await refused('admin:activate-site', [target], 404, 'not_found');
    }
    await refused('admin:deactivate-site', [], 422, 'validation_failed');
    await refused('admin:activate-site', [''], 422, 'validation_failed');
    await refused('admin:deactivate-site', ['plain.example', 'x'.repeat(501)], 422, 'validation_failed');
    await refused('admin:deactivate-site', ['plain.example', ['a list']], 422, 'validation_failed');
    // A list of targets is a group (above); a list inside it is not a target.
    await refused('admin:deactivate-site', [[['plain.example']]], 422, 'validation_failed');
  });
});

describe('admin:delete-site', () => {
  it('refuses bad time specs, bad patterns, no selection and unknown flags with 422', async () => {
    expect((await refused('admin:delete-site', [null, { since: 'next tuesday' }], 422, 'validation_failed')).fields).toEqual({
      since: ['cannot read "next tuesday" as a time: use now, a relative time such as "30 days", a unix time or an ISO date'],
    });
    expect(Object.keys((await refused('admin:delete-site', ['plain.example', { since: '2024-13-45' }], 422, 'validation_failed')).fields!)).toEqual(['since']);
    expect((await refused('admin:delete-site', ['plain.example', { match: '(unclosed' }], 422, 'validation_failed')).fields).toEqual({ match: ['must be a regular expression of at most 200 characters'] });
    expect((await refused('admin:delete-site', [], 422, 'validation_failed')).fields).toEqual({ site: ['name a site, domain or invoice, or select suspended sites with since'] });
    await refused('admin:delete-site', [null, {}], 422, 'validation_failed');
    await refused('admin:delete-site', ['', { match: 'x' }], 422, 'validation_failed');
    expect((await refused('admin:delete-site', ['plain.example', { purge: true }], 422, 'validation_failed')).fields).toEqual({ flags: ['unknown option purge; known: since, match, filter, dry-run, dry_run, force'] });
    await refused('admin:delete-site', ['no-such-site.example'], 404, 'not_found');
  });

  it('will not delete a master whose subordinates stay, unless forced', async () => {
    const g = await group('dm');
    const err = await refused('admin:delete-site', ['dm-master.example'], 409, 'invalid_state');
    expect(err.message).toBe(`site${g.master} (dm-master.example) is the master of 2 site(s) that are not being deleted (site${g.sub1}, site${g.sub2}); delete the whole invoice or use --force`);
    await refused('admin:delete-site', ['dm-master.example', { 'dry-run': true }], 409, 'invalid_state');
    // Deleting the subordinates alone is fine; the whole invoice is fine.
    expect(((await ok('admin:delete-site', ['dm-sub1.example'])) as Summary[]).map((r) => r.id)).toEqual([g.sub1]);
    expect(((await ok('admin:delete-site', ['dm-master.example', { force: true }])) as Summary[]).map((r) => r.id)).toEqual([g.master]);
    expect(Object.keys(await collect([], { 'billing.parent_invoice': g.invoice }))).toEqual([`site${g.sub2}`]);

    const g2 = await group('dw');
    expect(((await ok('admin:delete-site', [g2.invoice])) as Summary[]).map((r) => r.id)).toEqual([g2.master, g2.sub1, g2.sub2]);
    expect(await collect([], [], [g2.invoice])).toEqual({});
  });

  it('a list of targets is one deletion: the master rule holds over all of them, and one unknown deletes nothing', async () => {
    const g = await group('dl');
    const lone = await addSite('dl-lone.example', 'dllone');
    // The half-success the command must not have: the lone site deleted, then the master refused.
    const err = await refused('admin:delete-site', [['dl-lone.example', 'dl-master.example']], 409, 'invalid_state');
    expect(err.message).toBe(`site${g.master} (dl-master.example) is the master of 2 site(s) that are not being deleted (site${g.sub1}, site${g.sub2}); delete the whole invoice or use --force`);
    await refused('admin:delete-site', [['dl-lone.example', 'dl-master.example'], { 'dry-run': true }], 409, 'invalid_state');
    await refused('admin:delete-site', [['dl-lone.example', 'no-such-site.example']], 404, 'not_found');
    await refused('admin:delete-site', [[]], 422, 'validation_failed');
    await refused('admin:delete-site', [['dl-lone.example', null]], 422, 'validation_failed');

    // The master with all its subordinates, named one by one (and one twice), is allowed; in the order named.
    const ids = (r: unknown) => (r as Summary[]).map((x) => x.id);
    const targets = ['dl-sub2.example', 'dl-lone.example', 'dl-master.example', `site${g.sub1}`, 'dl-sub2.example'];
    expect(ids(await ok('admin:delete-site', [targets, { 'dry-run': true }]))).toEqual([g.sub2, lone, g.master, g.sub1]);
    expect(ids(await ok('admin:delete-site', [targets]))).toEqual([g.sub2, lone, g.master, g.sub1]);
    expect(await collect([], [], [g.invoice, 'dl-lone.example'])).toEqual({});
  });

  it('a delete releases the domain, queues relay deprovisioning and writes audit events', async () => {
    const id = await addSite('gone.example', 'goner', { 'aliases.aliases': ['www.gone.example'] });
    const before = await snapshot();
    expect(await ok('admin:delete-site', ['gone.example', { 'dry-run': true }])).toEqual([{ site: `site${id}`, id, domain: 'gone.example', active: true, suspended_at: null, suspend_reason: null }]);
    await expectUnchanged(before);
    const deleted = await ok('admin:delete-site', ['gone.example']);
    expect(deleted).toEqual([{ site: `site${id}`, id, domain: 'gone.example', active: true, suspended_at: null, suspend_reason: null }]);
    expect(await collect([], [], [`site${id}`, 'gone.example'])).toEqual({});
    expect((await admin('GET', `/admin/v1/clients/${id}`)).body).toMatchObject({ status: 'deleted' });

    const jobs = (await admin('GET', `/admin/v1/jobs?kind=relay.apply&client_id=${id}`)).body as { jobs: { payload: Record<string, unknown> }[] };
    expect(jobs.jobs.map((j) => j.payload)).toEqual(
      expect.arrayContaining([
        { change: 'deprovision', domain: 'gone.example' },
        { change: 'deprovision', domain: 'www.gone.example' },
      ]),
    );
    const audit = await auditPage(s.t, `action=client.deleted&target_id=${id}`);
    expect(audit.events).toHaveLength(1);
    expect(audit.events[0]).toMatchObject({ actor_kind: 'operator', target_type: 'client', target_id: String(id), changes: { status: { before: 'live', after: 'deleted' } } });

    // The domain and its alias are free: a new site can have them.
    const again = await addSite('gone.example', 'newgoner', { 'aliases.aliases': ['www.gone.example'] });
    expect(again).not.toBe(id);
    await refused('admin:delete-site', [`site${id}`], 404, 'not_found');
  });

  it('since and match select suspended sites only', async () => {
    const a = await addSite('since-a.example', 'sincea');
    const b = await addSite('since-b.example', 'sinceb');
    await addSite('since-c.example', 'sincec');
    await ok('admin:deactivate-site', ['since-a.example', 'unpaid: card declined']);
    await ok('admin:deactivate-site', ['since-b.example', 'abuse report']);
    const dry = async (target: string | null, flags: Record<string, unknown>) => ((await ok('admin:delete-site', [target, { ...flags, 'dry-run': true }])) as Summary[]).map((r) => r.id);
    expect(await dry(null, { since: 'now', match: '^unpaid' })).toEqual([a]);
    expect(await dry(null, { since: '1 day' })).toEqual([]);
    expect(await dry('since-c.example', { since: 'now' })).toEqual([]);
    expect(await dry('since-b.example', { match: 'abuse' })).toEqual([b]);
    expect(await dry('since-b.example', { since: String(Math.floor(Date.now() / 1000) + 60) })).toEqual([b]);
    const deleted = (await ok('admin:delete-site', [null, { since: 'now', match: 'card declined' }])) as Summary[];
    expect(deleted.map((r) => r.id)).toEqual([a]);
    expect(Object.keys(await collect([], [], ['since-a.example', 'since-b.example', 'since-c.example']))).toEqual(['since-b.example', 'since-c.example']);
  });
});

describe('admin:collect', () => {
  it('keys the result by what was passed in sites', async () => {
    const g = await group('co');
    const plain = await idOf('plain.example');
    expect(Object.keys(await collect([], [], ['co-sub1.example']))).toEqual(['co-sub1.example']);
    expect(Object.keys(await collect([], [], [`site${g.sub2}`]))).toEqual([`site${g.sub2}`]);
    expect(Object.keys(await collect([], [], [g.invoice]))).toEqual([`site${g.master}`, `site${g.sub1}`, `site${g.sub2}`]);
    // In site order; names that match nothing are left out.
    expect(plain).toBeLessThan(g.sub1);
    expect(Object.keys(await collect([], [], [`site${g.sub1}`, 'no-such-site.example', 'plain.example']))).toEqual(['plain.example', `site${g.sub1}`]);
    expect(await collect([], [], 'plain.example')).toEqual({ 'plain.example': expect.objectContaining({ domain: 'plain.example' }) });
    // Query and sites together: both must hold.
    expect(Object.keys(await collect([], { 'billing.invoice': g.invoice }, [g.invoice]))).toEqual([`site${g.master}`]);
  });

  it('params: [] is the default selection, null every service, a bare service name the whole service', async () => {
    const all = (await collect(null, [], ['plain.example']))['plain.example']!;
    expect(Object.keys(all).sort()).toEqual(['active', 'aliases', 'apache', 'auth', 'bandwidth', 'billing', 'cgroup', 'diskquota', 'dns', 'domain', 'ftp', 'ipinfo', 'logs', 'mail', 'mysql', 'node', 'pgsql', 'php', 'rampart', 'siteinfo', 'sites', 'spamfilter', 'ssh', 'ssl', 'users']);
    expect((await collect([], [], ['plain.example']))['plain.example']).toEqual({
      siteinfo: { email: 'owner@plain.example', admin_user: 'plainadmin' },
      aliases: { aliases: [] },
      billing: { invoice: null, parent_invoice: null },
      active: true,
      domain: 'plain.example',
    });
    expect((await collect(['siteinfo'], [], ['plain.example']))['plain.example']).toEqual({
      siteinfo: { domain: 'plain.example', admin_user: 'plainadmin', email: 'owner@plain.example', plan: 'basic', enabled: 1 },
      active: true,
      domain: 'plain.example',
    });
    expect((await collect('ssh', [], ['plain.example']))['plain.example']).toEqual({ ssh: { enabled: 1, jail: 1 }, active: true, domain: 'plain.example' });
  });

  it('filters on active and on metadata values', async () => {
    const g = await group('qm');
    await ok('admin:edit-site', [`site${g.sub1}`, { 'diskquota.quota': 5000 }]);
    await ok('admin:edit-site', [`site${g.master}`, { 'diskquota.quota': 5000 }]);
    await ok('admin:deactivate-site', [`site${g.sub2}`]);
    expect(Object.keys(await collect([], { 'diskquota.quota': 5000 }))).toEqual([`site${g.master}`, `site${g.sub1}`]);
    expect(Object.keys(await collect([], { 'diskquota,quota': '5000', 'billing.parent_invoice': g.invoice }))).toEqual([`site${g.sub1}`]);
    expect(Object.keys(await collect([], { diskquota: { quota: 5000 }, active: true, 'billing.invoice': g.invoice }))).toEqual([`site${g.master}`]);
    expect(Object.keys(await collect([], { 'billing.parent_invoice': g.invoice, active: false }))).toEqual([`site${g.sub2}`]);
    expect(Object.keys(await collect([], { 'billing.parent_invoice': g.invoice, active: 'true' }))).toEqual([`site${g.sub1}`]);
    expect(Object.keys(await collect([], { 'ssh.enabled': true, 'billing.parent_invoice': g.invoice }))).toEqual([`site${g.sub1}`, `site${g.sub2}`]);
    expect(await collect([], { 'diskquota.quota': 5001 })).toEqual({});
    await ok('admin:activate-site', [`site${g.sub2}`]);
  });

  it('refuses unknown parameters in params or query, and bad shapes, with 422', async () => {
    const cases: [unknown[], string][] = [
      [[['siteinfo.nope']], 'params.siteinfo.nope'],
      [[['nosuch']], 'params.nosuch'],
      [[['nosuch.param']], 'params.nosuch.param'],
      [[[5]], 'params'],
      [[{ a: 1 }], 'params'],
      [[[], { 'siteinfo.nope': 'x' }], 'query.siteinfo.nope'],
      [[[], { nosuch: { x: 1 } }], 'query.nosuch.x'],
      [[[], { bare: 'x' }], 'query.bare'],
      [[[], ['a list']], 'query'],
      [[[], 'text'], 'query'],
      [[[], { active: 'maybe' }], 'query.active'],
      [[[], [], [['nested']]], 'sites'],
    ];
    for (const [args, field] of cases) {
      const err = await refused('admin:collect', args, 422, 'validation_failed');
      expect(Object.keys(err.fields ?? {}), JSON.stringify(args)).toEqual([field]);
    }
  });
});

describe('admin:hijack', () => {
  it('returns a session id that opens /apps/dashboard; a wrong one is 401', async () => {
    const id = await addSite('hijack.example', 'hijacker');
    const session = (await ok('admin:hijack', ['hijack.example', null, 'ui'])) as string;
    expect(session).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    const open = (sid: string) => s.t.app.server.inject({ method: 'GET', url: `/apps/dashboard?esprit_id=${encodeURIComponent(sid)}` });
    const landing = await open(session);
    // The session id goes into the cookie; the browser goes on without it in the URL.
    expect(landing.statusCode).toBe(303);
    expect(landing.headers.location).toBe('/console/my');
    const page = await s.t.app.server.inject({ method: 'GET', url: '/apps/dashboard', headers: { cookie: String(landing.headers['set-cookie']).split(';')[0]! } });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('hijack.example');
    expect(page.body).toContain('hijacker');
    expect((await open(`${session.slice(0, -2)}xx`)).statusCode).toBe(401);
    expect((await open('')).statusCode).toBe(401);
    const audit = await auditPage(s.t, `action=client.hijacked&target_id=${id}`);
    expect(audit.events.map((e) => e.changes.user?.after)).toEqual(['hijacker']);
    // The admin by name works too.
    expect((await open((await ok('admin:hijack', [`site${id}`, 'hijacker'])) as string)).statusCode).toBe(303);
  });

  it('refuses a suspended site (409), an unknown user or site (404), and a bad gate (422)', async () => {
    await addSite('hijack-suspended.example', 'suspendedadmin');
    await ok('admin:deactivate-site', ['hijack-suspended.example']);
    expect((await refused('admin:hijack', ['hijack-suspended.example'], 409, 'invalid_state')).message).toMatch(/^site\d+ is suspended; it cannot be entered$/);
    expect((await refused('admin:hijack', ['hijack.example', 'nobody'], 404, 'not_found')).message).toMatch(/^user nobody of site\d+ not found$/);
    await refused('admin:hijack', ['no-such-site.example'], 404, 'not_found');
    expect((await refused('admin:hijack', ['hijack.example', null, 'BACKDOOR'], 422, 'validation_failed')).fields).toEqual({ gate: ['must be one of SOAP, UI, DAV, API, CLI'] });
    await refused('admin:hijack', ['hijack.example', 42], 422, 'validation_failed');
    await refused('admin:hijack', [], 422, 'validation_failed');
    // A group's invoice is not one site.
    const g = await group('hj');
    await refused('admin:hijack', [g.invoice], 422, 'validation_failed');
  });
});

describe('auth:change-password, auth:is-inactive, common:whoami, admin:get-usage', () => {
  it('auth:change-password needs a site, a password of 7+ characters and a known user', async () => {
    const id = await addSite('password.example', 'pwadmin');
    expect((await refused('auth:change-password', ['long-enough-password'], 422, 'validation_failed')).fields).toEqual({ site: ['auth:change-password acts on a site: pass -d SITE'] });
    expect((await refused('auth:change-password', ['sixsix'], 422, 'validation_failed', { extra: { site: 'password.example' } })).message).toBe('weak password disallowed: a password must be 7 to 1024 characters');
    await refused('auth:change-password', [12345678], 422, 'validation_failed', { extra: { site: 'password.example' } });
    await refused('auth:change-password', ['long-enough-password', 'nobody'], 404, 'not_found', { extra: { site: 'password.example' } });
    await refused('auth:change-password', ['long-enough-password'], 404, 'not_found', { extra: { site: 'no-such-site.example' } });
    const mark = await auditMark(s.t);
    expect(await ok('auth:change-password', ['seven77'], { site: 'password.example' })).toBe(true);
    expect(await ok('auth:change-password', ['another-password', 'pwadmin', `site${id}`])).toBe(true);
    expect(await ok('auth:change-password', ['third-password'], { site: String(id), user: 'pwadmin' })).toBe(true);
    const events = (await auditSince(s.t, mark)).filter((e) => e.actor_kind === 'operator');
    expect(events.map((e) => [e.action, e.changes.site?.after, e.changes.login?.after])).toEqual(Array(3).fill(['user.password_changed', `site${id}`, 'pwadmin']));
  });

  it('auth:is-inactive is false for the server administrator; common:whoami acts on the -d site', async () => {
    expect(await ok('auth:is-inactive')).toBe(false);
    await refused('auth:is-inactive', [], 404, 'not_found', { extra: { site: 'no-such-site.example' } });
    expect(await ok('common:whoami')).toBe('admin');
    expect(await ok('common:whoami', [], { site: 'plain.example' })).toBe('plainadmin');
    await refused('common:whoami', [], 404, 'not_found', { extra: { site: 'no-such-site.example' } });
  });

  it('common:whoami with -u answers as that user of the -d site', async () => {
    const id = await addSite('whoami.example', 'whoadmin');
    await s.t.app.deps.db.insertInto('users').values({ role: 'end_user', client_id: id, login: 'mailbox-owner', name: 'Mailbox owner' }).execute();
    expect(await ok('common:whoami', [], { site: 'whoami.example', user: 'mailbox-owner' })).toBe('mailbox-owner');
    // Logins compare without case; the answer is the stored login.
    expect(await ok('common:whoami', [], { site: `site${id}`, user: 'WhoAdmin' })).toBe('whoadmin');
    expect((await refused('common:whoami', [], 404, 'not_found', { extra: { site: 'whoami.example', user: 'nobody' } })).message).toBe(`user nobody of site${id} not found`);
    // Another site's user is not this site's.
    await refused('common:whoami', [], 404, 'not_found', { extra: { site: 'plain.example', user: 'mailbox-owner' } });
    expect((await refused('common:whoami', [], 422, 'validation_failed', { extra: { user: 'whoadmin' } })).message).toBe('-u USER names a user of a site: pass -d SITE too');
  });

  it('admin:get-usage reports storage, bandwidth, resources, domains and users; refuses unknown fields and sites', async () => {
    const id = await idOf('plain.example');
    const all = (await ok('admin:get-usage', [null, ['plain.example']])) as Record<string, Record<string, unknown>>;
    expect(Object.keys(all)).toEqual(['plain.example']);
    expect(all['plain.example']).toMatchObject({
      storage: { qused: 0, qsoft: 1024 * 1024, qhard: 1024 * 1024, fused: 0, fsoft: 0, fhard: 0 },
      bandwidth: { sum: 0, threshold: 0, begin: expect.any(Number), end: expect.any(Number) },
      cgroup: { memory: { used: 0, limit: 0 }, cpu: { used: 0, limit: 0 }, proclimit: { used: 0, limit: 0 } },
      domains: 1,
      users: 1,
    });
    expect(await ok('admin:get-usage', ['domains', [`site${id}`]])).toEqual({ [`site${id}`]: 1 });
    await refused('admin:get-usage', ['inodes'], 422, 'validation_failed');
    await refused('admin:get-usage', [null, ['no-such-site.example']], 404, 'not_found');
  });
});

describe('scope:set and scope:get', () => {
  it('sets and reads the known scopes', async () => {
    expect(await ok('scope:set', ['opcenter.account-cleanup', '2 weeks'])).toBe(true);
    expect(await ok('scope:get', ['opcenter.account-cleanup'])).toBe('2 weeks');
    expect(await ok('scope:set', ['opcenter.account-cleanup', false])).toBe(true);
    expect(await ok('scope:get', ['opcenter.account-cleanup'])).toBe(false);
    expect(await ok('scope:set', ['cp.config', 'auth', 'subordinate_site_sso', 'false'])).toBe(true);
    expect(await ok('scope:get', ['cp.config', 'auth', 'subordinate_site_sso'])).toBe(false);
    expect(await ok('scope:get', ['cp.config'])).toEqual({ auth: { subordinate_site_sso: false, suspended_login: true, show_suspension_reason: true } });
    expect(await ok('scope:set', ['cp.config', 'auth', 'subordinate_site_sso', true])).toBe(true);
    expect(await ok('scope:get', ['cp.config', 'auth'])).toEqual({ subordinate_site_sso: true, suspended_login: true, show_suspension_reason: true });
  });

  it('refuses unknown scopes, bad values and a wrong number of arguments with 422', async () => {
    await ok('scope:set', ['opcenter.account-cleanup', '30 days']);
    const cases: unknown[][] = [
      ['nosuch.scope', 'x'],
      [],
      ['opcenter.account-cleanup', 'thirty days'],
      ['opcenter.account-cleanup', 5],
      ['opcenter.account-cleanup', '5'],
      ['opcenter.account-cleanup', 'now'],
      ['opcenter.account-cleanup', '30 days', 'extra'],
      ['opcenter.account-cleanup'],
      ['cp.config', 'auth', 'false'],
      ['cp.config', 'auth', 'subordinate_site_sso'],
      ['cp.config', 'auth', 'subordinate_site_sso', 'maybe'],
      ['cp.config', 'auth', 'other_setting', true],
      ['cp.config', 'auth', 'subordinate_site_sso', true, 'extra'],
    ];
    for (const args of cases) {
      const err = await refused('scope:set', args, 422, 'validation_failed');
      expect(err.message, JSON.stringify(args)).not.toBe('');
    }
    expect((await refused('scope:set', ['nosuch.scope', 'x'], 422, 'validation_failed')).message).toBe('unknown scope "nosuch.scope"');
    expect((await refused('scope:set', ['opcenter.account-cleanup', 'thirty days'], 422, 'validation_failed')).message).toBe('opcenter.account-cleanup: "thirty days" is not a time span such as "30 days"');
    expect((await refused('scope:set', ['cp.config', 'auth', 'false'], 422, 'validation_failed')).message).toBe('cp.config takes: auth subordinate_site_sso|suspended_login|show_suspension_reason true|false');
    await refused('scope:get', ['nosuch.scope'], 422, 'validation_failed');
    await refused('scope:get', ['cp.config', 'mail'], 422, 'validation_failed');
    expect(await ok('scope:get', ['opcenter.account-cleanup'])).toBe('30 days');
    await ok('scope:set', ['opcenter.account-cleanup', false]);
  });
});
