import { AppError } from '../../errors/app-error.js';
import { inTransaction, type Ctx } from '../context.js';
import type { DatabaseSpec, SiteSpec } from './agent-wire.schema.js';
import { bumpNodeVersions, upsertNodeObjectRows, type NodeObjectRow } from './node-objects.repository.js';

/** One desired object for a node; `absent` asks the node to remove it (its spec may be partial or null). */
export type NodeObjectInput =
  | { kind: 'site'; objectId: string; clientId: number | null; state: 'present'; spec: SiteSpec }
  | { kind: 'site'; objectId: string; clientId: number | null; state: 'absent'; spec: Partial<SiteSpec> | null }
  | { kind: 'database'; objectId: string; clientId: number | null; state: 'present'; spec: DatabaseSpec }
  | { kind: 'database'; objectId: string; clientId: number | null; state: 'absent'; spec: Partial<DatabaseSpec> | null };

export type NodeObjectWrite = NodeObjectInput & { nodeId: number };

/**
 * Writes desired objects for any number of nodes, set-based: each node involved gets its row lock
 * taken and its version bumped once, every object written is stamped with its node's new version, and
 * the change is announced (NOTIFY `hostplane_nodes`, payload the node id) on commit, all in the
 * caller's transaction when there is one, so no change is visible without its version and
 * notification. A later write of the same object in `rows` wins. Returns each node's new version.
 *
 * Specs are trusted as built by the caller (the doors refuse hostile names; the agent checks again).
 * An unknown node id is `not_found` and nothing is written.
 */
export async function upsertNodeObjects(ctx: Ctx, rows: readonly NodeObjectWrite[]): Promise<Map<number, number>> {
  if (rows.length === 0) return new Map();
  const latest = new Map<string, NodeObjectWrite>();
  for (const r of rows) latest.set(`${r.nodeId}\u0000${r.kind}\u0000${r.objectId}`, r);
  const nodeIds = [...new Set(rows.map((r) => r.nodeId))].sort((a, b) => a - b);
  return inTransaction(ctx, async (tx) => {
    const bumped = await bumpNodeVersions(tx.db, nodeIds, tx.clock());
    const versions = new Map(bumped.map((b) => [b.id, b.version]));
    const missing = nodeIds.filter((id) => !versions.has(id));
    if (missing.length) throw new AppError('not_found', `node ${missing.join(', ')} not found`);
    const writes: NodeObjectRow[] = [...latest.values()].map((r) => ({
      node_id: r.nodeId,
      kind: r.kind,
      object_id: r.objectId,
      client_id: r.clientId,
      version: versions.get(r.nodeId)!,
      state: r.state,
      spec: r.spec,
    }));
    await upsertNodeObjectRows(tx.db, writes);
    return versions;
  });
}

/** The one-node form of upsertNodeObjects: returns the node's new version. */
export async function bumpNodeObjects(ctx: Ctx, nodeId: number, objects: readonly NodeObjectInput[]): Promise<number> {
  const versions = await upsertNodeObjects(ctx, objects.map((o) => ({ ...o, nodeId })));
  return versions.get(nodeId) ?? 0;
}
