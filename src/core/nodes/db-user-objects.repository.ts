import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';

/** A client as its db_user objects are made from, with the objects its db node holds and its databases. */
export interface DbUserSource {
  id: number;
  status: string;
  db_node_id: number | null;
  plan_id: number | null;
  node_label: string | null;
  service_meta: Record<string, Record<string, unknown>>;
  admin_user: string | null;
  objects: { node_id: number; object_id: string; state: 'present' | 'absent'; spec: unknown }[];
  databases: { engine: 'mysql' | 'pgsql'; name: string }[];
}

/**
 * The hosting clients among `ids` (deleted ones too: their objects become absent; SaaS instances
 * have their own database objects), each with the db_user objects its db node holds (looked up by
 * the objects' key, never by scanning) and its asked-for databases, as one JSON text (one statement
 * whatever the number of clients).
 */
export async function findDbUserSources(db: Executor, ids: readonly number[]): Promise<DbUserSource[]> {
  if (ids.length === 0) return [];
  const { rows } = await sql<{ doc: string }>`
    select coalesce(json_agg(x), '[]')::text as doc from (
      select c.id, c.status, c.db_node_id, c.plan_id, p.node_label, c.service_meta,
        (select u.login from users u where u.client_id = c.id and u.role = 'client_admin' order by u.id limit 1) as admin_user,
        coalesce((select json_agg(json_build_object('node_id', o.node_id, 'object_id', o.object_id, 'state', o.state, 'spec', o.spec))
          from node_objects o where o.node_id = c.db_node_id and o.kind = 'db_user' and o.object_id in ('site' || c.id || '-mysql', 'site' || c.id || '-pgsql')), '[]') as objects,
        coalesce((select json_agg(json_build_object('engine', d.engine, 'name', d.name) order by d.name)
          from site_databases d where d.client_id = c.id), '[]') as databases
      from (select distinct id from unnest(${ids as number[]}::bigint[]) as x(id)) chosen
      join clients c on c.id = chosen.id
      left join plans p on p.id = c.plan_id
      where c.instance_uuid is null
    ) x`.execute(db);
  return (JSON.parse(rows[0]!.doc) as DbUserSource[]).map((r) => ({ ...r, db_node_id: r.db_node_id === null ? null : Number(r.db_node_id), objects: r.objects.map((o) => ({ ...o, node_id: Number(o.node_id) })) }));
}

/** Databases added before their object was written learn the version that carries them. */
export async function stampDatabaseVersions(db: Executor, clientIds: readonly number[]): Promise<void> {
  if (clientIds.length === 0) return;
  await sql`
    update site_databases d set version = o.version
    from clients c, node_objects o
    where d.client_id = any(${clientIds as number[]}::bigint[]) and d.version is null
      and c.id = d.client_id and o.node_id = c.db_node_id and o.kind = 'db_user'
      and o.object_id = 'site' || d.client_id || '-' || d.engine and o.state = 'present'`.execute(db);
}

/** Databases whose user is removed are forgotten: the absent object (its last spec) names them for the dump. */
export async function forgetDatabases(db: Executor, gone: readonly { clientId: number; engine: 'mysql' | 'pgsql' }[]): Promise<void> {
  if (gone.length === 0) return;
  await sql`
    delete from site_databases d
    using unnest(${gone.map((g) => g.clientId)}::bigint[], ${gone.map((g) => g.engine)}::text[]) as x(client_id, engine)
    where d.client_id = x.client_id and d.engine = x.engine`.execute(db);
}

/**
 * Records database sizes a node reported for its db_user objects, in one statement: only objects
 * this node holds present count, and a sample older than the one kept is left out. Returns the site
 * of each sample recorded (a site with both engines appears twice).
 */
export async function recordDbUserSizes(db: Executor, nodeId: number, samples: readonly { id: string; at: string; storageBytes: number }[]): Promise<number[]> {
  if (samples.length === 0) return [];
  const { rows } = await sql<{ client_id: string }>`
    insert into site_db_usage (client_id, engine, node_id, storage_bytes, sampled_at)
    select distinct on (o.client_id, x.engine) o.client_id, x.engine, ${nodeId}, x.bytes, x.at
    from jsonb_to_recordset(${JSON.stringify(samples.map((s) => ({ id: s.id, at: s.at, bytes: s.storageBytes, engine: s.id.endsWith('-pgsql') ? 'pgsql' : 'mysql' })))}::jsonb)
      as x(id text, at timestamptz, bytes bigint, engine text)
    join node_objects o on o.node_id = ${nodeId} and o.kind = 'db_user' and o.object_id = x.id and o.state = 'present' and o.client_id is not null
    order by o.client_id, x.engine, x.at desc
    on conflict (client_id, engine) do update set node_id = excluded.node_id, storage_bytes = excluded.storage_bytes, sampled_at = excluded.sampled_at
      where site_db_usage.sampled_at <= excluded.sampled_at
    returning client_id`.execute(db);
  return rows.map((r) => Number(r.client_id));
}

/** The last reported size of a site's databases per engine. */
export async function findDbUserSizes(db: Executor, clientId: number): Promise<Map<'mysql' | 'pgsql', number>> {
  const rows = await db.selectFrom('site_db_usage').select(['engine', 'storage_bytes']).where('client_id', '=', clientId).execute();
  return new Map(rows.map((r) => [r.engine, Number(r.storage_bytes)]));
}
