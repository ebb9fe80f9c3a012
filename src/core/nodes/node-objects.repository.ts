import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';

/** The channel a node's long-poll wakes on; the payload is the node id. */
export const NODES_NOTIFY_CHANNEL = 'hostplane_nodes';

/** One desired object to write on a node (state `absent` asks the node to remove it). */
export interface NodeObjectWrite {
  nodeId: number;
  kind: 'site';
  objectId: string;
  clientId: number | null;
  state: 'present' | 'absent';
  spec: unknown;
}

/**
 * Writes many objects on many nodes in two statements, whatever their number: each node named gets
 * one new version under its row lock (taken in id order, so two writers over the same nodes cannot
 * deadlock), every object of that node is stamped with it, and the node's long-poll is notified on
 * commit. Must run in the transaction of the change that causes it (the version and the change
 * commit together). Returns each node's new version.
 */
export async function upsertNodeObjects(db: Executor, rows: readonly NodeObjectWrite[]): Promise<Map<number, number>> {
  if (rows.length === 0) return new Map();
  const nodeIds = [...new Set(rows.map((r) => r.nodeId))].sort((a, b) => a - b);
  const { rows: bumped } = await sql<{ id: string | number; version: string | number }>`
    update nodes n set version = n.version + 1, updated_at = now()
    from (select id from nodes where id = any(${nodeIds}::bigint[]) order by id for update) locked
    where n.id = locked.id
    returning n.id, n.version, pg_notify(${NODES_NOTIFY_CHANNEL}, n.id::text)::text as notified`.execute(db);
  const versions = new Map(bumped.map((b) => [Number(b.id), Number(b.version)]));
  const payload = rows.filter((r) => versions.has(r.nodeId)).map((r) => ({ node_id: r.nodeId, kind: r.kind, object_id: r.objectId, client_id: r.clientId, state: r.state, spec: r.spec }));
  if (payload.length === 0) return versions;
  await sql`
    insert into node_objects as o (node_id, kind, object_id, client_id, version, state, spec)
    select x.node_id, x.kind, x.object_id, x.client_id, n.version, x.state, x.spec
    from jsonb_to_recordset(${JSON.stringify(payload)}::jsonb) as x(node_id bigint, kind text, object_id text, client_id bigint, state text, spec jsonb)
    join nodes n on n.id = x.node_id
    on conflict (node_id, kind, object_id) do update
      set version = excluded.version, state = excluded.state, spec = excluded.spec, client_id = excluded.client_id, error = null`.execute(db);
  return versions;
}
