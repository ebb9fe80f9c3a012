import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';

/** The channel a node's desired-state change is announced on (payload: the node id), on commit. */
export const NODES_NOTIFY_CHANNEL = 'hostplane_nodes';

/**
 * Takes the row locks of the given nodes in id order (so two writers touching the same nodes cannot
 * deadlock), bumps each node's version by one and announces it on NODES_NOTIFY_CHANNEL. The
 * notification goes out when the transaction commits and not at all if it rolls back, so a waiting
 * agent never wakes for a change it cannot see. Returns the new version per node found.
 */
export async function bumpNodeVersions(db: Executor, nodeIds: number[], now: Date): Promise<{ id: number; version: number }[]> {
  if (nodeIds.length === 0) return [];
  const { rows } = await sql<{ id: number; version: number | string }>`
    with b as (
      update nodes n set version = n.version + 1, updated_at = ${now}
      from (select id from nodes where id = any(${nodeIds}::bigint[]) order by id for update) l
      where n.id = l.id
      returning n.id, n.version
    )
    select b.id, b.version, pg_notify(${NODES_NOTIFY_CHANNEL}, b.id::text)::text as notified from b`.execute(db);
  return rows.map((r) => ({ id: Number(r.id), version: Number(r.version) }));
}

export interface NodeObjectRow {
  node_id: number;
  kind: 'site';
  object_id: string;
  client_id: number | null;
  version: number;
  state: 'present' | 'absent';
  spec: unknown;
}

/**
 * Writes desired objects in one statement. A new version clears the last error: it was about an
 * older spec, and the object is "applying" again until the node reports on this one.
 */
export async function upsertNodeObjectRows(db: Executor, rows: NodeObjectRow[]): Promise<void> {
  if (rows.length === 0) return;
  await sql`
    insert into node_objects (node_id, kind, object_id, client_id, version, state, spec)
    select x.node_id, x.kind, x.object_id, x.client_id, x.version, x.state, coalesce(x.spec, 'null'::jsonb)
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
      as x(node_id bigint, kind text, object_id text, client_id bigint, version bigint, state text, spec jsonb)
    on conflict (node_id, kind, object_id) do update set
      client_id = excluded.client_id, version = excluded.version, state = excluded.state, spec = excluded.spec, error = null`.execute(db);
}
