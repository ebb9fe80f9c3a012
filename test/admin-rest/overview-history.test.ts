import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiscpServer, type ApiscpServer } from '../apiscp/apiscp-harness.js';
import { fromPhp, requirePhpSoap, runPhpSoap } from '../support/php-soap.js';
import { createReseller, seedDemoCatalog, type ResellerFixture } from '../support/test-app.js';
import { call, expectAdminError, signInOperator, type Body, type ConsoleSession } from './console-session.js';

// The dashboards' charts (GET /admin/v1/overview/history, the reseller's GET /v1/stats) read rollups
// kept by triggers (migration 0018). Whatever door creates, cancels or restores a client, the day's
// totals must equal a recount of the live rows, for every tenant and for each reseller alone.

let s: ApiscpServer;
let a: ResellerFixture;
let b: ResellerFixture;
let session: ConsoleSession;
let n = 0;
const domain = (tag: string) => `${tag}-${n++}-${Math.random().toString(36).slice(2, 6)}.example`;

beforeAll(async () => {
  await requirePhpSoap();
  s = await startApiscpServer();
  await seedDemoCatalog(s.t);
  a = await createReseller(s.t);
  b = await createReseller(s.t);
  session = await signInOperator(s.t);
});
afterAll(() => s?.close());

const inject = async (method: 'GET' | 'POST' | 'DELETE', url: string, authorization?: string, payload?: unknown) => {
  const res = await s.t.app.server.inject({ method, url, headers: authorization ? { authorization } : {}, ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}) });
  return { status: res.statusCode, headers: res.headers, body: res.json() as Body };
};

async function restClient(r: ResellerFixture, domains: number): Promise<number> {
  const made = await inject('POST', '/v1/clients', r.auth, { package_uid: 'spamstopshere-standard', user_count: 1, name: 'Chart Test', domains: Array.from({ length: domains }, () => ({ name: domain('rest') })) });
  expect(made.status, JSON.stringify(made.body)).toBe(201);
  return made.body.id as number;
}

/** Live clients and domains by a recount of the rows themselves. */
async function recount(resellerId?: number): Promise<{ clients: number; domains: number }> {
  const db = s.t.app.deps.db;
  const scope = resellerId === undefined ? sql`true` : sql`reseller_id = ${resellerId}`;
  const c = await sql<{ n: number }>`select count(*)::int as n from clients where status in ('active', 'suspended') and ${scope}`.execute(db);
  const d = await sql<{ n: number }>`select count(*)::int as n from domains where released_at is null and ${scope}`.execute(db);
  return { clients: c.rows[0]!.n, domains: d.rows[0]!.n };
}

const today = (body: Body) => body.series[body.series.length - 1];

async function expectInStep(): Promise<void> {
  const all = await call(s.t, 'GET', '/admin/v1/overview/history', 'key');
  expect(all.status, JSON.stringify(all.body)).toBe(200);
  expect({ clients: today(all.body).clients, domains: today(all.body).domains }).toEqual(await recount());
  for (const r of [a, b]) {
    const own = await inject('GET', '/v1/stats', r.auth);
    expect(own.status, JSON.stringify(own.body)).toBe(200);
    expect({ clients: today(own.body).clients, domains: today(own.body).domains }).toEqual(await recount(r.id));
  }
}

describe('the operator history', () => {
  it('answers a key and a console session with one point per day ending today (UTC)', async () => {
    const viaKey = await call(s.t, 'GET', '/admin/v1/overview/history', 'key');
    expect(viaKey.status, JSON.stringify(viaKey.body)).toBe(200);
    expect(viaKey.body.days).toBe(30);
    expect(viaKey.body.series).toHaveLength(30);
    expect(viaKey.body.to).toBe(new Date().toISOString().slice(0, 10));
    expect(viaKey.body.series[0].day).toBe(viaKey.body.from);
    expect(viaKey.body.pending_signups).toHaveLength(30);
    const viaSession = await call(s.t, 'GET', '/admin/v1/overview/history?days=90', { session, csrf: false });
    expect(viaSession.status).toBe(200);
    expect(viaSession.body.series).toHaveLength(90);
    expect(viaSession.body.series.slice(-30)).toEqual(viaKey.body.series);
  });

  it('refuses anonymous callers, bad keys and reseller credentials', async () => {
    expectAdminError(await call(s.t, 'GET', '/admin/v1/overview/history', 'none'), 401, 'unauthenticated');
    expectAdminError(await call(s.t, 'GET', '/admin/v1/overview/history', 'bad-key'), 401, 'unauthenticated');
    const asReseller = await inject('GET', '/admin/v1/overview/history', a.auth);
    expectAdminError(asReseller, 401, 'unauthenticated');
  });

  it.each(['abc', '0', '6', '366', '-5', '7.5', '1e2', ''])('refuses days=%s with 422 naming the parameter', async (days) => {
    const r = await call(s.t, 'GET', `/admin/v1/overview/history?days=${days}`, 'key');
    expectAdminError(r, 422, 'validation_failed');
    expect(Object.keys(r.body.error.fields)).toEqual(['days']);
  });

  it('refuses a repeated days parameter', async () => {
    expectAdminError(await call(s.t, 'GET', '/admin/v1/overview/history?days=30&days=90', 'key'), 422, 'validation_failed');
  });

  it('counts sign-ups awaiting approval, and drops one when it is approved', async () => {
    const before = (await call(s.t, 'GET', '/admin/v1/overview/history?days=7', 'key')).body;
    const tag = Math.random().toString(36).slice(2, 8);
    const signup = await inject('POST', '/admin/v1/resellers', `Bearer ${s.t.operatorKey}`, { name: `Pending ${tag}`, username: `pending-${tag}`, email_address: `p-${tag}@example.com` });
    expect(signup.status).toBe(201);
    // An operator-created reseller is approved at once; a sign-up is pending until approved.
    const pendingId = await sql<{ id: number }>`insert into resellers (name, username, email_address, status, updated_at) values (${`Signup ${tag}`}, ${`signup-${tag}`}, ${`s-${tag}@example.com`}, 'pending', now()) returning id`.execute(s.t.app.deps.db);
    const after = (await call(s.t, 'GET', '/admin/v1/overview/history?days=7', 'key')).body;
    expect(today(after).day).toBe(today(before).day);
    expect(after.pending_signups[6].pending).toBe(before.pending_signups[6].pending + 1);
    const approved = await inject('POST', `/admin/v1/resellers/${pendingId.rows[0]!.id}/approve`, `Bearer ${s.t.operatorKey}`, {});
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    const decided = (await call(s.t, 'GET', '/admin/v1/overview/history?days=7', 'key')).body;
    expect(decided.pending_signups[6].pending).toBe(before.pending_signups[6].pending);
  });
});

describe("a reseller's own stats", () => {
  it('needs credentials: anonymous and bad keys get the HSP 401', async () => {
    const anon = await inject('GET', '/v1/stats');
    expect(anon.status).toBe(401);
    expect(anon.body).toEqual({ errors: { base: [expect.any(String)] } });
    expect(anon.headers['www-authenticate']).toMatch(/^Basic/);
    const bad = await inject('GET', '/v1/stats', `Basic ${Buffer.from('nobody:nothing').toString('base64')}`);
    expect(bad.status).toBe(401);
  });

  it.each(['abc', '0', '400', '30.0'])('refuses days=%s in the HSP error format', async (days) => {
    const r = await inject('GET', `/v1/stats?days=${days}`, a.auth);
    expect(r.status).toBe(422);
    expect(r.body).toEqual({ errors: { days: [expect.stringContaining('whole number')] } });
  });

  it("never includes another reseller's clients, domains, provisioning or failed jobs", async () => {
    const aBefore = (await inject('GET', '/v1/stats?days=7', a.auth)).body;
    const bClient = await restClient(b, 2);
    const bDomain = (await inject('GET', `/v1/clients/${bClient}`, b.auth)).body.domains[0].name as string;
    const ready = await s.t.app.server.inject({ method: 'PUT', url: `/admin/v1/domains/${bDomain}/status`, headers: { authorization: `Bearer ${s.t.operatorKey}` }, payload: { status: 'ready' } });
    expect(ready.statusCode, ready.body).toBe(200);
    await sql`insert into jobs (kind, payload, state, reseller_id, run_at, updated_at, finished_at, last_error) values ('relay.apply', '{}', 'failed', ${b.id}, now(), now(), now(), 'test')`.execute(s.t.app.deps.db);
    const aAfter = (await inject('GET', '/v1/stats?days=7', a.auth)).body;
    expect(aAfter).toEqual(aBefore);
    const bNow = (await inject('GET', '/v1/stats?days=7', b.auth)).body;
    expect(today(bNow)).toMatchObject({ provisioned: 1, failed_jobs: 1 });
    expect(Object.keys(bNow).sort()).toEqual(['days', 'from', 'series', 'to']);
    await expectInStep();
  });
});

describe('the rollup through every door', () => {
  it('stays equal to a recount through REST create, cancel and restore', async () => {
    const before = today((await inject('GET', '/v1/stats?days=7', a.auth)).body);
    const one = await restClient(a, 2);
    const two = await restClient(a, 1);
    await expectInStep();
    expect((await inject('DELETE', `/v1/clients/${one}`, a.auth)).status).toBe(200);
    await expectInStep();
    const restored = await inject('POST', `/admin/v1/clients/${one}/restore`, `Bearer ${s.t.operatorKey}`);
    expect(restored.status, JSON.stringify(restored.body)).toBe(200);
    await expectInStep();
    expect((await inject('DELETE', `/v1/clients/${two}`, a.auth)).status).toBe(200);
    await expectInStep();
    const after = today((await inject('GET', '/v1/stats?days=7', a.auth)).body);
    expect(after.clients_created - before.clients_created).toBe(2);
    expect(after.clients_cancelled - before.clients_cancelled).toBe(2);
    expect(after.clients_restored - before.clients_restored).toBe(1);
    expect(after.clients - before.clients).toBe(1);
  });

  it("stays equal through ApisCP's JSON door, cpcmd and SOAP add-site, suspend and delete, for an operator's and a reseller's key", async () => {
    const mine = domain('apiscp-reseller');
    const added = await s.fn('admin:add-site', [mine, 'radmin'], {}, `Bearer ${a.api_token}:${a.api_key}`);
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    await expectInStep();
    const viaCli = await s.tool('cpcmd', '-o', 'json', 'admin:add-site', domain('cpcmd'), 'cliadmin');
    expect(viaCli.code, viaCli.stderr).toBe(0);
    await expectInStep();
    const viaSoap = domain('soap');
    const [soapAdded] = await runPhpSoap([{ op: 'admin_add_site', args: [viaSoap, 'soapadmin', []], headers: ['Abort-On: error'] }], {
      wsdl: `${s.url}/apnscp.wsdl`,
      location: `${s.url}/soap?authkey=${encodeURIComponent(s.t.operatorKey)}`,
    });
    expect(soapAdded?.ok && fromPhp(soapAdded.value!)).toBe(true);
    await expectInStep();
    expect((await s.fn('admin:deactivate-site', [viaSoap, 'unpaid'])).status).toBe(200);
    await expectInStep();
    const deleted = await s.fn('admin:delete-site', [viaSoap]);
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(200);
    await expectInStep();
    expect((await s.fn('admin:delete-site', [mine], {}, `Bearer ${a.api_token}:${a.api_key}`)).status).toBe(200);
    await expectInStep();
  });

  it('puts a client on the day it was created, and measures provisioning from created to ready', async () => {
    const now = new Date();
    const threeDaysAgo = new Date(now.getTime() - 3 * 86_400_000);
    s.t.setNow(threeDaysAgo);
    let id: number;
    try {
      id = await restClient(a, 1);
      const name = (await inject('GET', `/v1/clients/${id}`, a.auth)).body.domains[0].name as string;
      // Ready 90 seconds after it was created, by the app's clock.
      s.t.setNow(new Date(threeDaysAgo.getTime() + 90_000));
      const ready = await s.t.app.server.inject({ method: 'PUT', url: `/admin/v1/domains/${name}/status`, headers: { authorization: `Bearer ${s.t.operatorKey}` }, payload: { status: 'ready' } });
      expect(ready.statusCode, ready.body).toBe(200);
    } finally {
      s.t.setNow(now);
    }
    const body = (await inject('GET', '/v1/stats?days=7', a.auth)).body;
    const day = body.series.find((p: Body) => p.day === new Date(threeDaysAgo.getTime() + 90_000).toISOString().slice(0, 10));
    expect(day).toMatchObject({ provisioned: 1, provisioning_p50_seconds: 90, provisioning_p99_seconds: 90 });
    const created = body.series.find((p: Body) => p.day === threeDaysAgo.toISOString().slice(0, 10));
    expect(created.clients_created).toBeGreaterThanOrEqual(1);
    // The totals walk back day by day: each day's total is the next day's minus that day's changes.
    for (let i = body.series.length - 1; i > 0; i--) {
      const p = body.series[i];
      expect(body.series[i - 1].clients).toBe(p.clients - (p.clients_created + p.clients_restored - p.clients_cancelled));
      expect(body.series[i - 1].domains).toBe(p.domains - (p.domains_added - p.domains_removed));
    }
    await expectInStep();
  });
});
