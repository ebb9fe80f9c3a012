import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as jobs from '../../src/jobs/job.repository.js';
import { startApiscpServer, type ApiscpServer } from '../apiscp/apiscp-harness.js';
import { createReseller, seedDemoCatalog, type ResellerFixture } from '../support/test-app.js';
import { call, type Body } from './console-session.js';

// GET /admin/v1/overview reads per-status totals kept by triggers (migration 0021) and counts the few
// queued, running and failed jobs through partial indexes. Whatever door creates, suspends, cancels,
// restores or deletes, and whatever the queue does, the answer must equal a recount of the tables.

let s: ApiscpServer;
let a: ResellerFixture;
let n = 0;
const domain = (tag: string) => `${tag}-${n++}-${Math.random().toString(36).slice(2, 6)}.example`;

beforeAll(async () => {
  s = await startApiscpServer();
  await seedDemoCatalog(s.t);
  a = await createReseller(s.t);
});
afterAll(() => s?.close());

const inject = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, authorization: string, payload?: unknown) => {
  const res = await s.t.app.server.inject({ method, url, headers: { authorization }, ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}) });
  return { status: res.statusCode, body: res.json() as Body };
};
const operator = () => `Bearer ${s.t.operatorKey}`;

/** The overview as the tables say it, by grouping every row. */
async function recount(): Promise<Body> {
  const db = s.t.app.deps.db;
  const grouped = async (table: 'resellers' | 'clients' | 'domains' | 'jobs', column: 'status' | 'state', keys: string[], where = sql`true`) => {
    const { rows } = await sql<{ key: string; n: number }>`select ${sql.ref(column)} as key, count(*)::int as n from ${sql.table(table)} where ${where} group by 1`.execute(db);
    return Object.fromEntries(keys.map((k) => [k, rows.find((r) => r.key === k)?.n ?? 0]));
  };
  return {
    resellers: await grouped('resellers', 'status', ['pending', 'active', 'suspended']),
    clients: await grouped('clients', 'status', ['active', 'suspended', 'cancelled', 'deleted']),
    domains: await grouped('domains', 'status', ['initializing', 'ready', 'unknown'], sql`released_at is null`),
    jobs: await grouped('jobs', 'state', ['queued', 'running', 'succeeded', 'failed']),
  };
}

async function expectInStep(): Promise<Body> {
  const r = await call(s.t, 'GET', '/admin/v1/overview', 'key');
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  expect(r.body).toEqual(await recount());
  return r.body;
}

async function restClient(domains: number): Promise<{ id: number; names: string[] }> {
  const made = await inject('POST', '/v1/clients', a.auth, { package_uid: 'spamstopshere-standard', user_count: 1, name: 'Count Test', domains: Array.from({ length: domains }, () => ({ name: domain('rest') })) });
  expect(made.status, JSON.stringify(made.body)).toBe(201);
  return { id: made.body.id as number, names: (made.body.domains as Body[]).map((d) => d.name as string) };
}

describe('the overview counts', () => {
  it('equal a recount through REST create, domain status, cancel and restore', async () => {
    const before = await expectInStep();
    const one = await restClient(2);
    const two = await restClient(1);
    const after = await expectInStep();
    expect(after.clients.active - before.clients.active).toBe(2);
    const ready = await inject('PUT', `/admin/v1/domains/${one.names[0]}/status`, operator(), { status: 'ready' });
    expect(ready.status, JSON.stringify(ready.body)).toBe(200);
    const unknown = await inject('PUT', `/admin/v1/domains/${one.names[1]}/status`, operator(), { status: 'unknown' });
    expect(unknown.status, JSON.stringify(unknown.body)).toBe(200);
    const moved = await expectInStep();
    expect(moved.domains.ready - after.domains.ready).toBe(1);
    expect(moved.domains.unknown - after.domains.unknown).toBe(1);
    expect((await inject('DELETE', `/v1/clients/${one.id}`, a.auth)).status).toBe(200);
    const cancelled = await expectInStep();
    expect(cancelled.clients.cancelled - moved.clients.cancelled).toBe(1);
    // A cancel releases the domains: they leave the domain counts.
    expect(cancelled.domains.ready - moved.domains.ready).toBe(-1);
    const restored = await inject('POST', `/admin/v1/clients/${one.id}/restore`, operator());
    expect(restored.status, JSON.stringify(restored.body)).toBe(200);
    await expectInStep();
    expect((await inject('DELETE', `/v1/clients/${two.id}`, a.auth)).status).toBe(200);
    await expectInStep();
  });

  it("equal a recount through ApisCP's add-site, suspend, activate and delete", async () => {
    const site = domain('apiscp');
    expect((await s.fn('admin:add-site', [site, 'countadmin'])).status).toBe(200);
    await expectInStep();
    expect((await s.fn('admin:deactivate-site', [site, 'unpaid'])).status).toBe(200);
    const suspended = await expectInStep();
    expect(suspended.clients.suspended).toBeGreaterThanOrEqual(1);
    expect((await s.fn('admin:activate-site', [site])).status).toBe(200);
    await expectInStep();
    const mine = domain('apiscp-reseller');
    expect((await s.fn('admin:add-site', [mine, 'radmin'], {}, `Bearer ${a.api_token}:${a.api_key}`)).status).toBe(200);
    expect((await s.fn('admin:deactivate-site', [mine, 'unpaid'])).status).toBe(200);
    const deleted = await s.fn('admin:delete-site', [mine]);
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(200);
    const gone = await expectInStep();
    expect(gone.clients.deleted - suspended.clients.deleted).toBe(1);
    expect((await s.fn('admin:delete-site', [site])).status).toBe(200);
    await expectInStep();
  });

  it('equal a recount for resellers pending, approved and suspended', async () => {
    const tag = Math.random().toString(36).slice(2, 8);
    const pending = await sql<{ id: number }>`insert into resellers (name, username, email_address, status, updated_at) values (${`Signup ${tag}`}, ${`signup-${tag}`}, ${`s-${tag}@example.com`}, 'pending', now()) returning id`.execute(s.t.app.deps.db);
    const before = await expectInStep();
    expect(before.resellers.pending).toBeGreaterThanOrEqual(1);
    const id = pending.rows[0]!.id;
    expect((await inject('POST', `/admin/v1/resellers/${id}/approve`, operator(), {})).status).toBe(200);
    await expectInStep();
    expect((await inject('POST', `/admin/v1/resellers/${id}/suspend`, operator(), {})).status).toBe(200);
    const after = await expectInStep();
    expect(after.resellers.suspended - before.resellers.suspended).toBe(1);
  });

  it('equal a recount with jobs in every state, through claims, batch completion, failure, retry and the prune', async () => {
    const db = s.t.app.deps.db;
    // Jobs of a kind no worker handles, on a lane of their own, so only this test moves them.
    const lane = `counts-${Math.random().toString(36).slice(2, 8)}`;
    const inserted = await sql<{ id: number }>`insert into jobs (kind, payload, state, lane, run_at, updated_at, finished_at)
      select 'test.count', '{}', st, ${lane}, now() - interval '1 minute', now(), case when st in ('succeeded', 'failed') then now() - interval '30 days' end
      from unnest(array['queued', 'queued', 'queued', 'queued', 'running', 'succeeded', 'succeeded', 'failed']) st returning id`.execute(db);
    expect(inserted.rows).toHaveLength(8);
    const start = await expectInStep();
    expect(start.jobs.succeeded).toBeGreaterThanOrEqual(2);
    const now = new Date();
    const claimed = await jobs.claimJobs(db, 'count-worker', lane, 3, now, new Date(now.getTime() + 60_000));
    expect(claimed).toHaveLength(3);
    await expectInStep();
    // One statement finishes several jobs.
    await jobs.markSucceeded(db, claimed.slice(0, 2).map((j) => j.id), 'count-worker', now);
    const finished = await expectInStep();
    expect(finished.jobs.succeeded - start.jobs.succeeded).toBe(2);
    const failed = await jobs.markAttemptFailed(db, [claimed[2]!.id], 'count-worker', 'test', now, () => now);
    await expectInStep();
    for (const id of failed) await jobs.requeueFailedJob(db, id, now);
    const anyFailed = await sql<{ id: number }>`select id from jobs where lane = ${lane} and state = 'failed' limit 1`.execute(db);
    await jobs.requeueFailedJob(db, anyFailed.rows[0]!.id, now);
    await expectInStep();
    // A succeeded job put back in the queue by hand leaves the succeeded count.
    await sql`update jobs set state = 'queued', finished_at = null where id = ${claimed[0]!.id}`.execute(db);
    await expectInStep();
    await jobs.deleteFinishedJobs(db, new Date(now.getTime() - 86_400_000));
    const pruned = await expectInStep();
    expect(pruned.jobs.succeeded).toBeLessThan(finished.jobs.succeeded);
    await sql`delete from jobs where lane = ${lane}`.execute(db);
    await expectInStep();
  });
});
