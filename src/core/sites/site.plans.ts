import type { Ctx } from '../context.js';
import { resolveDefaults, SERVICES, specOf } from './site.params.js';
import * as repo from './site.repository.js';
import type { PlanRecord, SiteRow } from './site.repository.js';

// A site's service values: its record's fields, its own overrides, else its plan's (inherited)
// defaults. Shared by the site use cases and by collect, which reads them for thousands of sites.

/**
 * Sites per statement when many sites' values are read (collect, storage quotas): on the embedded
 * database each page is one short statement, so other requests get their turn in between.
 */
export const COLLECT_PAGE = 250;

export interface PlanBook {
  byId: Map<number, PlanRecord>;
  byUid: Map<string, PlanRecord>;
  /** Resolved defaults by plan id, filled on first use: a collect over thousands of sites resolves each plan once. */
  resolved: Map<number | null, Record<string, Record<string, unknown>>>;
}

export async function loadPlans(ctx: Ctx): Promise<PlanBook> {
  const plans = await repo.listPlanRecords(ctx.db);
  return { byId: new Map(plans.map((p) => [p.id, p])), byUid: new Map(plans.map((p) => [p.uid, p])), resolved: new Map() };
}

/** The plan and its ancestors, nearest first; a cycle stops at the first repeat. */
export function planChain(book: PlanBook, planId: number | null): PlanRecord[] {
  const chain: PlanRecord[] = [];
  const seen = new Set<number>();
  for (let id = planId; id !== null && !seen.has(id); ) {
    const plan = book.byId.get(id);
    if (!plan) break;
    chain.push(plan);
    seen.add(id);
    id = plan.parent_id;
  }
  return chain;
}

export function planDefaults(book: PlanBook, planId: number | null): Record<string, Record<string, unknown>> {
  let defaults = book.resolved.get(planId);
  if (!defaults) {
    defaults = resolveDefaults(planChain(book, planId).map((p) => p.service_defaults));
    book.resolved.set(planId, defaults);
  }
  return defaults;
}

/** What the service values of a site are made of (a full SiteRow, or the leaner row collect reads). */
export type SiteView = Pick<SiteRow, 'domains' | 'admin_user' | 'email_address' | 'plan_id' | 'plan_uid' | 'invoice' | 'parent_invoice' | 'user_count' | 'service_meta'>;

/**
 * How to read one service value of a site (a record field, its override, else its plan's default;
 * another door's name reads its twin), with the spec looked up once: collect reads the same few
 * parameters of thousands of sites.
 */
export function valueReader(book: PlanBook, service: string, param: string): (site: SiteView) => unknown {
  const spec = specOf(service, param);
  // Passwords and keys are written, never read back.
  if (!spec || spec.secret || spec.store === 'auth') return () => null;
  if (spec.sameAs) {
    const [s, p] = spec.sameAs.split('.') as [string, string];
    return valueReader(book, s, p);
  }
  if (spec.store === 'record') return (site) => recordValue(site, service, param);
  const own = (site: SiteView): unknown => {
    const mine = site.service_meta?.[service];
    // A site's own null is a value ("no limit"), not "unset".
    if (mine && typeof mine === 'object' && Object.hasOwn(mine, param)) return mine[param] ?? null;
    return planDefaults(book, site.plan_id)[service]?.[param] ?? null;
  };
  if (!spec.derive) return own;
  const isEnabled = valueReader(book, service, 'enabled');
  const derive = spec.derive;
  return (site) => {
    const value = own(site);
    if (value !== null || !site.admin_user || isEnabled(site) !== 1) return value;
    return derivedDbName(site.admin_user, derive, spec.max ?? 32);
  };
}

/**
 * What ApisCP derives from the admin login when a database service is enabled without names: the
 * prefix `<admin>_` and the administrative user `<admin>`, made valid database identifiers.
 */
export function derivedDbName(admin: string, kind: 'dbprefix' | 'dbuser', max: number): string {
  let name = admin.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  if (!/^[a-z]/.test(name)) name = `u${name}`;
  return kind === 'dbprefix' ? `${name.slice(0, max - 1)}_` : name.slice(0, max);
}

/** The parameters a value of `service.param` is read from, besides itself (derived values read the admin login). */
export function readsAlso(service: string, param: string): [string, string][] {
  return specOf(service, param)?.derive ? [['siteinfo', 'admin_user'], [service, 'enabled']] : [];
}

/** Every service value of a site: record fields, its overrides, then its plan's defaults. */
export function siteServices(site: SiteView, book: PlanBook): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [service, params] of Object.entries(SERVICES)) {
    out[service] = {};
    for (const param of Object.keys(params)) out[service][param] = valueReader(book, service, param)(site);
  }
  return out;
}

export function recordValue(site: SiteView, service: string, param: string): unknown {
  switch (`${service}.${param}`) {
    case 'siteinfo.domain':
      return site.domains[0] ?? null;
    case 'siteinfo.admin_user':
      return site.admin_user;
    case 'siteinfo.email':
      return site.email_address;
    case 'siteinfo.plan':
      return site.plan_uid;
    case 'siteinfo.enabled':
      return 1;
    case 'billing.invoice':
      return site.invoice;
    case 'billing.parent_invoice':
      return site.parent_invoice;
    case 'aliases.aliases':
      return site.domains.slice(1);
    case 'users.max':
      return site.user_count;
  }
  return null;
}
