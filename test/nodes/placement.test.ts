import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { encodeSoapRequest } from '../../src/facades/apiscp/soap/soap-codec.js';
import { startApiscpServer, type ApiscpServer } from '../apiscp/apiscp-harness.js';
import { createReseller, seedDemoCatalog, type ResellerFixture } from '../support/test-app.js';

// Placement and desired state through the real doors: HSP REST, cpcmd (JSON and the bin), SOAP and
// the operator's account groups. Nodes are rows here (enrolling agents is the nodes API's business);
// what is checked is which node each site lands on and which objects, at which versions, a change writes.

let s: ApiscpServer;
let reseller: ResellerFixture;
const db = () => s.t.app.deps.db;
let n = 0;
const domain = (p = 'site') => `${p}-${++n}-${Math.random().toString(36).slice(2, 7)}.example.com`;

async function addNode(name: string, o: { roles?: string[]; labels?: Record<string, string>; state?: 'active' | 'draining'; heartbeatSecondsAgo?: number | null } = {}): Promise<number> {
  const beat = o.heartbeatSecondsAgo === null ? null : new Date(Date.now() - (o.heartbeatSecondsAgo ?? 1) * 1000);
  const row = await db()
    .insertInto('nodes')
    .values({ name, roles: o.roles ?? ['web'], labels: JSON.stringify(o.labels ?? {}), state: o.state ?? 'active', last_heartbeat_at: beat })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

async function nodeOf(siteId: number): Promise<number | null> {
  return (await db().selectFrom('clients').select('node_id').where('id', '=', siteId).executeTakeFirstOrThrow()).node_id;
}

async function objectOf(siteId: number) {
  return db().selectFrom('node_objects').selectAll().where('object_id', '=', `site${siteId}`).executeTakeFirst();
}

async function versions(): Promise<Map<number, number>> {
  return new Map((await db().selectFrom('nodes').select(['id', 'version']).execute()).map((r) => [r.id, Number(r.version)]));
}

async function addSite(opts: Record<string, unknown> = {}): Promise<number> {
  const name = domain();
  const r = await s.fn('admin:add-site', [name, `u${++n}`, opts]);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return (await db().selectFrom('domains').select('client_id').where('name', '=', name).where('released_at', 'is', null).executeTakeFirstOrThrow()).client_id;
}

async function soap(operation: string, args: unknown[], headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const res = await fetch(`${s.url}/soap?authkey=${encodeURIComponent(s.t.operatorKey)}`, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: `"urn:apnscp.api.soap#${operation}"`, ...headers }, body: encodeSoapRequest(operation, args) });
  return { status: res.status, body: await res.text() };
}

async function admin(method: 'GET' | 'POST' | 'PATCH', url: string, payload?: unknown) {
  const res = await s.t.app.server.inject({ method, url, headers: { authorization: `Bearer ${s.t.operatorKey}` }, ...(payload === undefined ? {} : { payload: payload as object }) });
  return { status: res.statusCode, body: res.json() as Record<string, unknown> };
}

let web1: number;
let web2: number;

beforeAll(async () => {
  s = await startApiscpServer();
  await seedDemoCatalog(s.t);
  reseller = await createReseller(s.t);
}, 60_000);
afterAll(async () => {
  await s?.close();
});

describe('with no node', () => {
  it('a new site is not placed, and nothing is an error', async () => {
    const id = await addSite();
    expect(await nodeOf(id)).toBeNull();
    expect(await objectOf(id)).toBeUndefined();
  });
});

describe('placement', () => {
  beforeAll(async () => {
    web1 = await addNode('web1');
    web2 = await addNode('web2');
    await addNode('drained', { state: 'draining' });
    await addNode('silent', { heartbeatSecondsAgo: 120 });
    await addNode('never', { heartbeatSecondsAgo: null });
    await addNode('dbonly', { roles: ['db'] });
  });

  it('spreads new sites over the healthy web nodes, skipping drained, unhealthy and other-role nodes', async () => {
    const ids = [];
    for (let i = 0; i < 6; i++) ids.push(await addSite());
    const placed = await Promise.all(ids.map(nodeOf));
    expect(new Set(placed)).toEqual(new Set([web1, web2]));
    expect(placed.filter((x) => x === web1).length).toBe(3);
    const obj = await objectOf(ids[0]!);
    expect(obj).toMatchObject({ node_id: placed[0], kind: 'site', state: 'present', client_id: ids[0] });
    expect(obj!.spec).toMatchObject({ siteId: ids[0], name: `site${ids[0]}`, status: 'active', suspendReason: null, php: true, aliases: [] });
  });

  it('sites created at the same time do not all pick the same node', async () => {
    const before = await db().selectFrom('clients').select(['node_id', sql<number>`count(*)::int`.as('n')]).where('node_id', 'in', [web1, web2]).groupBy('node_id').execute();
    const ids = await Promise.all(Array.from({ length: 8 }, () => addSite()));
    const placed = await Promise.all(ids.map(nodeOf));
    const count = (node: number) => placed.filter((x) => x === node).length + (before.find((b) => b.node_id === node)?.n ?? 0);
    expect(count(web1)).toBe(count(web2));
  });

  it("a plan's node label sends its sites to the nodes carrying it, and with none carrying it they are not placed", async () => {
    const gold = await addNode('gold1', { labels: { tier: 'gold' } });
    const created = await admin('POST', '/admin/v1/packages', { uid: `gold-${n}`, name: 'Gold', node_label: 'tier=gold' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.node_label).toBe('tier=gold');
    for (let i = 0; i < 3; i++) expect(await nodeOf(await addSite({ 'siteinfo.plan': created.body.uid }))).toBe(gold);
    const lonely = await admin('POST', '/admin/v1/packages', { uid: `lonely-${n}`, name: 'Lonely', node_label: 'tier=platinum' });
    expect(lonely.status).toBe(201);
    const id = await addSite({ 'siteinfo.plan': lonely.body.uid });
    expect(await nodeOf(id)).toBeNull();
    expect(await objectOf(id)).toBeUndefined();
    const bad = await admin('PATCH', `/admin/v1/packages/${String(lonely.body.uid)}`, { node_label: 'tier = "x"; }' });
    expect(bad.status).toBe(422);
  });

  it('apache,enabled=0 keeps a site off the nodes; turning it on places it', async () => {
    const id = await addSite({ 'apache.enabled': 0 });
    expect(await nodeOf(id)).toBeNull();
    const r = await s.fn('admin:edit-site', [`site${id}`, { 'apache.enabled': 1 }]);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(await nodeOf(id)).not.toBeNull();
    expect((await objectOf(id))?.state).toBe('present');
  });
});

describe("where a site is served, as collect and the admin API show it", () => {
  it('names the node, its health and the apply status; an unplaced site shows null', async () => {
    const id = await addSite();
    const unplaced = await addSite({ 'apache.enabled': 0 });
    const show = async () => {
      const r = await s.fn('admin:collect', [['node', 'siteinfo.domain'], null, [`site${id}`, `site${unplaced}`]]);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body.result as Record<string, { node: unknown; siteinfo: unknown; active: boolean }>;
    };
    const node = (await db().selectFrom('clients').innerJoin('nodes', 'nodes.id', 'clients.node_id').select('nodes.name').where('clients.id', '=', id).executeTakeFirstOrThrow()).name;
    const out = await show();
    expect(out[`site${id}`]).toMatchObject({ active: true, node: { name: node, status: 'healthy', object: 'applying', error: null } });
    expect(out[`site${unplaced}`]!.node).toBeNull();
    await sql`update node_objects set applied_version = version where object_id = ${`site${id}`}`.execute(db());
    expect((await show())[`site${id}`]!.node).toMatchObject({ object: 'applied' });
    await sql`update node_objects set error = 'nginx -t: bad server_name' where object_id = ${`site${id}`}`.execute(db());
    const res = await s.t.app.server.inject({ method: 'GET', url: `/admin/v1/clients/${id}`, headers: { authorization: `Bearer ${s.t.operatorKey}` } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id, node: { name: node, status: 'healthy', object: 'failed', error: 'nginx -t: bad server_name' } });
    const none = await s.t.app.server.inject({ method: 'GET', url: `/admin/v1/clients/${unplaced}`, headers: { authorization: `Bearer ${s.t.operatorKey}` } });
    expect(none.json()).toMatchObject({ id: unplaced, node: null });
    // Without `node` in params, collect answers as before.
    const plain = await s.fn('admin:collect', [['siteinfo.domain'], null, [`site${id}`]]);
    expect(Object.keys((plain.body.result as Record<string, object>)[`site${id}`]!).sort()).toEqual(['active', 'domain', 'siteinfo']);
    await sql`update nodes set last_heartbeat_at = now() - interval '10 minutes' where name = ${node}`.execute(db());
    expect((await show())[`site${id}`]!.node).toMatchObject({ status: 'unhealthy' });
    await sql`update nodes set last_heartbeat_at = now() where name = ${node}`.execute(db());
  });
});

describe('every door changes the right object, once', () => {
  let id: number;
  beforeEach(async () => {
    id = await addSite();
  });

  it('cpcmd edit of aliases and PHP: one new version of that object on its node, none elsewhere', async () => {
    const node = (await nodeOf(id))!;
    const before = await versions();
    const alias = domain('alias');
    const r = await s.fn('admin:edit-site', [`site${id}`, { 'aliases.aliases': [alias], 'php.enabled': 0 }]);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const after = await versions();
    expect(after.get(node)).toBe(before.get(node)! + 1);
    for (const [other, v] of after) if (other !== node) expect(v).toBe(before.get(other));
    const obj = await objectOf(id);
    expect(Number(obj!.version)).toBe(after.get(node));
    expect(obj!.spec).toMatchObject({ aliases: [alias], php: false });
    // The same edit again changes nothing, so no new version.
    await s.fn('admin:edit-site', [`site${id}`, { 'aliases.aliases': [alias] }]);
    expect((await versions()).get(node)).toBe(after.get(node));
  });

  it('SOAP suspend with a reason, then activate; the reason is hidden when the operator hides reasons', async () => {
    const node = (await nodeOf(id))!;
    const v0 = (await versions()).get(node)!;
    const r = await soap('admin_deactivate_site', [`site${id}`, 'unpaid invoice']);
    expect(r.status, r.body).toBe(200);
    expect((await objectOf(id))!.spec).toMatchObject({ status: 'suspended', suspendReason: 'unpaid invoice' });
    expect((await versions()).get(node)).toBe(v0 + 1);
    const hide = await admin('PATCH', '/admin/v1/settings', { show_suspension_reason: false });
    expect(hide.status).toBe(200);
    expect((await objectOf(id))!.spec).toMatchObject({ status: 'suspended', suspendReason: null });
    await admin('PATCH', '/admin/v1/settings', { show_suspension_reason: true });
    expect((await objectOf(id))!.spec).toMatchObject({ suspendReason: 'unpaid invoice' });
    const a = await soap('admin_activate_site', [`site${id}`]);
    expect(a.status, a.body).toBe(200);
    expect((await objectOf(id))!.spec).toMatchObject({ status: 'active', suspendReason: null });
  });

  it('the SuspendDomain and DeleteDomain bins: suspended, then absent on the node', async () => {
    const sus = await s.tool('SuspendDomain', '--reason', 'abuse report', `site${id}`);
    expect(sus.code, sus.stderr).toBe(0);
    expect((await objectOf(id))!.spec).toMatchObject({ status: 'suspended', suspendReason: 'abuse report' });
    const del = await s.tool('DeleteDomain', `site${id}`);
    expect(del.code, del.stderr).toBe(0);
    const obj = await objectOf(id);
    expect(obj!.state).toBe('absent');
    expect(obj!.spec).toMatchObject({ name: `site${id}` });
  });

  it('HSP REST: a client of a web package is placed; new domains reach its node; cancel makes it absent', async () => {
    const first = domain('hsp');
    const created = await s.t.app.server.inject({ method: 'POST', url: '/v1/clients', headers: { authorization: reseller.auth }, payload: { package_uid: 'spamstopshere-standard', user_count: 1, name: 'Web client', domains: [{ name: first }] } });
    expect(created.statusCode, created.body).toBe(201);
    const cid = (created.json() as { id: number }).id;
    const node = (await nodeOf(cid))!;
    expect(node).not.toBeNull();
    expect((await objectOf(cid))!.spec).toMatchObject({ domain: first, aliases: [] });
    const v0 = (await versions()).get(node)!;
    const second = domain('hsp');
    const upd = await s.t.app.server.inject({ method: 'PUT', url: `/v1/clients/${cid}`, headers: { authorization: reseller.auth }, payload: { domains: [{ name: first }, { name: second }] } });
    expect(upd.statusCode, upd.body).toBe(200);
    expect((await objectOf(cid))!.spec).toMatchObject({ domain: first, aliases: [second] });
    expect((await versions()).get(node)).toBe(v0 + 1);
    const del = await s.t.app.server.inject({ method: 'DELETE', url: `/v1/clients/${cid}`, headers: { authorization: reseller.auth } });
    expect(del.statusCode, del.body).toBe(200);
    expect((await objectOf(cid))!.state).toBe('absent');
  });
});

describe('an account group of 10,000 sites', () => {
  it('suspend and activate write every object with one new version per node', async () => {
    const invoice = `BULK-${Date.now()}`;
    const [b1, b2] = [await addNode(`bulk-a-${n}`, { roles: ['web'], labels: { pool: 'bulk' } }), await addNode(`bulk-b-${n}`, { labels: { pool: 'bulk' } })];
    await sql`
      insert into clients (name, email_address, user_count, invoice, parent_invoice, node_id, service_meta, created_at, updated_at)
      select 'bulk', 'bulk@example.com', 1, case when g = 1 then ${invoice} end, case when g > 1 then ${invoice} end,
        case when g % 2 = 0 then ${b1}::bigint else ${b2}::bigint end, '{}'::jsonb, now(), now()
      from generate_series(1, 10000) g`.execute(db());
    await sql`
      insert into domains (client_id, name, position, created_at, updated_at)
      select id, 'bulk' || id || '.example.com', 0, now(), now() from clients where invoice = ${invoice} or parent_invoice = ${invoice}`.execute(db());
    // As autovacuum would after such a load; the embedded database has none, and the group's own
    // reads (per-site domain look-ups) are planned as full scans on statistics that predate it.
    await sql`analyze clients`.execute(db());
    await sql`analyze domains`.execute(db());
    const objects = async (state: string, status?: string) =>
      (await sql<{ n: number }>`select count(*)::int as n from node_objects o join clients c on c.id = o.client_id
        where (c.invoice = ${invoice} or c.parent_invoice = ${invoice}) and o.state = ${state} ${status ? sql`and o.spec->>'status' = ${status}` : sql``}`.execute(db())).rows[0]!.n;
    for (const [action, state, status] of [['suspend', 'present', 'suspended'], ['activate', 'present', 'active']] as const) {
      const before = await versions();
      const r = await admin('POST', `/admin/v1/account-groups/${action}`, { invoice, ...(action === 'suspend' ? { reason: 'billing' } : {}) });
      expect(r.status, JSON.stringify(r.body).slice(0, 300)).toBe(200);
      expect(await objects(state, status)).toBe(10_000);
      const after = await versions();
      expect(after.get(b1)).toBe(before.get(b1)! + 1);
      expect(after.get(b2)).toBe(before.get(b2)! + 1);
      const stamped = (await sql<{ n: number }>`select count(*)::int as n from node_objects o join nodes n on n.id = o.node_id where o.version = n.version and o.object_id like 'site%' and o.client_id in (select id from clients where invoice = ${invoice} or parent_invoice = ${invoice})`.execute(db())).rows[0]!.n;
      expect(stamped).toBe(10_000);
    }
  }, 120_000);
});

describe('hostile names at the doors', () => {
  const hostile = ['evil.com; return 200', 'a.com{', 'x.com}', '"q".com', "a'b.com", 'a$host.com', 'a.com\nserver_name x', 'a b.com', 'a..com', 'xn--.com'];

  it('cpcmd, SOAP and HSP REST refuse each one in their own format, and nothing changes', async () => {
    const count = async () => (await db().selectFrom('clients').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n;
    // As autovacuum would after such a load; the embedded database has none, and the group's own
    // reads (per-site domain look-ups) are planned as full scans on statistics that predate it.
    await sql`analyze clients`.execute(db());
    await sql`analyze domains`.execute(db());
    const objects = async () => (await db().selectFrom('node_objects').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n;
    const before = [await count(), await objects()];
    const id = await addSite();
    const mid = [await count(), await objects()];
    for (const name of hostile) {
      const j = await s.fn('admin:add-site', [name, 'hostile', {}]);
      expect(j.status, name).toBe(422);
      expect(j.body.error?.code, name).toBe('validation_failed');
      const alias = await s.fn('admin:edit-site', [`site${id}`, { 'aliases.aliases': [name] }]);
      expect(alias.status, name).toBe(422);
      const sp = await soap('admin_add_site', [name, 'hostile', {}], { 'Abort-On': 'error' });
      expect(sp.status, name).toBe(500);
      expect(sp.body, name).toContain('<faultcode>');
      const rest = await s.t.app.server.inject({ method: 'POST', url: '/v1/clients', headers: { authorization: reseller.auth }, payload: { package_uid: 'spamstopshere-standard', user_count: 1, domains: [{ name }] } });
      expect(rest.statusCode, name).toBe(422);
      expect(rest.json(), name).toHaveProperty('errors');
    }
    expect([await count(), await objects()]).toEqual(mid);
    expect(mid[0]).toBe(before[0]! + 1);
  });
});
