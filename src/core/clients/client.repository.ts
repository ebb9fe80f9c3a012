import { sql, type Expression, type SqlBool } from 'kysely';
import type { Executor } from '../../db/database.js';
import { precompiled } from '../../db/precompiled.js';
import type { NewJob } from '../../jobs/job.repository.js';
import type { NewAuditEvent } from '../audit/audit.repository.js';
import type { ClientStatus } from '../../db/schema.js';
import type { TenantScope } from '../context.js';
import type { Client, Domain } from './client.schema.js';

export const LIVE_STATUSES: ClientStatus[] = ['active', 'suspended'];

export interface ClientFilter {
  /** Include cancelled and deleted clients (operators only). */
  includeGone?: boolean;
}

function baseQuery(db: Executor, scope: TenantScope, filter: ClientFilter) {
  let q = db
    .selectFrom('clients as c')
    .leftJoin('plans as p', 'p.id', 'c.plan_id')
    .select([
      'c.id',
      'c.reseller_id',
      'p.uid as package_uid',
      'c.name',
      'c.email_address',
      'c.user_count',
      'c.status',
      // One round trip: the domains come back aggregated with their client.
      sql<Domain[]>`coalesce((select json_agg(json_build_object('name', d.name, 'status', d.status, 'mail_servers', d.mail_servers) order by d.position, d.id) from domains d where d.client_id = c.id and d.released_at is null), '[]'::json)`.as(
        'domains',
      ),
    ]);
  if ('resellerId' in scope) q = q.where('c.reseller_id', '=', scope.resellerId);
  if (!filter.includeGone) q = q.where('c.status', 'in', LIVE_STATUSES);
  return q;
}

// The reseller API's most frequent read.
const selectLiveClientOfReseller = precompiled((db: Executor, resellerId: number, id: number) => baseQuery(db, { resellerId }, {}).where('c.id', '=', id));

export async function findClientById(db: Executor, scope: TenantScope, id: number, filter: ClientFilter = {}): Promise<Client | undefined> {
  if ('resellerId' in scope && !filter.includeGone) return (await selectLiveClientOfReseller(db, scope.resellerId, id))[0];
  return baseQuery(db, scope, filter).where('c.id', '=', id).executeTakeFirst();
}

export async function findClientIdByDomain(db: Executor, scope: TenantScope, name: string): Promise<number | undefined> {
  let q = db
    .selectFrom('domains as d')
    .innerJoin('clients as c', 'c.id', 'd.client_id')
    .select('c.id')
    .where('d.name', '=', name)
    .where('d.released_at', 'is', null)
    .where('c.status', 'in', LIVE_STATUSES);
  if ('resellerId' in scope) q = q.where('c.reseller_id', '=', scope.resellerId);
  const row = await q.executeTakeFirst();
  return row?.id;
}

export interface ListPage {
  afterId?: number;
  limit: number;
  resellerId?: number;
  status?: ClientStatus;
  search?: string;
  packageUid?: string;
  /** An account group: its master (billing invoice) and its subordinates (parent invoice). */
  invoice?: string;
}

export async function listClients(db: Executor, scope: TenantScope, page: ListPage, filter: ClientFilter = {}): Promise<Client[]> {
  let q = baseQuery(db, scope, filter);
  if (page.afterId !== undefined) q = q.where('c.id', '>', page.afterId);
  if (page.resellerId !== undefined) q = q.where('c.reseller_id', '=', page.resellerId);
  if (page.status !== undefined) q = q.where('c.status', '=', page.status);
  if (page.packageUid !== undefined) {
    // The plan's id as a value, not a join or subquery: the planner then sees how common the plan is
    // and range-scans clients_plan_idx for a rare one instead of filtering every client in id order.
    const plan = await db.selectFrom('plans').select('id').where('uid', '=', page.packageUid).executeTakeFirst();
    if (!plan) return [];
    q = q.where('c.plan_id', '=', plan.id);
  }
  if (page.invoice !== undefined) {
    const invoice = page.invoice;
    q = q.where((eb) => eb.or([eb('c.invoice', '=', invoice), eb('c.parent_invoice', '=', invoice)]));
  }
  if (page.search) {
    const like = `%${page.search.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
    q = q.where((eb) =>
      eb.or([
        eb('c.name', 'ilike', like),
        eb('c.email_address', 'ilike', like),
        eb.exists(
          eb
            .selectFrom('domains as sd')
            .select('sd.id')
            .whereRef('sd.client_id', '=', 'c.id')
            .where('sd.name', 'like', like.toLowerCase()),
        ) as Expression<SqlBool>,
      ]),
    );
  }
  // The page comes back as one JSON text: PGlite (one connection, run in the server's thread)
  // decodes one text value far faster than a page of typed rows, and PostgreSQL pays nothing for it.
  const row = await db
    .selectFrom(q.orderBy('c.id').limit(page.limit).as('x'))
    .select(sql<string>`coalesce(json_agg(x order by x.id), '[]')::text`.as('doc'))
    .executeTakeFirstOrThrow();
  return JSON.parse(row.doc) as Client[];
}

export interface ClientRow {
  reseller_id: number | null;
  plan_id: number | null;
  name: string | null;
  email_address: string | null;
  user_count: number;
}

/**
 * Creates the client, its domains (in order), its admin user, its relay jobs and its audit event in
 * one statement: atomic without an explicit transaction, and one round trip. A taken domain name
 * fails it at the unique index.
 */
export async function insertClientWithDomains(
  db: Executor,
  row: ClientRow,
  domains: { name: string; mail_servers: string[] }[],
  jobs: NewJob[],
  audit: Omit<NewAuditEvent, 'target_id'>,
  now: Date,
): Promise<number> {
  const names = domains.map((d) => d.name);
  const servers = domains.map((d) => JSON.stringify(d.mail_servers));
  // The jobs the new client causes commit with it; they learn its id here.
  const jobRows = JSON.stringify(jobs.map((j) => ({ kind: j.kind, lane: j.lane ?? null, payload: j.payload ?? {}, max_attempts: j.maxAttempts ?? 10 })));
  const { rows } = await sql<{ id: number }>`
    with c as (
      insert into clients (reseller_id, plan_id, name, email_address, user_count, service_meta, created_at, updated_at)
      values (${row.reseller_id}, ${row.plan_id}, ${row.name}, ${row.email_address}, ${row.user_count}, '{}', ${now}, ${now})
      returning id
    ), d as (
      insert into domains (client_id, reseller_id, name, position, mail_servers, created_at, updated_at)
      select c.id, ${row.reseller_id}, x.name, x.ord - 1, array(select json_array_elements_text(x.servers::json)), ${now}, ${now}
      from c, unnest(${names}::text[], ${servers}::text[]) with ordinality as x(name, servers, ord)
    ), u as (
      insert into users (role, client_id, reseller_id, login, email, name, created_at)
      select 'client_admin', c.id, ${row.reseller_id}, 'admin', ${row.email_address}, 'Administrator', ${now} from c
    ), j as (
      insert into jobs (kind, lane, payload, max_attempts, client_id, reseller_id, run_at, created_at, updated_at)
      select x.kind, x.lane, x.payload, x.max_attempts, c.id, ${row.reseller_id}, ${now}, ${now}, ${now}
      from c, jsonb_to_recordset(${jobRows}::jsonb) as x(kind text, lane text, payload jsonb, max_attempts integer)
    ), a as (
      insert into audit_events (occurred_at, actor_kind, actor_id, reseller_id, action, target_type, target_id, changes, request_id, source_ip)
      select ${audit.occurred_at}, ${audit.actor_kind}, ${audit.actor_id}, ${audit.reseller_id}, ${audit.action}, ${audit.target_type}, c.id::text, ${audit.changes}::jsonb, ${audit.request_id}, ${audit.source_ip}
      from c
    )
    select id from c`.execute(db);
  return rows[0]!.id;
}

export async function updateClientRow(db: Executor, id: number, patch: Partial<ClientRow>, now: Date): Promise<void> {
  await db
    .updateTable('clients')
    .set({ ...patch, updated_at: now })
    .where('id', '=', id)
    .execute();
}

/** Moves a live client to cancelled and frees its domain names; false when it was not live. */
export async function cancelClientRow(db: Executor, id: number, now: Date): Promise<boolean> {
  const row = await db
    .updateTable('clients')
    .set({ status: 'cancelled', cancelled_at: now, updated_at: now })
    .where('id', '=', id)
    .where('status', 'in', LIVE_STATUSES)
    .returning('id')
    .executeTakeFirst();
  if (!row) return false;
  await db.updateTable('domains').set({ released_at: now, updated_at: now }).where('client_id', '=', id).where('released_at', 'is', null).execute();
  return true;
}

export async function findCancelledClient(db: Executor, id: number) {
  return db.selectFrom('clients').select(['id', 'status', 'cancelled_at']).where('id', '=', id).executeTakeFirst();
}

/** Domains released when the client was cancelled (same instant), for restoring. */
export async function findDomainsReleasedAt(db: Executor, clientId: number, at: Date) {
  return db.selectFrom('domains').select(['id', 'name']).where('client_id', '=', clientId).where('released_at', '=', at).execute();
}

export async function restoreClientRow(db: Executor, id: number, domainIds: number[], now: Date): Promise<void> {
  await db.updateTable('clients').set({ status: 'active', cancelled_at: null, updated_at: now }).where('id', '=', id).execute();
  if (domainIds.length) {
    await db.updateTable('domains').set({ released_at: null, status: 'initializing', updated_at: now }).where('id', 'in', domainIds).execute();
  }
}

export async function findClientAdminId(db: Executor, clientId: number): Promise<number | undefined> {
  const row = await db
    .selectFrom('users')
    .select('id')
    .where('client_id', '=', clientId)
    .where('role', '=', 'client_admin')
    .where('disabled_at', 'is', null)
    .orderBy('id')
    .executeTakeFirst();
  return row?.id;
}
