import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCrm, type Crm } from './crm-harness.js';

const DAY = 86_400_000;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$/;

let crm: Crm;
let api: string;
let parentType: { id: number; code: string };
let childType: { id: number; code: string };

beforeAll(async () => {
  crm = await startCrm();
  api = await crm.apiToken('/api/v1/subscriptions/create', '/api/v1/payments/create');
  parentType = await crm.subscriptionType('donation_from_company_year_online', { length: 365 });
  childType = await crm.subscriptionType('donation_from_company_standard_year_online', { length: 365 });
  await crm.familyType({ parent: parentType.code, child: childType.code, method: 'copy', count: 3, is_paid: true });
});
afterAll(() => crm.close());

async function parentWithCodes(count?: number) {
  const parent = await crm.user();
  const res = await crm.call('POST', '/api/v1/subscriptions/create', { token: api, body: { email: parent.email, subscription_type_id: parentType.id, is_paid: true } });
  expect(res.status).toBe(200);
  const list = await crm.call('GET', '/api/v1/family/list', { token: parent.token });
  expect(list.status).toBe(200);
  if (count !== undefined) expect(list.body.codes).toHaveLength(count);
  return { parent, subscription: res.body.subscriptions, codes: list.body.codes.map((c: { code: string }) => c.code) as string[] };
}

describe('family list', () => {
  it('lists the codes a new parent subscription generated, in the original shape', async () => {
    const { parent, codes } = await parentWithCodes(3);
    for (const c of codes) expect(c).toMatch(/^[0-9a-z]{32}$/);
    const list = await crm.call('POST', '/api/v1/family/list', { token: parent.token });
    expect(list.status).toBe(200);
    const first = list.body.codes[0];
    expect(Object.keys(first)).toEqual(['code', 'master_user_id', 'status', 'subscription_type_code', 'slave_user_id', 'created_at', 'updated_at', 'opened_at', 'accepted_at', 'canceled_at', 'expires_at']);
    expect(first).toMatchObject({ master_user_id: parent.id, status: 'created', subscription_type_code: childType.code, slave_user_id: null, opened_at: null, accepted_at: null, canceled_at: null, expires_at: null });
    expect(first.created_at).toMatch(ISO);
  });

  it('codes changed at the same moment keep their creation order (updated_at desc, created_at desc, id)', async () => {
    const { parent, codes } = await parentWithCodes(3);
    const ids = await crm.t.app.dbHandle.db.selectFrom('family_requests').select('code').where('master_user_id', '=', parent.id).orderBy('id').execute();
    expect(codes).toEqual(ids.map((r) => r.code));
  });

  it('a user without a family subscription gets no codes', async () => {
    const u = await crm.user();
    const list = await crm.call('GET', '/api/v1/family/list', { token: u.token });
    expect(list).toMatchObject({ status: 200, body: { codes: [] } });
  });

  it('newest change first', async () => {
    const { parent, codes } = await parentWithCodes(3);
    const child = await crm.user();
    await crm.call('POST', '/api/v1/family/activate', { token: child.token, body: { code: codes[2] } });
    const list = await crm.call('GET', '/api/v1/family/list', { token: parent.token });
    expect(list.body.codes[0]).toMatchObject({ code: codes[2], status: 'accepted', slave_user_id: child.id });
  });
});

describe('family activate', () => {
  it('201 with the child subscription copying the parent dates', async () => {
    const { subscription, codes } = await parentWithCodes(3);
    const child = await crm.user();
    const res = await crm.call('POST', '/api/v1/family/activate', { token: child.token, body: { code: codes[0] } });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ code: codes[0], subscription: { start_at: subscription.start_time, end_at: subscription.end_time, code: childType.code, access: ['web'] } });
    const mine = await crm.call('GET', '/api/v1/users/subscriptions', { token: child.token });
    expect(mine.body.subscriptions).toEqual([expect.objectContaining({ code: childType.code, start_at: subscription.start_time, is_paid: true, type: 'family' })]);
  });

  it('stores the acceptance, the linked child subscription and both audit rows, naming the new subscription', async () => {
    const { subscription, codes } = await parentWithCodes(3);
    const child = await crm.user();
    expect((await crm.call('POST', '/api/v1/family/activate', { token: child.token, body: { code: codes[1] } })).status).toBe(201);
    const db = crm.t.app.dbHandle.db;
    const request = await db.selectFrom('family_requests').selectAll().where('code', '=', codes[1]!).executeTakeFirstOrThrow();
    expect(request).toMatchObject({ status: 'accepted', slave_user_id: child.id });
    expect(request.accepted_at).toEqual(request.updated_at);
    const sub = await db.selectFrom('subscriptions').selectAll().where('id', '=', request.slave_subscription_id!).executeTakeFirstOrThrow();
    expect(sub).toMatchObject({ user_id: child.id, subscription_type_id: childType.id, is_paid: true, type: 'family', note: null, payment_id: null, renewed_subscription_id: null, meta: { family_request_id: String(request.id), master_subscription_id: String(subscription.id) } });
    const audit = await db
      .selectFrom('audit_events')
      .select(['action', 'target_type', 'target_id', 'actor_kind', 'actor_id', 'changes'])
      .where((eb) => eb.or([eb.and([eb('target_type', '=', 'family_request'), eb('target_id', '=', String(request.id))]), eb.and([eb('target_type', '=', 'subscription'), eb('target_id', '=', String(sub.id))])]))
      .orderBy('id')
      .execute();
    expect(audit).toEqual([
      {
        action: 'family_request.accepted',
        target_type: 'family_request',
        target_id: String(request.id),
        actor_kind: 'user',
        actor_id: child.id,
        changes: { slave_subscription_id: { before: null, after: sub.id }, slave_user_id: { before: null, after: child.id }, status: { before: 'created', after: 'accepted' } },
      },
      {
        action: 'subscription.created',
        target_type: 'subscription',
        target_id: String(sub.id),
        actor_kind: 'user',
        actor_id: child.id,
        changes: {
          end_time: { after: sub.end_time.toISOString() },
          is_paid: { after: true },
          start_time: { after: sub.start_time.toISOString() },
          subscription_type_id: { after: childType.id },
          type: { after: 'family' },
          user_id: { after: child.id },
        },
      },
    ]);
    // A subscription made later takes the next id: the one the activation drew is the sequence's own.
    const later = await crm.user();
    expect((await crm.call('POST', '/api/v1/family/activate', { token: later.token, body: { code: codes[2] } })).status).toBe(201);
    const next = await db.selectFrom('family_requests').select('slave_subscription_id').where('code', '=', codes[2]!).executeTakeFirstOrThrow();
    expect(next.slave_subscription_id).toBeGreaterThan(sub.id);
  });

  it('GET answers too, with the code in the body or the query', async () => {
    const { codes } = await parentWithCodes(3);
    const a = await crm.user();
    expect((await crm.call('GET', `/api/v1/family/activate?code=${codes[0]}`, { token: a.token })).status).toBe(201);
    const b = await crm.user();
    expect((await crm.call('GET', '/api/v1/family/activate', { token: b.token, body: { code: codes[1] } })).status).toBe(201);
  });

  it('empty, malformed and schema-violating bodies are 400 with the original messages', async () => {
    const u = await crm.user();
    expect(await crm.call('POST', '/api/v1/family/activate', { token: u.token })).toMatchObject({ status: 400, body: { status: 'error', message: 'Empty request' } });
    expect(await crm.call('POST', '/api/v1/family/activate', { token: u.token, body: '{"code":' })).toMatchObject({ status: 400, body: { status: 'error', message: 'Malformed JSON' } });
    const extra = await crm.call('POST', '/api/v1/family/activate', { token: u.token, body: { code: 'x', other: 1 } });
    expect(extra).toMatchObject({ status: 400, body: { status: 'error', message: 'Payload error' } });
    expect(extra.body.errors.length).toBeGreaterThan(0);
    expect(await crm.call('POST', '/api/v1/family/activate', { token: u.token, body: {} })).toMatchObject({ status: 400, body: { message: 'Payload error' } });
    expect(await crm.call('POST', '/api/v1/family/activate', { token: u.token, body: { code: 5 } })).toMatchObject({ status: 400, body: { message: 'Payload error' } });
    expect(await crm.call('POST', '/api/v1/family/activate', { token: u.token, body: '[1,2]' })).toMatchObject({ status: 400, body: { message: 'Payload error' } });
  });

  it('unknown code: 404', async () => {
    const u = await crm.user();
    const res = await crm.call('POST', '/api/v1/family/activate', { token: u.token, body: { code: 'nonexistent' } });
    expect(res).toEqual(expect.objectContaining({ status: 404, body: { message: 'Family request code [nonexistent] not found', code: 'family_request_not_found' } }));
  });

  it('one code per user and parent subscription, checked before the status', async () => {
    const { codes } = await parentWithCodes(3);
    const u = await crm.user();
    expect((await crm.call('POST', '/api/v1/family/activate', { token: u.token, body: { code: codes[0] } })).status).toBe(201);
    expect(await crm.call('POST', '/api/v1/family/activate', { token: u.token, body: { code: codes[1] } })).toEqual(
      expect.objectContaining({ status: 400, body: { message: `User [${u.email}] already used company code from this company subscription.`, code: 'family_request_one_per_user' } }),
    );
    // Its own accepted code again: still the one-per-user answer, which comes first.
    expect(await crm.call('POST', '/api/v1/family/activate', { token: u.token, body: { code: codes[0] } })).toMatchObject({ status: 400, body: { code: 'family_request_one_per_user' } });
  });

  it('an accepted code taken by someone else: 409 wrong status', async () => {
    const { codes } = await parentWithCodes(3);
    const a = await crm.user();
    const b = await crm.user();
    await crm.call('POST', '/api/v1/family/activate', { token: a.token, body: { code: codes[0] } });
    expect(await crm.call('POST', '/api/v1/family/activate', { token: b.token, body: { code: codes[0] } })).toMatchObject({
      status: 409,
      body: { message: `Family request code [${codes[0]}] has wrong status: accepted`, code: 'family_request_wrong_status' },
    });
  });

  it('an expired parent subscription: 400 expired, before the status check', async () => {
    const parent = await crm.user();
    const start = new Date(Date.now() - 40 * DAY).toISOString();
    const end = new Date(Date.now() - 5 * DAY).toISOString();
    const created = await crm.call('POST', '/api/v1/subscriptions/create', { token: api, body: { email: parent.email, subscription_type_id: parentType.id, is_paid: true, start_time: start, end_time: end } });
    expect(created.status).toBe(200);
    const codes = (await crm.call('GET', '/api/v1/family/list', { token: parent.token })).body.codes;
    const u = await crm.user();
    expect(await crm.call('POST', '/api/v1/family/activate', { token: u.token, body: { code: codes[0].code } })).toMatchObject({ status: 400, body: { message: `Family request code [${codes[0].code}] expired`, code: 'family_request_expired' } });
  });

  it('an expired code of a running parent: 400 expired', async () => {
    const { codes } = await parentWithCodes(3);
    await crm.t.app.dbHandle.db.updateTable('family_requests').set({ expires_at: new Date(Date.now() - 1000) }).where('code', '=', codes[0]!).execute();
    const u = await crm.user();
    expect(await crm.call('POST', '/api/v1/family/activate', { token: u.token, body: { code: codes[0] } })).toEqual(expect.objectContaining({ status: 400, body: { message: `Family request code [${codes[0]}] expired`, code: 'family_request_expired' } }));
  });

  it('cancelling an accepted code gives the company a fresh code in its place; an unused one is just taken back', async () => {
    const { parent, codes } = await parentWithCodes(3);
    const u = await crm.user();
    await crm.call('POST', '/api/v1/family/activate', { token: u.token, body: { code: codes[0] } });
    const res = await crm.call('POST', '/api/v1/family/deactivate', { token: parent.token, body: { code: codes[0] } });
    expect(res).toMatchObject({ status: 200, body: { code: codes[0], status: 'canceled', new_code: expect.stringMatching(/^[0-9a-z]{32}$/) } });
    const unused = await crm.call('POST', '/api/v1/family/deactivate', { token: parent.token, body: { code: codes[1] } });
    expect(unused.body).toEqual({ code: codes[1], status: 'canceled' });
    const list = (await crm.call('GET', '/api/v1/family/list', { token: parent.token })).body.codes as { code: string; status: string }[];
    expect(list).toHaveLength(4);
    expect(list.filter((c) => c.status === 'created').map((c) => c.code).sort()).toEqual([codes[2], res.body.new_code].sort());
    // The child whose code was taken back can use the fresh one.
    expect((await crm.call('POST', '/api/v1/family/activate', { token: u.token, body: { code: res.body.new_code } })).status).toBe(201);
  });

  it('a cancelled code: 409 wrong status canceled; cancel of an accepted code ends the child subscription', async () => {
    const { parent, codes } = await parentWithCodes(3);
    const u = await crm.user();
    expect(await crm.call('POST', '/api/v1/family/deactivate', { token: parent.token, body: { code: codes[0] } })).toMatchObject({ status: 200, body: { code: codes[0], status: 'canceled' } });
    expect(await crm.call('POST', '/api/v1/family/activate', { token: u.token, body: { code: codes[0] } })).toMatchObject({ status: 409, body: { code: 'family_request_wrong_status', message: `Family request code [${codes[0]}] has wrong status: canceled` } });
    expect(await crm.call('POST', '/api/v1/family/deactivate', { token: parent.token, body: { code: codes[0] } })).toMatchObject({ status: 409, body: { code: 'family_request_wrong_status' } });

    expect((await crm.call('POST', '/api/v1/family/activate', { token: u.token, body: { code: codes[1] } })).status).toBe(201);
    expect((await crm.call('POST', '/api/v1/family/deactivate', { token: parent.token, body: { code: codes[1] } })).status).toBe(200);
    const subs = (await crm.call('GET', '/api/v1/users/subscriptions', { token: u.token })).body.subscriptions;
    expect(new Date(subs[0].end_at).getTime()).toBeLessThanOrEqual(Date.now());
    // Its access gone, the child may take another code of the same parent.
    expect((await crm.call('POST', '/api/v1/family/activate', { token: u.token, body: { code: codes[2] } })).status).toBe(201);
  });

  it("another parent's code cannot be cancelled: 404", async () => {
    const { codes } = await parentWithCodes(3);
    const other = await crm.user();
    expect(await crm.call('POST', '/api/v1/family/deactivate', { token: other.token, body: { code: codes[0] } })).toMatchObject({ status: 404, body: { code: 'family_request_not_found' } });
  });
});

describe('authorization', () => {
  const userEndpoints: ['GET' | 'POST', string][] = [
    ['GET', '/api/v1/family/list'],
    ['POST', '/api/v1/family/list'],
    ['GET', '/api/v1/family/activate'],
    ['POST', '/api/v1/family/activate'],
    ['POST', '/api/v1/family/deactivate'],
    ['GET', '/api/v1/user/info'],
    ['GET', '/api/v1/users/subscriptions'],
  ];
  it.each(userEndpoints)('%s %s: no token, a bad token, an API token are 403 no_authorization', async (method, url) => {
    for (const token of [undefined, 'not-a-token', api]) {
      const res = await crm.call(method, url, { ...(token ? { token } : {}), body: { code: 'x' } });
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ status: 'error', error: 'no_authorization' });
      expect(res.body.message).toMatch(/^Not authorized: /);
    }
  });

  it('API endpoints: no token, bad token, user token, non-granted token are 403', async () => {
    const u = await crm.user();
    const other = await crm.apiToken('/api/v1/payments/create');
    const none = await crm.apiToken();
    for (const token of [undefined, 'bad', u.token, other, none]) {
      const res = await crm.call('POST', '/api/v1/subscriptions/create', { ...(token ? { token } : {}), body: { email: u.email, subscription_type_id: parentType.id, is_paid: true } });
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ status: 'error', error: 'no_authorization' });
    }
  });
});
