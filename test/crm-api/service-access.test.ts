import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCrm, type Crm } from './crm-harness.js';

const DAY = 86_400_000;

let crm: Crm;
let api: string;
let planId: number;
let parent: { id: number; code: string };
let child: { id: number; code: string };

beforeAll(async () => {
  crm = await startCrm();
  api = await crm.apiToken('/api/v1/subscriptions/create');
  const pkg = await crm.admin('POST', '/admin/v1/packages', { uid: 'crm-hosting', name: 'CRM hosting' });
  expect(pkg.status, JSON.stringify(pkg.body)).toBe(201);
  planId = (await crm.t.app.dbHandle.db.selectFrom('plans').select('id').where('uid', '=', 'crm-hosting').executeTakeFirstOrThrow()).id;
  parent = await crm.subscriptionType('hosted_company', { length: 30, package_uid: 'crm-hosting' });
  child = await crm.subscriptionType('hosted_member', { length: 30, package_uid: 'crm-hosting' });
  await crm.familyType({ parent: parent.code, child: child.code, method: 'copy', count: 2 });
});
afterAll(() => crm.close());

/** The clients the grant made for a user, as the operator's admin API shows them. */
async function grantedClients(userId: number) {
  const links = await crm.t.app.dbHandle.db.selectFrom('subscription_clients').select(['client_id', 'plan_id']).where('user_id', '=', userId).orderBy('client_id').execute();
  return Promise.all(
    links.map(async (l) => {
      const res = await crm.admin('GET', `/admin/v1/clients/${l.client_id}`);
      expect(res.status).toBe(200);
      const row = await crm.t.app.dbHandle.db.selectFrom('clients').select(['owner_user_id', 'suspend_reason']).where('id', '=', l.client_id).executeTakeFirstOrThrow();
      return { id: l.client_id, plan_id: l.plan_id, status: res.body.status as string, package_uid: res.body.package_uid as string, ...row };
    }),
  );
}

const subscribe = async (email: string, typeId: number, extra: Record<string, unknown> = {}) => {
  const res = await crm.call('POST', '/api/v1/subscriptions/create', { token: api, body: { email, subscription_type_id: typeId, is_paid: true, ...extra } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.subscriptions;
};

async function sweepAt(at: Date) {
  await crm.t.app.jobs.schedulePeriodic();
  crm.t.setNow(at);
  await crm.t.app.jobs.drain();
}

describe('a subscription type on a package grants a Hostplane client', () => {
  it('the subscriber and each activated child get their own client on the package, audited', async () => {
    const owner = await crm.user();
    await subscribe(owner.email, parent.id);
    const mine = await grantedClients(owner.id);
    expect(mine).toEqual([expect.objectContaining({ status: 'active', package_uid: 'crm-hosting', plan_id: planId, owner_user_id: owner.id })]);
    // A second subscription on the same package reuses the client.
    await subscribe(owner.email, parent.id);
    expect(await grantedClients(owner.id)).toHaveLength(1);

    const [code] = (await crm.call('GET', '/api/v1/family/list', { token: owner.token })).body.codes;
    const member = await crm.user();
    expect((await crm.call('POST', '/api/v1/family/activate', { token: member.token, body: { code: code.code } })).status).toBe(201);
    const theirs = await grantedClients(member.id);
    expect(theirs).toEqual([expect.objectContaining({ status: 'active', owner_user_id: member.id })]);
    const audit = await crm.admin('GET', `/admin/v1/audit?action=client.created&target_id=${theirs[0]!.id}`);
    expect(audit.status).toBe(200);

    // The parent takes the code back: the child's access ends now, and so does its client.
    expect((await crm.call('POST', '/api/v1/family/deactivate', { token: owner.token, body: { code: code.code } })).status).toBe(200);
    expect(await grantedClients(member.id)).toEqual([expect.objectContaining({ status: 'suspended', suspend_reason: 'subscription ended' })]);
    expect((await grantedClients(owner.id))[0]!.status).toBe('active');
  });

  it('many subscriptions of one user starting at once make one client', async () => {
    const u = await crm.user();
    await Promise.all(Array.from({ length: 10 }, () => subscribe(u.email, parent.id)));
    expect(await grantedClients(u.id)).toHaveLength(1);
  });

  it('a type without a package grants nothing', async () => {
    const plain = await crm.subscriptionType('no_package');
    const u = await crm.user();
    await subscribe(u.email, plain.id);
    expect(await grantedClients(u.id)).toEqual([]);
  });

  it('the periodic sweep suspends when the subscriptions end, grants when a future one starts, and reactivates', async () => {
    const u = await crm.user();
    const now = Date.now();
    const sub = await subscribe(u.email, parent.id, { start_time: new Date(now).toISOString(), end_time: new Date(now + 10 * DAY).toISOString() });
    expect((await grantedClients(u.id))[0]!.status).toBe('active');
    // A renewal that starts later: nothing to grant yet, the current client covers it.
    await subscribe(u.email, parent.id, { start_time: new Date(now + 20 * DAY).toISOString(), end_time: new Date(now + 40 * DAY).toISOString() });

    await sweepAt(new Date(new Date(sub.end_time).getTime() + 60_000));
    const [client] = await grantedClients(u.id);
    expect(client).toMatchObject({ status: 'suspended', suspend_reason: 'subscription ended' });

    await sweepAt(new Date(now + 21 * DAY));
    expect(await grantedClients(u.id)).toEqual([expect.objectContaining({ id: client!.id, status: 'active' })]);

    await sweepAt(new Date(now + 41 * DAY));
    expect((await grantedClients(u.id))[0]!.status).toBe('suspended');
    crm.t.setNow(new Date());
  });

  it('a client an operator suspended for another reason stays suspended, and a cancelled one is not replaced', async () => {
    const u = await crm.user();
    await subscribe(u.email, parent.id);
    const [client] = await grantedClients(u.id);
    const db = crm.t.app.dbHandle.db;
    await db.updateTable('clients').set({ status: 'suspended', suspend_reason: 'abuse', suspended_at: new Date() }).where('id', '=', client!.id).execute();
    await sweepAt(new Date(Date.now() + 6 * 60_000));
    expect((await grantedClients(u.id))[0]).toMatchObject({ status: 'suspended', suspend_reason: 'abuse' });
    await db.updateTable('clients').set({ status: 'cancelled', cancelled_at: new Date() }).where('id', '=', client!.id).execute();
    await subscribe(u.email, parent.id);
    await sweepAt(new Date(Date.now() + 12 * 60_000));
    expect(await grantedClients(u.id)).toHaveLength(1);
    crm.t.setNow(new Date());
  });

  it('an unknown package is a validation error on the type', async () => {
    const res = await crm.admin('POST', '/admin/v1/subscription-types', { code: 'ghost_pkg', name: 'x', length: 3, package_uid: 'no-such-package' });
    expect(res.status).toBe(422);
  });
});
