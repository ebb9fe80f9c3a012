import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';

/** A site placed on the reporting node, with its stored usage (null fields: never sampled). */
export interface UsageSite {
  id: number;
  reseller_id: number | null;
  status: string;
  plan_id: number | null;
  service_meta: Record<string, Record<string, unknown>>;
  node_id: number | null;
  sampled_at: string | null;
  storage_bytes: string | number | null;
  transfer_counter: string | number | null;
  period_begin: string | null;
  period_transfer_bytes: string | number | null;
  over_storage: boolean;
  over_transfer: boolean | null;
}

/** Live sites among `ids` placed on `nodeId` (a node reports for its own sites only), with their usage rows. */
export async function findUsageSites(db: Executor, nodeId: number, ids: readonly number[]): Promise<UsageSite[]> {
  if (ids.length === 0) return [];
  const { rows } = await sql<{ doc: string }>`
    select coalesce(json_agg(x), '[]')::text as doc from (
      select c.id, c.reseller_id, c.status, c.plan_id, c.service_meta, u.node_id, u.sampled_at, u.storage_bytes,
        u.transfer_counter, u.period_begin, u.period_transfer_bytes, u.over_transfer,
        exists (select 1 from site_storage_over o where o.client_id = c.id) as over_storage
      from (select distinct id from unnest(${ids as number[]}::bigint[]) as x(id)) chosen
      join clients c on c.id = chosen.id
      left join site_usage u on u.client_id = c.id
      where c.node_id = ${nodeId} and c.status in ('active', 'suspended')
    ) x`.execute(db);
  return JSON.parse(rows[0]!.doc) as UsageSite[];
}

export interface UsageRow {
  client_id: number;
  node_id: number;
  sampled_at: string;
  storage_bytes: number;
  transfer_counter: number;
  period_begin: string;
  period_transfer_bytes: number;
  over_storage: boolean;
  over_transfer: boolean;
}

export interface DailyRow {
  client_id: number;
  day: string;
  storage_bytes: number;
  transfer_bytes: number;
}

/** Writes every site's new usage row and adds to its daily rows: two statements for any number of sites. */
export async function writeUsage(db: Executor, nodeId: number, rows: readonly UsageRow[], daily: readonly DailyRow[], now: Date): Promise<void> {
  if (rows.length) {
    await sql`
      insert into site_usage as u (client_id, node_id, sampled_at, storage_bytes, transfer_counter, period_begin, period_transfer_bytes, over_transfer)
      select * from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as x(client_id bigint, node_id bigint, sampled_at timestamptz, storage_bytes bigint,
        transfer_counter bigint, period_begin timestamptz, period_transfer_bytes bigint, over_transfer boolean)
      on conflict (client_id) do update set node_id = excluded.node_id, sampled_at = excluded.sampled_at, storage_bytes = excluded.storage_bytes,
        transfer_counter = excluded.transfer_counter, period_begin = excluded.period_begin, period_transfer_bytes = excluded.period_transfer_bytes,
        over_transfer = excluded.over_transfer`.execute(db);
  }
  if (daily.length) {
    await sql`
      insert into site_usage_daily as d (client_id, day, storage_bytes, transfer_bytes)
      select * from jsonb_to_recordset(${JSON.stringify(daily)}::jsonb) as x(client_id bigint, day date, storage_bytes bigint, transfer_bytes bigint)
      on conflict (client_id, day) do update set storage_bytes = excluded.storage_bytes, transfer_bytes = d.transfer_bytes + excluded.transfer_bytes`.execute(db);
  }
  await db.updateTable('nodes').set({ last_usage_at: now }).where('id', '=', nodeId).execute();
}

/** The total size of each site's databases (both engines) as its db node last reported it; sites without any are left out. */
export async function findSiteDbBytes(db: Executor, ids: readonly number[]): Promise<Map<number, number>> {
  if (ids.length === 0) return new Map();
  const { rows } = await sql<{ client_id: string; bytes: string }>`
    select client_id::text, sum(storage_bytes)::text as bytes from site_db_usage
    where client_id = any(${ids as number[]}::bigint[]) group by client_id`.execute(db);
  return new Map(rows.map((r) => [Number(r.client_id), Number(r.bytes)]));
}

/** A live site whose databases were measured, with its files' last sample (null: never measured) and its storage flag. */
export interface StorageSite {
  id: number;
  reseller_id: number | null;
  status: string;
  plan_id: number | null;
  service_meta: Record<string, Record<string, unknown>>;
  files_bytes: string | number | null;
  over_storage: boolean;
}

/** Live sites among `ids`, whatever node serves their files, for the storage check that follows a report of their databases. */
export async function findStorageSites(db: Executor, ids: readonly number[]): Promise<StorageSite[]> {
  if (ids.length === 0) return [];
  const { rows } = await sql<{ doc: string }>`
    select coalesce(json_agg(x), '[]')::text as doc from (
      select c.id, c.reseller_id, c.status, c.plan_id, c.service_meta, u.storage_bytes as files_bytes,
        exists (select 1 from site_storage_over o where o.client_id = c.id) as over_storage
      from (select distinct id from unnest(${ids as number[]}::bigint[]) as x(id)) chosen
      join clients c on c.id = chosen.id
      left join site_usage u on u.client_id = c.id
      where c.status in ('active', 'suspended')
    ) x`.execute(db);
  return JSON.parse(rows[0]!.doc) as StorageSite[];
}

/** Sets or clears the sites' "over the storage quota, announced" flag; only changes are written. */
export async function writeOverStorage(db: Executor, rows: readonly { client_id: number; was: boolean; over: boolean }[], now: Date): Promise<void> {
  const on = rows.filter((r) => r.over && !r.was).map((r) => r.client_id);
  const off = rows.filter((r) => !r.over && r.was).map((r) => r.client_id);
  if (on.length) await sql`insert into site_storage_over (client_id, since) select unnest(${on}::bigint[]), ${now} on conflict (client_id) do nothing`.execute(db);
  if (off.length) await sql`delete from site_storage_over where client_id = any(${off}::bigint[])`.execute(db);
}

/** The measured usage of sites, for admin:get-usage and the admin API. Storage is the site's files and its databases. */
export async function findMeasuredUsage(db: Executor, ids: readonly number[]): Promise<Map<number, { storage: number; periodBegin: Date; periodTransfer: number; sampledAt: Date }>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('site_usage')
    .select(['client_id', 'period_begin', 'period_transfer_bytes', 'sampled_at'])
    .select(sql<string>`storage_bytes + coalesce((select sum(d.storage_bytes) from site_db_usage d where d.client_id = site_usage.client_id), 0)`.as('storage_bytes'))
    .where('client_id', '=', sql<number>`any(${ids as number[]}::bigint[])`)
    .execute();
  return new Map(rows.map((r) => [Number(r.client_id), { storage: Number(r.storage_bytes), periodBegin: new Date(r.period_begin), periodTransfer: Number(r.period_transfer_bytes), sampledAt: new Date(r.sampled_at) }]));
}

/** Daily usage of one site from `since` (a UTC day), oldest first. */
export async function findDailyUsage(db: Executor, clientId: number, since: string): Promise<{ day: string; storage_bytes: number; transfer_bytes: number }[]> {
  const { rows } = await sql<{ day: string; storage_bytes: string; transfer_bytes: string }>`
    select to_char(day, 'YYYY-MM-DD') as day, storage_bytes::text, transfer_bytes::text from site_usage_daily
    where client_id = ${clientId} and day >= ${since}::date order by day`.execute(db);
  return rows.map((r) => ({ day: r.day, storage_bytes: Number(r.storage_bytes), transfer_bytes: Number(r.transfer_bytes) }));
}

