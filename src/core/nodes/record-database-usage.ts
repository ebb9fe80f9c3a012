import { inTransaction, type Ctx } from '../context.js';
import { getSiteDiskQuotas } from '../sites/site-info.js';
import { suspendSites } from '../sites/site-lifecycle.js';
import { emitEvents, type WebhookEvent } from '../webhooks/webhook.events.js';
import type { ReportedInstanceUser, UsageRequest } from './agent-wire.schema.js';
import { findInstancesWithStagedFiles } from './database-files.repository.js';
import { findUsageDatabases, writeDatabaseUsage, type DatabaseUsageRow, type UsageDatabase } from './database-objects.repository.js';
import { syncDatabaseObjects } from './database-objects.js';
import { clearListDigest, dropOtherLists, insertListRows, keepList, LEGACY_DIGEST } from './instance-user-lists.repository.js';
import { readOverQuotaPolicy, type RecordUsageResult } from './record-usage.js';

// Usage a db node reports for its SaaS instance databases: the database's size and, where the
// template is Odoo's, its active internal users. Both are samples (the latest wins). Going over the
// instance's storage limit (diskquota,quota, MB: the database and the instance's files together) or its users,max raises what a site over its quota
// raises: `site.over_quota` once per crossing, and with the `suspend` policy the instance is suspended.
// A sample without a user count (a suspended database takes no connection to count them) keeps the last one;
// so do the users and files it read from inside the database (docs/adr/0027), kept for the doors to show.

const DB_ID = /^db([1-9][0-9]{0,17})$/;

/** The moved files as the driver returned them (JSON text on some drivers, parsed on others). */
function movedFiles(d: UsageDatabase): { at: string; bytes: number }[] {
  const v = d.moved_files as unknown;
  return (typeof v === 'string' ? JSON.parse(v) : (v ?? [])) as { at: string; bytes: number }[];
}
const MB = 1024 * 1024;

export interface RecordDatabaseUsageResult extends RecordUsageResult {
  /** Databases (`db<n>`) whose user list the control plane holds under another digest than the sample's. */
  usersWanted: string[];
}

/** Records the `database` samples of a usage report (validated by the caller); other kinds are left to their recorders. */
export async function recordDatabaseUsage(ctx: Ctx, nodeId: number, report: UsageRequest): Promise<RecordDatabaseUsageResult> {
  const samples = report.samples
    .filter((s) => s.kind === 'database')
    .map((s) => ({ ...s, clientId: Number(DB_ID.exec(s.id)?.[1] ?? 0), atMs: Date.parse(s.at) }))
    .sort((a, b) => a.atMs - b.atMs);
  if (samples.length === 0) return { accepted: 0, ignored: 0, usersWanted: [] };
  return inTransaction(ctx, async (tx) => {
    const dbs = new Map((await findUsageDatabases(tx.db, nodeId, [...new Set(samples.map((s) => s.clientId).filter((id) => id > 0))])).map((d) => [d.id, d]));
    const quotas = await getSiteDiskQuotas(tx, [...dbs.keys()]);
    const rows = new Map<number, DatabaseUsageRow>();
    // The latest list an older agent sent whole, and the latest digest a sample named, per database.
    const lists = new Map<number, ReportedInstanceUser[] | null>();
    const digests = new Map<number, string>();
    let accepted = 0;
    for (const s of samples) {
      const d = dbs.get(s.clientId);
      if (!d) continue;
      const prev = rows.get(d.id);
      const prevAt = prev ? Date.parse(prev.sampled_at) : d.sampled_at ? Date.parse(d.sampled_at) : -Infinity;
      if (prevAt > s.atMs) continue;
      // Users and files read this time replace the stored report; a sample that could not read them keeps the last.
      const usersRead = s.users !== undefined || s.usersDigest !== undefined;
      const filesRead = s.files !== undefined;
      const at = new Date(s.atMs).toISOString();
      if (s.users !== undefined) lists.set(d.id, s.users);
      if (s.usersDigest !== undefined) {
        digests.set(d.id, s.usersDigest);
        lists.delete(d.id);
      }
      rows.set(d.id, {
        client_id: d.id,
        size_bytes: s.storageBytes,
        active_users: s.activeUsers ?? prev?.active_users ?? d.active_users,
        sampled_at: at,
        over_storage: prev?.over_storage ?? d.over_storage,
        over_users: prev?.over_users ?? d.over_users,
        users_read: usersRead || (prev?.users_read ?? false),
        has_res_users: usersRead ? s.users !== null : (prev?.has_res_users ?? null),
        users_total: usersRead ? (s.usersTotal ?? s.users?.length ?? null) : (prev?.users_total ?? null),
        // A digest equal to the kept list's says the list is still what the database holds.
        users_listed_at: s.usersDigest !== undefined && s.usersDigest === d.users_digest ? at : s.users !== undefined && s.users !== null ? at : (prev?.users_listed_at ?? null),
        files_read: filesRead || (prev?.files_read ?? false),
        files_count: filesRead ? (s.files?.count ?? null) : (prev?.files_count ?? null),
        files_bytes: filesRead ? (s.files?.bytes ?? null) : (prev?.files_bytes ?? null),
      });
      accepted += 1;
    }
    // An older agent's list (the first 200 by id) replaces the kept one whole; no res_users drops it.
    for (const [id, users] of lists) {
      if (users === null) {
        await dropOtherLists(tx.db, id, null);
        await clearListDigest(tx.db, id);
      } else {
        await dropOtherLists(tx.db, id, null);
        await insertListRows(tx.db, id, LEGACY_DIGEST, 0, users);
        await keepList(tx.db, id, LEGACY_DIGEST, rows.get(id)!.sampled_at, rows.get(id)!.users_total ?? users.length);
      }
    }
    const usersWanted = [...digests].filter(([id, digest]) => dbs.get(id)!.users_digest !== digest).map(([id]) => `db${id}`);
    const events: WebhookEvent[] = [];
    const over: { id: number; what: string }[] = [];
    for (const row of rows.values()) {
      const d = dbs.get(row.client_id)!;
      const limitBytes = (quotas.get(d.id) ?? 0) * MB;
      // The instance's storage is its database and its stored files, as saas_portal.client counts it:
      // those Hostplane holds, and those moved into the database after this sample was taken.
      const sampledMs = Date.parse(row.sampled_at);
      const fileBytes = Number(d.file_bytes) + movedFiles(d).reduce((n, f) => (Date.parse(f.at) > sampledMs ? n + Number(f.bytes) : n), 0);
      const storage = row.size_bytes + fileBytes;
      const storageOver = limitBytes > 0 && storage > limitBytes;
      const usersOver = d.user_count > 0 && row.active_users !== null && row.active_users > d.user_count;
      const crossed: string[] = [];
      const base = { object: 'database', id: `db${d.id}`, client_id: d.id, reseller_id: d.reseller_id };
      if (storageOver && !row.over_storage) {
        crossed.push('storage');
        events.push({ type: 'site.over_quota', resellerId: d.reseller_id, data: { ...base, quota: 'storage', used_bytes: storage, limit_bytes: limitBytes, files_bytes: fileBytes, databases_bytes: row.size_bytes } });
      }
      if (usersOver && !row.over_users) {
        crossed.push('users');
        events.push({ type: 'site.over_quota', resellerId: d.reseller_id, data: { ...base, quota: 'users', used_users: row.active_users, limit_users: d.user_count } });
      }
      row.over_storage = storageOver;
      row.over_users = usersOver;
      if (crossed.length && d.status === 'active') over.push({ id: d.id, what: crossed.join(' and ') });
    }
    await writeDatabaseUsage(tx.db, [...rows.values()]);
    // A database that now reports an ir_attachment takes the files staged for it (docs/adr/0027):
    // its object is rewritten to list them.
    const gained = [...rows.values()].filter((r) => r.files_read && r.files_count !== null && dbs.get(r.client_id)!.files_count === null).map((r) => r.client_id);
    if (gained.length) await syncDatabaseObjects(tx, await findInstancesWithStagedFiles(tx.db, gained));
    await emitEvents(tx, events);
    if (over.length && (await readOverQuotaPolicy(tx)) === 'suspend') {
      const system: Ctx = { ...tx, actor: { kind: 'system' } };
      for (const what of new Set(over.map((o) => o.what))) {
        await suspendSites(system, { target: { chosen: over.filter((o) => o.what === what).map((o) => o.id) }, reason: `over quota: ${what}` });
      }
    }
    return { accepted, ignored: samples.length - accepted, usersWanted };
  });
}
