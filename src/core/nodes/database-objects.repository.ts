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
  /** The instance's expiry, ISO 8601 in UTC; null: none. */
  expires_at: string | null;
  object_state: 'present' | 'absent' | null;
  object_spec: unknown;
  /** The instance's users as Hostplane holds them (its administrator and owner first), for its res_users; passwordHash: Odoo's hash, null when none is known. */
  users: { login: string; name: string; active: boolean; groups: string[]; passwordHash: string | null }[];
  /** Files staged in Hostplane for its ir_attachment, oldest first; empty until its database reported having one. */
  files: { id: number; name: string; size: number; sha256: string }[];
}

/** Staged files one spec lists at most: the rest follow once these are moved (a spec stays small). */
export const FILES_PER_SPEC = 100;

/** The instances among `ids` that have a database (deleted ones too: theirs become absent), in one statement. */
export async function findDatabaseObjectSources(db: Executor, ids: readonly number[]): Promise<DatabaseObjectSource[]> {
  if (ids.length === 0) return [];
  const { rows } = await sql<{ doc: string }>`
    select coalesce(json_agg(x), '[]')::text as doc from (
      select c.id, c.db_node_id, c.status, c.user_count, c.plan_id, p.node_label,
        d.name, d.template, d.owner_role, d.owner_verifier, d.connection_limit,
        to_char(c.expires_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as expires_at,
        o.state as object_state, o.spec as object_spec,
        (select coalesce(json_agg(json_build_object('login', u.login, 'name', coalesce(u.name, u.login), 'active', u.disabled_at is null, 'passwordHash', u.odoo_password_hash,
            'groups', (select coalesce(json_agg(g.group_xmlid order by g.group_xmlid), '[]') from user_groups g where g.user_id = u.id)) order by u.id), '[]')
          from users u where u.client_id = c.id and u.role in ('client_admin', 'end_user')) as users,
        (select coalesce(json_agg(json_build_object('id', f.id, 'name', f.name, 'size', f.size_bytes, 'sha256', f.sha256) order by f.id), '[]')
          from (select f.id, f.name, f.size_bytes, f.sha256 from instance_files f
                where f.client_id = c.id and f.moved_at is null and f.sha256 is not null and d.files_count is not null
                order by f.id limit ${FILES_PER_SPEC}) f) as files
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

/** Whether the instance `clientId` has a database of its own (made with it, never added later). */
export async function hasInstanceDatabase(db: Executor, clientId: number): Promise<boolean> {
  return (await db.selectFrom('instance_databases').select('client_id').where('client_id', '=', clientId).executeTakeFirst()) !== undefined;
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
  has_res_users: boolean | null;
  files_count: number | null;
  files_bytes: string | null;
}

export async function findInstanceDatabaseViews(db: Executor, ids: readonly number[]): Promise<InstanceDatabaseView[]> {
  if (ids.length === 0) return [];
  const { rows } = await sql<InstanceDatabaseView>`
    select d.client_id::int as client_id, d.name, d.template, d.owner_role, d.connection_limit, n.name as node_name,
      o.version::text as version, o.applied_version::text as applied_version, o.error,
      d.size_bytes::text as size_bytes, d.active_users, d.sampled_at::text as sampled_at, o.reported_at::text as reported_at,
      d.has_res_users, d.files_count, d.files_bytes::text as files_bytes
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
  /** The instance's files Hostplane holds (staged ones too), which count against its storage limit with the database. */
  file_bytes: string;
  /** Files moved into the database since its last sample (when, bytes): counted until a sample taken after the move. */
  moved_files: { at: string; bytes: number }[];
  /** Its ir_attachment's file count as last reported; null: none reported (no such table, or no report yet). */
  files_count: number | null;
  /** The digest of the user list kept (null: none). */
  users_digest: string | null;
}

/** Live instances among `ids` whose database is on `nodeId` (a node reports its own only). */
export async function findUsageDatabases(db: Executor, nodeId: number, ids: readonly number[]): Promise<UsageDatabase[]> {
  if (ids.length === 0) return [];
  const { rows } = await sql<UsageDatabase>`
    select c.id::int as id, c.reseller_id, c.status, c.user_count, d.sampled_at::text as sampled_at, d.active_users, d.over_storage, d.over_users,
      (select coalesce(sum(f.size_bytes), 0) from instance_files f where f.client_id = c.id and f.moved_at is null)::text as file_bytes,
      (select coalesce(json_agg(json_build_object('at', f.moved_at, 'bytes', f.size_bytes)), '[]') from instance_files f
        where f.client_id = c.id and f.moved_at is not null and (d.sampled_at is null or f.moved_at > d.sampled_at)) as moved_files,
      d.files_count, d.users_digest
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
  /** Whether the sample read the users (false: the stored report stays); then whether it has res_users, and how many rows. */
  users_read: boolean;
  has_res_users: boolean | null;
  users_total: number | null;
  /** When the sample showed the stored list still current (its digest, or a whole list of an older agent); null: it did not. */
  users_listed_at: string | null;
  /** Whether the sample read the files (false: the stored counts stay); null counts: no ir_attachment. */
  files_read: boolean;
  files_count: number | null;
  files_bytes: number | null;
}

/** Writes the latest sample of every database given, in one statement. */
export async function writeDatabaseUsage(db: Executor, rows: readonly DatabaseUsageRow[]): Promise<void> {
  if (rows.length === 0) return;
  await sql`
    update instance_databases d set size_bytes = x.size_bytes, active_users = x.active_users, sampled_at = x.sampled_at, over_storage = x.over_storage, over_users = x.over_users,
      has_res_users = case when x.users_read then x.has_res_users else d.has_res_users end,
      users_total = case when x.users_read then x.users_total else d.users_total end,
      users_reported_at = coalesce(x.users_listed_at, d.users_reported_at),
      files_count = case when x.files_read then x.files_count else d.files_count end,
      files_bytes = case when x.files_read then x.files_bytes else d.files_bytes end
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as x(client_id bigint, size_bytes bigint, active_users integer, sampled_at timestamptz, over_storage boolean, over_users boolean,
      users_read boolean, has_res_users boolean, users_total integer, users_listed_at timestamptz, files_read boolean, files_count integer, files_bytes bigint)
    where d.client_id = x.client_id`.execute(db);
}

/** Live instances with a database, after `afterId`, by id: the migration job's pages. */
export async function findLiveInstanceDatabaseIds(db: Executor, afterId: number, limit: number): Promise<number[]> {
  const { rows } = await sql<{ id: number }>`
    select d.client_id::int as id from instance_databases d join clients c on c.id = d.client_id
    where d.client_id > ${afterId} and c.status in ('active', 'suspended') order by d.client_id limit ${limit}`.execute(db);
  return rows.map((r) => r.id);
}
