import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditPage, auditSince, type AuditRow } from '../support/audit.js';
import { createReseller, createTestApp, seedDemoCatalog, type ResellerFixture, type TestApp } from '../support/test-app.js';

// Filters and cursor paging of the audit log, and what a bad filter answers.
let t: TestApp;
let alice: ResellerFixture;
let bob: ResellerFixture;
let aliceClient: number;
let bobClient: number;

const admin = () => ({ authorization: `Bearer ${t.operatorKey}` });
const ids = (events: AuditRow[]) => events.map((e) => e.id);

async function createClient(r: ResellerFixture, domain: string): Promise<number> {
  const res = await t.app.server.inject({ method: 'POST', url: '/v1/clients', headers: { authorization: r.auth }, payload: { package_uid: 'spamstopshere-standard', user_count: 1, domains: [{ name: domain }] } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}

async function renameClient(r: ResellerFixture, id: number, name: string): Promise<void> {
  const res = await t.app.server.inject({ method: 'PUT', url: `/v1/clients/${id}`, headers: { authorization: r.auth }, payload: { name } });
  expect(res.statusCode, res.body).toBe(200);
}

beforeAll(async () => {
  t = await createTestApp();
  await seedDemoCatalog(t);
  alice = await createReseller(t);
  bob = await createReseller(t);
  // Three events at known instants, in the future so nothing else falls between them.
  const tag = Date.now().toString(36);
  t.setNow(new Date('2031-03-01T10:00:00Z'));
  aliceClient = await createClient(alice, `query-a-${tag}.test`);
  t.setNow(new Date('2031-03-02T10:00:00Z'));
  await renameClient(alice, aliceClient, 'Second name');
  t.setNow(new Date('2031-03-03T10:00:00Z'));
  bobClient = await createClient(bob, `query-b-${tag}.test`);
  t.setNow(new Date());
});
afterAll(() => t.close());

describe('filters', () => {
  it('since (inclusive) and until (exclusive), as dates or date-times with any offset', async () => {
    const window = await auditPage(t, 'since=2031-03-01&until=2031-03-02T12:00:00Z');
    expect(window.events.map((e) => [e.action, e.target_id, e.occurred_at])).toEqual([
      ['client.updated', String(aliceClient), '2031-03-02T10:00:00.000Z'],
      ['client.created', String(aliceClient), '2031-03-01T10:00:00.000Z'],
    ]);
    // 11:00 at +01:00 is the update's own instant: included by since, excluded by until.
    expect((await auditPage(t, `since=${encodeURIComponent('2031-03-02T11:00:00+01:00')}`)).events.map((e) => e.occurred_at)).toEqual(['2031-03-03T10:00:00.000Z', '2031-03-02T10:00:00.000Z']);
    expect((await auditPage(t, `since=2031-03-01&until=${encodeURIComponent('2031-03-02T11:00:00+01:00')}`)).events.map((e) => e.occurred_at)).toEqual(['2031-03-01T10:00:00.000Z']);
    expect((await auditPage(t, 'since=2031-03-04')).events).toEqual([]);
  });

  it('action, target, actor kind and reseller, alone and combined', async () => {
    const all = (await auditPage(t, 'limit=500')).events;
    const created = (await auditPage(t, 'action=client.created&limit=500')).events;
    expect(ids(created)).toEqual(ids(all.filter((e) => e.action === 'client.created')));
    expect(created.length).toBe(2);

    const history = (await auditPage(t, `target_type=client&target_id=${aliceClient}`)).events;
    expect(history.map((e) => e.action)).toEqual(['client.updated', 'client.created']);

    const system = (await auditPage(t, 'actor_kind=system&limit=500')).events;
    expect(system.length).toBeGreaterThan(0);
    expect(ids(system)).toEqual(ids(all.filter((e) => e.actor_kind === 'system')));
    const operators = (await auditPage(t, 'actor_kind=operator&limit=500')).events;
    expect(ids(operators)).toEqual(ids(all.filter((e) => e.actor_kind === 'operator')));
    expect(operators.length).toBeGreaterThan(system.length);

    const bobs = (await auditPage(t, `reseller_id=${bob.id}&limit=500`)).events;
    expect(ids(bobs)).toEqual(ids(all.filter((e) => e.reseller_id === bob.id)));
    expect(bobs.map((e) => e.action).sort()).toEqual(['client.created', 'reseller.created']);

    const combined = (await auditPage(t, `reseller_id=${alice.id}&actor_kind=reseller&action=client.updated`)).events;
    expect(combined.map((e) => [e.target_id, e.changes.name])).toEqual([[String(aliceClient), { before: null, after: 'Second name' }]]);
    expect((await auditPage(t, `reseller_id=${alice.id}&target_type=client&target_id=${bobClient}`)).events).toEqual([]);
  });

  it('a reseller filters within its own events only', async () => {
    const res = await t.app.server.inject({ method: 'GET', url: '/v1/audit?action=client.created', headers: { authorization: bob.auth } });
    expect(res.statusCode).toBe(200);
    expect(res.json().events.map((e: AuditRow) => e.target_id)).toEqual([String(bobClient)]);
  });
});

describe('cursor paging', () => {
  it('walking with before and a small limit gives every event once, newest first, and ends with next_before null', async () => {
    const everything = (await auditPage(t, 'limit=500')).events;
    expect(everything.length).toBeGreaterThan(5);
    const walked: AuditRow[] = [];
    let before: number | null = null;
    for (let pages = 0; pages < 100; pages++) {
      const page = await auditPage(t, `limit=3${before !== null ? `&before=${before}` : ''}`);
      walked.push(...page.events);
      if (page.next_before === null) break;
      expect(page.events).toHaveLength(3);
      expect(page.next_before).toBe(page.events[2]!.id);
      before = page.next_before;
    }
    expect(ids(walked)).toEqual(ids(everything));
    for (let i = 1; i < walked.length; i++) expect(walked[i]!.id).toBeLessThan(walked[i - 1]!.id);
  });

  it('pages 100 events by default', async () => {
    const before = (await auditPage(t, 'limit=500')).events.length;
    for (let i = before; i < 105; i++) await renameClient(alice, aliceClient, `Name ${i}`);
    const page = await auditPage(t);
    expect(page.events).toHaveLength(100);
    expect(page.next_before).toBe(page.events[99]!.id);
    const rest = await auditPage(t, `before=${page.next_before}`);
    expect(rest.next_before).toBeNull();
    expect(page.events.length + rest.events.length).toBe((await auditSince(t, 0)).length);
  });
});

describe('bad filters → 422', () => {
  const cases: [string, string, string?][] = [
    ['action=client.create', 'action', 'must be one of client.created, client.updated'],
    ['action=CLIENT.CREATED', 'action'],
    ['target_type=clients', 'target_type'],
    ['target_id=', 'target_id'],
    [`target_id=${'x'.repeat(301)}`, 'target_id', 'is too long (maximum is 300 characters)'],
    ['actor_kind=robot', 'actor_kind'],
    ['reseller_id=abc', 'reseller_id', 'must be a positive whole number'],
    ['reseller_id=0', 'reseller_id'],
    ['before=-1', 'before'],
    ['before=1.5', 'before'],
    ['limit=0', 'limit', 'must be a whole number from 1 to 500'],
    ['limit=501', 'limit'],
    ['limit=abc', 'limit'],
    ['limit=99999', 'limit'],
    ['since=yesterday', 'since', 'must be an ISO 8601 date or date-time with offset, such as 2024-05-01 or 2024-05-01T12:00:00Z'],
    ['since=2024-02-30', 'since'],
    ['since=2024-05-01T12:00:00', 'since'],
    ['until=2024-13-01', 'until'],
    ['since=0000-01-01', 'since'],
    ['since=2031-01-02&until=2031-01-01', 'until', 'must be later than since'],
    ['action=client.created&action=client.updated', 'action', 'must be given once'],
    ['colour=red', 'colour', 'is not a known attribute'],
  ];

  it.each(cases)('admin: %s', async (query, field, message) => {
    const res = await t.app.server.inject({ method: 'GET', url: `/admin/v1/audit?${query}`, headers: admin() });
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().error.code).toBe('validation_failed');
    expect(Object.keys(res.json().error.fields)).toEqual([field]);
    if (message) expect(res.json().error.fields[field][0]).toContain(message);
  });

  it.each(cases)('reseller: %s', async (query, field) => {
    const res = await t.app.server.inject({ method: 'GET', url: `/v1/audit?${query}`, headers: { authorization: alice.auth } });
    expect(res.statusCode, res.body).toBe(422);
    expect(Object.keys(res.json().errors)).toEqual([field]);
  });

  it('odd bytes in a filter value never produce a 500', async () => {
    for (const value of ['%00', 'a%00b', '%ED%A0%80', '%FF', encodeURIComponent('😀'.repeat(50))]) {
      const res = await t.app.server.inject({ method: 'GET', url: `/admin/v1/audit?target_id=${value}`, headers: admin() });
      expect(res.statusCode, value).toBeLessThan(500);
    }
  });
});
