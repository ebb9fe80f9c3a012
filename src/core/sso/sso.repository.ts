import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';

export async function insertSsoToken(db: Executor, row: { token_digest: string; user_id: number; client_id: number; purpose: string; expires_at: Date; created_at: Date }) {
  await db.insertInto('sso_tokens').values(row).execute();
}

/** Single use under races: only the first redeemer's update matches. */
export async function consumeSsoToken(db: Executor, digest: string, now: Date) {
  return db
    .updateTable('sso_tokens')
    .set({ used_at: now })
    .where('token_digest', '=', digest)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    // A client suspended or cancelled after the link was issued may no longer be entered, nor may a
    // client through the link of a reseller suspended since.
    .where((eb) =>
      eb.or([
        eb('client_id', 'is', null),
        eb.exists(
          eb
            .selectFrom('clients as c')
            .select('c.id')
            .whereRef('c.id', '=', 'sso_tokens.client_id')
            .where('c.status', '=', 'active')
            .where((eb2) => eb2.or([eb2('c.reseller_id', 'is', null), eb2.exists(eb2.selectFrom('resellers as r').select('r.id').whereRef('r.id', '=', 'c.reseller_id').where('r.status', '=', 'active'))])),
        ),
      ]),
    )
    .returning((eb) => ['user_id', 'client_id', 'purpose', eb.selectFrom('clients as rc').select('rc.reseller_id').whereRef('rc.id', '=', 'sso_tokens.client_id').as('reseller_id')])
    .executeTakeFirst();
}

export async function insertSession(
  db: Executor,
  row: { token_digest: string; user_id: number; client_id: number | null; expires_at: Date; created_at: Date; origin_client_id?: number | null; via_reseller_id?: number | null },
) {
  await db.insertInto('sessions').values(row).execute();
}

export async function findSession(db: Executor, digest: string, now: Date) {
  return db
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .select(['s.user_id', 's.client_id', 's.origin_client_id', 's.via_reseller_id', 's.expires_at', 'u.role', 'u.login'])
    .where('s.token_digest', '=', digest)
    .where('s.revoked_at', 'is', null)
    .where('s.expires_at', '>', now)
    .where('u.disabled_at', 'is', null)
    // Suspension revokes such sessions; this also covers a link redeemed while the suspension commits.
    .where((eb) => eb.or([eb('s.via_reseller_id', 'is', null), eb.exists(eb.selectFrom('resellers as r').select('r.id').whereRef('r.id', '=', 's.via_reseller_id').where('r.status', '=', 'active'))]))
    .where((eb) =>
      eb.or([
        eb('s.client_id', 'is', null),
        eb.exists(eb.selectFrom('clients as c').select('c.id').whereRef('c.id', '=', 's.client_id').where('c.status', '=', 'active')),
      ]),
    )
    .executeTakeFirst();
}

/**
 * A live session of a suspended site's administrator: the one narrow path past findSession's rule
 * that a session's client is active, for the notice such an admin sees (never SaaS instances, never
 * another of the site's users). The reseller rule is findSession's.
 */
export async function findSuspendedSiteSession(db: Executor, digest: string, now: Date) {
  return db
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .innerJoin('clients as c', 'c.id', 's.client_id')
    .select(['s.user_id', 's.client_id', 's.expires_at', 'u.role', 'u.login', 'c.suspend_reason'])
    .where('s.token_digest', '=', digest)
    .where('s.revoked_at', 'is', null)
    .where('s.expires_at', '>', now)
    .where('u.disabled_at', 'is', null)
    .where('u.role', '=', 'client_admin')
    .whereRef('u.client_id', '=', 's.client_id')
    .where('c.status', '=', 'suspended')
    .where('c.instance_uuid', 'is', null)
    .where((eb) => eb.or([eb('s.via_reseller_id', 'is', null), eb.exists(eb.selectFrom('resellers as r').select('r.id').whereRef('r.id', '=', 's.via_reseller_id').where('r.status', '=', 'active'))]))
    .executeTakeFirst();
}

/** The users of one client (a site), administrator first. */
export async function listClientUsers(db: Executor, clientId: number) {
  return db
    .selectFrom('users')
    .select(['id', 'login', 'name', 'role', 'disabled_at'])
    .where('client_id', '=', clientId)
    .orderBy(sql`role = 'client_admin'`, 'desc')
    .orderBy('login')
    .orderBy('id')
    .limit(1000)
    .execute();
}

export async function revokeSession(db: Executor, digest: string, now: Date) {
  await db.updateTable('sessions').set({ revoked_at: now }).where('token_digest', '=', digest).execute();
}

/** Ends the live sessions opened through a reseller's login links (when the reseller is suspended). */
export async function revokeSessionsViaReseller(db: Executor, resellerId: number, now: Date): Promise<number> {
  const rows = await db.updateTable('sessions').set({ revoked_at: now }).where('via_reseller_id', '=', resellerId).where('revoked_at', 'is', null).where('expires_at', '>', now).returning('id').execute();
  return rows.length;
}

export async function deleteExpiredSsoTokens(db: Executor, before: Date) {
  await db.deleteFrom('sso_tokens').where('expires_at', '<', before).execute();
}

/** A user of one client (site or instance) by login, with the client's status to refuse a suspended one. */
export async function findClientUserByLogin(db: Executor, clientId: number, login: string) {
  return db
    .selectFrom('users as u')
    .innerJoin('clients as c', 'c.id', 'u.client_id')
    .select(['u.id', 'u.password_hash', 'u.role', 'c.status', 'c.reseller_id', (eb) => eb('c.instance_uuid', 'is not', null).as('is_instance')])
    .where('u.client_id', '=', clientId)
    .where('u.disabled_at', 'is', null)
    .where('u.login', '=', login)
    .executeTakeFirst();
}

/**
 * An end user (a CRM user, outside any client) by email, with the first live client they own: the
 * one their subscription granted them, or one an operator linked to them.
 */
export async function findOwnerSignIn(db: Executor, email: string) {
  return db
    .selectFrom('users as u')
    .select(['u.id', 'u.password_hash', (eb) => eb.selectFrom('clients as c').select('c.id').whereRef('c.owner_user_id', '=', 'u.id').where('c.status', '=', 'active').orderBy('c.id').limit(1).as('client_id')])
    .where((eb) => eb(eb.fn('lower', ['u.login']), '=', email.toLowerCase()))
    .where('u.client_id', 'is', null)
    .where('u.role', '<>', 'operator')
    .where('u.disabled_at', 'is', null)
    .executeTakeFirst();
}

export async function findClientHeader(db: Executor, clientId: number) {
  return db
    .selectFrom('clients as c')
    .leftJoin('plans as p', 'p.id', 'c.plan_id')
    .select(['c.id', 'c.name', 'c.status', 'c.reseller_id', 'c.owner_user_id', 'p.name as package_name', 'p.uid as package_uid', (eb) => eb('c.instance_uuid', 'is not', null).as('is_instance')])
    .where('c.id', '=', clientId)
    .executeTakeFirst();
}

/** Ends a user's live sessions (their password changed); returns how many it ended. */
export async function revokeUserSessions(db: Executor, userId: number, now: Date): Promise<number> {
  const rows = await db.updateTable('sessions').set({ revoked_at: now }).where('user_id', '=', userId).where('revoked_at', 'is', null).where('expires_at', '>', now).returning('id').execute();
  return rows.length;
}

/**
 * Replaces a user's password hash only if it is still the one the sign-in checked, so a password
 * changed in the meantime is never overwritten by the old one's re-hash.
 */
export async function replacePasswordHash(db: Executor, userId: number, checked: string, next: string): Promise<void> {
  await db.updateTable('users').set({ password_hash: next }).where('id', '=', userId).where('password_hash', '=', checked).execute();
}
