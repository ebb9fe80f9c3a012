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
    // A client suspended or cancelled after the link was issued may no longer be entered.
    .where((eb) =>
      eb.or([
        eb('client_id', 'is', null),
        eb.exists(eb.selectFrom('clients as c').select('c.id').whereRef('c.id', '=', 'sso_tokens.client_id').where('c.status', '=', 'active')),
      ]),
    )
    .returning((eb) => ['user_id', 'client_id', 'purpose', eb.selectFrom('clients as rc').select('rc.reseller_id').whereRef('rc.id', '=', 'sso_tokens.client_id').as('reseller_id')])
    .executeTakeFirst();
}

export async function insertSession(db: Executor, row: { token_digest: string; user_id: number; client_id: number | null; expires_at: Date; created_at: Date; origin_client_id?: number | null }) {
  await db.insertInto('sessions').values(row).execute();
}

export async function findSession(db: Executor, digest: string, now: Date) {
  return db
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .select(['s.user_id', 's.client_id', 's.origin_client_id', 's.expires_at', 'u.role', 'u.login'])
    .where('s.token_digest', '=', digest)
    .where('s.revoked_at', 'is', null)
    .where('s.expires_at', '>', now)
    .where('u.disabled_at', 'is', null)
    .where((eb) =>
      eb.or([
        eb('s.client_id', 'is', null),
        eb.exists(eb.selectFrom('clients as c').select('c.id').whereRef('c.id', '=', 's.client_id').where('c.status', '=', 'active')),
      ]),
    )
    .executeTakeFirst();
}

export async function revokeSession(db: Executor, digest: string, now: Date) {
  await db.updateTable('sessions').set({ revoked_at: now }).where('token_digest', '=', digest).execute();
}

export async function deleteExpiredSsoTokens(db: Executor, before: Date) {
  await db.deleteFrom('sso_tokens').where('expires_at', '<', before).execute();
}

/** A user of one client (site or instance) by login, with the client's status to refuse a suspended one. */
export async function findClientUserByLogin(db: Executor, clientId: number, login: string) {
  return db
    .selectFrom('users as u')
    .innerJoin('clients as c', 'c.id', 'u.client_id')
    .select(['u.id', 'u.password_hash', 'u.role', 'c.status', 'c.reseller_id'])
    .where('u.client_id', '=', clientId)
    .where('u.disabled_at', 'is', null)
    .where('u.login', '=', login)
    .executeTakeFirst();
}
