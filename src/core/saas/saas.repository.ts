import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';
import { LIVE_STATUSES } from '../clients/client.repository.js';

export async function insertAccount(db: Executor, row: { role: 'operator' | 'portal'; login: string; name: string | null; email: string | null; password_hash: string }, now: Date): Promise<number> {
  const r = await db
    .insertInto('users')
    .values({ ...row, client_id: null, reseller_id: null, created_at: now })
    .returning('id')
    .executeTakeFirstOrThrow();
  return r.id;
}

export async function addUserGroups(db: Executor, userIds: number[], groups: string[]): Promise<void> {
  const rows = userIds.flatMap((user_id) => groups.map((group_xmlid) => ({ user_id, group_xmlid })));
  if (rows.length === 0) return;
  await db.insertInto('user_groups').values(rows).onConflict((oc) => oc.columns(['user_id', 'group_xmlid']).doNothing()).execute();
}

export async function removeUserGroups(db: Executor, userIds: number[], groups: string[]): Promise<void> {
  if (userIds.length === 0 || groups.length === 0) return;
  await db.deleteFrom('user_groups').where('user_id', 'in', userIds).where('group_xmlid', 'in', groups).execute();
}

export async function findUserGroups(db: Executor, userId: number): Promise<string[]> {
  return (await db.selectFrom('user_groups').select('group_xmlid').where('user_id', '=', userId).orderBy('group_xmlid').execute()).map((r) => r.group_xmlid);
}

export interface SaasPlan {
  id: number;
  uid: string;
  name: string;
  description: string;
  dbname_template: string | null;
  max_databases: number | null;
  addons: string[];
  limits: { max_users?: number };
  position: number;
  template_database: string | null;
}

const planColumns = ['id', 'uid', 'name', 'description', 'dbname_template', 'max_databases', 'addons', sql<{ max_users?: number }>`limits`.as('limits'), 'position', 'template_database'] as const;

export async function findSaasPlan(db: Executor, id: number): Promise<SaasPlan | undefined> {
  return db.selectFrom('plans').select(planColumns).where('id', '=', id).executeTakeFirst();
}

export async function listSaasPlans(db: Executor, ids?: number[]): Promise<SaasPlan[]> {
  let q = db.selectFrom('plans').select(planColumns);
  if (ids) q = q.where('id', '=', sql<number>`any(${ids}::bigint[])`);
  return q.orderBy('position').orderBy('id').execute();
}

export async function lockSaasPlan(db: Executor, id: number): Promise<void> {
  // Not "for update": instances of other doors referencing the plan (a key-share lock) must not wait.
  await sql`select id from plans where id = ${id} for no key update`.execute(db);
}

export async function countLiveInstancesOfPlan(db: Executor, planId: number): Promise<number> {
  const r = await db
    .selectFrom('clients')
    .select(sql<number>`count(*)::int`.as('n'))
    .where('plan_id', '=', planId)
    .where('instance_uuid', 'is not', null)
    .where('status', 'in', LIVE_STATUSES)
    .executeTakeFirstOrThrow();
  return r.n;
}

export async function nextDbnameNumber(db: Executor): Promise<number> {
  const { rows } = await sql<{ n: number }>`select nextval('saas_dbname_seq')::int as n`.execute(db);
  return rows[0]!.n;
}

export interface NewInstance {
  plan_id: number;
  name: string;
  email_address: string | null;
  user_count: number;
  instance_uuid: string;
  owner_user_id: number;
}

/**
 * The instance (a client), its host name as its domain, its admin and owner users and their relay
 * job, in one statement. Returns the client id and the two users' ids.
 */
export async function insertInstance(
  db: Executor,
  row: NewInstance,
  users: { admin: { login: string; passwordHash: string | null }; owner: { login: string; name: string | null; passwordHash: string; odooPasswordHash: string | null } },
  jobs: { kind: string; lane: string; payload: Record<string, unknown>; max_attempts: number }[],
  now: Date,
): Promise<{ id: number; adminId: number; ownerId: number }> {
  const { rows } = await sql<{ id: number; admin_id: number; owner_id: number }>`
    with c as (
      insert into clients (reseller_id, plan_id, name, email_address, user_count, service_meta, instance_uuid, owner_user_id, created_at, updated_at)
      values (null, ${row.plan_id}, ${row.name}, ${row.email_address}, ${row.user_count}, '{}', ${row.instance_uuid}::uuid, ${row.owner_user_id}, ${now}, ${now})
      returning id
    ), d as (
      insert into domains (client_id, reseller_id, name, position, created_at, updated_at)
      select c.id, null, ${row.name}, 0, ${now}, ${now} from c
    ), a as (
      insert into users (role, client_id, reseller_id, login, email, name, password_hash, created_at)
      select 'client_admin', c.id, null, ${users.admin.login}, null, 'Administrator', ${users.admin.passwordHash}, ${now} from c
      returning id
    ), o as (
      insert into users (role, client_id, reseller_id, login, email, name, password_hash, odoo_password_hash, created_at)
      select 'end_user', c.id, null, ${users.owner.login}, ${row.email_address}, ${users.owner.name}, ${users.owner.passwordHash}, ${users.owner.odooPasswordHash}, ${now} from c
      returning id
    ), j as (
      insert into jobs (kind, lane, payload, max_attempts, client_id, reseller_id, run_at, created_at, updated_at)
      select x.kind, x.lane, x.payload, x.max_attempts, c.id, null, ${now}, ${now}, ${now}
      from c, jsonb_to_recordset(${JSON.stringify(jobs)}::jsonb) as x(kind text, lane text, payload jsonb, max_attempts integer)
    )
    select c.id, a.id as admin_id, o.id as owner_id from c, a, o`.execute(db);
  const r = rows[0]!;
  return { id: r.id, adminId: r.admin_id, ownerId: r.owner_id };
}

export interface InstanceRow {
  id: number;
  name: string | null;
  status: 'active' | 'suspended';
  plan_id: number | null;
  owner_user_id: number | null;
  user_count: number;
  instance_uuid: string;
  service_meta: Record<string, Record<string, unknown>>;
  /** Odoo's expiration_datetime; null: none. */
  expires_at: Date | null;
}

export async function findInstance(db: Executor, id: number): Promise<InstanceRow | undefined> {
  return db
    .selectFrom('clients')
    .select(['id', 'name', sql<'active' | 'suspended'>`status`.as('status'), 'plan_id', 'owner_user_id', 'user_count', sql<string>`instance_uuid::text`.as('instance_uuid'), sql<Record<string, Record<string, unknown>>>`service_meta`.as('service_meta'), 'expires_at'])
    .where('id', '=', id)
    .where('instance_uuid', 'is not', null)
    .where('status', 'in', LIVE_STATUSES)
    .executeTakeFirst();
}

export async function instanceUsers(db: Executor, clientId: number) {
  return db.selectFrom('users').select(['id', 'login', 'name', 'role', 'password_hash', 'disabled_at']).where('client_id', '=', clientId).orderBy('id').execute();
}

export async function isInstanceUser(db: Executor, clientId: number, userId: number): Promise<boolean> {
  const r = await db.selectFrom('users').select('id').where('id', '=', userId).where('client_id', '=', clientId).where('disabled_at', 'is', null).executeTakeFirst();
  return r !== undefined;
}

export async function countInstanceUsers(db: Executor, clientId: number): Promise<number> {
  const r = await db.selectFrom('users').select(sql<number>`count(*)::int`.as('n')).where('client_id', '=', clientId).where('disabled_at', 'is', null).executeTakeFirstOrThrow();
  return r.n;
}

export async function insertInstanceUser(db: Executor, clientId: number, user: { login: string; name: string | null; passwordHash: string; odooPasswordHash: string | null }, now: Date): Promise<number> {
  const r = await db
    .insertInto('users')
    .values({ role: 'end_user', client_id: clientId, reseller_id: null, login: user.login, name: user.name, email: null, password_hash: user.passwordHash, odoo_password_hash: user.odooPasswordHash, created_at: now })
    .returning('id')
    .executeTakeFirstOrThrow();
  return r.id;
}

/** Sets (or, with null, clears) an instance's expiry; returns the one it had. */
export async function setInstanceExpiry(db: Executor, id: number, expiresAt: Date | null, now: Date): Promise<Date | null> {
  const before = await db.selectFrom('clients').select('expires_at').where('id', '=', id).executeTakeFirstOrThrow();
  await db.updateTable('clients').set({ expires_at: expiresAt, updated_at: now }).where('id', '=', id).execute();
  return before.expires_at;
}

export async function lockInstance(db: Executor, id: number): Promise<void> {
  await sql`select id from clients where id = ${id} for update`.execute(db);
}

export async function listAddons(db: Executor): Promise<{ name: string; title: string; depends: string[] }[]> {
  return db.selectFrom('saas_addons').select(['name', 'title', 'depends']).orderBy('name').execute();
}

export async function instanceAddons(db: Executor, clientId: number): Promise<string[]> {
  return (await db.selectFrom('instance_addons').select('addon').where('client_id', '=', clientId).orderBy('addon').execute()).map((r) => r.addon);
}

export async function installAddons(db: Executor, clientId: number, names: string[], now: Date): Promise<void> {
  if (names.length === 0) return;
  await db
    .insertInto('instance_addons')
    .values(names.map((addon) => ({ client_id: clientId, addon, installed_at: now })))
    .onConflict((oc) => oc.columns(['client_id', 'addon']).doNothing())
    .execute();
}

export async function uninstallAddons(db: Executor, clientId: number, names: string[]): Promise<void> {
  if (names.length === 0) return;
  await db.deleteFrom('instance_addons').where('client_id', '=', clientId).where('addon', 'in', names).execute();
}

/**
 * The bytes of an instance's files that its storage counts besides its database's measured size:
 * those Hostplane still holds (staged ones included), and those moved into the database after its
 * size was last measured (not in that size yet). A moved file measured since counts only there.
 */
export async function instanceFileBytes(db: Executor, clientId: number): Promise<number> {
  const { rows } = await sql<{ n: string }>`
    select coalesce(sum(f.size_bytes), 0)::text as n from instance_files f left join instance_databases d on d.client_id = f.client_id
    where f.client_id = ${clientId} and (f.moved_at is null or d.sampled_at is null or f.moved_at > d.sampled_at)`.execute(db);
  return Number(rows[0]?.n ?? 0);
}

export async function insertInstanceFile(db: Executor, clientId: number, file: { name: string; content: Buffer; sha256: string }, now: Date): Promise<number> {
  const r = await db
    .insertInto('instance_files')
    .values({ client_id: clientId, name: file.name, size_bytes: file.content.length, content: file.content, sha256: file.sha256, created_at: now })
    .returning('id')
    .executeTakeFirstOrThrow();
  return r.id;
}

export async function setInstanceUserCount(db: Executor, id: number, n: number, now: Date): Promise<void> {
  await db.updateTable('clients').set({ user_count: n, updated_at: now }).where('id', '=', id).execute();
}

/** A new password for an instance user: Hostplane's hash and Odoo's (null: the instance has no database; the old one goes). */
export async function setInstanceUserPassword(db: Executor, userId: number, passwordHash: string, odooPasswordHash: string | null): Promise<void> {
  await db.updateTable('users').set({ password_hash: passwordHash, odoo_password_hash: odooPasswordHash }).where('id', '=', userId).execute();
}

export async function setInstanceUserDisabled(db: Executor, userId: number, now: Date): Promise<void> {
  await db.updateTable('users').set({ disabled_at: now }).where('id', '=', userId).where('disabled_at', 'is', null).execute();
}

export async function instanceFileStats(db: Executor, clientId: number): Promise<{ count: number; bytes: number }> {
  const r = await db
    .selectFrom('instance_files')
    .select([sql<number>`count(*)::int`.as('n'), sql<string>`coalesce(sum(size_bytes), 0)::text`.as('bytes')])
    .where('client_id', '=', clientId)
    .where('content', 'is not', null)
    .executeTakeFirstOrThrow();
  return { count: r.n, bytes: Number(r.bytes) };
}
