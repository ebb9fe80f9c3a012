import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';
import type { DomainStatus } from '../../db/schema.js';
import type { TenantScope } from '../context.js';
import { LIVE_STATUSES } from '../clients/client.repository.js';

export interface DomainRow {
  id: number;
  client_id: number;
  name: string;
  status: DomainStatus;
  mail_servers: string[];
  position: number;
}

export async function findLiveDomain(db: Executor, scope: TenantScope, name: string) {
  let q = db
    .selectFrom('domains as d')
    .innerJoin('clients as c', 'c.id', 'd.client_id')
    .select(['d.id', 'd.client_id', 'd.name', 'd.status', 'd.mail_servers', 'd.position', 'c.plan_id', 'c.reseller_id'])
    .where('d.name', '=', name)
    .where('d.released_at', 'is', null)
    .where('c.status', 'in', LIVE_STATUSES);
  if ('resellerId' in scope) q = q.where('c.reseller_id', '=', scope.resellerId);
  return q.executeTakeFirst();
}

export async function findLiveDomainsOfClient(db: Executor, clientId: number): Promise<DomainRow[]> {
  return db
    .selectFrom('domains')
    .select(['id', 'client_id', 'name', 'status', 'mail_servers', 'position'])
    .where('client_id', '=', clientId)
    .where('released_at', 'is', null)
    .orderBy('position')
    .execute();
}

/** Names among `names` that a live client other than `exceptClientId` already holds. */
export async function findTakenNames(db: Executor, names: string[], exceptClientId?: number): Promise<string[]> {
  if (names.length === 0) return [];
  let q = db.selectFrom('domains').select('name').where('name', 'in', names).where('released_at', 'is', null);
  if (exceptClientId !== undefined) q = q.where('client_id', '!=', exceptClientId);
  return (await q.execute()).map((r) => r.name);
}

export async function insertDomains(
  db: Executor,
  rows: { client_id: number; reseller_id: number | null; name: string; position: number; mail_servers: string[] }[],
  now: Date,
): Promise<void> {
  if (rows.length === 0) return;
  await db
    .insertInto('domains')
    .values(rows.map((r) => ({ ...r, created_at: now, updated_at: now })))
    .execute();
}

/** The first time a domain becomes ready is kept: the dashboards' provisioning time is measured to it. */
function readySince(status: DomainStatus | undefined, now: Date) {
  return status === 'ready' ? { ready_at: sql<Date>`coalesce(ready_at, ${now})` } : {};
}

export async function updateDomainRow(db: Executor, id: number, patch: { mail_servers?: string[]; position?: number; status?: DomainStatus }, now: Date): Promise<void> {
  await db
    .updateTable('domains')
    .set({ ...patch, ...readySince(patch.status, now), updated_at: now })
    .where('id', '=', id)
    .execute();
}

export async function deleteDomains(db: Executor, ids: number[]): Promise<void> {
  if (ids.length === 0) return;
  await db.deleteFrom('domains').where('id', 'in', ids).execute();
}

/** Live domains among `names`, with what the relay needs to know. */
export async function findLiveDomainsByName(db: Executor, names: string[]) {
  if (names.length === 0) return [];
  return db
    .selectFrom('domains as d')
    .innerJoin('clients as c', 'c.id', 'd.client_id')
    .select(['d.id', 'd.name', 'd.mail_servers', 'd.status'])
    .where('d.name', 'in', names)
    .where('d.released_at', 'is', null)
    .where('c.status', 'in', LIVE_STATUSES)
    .execute();
}

/** Returns the domains whose status this changed, with the status they had. */
export async function setDomainStatuses(db: Executor, ids: number[], status: DomainStatus, now: Date): Promise<{ name: string; reseller_id: number | null; before: DomainStatus }[]> {
  if (ids.length === 0) return [];
  return db
    .updateTable('domains')
    .set({ status, ...readySince(status, now), updated_at: now })
    .where('id', 'in', ids)
    .where('status', '!=', status)
    // The subquery reads the statement's snapshot, so it sees the status from before this update.
    .returning(['name', 'reseller_id', sql<DomainStatus>`(select o.status from domains o where o.id = domains.id)`.as('before')])
    .execute();
}
