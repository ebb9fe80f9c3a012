import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCrm, type Crm } from './crm-harness.js';

const DAY = 86_400_000;

let crm: Crm;
let api: string;

beforeAll(async () => {
  crm = await startCrm();
  api = await crm.apiToken('/api/v1/subscriptions/create', '/api/v1/payments/create');
});
afterAll(() => crm.close());

const codesOf = async (token: string) => (await crm.call('GET', '/api/v1/family/list', { token })).body.codes as { code: string; status: string; subscription_type_code: string; slave_user_id: number | null }[];
const subscribe = async (email: string, typeId: number, extra: Record<string, unknown> = {}) => {
  const res = await crm.call('POST', '/api/v1/subscriptions/create', { token: api, body: { email, subscription_type_id: typeId, is_paid: true, ...extra } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.subscriptions as { id: number; start_time: string; end_time: string };
};
const pay = async (body: Record<string, unknown>) => {
  const res = await crm.call('POST', '/api/v1/payments/create', { token: api, body });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
};
const activate = (token: string, code: string) => crm.call('POST', '/api/v1/family/activate', { token, body: { code } });

describe('counts', () => {
  let parent: { id: number; code: string };
  let child: { id: number; code: string };
  beforeAll(async () => {
    parent = await crm.subscriptionType('company_dynamic');
    child = await crm.subscriptionType('company_dynamic_child');
    await crm.familyType({ parent: parent.code, child: child.code, method: 'copy', count: 0 });
  });

  it('count 0 takes the number from the payment meta family_subscriptions_count', async () => {
    const u = await crm.user();
    await pay({ email: u.email, subscription_type_id: parent.id, meta: { family_subscriptions_count: '4' }, items: [{ subscription_type_id: parent.id, count: 9, price: 10 }] });
    expect(await codesOf(u.token)).toHaveLength(4);
  });

  it('count 0 without meta takes the payment item count', async () => {
    const u = await crm.user();
    await pay({ email: u.email, subscription_type_id: parent.id, items: [{ subscription_type_id: parent.id, count: 7, price: 10 }] });
    expect(await codesOf(u.token)).toHaveLength(7);
  });

  it('handling the new subscription twice never makes more than the count', async () => {
    const u = await crm.user();
    const body = await pay({ email: u.email, subscription_type_id: parent.id, items: [{ subscription_type_id: parent.id, count: 5 }] });
    const again = await crm.admin('POST', `/admin/v1/subscriptions/${body.subscription.id}/family-requests`);
    expect(again).toMatchObject({ status: 200, body: { created: 0 } });
    expect(await codesOf(u.token)).toHaveLength(5);
  });

  it('custom types: the family without a child type makes codes per item from subscription_type_item_id', async () => {
    const custom = await crm.subscriptionType('company_custom');
    const web = await crm.subscriptionType('custom_web', { access: ['web'] });
    const klub = await crm.subscriptionType('custom_klub', { access: ['web', 'klub'] });
    await crm.familyType({ parent: custom.code, method: 'copy', count: 0 });
    const u = await crm.user();
    await pay({
      email: u.email,
      subscription_type_id: custom.id,
      items: [
        { subscription_type_id: custom.id, count: 5, price: 8, meta: { subscription_type_item_id: String(web.id) } },
        { subscription_type_id: custom.id, count: 1, price: 20, meta: { subscription_type_item_id: String(klub.id) } },
      ],
    });
    const codes = await codesOf(u.token);
    expect(codes.filter((c) => c.subscription_type_code === 'custom_web')).toHaveLength(5);
    expect(codes.filter((c) => c.subscription_type_code === 'custom_klub')).toHaveLength(1);
    // One of each type per user: the klub code after a web code of the same parent is fine.
    const member = await crm.user();
    expect((await activate(member.token, codes.find((c) => c.subscription_type_code === 'custom_web')!.code)).status).toBe(201);
    const klubRes = await activate(member.token, codes.find((c) => c.subscription_type_code === 'custom_klub')!.code);
    expect(klubRes).toMatchObject({ status: 201, body: { subscription: { code: 'custom_klub', access: ['web', 'klub'] } } });
  });
});

describe('fixed_days', () => {
  let parent: { id: number; code: string };
  beforeAll(async () => {
    parent = await crm.subscriptionType('company_fixed', { length: 365 });
    const child = await crm.subscriptionType('company_fixed_child');
    await crm.familyType({ parent: parent.code, child: child.code, method: 'fixed_days', days: 30, count: 2 });
  });

  it('the child lasts N days from its own activation, and the parent may not use its own code', async () => {
    const owner = await crm.user();
    await subscribe(owner.email, parent.id, { start_time: new Date(Date.now() - 100 * DAY).toISOString() });
    const [first] = await codesOf(owner.token);
    expect(await activate(owner.token, first!.code)).toEqual(expect.objectContaining({ status: 400, body: { message: `Cannot activate family request code [${first!.code}] on parent's account`, code: 'family_request_self_use_forbidden' } }));
    const member = await crm.user();
    const before = Date.now();
    const res = await activate(member.token, first!.code);
    expect(res.status).toBe(201);
    const start = new Date(res.body.subscription.start_at).getTime();
    expect(start).toBeGreaterThanOrEqual(before - 1000);
    expect(new Date(res.body.subscription.end_at).getTime() - start).toBe(30 * DAY);
  });
});

describe('extension methods', () => {
  it('extend_family starts after the current family subscription and ignores others', async () => {
    const famParent = await crm.subscriptionType('ext_parent', { length: 30 });
    const famChild = await crm.subscriptionType('ext_child', { length: 30 });
    await crm.familyType({ parent: famParent.code, child: famChild.code, method: 'copy', count: 1 });
    const other = await crm.subscriptionType('ext_other', { length: 100 });
    const renew = await crm.subscriptionType('ext_renew', { length: 30, extension_method: 'extend_family' });
    const u = await crm.user();
    const fam = await subscribe(u.email, famParent.id);
    await subscribe(u.email, other.id);
    const next = await subscribe(u.email, renew.id);
    expect(next.start_time).toBe(fam.end_time);

    const lone = await crm.user();
    await subscribe(lone.email, other.id);
    const now = Date.now();
    const fresh = await subscribe(lone.email, renew.id);
    expect(Math.abs(new Date(fresh.start_time).getTime() - now)).toBeLessThan(5000);
  });

  it('extend_family also follows a child subscription', async () => {
    const famParent = await crm.subscriptionType('ext2_parent', { length: 30 });
    const famChild = await crm.subscriptionType('ext2_child', { length: 30 });
    await crm.familyType({ parent: famParent.code, child: famChild.code, method: 'copy', count: 1 });
    const renew = await crm.subscriptionType('ext2_renew', { length: 30, extension_method: 'extend_family' });
    const owner = await crm.user();
    const fam = await subscribe(owner.email, famParent.id);
    const member = await crm.user();
    await activate(member.token, (await codesOf(owner.token))[0]!.code);
    expect((await subscribe(member.email, renew.id)).start_time).toBe(fam.end_time);
  });

  it('extend_same_type appends to the same type; start_now starts now', async () => {
    const same = await crm.subscriptionType('ext_same', { length: 10, extension_method: 'extend_same_type' });
    const u = await crm.user();
    const a = await subscribe(u.email, same.id);
    const b = await subscribe(u.email, same.id);
    expect(b.start_time).toBe(a.end_time);
    const now = await crm.subscriptionType('ext_now', { length: 10 });
    const c = await subscribe(u.email, now.id);
    const d = await subscribe(u.email, now.id);
    expect(Math.abs(new Date(d.start_time).getTime() - new Date(c.start_time).getTime())).toBeLessThan(5000);
  });
});

describe('renewal', () => {
  let parent: { id: number; code: string };
  beforeAll(async () => {
    parent = await crm.subscriptionType('company_renew', { length: 30, extension_method: 'extend_same_type' });
    const child = await crm.subscriptionType('company_renew_child', { length: 30 });
    await crm.familyType({ parent: parent.code, child: child.code, method: 'copy', count: 3 });
  });

  async function firstTerm() {
    const owner = await crm.user();
    const start = new Date(Date.now() - 10 * DAY);
    const end = new Date(start.getTime() + 30 * DAY);
    const sub = await subscribe(owner.email, parent.id, { start_time: start.toISOString(), end_time: end.toISOString() });
    const codes = await codesOf(owner.token);
    const member = await crm.user();
    expect((await activate(member.token, codes[0]!.code)).status).toBe(201);
    return { owner, member, sub, end };
  }
  const memberSubs = async (token: string) => (await crm.call('GET', '/api/v1/users/subscriptions', { token })).body.subscriptions as { start_at: string; end_at: string }[];

  it('a renewal starting when the previous ends hands accepted children over', async () => {
    const { owner, member, end } = await firstTerm();
    const renewal = await subscribe(owner.email, parent.id, { start_time: end.toISOString() });
    const subs = await memberSubs(member.token);
    expect(subs).toHaveLength(2);
    expect(subs[0]).toMatchObject({ start_at: renewal.start_time, end_at: renewal.end_time });
    const codes = await codesOf(owner.token);
    expect(codes.filter((c) => c.status === 'accepted' && c.slave_user_id === member.id)).toHaveLength(2);
  });

  it('without a configured gap, a later renewal hands nothing over', async () => {
    const { owner, member, end } = await firstTerm();
    await subscribe(owner.email, parent.id, { start_time: new Date(end.getTime() + DAY).toISOString() });
    expect(await memberSubs(member.token)).toHaveLength(1);
  });

  it('a paid renewal payment (extending the same type) hands children over; keep_requests_unactivated leaves its codes unused', async () => {
    const renewed = await firstTerm();
    const body = await pay({ email: renewed.owner.email, subscription_type_id: parent.id });
    expect(body.subscription.start_time).toBe(renewed.sub.end_time);
    expect(await memberSubs(renewed.member.token)).toHaveLength(2);

    const kept = await firstTerm();
    await pay({ email: kept.owner.email, subscription_type_id: parent.id, meta: { keep_requests_unactivated: '1' } });
    expect(await memberSubs(kept.member.token)).toHaveLength(1);
    expect((await codesOf(kept.owner.token)).filter((c) => c.status === 'created')).toHaveLength(5);
  });

  it('a late acceptance of an old code also activates on the renewal', async () => {
    const { owner, end } = await firstTerm();
    const renewal = await subscribe(owner.email, parent.id, { start_time: end.toISOString() });
    const old = (await codesOf(owner.token)).filter((c) => c.status === 'created');
    const late = await crm.user();
    // Codes of the first term are the oldest rows: pick one of those.
    const oldCode = old[old.length - 1]!.code;
    expect((await activate(late.token, oldCode)).status).toBe(201);
    const subs = await memberSubs(late.token);
    expect(subs).toHaveLength(2);
    expect(subs[0]).toMatchObject({ start_at: renewal.start_time, end_at: renewal.end_time });
  });
});

describe('renewal with a configured gap', () => {
  it('a renewal within the gap hands children over', async () => {
    const gapped = await startCrm({ HOSTPLANE_FAMILY_RENEWAL_GAP_SECONDS: String(7 * 86_400) });
    try {
      const token = await gapped.apiToken('/api/v1/subscriptions/create');
      const parent = await gapped.subscriptionType('gap_parent', { length: 30 });
      const child = await gapped.subscriptionType('gap_child', { length: 30 });
      await gapped.familyType({ parent: parent.code, child: child.code, method: 'copy', count: 2 });
      const owner = await gapped.user();
      const member = await gapped.user();
      const start = new Date(Date.now() - 10 * DAY);
      const end = new Date(start.getTime() + 30 * DAY);
      const create = (s: Date, e?: Date) => gapped.call('POST', '/api/v1/subscriptions/create', { token, body: { email: owner.email, subscription_type_id: parent.id, is_paid: true, start_time: s.toISOString(), ...(e ? { end_time: e.toISOString() } : {}) } });
      expect((await create(start, end)).status).toBe(200);
      const [code] = (await gapped.call('GET', '/api/v1/family/list', { token: owner.token })).body.codes;
      expect((await gapped.call('POST', '/api/v1/family/activate', { token: member.token, body: { code: code.code } })).status).toBe(201);
      expect((await create(new Date(end.getTime() + 3 * DAY))).status).toBe(200);
      const subs = (await gapped.call('GET', '/api/v1/users/subscriptions', { token: member.token })).body.subscriptions;
      expect(subs).toHaveLength(2);
    } finally {
      await gapped.close();
    }
  });
});
