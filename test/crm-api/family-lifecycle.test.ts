import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliServer, type CliServer } from '../cli/cli-harness.js';
import { startCrm, type Crm } from './crm-harness.js';

// What happens to codes over time: a recurring charge's renewal, an operator's expiry on a code, and a
// family type retired and replaced (its unused codes are "of another family type" from then on).

const DAY = 86_400_000;

let crm: Crm;
let api: string;

beforeAll(async () => {
  crm = await startCrm();
  api = await crm.apiToken('/api/v1/subscriptions/create', '/api/v1/payments/create');
});
afterAll(() => crm.close());

type Code = { code: string; status: string; subscription_type_code: string; slave_user_id: number | null; expires_at: string | null };
const codesOf = async (token: string) => (await crm.call('GET', '/api/v1/family/list', { token })).body.codes as Code[];
const activate = (token: string, code: string) => crm.call('POST', '/api/v1/family/activate', { token, body: { code } });
const memberSubs = async (token: string) => (await crm.call('GET', '/api/v1/users/subscriptions', { token })).body.subscriptions as { start_at: string; end_at: string; code: string }[];
const subscribe = async (email: string, typeId: number, extra: Record<string, unknown> = {}) => {
  const res = await crm.call('POST', '/api/v1/subscriptions/create', { token: api, body: { email, subscription_type_id: typeId, is_paid: true, ...extra } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.subscriptions as { id: number; start_time: string; end_time: string };
};
const pay = (body: Record<string, unknown>) => crm.call('POST', '/api/v1/payments/create', { token: api, body });
const paymentCount = async () => (await crm.t.app.dbHandle.db.selectFrom('payments').select('id').execute()).length;

describe('a recurring charge renews the payment it names', () => {
  let parent: { id: number; code: string };
  beforeAll(async () => {
    parent = await crm.subscriptionType('recurring_parent', { length: 30, extension_method: 'start_now' });
    const child = await crm.subscriptionType('recurring_child', { length: 30 });
    await crm.familyType({ parent: parent.code, child: child.code, method: 'copy', count: 2 });
  });

  it('hands the accepted children over even after a gap longer than the configured one (none)', async () => {
    const owner = await crm.user();
    const first = await pay({ email: owner.email, subscription_type_id: parent.id });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    const member = await crm.user();
    expect((await activate(member.token, (await codesOf(owner.token))[0]!.code)).status).toBe(201);

    // start_now: the renewal starts now, long before the first term ends, so the gap rule alone finds nothing.
    const renewal = await pay({ email: owner.email, subscription_type_id: parent.id, parent_payment_id: first.body.payment.id });
    expect(renewal.status, JSON.stringify(renewal.body)).toBe(200);
    const subs = await memberSubs(member.token);
    expect(subs).toHaveLength(2);
    expect(subs.map((s) => s.end_at)).toContain(renewal.body.subscription.end_time);
    expect((await codesOf(owner.token)).filter((c) => c.status === 'accepted' && c.slave_user_id === member.id)).toHaveLength(2);
  });

  it('without parent_payment_id the same payment hands nothing over (the gap rule decides)', async () => {
    const owner = await crm.user();
    await pay({ email: owner.email, subscription_type_id: parent.id });
    const member = await crm.user();
    expect((await activate(member.token, (await codesOf(owner.token))[0]!.code)).status).toBe(201);
    expect((await pay({ email: owner.email, subscription_type_id: parent.id })).status).toBe(200);
    expect(await memberSubs(member.token)).toHaveLength(1);
  });

  it('refuses a parent payment of another user or another type, and creates nothing', async () => {
    const owner = await crm.user();
    const stranger = await crm.user();
    const theirs = await pay({ email: stranger.email, subscription_type_id: parent.id });
    const other = await crm.subscriptionType('recurring_other', { length: 30 });
    const mineOfOtherType = await pay({ email: owner.email, subscription_type_id: other.id });
    const before = await paymentCount();

    const a = await pay({ email: owner.email, subscription_type_id: parent.id, parent_payment_id: theirs.body.payment.id });
    expect(a.status).toBe(400);
    expect(a.body).toMatchObject({ status: 'error', message: 'Payload error' });
    expect(JSON.stringify(a.body)).toContain('parent_payment_id: is not a payment of this user');
    const b = await pay({ email: owner.email, subscription_type_id: parent.id, parent_payment_id: mineOfOtherType.body.payment.id });
    expect(b.status).toBe(400);
    expect(JSON.stringify(b.body)).toContain('parent_payment_id: is a payment of another subscription type');
    const c = await pay({ email: owner.email, subscription_type_id: parent.id, parent_payment_id: 'x' });
    expect(c.status).toBe(400);
    expect(await paymentCount()).toBe(before);
  });
});

describe('an operator sets when a code expires', () => {
  let owner: { token: string; email: string };
  let codes: Code[];
  beforeAll(async () => {
    const parent = await crm.subscriptionType('expiring_parent', { length: 30 });
    const child = await crm.subscriptionType('expiring_child', { length: 30 });
    await crm.familyType({ parent: parent.code, child: child.code, method: 'copy', count: 3 });
    owner = await crm.user();
    await subscribe(owner.email, parent.id);
    codes = await codesOf(owner.token);
  });

  it('an expired code answers family_request_expired; cleared, it activates', async () => {
    const code = codes[0]!.code;
    // REMP's dates are whole seconds.
    const past = new Date(Math.floor((Date.now() - DAY) / 1000) * 1000).toISOString();
    const set = await crm.admin('PATCH', `/admin/v1/family-codes/${code}`, { expires_at: past });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body).toMatchObject({ code, status: 'created' });
    expect(new Date(set.body.expires_at).toISOString()).toBe(past);
    expect((await codesOf(owner.token)).find((c) => c.code === code)!.expires_at).not.toBeNull();

    const member = await crm.user();
    const refused = await activate(member.token, code);
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({ message: `Family request code [${code}] expired`, code: 'family_request_expired' });

    expect((await crm.admin('PATCH', `/admin/v1/family-codes/${code}`, { expires_at: null })).body.expires_at).toBeNull();
    expect((await activate(member.token, code)).status).toBe(201);
  });

  it('a future expiry leaves the code usable', async () => {
    const code = codes[1]!.code;
    expect((await crm.admin('PATCH', `/admin/v1/family-codes/${code}`, { expires_at: new Date(Date.now() + DAY).toISOString() })).status).toBe(200);
    expect((await activate((await crm.user()).token, code)).status).toBe(201);
  });

  it('bad input, unknown codes and missing credentials change nothing', async () => {
    const code = codes[2]!.code;
    const bad = await crm.admin('PATCH', `/admin/v1/family-codes/${code}`, { expires_at: 'tomorrow' });
    expect(bad.status).toBe(422);
    expect(bad.body.error.fields.expires_at[0]).toMatch(/ISO 8601/);
    expect((await crm.admin('PATCH', `/admin/v1/family-codes/${code}`, { expires_at: null, extra: 1 })).status).toBe(422);
    expect((await crm.admin('PATCH', `/admin/v1/family-codes/${code}`, {})).status).toBe(422);
    expect((await crm.admin('PATCH', `/admin/v1/family-codes/${'0'.repeat(32)}`, { expires_at: null })).status).toBe(404);
    expect((await crm.admin('PATCH', '/admin/v1/family-codes/NOT-A-CODE', { expires_at: null })).status).toBe(404);
    const anonymous = await crm.t.app.server.inject({ method: 'PATCH', url: `/admin/v1/family-codes/${code}`, headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ expires_at: new Date(0).toISOString() }) });
    expect(anonymous.statusCode).toBe(401);
    const asUser = await crm.t.app.server.inject({ method: 'PATCH', url: `/admin/v1/family-codes/${code}`, headers: { 'content-type': 'application/json', authorization: `Bearer ${owner.token}` }, payload: JSON.stringify({ expires_at: new Date(0).toISOString() }) });
    expect(asUser.statusCode).toBe(401);
    expect((await codesOf(owner.token)).find((c) => c.code === code)!.expires_at).toBeNull();
  });
});

describe('a retired family type and the one that replaces it', () => {
  it('old unused codes are of another family type; accepted children keep theirs; new parents get the new type', async () => {
    const parent = await crm.subscriptionType('retired_parent', { length: 30 });
    const child = await crm.subscriptionType('retired_child', { length: 30 });
    const newChild = await crm.subscriptionType('retired_child_new', { length: 30 });
    const oldType = await crm.familyType({ parent: parent.code, child: child.code, method: 'copy', count: 3 });
    const owner = await crm.user();
    await subscribe(owner.email, parent.id);
    const [first, second, third] = await codesOf(owner.token);
    const member = await crm.user();
    expect((await activate(member.token, first!.code)).status).toBe(201);

    // One family type per parent type while it is in force.
    const twice = await crm.admin('POST', '/admin/v1/family-types', { parent: parent.code, child: newChild.code, method: 'copy', count: 1 });
    expect(twice.status).toBe(422);
    expect(twice.body.error.fields.parent[0]).toMatch(/already has a family type/);

    const disabled = await crm.admin('POST', `/admin/v1/family-types/${oldType.id}/disable`);
    expect(disabled.status, JSON.stringify(disabled.body)).toBe(200);
    expect(disabled.body.disabled_at).not.toBeNull();
    expect((await crm.admin('POST', `/admin/v1/family-types/${oldType.id}/disable`)).status).toBe(409);
    expect((await crm.admin('POST', '/admin/v1/family-types/999999/disable')).status).toBe(404);

    const late = await crm.user();
    const refused = await activate(late.token, second!.code);
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({ message: `Family request code [${second!.code}] belongs to a family type that no longer applies to its subscription`, code: 'family_request_wrong_type' });
    expect(await memberSubs(late.token)).toHaveLength(0);
    // The checks before it still come first: an unknown code is not found, a used one is one-per-user.
    expect((await activate(member.token, third!.code)).body.code).toBe('family_request_one_per_user');
    expect((await memberSubs(member.token))).toHaveLength(1);

    const newType = await crm.familyType({ parent: parent.code, child: newChild.code, method: 'copy', count: 1 });
    const list = (await crm.admin('GET', '/admin/v1/family-types')).body as { id: number; disabled_at: string | null }[];
    expect(list.find((f) => f.id === oldType.id)!.disabled_at).not.toBeNull();
    expect(list.find((f) => f.id === newType.id)!.disabled_at).toBeNull();

    const nextOwner = await crm.user();
    await subscribe(nextOwner.email, parent.id);
    const fresh = await codesOf(nextOwner.token);
    expect(fresh.map((c) => c.subscription_type_code)).toEqual(['retired_child_new']);
    expect((await activate(late.token, fresh[0]!.code)).status).toBe(201);
  });
});

describe('the operator commands', () => {
  let s: CliServer;
  beforeAll(async () => {
    s = await startCliServer();
  });
  afterAll(() => s.close());

  it('family-type disable and family-code expire, with their usage errors', async () => {
    await s.cliJson('subscription-type', 'create', '--code', 'cli_parent', '--name', 'Parent', '--length', '30');
    await s.cliJson('subscription-type', 'create', '--code', 'cli_child', '--name', 'Child', '--length', '30');
    const family = await s.cliJson<{ id: number }>('family-type', 'create', '--parent', 'cli_parent', '--child', 'cli_child', '--method', 'copy', '--count', '1');
    const owner = await s.cliJson<{ id: number }>('user', 'create', '--login', 'cli-owner@example.com', '--password', 'owner-password');
    const types = await s.cliJson<{ id: number; code: string }[]>('subscription-type', 'list');
    const token = await s.cliJson<{ token: string }>('api-token', 'create', '--name', 'billing', '--allow', '/api/v1/subscriptions/create');
    const res = await fetch(`${s.url}/api/v1/subscriptions/create`, { method: 'POST', headers: { authorization: `Bearer ${token.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ email: 'cli-owner@example.com', subscription_type_id: types.find((t) => t.code === 'cli_parent')!.id, is_paid: true }) });
    expect(res.status).toBe(200);
    const row = await s.t.app.dbHandle.db.selectFrom('family_requests').select('code').where('master_user_id', '=', owner.id).executeTakeFirstOrThrow();

    const at = '2030-01-31T23:59:59.000Z';
    const expired = await s.cliJson<{ code: string; expires_at: string }>('family-code', 'expire', row!.code, '--at', at);
    expect(new Date(expired.expires_at).toISOString()).toBe(at);
    expect((await s.cliJson<{ expires_at: string | null }>('family-code', 'expire', row!.code, '--never')).expires_at).toBeNull();
    const both = await s.cli('family-code', 'expire', row!.code);
    expect(both.code).not.toBe(0);
    expect(both.stderr).toMatch(/exactly one of --at/);
    const badTime = await s.cli('family-code', 'expire', row!.code, '--at', 'soon');
    expect(badTime.code).not.toBe(0);
    expect(badTime.stderr).toMatch(/ISO 8601/);

    const disabled = await s.cliJson<{ id: number; disabled_at: string | null }>('family-type', 'disable', String(family.id));
    expect(disabled.disabled_at).not.toBeNull();
    const human = await s.cli('family-type', 'list');
    expect(human.stdout).toMatch(/DISABLED/);
    const again = await s.cli('family-type', 'disable', String(family.id));
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/already disabled/);
  });
});
