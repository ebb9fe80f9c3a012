import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';

/** One of a site's databases with the state of the object that carries it to its node. */
export interface SiteDatabaseRow {
  engine: 'mysql' | 'pgsql';
  name: string;
  version: number | null;
  created_at: Date;
  object_version: number | null;
  applied_version: number | null;
  error: string | null;
}

export async function listSiteDatabaseRows(db: Executor, clientId: number): Promise<SiteDatabaseRow[]> {
  const { rows } = await sql<{ engine: 'mysql' | 'pgsql'; name: string; version: string | null; created_at: Date; object_version: string | null; applied_version: string | null; error: string | null }>`
    select d.engine, d.name, d.version::text, d.created_at, o.version::text as object_version, o.applied_version::text as applied_version, o.error
    from site_databases d
    join clients c on c.id = d.client_id
    left join node_objects o on o.node_id = c.db_node_id and o.kind = 'db_user' and o.object_id = 'site' || d.client_id || '-' || d.engine
    where d.client_id = ${clientId}
    order by d.engine, d.name`.execute(db);
  const n = (v: string | null) => (v === null ? null : Number(v));
  return rows.map((r) => ({ ...r, version: n(r.version), object_version: n(r.object_version), applied_version: n(r.applied_version) }));
}

/** Holds the site's row until commit, so two creations cannot both pass the dbasenum count. */
export async function lockSiteForDatabases(db: Executor, clientId: number): Promise<void> {
  await sql`select id from clients where id = ${clientId} for update`.execute(db);
}

export async function countSiteDatabases(db: Executor, clientId: number, engine: 'mysql' | 'pgsql'): Promise<number> {
  const row = await db.selectFrom('site_databases').select((eb) => eb.fn.countAll<string>().as('n')).where('client_id', '=', clientId).where('engine', '=', engine).executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** Inserts the database; false when the name is taken on that engine (by this site or another). */
export async function insertSiteDatabase(db: Executor, clientId: number, engine: 'mysql' | 'pgsql', name: string, now: Date): Promise<boolean> {
  const r = await sql`insert into site_databases (client_id, engine, name, created_at) values (${clientId}, ${engine}, ${name}, ${now}) on conflict (engine, name) do nothing`.execute(db);
  return Number(r.numAffectedRows ?? 0) > 0;
}

/** Deletes the site's own database of that name; false when the site has none. */
export async function deleteSiteDatabase(db: Executor, clientId: number, engine: 'mysql' | 'pgsql', name: string): Promise<boolean> {
  const r = await db.deleteFrom('site_databases').where('client_id', '=', clientId).where('engine', '=', engine).where('name', '=', name).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** Whether the client is a hosting site (not a SaaS instance, which has its own database). */
export async function isHostingSite(db: Executor, clientId: number): Promise<boolean> {
  const row = await db.selectFrom('clients').select('instance_uuid').where('id', '=', clientId).executeTakeFirst();
  return row !== undefined && row.instance_uuid === null;
}
