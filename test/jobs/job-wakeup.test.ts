import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RelayDriver, RelayOp } from '../../src/relay/relay-driver.js';
import { createReseller, createTestApp, seedDemoCatalog, type ResellerFixture, type TestApp } from '../support/test-app.js';

// The worker polls only once a minute here, so a domain that turns ready within the wait below was
// picked up because the insert woke the worker (NOTIFY on the jobs table), not by the poll.
const applied: RelayOp[] = [];
const relay: RelayDriver = {
  name: 'recorder',
  async apply(ops) {
    applied.push(...ops);
  },
  provisionDomain: (d) => relay.apply([{ op: 'provision', domain: d }]),
  updateDomain: (d) => relay.apply([{ op: 'update', domain: d }]),
  deprovisionDomain: (name) => relay.apply([{ op: 'deprovision', name }]),
};

let t: TestApp;
let alice: ResellerFixture;

beforeAll(async () => {
  t = await createTestApp({}, { relayDriver: relay, jobRunner: { pollMs: 60_000 } });
  await seedDemoCatalog(t);
  alice = await createReseller(t);
  t.app.jobs.start();
});
afterAll(async () => {
  await t.close();
});

async function waitForStatus(name: string, want: string, limitMs: number): Promise<string> {
  const until = Date.now() + limitMs;
  let status = '';
  while (Date.now() < until) {
    status = (await t.app.server.inject({ method: 'GET', url: `/v1/domains/${name}/status`, headers: { authorization: alice.auth } })).json().status as string;
    if (status === want) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return status;
}

describe('idle workers wake up on new jobs', () => {
  it('runs a job inserted while the worker sleeps, long before its next poll, and again for the next one', async () => {
    // Let the runner finish its first pass and go idle.
    await new Promise((r) => setTimeout(r, 300));
    for (const name of [`wake-${Date.now().toString(36)}-a.test`, `wake-${Date.now().toString(36)}-b.test`]) {
      const res = await t.app.server.inject({ method: 'POST', url: '/v1/clients', headers: { authorization: alice.auth }, payload: { package_uid: 'spamstopshere-standard', user_count: 1, domains: [{ name }] } });
      expect(res.statusCode, res.body).toBe(201);
      expect(await waitForStatus(name, 'ready', 20_000)).toBe('ready');
      expect(applied.some((op) => op.op === 'provision' && op.domain.name === name)).toBe(true);
    }
  });
});
