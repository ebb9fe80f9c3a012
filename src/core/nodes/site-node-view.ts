import type { Ctx } from '../context.js';
import { healthySince } from './placement.js';
import { findSiteNodes } from './site-objects.repository.js';

/** Where a site is served, as collect, the admin API and the console show it; null: not placed. */
export interface SiteNodeView {
  name: string;
  /** The node's health: a heartbeat within the unhealthy window, unless the operator drains it. */
  status: 'healthy' | 'unhealthy' | 'draining';
  /** The site's object on that node: the node applied its latest version, is still to, or failed to. */
  object: 'applying' | 'applied' | 'failed';
  error: string | null;
}

export async function siteNodeViews(ctx: Ctx, ids: readonly number[]): Promise<Map<number, SiteNodeView>> {
  const rows = await findSiteNodes(ctx.db, ids);
  const since = healthySince(ctx).getTime();
  const out = new Map<number, SiteNodeView>();
  for (const r of rows) {
    const status = r.node_state === 'draining' ? 'draining' : r.last_heartbeat_at !== null && new Date(r.last_heartbeat_at).getTime() > since ? 'healthy' : 'unhealthy';
    const applied = r.version !== null && r.applied_version !== null && BigInt(r.applied_version) >= BigInt(r.version);
    const object = r.error !== null ? 'failed' : applied ? 'applied' : 'applying';
    out.set(r.id, { name: r.node_name, status, object, error: r.error });
  }
  return out;
}
