import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';
import type { InstanceDatabasesTable } from '../../db/schema.js';

/** An instance with a database of its own, as its desired object is made from, with what its node holds now. */
export interface DatabaseObjectSource {
  id: number;
  db_node_id: number | null;
  status: string;
  user_count: number;
  plan_id: number | null;
  node_label: string | null;
  name: string;
  template: string;
  owner_role: string;
  owner_verifier: string | null;
  connection_limit: number;
  object_state: 'present' | 'absent' | null;
  object_spec: unknown;
}

/** The instances among `ids` that have a database (deleted ones too: theirs become absent), in one statement. */
export async function findDatabaseObjectSources(db: Executor, ids: readonly number[]): Promise<DatabaseObjectSource[]> {
  if (ids.length === 0) return [];
  const { rows } = await sql<{ doc: string }>`
    select coalesce(json_agg(x), '[]')::text as doc from (
      select c.id, c.db_node_id, c.status, c.user_count, c.plan_id, p.node_label,
        d.name, d.template, d.owner_role, d.owner_verifier, d.connection_limit,
        o.state as object_state, o.spec as object_spec
      from (select distinct id from unnest(${ids as number[]}::bigint[]) as x(id)) chosen
      join instance_databases d on d.client_id = chosen.id
      join clients c on c.id = d.client_id
      left join plans p on p.id = c.plan_id
      left join node_objects o on o.node_id = c.db_node_id and o.kind = 'database' and o.object_id = 'db' || c.id
    ) x`.execute(db);
  return JSON.parse(rows[0]!.doc) as DatabaseObjectSource[];
}

export type NewInstanceDatabase = Pick<InstanceDatabasesTable, 'client_id' | 'name' | 'template' | 'owner_role' | 'owner_verifier' | 'connection_limit'>;

export async function insertInstanceDatabase(db: Executor, row: NewInstanceDatabase, now: Date): Promise<void> {
  await db.insertInto('instance_databases').values({ ...row, created_at: now }).execute();
}

export async function setOwnerVerifier(db: Executor, clientId: number, verifier: string | null): Promise<boolean> {
  const r = await db.updateTable('instance_databases').set({ owner_verifier: verifier }).where('client_id', '=', clientId).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** An instance's database as the operator and the portal see it: where it is, whether it is made, what was measured. */
export interface InstanceDatabaseView {
  client_id: number;
  name: string;
  template: string;
  owner_role: string;
  connection_limit: number;
  node_name: string | null;
  version: string | null;
  applied_version: string | null;
  error: string | null;
  size_bytes: string | null;
  active_users: number | null;
  sampled_at: string | null;
  reported_at: string | null;
}

export async function findInstanceDatabaseViews(db: Executor, ids: readonly number[]): Promise<InstanceDatabaseView[]> {
  if (ids.length === 0) return [];
  const { rows } = await sql<InstanceDatabaseView>`
    select d.client_id::int as client_id, d.name, d.template, d.owner_role, d.connection_limit, n.name as node_name,
      o.version::text as version, o.applied_version::text as applied_version, o.error,
      d.size_bytes::text as size_bytes, d.active_users, d.sampled_at::text as sampled_at, o.reported_at::text as reported_at
    from instance_databases d
    join clients c on c.id = d.client_id
    left join nodes n on n.id = c.db_node_id
    left join node_objects o on o.node_id = c.db_node_id and o.kind = 'database' and o.object_id = 'db' || c.id
    where d.client_id = any(${ids as number[]}::bigint[])`.execute(db);
  return rows;
}

/** An instance database placed on the reporting node, with its stored usage. */
export interface UsageDatabase {
  id: number;
  reseller_id: number | null;
  status: string;
  user_count: number;
  sampled_at: string | null;
  active_users: number | null;
  over_storage: boolean;
  over_users: boolean;
  /** The instance's stored files, which count against its storage limit with the database. */
  file_bytes: string;
}

/** Live instances among `ids` whose database is on `nodeId` (a node reports its own only). */
export async function findUsageDatabases(db: Executor, nodeId: number, ids: readonly number[]): Promise<UsageDatabase[]> {
  if (ids.length === 0) return [];
  const { rows } = await sql<UsageDatabase>`
    select c.id::int as id, c.reseller_id, c.status, c.user_count, d.sampled_at::text as sampled_at, d.active_users, d.over_storage, d.over_users,
      (select coalesce(sum(f.size_bytes), 0) from instance_files f where f.client_id = c.id)::text as file_bytes
    from instance_databases d join clients c on c.id = d.client_id
    where d.client_id = any(${ids as number[]}::bigint[]) and c.db_node_id = ${nodeId} and c.status in ('active', 'suspended')`.execute(db);
  return rows;
}

export interface DatabaseUsageRow {
  client_id: number;
  size_bytes: number;
  active_users: number | null;
  sampled_at: string;
  over_storage: boolean;
  over_users: boolean;
}

/** Writes the latest sample of every database given, in one statement. */
export async function writeDatabaseUsage(db: Executor, rows: readonly DatabaseUsageRow[]): Promise<void> {
  if (rows.length === 0) return;
  await sql`
    update instance_databases d set size_bytes = x.size_bytes, active_users = x.active_users, sampled_at = x.sampled_at, over_storage = x.over_storage, over_users = x.over_users
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as x(client_id bigint, size_bytes bigint, active_users integer, sampled_at timestamptz, over_storage boolean, over_users boolean)
    where d.client_id = x.client_id`.execute(db);
}
