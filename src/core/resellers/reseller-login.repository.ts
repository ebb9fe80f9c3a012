import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';

/** The reseller's console user (at most one), by reseller. */
export async function findResellerUser(db: Executor, resellerId: number) {
  return db.selectFrom('users').select(['id', 'login']).where('role', '=', 'reseller').where('reseller_id', '=', resellerId).executeTakeFirst();
}

/** Whether a user that belongs to no client already has this login (other than `exceptUserId`). */
export async function loginTaken(db: Executor, login: string, exceptUserId?: number): Promise<boolean> {
  let q = db.selectFrom('users').select('id').where('client_id', 'is', null).where(sql<boolean>`lower(login) = lower(${login})`);
  if (exceptUserId !== undefined) q = q.where('id', '!=', exceptUserId);
  return (await q.executeTakeFirst()) !== undefined;
}

export async function insertResellerUser(db: Executor, row: { resellerId: number; login: string; name: string; email: string; passwordHash: string; now: Date }): Promise<number> {
  const { id } = await db
    .insertInto('users')
    .values({ role: 'reseller', reseller_id: row.resellerId, login: row.login, name: row.name, email: row.email, password_hash: row.passwordHash, created_at: row.now })
    .returning('id')
    .executeTakeFirstOrThrow();
  return id;
}

export async function updateResellerUser(db: Executor, userId: number, patch: { login: string; passwordHash: string }): Promise<void> {
  await db.updateTable('users').set({ login: patch.login, password_hash: patch.passwordHash, disabled_at: null }).where('id', '=', userId).execute();
}

/** A reseller console user by login, with its reseller's status. */
export async function findResellerUserByLogin(db: Executor, login: string) {
  return db
    .selectFrom('users as u')
    .innerJoin('resellers as r', 'r.id', 'u.reseller_id')
    .select(['u.id', 'u.login', 'u.password_hash', 'u.disabled_at', 'u.reseller_id', 'r.status'])
    .where('u.role', '=', 'reseller')
    .where('u.client_id', 'is', null)
    .where(sql<boolean>`lower(u.login) = lower(${login})`)
    .executeTakeFirst();
}

export async function insertResellerSession(
  db: Executor,
  row: { token_digest: string; reseller_id: number; user_id: number | null; method: 'password' | 'key'; expires_at: Date; created_at: Date },
): Promise<void> {
  await db.insertInto('reseller_sessions').values(row).execute();
}

/** A live session of an active reseller; a suspended reseller's sessions simply stop matching. */
export async function findResellerSession(db: Executor, digest: string, now: Date) {
  return db
    .selectFrom('reseller_sessions as s')
    .innerJoin('resellers as r', 'r.id', 's.reseller_id')
    .leftJoin('users as u', 'u.id', 's.user_id')
    .select(['s.reseller_id', 's.user_id', 's.method', 's.expires_at', 'u.login', 'r.name as reseller_name', 'r.username'])
    .where('s.token_digest', '=', digest)
    .where('s.revoked_at', 'is', null)
    .where('s.expires_at', '>', now)
    .where('r.status', '=', 'active')
    .where((eb) => eb.or([eb('s.user_id', 'is', null), eb('u.disabled_at', 'is', null)]))
    .executeTakeFirst();
}

export async function revokeResellerSession(db: Executor, digest: string, now: Date): Promise<void> {
  await db.updateTable('reseller_sessions').set({ revoked_at: now }).where('token_digest', '=', digest).where('revoked_at', 'is', null).execute();
}

/** Ends a reseller's sessions opened one way (its old password, its old key), but the caller's own. */
export async function revokeResellerSessions(db: Executor, resellerId: number, method: 'password' | 'key', now: Date, exceptDigest?: string): Promise<void> {
  let q = db.updateTable('reseller_sessions').set({ revoked_at: now }).where('reseller_id', '=', resellerId).where('method', '=', method).where('revoked_at', 'is', null);
  if (exceptDigest) q = q.where('token_digest', '!=', exceptDigest);
  await q.execute();
}

/** The brand of the active reseller whose login host this is: its name, nothing more. */
export async function findBrandByHost(db: Executor, host: string) {
  return db.selectFrom('resellers').select('name').where('login_hostname', '=', host).where('status', '=', 'active').executeTakeFirst();
}
