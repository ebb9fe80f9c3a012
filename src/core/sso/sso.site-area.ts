import { AppError } from '../../errors/app-error.js';
import type { Ctx } from '../context.js';
import { findSites, type SiteRow } from '../sites/site.repository.js';
import { sizeInBytes } from '../sites/site.catalog.js';
import { loadPlans, valueReader, type PlanBook } from '../sites/site.plans.js';
import { asBool } from '../sites/site-targets.js';
import { bandwidthPeriod } from '../sites/site-usage.js';
import { findMeasuredUsage } from '../nodes/site-usage.repository.js';
import { getOwnSiteUsageSeries, type SiteUsageSeries } from '../nodes/site-usage-series.js';
import * as repo from './sso.repository.js';

/**
 * What a site's client area shows of the site itself: its users and its use against its quotas,
 * read from the site's resolved service values (its own, else its plan's). A value the service
 * catalog does not have reads null, and the console shows it as unknown. Reads only: files live on
 * the hosting node; the site's databases are core/sites/site-databases.ts.
 */

async function siteOf(ctx: Ctx, clientId: number): Promise<{ site: SiteRow; book: PlanBook }> {
  const header = await repo.findClientHeader(ctx.db, clientId);
  // A SaaS instance has its own page (GET /client/v1/instance); these are a hosting site's.
  if (!header || header.is_instance) throw new AppError('not_found', 'this account is not a hosting site', { reason: 'not_a_site' });
  const [site] = await findSites(ctx.db, { ids: [clientId] });
  if (!site) throw AppError.notFound('site');
  return { site, book: await loadPlans(ctx) };
}

const int = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v.trim()) : null);
const flag = (v: unknown): boolean | null => asBool(v) ?? null;

export interface ClientAreaUsers {
  /** users,max: 0 or null means no limit; the administrator does not count against it. */
  max_users: number | null;
  users_count: number;
  users: { id: number; login: string; name: string | null; role: string; disabled: boolean }[];
}

export async function listClientAreaSiteUsers(ctx: Ctx, clientId: number): Promise<ClientAreaUsers> {
  const { site, book } = await siteOf(ctx, clientId);
  const rows = await repo.listClientUsers(ctx.db, clientId);
  return {
    max_users: int(valueReader(book, 'users', 'max')(site)),
    users_count: rows.filter((u) => u.role !== 'client_admin' && !u.disabled_at).length,
    users: rows.map((u) => ({ id: u.id, login: u.login, name: u.name, role: u.role, disabled: u.disabled_at !== null })),
  };
}

const bytesOf = (size: number | null, units: unknown): number | null => (size === null ? null : sizeInBytes(size, units));

export interface ClientAreaUsage {
  /** used_bytes: null until the hosting node reports what a site stores and transfers; transfer is the current bandwidth period's. */
  storage: { quota_bytes: number | null; used_bytes: number | null };
  bandwidth: { enabled: boolean | null; threshold_bytes: number | null; used_bytes: number | null };
}

/**
 * The site's storage quota (diskquota,quota in diskquota,units, MB when unset) and transfer threshold
 * (bandwidth,threshold, both kept in MB by the catalog), with what is used where it is measured.
 */
export async function getClientAreaUsage(ctx: Ctx, clientId: number): Promise<ClientAreaUsage> {
  const { site, book } = await siteOf(ctx, clientId);
  const read = (service: string, param: string) => valueReader(book, service, param)(site);
  const measured = (await findMeasuredUsage(ctx.db, [clientId])).get(clientId);
  // The stored period's transfer counts only while that period lasts; a new one starts at nothing.
  const period = bandwidthPeriod(ctx.clock(), int(read('bandwidth', 'rollover')) || 1);
  const transfer = measured ? (measured.periodBegin.getTime() === period.begin * 1000 ? measured.periodTransfer : 0) : null;
  return {
    storage: { quota_bytes: bytesOf(int(read('diskquota', 'quota')), read('diskquota', 'units')), used_bytes: measured ? measured.storage : null },
    bandwidth: { enabled: flag(read('bandwidth', 'enabled')), threshold_bytes: bytesOf(int(read('bandwidth', 'threshold')), read('bandwidth', 'units')), used_bytes: transfer },
  };
}

/** The site's storage and transfer per day, and the node serving it, for the Usage page's chart. */
export async function getClientAreaUsageSeries(ctx: Ctx, clientId: number, rawDays: unknown): Promise<SiteUsageSeries> {
  await siteOf(ctx, clientId);
  return getOwnSiteUsageSeries(ctx, clientId, rawDays);
}
