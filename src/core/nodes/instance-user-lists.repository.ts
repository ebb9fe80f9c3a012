import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';
import type { ReportedInstanceUser } from './agent-wire.schema.js';

// The users of an instance's res_users as its db node reported them (docs/adr/0027, "Addendum: every
// user reported"): rows of one digest per list, the instance's list being the rows of
// `instance_databases.users_digest`; rows of another digest are a list still arriving in pages.

/** The digest of a list an agent before digests sent whole (the first 200 users by id): no node's digest matches it. */
export const LEGACY_DIGEST = '';

/** The instance keeps no list: its database has no res_users. */
export async function clearListDigest(db: Executor, clientId: number): Promise<void> {
  await sql`update instance_databases set users_digest = null where client_id = ${clientId}`.execute(db);
}

/** The list each of `ids` holds now, locked until commit, where the database is on `nodeId` and live. */
export async function lockListDatabases(db: Executor, nodeId: number, ids: readonly number[]): Promise<{ id: number; users_digest: string | null }[]> {
  if (ids.length === 0) return [];
  const { rows } = await sql<{ id: number; users_digest: string | null }>`
    select d.client_id::int as id, d.users_digest from instance_databases d join clients c on c.id = d.client_id
    where d.client_id = any(${ids as number[]}::bigint[]) and c.db_node_id = ${nodeId} and c.status in ('active', 'suspended')
    order by d.client_id for update of d`.execute(db);
  return rows;
}

/** How many rows of `digest` an instance has gathered. */
export async function countListRows(db: Executor, clientId: number, digest: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from instance_reported_users where client_id = ${clientId} and digest = ${digest}`.execute(db);
  return rows[0]?.n ?? 0;
}

/** Drops the rows of every digest but `keep` (all of them when null): a list that was arriving and will not finish. */
export async function dropOtherLists(db: Executor, clientId: number, keep: string | null): Promise<void> {
  await sql`delete from instance_reported_users where client_id = ${clientId} and (${keep}::text is null or digest <> ${keep})`.execute(db);
}

/** Adds one page of a list, its first user at position `offset`, in one statement. */
export async function insertListRows(db: Executor, clientId: number, digest: string, offset: number, users: readonly ReportedInstanceUser[]): Promise<void> {
  if (users.length === 0) return;
  await sql`
    insert into instance_reported_users (client_id, digest, position, login, name, active, share)
    select ${clientId}, ${digest}, ${offset}::int + (x.ord - 1)::int, x.u ->> 'login', x.u ->> 'name', (x.u ->> 'active')::boolean, (x.u ->> 'share')::boolean
    from jsonb_array_elements(${JSON.stringify(users)}::jsonb) with ordinality as x(u, ord)`.execute(db);
}

/** Makes the rows of `digest` the instance's list, as read at `at` (`total` rows of res_users then), and drops every other. */
export async function keepList(db: Executor, clientId: number, digest: string, at: string, total: number): Promise<void> {
  await sql`update instance_databases set users_digest = ${digest}, has_res_users = true, users_reported_at = ${at}::timestamptz, users_total = ${total} where client_id = ${clientId}`.execute(db);
  await dropOtherLists(db, clientId, digest);
}

/** Active internal users (share false) of the instance's list, with `exclude` logins left out of the count. */
export async function countReportedUsers(db: Executor, clientId: number, exclude: readonly string[]): Promise<number | undefined> {
  const { rows } = await sql<{ listed: boolean; n: number }>`
    select d.users_digest is not null as listed,
      (select count(*)::int from instance_reported_users r where r.client_id = d.client_id and r.digest = d.users_digest and r.active and not r.share
         and r.login <> all(${exclude as string[]}::text[])) as n
    from instance_databases d where d.client_id = ${clientId} and d.has_res_users is true`.execute(db);
  return rows[0]?.listed ? rows[0].n : undefined;
}

export interface ReportedUsersPage {
  users: ReportedInstanceUser[];
  /** Active internal users in the whole list. */
  total: number;
  reported_at: string | null;
}

/** One page of the instance's active internal users, in the instance's order; undefined without a list. */
export async function findReportedUsersPage(db: Executor, clientId: number, offset: number, limit: number): Promise<ReportedUsersPage | undefined> {
  const { rows } = await sql<{ digest: string | null; reported_at: string | null; total: number; doc: string }>`
    select d.users_digest as digest, d.users_reported_at::text as reported_at,
      (select count(*)::int from instance_reported_users r where r.client_id = d.client_id and r.digest = d.users_digest and r.active and not r.share) as total,
      (select coalesce(json_agg(json_build_object('login', p.login, 'name', p.name, 'active', p.active, 'share', p.share) order by p.position), '[]')::text
         from (select r.* from instance_reported_users r where r.client_id = d.client_id and r.digest = d.users_digest and r.active and not r.share
               order by r.position offset ${offset} limit ${limit}) p) as doc
    from instance_databases d where d.client_id = ${clientId} and d.has_res_users is true and d.users_digest is not null`.execute(db);
  const row = rows[0];
  if (!row) return undefined;
  return { users: JSON.parse(row.doc) as ReportedInstanceUser[], total: row.total, reported_at: row.reported_at };
}

/** Those of `logins` that the instance's list does not show active: Hostplane's users its node has not applied yet. */
export async function findUnlistedLogins(db: Executor, clientId: number, logins: readonly string[]): Promise<string[]> {
  if (logins.length === 0) return [];
  const { rows } = await sql<{ login: string }>`
    select x.login from unnest(${logins as string[]}::text[]) with ordinality as x(login, ord)
    where not exists (
      select 1 from instance_databases d join instance_reported_users r on r.client_id = d.client_id and r.digest = d.users_digest
      where d.client_id = ${clientId} and r.login = x.login and r.active and not r.share)
    order by x.ord`.execute(db);
  return rows.map((r) => r.login);
}
