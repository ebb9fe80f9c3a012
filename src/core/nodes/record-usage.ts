import { AppError } from '../../errors/app-error.js';
import { inTransaction, type Ctx } from '../context.js';
import { sizeInBytes, UNIT_BYTES } from '../sites/site.catalog.js';
import { loadPlans, valueReader, type SiteView } from '../sites/site.plans.js';
import * as siteRepo from '../sites/site.repository.js';
import { suspendSites } from '../sites/site-lifecycle.js';
import { bandwidthPeriod } from '../sites/site-usage.js';
import { emitEvents, type WebhookEvent } from '../webhooks/webhook.events.js';
import { UsageRequest } from './agent-wire.schema.js';
import { recordDatabaseUsage } from './record-database-usage.js';
import { recordUserListPages } from './record-instance-user-lists.js';
import { recordDbUserSizes } from './db-user-objects.repository.js';
import { findSiteDbBytes, findStorageSites, findUsageSites, writeOverStorage, writeUsage, type DailyRow, type UsageRow, type UsageSite } from './site-usage.repository.js';

// Usage a node reports for its sites (`POST /agent/v1/usage`). Storage is a sample: the latest wins.
// Transfer is a counter that only grows while the site stays on that node, so what a sample adds is
// its difference from the last counter (a smaller one means the counter started again, e.g. a new
// node: all of it is new), and a sample sent twice adds nothing. The period's transfer restarts on
// the site's bandwidth,rollover day; each UTC day keeps its own row for the charts.

/** The operator's policy when a site goes over diskquota,quota or bandwidth,threshold. */
export const OVER_QUOTA_POLICIES = ['notify', 'suspend'] as const;
export type OverQuotaPolicy = (typeof OVER_QUOTA_POLICIES)[number];
export const OVER_QUOTA_POLICY_KEY = 'hostplane.over_quota_policy';

export async function readOverQuotaPolicy(ctx: Pick<Ctx, 'db'>): Promise<OverQuotaPolicy> {
  return (await siteRepo.readSetting(ctx.db, OVER_QUOTA_POLICY_KEY)) === 'suspend' ? 'suspend' : 'notify';
}

export interface RecordUsageResult {
  /** Samples counted. */
  accepted: number;
  /** Samples of objects this node does not hold (or older than what was already counted): left out. */
  ignored: number;
  /** Databases whose whole user list the control plane asks for (docs/adr/0027). */
  usersWanted?: string[];
}

const SITE_ID = /^site([1-9][0-9]{0,17})$/;

function num(v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : NaN;
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}

export async function recordUsage(ctx: Ctx, nodeId: number, raw: unknown): Promise<RecordUsageResult> {
  const parsed = UsageRequest.safeParse(raw);
  if (!parsed.success) throw AppError.validation({ samples: parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`) }, 'samples: not a usage report');
  const databases = await recordDatabaseUsage(ctx, nodeId, parsed.data);
  if (parsed.data.userLists?.length) await recordUserListPages(ctx, nodeId, parsed.data.userLists);
  // Samples of other kinds have their own recorders; a site's id is `site<n>`.
  const samples = parsed.data.samples
    .filter((s) => s.kind === 'site')
    .map((s) => ({ ...s, siteId: Number(SITE_ID.exec(s.id)?.[1] ?? 0), atMs: Date.parse(s.at) }))
    .sort((a, b) => a.atMs - b.atMs);
  const now = ctx.clock();
  const dbSamples = parsed.data.samples.filter((s) => s.kind === 'db_user');
  return inTransaction(ctx, async (tx) => {
    // A site's database sizes (db role, ADR 23): kept per engine, shown by the client console, and
    // counted with its files against diskquota,quota.
    const dbSites = await recordDbUserSizes(tx.db, nodeId, dbSamples);
    const sites = new Map((await findUsageSites(tx.db, nodeId, [...new Set(samples.map((s) => s.siteId).filter((id) => id > 0))])).map((s) => [Number(s.id), s]));
    const book = await loadPlans(tx);
    const read = {
      quota: valueReader(book, 'diskquota', 'quota'),
      threshold: valueReader(book, 'bandwidth', 'threshold'),
      units: valueReader(book, 'bandwidth', 'units'),
      rollover: valueReader(book, 'bandwidth', 'rollover'),
    };
    const viewOf = (site: Pick<UsageSite, 'plan_id' | 'service_meta'>): SiteView => ({ domains: [], admin_user: null, email_address: null, plan_id: site.plan_id, plan_uid: null, invoice: null, parent_invoice: null, user_count: 0, service_meta: site.service_meta ?? {} });
    const state = new Map<number, UsageRow>();
    const daily = new Map<string, DailyRow>();
    let accepted = 0;
    for (const sample of samples) {
      const site = sites.get(sample.siteId);
      if (!site) continue;
      const prev: UsageRow | undefined = state.get(site.id) ?? stored(site);
      // A sample older than what was counted already (sent late, or twice) is left out.
      if (prev && Date.parse(prev.sampled_at) > sample.atMs) continue;
      const period = bandwidthPeriod(new Date(sample.atMs), num(read.rollover(viewOf(site))) || 1);
      const periodBegin = new Date(period.begin * 1000).toISOString();
      const sameNode = prev !== undefined && prev.node_id === nodeId;
      const added = !sameNode ? sample.transferBytes : sample.transferBytes >= prev.transfer_counter ? sample.transferBytes - prev.transfer_counter : sample.transferBytes;
      const samePeriod = prev !== undefined && Date.parse(prev.period_begin) === period.begin * 1000;
      const row: UsageRow = {
        client_id: site.id,
        node_id: nodeId,
        sampled_at: new Date(sample.atMs).toISOString(),
        storage_bytes: sample.storageBytes,
        transfer_counter: sample.transferBytes,
        period_begin: periodBegin,
        period_transfer_bytes: (samePeriod ? prev.period_transfer_bytes : 0) + added,
        over_storage: prev?.over_storage ?? site.over_storage,
        over_transfer: samePeriod ? prev.over_transfer : false,
      };
      state.set(site.id, row);
      const day = row.sampled_at.slice(0, 10);
      const key = `${site.id}/${day}`;
      const d = daily.get(key) ?? { client_id: site.id, day, storage_bytes: 0, transfer_bytes: 0 };
      d.storage_bytes = sample.storageBytes;
      d.transfer_bytes += added;
      daily.set(key, d);
      accepted += 1;
    }
    // Sites whose databases were measured but whose files were not in this report are checked too,
    // with the files their web node last reported (none yet: nothing).
    const dbOnly = await findStorageSites(tx.db, [...new Set(dbSites)].filter((id) => !state.has(id)));
    const dbBytes = await findSiteDbBytes(tx.db, [...state.keys(), ...dbOnly.map((s) => s.id)]);
    // Crossings: a limit passed since the last report fires once; falling back under it re-arms it.
    const events: WebhookEvent[] = [];
    const over: { id: number; what: string }[] = [];
    const flags: { client_id: number; was: boolean; over: boolean }[] = [];
    const check = (site: Pick<UsageSite, 'id' | 'reseller_id' | 'status' | 'plan_id' | 'service_meta'>, row: { storage_bytes: number; period_transfer_bytes: number; over_storage: boolean; over_transfer: boolean }, withTransfer: boolean): void => {
      const view = viewOf(site);
      const quotaBytes = num(read.quota(view)) * UNIT_BYTES.MB;
      const thresholdMb = num(read.threshold(view));
      const thresholdBytes = thresholdMb ? (sizeInBytes(thresholdMb, read.units(view)) ?? thresholdMb * UNIT_BYTES.MB) : 0;
      // A site's storage is its files and its databases (ADR 23).
      const databases = dbBytes.get(site.id) ?? 0;
      const storage = row.storage_bytes + databases;
      const storageOver = quotaBytes > 0 && storage > quotaBytes;
      const transferOver = thresholdBytes > 0 && row.period_transfer_bytes > thresholdBytes;
      const crossed: { kind: 'storage' | 'bandwidth'; used: number; limit: number; parts?: Record<string, number> }[] = [];
      if (storageOver && !row.over_storage) crossed.push({ kind: 'storage', used: storage, limit: quotaBytes, parts: { files_bytes: row.storage_bytes, databases_bytes: databases } });
      if (withTransfer && transferOver && !row.over_transfer) crossed.push({ kind: 'bandwidth', used: row.period_transfer_bytes, limit: thresholdBytes });
      flags.push({ client_id: site.id, was: row.over_storage, over: storageOver });
      row.over_storage = storageOver;
      if (withTransfer) row.over_transfer = transferOver;
      for (const c of crossed) {
        events.push({ type: 'site.over_quota', resellerId: site.reseller_id, data: { object: 'site', id: `site${site.id}`, client_id: site.id, reseller_id: site.reseller_id, quota: c.kind, used_bytes: c.used, limit_bytes: c.limit, ...c.parts } });
      }
      if (crossed.length && site.status === 'active') over.push({ id: site.id, what: crossed.map((c) => c.kind).join(' and ') });
    };
    for (const row of state.values()) check(sites.get(row.client_id)!, row, true);
    for (const site of dbOnly) check(site, { storage_bytes: Number(site.files_bytes ?? 0), period_transfer_bytes: 0, over_storage: site.over_storage, over_transfer: false }, false);
    await writeUsage(tx.db, nodeId, [...state.values()], [...daily.values()], now);
    await writeOverStorage(tx.db, flags, now);
    await emitEvents(tx, events);
    if (over.length && (await readOverQuotaPolicy(tx)) === 'suspend') {
      const system: Ctx = { ...tx, actor: { kind: 'system' } };
      for (const what of new Set(over.map((o) => o.what))) {
        await suspendSites(system, { target: { chosen: over.filter((o) => o.what === what).map((o) => o.id) }, reason: `over quota: ${what}` });
      }
    }
    return {
      accepted: accepted + dbSites.length + databases.accepted,
      ignored: samples.length + dbSamples.length - accepted - dbSites.length + databases.ignored,
      ...(databases.usersWanted.length ? { usersWanted: databases.usersWanted } : {}),
    };
  });
}

function stored(site: UsageSite): UsageRow | undefined {
  if (site.sampled_at === null) return undefined;
  return {
    client_id: site.id,
    node_id: Number(site.node_id),
    sampled_at: new Date(site.sampled_at).toISOString(),
    storage_bytes: Number(site.storage_bytes),
    transfer_counter: Number(site.transfer_counter),
    period_begin: new Date(site.period_begin!).toISOString(),
    period_transfer_bytes: Number(site.period_transfer_bytes),
    over_storage: site.over_storage === true,
    over_transfer: site.over_transfer === true,
  };
}
