import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCrm, type Crm } from './crm-harness.js';

let crm: Crm;
let api: string;
let parent: { id: number; code: string };

// Signing up a thousand users through scrypt would dominate the test; they go straight into the tables.
async function bulkUsers(n: number): Promise<string[]> {
  const db = crm.t.app.dbHandle.db;
  const tag = randomBytes(4).toString('hex');
  const users = await db
    .insertInto('users')
    .values(Array.from({ length: n }, (_, i) => ({ role: 'end_user' as const, reseller_id: null, client_id: null, login: `race-${tag}-${i}@example.com`, email: `race-${tag}-${i}@example.com`, name: null, password_hash: null })))
    .returning('id')
    .execute();
  const tokens = users.map(() => randomBytes(24).toString('base64url'));
  await db
    .insertInto('user_access_tokens')
    .values(users.map((u, i) => ({ user_id: u.id, token_digest: createHash('sha256').update(tokens[i]!).digest('hex') })))
    .execute();
  return tokens;
}

beforeAll(async () => {
  crm = await startCrm();
  api = await crm.apiToken('/api/v1/subscriptions/create');
  parent = await crm.subscriptionType('race_parent', { length: 30 });
  const child = await crm.subscriptionType('race_child', { length: 30 });
  await crm.familyType({ parent: parent.code, child: child.code, method: 'copy', count: 20 });
});
afterAll(() => crm.close());

async function parentCodes() {
  const owner = await crm.user();
  expect((await crm.call('POST', '/api/v1/subscriptions/create', { token: api, body: { email: owner.email, subscription_type_id: parent.id, is_paid: true } })).status).toBe(200);
  return { owner, codes: (await crm.call('GET', '/api/v1/family/list', { token: owner.token })).body.codes.map((c: { code: string }) => c.code) as string[] };
}

describe('activation races', () => {
  it('1,000 concurrent activations of one code: exactly one success, the rest 409', { timeout: 240_000 }, async () => {
    const { owner, codes } = await parentCodes();
    const tokens = await bulkUsers(1000);
    const results = await Promise.all(tokens.map((token) => crm.call('POST', '/api/v1/family/activate', { token, body: { code: codes[0] } })));
    // Counted by answer (status and reason), so a failure shows what came instead of a 409.
    const tally: Record<string, number> = {};
    for (const r of results) {
      const key = r.status === 201 ? '201' : `${r.status} ${r.body?.code ?? r.body?.message ?? ''}`;
      tally[key] = (tally[key] ?? 0) + 1;
    }
    expect(tally).toEqual({ '201': 1, '409 family_request_wrong_status': 999 });
    const list = (await crm.call('GET', '/api/v1/family/list', { token: owner.token })).body.codes;
    expect(list.filter((c: { status: string }) => c.status === 'accepted')).toHaveLength(1);
    const children = await crm.t.app.dbHandle.db.selectFrom('subscriptions').select('id').where('subscription_type_id', '<>', parent.id).where('type', '=', 'family').execute();
    expect(children).toHaveLength(1);
  });

  it('one user racing all codes of one parent subscription gets at most one', { timeout: 120_000 }, async () => {
    const { owner, codes } = await parentCodes();
    const [token] = await bulkUsers(1);
    const results = await Promise.all(codes.map((code) => crm.call('POST', '/api/v1/family/activate', { token: token!, body: { code } })));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    for (const r of results.filter((x) => x.status !== 201)) expect(r).toMatchObject({ status: 400, body: { code: 'family_request_one_per_user' } });
    const list = (await crm.call('GET', '/api/v1/family/list', { token: owner.token })).body.codes;
    expect(list.filter((c: { status: string }) => c.status === 'accepted')).toHaveLength(1);
  });

  it('handling one new subscription many times at once still makes exactly the count', { timeout: 120_000 }, async () => {
    const { owner, codes } = await parentCodes();
    expect(codes).toHaveLength(20);
    const subId = (await crm.call('GET', '/api/v1/users/subscriptions', { token: owner.token })).body.subscriptions[0].id;
    const again = await Promise.all(Array.from({ length: 10 }, () => crm.admin('POST', `/admin/v1/subscriptions/${subId}/family-requests`)));
    expect(again.every((r) => r.status === 200 && r.body.created === 0)).toBe(true);
    expect((await crm.call('GET', '/api/v1/family/list', { token: owner.token })).body.codes).toHaveLength(20);
  });
});
