import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditMark, auditSince, onlyEventSince, testOperatorKeyId, type AuditRow } from '../support/audit.js';
import { solveCaptcha } from '../support/captcha-solver.js';
import { hspFixture } from '../support/fixtures.js';
import { createReseller, createTestApp, type TestApp } from '../support/test-app.js';

// Every mutation of the operator admin API (which the CLI also goes through) leaves exactly one audit
// event in the same transaction; secrets handed out by these calls never reach the log.
let t: TestApp;
let keyId: number;

beforeAll(async () => {
  t = await createTestApp();
  keyId = await testOperatorKeyId(t);
});
afterAll(() => t.close());

const IP = '192.0.2.44';
let requests = 0;

function op(method: 'GET' | 'POST' | 'PATCH' | 'PUT', url: string, payload?: object, rid = `audit-admin-${++requests}`) {
  return t.app.server.inject({ method, url, headers: { authorization: `Bearer ${t.operatorKey}`, 'x-request-id': rid }, remoteAddress: IP, ...(payload ? { payload } : {}) });
}

let n = 0;
const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${n++}`;

/** Every string a call handed out as a secret, to look for in the log afterwards. */
const secrets: string[] = [];

const byOperator = { actor_kind: 'operator', source_ip: IP };

/** Every event newer than the mark; the operator's own key id and address must be on each. */
async function operatorEventsSince(mark: number): Promise<AuditRow[]> {
  const events = await auditSince(t, mark);
  for (const e of events) expect(e).toMatchObject({ ...byOperator, actor_id: keyId });
  return events;
}

describe('admin REST mutations write one audit event each', () => {
  it('POST /admin/v1/demo: each record it creates, then demo.seeded, all under the one request', async () => {
    const mark = await auditMark(t);
    const res = await op('POST', '/admin/v1/demo', undefined, 'demo-req');
    expect(res.statusCode, res.body).toBe(200);
    secrets.push(res.json().reseller.api_token, res.json().reseller.api_key, res.json().portal_admin.password);
    const events = await operatorEventsSince(mark);
    expect(events.every((e) => e.request_id === 'demo-req')).toBe(true);
    expect(events.map((e) => e.action)).toEqual([...Array(6).fill('feature.created'), ...Array(3).fill('package.created'), 'reseller.created', 'user.created', 'demo.seeded']);
    const seeded = events.at(-1)!;
    expect(seeded.changes.packages).toEqual({ after: ['spamstopshere-standard', 'spamstopshere-professional', 'spamstopshere-enterprise'] });
    expect(seeded.changes.reseller_id).toEqual({ after: res.json().reseller.id });
    // Loaded already: nothing happens, nothing is recorded.
    const mark2 = await auditMark(t);
    expect((await op('POST', '/admin/v1/demo')).json()).toEqual({ created: false });
    expect(await auditSince(t, mark2)).toEqual([]);
  });

  it('reseller create, update, suspend, activate and rotate-key', async () => {
    let mark = await auditMark(t);
    const username = unique('audited');
    const created = await op('POST', '/admin/v1/resellers', { name: 'Audited Reseller', username, email_address: `${username}@example.com`, tags: ['cpanel'] }, 'create-reseller-req');
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id as number;
    secrets.push(created.json().api_token, created.json().api_key);
    const create = await onlyEventSince(t, mark);
    expect(create).toMatchObject({ ...byOperator, actor_id: keyId, action: 'reseller.created', target_type: 'reseller', target_id: String(id), reseller_id: id, request_id: 'create-reseller-req' });
    expect(create.changes).toEqual({
      name: { after: 'Audited Reseller' },
      username: { after: username },
      email_address: { after: `${username}@example.com` },
      tags: { after: ['cpanel'] },
      status: { after: 'active' },
      approved_at: { after: created.json().approved_at },
    });

    mark = await auditMark(t);
    expect((await op('PATCH', `/admin/v1/resellers/${id}`, { name: 'Renamed Reseller', tags: ['cpanel'] })).statusCode).toBe(200);
    const update = await onlyEventSince(t, mark);
    expect(update).toMatchObject({ ...byOperator, actor_id: keyId, action: 'reseller.updated', target_id: String(id), reseller_id: id, request_id: expect.stringMatching(/^audit-admin-/) });
    expect(update.changes).toEqual({ name: { before: 'Audited Reseller', after: 'Renamed Reseller' } });

    mark = await auditMark(t);
    const suspended = await op('POST', `/admin/v1/resellers/${id}/suspend`, { reason: 'unpaid invoice' });
    expect(suspended.statusCode).toBe(200);
    const suspend = await onlyEventSince(t, mark);
    expect(suspend).toMatchObject({ action: 'reseller.suspended', target_id: String(id), reseller_id: id });
    expect(suspend.changes).toEqual({
      status: { before: 'active', after: 'suspended' },
      suspended_at: { before: null, after: suspended.json().suspended_at },
      suspend_reason: { before: null, after: 'unpaid invoice' },
    });
    // Suspending a suspended reseller changes nothing and records nothing.
    mark = await auditMark(t);
    expect((await op('POST', `/admin/v1/resellers/${id}/suspend`)).statusCode).toBe(200);
    expect(await auditSince(t, mark)).toEqual([]);

    expect((await op('POST', `/admin/v1/resellers/${id}/activate`)).statusCode).toBe(200);
    const activate = await onlyEventSince(t, mark);
    expect(activate).toMatchObject({ action: 'reseller.activated', target_id: String(id) });
    expect(activate.changes).toEqual({
      status: { before: 'suspended', after: 'active' },
      suspended_at: { before: suspended.json().suspended_at, after: null },
      suspend_reason: { before: 'unpaid invoice', after: null },
    });

    mark = await auditMark(t);
    const rotated = await op('POST', `/admin/v1/resellers/${id}/rotate-key`, undefined, 'rotate-req');
    expect(rotated.statusCode).toBe(200);
    secrets.push(rotated.json().api_token, rotated.json().api_key);
    const rotate = await onlyEventSince(t, mark);
    // That the pair changed is all there is to say: the token and key are secrets.
    expect(rotate).toMatchObject({ ...byOperator, actor_id: keyId, action: 'reseller.key_rotated', target_id: String(id), reseller_id: id, request_id: 'rotate-req' });
    expect(rotate.changes).toEqual({});
  });

  it('approving a signed-up reseller: reseller.approved, its credentials nowhere in the log', async () => {
    const ip = '198.51.100.31';
    const captcha = (await t.app.server.inject({ method: 'GET', url: '/v1/resellers/new', remoteAddress: ip })).json().captcha as { id: string; question: string };
    const seed = hspFixture<{ reseller: Record<string, unknown> }>('create-reseller-request').reseller;
    const signUp = await t.app.server.inject({ method: 'POST', url: '/v1/resellers', remoteAddress: ip, payload: { captcha: { id: captcha.id, answer: solveCaptcha(captcha.question) }, reseller: { ...seed, username: unique('pending') } } });
    expect(signUp.statusCode, signUp.body).toBe(201);
    const pending = (await op('GET', '/admin/v1/resellers?status=pending')).json() as { id: number }[];
    const id = pending.at(-1)!.id;

    const mark = await auditMark(t);
    const approved = await op('POST', `/admin/v1/resellers/${id}/approve`);
    expect(approved.statusCode, approved.body).toBe(200);
    secrets.push(approved.json().api_token, approved.json().api_key);
    const e = await onlyEventSince(t, mark);
    expect(e).toMatchObject({ ...byOperator, actor_id: keyId, action: 'reseller.approved', target_id: String(id), reseller_id: id });
    expect(e.changes).toEqual({ status: { before: 'pending', after: 'active' }, approved_at: { before: null, after: approved.json().approved_at } });
  });

  it('POST /admin/v1/keys: operator_key.created with the name, never the key', async () => {
    const mark = await auditMark(t);
    const res = await op('POST', '/admin/v1/keys', { name: 'ci robot' });
    expect(res.statusCode).toBe(201);
    secrets.push(res.json().key);
    const e = await onlyEventSince(t, mark);
    expect(e).toMatchObject({ ...byOperator, actor_id: keyId, action: 'operator_key.created', target_type: 'operator_key', target_id: String(res.json().id), reseller_id: null, changes: { name: { after: 'ci robot' } } });

    // The new key acts under its own id.
    const mark2 = await auditMark(t);
    const feature = await t.app.server.inject({ method: 'POST', url: '/admin/v1/features', headers: { authorization: `Bearer ${res.json().key}` }, payload: { name: 'Made by the robot' } });
    expect(feature.statusCode).toBe(201);
    expect(await onlyEventSince(t, mark2)).toMatchObject({ actor_kind: 'operator', actor_id: res.json().id, action: 'feature.created' });
  });

  it('features and packages: created with their fields, updated with the changed ones', async () => {
    let mark = await auditMark(t);
    const code = unique('code');
    const feature = await op('POST', '/admin/v1/features', { code, name: 'Greylisting', position: 7 });
    expect(feature.statusCode).toBe(201);
    const f = await onlyEventSince(t, mark);
    expect(f).toMatchObject({ action: 'feature.created', target_type: 'feature', target_id: String(feature.json().id), reseller_id: null });
    expect(f.changes).toEqual({ code: { after: code }, name: { after: 'Greylisting' }, blurb: { after: '' }, description: { after: '' }, position: { after: 7 } });

    mark = await auditMark(t);
    const uid = unique('pkg');
    const created = await op('POST', '/admin/v1/packages', { uid, name: 'Audit Plan', tags: ['cpanel'], features: [code], limits: { max_mail_servers: 2 }, domain_cost_cents: 10 });
    expect(created.statusCode, created.body).toBe(201);
    const p = await onlyEventSince(t, mark);
    expect(p).toMatchObject({ action: 'package.created', target_type: 'package', target_id: uid, reseller_id: null });
    expect(p.changes).toMatchObject({ uid: { after: uid }, name: { after: 'Audit Plan' }, tags: { after: ['cpanel'] }, features: { after: [feature.json().id] }, limits: { after: { max_mail_servers: 2 } }, domain_cost_cents: { after: 10 } });

    mark = await auditMark(t);
    expect((await op('PATCH', `/admin/v1/packages/${uid}`, { name: 'Audit Plan', free_trial: 14, features: [], limits: { max_mail_servers: 3 } })).statusCode).toBe(200);
    const u = await onlyEventSince(t, mark);
    expect(u).toMatchObject({ ...byOperator, action: 'package.updated', target_id: uid });
    expect(u.changes).toEqual({ free_trial_days: { before: 0, after: 14 }, features: { before: [feature.json().id], after: [] }, limits: { before: { max_mail_servers: 2 }, after: { max_mail_servers: 3 } } });
  });

  it('client restore and a domain status set by hand', async () => {
    const r = await createReseller(t);
    const domain = `${unique('restore')}.test`;
    const made = await t.app.server.inject({ method: 'POST', url: '/v1/clients', headers: { authorization: r.auth }, payload: { package_uid: 'spamstopshere-standard', user_count: 1, domains: [{ name: domain }] } });
    expect(made.statusCode, made.body).toBe(201);
    const id = made.json().id as number;
    expect((await t.app.server.inject({ method: 'DELETE', url: `/v1/clients/${id}`, headers: { authorization: r.auth } })).statusCode).toBe(200);

    let mark = await auditMark(t);
    expect((await op('POST', `/admin/v1/clients/${id}/restore`)).statusCode).toBe(200);
    const restore = await onlyEventSince(t, mark);
    expect(restore).toMatchObject({ ...byOperator, actor_id: keyId, action: 'client.restored', target_type: 'client', target_id: String(id), reseller_id: r.id });
    expect(restore.changes).toEqual({ status: { before: 'cancelled', after: 'active' }, domains: { before: [], after: [{ name: domain, mail_servers: [] }] } });

    mark = await auditMark(t);
    expect((await op('PUT', `/admin/v1/domains/${domain}/status`, { status: 'ready' })).statusCode).toBe(200);
    const status = await onlyEventSince(t, mark);
    expect(status).toMatchObject({ ...byOperator, action: 'domain.status_set', target_type: 'domain', target_id: domain, reseller_id: r.id, changes: { status: { before: 'initializing', after: 'ready' } } });
  });
});

describe('failed admin mutations write nothing', () => {
  it('422s (including a unique violation inside the transaction), 404s and 409s leave the log as it was', async () => {
    const existing = await createReseller(t);
    const taken = (await op('GET', `/admin/v1/resellers/${existing.id}`)).json().username as string;
    const mark = await auditMark(t);
    const attempts: [number, ReturnType<typeof op>][] = [
      [422, op('POST', '/admin/v1/resellers', { name: 'Dup', username: taken.toUpperCase(), email_address: 'dup@example.com' })],
      [422, op('POST', '/admin/v1/resellers', { name: 'No email', username: unique('nomail') })],
      [422, op('PATCH', `/admin/v1/resellers/${existing.id}`, { login_hostname: 'not a host' })],
      [409, op('POST', `/admin/v1/resellers/${existing.id}/approve`)],
      [404, op('POST', '/admin/v1/resellers/999999999/rotate-key')],
      [422, op('POST', '/admin/v1/packages', { uid: unique('pkg'), name: 'Broken', features: ['no-such-feature'] })],
      [422, op('POST', '/admin/v1/packages', { uid: 'spamstopshere-standard', name: 'Taken uid' })],
      [422, op('PATCH', '/admin/v1/packages/spamstopshere-standard', { parent_uid: 'spamstopshere-standard' })],
      [422, op('POST', '/admin/v1/features', { code: 'anti_spam', name: 'Taken code' })],
      [422, op('POST', '/admin/v1/keys', { name: '   ' })],
      [422, op('PUT', '/admin/v1/domains/nowhere.test/status', { status: 'bogus' })],
      [404, op('PUT', '/admin/v1/domains/nowhere.test/status', { status: 'ready' })],
      [404, op('POST', '/admin/v1/clients/999999999/restore')],
      [404, op('POST', '/admin/v1/jobs/999999999/retry')],
    ];
    for (const [status, pending] of attempts) {
      const res = await pending;
      expect(res.statusCode, res.body).toBe(status);
    }
    expect(await auditSince(t, mark)).toEqual([]);
  });
});

describe('secrets never reach the log', () => {
  it('no token or key handed out above appears anywhere in the log, nor any field named like a secret', async () => {
    expect(secrets.length).toBeGreaterThanOrEqual(9);
    const all = await auditSince(t, 0);
    const text = JSON.stringify(all);
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).not.toContain(t.operatorKey);
    const names = new Set<string>();
    const walk = (v: unknown) => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') {
        for (const [k, item] of Object.entries(v)) {
          names.add(k);
          walk(item);
        }
      }
    };
    for (const e of all) walk(e.changes);
    for (const name of ['api_key', 'api_key_digest', 'api_token', 'key', 'key_digest', 'token', 'token_digest', 'password', 'password_hash', 'secret']) expect(names.has(name), name).toBe(false);
  });
});

describe('GET /admin/v1/audit', () => {
  it('no or a wrong operator key → 401', async () => {
    const none = await t.app.server.inject({ method: 'GET', url: '/admin/v1/audit' });
    expect(none.statusCode).toBe(401);
    expect(none.json().error.code).toBe('unauthenticated');
    const wrong = await t.app.server.inject({ method: 'GET', url: '/admin/v1/audit', headers: { authorization: 'Bearer hpo_wrong' } });
    expect(wrong.statusCode).toBe(401);
  });

  it('a reseller key is no operator key', async () => {
    const r = await createReseller(t);
    const res = await t.app.server.inject({ method: 'GET', url: '/admin/v1/audit', headers: { authorization: `Bearer ${r.api_key}` } });
    expect(res.statusCode).toBe(401);
  });
});
