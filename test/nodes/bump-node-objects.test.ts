import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ctxFor, inTransaction } from '../../src/core/context.js';
import { bumpNodeObjects, upsertNodeObjects } from '../../src/core/nodes/bump-node-objects.js';
import type { SiteSpec } from '../../src/core/nodes/agent-wire.schema.js';
import { NODES_NOTIFY_CHANNEL } from '../../src/core/nodes/node-objects.repository.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

let t: TestApp;
const notices: string[] = [];
let stopListening: () => Promise<void>;

beforeAll(async () => {
  t = await createTestApp();
  stopListening = await t.app.dbHandle.listen(NODES_NOTIFY_CHANNEL, (p) => {
    if (p) notices.push(p);
  });
});
afterAll(async () => {
  await stopListening();
  await t.close();
});

const system = () => ctxFor(t.app.deps, { kind: 'system' });

async function insertNode(name: string): Promise<number> {
  const row = await t.app.dbHandle.db.insertInto('nodes').values({ name, roles: ['web'] }).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

function spec(n: number, status: SiteSpec['status'] = 'active'): SiteSpec {
  return { siteId: n, name: `site${n}`, domain: `d${n}.example.com`, aliases: [], status, suspendReason: null, php: false };
}

async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
}

describe('bumpNodeObjects / upsertNodeObjects', () => {
  it('bumps the node version once per call and stamps the written objects with it', async () => {
    const id = await insertNode('bump-a');
    const v1 = await bumpNodeObjects(system(), id, [
      { kind: 'site', objectId: 'site1', clientId: null, state: 'present', spec: spec(1) },
      { kind: 'site', objectId: 'site2', clientId: null, state: 'present', spec: spec(2) },
    ]);
    expect(v1).toBe(1);
    const v2 = await bumpNodeObjects(system(), id, [{ kind: 'site', objectId: 'site2', clientId: null, state: 'present', spec: spec(2, 'suspended') }]);
    expect(v2).toBe(2);
    const rows = await t.app.dbHandle.db.selectFrom('node_objects').select(['object_id', 'version', 'state', 'spec']).where('node_id', '=', id).orderBy('object_id').execute();
    expect(rows.map((r) => [r.object_id, Number(r.version)])).toEqual([
      ['site1', 1],
      ['site2', 2],
    ]);
    expect((rows[1]!.spec as SiteSpec).status).toBe('suspended');
    const node = await t.app.dbHandle.db.selectFrom('nodes').select('version').where('id', '=', id).executeTakeFirstOrThrow();
    expect(Number(node.version)).toBe(2);
  });

  it('writes many nodes in one call, a later row of the same object winning, and notifies each node on commit', async () => {
    const a = await insertNode('bump-b');
    const b = await insertNode('bump-c');
    notices.length = 0;
    const versions = await upsertNodeObjects(system(), [
      { nodeId: b, kind: 'site', objectId: 'site3', clientId: null, state: 'present', spec: spec(3) },
      { nodeId: a, kind: 'site', objectId: 'site4', clientId: null, state: 'present', spec: spec(4) },
      { nodeId: a, kind: 'site', objectId: 'site4', clientId: null, state: 'absent', spec: null },
    ]);
    expect([...versions.entries()].sort()).toEqual([
      [a, 1],
      [b, 1],
    ].sort());
    const gone = await t.app.dbHandle.db.selectFrom('node_objects').select(['state', 'spec']).where('node_id', '=', a).where('object_id', '=', 'site4').executeTakeFirstOrThrow();
    expect(gone.state).toBe('absent');
    expect(gone.spec).toBeNull();
    await waitFor(() => notices.includes(String(a)) && notices.includes(String(b)));
    expect(notices).toContain(String(a));
    expect(notices).toContain(String(b));
  });

  it('writes nothing, bumps nothing and announces nothing when the transaction rolls back', async () => {
    const id = await insertNode('bump-d');
    notices.length = 0;
    await expect(
      inTransaction(system(), async (tx) => {
        await bumpNodeObjects(tx, id, [{ kind: 'site', objectId: 'site5', clientId: null, state: 'present', spec: spec(5) }]);
        throw new Error('the change that caused it failed');
      }),
    ).rejects.toThrow('the change that caused it failed');
    // A committed bump of another node afterwards: its notice arriving means ours would have by now.
    const other = await insertNode('bump-e');
    await bumpNodeObjects(system(), other, [{ kind: 'site', objectId: 'site6', clientId: null, state: 'present', spec: spec(6) }]);
    await waitFor(() => notices.includes(String(other)));
    expect(notices).toEqual([String(other)]);
    const node = await t.app.dbHandle.db.selectFrom('nodes').select('version').where('id', '=', id).executeTakeFirstOrThrow();
    expect(Number(node.version)).toBe(0);
    const count = await t.app.dbHandle.db.selectFrom('node_objects').select((eb) => eb.fn.countAll<number>().as('n')).where('node_id', '=', id).executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(0);
  });

  it('refuses an unknown node and writes nothing', async () => {
    const id = await insertNode('bump-f');
    await expect(
      upsertNodeObjects(system(), [
        { nodeId: id, kind: 'site', objectId: 'site7', clientId: null, state: 'present', spec: spec(7) },
        { nodeId: 999_999, kind: 'site', objectId: 'site8', clientId: null, state: 'present', spec: spec(8) },
      ]),
    ).rejects.toMatchObject({ code: 'not_found' });
    const node = await t.app.dbHandle.db.selectFrom('nodes').select('version').where('id', '=', id).executeTakeFirstOrThrow();
    expect(Number(node.version)).toBe(0);
  });

  it('a new version clears the error the node reported on the previous one', async () => {
    const id = await insertNode('bump-g');
    await bumpNodeObjects(system(), id, [{ kind: 'site', objectId: 'site9', clientId: null, state: 'present', spec: spec(9) }]);
    await t.app.dbHandle.db.updateTable('node_objects').set({ error: 'nginx refused it', reported_at: new Date() }).where('node_id', '=', id).execute();
    await bumpNodeObjects(system(), id, [{ kind: 'site', objectId: 'site9', clientId: null, state: 'present', spec: spec(9, 'suspended') }]);
    const row = await t.app.dbHandle.db.selectFrom('node_objects').select(['error', 'version']).where('node_id', '=', id).executeTakeFirstOrThrow();
    expect(row.error).toBeNull();
    expect(Number(row.version)).toBe(2);
  });
});
