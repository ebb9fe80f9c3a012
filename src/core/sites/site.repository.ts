import { sql, type RawBuilder } from 'kysely';
import type { Executor } from '../../db/database.js';
import type { NewAuditEvent } from '../audit/audit.repository.js';
import { LIVE_STATUSES } from '../clients/client.repository.js';

/** A site as stored: the client record plus what the site view needs from its neighbours. */
export interface SiteRow {
  id: number;
  reseller_id: number | null;
  status: 'active' | 'suspended';
  suspended_at: Date | null;
  suspend_reason: string | null;
  email_address: string | null;
  invoice: string | null;
  parent_invoice: string | null;
  service_meta: Record<string, Record<string, unknown>>;
  plan_id: number | null;
  plan_uid: string | null;
  /** Live domains, primary first. */
  domains: string[];
  admin_user: string | null;
  user_count: number;
  created_at: Date;
}

/** Conditions on record columns that a collect query can hand to the database (indexes do the rest). */
export interface SiteQuery {
  /** Only this reseller's clients (a reseller's call); undefined reaches every site. */
  resellerId?: number | undefined;
  ids?: number[];
  invoice?: string | null;
  parentInvoice?: string | null;
  /** Either column equals this (group selection). */
  anyInvoice?: string;
  domain?: string;
  email?: string | null;
  planUid?: string | null;
  adminUser?: string;
  active?: boolean;
}

function siteSelect(db: Executor) {
  return db
    .selectFrom('clients as c')
    .leftJoin('plans as p', 'p.id', 'c.plan_id')
    .select([
      'c.id',
      'c.reseller_id',
      sql<'active' | 'suspended'>`c.status`.as('status'),
      'c.suspended_at',
      'c.suspend_reason',
      'c.email_address',
      'c.invoice',
      'c.parent_invoice',
      sql<Record<string, Record<string, unknown>>>`c.service_meta`.as('service_meta'),
      'c.plan_id',
      'p.uid as plan_uid',
      'c.user_count',
      'c.created_at',
      sql<string[]>`array(select d.name from domains d where d.client_id = c.id and d.released_at is null order by d.position, d.id)`.as('domains'),
      sql<string | null>`(select u.login from users u where u.client_id = c.id and u.role = 'client_admin' order by u.id limit 1)`.as('admin_user'),
    ])
    .where('c.status', 'in', LIVE_STATUSES);
}

/** The query `findSites` runs, unexecuted (the bench compiles it to EXPLAIN the exact SQL). */
export function siteQuery(db: Executor, q: SiteQuery, limit?: number) {
  let query = whereSite(siteSelect(db), q).orderBy('c.id');
  if (limit !== undefined) query = query.limit(limit);
  return query;
}

/** The conditions of `q` on a select from `clients as c` joined with `plans as p`. */
function whereSite<QB extends ReturnType<typeof siteSelect> | ReturnType<typeof collectSelect>>(qb: QB, q: SiteQuery): QB {
  // Both selects share the tables and aliases the conditions name; one body serves both.
  let query = qb as unknown as ReturnType<typeof siteSelect>;
  if (q.resellerId !== undefined) query = query.where('c.reseller_id', '=', q.resellerId);
  if (q.ids) query = query.where('c.id', '=', sql<number>`any(${q.ids}::bigint[])`);
  if (q.invoice !== undefined) query = q.invoice === null ? query.where('c.invoice', 'is', null) : query.where('c.invoice', '=', q.invoice);
  if (q.parentInvoice !== undefined) query = q.parentInvoice === null ? query.where('c.parent_invoice', 'is', null) : query.where('c.parent_invoice', '=', q.parentInvoice);
  if (q.anyInvoice !== undefined) {
    const inv = q.anyInvoice;
    query = query.where((eb) => eb.or([eb('c.invoice', '=', inv), eb('c.parent_invoice', '=', inv)]));
  }
  if (q.email !== undefined) query = q.email === null ? query.where('c.email_address', 'is', null) : query.where('c.email_address', '=', q.email);
  if (q.planUid !== undefined) query = q.planUid === null ? query.where('p.uid', 'is', null) : query.where('p.uid', '=', q.planUid);
  if (q.domain !== undefined) {
    const name = q.domain;
    query = query.where(({ exists, selectFrom }) => exists(selectFrom('domains as d').select('d.id').whereRef('d.client_id', '=', 'c.id').where('d.name', '=', name).where('d.released_at', 'is', null).where('d.position', '=', 0)));
  }
  if (q.adminUser !== undefined) {
    const login = q.adminUser;
    query = query.where(({ exists, selectFrom }) => exists(selectFrom('users as u').select('u.id').whereRef('u.client_id', '=', 'c.id').where('u.role', '=', 'client_admin').where('u.login', '=', login)));
  }
  if (q.active !== undefined) query = query.where('c.status', '=', q.active ? 'active' : 'suspended');
  return query as unknown as QB;
}

/** A site as collect reads it: only the columns its answer can show; the admin login and the overrides only when asked for. */
export interface CollectRow {
  id: number;
  status: 'active' | 'suspended';
  plan_id: number | null;
  email_address: string | null;
  invoice: string | null;
  parent_invoice: string | null;
  user_count: number;
  domains: string[];
  admin_user?: string | null;
  service_meta?: Record<string, Record<string, unknown>>;
}

function collectSelect(db: Executor, columns: { adminUser: boolean; meta: boolean }) {
  return db
    .selectFrom('clients as c')
    .leftJoin('plans as p', 'p.id', 'c.plan_id')
    .select(['c.id', 'c.status', 'c.plan_id', 'c.email_address', 'c.invoice', 'c.parent_invoice', 'c.user_count'])
    .select(sql<string[]>`array(select d.name from domains d where d.client_id = c.id and d.released_at is null order by d.position, d.id)`.as('domains'))
    .$if(columns.adminUser, (qb) => qb.select(sql<string | null>`(select u.login from users u where u.client_id = c.id and u.role = 'client_admin' order by u.id limit 1)`.as('admin_user')))
    .$if(columns.meta, (qb) => qb.select(sql<Record<string, Record<string, unknown>>>`c.service_meta`.as('service_meta')))
    .where('c.status', 'in', LIVE_STATUSES);
}

/**
 * One keyset page of the sites `q` selects, in id order. The page comes back as one JSON text that
 * is parsed here: PGlite decodes a single text value far faster than hundreds of rows of typed
 * columns, and on PostgreSQL it costs no more.
 */
export async function findCollectPage(db: Executor, q: SiteQuery, page: { afterId?: number | undefined; limit: number }, columns: { adminUser: boolean; meta: boolean }): Promise<CollectRow[]> {
  const row = await collectPageQuery(db, q, page, columns).executeTakeFirstOrThrow();
  return JSON.parse(row.doc) as CollectRow[];
}

/** The statement `findCollectPage` runs, unexecuted (the bench compiles it to EXPLAIN the exact SQL). */
export function collectPageQuery(db: Executor, q: SiteQuery, page: { afterId?: number | undefined; limit: number }, columns: { adminUser: boolean; meta: boolean }) {
  let inner = whereSite(collectSelect(db, columns), q);
  if (page.afterId !== undefined) inner = inner.where('c.id', '>', page.afterId);
  return db.selectFrom(inner.orderBy('c.id').limit(page.limit).as('x')).select(sql<string>`coalesce(json_agg(x order by x.id), '[]')::text`.as('doc'));
}

export async function findSites(db: Executor, q: SiteQuery, limit?: number): Promise<SiteRow[]> {
  return siteQuery(db, q, limit).execute();
}

/** The condition limiting a raw statement to one reseller's clients (`resellerId`), or none. */
function ofReseller(column: string, resellerId: number | undefined): RawBuilder<unknown> {
  return resellerId === undefined ? sql`` : sql`and ${sql.ref(column)} = ${resellerId}`;
}

/**
 * Ids of live sites a target names: a site id, a live domain (primary or alias), or an invoice (master
 * and subordinates); with `resellerId`, only among that reseller's clients.
 */
export async function findSiteIdsById(db: Executor, id: number, resellerId?: number): Promise<number[]> {
  const rows = await db
    .selectFrom('clients')
    .select('id')
    .where('id', '=', id)
    .where('status', 'in', LIVE_STATUSES)
    .$if(resellerId !== undefined, (qb) => qb.where('reseller_id', '=', resellerId!))
    .execute();
  return rows.map((r) => r.id);
}

export async function findSiteIdsByDomain(db: Executor, name: string, resellerId?: number): Promise<number[]> {
  const rows = await db
    .selectFrom('domains as d')
    .innerJoin('clients as c', 'c.id', 'd.client_id')
    .select('c.id')
    .where('d.name', '=', name)
    .where('d.released_at', 'is', null)
    .where('c.status', 'in', LIVE_STATUSES)
    .$if(resellerId !== undefined, (qb) => qb.where('c.reseller_id', '=', resellerId!))
    .execute();
  return rows.map((r) => r.id);
}

export async function findSiteIdsByInvoice(db: Executor, invoice: string, resellerId?: number): Promise<number[]> {
  const { rows } = await sql<{ id: number }>`
    select id from clients where invoice = ${invoice} and status in ('active', 'suspended') ${ofReseller('reseller_id', resellerId)}
    union
    select id from clients where parent_invoice = ${invoice} and status in ('active', 'suspended') ${ofReseller('reseller_id', resellerId)}
    order by id`.execute(db);
  return rows.map((r) => r.id);
}

/** Live sites each kind of target names, for a whole list of targets in one statement (keys: site id as text, domain name, invoice). */
export async function findTargetSites(db: Executor, t: { ids: number[]; domains: string[]; invoices: string[] }, resellerId?: number): Promise<{ kind: 'id' | 'domain' | 'invoice'; key: string; id: number }[]> {
  const { rows } = await sql<{ kind: 'id' | 'domain' | 'invoice'; key: string; id: number }>`
    select 'id' as kind, id::text as key, id from clients where id = any(${t.ids}::bigint[]) and status in ('active', 'suspended') ${ofReseller('reseller_id', resellerId)}
    union all
    select 'domain', d.name, c.id from domains d join clients c on c.id = d.client_id
    where d.name = any(${t.domains}::text[]) and d.released_at is null and c.status in ('active', 'suspended') ${ofReseller('c.reseller_id', resellerId)}
    union all
    select 'invoice', invoice, id from clients where invoice = any(${t.invoices}::text[]) and status in ('active', 'suspended') ${ofReseller('reseller_id', resellerId)}
    union all
    select 'invoice', parent_invoice, id from clients where parent_invoice = any(${t.invoices}::text[]) and status in ('active', 'suspended') ${ofReseller('reseller_id', resellerId)}
    order by id`.execute(db);
  return rows;
}

/**
 * Live sites of the given invoices (masters or subordinates) that are not among `chosen`: what a
 * deletion of `chosen` would leave behind without their masters. One query for every master.
 */
export async function findGroupSitesOutside(db: Executor, invoices: string[], chosen: number[], resellerId?: number): Promise<{ id: number; invoice: string | null; parent_invoice: string | null }[]> {
  if (invoices.length === 0) return [];
  const { rows } = await sql<{ id: number; invoice: string | null; parent_invoice: string | null }>`
    select id, invoice, parent_invoice from clients
    where invoice = any(${invoices}::text[]) and status in ('active', 'suspended') and id <> all(${chosen}::bigint[]) ${ofReseller('reseller_id', resellerId)}
    union
    select id, invoice, parent_invoice from clients
    where parent_invoice = any(${invoices}::text[]) and status in ('active', 'suspended') and id <> all(${chosen}::bigint[]) ${ofReseller('reseller_id', resellerId)}
    order by id`.execute(db);
  return rows;
}

export interface PlanRecord {
  id: number;
  uid: string;
  name: string;
  parent_id: number | null;
  service_defaults: Record<string, unknown>;
}

export async function listPlanRecords(db: Executor): Promise<PlanRecord[]> {
  return db.selectFrom('plans').select(['id', 'uid', 'name', 'parent_id', sql<Record<string, unknown>>`service_defaults`.as('service_defaults')]).orderBy('position').orderBy('id').execute();
}

export interface NewSiteRow {
  reseller_id: number | null;
  plan_id: number;
  email_address: string;
  invoice: string | null;
  parent_invoice: string | null;
  user_count: number;
  service_meta: Record<string, Record<string, unknown>>;
}

/** The client, its domains (primary first), its admin user and the relay jobs in one statement. */
export async function insertSite(
  db: Executor,
  row: NewSiteRow,
  domains: string[],
  admin: { login: string; passwordHash: string },
  jobs: { kind: string; lane: string; payload: Record<string, unknown>; max_attempts: number }[],
  now: Date,
): Promise<number> {
  const { rows } = await sql<{ id: number }>`
    with c as (
      insert into clients (reseller_id, plan_id, name, email_address, user_count, service_meta, invoice, parent_invoice, created_at, updated_at)
      values (${row.reseller_id}, ${row.plan_id}, ${domains[0]}, ${row.email_address}, ${row.user_count}, ${JSON.stringify(row.service_meta)}::jsonb, ${row.invoice}, ${row.parent_invoice}, ${now}, ${now})
      returning id
    ), d as (
      insert into domains (client_id, reseller_id, name, position, created_at, updated_at)
      select c.id, ${row.reseller_id}, x.name, x.ord - 1, ${now}, ${now}
      from c, unnest(${domains}::text[]) with ordinality as x(name, ord)
    ), u as (
      insert into users (role, client_id, reseller_id, login, email, name, password_hash, created_at)
      select 'client_admin', c.id, ${row.reseller_id}, ${admin.login}, ${row.email_address}, 'Administrator', ${admin.passwordHash}, ${now} from c
    ), j as (
      insert into jobs (kind, lane, payload, max_attempts, client_id, reseller_id, run_at, created_at, updated_at)
      select x.kind, x.lane, x.payload, x.max_attempts, c.id, ${row.reseller_id}, ${now}, ${now}, ${now}
      from c, jsonb_to_recordset(${JSON.stringify(jobs)}::jsonb) as x(kind text, lane text, payload jsonb, max_attempts integer)
    )
    select id from c`.execute(db);
  return rows[0]!.id;
}

/** Record columns a group edit may set on many sites at once. */
export interface SitePatch {
  email_address?: string;
  invoice?: string | null;
  parent_invoice?: string | null;
  plan_id?: number;
  user_count?: number;
  /** service → params merged into service_meta (null removes the override). */
  meta?: Record<string, Record<string, unknown>>;
  /** service → params whose override is dropped (back to the plan's value). */
  unset?: Record<string, string[]>;
}

/** One UPDATE for the whole set: metadata merges are done by the database, per row. */
export async function updateSites(db: Executor, ids: number[], patch: SitePatch, now: Date): Promise<void> {
  if (ids.length === 0) return;
  let metaExpr = sql`service_meta`;
  for (const [service, params] of Object.entries(patch.unset ?? {})) {
    for (const param of params) metaExpr = sql`(${metaExpr} #- ${`{${service},${param}}`}::text[])`;
  }
  for (const [service, params] of Object.entries(patch.meta ?? {})) {
    metaExpr = sql`jsonb_set(${metaExpr}, ${`{${service}}`}::text[], coalesce(${metaExpr} -> ${service}, '{}'::jsonb) || ${JSON.stringify(params)}::jsonb)`;
  }
  await db
    .updateTable('clients')
    .set({
      ...(patch.email_address !== undefined ? { email_address: patch.email_address } : {}),
      ...(patch.invoice !== undefined ? { invoice: patch.invoice } : {}),
      ...(patch.parent_invoice !== undefined ? { parent_invoice: patch.parent_invoice } : {}),
      ...(patch.plan_id !== undefined ? { plan_id: patch.plan_id } : {}),
      ...(patch.user_count !== undefined ? { user_count: patch.user_count } : {}),
      ...(patch.meta || patch.unset ? { service_meta: metaExpr as never } : {}),
      updated_at: now,
    })
    .where('id', '=', sql<number>`any(${ids}::bigint[])`)
    .where('status', 'in', LIVE_STATUSES)
    .execute();
}

/** What every audit row of a group change shares (each row adds its site's id and reseller). */
export type SiteAuditBase = Omit<NewAuditEvent, 'target_id' | 'reseller_id' | 'target_type'>;

/**
 * Suspends the active sites among `ids` and writes one `base` audit row for each site it changed, in
 * one statement: the changed rows go straight from the UPDATE's RETURNING into the audit INSERT,
 * never to this process and back. Returns how many it changed (already suspended ones stay as they were).
 */
export async function suspendSiteRows(db: Executor, ids: number[], reason: string | null, now: Date, base: SiteAuditBase): Promise<number> {
  if (ids.length === 0) return 0;
  const { rows } = await sql<{ n: number }>`
    with changed as (
      update clients set status = 'suspended', suspended_at = ${now}, suspend_reason = ${reason}, updated_at = ${now}
      where id = any(${ids}::bigint[]) and status = 'active'
      returning id, reseller_id
    ), audit as (${siteAuditInsert(base, sql`changed as x`)})
    select count(*)::int as n from changed`.execute(db);
  return rows[0]!.n;
}

/** Activates the suspended sites among `ids`, with one `base` audit row for each it changed, in one statement; returns how many it changed. */
export async function activateSiteRows(db: Executor, ids: number[], now: Date, base: SiteAuditBase): Promise<number> {
  if (ids.length === 0) return 0;
  const { rows } = await sql<{ n: number }>`
    with changed as (
      update clients set status = 'active', suspended_at = null, suspend_reason = null, updated_at = ${now}
      where id = any(${ids}::bigint[]) and status = 'suspended'
      returning id, reseller_id
    ), audit as (${siteAuditInsert(base, sql`changed as x`)})
    select count(*)::int as n from changed`.execute(db);
  return rows[0]!.n;
}

/** Deletes (softly) and frees the sites' domain names; returns the released names for deprovisioning. */
export async function deleteSiteRows(db: Executor, ids: number[], now: Date): Promise<{ sites: { id: number; reseller_id: number | null }[]; domains: { name: string; client_id: number; reseller_id: number | null }[] }> {
  if (ids.length === 0) return { sites: [], domains: [] };
  const sites = await db
    .updateTable('clients')
    .set({ status: 'deleted', deleted_at: now, updated_at: now })
    .where('id', '=', sql<number>`any(${ids}::bigint[])`)
    .where('status', 'in', LIVE_STATUSES)
    .returning(['id', 'reseller_id'])
    .execute();
  if (sites.length === 0) return { sites, domains: [] };
  const domains = await db
    .updateTable('domains')
    .set({ released_at: now, updated_at: now })
    .where('client_id', '=', sql<number>`any(${sites.map((s) => s.id)}::bigint[])`)
    .where('released_at', 'is', null)
    .returning(['name', 'client_id', 'reseller_id'])
    .execute();
  // Sessions into a deleted site end with it.
  await db
    .updateTable('sessions')
    .set({ revoked_at: now })
    .where('client_id', '=', sql<number>`any(${sites.map((s) => s.id)}::bigint[])`)
    .where('revoked_at', 'is', null)
    .execute();
  return { sites, domains };
}

/** One audit row per site, written by one INSERT ... SELECT (a 10,000-site group costs one statement). */
export async function insertSiteAuditEvents(db: Executor, base: SiteAuditBase, sites: { id: number; reseller_id: number | null }[]): Promise<void> {
  if (sites.length === 0) return;
  await siteAuditInsert(base, sql`unnest(${sites.map((s) => s.id)}::bigint[], ${sites.map((s) => s.reseller_id)}::bigint[]) as x(id, reseller_id)`).execute(db);
}

/** INSERT of one audit row per row of `source` (aliased x, with columns id and reseller_id). */
function siteAuditInsert(base: SiteAuditBase, source: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`
    insert into audit_events (occurred_at, actor_kind, actor_id, reseller_id, action, target_type, target_id, changes, request_id, source_ip)
    select ${base.occurred_at}, ${base.actor_kind}, ${base.actor_id}, x.reseller_id, ${base.action}, 'client', x.id::text, ${base.changes}::jsonb, ${base.request_id}, ${base.source_ip}
    from ${source}`;
}

export async function replaceSiteDomains(db: Executor, siteId: number, resellerId: number | null, names: string[], now: Date): Promise<{ added: string[]; removed: string[] }> {
  const existing = await db.selectFrom('domains').select(['id', 'name', 'position']).where('client_id', '=', siteId).where('released_at', 'is', null).execute();
  const removed = existing.filter((d) => !names.includes(d.name));
  if (removed.length) await db.deleteFrom('domains').where('id', 'in', removed.map((d) => d.id)).execute();
  const added: string[] = [];
  for (const [position, name] of names.entries()) {
    const kept = existing.find((d) => d.name === name);
    if (kept) {
      if (kept.position !== position) await db.updateTable('domains').set({ position, updated_at: now }).where('id', '=', kept.id).execute();
    } else {
      await db.insertInto('domains').values({ client_id: siteId, reseller_id: resellerId, name, position, created_at: now, updated_at: now }).execute();
      added.push(name);
    }
  }
  return { added, removed: removed.map((d) => d.name) };
}

export async function findTakenDomains(db: Executor, names: string[], exceptSiteId?: number): Promise<string[]> {
  if (names.length === 0) return [];
  let q = db.selectFrom('domains').select('name').where('name', 'in', names).where('released_at', 'is', null);
  if (exceptSiteId !== undefined) q = q.where('client_id', '!=', exceptSiteId);
  return (await q.execute()).map((r) => r.name);
}

export async function renameAdminUser(db: Executor, siteId: number, login: string): Promise<void> {
  await db.updateTable('users').set({ login }).where('client_id', '=', siteId).where('role', '=', 'client_admin').execute();
}

export async function findSiteUser(db: Executor, siteId: number, login: string | null) {
  let q = db.selectFrom('users').select(['id', 'login', 'role', 'disabled_at']).where('client_id', '=', siteId);
  q = login === null ? q.where('role', '=', 'client_admin') : q.where(sql<boolean>`lower(login) = lower(${login})`);
  return q.orderBy('id').executeTakeFirst();
}

export async function setUserPassword(db: Executor, userId: number, hash: string): Promise<void> {
  await db.updateTable('users').set({ password_hash: hash }).where('id', '=', userId).execute();
}

export async function readSetting(db: Executor, key: string): Promise<string | undefined> {
  const row = await db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
  return row?.value;
}

export async function writeSetting(db: Executor, key: string, value: string): Promise<void> {
  await db.insertInto('settings').values({ key, value }).onConflict((oc) => oc.column('key').doUpdateSet({ value })).execute();
}

/** Suspended sites that have a node (their suspension page shows, or hides, the reason). */
export async function findPlacedSuspendedSiteIds(db: Executor): Promise<number[]> {
  const rows = await db.selectFrom('clients').select('id').where('status', '=', 'suspended').where('node_id', 'is not', null).execute();
  return rows.map((r) => r.id);
}

/** Live sites suspended at or before `before` (cleanup, and deletion by `since`); with `resellerId`, only that reseller's. */
export async function findSuspendedBefore(db: Executor, before: Date, limit: number, resellerId?: number): Promise<number[]> {
  const rows = await db
    .selectFrom('clients')
    .select('id')
    .where('status', '=', 'suspended')
    .where('suspended_at', '<=', before)
    .$if(resellerId !== undefined, (qb) => qb.where('reseller_id', '=', resellerId!))
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map((r) => r.id);
}

export async function countSiteUsers(db: Executor, ids: number[]): Promise<Map<number, number>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('users')
    .select(['client_id', sql<number>`count(*)::int`.as('n')])
    .where('client_id', '=', sql<number>`any(${ids}::bigint[])`)
    .groupBy('client_id')
    .execute();
  return new Map(rows.map((r) => [r.client_id!, r.n]));
}

/** One row per account group (an invoice some live master carries), in invoice order for keyset paging. */
export interface GroupMasterRow {
  invoice: string;
  master_id: number;
  masters: number;
  subordinates: number;
}

export async function listGroupMasters(db: Executor, page: { afterInvoice?: string; search?: string; limit: number }): Promise<GroupMasterRow[]> {
  const like = page.search ? `%${page.search.replace(/[\\%_]/g, (m) => `\\${m}`)}%` : null;
  const { rows } = await sql<GroupMasterRow>`
    select m.invoice, min(m.id) as master_id, count(*)::int as masters,
      (select count(*)::int from clients s where s.parent_invoice = m.invoice and s.status in ('active', 'suspended')) as subordinates
    from clients m
    where m.invoice is not null and m.status in ('active', 'suspended')
      ${page.afterInvoice !== undefined ? sql`and m.invoice > ${page.afterInvoice}` : sql``}
      ${like !== null ? sql`and (m.invoice ilike ${like} or exists (select 1 from domains d where d.client_id = m.id and d.released_at is null and d.name like ${like.toLowerCase()}))` : sql``}
    group by m.invoice
    order by m.invoice
    limit ${page.limit}`.execute(db);
  return rows;
}
