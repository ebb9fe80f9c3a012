import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RelayDriver, RelayOp } from '../../src/relay/relay-driver.js';
import { auditMark, auditSince, testOperatorKeyId } from '../support/audit.js';
import { createReseller, createTestApp, seedDemoCatalog, type ResellerFixture, type TestApp } from '../support/test-app.js';

// Jobs change records too (a domain becomes ready, or unknown): they are recorded with the system as
// the actor, without request id or address, one event per domain that changed.
let relayDown = false;
const relay: RelayDriver = {
  name: 'audit-test-relay',
  async apply(_ops: RelayOp[]) {
    if (relayDown) throw new Error('relay unreachable');
  },
  provisionDomain: () => relay.apply([]),
  updateDomain: () => relay.apply([]),
  deprovisionDomain: () => relay.apply([]),
};

let t: TestApp;
let alice: ResellerFixture;

beforeAll(async () => {
  t = await createTestApp({}, { relayDriver: relay, jobRunner: { backoffBaseMs: 60_000, backoffMaxMs: 60_000 } });
  await seedDemoCatalog(t);
  alice = await createReseller(t);
});
afterAll(() => t.close());

let n = 0;
const domain = () => `audit-job-${Date.now().toString(36)}-${n++}.test`;
const admin = () => ({ authorization: `Bearer ${t.operatorKey}` });

async function createClient(names: string[]): Promise<number> {
  const res = await t.app.server.inject({ method: 'POST', url: '/v1/clients', headers: { authorization: alice.auth }, payload: { package_uid: 'spamstopshere-professional', user_count: 1, domains: names.map((name) => ({ name })) } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}

const systemStatus = (name: string, before: string, after: string) => ({
  actor_kind: 'system',
  actor_id: null,
  reseller_id: alice.id,
  action: 'domain.status_set',
  target_type: 'domain',
  target_id: name,
  changes: { status: { before, after } },
  request_id: null,
  source_ip: null,
});

describe('audit events written by jobs', () => {
  it('a relay job that makes domains ready records each one, by the system', async () => {
    const names = [domain(), domain(), domain()];
    await createClient(names);
    const mark = await auditMark(t);
    expect(await t.app.jobs.drain()).toBeGreaterThan(0);
    const events = await auditSince(t, mark);
    expect(events.map((e) => e.target_id).sort()).toEqual([...names].sort());
    for (const e of events) expect(e).toMatchObject(systemStatus(e.target_id, 'initializing', 'ready'));
    // Running the same (idempotent) work again changes nothing and records nothing.
    const again = await auditMark(t);
    await t.app.jobs.drain();
    expect(await auditSince(t, again)).toEqual([]);
  });

  it('a failing job records nothing until it gives up; then unknown, an operator retry, and ready', async () => {
    const name = domain();
    let clock = Date.now();
    t.setNow(new Date(clock));
    await createClient([name]);
    relayDown = true;
    const mark = await auditMark(t);
    await t.app.jobs.drain();
    expect(await auditSince(t, mark)).toEqual([]);

    const jobs = (await t.app.server.inject({ method: 'GET', url: '/admin/v1/jobs?kind=relay.apply', headers: admin() })).json().jobs as { id: number; state: string; payload: { domain: string } }[];
    const job = jobs.find((j) => j.payload.domain === name)!;
    // Walk the clock past each backoff until the attempts are used up.
    for (let i = 0; i < 40; i++) {
      const current = (await t.app.server.inject({ method: 'GET', url: `/admin/v1/jobs/${job.id}`, headers: admin() })).json();
      if (current.state === 'failed') break;
      clock += 61_000;
      t.setNow(new Date(clock));
      await t.app.jobs.drain();
    }
    const gaveUp = await auditSince(t, mark);
    expect(gaveUp).toHaveLength(1);
    expect(gaveUp[0]).toMatchObject(systemStatus(name, 'initializing', 'unknown'));

    relayDown = false;
    const retryMark = await auditMark(t);
    const retried = await t.app.server.inject({ method: 'POST', url: `/admin/v1/jobs/${job.id}/retry`, headers: { ...admin(), 'x-request-id': 'retry-req' }, remoteAddress: '192.0.2.99' });
    expect(retried.statusCode, retried.body).toBe(200);
    const [retry] = await auditSince(t, retryMark);
    expect(retry).toMatchObject({
      actor_kind: 'operator',
      actor_id: await testOperatorKeyId(t),
      reseller_id: alice.id,
      action: 'job.retried',
      target_type: 'job',
      target_id: String(job.id),
      changes: { state: { before: 'failed', after: 'queued' } },
      request_id: 'retry-req',
      source_ip: '192.0.2.99',
    });
    // A job that is not failed cannot be retried: 409 and nothing recorded.
    const noop = await auditMark(t);
    expect((await t.app.server.inject({ method: 'POST', url: `/admin/v1/jobs/${job.id}/retry`, headers: admin() })).statusCode).toBe(409);
    expect(await auditSince(t, noop)).toEqual([]);

    await t.app.jobs.drain();
    const ready = await auditSince(t, noop);
    expect(ready).toHaveLength(1);
    expect(ready[0]).toMatchObject(systemStatus(name, 'unknown', 'ready'));
    t.setNow(new Date());
  });
});
