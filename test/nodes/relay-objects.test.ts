import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeSoapRequest } from '../../src/facades/apiscp/soap/soap-codec.js';
import { startApiscpServer, type ApiscpServer } from '../apiscp/apiscp-harness.js';
import { createReseller, seedDemoCatalog, type ResellerFixture } from '../support/test-app.js';

// The relay role's desired state through the real doors (HSP REST, cpcmd, SOAP, the ApisCP bins and
// the operator's account groups): every relay node holds every live domain as a relay_domain object,
// written in the door's own transaction with one new version per node; the nodes' reports make
// domains ready. Agents are played over the real /agent/v1 door with the nodes' own tokens.

let s: ApiscpServer;
let reseller: ResellerFixture;
const db = () => s.t.app.deps.db;
let n = 0;
const domain = (p = 'relay') => `${p}-${++n}-${Math.random().toString(36).slice(2, 7)}.example.com`;

interface RelayNode {
  id: number;
  token: string;
}

async function inject(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, auth: string, payload?: unknown) {
  const res = await s.t.app.server.inject({ method, url, headers: { authorization: auth }, ...(payload === undefined ? {} : { payload: payload as object }) });
  return { status: res.statusCode, body: (res.body ? res.json() : undefined) as Record<string, unknown> };
}
const admin = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown) => inject(method, url, `Bearer ${s.t.operatorKey}`, payload);

/** A relay node registered by the operator and enrolled the way its agent would. */
async function relayNode(name: string): Promise<RelayNode> {
  const created = await admin('POST', '/admin/v1/nodes', { name, roles: ['relay'] });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const enrol = await inject('POST', '/agent/v1/enrol', `Bearer ${String(created.body.token)}`);
  expect(enrol.status, JSON.stringify(enrol.body)).toBe(200);
  return { id: Number(created.body.id), token: String(enrol.body.token) };
}

async function objectOn(node: RelayNode, name: string) {
  return db().selectFrom('node_objects').selectAll().where('node_id', '=', node.id).where('kind', '=', 'relay_domain').where('object_id', '=', name).executeTakeFirst();
}

async function version(node: RelayNode): Promise<number> {
  return Number((await db().selectFrom('nodes').select('version').where('id', '=', node.id).executeTakeFirstOrThrow()).version);
}

async function statusOf(name: string): Promise<string> {
  return (await db().selectFrom('domains').select('status').where('name', '=', name).where('released_at', 'is', null).executeTakeFirstOrThrow()).status;
}

/** Reports every object of the node applied at its current version, as its agent would after a batch. */
async function reportAll(node: RelayNode, only?: string[]) {
  const state = await inject('GET', '/agent/v1/state', `Bearer ${node.token}`);
  expect(state.status).toBe(200);
  const objects = (state.body.objects as { kind: string; id: string; version: number }[]).filter((o) => !only || only.includes(o.id));
  const r = await inject('POST', '/agent/v1/status', `Bearer ${node.token}`, { results: objects.map((o) => ({ kind: o.kind, id: o.id, version: o.version, ok: true })) });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
}

async function createClient(domains: { name: string; mail_servers?: string[] }[]): Promise<number> {
  const r = await inject('POST', '/v1/clients', reseller.auth, { package_uid: 'spamstopshere-standard', user_count: 1, domains });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return Number(r.body.id);
}

async function soap(operation: string, args: unknown[]): Promise<{ status: number; body: string }> {
  const res = await fetch(`${s.url}/soap?authkey=${encodeURIComponent(s.t.operatorKey)}`, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: `"urn:apnscp.api.soap#${operation}"` }, body: encodeSoapRequest(operation, args) });
  return { status: res.status, body: await res.text() };
}

let r1: RelayNode;
let r2: RelayNode;
let early: string;

beforeAll(async () => {
  s = await startApiscpServer();
  await seedDemoCatalog(s.t);
  reseller = await createReseller(s.t);
  // A domain from before any relay node existed.
  early = domain('early');
  await createClient([{ name: early, mail_servers: ['mx.early.example.net'] }]);
  r1 = await relayNode('relay1');
  r2 = await relayNode('relay2');
}, 60_000);
afterAll(async () => {
  await s?.close();
});

describe('relay objects', () => {
  it('a new relay node starts with every live domain', async () => {
    for (const node of [r1, r2]) {
      const o = await objectOn(node, early);
      expect(o).toMatchObject({ state: 'present', spec: { domain: early, mailServers: ['mx.early.example.net'] }, client_id: null });
      expect(Number(o!.version)).toBe(await version(node));
    }
  });

  it('HSP REST create: every domain on every relay node, one new version each; ready only once both relays reported', async () => {
    const [v1, v2] = [await version(r1), await version(r2)];
    const a = domain();
    const b = domain();
    await createClient([{ name: a, mail_servers: ['192.0.2.10'] }, { name: b }]);
    expect([await version(r1), await version(r2)]).toEqual([v1 + 1, v2 + 1]);
    for (const node of [r1, r2]) {
      expect((await objectOn(node, a))!.spec).toEqual({ domain: a, mailServers: ['192.0.2.10'] });
      expect((await objectOn(node, b))!.spec).toEqual({ domain: b, mailServers: [] });
    }
    expect(await statusOf(a)).toBe('initializing');
    await reportAll(r1, [a, b]);
    expect(await statusOf(a)).toBe('initializing');
    // A failure on the second relay keeps it pending and shows why.
    const failed = await inject('POST', '/agent/v1/status', `Bearer ${r2.token}`, { results: [{ kind: 'relay_domain', id: a, version: await version(r2), ok: false, error: 'postmap: fatal' }] });
    expect(failed.status).toBe(200);
    expect(await statusOf(a)).toBe('initializing');
    const behind = await admin('GET', `/admin/v1/nodes/${r2.id}/objects?behind=true&limit=1000`);
    expect((behind.body.objects as { id: string; status: string; error: string | null }[]).filter((o) => o.id === a)).toEqual([expect.objectContaining({ id: a, status: 'failed', error: 'postmap: fatal' })]);
    await reportAll(r2, [a, b]);
    expect(await statusOf(a)).toBe('ready');
    expect(await statusOf(b)).toBe('ready');
    const audit = await db().selectFrom('audit_events').select(['action', 'actor_kind']).where('target_id', '=', a).where('action', '=', 'domain.status_set').execute();
    expect(audit).toEqual([{ action: 'domain.status_set', actor_kind: 'system' }]);
    expect((await admin('GET', `/admin/v1/nodes/${r2.id}/objects?behind=true`)).body.objects).not.toContainEqual(expect.objectContaining({ id: a }));
  });

  it('HSP REST domain update and domain set replace: the spec follows, a removed domain is absent', async () => {
    const a = domain();
    const id = await createClient([{ name: a }]);
    const upd = await inject('PUT', `/v1/domains/${a}`, reseller.auth, { mail_servers: ['mx1.elsewhere.example.org'] });
    expect(upd.status, JSON.stringify(upd.body)).toBe(200);
    for (const node of [r1, r2]) expect((await objectOn(node, a))!.spec).toEqual({ domain: a, mailServers: ['mx1.elsewhere.example.org'] });
    const b = domain();
    const v = await version(r1);
    const rep = await inject('PUT', `/v1/clients/${id}`, reseller.auth, { domains: [{ name: b }] });
    expect(rep.status, JSON.stringify(rep.body)).toBe(200);
    expect(await version(r1)).toBe(v + 1);
    for (const node of [r1, r2]) {
      expect((await objectOn(node, a))!.state).toBe('absent');
      expect((await objectOn(node, b))!.state).toBe('present');
    }
    // Once the node confirms the removal, the object is forgotten.
    await reportAll(r1, [a]);
    expect(await objectOn(r1, a)).toBeUndefined();
    expect((await objectOn(r2, a))!.state).toBe('absent');
  });

  it('cpcmd add-site and alias edit, SOAP add, the DeleteDomain bin; a suspension changes nothing on the relays', async () => {
    const site = domain('cpcmd');
    const add = await s.fn('admin:add-site', [site, `u${n}`, {}]);
    expect(add.status, JSON.stringify(add.body)).toBe(200);
    const id = (await db().selectFrom('domains').select('client_id').where('name', '=', site).where('released_at', 'is', null).executeTakeFirstOrThrow()).client_id;
    for (const node of [r1, r2]) expect((await objectOn(node, site))!.state).toBe('present');
    const alias = domain('alias');
    const edit = await s.fn('admin:edit-site', [`site${id}`, { 'aliases.aliases': [alias] }]);
    expect(edit.status, JSON.stringify(edit.body)).toBe(200);
    for (const node of [r1, r2]) expect((await objectOn(node, alias))!.state).toBe('present');
    const soapSite = domain('soap');
    const sp = await soap('admin_add_site', [soapSite, `s${n}`, {}]);
    expect(sp.status, sp.body).toBe(200);
    for (const node of [r1, r2]) expect((await objectOn(node, soapSite))!.spec).toEqual({ domain: soapSite, mailServers: [] });
    const before = [await version(r1), await version(r2)];
    const sus = await soap('admin_deactivate_site', [`site${id}`, 'unpaid']);
    expect(sus.status, sus.body).toBe(200);
    expect([await version(r1), await version(r2)]).toEqual(before);
    const del = await s.tool('DeleteDomain', `site${id}`);
    expect(del.code, del.stderr).toBe(0);
    for (const node of [r1, r2]) {
      expect((await objectOn(node, site))!.state).toBe('absent');
      expect((await objectOn(node, alias))!.state).toBe('absent');
    }
  });

  it('HSP cancel and the operator\'s restore; an Odoo-style SaaS instance\'s host name', async () => {
    const a = domain();
    const id = await createClient([{ name: a }]);
    expect((await inject('DELETE', `/v1/clients/${id}`, reseller.auth)).status).toBe(200);
    for (const node of [r1, r2]) expect((await objectOn(node, a))!.state).toBe('absent');
    const restored = await admin('POST', `/admin/v1/clients/${id}/restore`);
    expect(restored.status, JSON.stringify(restored.body)).toBe(200);
    for (const node of [r1, r2]) expect((await objectOn(node, a))).toMatchObject({ state: 'present', spec: { domain: a, mailServers: [] } });

    const password = 'relay-portal-admin-password';
    const adminUid = Number((await admin('POST', '/admin/v1/users', { operator: true, login: 'relay-portal-admin', password })).body.id);
    const rpc = async (service: string, method: string, args: unknown[]) =>
      (await s.t.app.server.inject({ method: 'POST', url: '/jsonrpc', headers: { 'content-type': 'application/json' }, payload: { jsonrpc: '2.0', method: 'call', id: 1, params: { service, method, args } } })).json() as { result?: unknown; error?: { data: { message: string } } };
    const kw = async (model: string, method: string, args: unknown[], kwargs: Record<string, unknown> = {}) => {
      const out = await rpc('object', 'execute_kw', ['hostplane', adminUid, password, model, method, args, kwargs]);
      if (out.error) throw new Error(`${model}.${method}: ${out.error.data.message}`);
      return out.result;
    };
    await kw('res.users', 'signup', [{ login: 'relay-owner@example.com', name: 'Owner', password: 'portal-pass' }]);
    const uid = (await rpc('common', 'authenticate', ['hostplane', 'relay-owner@example.com', 'portal-pass', {}])).result as number;
    const plans = (await admin('GET', '/admin/v1/packages')).body as unknown as { id: number; uid: string }[];
    const host = domain('inst');
    await kw('saas_portal.plan', 'create_new_database', [plans.find((p) => p.uid === 'basic')!.id], { dbname: host, user_id: uid, owner_password: 'owner-pass' });
    for (const node of [r1, r2]) expect(await objectOn(node, host)).toMatchObject({ state: 'present', spec: { domain: host, mailServers: [] } });
  });

  it('an account group of 10,000 sites deleted: every domain absent on every relay, one new version per node', async () => {
    const invoice = `RELAY-${Date.now()}`;
    await sql`
      insert into clients (name, email_address, user_count, invoice, parent_invoice, service_meta, created_at, updated_at)
      select 'bulk', 'bulk@example.com', 1, case when g = 1 then ${invoice} end, case when g > 1 then ${invoice} end, '{}'::jsonb, now(), now()
      from generate_series(1, 10000) g`.execute(db());
    await sql`
      insert into domains (client_id, name, position, created_at, updated_at)
      select id, 'relaybulk' || id || '.example.com', 0, now(), now() from clients where invoice = ${invoice} or parent_invoice = ${invoice}`.execute(db());
    await sql`analyze clients`.execute(db());
    await sql`analyze domains`.execute(db());
    const count = async (node: RelayNode, state: string) =>
      (await sql<{ n: number }>`select count(*)::int as n from node_objects where node_id = ${node.id} and kind = 'relay_domain' and object_id like 'relaybulk%' and state = ${state}`.execute(db())).rows[0]!.n;
    // Rows loaded past the doors: a third relay node's start picks them up with every other live domain.
    const r3 = await relayNode('relay3');
    expect(await count(r3, 'present')).toBe(10_000);
    expect(await version(r3)).toBe(1);
    // The other two get them from any change naming them; here, the group's delete.
    await sql`insert into node_objects (node_id, kind, object_id, version, state, spec)
      select n.id, 'relay_domain', d.name, n.version, 'present', jsonb_build_object('domain', d.name, 'mailServers', '[]'::jsonb)
      from domains d cross join nodes n where n.id in (${r1.id}, ${r2.id}) and d.name like 'relaybulk%'`.execute(db());
    const before = [await version(r1), await version(r2), await version(r3)];
    const r = await admin('POST', '/admin/v1/account-groups/delete', { invoice });
    expect(r.status, JSON.stringify(r.body).slice(0, 300)).toBe(200);
    for (const node of [r1, r2, r3]) expect(await count(node, 'absent')).toBe(10_000);
    expect([await version(r1), await version(r2), await version(r3)]).toEqual(before.map((v) => v + 1));
    // The third relay is deleted again (force: it holds no sites, only domains).
    expect((await admin('DELETE', `/admin/v1/nodes/${r3.id}`)).status).toBe(200);
  }, 180_000);

  it('bad listing queries are refused in the admin error format', async () => {
    const bad = await admin('GET', `/admin/v1/nodes/${r1.id}/objects?behind=maybe`);
    expect(bad.status).toBe(422);
    expect(JSON.stringify(bad.body)).toContain('behind');
    const long = await admin('GET', `/admin/v1/nodes/${r1.id}/objects?after=${'a'.repeat(254)}`);
    expect(long.status).toBe(422);
    // A report naming more than a domain name can be is refused whole, in the agent door's format, and changes nothing.
    const v = await version(r1);
    const report = await inject('POST', '/agent/v1/status', `Bearer ${r1.token}`, { results: [{ kind: 'relay_domain', id: `${'a'.repeat(250)}.com`, version: v, ok: true }] });
    expect(report.status).toBe(400);
    expect(report.body).toMatchObject({ error: { code: expect.any(String), message: expect.stringContaining('id') } });
    expect(await version(r1)).toBe(v);
    // Another node's relay objects are not this node's to report on.
    const other = await db().selectFrom('node_objects').select(['object_id', 'version', 'applied_version']).where('node_id', '=', r2.id).where('kind', '=', 'relay_domain').where('state', '=', 'present').executeTakeFirstOrThrow();
    const cross = await inject('POST', '/agent/v1/status', `Bearer ${r1.token}`, { results: [{ kind: 'relay_domain', id: other.object_id, version: Number(other.version) + 5, ok: false, error: 'forged' }] });
    expect(cross.status).toBe(200);
    const after = await db().selectFrom('node_objects').select(['applied_version', 'error']).where('node_id', '=', r2.id).where('kind', '=', 'relay_domain').where('object_id', '=', other.object_id).executeTakeFirstOrThrow();
    expect(after).toEqual({ applied_version: other.applied_version, error: null });
  });

  it('deleting the relay a domain waits for makes it ready; with no relay left, the control plane\'s relay rebuilds its maps from every domain', async () => {
    const a = domain();
    await createClient([{ name: a }]);
    await reportAll(r1, [a]);
    expect(await statusOf(a)).toBe('initializing');
    const del = await admin('DELETE', `/admin/v1/nodes/${r2.id}`);
    expect(del.status, JSON.stringify(del.body)).toBe(200);
    expect(await statusOf(a)).toBe('ready');

    const b = domain();
    await createClient([{ name: b }]);
    expect(await statusOf(b)).toBe('initializing');
    const jobs = async () => (await sql<{ n: number }>`select count(*)::int as n from jobs where kind = 'relay.apply' and payload->>'change' = 'rebuild'`.execute(db())).rows[0]!.n;
    expect(await jobs()).toBe(0);
    expect((await admin('DELETE', `/admin/v1/nodes/${r1.id}`)).status).toBe(200);
    expect(await jobs()).toBe(1);
  });

});
