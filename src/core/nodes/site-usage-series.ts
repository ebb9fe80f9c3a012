import { AppError } from '../../errors/app-error.js';
import type { Ctx } from '../context.js';
import { findSiteIdsById } from '../sites/site.repository.js';
import { siteNodeViews, type SiteNodeView } from './site-node-view.js';
import { findDailyUsage } from './site-usage.repository.js';

// A site's usage per day as its node reported it, with where it is served: what the consoles' usage
// charts draw. Operators read any live site, a reseller only its own (another's is not found, so ids
// cannot be probed), a client area only the site its session is of.

export interface SiteUsageSeries {
  site: string;
  /** The node serving the site and its view of the site's object; null: not placed. */
  node: SiteNodeView | null;
  /** The window, as UTC days (YYYY-MM-DD), both included. */
  since: string;
  until: string;
  /** One entry per UTC day that has a sample, oldest first: the last storage seen and the transfer counted that day. */
  days: { day: string; storage_bytes: number; transfer_bytes: number }[];
}

const MAX_DAYS = 366;

function parseSiteId(raw: unknown): number {
  const id = typeof raw === 'string' && /^[1-9][0-9]{0,15}$/.test(raw) ? Number(raw) : typeof raw === 'number' && Number.isSafeInteger(raw) && raw > 0 ? raw : null;
  if (id === null) throw AppError.validation({ id: ['must be a client id'] });
  return id;
}

function parseDays(raw: unknown): number {
  const days = raw === undefined ? 30 : typeof raw === 'string' && /^[0-9]{1,3}$/.test(raw) ? Number(raw) : NaN;
  if (!(days >= 1 && days <= MAX_DAYS)) throw AppError.validation({ days: [`must be a whole number of days from 1 to ${MAX_DAYS}`] });
  return days;
}

async function seriesOf(ctx: Ctx, id: number, days: number): Promise<SiteUsageSeries> {
  const now = ctx.clock().getTime();
  const since = new Date(now - (days - 1) * 86_400_000).toISOString().slice(0, 10);
  const [daily, nodes] = await Promise.all([findDailyUsage(ctx.db, id, since), siteNodeViews(ctx, [id])]);
  return { site: `site${id}`, node: nodes.get(id) ?? null, since, until: new Date(now).toISOString().slice(0, 10), days: daily };
}

/** A live site's daily usage over the last `days` days (1-366, default 30), for an operator or the site's reseller. */
export async function getSiteUsageSeries(ctx: Ctx, rawId: unknown, rawDays: unknown): Promise<SiteUsageSeries> {
  const actor = ctx.actor;
  if (actor.kind !== 'operator' && actor.kind !== 'system' && actor.kind !== 'reseller') throw new AppError('forbidden', "only an administrator or the site's reseller may read site usage");
  const id = parseSiteId(rawId);
  const days = parseDays(rawDays);
  if (!(await findSiteIdsById(ctx.db, id, actor.kind === 'reseller' ? actor.resellerId : undefined)).length) throw AppError.notFound('client');
  return seriesOf(ctx, id, days);
}

/**
 * The daily usage of the site a client-area session is of. The caller vouches for `clientId` (it
 * comes from the session, never from the request), so only the window is checked here.
 */
export async function getOwnSiteUsageSeries(ctx: Ctx, clientId: number, rawDays: unknown): Promise<SiteUsageSeries> {
  return seriesOf(ctx, clientId, parseDays(rawDays));
}
