import type { Ctx } from '../context.js';
import { loadPlans, valueReader, type PlanBook } from '../sites/site.plans.js';
import * as siteRepo from '../sites/site.repository.js';
import { AUTH_SCOPE_KEYS } from '../sites/site-scopes.js';
import { SiteSpec, type SiteSpec as SiteSpecType } from './agent-wire.schema.js';
import { upsertNodeObjects, type NodeObjectWrite } from './node-objects.repository.js';
import { syncDatabaseObjects } from './database-objects.js';
import { placeSites, servedOnWeb } from './placement.js';
import { findSiteObjectSources, type SiteObjectSource } from './site-objects.repository.js';
import { syncDbUserObjects } from './db-user-objects.js';

// Desired state from sites. Every door's change to a site ends, in its own transaction, with
// `syncSiteObjects(tx, ids)`: the placed sites among `ids` are read as they now stand, each one's
// SiteSpec is made, and only those whose object differs from what their node holds are written, with
// one new version per node (`upsertNodeObjects`). The statements are the same for one site and for
// 10,000: a read, the plans, a setting, and the two writes.

/** The object id of a site on its node: its ApisCP name. */
export function siteObjectId(siteId: number): string {
  return `site${siteId}`;
}

/** JSON with object keys sorted, so a spec read back from jsonb compares equal to the one made here. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

function desiredSpec(site: SiteObjectSource, book: PlanBook, showReason: boolean): SiteSpecType | null {
  if ((site.status !== 'active' && site.status !== 'suspended') || site.domains.length === 0 || !servedOnWeb(book, site)) return null;
  const php = valueReader(book, 'php', 'enabled')({ domains: site.domains, admin_user: null, email_address: null, plan_id: site.plan_id, plan_uid: null, invoice: null, parent_invoice: null, user_count: 0, service_meta: site.service_meta ?? {} });
  const spec = {
    siteId: site.id,
    name: siteObjectId(site.id),
    domain: site.domains[0]!,
    aliases: site.domains.slice(1),
    status: site.status,
    suspendReason: site.status === 'suspended' && showReason ? (site.suspend_reason ?? null) : null,
    php: php === 1,
  };
  return spec as SiteSpecType;
}

export interface SyncOptions {
  /** Place the live, unplaced sites among the ids first (a site being created). */
  place?: boolean;
  book?: PlanBook;
}

/**
 * Brings the node objects of the sites `ids` in line with the sites, in the caller's transaction.
 * Returns how many objects were written.
 */
export async function syncSiteObjects(tx: Ctx, ids: readonly number[], options: SyncOptions = {}): Promise<number> {
  if (ids.length === 0) return 0;
  const book = options.book ?? (await loadPlans(tx));
  // A site's database users follow every change that reaches its web object, in the same transaction.
  const web = await syncWebObjects(tx, ids, { ...options, book });
  const dbUsers = await syncDbUserObjects(tx, ids, { book, ...(options.place ? { place: true } : {}) });
  // A SaaS instance's own database follows the same changes (suspend, resume, limits, delete).
  return web + dbUsers + (await syncDatabaseObjects(tx, ids));
}

async function syncWebObjects(tx: Ctx, ids: readonly number[], options: SyncOptions): Promise<number> {
  let book = options.book;
  if (options.place) {
    book ??= await loadPlans(tx);
    await placeSites(tx, ids, book);
  }
  const sources = await findSiteObjectSources(tx.db, ids);
  if (sources.length === 0) return 0;
  book ??= await loadPlans(tx);
  const showReason = (await siteRepo.readSetting(tx.db, AUTH_SCOPE_KEYS.show_suspension_reason)) !== 'false';
  const writes: NodeObjectWrite[] = [];
  for (const site of sources) {
    const spec = desiredSpec(site, book, showReason);
    const base = { nodeId: Number(site.node_id), kind: 'site' as const, objectId: siteObjectId(site.id), clientId: site.id };
    if (spec === null) {
      // Gone from the node: an object it holds becomes absent (keeping the last spec, which names what to remove).
      if (site.object_state === 'present') writes.push({ ...base, state: 'absent', spec: site.object_spec });
      continue;
    }
    if (!SiteSpec.safeParse(spec).success) {
      // The doors refuse such names; one written before they did must not reach a node's config.
      tx.log.warn({ site: siteObjectId(site.id), domain: spec.domain }, 'site not sent to its node: a name is not a plain A-label domain');
      continue;
    }
    if (site.object_state === 'present' && canonical(site.object_spec) === canonical(spec)) continue;
    writes.push({ ...base, state: 'present', spec });
  }
  await upsertNodeObjects(tx.db, writes);
  return writes.length;
}
