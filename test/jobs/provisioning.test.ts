import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRelayDriver } from '../../src/relay/create-relay-driver.js';
import type { RelayDriver, RelayOp } from '../../src/relay/relay-driver.js';
import { createReseller, createTestApp, seedDemoCatalog, type ResellerFixture, type TestApp } from '../support/test-app.js';

// The real postfix-maps driver writes into a temp dir; a thin recorder around it counts what reaches
// the relay, and can be told to fail, like a relay that is down.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostplane-relay-'));
const postfix = createRelayDriver({ driver: 'postfix-maps', dataDir: dir });
const applied: RelayOp[][] = [];
let relayDown = false;
const recorder: RelayDriver = {
  name: 'recorder',
  async apply(ops) {
    if (relayDown) throw new Error('relay unreachable');
    applied.push(ops);
    await postfix.apply(ops);
  },
  provisionDomain: (d) => recorder.apply([{ op: 'provision', domain: d }]),
  updateDomain: (d) => recorder.apply([{ op: 'update', domain: d }]),
  deprovisionDomain: (name) => recorder.apply([{ op: 'deprovision', name }]),
};

let t: TestApp;
let alice: ResellerFixture;
const admin = () => ({ authorization: `Bearer ${t.operatorKey}` });

beforeAll(async () => {
  t = await createTestApp({}, { relayDriver: recorder, jobRunner: { backoffBaseMs: 1000, backoffMaxMs: 60_000, leaseMs: 30_000 } });
  await seedDemoCatalog(t);
  alice = await createReseller(t);
});
afterAll(async () => {
  await t.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const transport = () => fs.readFileSync(path.join(dir, 'relay', 'transport'), 'utf8');
const relayDomains = () => fs.readFileSync(path.join(dir, 'relay', 'relay_domains'), 'utf8');
const status = async (name: string) => (await t.app.server.inject({ method: 'GET', url: `/v1/domains/${name}/status`, headers: { authorization: alice.auth } })).json().status as string;

let n = 0;
const domain = () => `prov-${Date.now().toString(36)}-${n++}.test`;

async function createClient(domains: { name: string; mail_servers?: string[] }[], pkg = 'spamstopshere-professional') {
  const res = await t.app.server.inject({ method: 'POST', url: '/v1/clients', headers: { authorization: alice.auth }, payload: { package_uid: pkg, user_count: 1, domains } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: number };
}

describe('domain provisioning through jobs', () => {
  it('a new client’s domains are initializing until the job runs, then ready and in the maps', async () => {
    const a = domain();
    const b = domain();
    await createClient([{ name: a, mail_servers: ['mx1.example.net', 'mx2.example.net'] }, { name: b }]);
    expect(await status(a)).toBe('initializing');
    expect(await t.app.jobs.drain()).toBeGreaterThan(0);
    expect(await status(a)).toBe('ready');
    expect(await status(b)).toBe('ready');
    expect(relayDomains()).toContain(a);
    expect(relayDomains()).toContain(b);
    expect(transport()).toMatch(new RegExp(`^${a.replaceAll('.', '\\.')}\\s+smtp:\\[mx1\\.example\\.net\\]`, 'm'));
  });

  it('many clients at once reach the relay in one batch, not one write per domain', async () => {
    const names = Array.from({ length: 40 }, () => domain());
    for (const name of names) await createClient([{ name }]);
    applied.length = 0;
    await t.app.jobs.drain();
    expect(applied).toHaveLength(1);
    expect(applied[0]!.map((op) => (op.op === 'deprovision' ? op.name : op.domain.name)).sort()).toEqual([...names].sort());
    for (const name of names) expect(await status(name)).toBe('ready');
  });

  it('mail server changes, removed domains and cancelled clients go through the same path', async () => {
    const keep = domain();
    const drop = domain();
    const client = await createClient([{ name: keep, mail_servers: ['old.example.net'] }, { name: drop }]);
    await t.app.jobs.drain();

    const put = await t.app.server.inject({ method: 'PUT', url: `/v1/domains/${keep}`, headers: { authorization: alice.auth }, payload: { mail_servers: ['new.example.net'] } });
    expect(put.statusCode).toBe(200);
    const replace = await t.app.server.inject({ method: 'PUT', url: `/v1/clients/${client.id}`, headers: { authorization: alice.auth }, payload: { domains: [{ name: keep }] } });
    expect(replace.statusCode).toBe(200);
    await t.app.jobs.drain();
    expect(transport()).toContain('new.example.net');
    expect(transport()).not.toContain('old.example.net');
    expect(relayDomains()).not.toContain(drop);

    expect((await t.app.server.inject({ method: 'DELETE', url: `/v1/clients/${client.id}`, headers: { authorization: alice.auth } })).statusCode).toBe(200);
    await t.app.jobs.drain();
    expect(relayDomains()).not.toContain(keep);

    // An operator's restore provisions the domains again.
    expect((await t.app.server.inject({ method: 'POST', url: `/admin/v1/clients/${client.id}/restore`, headers: admin() })).statusCode).toBe(200);
    expect(await status(keep)).toBe('initializing');
    await t.app.jobs.drain();
    expect(await status(keep)).toBe('ready');
    expect(relayDomains()).toContain(keep);
  });

  it('a relay that is down: retried with backoff, `unknown` when attempts run out, retried by an operator', async () => {
    const name = domain();
    const start = Date.now();
    t.setNow(new Date(start));
    await createClient([{ name }]);
    relayDown = true;
    await t.app.jobs.drain();
    expect(await status(name)).toBe('initializing');

    const jobs = (await t.app.server.inject({ method: 'GET', url: '/admin/v1/jobs?kind=relay.apply&state=queued', headers: admin() })).json().jobs as { id: number; attempts: number; last_error: string; run_at: string; payload: { domain: string } }[];
    const job = jobs.find((j) => j.payload.domain === name)!;
    expect(job.attempts).toBe(1);
    expect(job.last_error).toContain('relay unreachable');
    expect(new Date(job.run_at).getTime()).toBeGreaterThan(start);

    // Walk the clock past every backoff until the attempts are used up.
    let clock = start;
    for (let i = 0; i < 40; i++) {
      clock += 61_000;
      t.setNow(new Date(clock));
      await t.app.jobs.drain();
      const current = (await t.app.server.inject({ method: 'GET', url: `/admin/v1/jobs/${job.id}`, headers: admin() })).json();
      if (current.state === 'failed') break;
    }
    const failed = (await t.app.server.inject({ method: 'GET', url: `/admin/v1/jobs/${job.id}`, headers: admin() })).json();
    expect(failed.state).toBe('failed');
    expect(failed.attempts).toBe(failed.max_attempts);
    expect(await status(name)).toBe('unknown');

    relayDown = false;
    const retried = await t.app.server.inject({ method: 'POST', url: `/admin/v1/jobs/${job.id}/retry`, headers: admin() });
    expect(retried.statusCode).toBe(200);
    expect(retried.json().state).toBe('queued');
    await t.app.jobs.drain();
    expect(await status(name)).toBe('ready');
    // Only failed jobs can be retried.
    expect((await t.app.server.inject({ method: 'POST', url: `/admin/v1/jobs/${job.id}/retry`, headers: admin() })).statusCode).toBe(409);
    t.setNow(new Date());
  });

  it('each failed attempt waits about twice as long as the one before, up to the cap', async () => {
    const name = domain();
    let clock = Date.now();
    t.setNow(new Date(clock));
    await createClient([{ name }]);
    relayDown = true;
    const job = async () => {
      const jobs = (await t.app.server.inject({ method: 'GET', url: '/admin/v1/jobs?kind=relay.apply', headers: admin() })).json().jobs as { id: number; state: string; attempts: number; run_at: string; payload: { domain: string } }[];
      return jobs.find((j) => j.payload.domain === name)!;
    };
    // Run each retry the moment it falls due (the app's clock, so no real waiting): the gap between
    // a failure and the next run_at is exactly the delay the runner chose for that attempt.
    const gaps: number[] = [];
    for (let attempt = 1; attempt <= 8; attempt++) {
      await t.app.jobs.drain();
      const current = await job();
      expect(current).toMatchObject({ state: 'queued', attempts: attempt });
      const runAt = new Date(current.run_at).getTime();
      gaps.push(runAt - clock);
      clock = runAt;
      t.setNow(new Date(clock));
    }
    relayDown = false;
    await t.app.jobs.drain();
    expect(await status(name)).toBe('ready');
    t.setNow(new Date());

    // This app: 1 s base, doubling, 60 s cap, jitter taking off at most a fifth.
    gaps.forEach((gap, i) => {
      const full = Math.min(60_000, 1_000 * 2 ** i);
      expect(gap, `delay after attempt ${i + 1}`).toBeGreaterThanOrEqual(0.8 * full);
      expect(gap, `delay after attempt ${i + 1}`).toBeLessThanOrEqual(full);
    });
    // Strictly growing until the cap is reached (the 7th delay would be 64 s), then held there.
    for (let i = 1; i <= 6; i++) expect(gaps[i]!, `delay after attempt ${i + 1}`).toBeGreaterThan(gaps[i - 1]!);
  });

  it('a worker that died mid-job: its lease runs out and another worker finishes the job', async () => {
    const name = domain();
    await createClient([{ name }]);
    // Claim like a worker that then vanished (no completion, no heartbeat).
    const { claimJobs, acquireLane } = await import('../../src/jobs/job.repository.js');
    const now = new Date();
    const lease = new Date(now.getTime() + 30_000);
    expect(await acquireLane(t.app.deps.db, 'relay', 'dead-worker', now, lease)).toBe(true);
    const claimed = await claimJobs(t.app.deps.db, 'dead-worker', 'relay', 100, now, lease);
    expect(claimed.length).toBeGreaterThan(0);
    expect(await t.app.jobs.drain()).toBe(0);
    expect(await status(name)).toBe('initializing');

    t.setNow(new Date(now.getTime() + 31_000));
    expect(await t.app.jobs.drain()).toBeGreaterThan(0);
    expect(await status(name)).toBe('ready');
    t.setNow(new Date());
  });
});

describe('jobs admin API', () => {
  it('lists with filters and pages, shows one, and refuses bad filters and other credentials', async () => {
    const list = await t.app.server.inject({ method: 'GET', url: '/admin/v1/jobs?kind=relay.apply&state=succeeded&limit=2', headers: admin() });
    expect(list.statusCode).toBe(200);
    const page = list.json() as { jobs: { id: number; kind: string; state: string }[]; next_before: number | null };
    expect(page.jobs).toHaveLength(2);
    expect(page.jobs.every((j) => j.kind === 'relay.apply' && j.state === 'succeeded')).toBe(true);
    expect(page.next_before).toBe(page.jobs[1]!.id);
    const next = (await t.app.server.inject({ method: 'GET', url: `/admin/v1/jobs?kind=relay.apply&limit=2&before=${page.next_before}`, headers: admin() })).json();
    expect(next.jobs[0].id).toBeLessThan(page.next_before!);

    const one = await t.app.server.inject({ method: 'GET', url: `/admin/v1/jobs/${page.jobs[0]!.id}`, headers: admin() });
    expect(one.json()).toMatchObject({ id: page.jobs[0]!.id, kind: 'relay.apply', lane: 'relay' });

    expect((await t.app.server.inject({ method: 'GET', url: '/admin/v1/jobs?state=exploded', headers: admin() })).statusCode).toBe(422);
    expect((await t.app.server.inject({ method: 'GET', url: '/admin/v1/jobs?limit=0', headers: admin() })).statusCode).toBe(422);
    expect((await t.app.server.inject({ method: 'GET', url: '/admin/v1/jobs/999999999', headers: admin() })).statusCode).toBe(404);
    expect((await t.app.server.inject({ method: 'GET', url: '/admin/v1/jobs' })).statusCode).toBe(401);
    expect((await t.app.server.inject({ method: 'GET', url: '/admin/v1/jobs', headers: { authorization: alice.auth } })).statusCode).toBe(401);
  });

  it('periodic cleanup is scheduled once, however often workers start', async () => {
    await t.app.jobs.schedulePeriodic();
    await t.app.jobs.schedulePeriodic();
    const queued = (await t.app.server.inject({ method: 'GET', url: '/admin/v1/jobs?kind=maintenance.cleanup&state=queued', headers: admin() })).json().jobs as unknown[];
    expect(queued).toHaveLength(1);
    await t.app.jobs.drain();
    const after = (await t.app.server.inject({ method: 'GET', url: '/admin/v1/jobs?kind=maintenance.cleanup', headers: admin() })).json().jobs as { state: string; run_at: string }[];
    expect(after.filter((j) => j.state === 'succeeded')).toHaveLength(1);
    const nextRun = after.find((j) => j.state === 'queued')!;
    expect(new Date(nextRun.run_at).getTime()).toBeGreaterThan(Date.now() + 59 * 60 * 1000);
  });
});

describe('the relay over HTTP', () => {
  it('the http driver posts each change and a 2xx marks it done', async () => {
    const received: unknown[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const driver = createRelayDriver({ driver: 'http', dataDir: dir, httpUrl: `http://127.0.0.1:${port}/relay`, httpTimeoutMs: 2000 });
    const other = await createTestApp({}, { relayDriver: driver });
    try {
      await seedDemoCatalog(other);
      const bob = await createReseller(other);
      const name = domain();
      const res = await other.app.server.inject({ method: 'POST', url: '/v1/clients', headers: { authorization: bob.auth }, payload: { package_uid: 'spamstopshere-standard', user_count: 1, domains: [{ name, mail_servers: ['mx.example.org'] }] } });
      expect(res.statusCode).toBe(201);
      await other.app.jobs.drain();
      expect(received).toContainEqual(expect.objectContaining({ op: 'provision', domain: name, mail_servers: ['mx.example.org'] }));
      const st = await other.app.server.inject({ method: 'GET', url: `/v1/domains/${name}/status`, headers: { authorization: bob.auth } });
      expect(st.json().status).toBe('ready');
    } finally {
      await other.close();
      server.close();
    }
  });
});
