import type { Ctx } from '../context.js';
import { healthySince, takeLeastLoaded } from './placement.js';
import { findPlacementCandidates, lockPlacement, setDbNodes } from './site-objects.repository.js';

// Placement on the db role: which db node holds a client's databases (a SaaS instance's own
// database, a site's MariaDB/PostgreSQL databases). The same rule as the web role: healthy, not
// draining nodes with the role, narrowed by the plan's node label, the one holding the fewest live
// clients wins; decided once, in the transaction that needs it, under the same lock.

export interface DbPlacementWant {
  clientId: number;
  /** The plan's `key=value` node label, if any. */
  nodeLabel: string | null;
}

/**
 * Places the clients given on db nodes (callers pass only clients with no `db_node_id` that need
 * one). Returns each placed client's node; a client missing from the map found no candidate and
 * stays unplaced, which is the caller's to report.
 */
export async function placeOnDbNodes(tx: Ctx, wants: readonly DbPlacementWant[]): Promise<Map<number, number>> {
  const placed = new Map<number, number>();
  if (wants.length === 0) return placed;
  await lockPlacement(tx.db);
  const nodes = await findPlacementCandidates(tx.db, healthySince(tx), 'db');
  for (const want of wants) {
    const best = takeLeastLoaded(nodes, want.nodeLabel);
    if (best) placed.set(want.clientId, best.id);
  }
  await setDbNodes(tx.db, [...placed].map(([clientId, nodeId]) => ({ clientId, nodeId })));
  return placed;
}
