import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mysqlNativeHash } from '../../src/core/nodes/db-password-hash.js';
import { scramVerifierMatches } from '../../src/core/shared/scram.js';
import { sha256Hex } from '../../src/core/shared/secrets.js';
import { encodeSoapRequest } from '../../src/facades/apiscp/soap/soap-codec.js';
import { startApiscpServer, type ApiscpServer } from '../apiscp/apiscp-harness.js';

// A site's database users as desired state, through the real doors (cpcmd's JSON door and SOAP):
// which db node a site lands on, which db_user objects each change writes, and that the password
// travels only as the servers' hashes. Nodes are rows here; the agent's side is test/agent.

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let s: ApiscpServer;
const db = () => s.t.app.deps.db;
let n = 0;

const tokens: Record<string, string> = {};

async function addNode(name: string, roles: string[]): Promise<number> {
  tokens[name] = `node-token-${name}-${Math.random().toString(36).slice(2)}-${'x'.repeat(20)}`;
  const row = await db()
    .insertInto('nodes')
    .values({ name, roles, labels: JSON.stringify({}), state: 'active', last_heartbeat_at: new Date(), token_digest: sha256Hex(tokens[name]) })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

async function addSite(opts: Record<string, unknown>): Promise<number> {
  const name = `dbu-${++n}-${Math.random().toString(36).slice(2, 7)}.example.com`;
  const r = await s.fn('admin:add-site', [name, `dbu${n}`, opts]);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return (await db().selectFrom('domains').select('client_id').where('name', '=', name).where('released_at', 'is', null).executeTakeFirstOrThrow()).client_id;
}

async function objects(siteId: number): Promise<Map<string, { state: string; version: number; spec: Json }>> {
  const rows = await db().selectFrom('node_objects').select(['object_id', 'state', 'version', 'spec']).where('kind', '=', 'db_user').where('client_id', '=', siteId).execute();
  return new Map(rows.map((r) => [r.object_id, { state: r.state, version: Number(r.version), spec: r.spec as Json }]));
}

async function soap(operation: string, args: unknown[], headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const res = await fetch(`${s.url}/soap?authkey=${encodeURIComponent(s.t.operatorKey)}`, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: `"urn:apnscp.api.soap#${operation}"`, ...headers }, body: encodeSoapRequest(operation, args) });
  return { status: res.status, body: await res.text() };
}

beforeAll(async () => {
  s = await startApiscpServer();
}, 60_000);
afterAll(async () => {
  await s?.close();
});

describe('site database users', () => {
  it('with no db node a site keeps its values and gets no database user', async () => {
    const id = await addSite({ 'mysql.enabled': 1, 'mysql.passwd': 'first-password' });
    expect((await db().selectFrom('clients').select('db_node_id').where('id', '=', id).executeTakeFirstOrThrow()).db_node_id).toBeNull();
    expect((await objects(id)).size).toBe(0);
  });

  it('a site is placed on the db node and gets one user per enabled engine, with hashes only; changes rewrite what they change', async () => {
    const dbNode = await addNode('db-a', ['db']);
    await addNode('web-only', ['web']);
    const id = await addSite({ 'mysql.enabled': 1, 'mysql.dbaseadmin': 'shopadm', 'mysql.dbaseprefix': 'shop_', 'mysql.dbasenum': 3, 'mysql.passwd': 'first-password', 'pgsql.enabled': 1, 'pgsql.passwd': 'pg-password' });
    expect((await db().selectFrom('clients').select('db_node_id').where('id', '=', id).executeTakeFirstOrThrow()).db_node_id).toBe(dbNode);
    let objs = await objects(id);
    const my = objs.get(`site${id}-mysql`)!;
    const pg = objs.get(`site${id}-pgsql`)!;
    expect(my.spec).toMatchObject({ siteId: id, engine: 'mariadb', user: 'shopadm', prefix: 'shop_', maxDatabases: 3, databases: [], status: 'active', passwordHash: mysqlNativeHash('first-password') });
    // The pgsql names derive from the admin login, as ApisCP derives them.
    expect(pg.spec).toMatchObject({ engine: 'pgsql', user: `dbu${n}`, prefix: `dbu${n}_`, maxDatabases: null });
    expect(await scramVerifierMatches(pg.spec.passwordHash, 'pg-password')).toBe(true);
    const stored = JSON.stringify([...objs.values()]);
    expect(stored).not.toContain('first-password');
    expect(stored).not.toContain('pg-password');

    // An edit that does not touch the databases leaves both objects as they were (no new salt either).
    expect((await s.fn('admin:edit-site', [`site${id}`, { 'diskquota.quota': 2048 }])).status).toBe(200);
    objs = await objects(id);
    expect(objs.get(`site${id}-mysql`)!.version).toBe(my.version);
    expect(objs.get(`site${id}-pgsql`)!.version).toBe(pg.version);

    // A password changed through the SOAP door reaches the object as a new hash.
    const r = await soap('admin_edit_site', [`site${id}`, { 'mysql.passwd': 'second-password' }]);
    expect(r.status, r.body).toBe(200);
    objs = await objects(id);
    expect(objs.get(`site${id}-mysql`)!.spec.passwordHash).toBe(mysqlNativeHash('second-password'));
    expect(objs.get(`site${id}-pgsql`)!.version).toBe(pg.version);

    // EditDomain (the CLI tool): dbasenum reaches the object; a hostile name is refused with its usage exit, nothing written.
    const edited = await s.tool('EditDomain', '-c', 'mysql,dbasenum=7', `site${id}`);
    expect(edited.code, edited.stderr).toBe(0);
    expect((await objects(id)).get(`site${id}-mysql`)!.spec.maxDatabases).toBe(7);
    const version = (await objects(id)).get(`site${id}-mysql`)!.version;
    const refused = await s.tool('EditDomain', '-c', "mysql,dbaseadmin=a';drop user root;--", `site${id}`);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('mysql,dbaseadmin');
    expect((await objects(id)).get(`site${id}-mysql`)!.version).toBe(version);

    // Suspend and activate: both users follow.
    expect((await soap('admin_deactivate_site', [`site${id}`, 'unpaid'])).status).toBe(200);
    objs = await objects(id);
    expect([...objs.values()].map((o) => o.spec.status)).toEqual(['suspended', 'suspended']);
    expect((await s.fn('admin:activate-site', [`site${id}`])).status).toBe(200);
    expect([...(await objects(id)).values()].map((o) => o.spec.status)).toEqual(['active', 'active']);

    // PostgreSQL switched off: its user goes (absent, with the last spec naming what to drop).
    expect((await s.fn('admin:edit-site', [`site${id}`, { 'pgsql.enabled': 0 }])).status).toBe(200);
    objs = await objects(id);
    expect(objs.get(`site${id}-pgsql`)).toMatchObject({ state: 'absent', spec: expect.objectContaining({ engine: 'pgsql' }) });
    expect(objs.get(`site${id}-mysql`)!.state).toBe('present');

    // Deleted: the remaining user goes too.
    expect((await s.fn('admin:delete-site', [`site${id}`, { force: true }])).status).toBe(200);
    expect([...(await objects(id)).values()].map((o) => o.state)).toEqual(['absent', 'absent']);
  });

  it('hostile database names are refused by the SOAP door with a fault, and nothing is created', async () => {
    const before = await db().selectFrom('clients').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    for (const [param, value] of [
      ['mysql.dbaseadmin', "x'@'%' identified by 'p'; --"],
      ['mysql.dbaseadmin', 'root'],
      ['pgsql.dbaseprefix', 'a"; drop database postgres; --_'],
    ]) {
      // Abort-On: error turns the door's error into a SOAP fault, as the billing modules ask (ADR 8).
      const r = await soap('admin_add_site', ['hostile-db.example.com', 'hostiledb', { [param!]: value }], { 'Abort-On': 'error' });
      expect(r.status, `${param}=${value}`).toBe(500);
      expect(r.body).toContain('<faultcode>');
      expect(r.body).toContain(param!.replace('.', ','));
    }
    const after = await db().selectFrom('clients').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    expect(after.n).toBe(before.n);
  });

  it("a db node's size reports count for the db_user objects it holds only, the newest winning; the console shows them", async () => {
    await addNode('db-other', ['web']);
    const id = await addSite({ 'mysql.enabled': 1, 'pgsql.enabled': 0, 'mysql.passwd': 'size-password' });
    const report = async (node: string, samples: unknown[]) => {
      const res = await s.t.app.server.inject({ method: 'POST', url: '/agent/v1/usage', headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[node]}` }, payload: JSON.stringify({ samples }) });
      return { status: res.statusCode, body: res.json() as Json };
    };
    const at = (s: number) => new Date(Date.now() - s * 1000).toISOString();
    const sample = (objectId: string, bytes: number, when: string) => ({ kind: 'db_user', id: objectId, at: when, storageBytes: bytes, transferBytes: 0 });
    expect((await report('db-a', [sample(`site${id}-mysql`, 5000, at(10))])).body).toEqual({ accepted: 1, ignored: 0 });
    // Older than what is kept, an object this node does not hold (absent engine), another node's claim: left out.
    expect((await report('db-a', [sample(`site${id}-mysql`, 1, at(60)), sample(`site${id}-pgsql`, 9, at(1))])).body).toEqual({ accepted: 0, ignored: 2 });
    expect((await report('db-other', [sample(`site${id}-mysql`, 7, at(1))])).body).toEqual({ accepted: 0, ignored: 1 });
    const rows = await db().selectFrom('site_db_usage').selectAll().where('client_id', '=', id).execute();
    expect(rows.map((r) => [r.engine, Number(r.storage_bytes)])).toEqual([['mysql', 5000]]);
  });

  it('a site with both engines off gets no user and is not placed on a db node', async () => {
    const id = await addSite({ 'mysql.enabled': 0, 'pgsql.enabled': 0 });
    expect((await db().selectFrom('clients').select('db_node_id').where('id', '=', id).executeTakeFirstOrThrow()).db_node_id).toBeNull();
    expect((await objects(id)).size).toBe(0);
  });
});
