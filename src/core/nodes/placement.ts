import type { Ctx } from '../context.js';
import { nodeSettingsOf } from './node.service.js';
import { loadPlans, valueReader, type PlanBook } from '../sites/site.plans.js';
import { anyPlaceableNode, findPlacementCandidates, findUnplacedSites, lockPlacement, setSiteNodes } from './site-objects.repository.js';

// Placement: which node a new site goes to, decided once, in the transaction that creates the site.
// Only healthy (a heartbeat within the unhealthy window), not draining nodes with the web role are
// candidates; a plan's node label narrows them; the one holding the fewest live sites wins. No
// candidate is not an error: the site stays "not placed", as every site was before nodes existed.


/** Heartbeats after this instant make a node healthy. */
export function healthySince(ctx: Ctx): Date {
  return new Date(ctx.clock().getTime() - nodeSettingsOf(ctx).unhealthySeconds * 1000);
}

/** A plan's `key=value` node label as a pair; null when there is none or it cannot be read. */
export function parseNodeLabel(label: string | null | undefined): { key: string; value: string } | null {
  if (!label) return null;
  const at = label.indexOf('=');
  return at > 0 ? { key: label.slice(0, at), value: label.slice(at + 1) } : null;
}

/** Whether a site's resolved values ask for the web role (apache,enabled). */
export function servedOnWeb(book: PlanBook, site: { plan_id: number | null; service_meta: Record<string, Record<string, unknown>> }): boolean {
  const read = valueReader(book, 'apache', 'enabled');
  return read({ domains: [], admin_user: null, email_address: null, plan_id: site.plan_id, plan_uid: null, invoice: null, parent_invoice: null, user_count: 0, service_meta: site.service_meta ?? {} }) === 1;
}

/** Whether a creating door should open placement's transaction at all: some node could take a site now. */
export async function placementPossible(ctx: Ctx): Promise<boolean> {
  return anyPlaceableNode(ctx.db, healthySince(ctx));
}

/** Whether a new client's creation has node objects to write: a web node could take it, or relay nodes need its domains. */
export async function nodesWantNewClients(ctx: Ctx): Promise<boolean> {
  return anyPlaceableNode(ctx.db, healthySince(ctx), { orRelay: true });
}

/**
 * Places the live, unplaced sites among `ids` that the web role serves (and that have a domain to
 * serve), in three statements whatever their number. Placements are serialised by a
 * transaction-scoped lock taken before the nodes' sites are counted, so sites created at the same
 * time spread instead of all choosing the same node; within one call each site placed counts
 * towards the next choice. Returns how many were placed.
 */
export async function placeSites(tx: Ctx, ids: readonly number[], book?: PlanBook): Promise<number> {
  const sites = await findUnplacedSites(tx.db, ids);
  if (sites.length === 0) return 0;
  const plans = book ?? (await loadPlans(tx));
  const wanted = sites.filter((s) => s.domains > 0 && servedOnWeb(plans, s));
  if (wanted.length === 0) return 0;
  await lockPlacement(tx.db);
  const nodes = await findPlacementCandidates(tx.db, healthySince(tx));
  const placements: { siteId: number; nodeId: number }[] = [];
  for (const site of wanted) {
    const best = takeLeastLoaded(nodes, site.node_label);
    if (best) placements.push({ siteId: site.id, nodeId: best.id });
  }
  await setSiteNodes(tx.db, placements);
  return placements.length;
}

/**
 * The candidate with the fewest clients among those carrying the plan's label (any, without one),
 * counted as taking one more; undefined when none fits. Callers hand it the candidates of one
 * placement in turn, so each choice counts the ones before it.
 */
export function takeLeastLoaded<N extends { labels: Record<string, string>; sites: number }>(nodes: N[], nodeLabel: string | null): N | undefined {
  const label = parseNodeLabel(nodeLabel);
  let best: N | undefined;
  for (const node of nodes) {
    if (label && node.labels[label.key] !== label.value) continue;
    if (!best || node.sites < best.sites) best = node;
  }
  if (best) best.sites += 1;
  return best;
}
