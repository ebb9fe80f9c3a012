import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReseller, createTestApp, type ResellerFixture, type TestApp } from '../support/test-app.js';

let t: TestApp;
let admin: { authorization: string };
let reseller: ResellerFixture;

beforeAll(async () => {
  t = await createTestApp();
  admin = { authorization: `Bearer ${t.operatorKey}` };
  reseller = await createReseller(t);
});
afterAll(() => t.close());

const op = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: unknown) =>
  t.app.server.inject({ method, url, headers: admin, ...(payload !== undefined ? { payload: payload as object } : {}) });

let n = 0;
const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${n++}`;

const packageKeys = ['addons', 'dbname_template', 'description', 'domain_cost_cents', 'features', 'free_trial', 'id', 'limits', 'mailbox_cost_cents', 'max_databases', 'name', 'node_label', 'parent_uid', 'position', 'service_defaults', 'tags', 'template_database', 'uid'];
const featureKeys = ['blurb', 'code', 'description', 'id', 'name', 'position'];

async function feature(body: Record<string, unknown> = {}) {
  const res = await op('POST', '/admin/v1/features', { name: unique('Feature'), ...body });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: number; code: string | null; name: string };
}

describe('features', () => {
  it('create → 201 with defaults; listed in position order', async () => {
    const code = unique('code');
    const res = await op('POST', '/admin/v1/features', { code, name: '  Anti-Spam  ', position: -5 });
    expect(res.statusCode).toBe(201);
    expect(Object.keys(res.json()).sort()).toEqual(featureKeys);
    expect(res.json()).toMatchObject({ code, name: 'Anti-Spam', blurb: '', description: '', position: -5 });
    const noCode = await feature({ blurb: '800-458-3348', description: 'Always there', position: 12 });
    expect(noCode.code).toBeNull();

    const list = (await op('GET', '/admin/v1/features')).json() as { id: number; position: number }[];
    expect(list.map((f) => f.id)).toEqual(expect.arrayContaining([res.json().id, noCode.id]));
    const positions = list.map((f) => f.position);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });

  it.each([
    ['missing name', { code: 'x-missing-name' }, 'name', "can't be blank"],
    ['blank name', { name: '   ' }, 'name', "can't be blank"],
    ['bad code', { name: 'X', code: 'has space' }, 'code', 'must be 1-64 letters, digits, dots, dashes or underscores'],
    ['fractional position', { name: 'X', position: 1.5 }, 'position', 'must be an integer'],
    ['unknown field', { name: 'X', price: 1 }, 'price', 'is not a known attribute'],
  ])('%s → 422, nothing created', async (_label, body, field, message) => {
    const before = (await op('GET', '/admin/v1/features')).json().length;
    const res = await op('POST', '/admin/v1/features', body);
    expect(res.statusCode).toBe(422);
    expect(res.json().error.fields[field]).toEqual([message]);
    expect((await op('GET', '/admin/v1/features')).json().length).toBe(before);
  });

  it('a duplicate code → 422 "has already been taken"', async () => {
    const code = unique('dup');
    await feature({ code });
    const res = await op('POST', '/admin/v1/features', { code, name: 'Again' });
    expect(res.statusCode).toBe(422);
    expect(res.json().error.fields).toEqual({ code: ['has already been taken'] });
  });
});

describe('packages', () => {
  it('create → 201 with features by id or code, defaults filled; get and list show it', async () => {
    const f1 = await feature({ code: unique('f1'), position: 1 });
    const f2 = await feature({ position: 2 });
    const uid = unique('pkg');
    const res = await op('POST', '/admin/v1/packages', {
      uid,
      name: 'Gold',
      tags: ['CPanel', 'cpanel', 'plesk'],
      features: [f2.id, f1.code, f1.id],
      limits: { max_mail_servers: 2, max_domains: 3 },
      domain_cost_cents: 50,
    });
    expect(res.statusCode).toBe(201);
    const p = res.json();
    expect(Object.keys(p).sort()).toEqual(packageKeys);
    expect(p).toMatchObject({ uid, name: 'Gold', description: '', position: 0, free_trial: 0, tags: ['cpanel', 'plesk'], limits: { max_mail_servers: 2, max_domains: 3 }, domain_cost_cents: 50, mailbox_cost_cents: 0, parent_uid: null, node_label: null, template_database: null });
    expect(p.features.map((f: { id: number }) => f.id)).toEqual([f1.id, f2.id]);
    for (const f of p.features) expect(Object.keys(f).sort()).toEqual(featureKeys);

    expect((await op('GET', `/admin/v1/packages/${uid}`)).json()).toEqual(p);
    expect(((await op('GET', '/admin/v1/packages')).json() as { uid: string }[]).find((x) => x.uid === uid)).toEqual(p);
  });

  it('template_database: set on create, changed and cleared on update; a bad one changes nothing', async () => {
    const uid = unique('tpl');
    const created = await op('POST', '/admin/v1/packages', { uid, name: 'Odoo plan', template_database: 'odoo_tpl' });
    expect(created.statusCode).toBe(201);
    expect(created.json().template_database).toBe('odoo_tpl');
    const bad = await op('PATCH', `/admin/v1/packages/${uid}`, { template_database: "odoo'; drop table plans; --" });
    expect(bad.statusCode).toBe(422);
    expect((await op('GET', `/admin/v1/packages/${uid}`)).json().template_database).toBe('odoo_tpl');
    expect((await op('PATCH', `/admin/v1/packages/${uid}`, { template_database: null })).json().template_database).toBeNull();
  });

  it('a duplicate uid → 422, the first stays as it was', async () => {
    const uid = unique('dup');
    const first = (await op('POST', '/admin/v1/packages', { uid, name: 'First' })).json();
    const res = await op('POST', '/admin/v1/packages', { uid, name: 'Second' });
    expect(res.statusCode).toBe(422);
    expect(res.json().error.fields).toEqual({ uid: ['has already been taken'] });
    expect((await op('GET', `/admin/v1/packages/${uid}`)).json()).toEqual(first);
  });

  it('an unknown feature → 422 naming it; nothing created', async () => {
    const uid = unique('nofeat');
    const res = await op('POST', '/admin/v1/packages', { uid, name: 'X', features: [999999, 'no-such-code'] });
    expect(res.statusCode).toBe(422);
    expect(res.json().error.fields).toEqual({ features: ['999999 is not a known feature', '"no-such-code" is not a known feature'] });
    expect((await op('GET', `/admin/v1/packages/${uid}`)).statusCode).toBe(404);
  });

  it.each([
    ['bad uid', { uid: 'has space', name: 'X' }, 'uid', 'must be 1-64 letters, digits, dots, dashes or underscores'],
    ['missing name', { uid: 'no-name-pkg' }, 'name', "can't be blank"],
    ['negative cost', { uid: 'neg-cost', name: 'X', domain_cost_cents: -1 }, 'domain_cost_cents', 'must be 0 or more'],
    ['fractional trial', { uid: 'frac-trial', name: 'X', free_trial: 1.5 }, 'free_trial', 'must be an integer'],
    ['unknown limit', { uid: 'bad-limit', name: 'X', limits: { max_anything: 1 } }, 'limits.max_anything', 'is not a known attribute'],
    ['bad tag', { uid: 'bad-tag', name: 'X', tags: ['no spaces'] }, 'tags', 'must be 1-64 lower-case letters, digits, dots, dashes or underscores'],
    ['unknown parent', { uid: 'orphan', name: 'X', parent_uid: 'no-such-parent' }, 'parent_uid', 'is not a known package'],
    ['unknown field', { uid: 'extra', name: 'X', secret: true }, 'secret', 'is not a known attribute'],
    ['template database with SQL in it', { uid: 'tpl-inject', name: 'X', template_database: 'tpl"; drop database postgres; --' }, 'template_database', 'must be a plain database name: a-z, 0-9 and "_", not starting with a digit, at most 63 characters'],
    ['template database too long', { uid: 'tpl-long', name: 'X', template_database: 'a'.repeat(64) }, 'template_database', 'must be a plain database name: a-z, 0-9 and "_", not starting with a digit, at most 63 characters'],
  ])('%s → 422', async (_label, body, field, message) => {
    const res = await op('POST', '/admin/v1/packages', body);
    expect(res.statusCode).toBe(422);
    expect(res.json().error.fields[field]).toEqual([message]);
    expect((await op('GET', `/admin/v1/packages/${(body as { uid: string }).uid}`)).statusCode).toBe(404);
  });

  it('numbers too large for the database → 422, not a server error', async () => {
    for (const [field, value] of [
      ['position', 2 ** 31],
      ['free_trial', 2 ** 40],
      ['domain_cost_cents', 1e15],
      ['mailbox_cost_cents', 2 ** 31],
    ] as const) {
      const uid = unique('big');
      const res = await op('POST', '/admin/v1/packages', { uid, name: 'Big', [field]: value });
      expect(res.statusCode, field).toBe(422);
      expect(res.json().error.fields[field], field).toEqual([expect.stringMatching(/^must be/)]);
    }
    const f = await op('POST', '/admin/v1/features', { name: 'Big', position: 2 ** 31 });
    expect(f.statusCode).toBe(422);
    expect(f.json().error.fields.position).toEqual([expect.stringMatching(/^must be/)]);
  });

  it('unknown package → 404 on get and update', async () => {
    for (const res of [await op('GET', '/admin/v1/packages/no-such-package'), await op('PATCH', '/admin/v1/packages/no-such-package', { name: 'X' })]) {
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ error: { code: 'not_found', message: 'package not found' } });
    }
  });

  it('update changes only what is given; features are replaced; parent can be set and cleared', async () => {
    const f1 = await feature();
    const f2 = await feature();
    const parentUid = unique('parent');
    await op('POST', '/admin/v1/packages', { uid: parentUid, name: 'Parent' });
    const uid = unique('upd');
    const created = (await op('POST', '/admin/v1/packages', { uid, name: 'Before', description: 'keep me', tags: ['a'], features: [f1.id], mailbox_cost_cents: 100 })).json();

    const res = await op('PATCH', `/admin/v1/packages/${uid}`, { name: 'After', features: [f2.id], parent_uid: parentUid, position: 7 });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ ...created, name: 'After', position: 7, parent_uid: parentUid, features: [expect.objectContaining({ id: f2.id })] });
    expect((await op('GET', `/admin/v1/packages/${uid}`)).json()).toEqual(res.json());

    const cleared = await op('PATCH', `/admin/v1/packages/${uid}`, { parent_uid: null, features: [] });
    expect(cleared.json()).toMatchObject({ parent_uid: null, features: [], description: 'keep me', mailbox_cost_cents: 100 });
  });

  it('update refuses bad input with 422 and changes nothing', async () => {
    const uid = unique('keep');
    const created = (await op('POST', '/admin/v1/packages', { uid, name: 'Keep' })).json();
    for (const payload of [{ uid: 'renamed' }, { features: [999999] }, { parent_uid: uid }, { name: '' }, { limits: { max_users: -1 } }, { tags: 'cpanel' }]) {
      const res = await op('PATCH', `/admin/v1/packages/${uid}`, payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(422);
    }
    expect((await op('GET', `/admin/v1/packages/${uid}`)).json()).toEqual(created);
  });

  it('a new package is sellable by resellers sharing its tag', async () => {
    const uid = unique('sellable');
    await op('POST', '/admin/v1/packages', { uid, name: 'Sellable', tags: ['cpanel'] });
    const res = await t.app.server.inject({
      method: 'POST',
      url: '/v1/clients',
      headers: { authorization: reseller.auth },
      payload: { package_uid: uid, user_count: 1, domains: [{ name: `${uid}.test` }] },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().package_uid).toBe(uid);
  });
});

describe('catalog: security', () => {
  it('no key, a wrong key, or reseller credentials → 401; nothing created', async () => {
    const uid = unique('nope');
    for (const headers of [{}, { authorization: 'Bearer hpo_nope' }, { authorization: reseller.auth }]) {
      for (const [method, url, payload] of [
        ['GET', '/admin/v1/packages'],
        ['GET', '/admin/v1/features'],
        ['POST', '/admin/v1/packages', { uid, name: 'X' }],
        ['PATCH', '/admin/v1/packages/nope', { name: 'X' }],
        ['GET', `/admin/v1/packages/${uid}`],
        ['POST', '/admin/v1/features', { name: 'X' }],
      ] as const) {
        const res = await t.app.server.inject({ method, url, headers, ...(payload ? { payload } : {}) });
        expect(res.statusCode, `${method} ${url}`).toBe(401);
        expect(res.json()).toEqual({ error: { code: 'unauthenticated', message: expect.any(String) } });
      }
    }
    expect((await op('GET', `/admin/v1/packages/${uid}`)).statusCode).toBe(404);
  });
});
