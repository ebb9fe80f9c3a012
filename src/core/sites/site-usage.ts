import { setImmediate } from 'node:timers/promises';
import { AppError } from '../../errors/app-error.js';
import type { Ctx } from '../context.js';
import { sizeInBytes, UNIT_BYTES } from './site.catalog.js';
import { COLLECT_PAGE, loadPlans, valueReader, type PlanBook, type SiteView } from './site.plans.js';
import * as repo from './site.repository.js';
import type { CollectRow } from './site.repository.js';
import { siteName } from './site.schema.js';
import { sumInstanceFiles } from './site-usage.repository.js';
import { findMeasuredUsage } from '../nodes/site-usage.repository.js';
import { lookupTargets, requireSiteManager } from './site-targets.js';

// `admin:get-usage`: what each site uses against its limits, in ApisCP's shapes and units, for the
// billing modules' usage updates (WHMCS divides storage KB and bandwidth bytes into MB).
//
// Only what Hostplane really measures is reported as used: what the site's node last reported
// (storage, and the transfer of the current bandwidth period, from `POST /agent/v1/usage`), else a
// SaaS instance's stored files as storage (bytes and number of files). Hostplane runs no site
// processes it measures, so resource figures used are 0; each limit is the site's resolved value.

export const USAGE_FIELDS = ['storage', 'bandwidth', 'cgroup', 'domains', 'users'] as const;
export type UsageField = (typeof USAGE_FIELDS)[number];

/** Storage in KB (qused/qsoft/qhard) and files (fused/fsoft/fhard), as ApisCP's diskquota reports it. */
export interface StorageUsage {
  qused: number;
  qsoft: number;
  qhard: number;
  fused: number;
  fsoft: number;
  fhard: number;
}

/** Transfer in bytes over the current period; begin and end are unix times of that period. */
export interface BandwidthUsage {
  sum: number;
  threshold: number;
  begin: number;
  end: number;
}

/** Resource figures: memory in MB, cpu as cgroup,cpu counts it, proclimit in processes; 0 limit means none set. */
export interface CgroupUsage {
  memory: { used: number; limit: number };
  cpu: { used: number; limit: number };
  proclimit: { used: number; limit: number };
}

export interface SiteUsage {
  storage: StorageUsage;
  bandwidth: BandwidthUsage;
  cgroup: CgroupUsage;
  domains: number;
  users: number;
}

function count(v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : NaN;
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}

/**
 * The bandwidth period `now` falls in: it starts on the rollover day of the month (clamped to the
 * month's last day) at 00:00 UTC and ends at the next one.
 */
export function bandwidthPeriod(now: Date, rollover: number): { begin: number; end: number } {
  const day = rollover >= 1 && rollover <= 31 ? Math.floor(rollover) : 1;
  const at = (year: number, month: number) => {
    const last = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
    return Date.UTC(year, month, Math.min(day, last));
  };
  let year = now.getUTCFullYear();
  let month = now.getUTCMonth();
  if (at(year, month) > now.getTime()) {
    month -= 1;
    if (month < 0) {
      month = 11;
      year -= 1;
    }
  }
  const begin = at(year, month);
  const end = month === 11 ? at(year + 1, 0) : at(year, month + 1);
  return { begin: begin / 1000, end: end / 1000 };
}

/** Readers of the limits, built once per call: the catalog may or may not know a parameter (unknown ones read null). */
function limitReaders(book: PlanBook) {
  return {
    quota: valueReader(book, 'diskquota', 'quota'),
    fquota: valueReader(book, 'diskquota', 'fquota'),
    threshold: valueReader(book, 'bandwidth', 'threshold'),
    units: valueReader(book, 'bandwidth', 'units'),
    rollover: valueReader(book, 'bandwidth', 'rollover'),
    memory: valueReader(book, 'cgroup', 'memory'),
    cpu: valueReader(book, 'cgroup', 'cpu'),
    proclimit: valueReader(book, 'cgroup', 'proclimit'),
  };
}

type Measured = Awaited<ReturnType<typeof findMeasuredUsage>> extends Map<number, infer V> ? V : never;

function usageOf(site: SiteView, read: ReturnType<typeof limitReaders>, files: { bytes: number; files: number } | undefined, measured: Measured | undefined, users: number, now: Date): SiteUsage {
  const quotaKb = count(read.quota(site)) * 1024;
  const fquota = count(read.fquota(site));
  // bandwidth,threshold is stored in bandwidth,units (the catalog converts to MB and keeps 'MB').
  const thresholdBytes = sizeInBytes(count(read.threshold(site)), read.units(site)) ?? count(read.threshold(site)) * UNIT_BYTES.MB;
  const period = bandwidthPeriod(now, count(read.rollover(site)) || 1);
  // The stored period's transfer counts only while that period lasts.
  const sum = measured && measured.periodBegin.getTime() === period.begin * 1000 ? measured.periodTransfer : 0;
  const usedBytes = measured ? measured.storage : (files?.bytes ?? 0);
  return {
    storage: { qused: Math.ceil(usedBytes / 1024), qsoft: quotaKb, qhard: quotaKb, fused: files?.files ?? 0, fsoft: fquota, fhard: fquota },
    bandwidth: { sum, threshold: thresholdBytes, ...period },
    cgroup: {
      memory: { used: 0, limit: count(read.memory(site)) },
      cpu: { used: 0, limit: count(read.cpu(site)) },
      proclimit: { used: 0, limit: count(read.proclimit(site)) },
    },
    domains: site.domains.length,
    users,
  };
}

export interface SiteUsageInput {
  /** One of USAGE_FIELDS, or null/undefined for every field. */
  field?: unknown;
  /** Sites, domains or invoices; absent or null for every live site. */
  sites?: unknown;
}

/**
 * Each live site's usage, keyed `siteNN`, or, when `sites` names them, by the identifier passed (a
 * group named by its invoice is keyed siteNN per site, as admin:collect keys it). An unknown entry in
 * `sites` is not_found. Sites are read a page at a time, so a server with thousands costs short statements.
 */
export async function getSiteUsage(ctx: Ctx, input: SiteUsageInput): Promise<Record<string, unknown>> {
  // A reseller's key sees its own clients only (lookupTargets and the pages are scoped to it).
  const owner = requireSiteManager(ctx);
  const field = input.field;
  if (field !== undefined && field !== null && !(typeof field === 'string' && (USAGE_FIELDS as readonly string[]).includes(field))) {
    throw AppError.validation({ field: [`must be ${USAGE_FIELDS.join(', ')} or null`] }, `field: must be ${USAGE_FIELDS.join(', ')} or null`);
  }
  const keyed = new Map<number, string>();
  let ids: number[] | undefined;
  if (input.sites !== undefined && input.sites !== null) {
    // PHP sends a list with gaps (after array_filter) as a map with integer keys: those are a list too.
    const sparse = typeof input.sites === 'object' && !Array.isArray(input.sites) && Object.keys(input.sites as object).every((k) => /^\d+$/.test(k));
    if (typeof input.sites === 'object' && !Array.isArray(input.sites) && !sparse) throw AppError.validation({ sites: ['must be a list of site ids, domains or invoices'] }, 'sites: must be a list of site ids, domains or invoices');
    const list = Array.isArray(input.sites) ? input.sites : sparse ? Object.values(input.sites as object) : [input.sites];
    if (list.some((t) => (typeof t !== 'string' && typeof t !== 'number') || t === '')) throw AppError.validation({ sites: ['must be a list of site ids, domains or invoices'] }, 'sites: must be a list of site ids, domains or invoices');
    if (list.length > 10_000) throw AppError.validation({ sites: ['at most 10000 sites at once'] }, 'sites: at most 10000 sites at once');
    const looked = list.length ? await lookupTargets(ctx, list as (string | number)[]) : [];
    ids = [];
    for (const [i, t] of looked.entries()) {
      if (!t.ids.length) throw AppError.notFound(`site, domain or invoice ${JSON.stringify(t.text)}`);
      for (const id of t.ids) {
        ids.push(id);
        if (!keyed.has(id)) keyed.set(id, t.ids.length === 1 ? String(list[i]) : siteName(id));
      }
    }
    if (ids.length === 0) return {};
  }
  const book = await loadPlans(ctx);
  const read = limitReaders(book);
  const now = ctx.clock();
  const out: Record<string, unknown> = {};
  for (let afterId: number | undefined; ; ) {
    const rows: CollectRow[] = await repo.findCollectPage(ctx.db, { ...(ids ? { ids } : {}), resellerId: owner }, { afterId, limit: COLLECT_PAGE }, { adminUser: false, meta: true });
    const pageIds = rows.map((r) => r.id);
    const [files, users, measured] = await Promise.all([sumInstanceFiles(ctx.db, pageIds), repo.countSiteUsers(ctx.db, pageIds), findMeasuredUsage(ctx.db, pageIds)]);
    for (const row of rows) {
      const site: SiteView = { ...row, plan_uid: null, admin_user: null, service_meta: row.service_meta ?? {} };
      const usage = usageOf(site, read, files.get(row.id), measured.get(row.id), users.get(row.id) ?? 0, now);
      out[keyed.get(row.id) ?? siteName(row.id)] = typeof field === 'string' ? usage[field as UsageField] : usage;
    }
    if (rows.length < COLLECT_PAGE) return out;
    afterId = rows[rows.length - 1]!.id;
    await setImmediate();
  }
}
