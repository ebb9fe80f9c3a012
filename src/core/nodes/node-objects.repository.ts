import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';
import type { NodeObjectKind } from '../../db/schema.js';

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
  kind: NodeObjectKind;
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

export interface WireObjectRow {
  kind: NodeObjectKind;
  object_id: string;
  version: number;
  state: 'present' | 'absent';
  spec: unknown;
}

/**
 * The node's version, and its objects changed after `since` up to it (all of them without `since`).
 * `full` when the answer is the node's whole state: without `since`, or when no object of the node is
 * as old as `since` (after a restore every object is stamped anew: docs/adr/0026), so the agent may
 * also remove what it holds and the answer does not list.
 */
export async function readNodeState(db: Executor, nodeId: number, since: number | undefined): Promise<{ version: number; full: boolean; objects: WireObjectRow[] } | undefined> {
  const node = await db.selectFrom('nodes').select('version').where('id', '=', nodeId).executeTakeFirst();
  if (!node) return undefined;
  const version = Number(node.version);
  if (since !== undefined && since >= version) return { version, full: false, objects: [] };
  // Every version up to the one just read has committed (each took the node's row lock after the
  // previous one's transaction ended), so bounding by it gives a consistent cut.
  let q = db
    .selectFrom('node_objects')
    .select(['kind', 'object_id', 'version', 'state', 'spec'])
    .where('node_id', '=', nodeId)
    .where('version', '<=', version);
  if (since !== undefined) q = q.where('version', '>', since);
  const rows = await q.orderBy('version').orderBy('object_id').execute();
  let full = since === undefined;
  if (!full && rows.length > 0) {
    const older = await db.selectFrom('node_objects').select('version').where('node_id', '=', nodeId).where('version', '<=', since!).limit(1).executeTakeFirst();
    full = older === undefined;
  }
  return { version, full, objects: rows.map((r) => ({ ...r, version: Number(r.version) })) };
}

export async function readNodeVersion(db: Executor, nodeId: number): Promise<number | undefined> {
  const node = await db.selectFrom('nodes').select('version').where('id', '=', nodeId).executeTakeFirst();
  return node ? Number(node.version) : undefined;
}

export interface StatusRow {
  kind: NodeObjectKind;
  object_id: string;
  version: number;
  ok: boolean;
  error: string | null;
}

/**
 * Records what the node reported, set-based. A report never claims more than the object's current
 * version, and a failure about an older version than the current one is dropped (the spec it failed
 * on is no longer wanted). Objects being removed are forgotten once applied at their version.
 * Returns how many reports matched an object of this node.
 */
export async function recordStatusRows(db: Executor, nodeId: number, rows: StatusRow[], now: Date): Promise<{ matched: number; forgotten: number }> {
  if (rows.length === 0) return { matched: 0, forgotten: 0 };
  const { rows: updated } = await sql<{ object_id: string }>`
    update node_objects o set
      applied_version = case when x.ok then greatest(coalesce(o.applied_version, 0), least(x.version, o.version)) else o.applied_version end,
      error = case when x.version >= o.version then (case when x.ok then null else coalesce(x.error, 'failed') end) else o.error end,
      reported_at = ${now}
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as x(kind text, object_id text, version bigint, ok boolean, error text)
    where o.node_id = ${nodeId} and o.kind = x.kind and o.object_id = x.object_id
    returning o.object_id`.execute(db);
  const absent = rows.filter((r) => r.ok).map((r) => r.object_id);
  let forgotten = 0;
  if (absent.length) {
    const r = await db
      .deleteFrom('node_objects')
      .where('node_id', '=', nodeId)
      .where('state', '=', 'absent')
      .where('object_id', '=', sql<string>`any(${absent}::text[])`)
      .where(sql<boolean>`applied_version >= version`)
      .executeTakeFirst();
    forgotten = Number(r.numDeletedRows);
  }
  return { matched: updated.length, forgotten };
}

export interface NodeObjectListRow {
  kind: NodeObjectKind;
  object_id: string;
  client_id: number | null;
  state: 'present' | 'absent';
  version: number;
  applied_version: number | null;
  error: string | null;
  reported_at: Date | null;
}

/** `behindOnly`: objects the node has not applied at their current version (failed ones included). */
export async function listNodeObjectRows(db: Executor, nodeId: number, q: { failedOnly: boolean; behindOnly?: boolean; after?: string; limit: number }): Promise<NodeObjectListRow[]> {
  let query = db
    .selectFrom('node_objects')
    .select(['kind', 'object_id', 'client_id', 'state', 'version', 'applied_version', 'error', 'reported_at'])
    .where('node_id', '=', nodeId);
  if (q.failedOnly) query = query.where('error', 'is not', null);
  if (q.behindOnly) query = query.where(sql<boolean>`(applied_version is null or applied_version < version or error is not null)`);
  if (q.after !== undefined) query = query.where('object_id', '>', q.after);
  const rows = await query.orderBy('object_id').limit(q.limit).execute();
  return rows.map((r) => ({
    ...r,
    client_id: r.client_id === null ? null : Number(r.client_id),
    version: Number(r.version),
    applied_version: r.applied_version === null ? null : Number(r.applied_version),
  }));
}

/** One desired object to write on a node (state `absent` asks the node to remove it). */
export interface NodeObjectWrite {
  nodeId: number;
  kind: NodeObjectKind;
  objectId: string;
  clientId: number | null;
  state: 'present' | 'absent';
  spec: unknown;
}

/**
 * Writes many objects on many nodes in two statements, whatever their number: each node named gets
 * one new version under its row lock (bumpNodeVersions), every object of that node is stamped with
 * it, and the node's long-poll is notified on commit. Must run in the transaction of the change that
 * causes it (the version and the change commit together). The last write of one object in `rows`
 * wins. Returns each node's new version; objects of unknown nodes are not written.
 */
export async function upsertNodeObjects(db: Executor, rows: readonly NodeObjectWrite[]): Promise<Map<number, number>> {
  if (rows.length === 0) return new Map();
  const latest = new Map<string, NodeObjectWrite>();
  for (const r of rows) latest.set(`${r.nodeId}\u0000${r.kind}\u0000${r.objectId}`, r);
  const nodeIds = [...new Set(rows.map((r) => r.nodeId))].sort((a, b) => a - b);
  const versions = new Map((await bumpNodeVersions(db, nodeIds, new Date())).map((b) => [b.id, b.version]));
  const writes: NodeObjectRow[] = [];
  for (const r of latest.values()) {
    const version = versions.get(r.nodeId);
    if (version === undefined) continue;
    writes.push({ node_id: r.nodeId, kind: r.kind, object_id: r.objectId, client_id: r.clientId, version, state: r.state, spec: r.spec });
  }
  await upsertNodeObjectRows(db, writes);
  return versions;
}
