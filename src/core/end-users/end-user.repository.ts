import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';

const userColumns = ['id', 'role', 'login', 'name', 'email', 'created_at'] as const;

export async function insertEndUser(db: Executor, row: { login: string; name: string | null; email: string; password_hash: string; created_at: Date }) {
  return db
    .insertInto('users')
    .values({ role: 'end_user', reseller_id: null, client_id: null, ...row })
    .returning(userColumns)
    .executeTakeFirstOrThrow();
}

/** Users who sign in to the CRM door: anyone with a password outside a client, except operators. */
export async function findSignInUser(db: Executor, email: string) {
  return db
    .selectFrom('users')
    .select([...userColumns, 'password_hash', 'disabled_at'])
    .where((eb) => eb(eb.fn('lower', ['login']), '=', email.toLowerCase()))
    .where('client_id', 'is', null)
    .where('role', '<>', 'operator')
    .executeTakeFirst();
}

export async function findUserById(db: Executor, id: number) {
  return db.selectFrom('users').select(userColumns).where('id', '=', id).where('disabled_at', 'is', null).executeTakeFirst();
}

export async function findUserByEmail(db: Executor, email: string) {
  return db
    .selectFrom('users')
    .select(userColumns)
    .where((eb) => eb(eb.fn('lower', ['login']), '=', email.toLowerCase()))
    .where('client_id', 'is', null)
    .where('role', '<>', 'operator')
    .where('disabled_at', 'is', null)
    .executeTakeFirst();
}

export async function insertAccessToken(db: Executor, row: { token_digest: string; user_id: number; created_at: Date }) {
  return db.insertInto('user_access_tokens').values(row).returning('id').executeTakeFirstOrThrow();
}

/**
 * A live (not revoked) token of an enabled user, with what its idle expiry is counted from, as it was
 * before this use. The same statement records the use when the last recorded one is at least
 * `touchBefore` old and the token has not gone idle (its last use after `idleSince`): one round trip
 * per request, and a write at most once a minute per token. Of concurrent requests only one writes: the
 * others re-check the updated row and find it recent.
 */
export async function useUserToken(db: Executor, digest: string, now: Date, touchBefore: Date, idleSince: Date) {
  const { rows } = await sql<{ id: number; user_id: number; created_at: Date; last_used_at: Date | null }>`
    with found as (
      select t.id, t.user_id, t.created_at, t.last_used_at
      from user_access_tokens t join users u on u.id = t.user_id
      where t.token_digest = ${digest} and t.revoked_at is null and u.disabled_at is null
    ), touched as (
      update user_access_tokens t set last_used_at = ${now}
      from found
      where t.id = found.id and coalesce(t.last_used_at, t.created_at) <= ${touchBefore} and coalesce(t.last_used_at, t.created_at) > ${idleSince}
    )
    select id, user_id, created_at, last_used_at from found`.execute(db);
  return rows[0];
}

export async function revokeUserTokenByDigest(db: Executor, userId: number, digest: string, now: Date) {
  return db.updateTable('user_access_tokens').set({ revoked_at: now }).where('token_digest', '=', digest).where('user_id', '=', userId).where('revoked_at', 'is', null).returning('id').executeTakeFirst();
}

export async function revokeUserTokens(db: Executor, userId: number, now: Date): Promise<number> {
  const rows = await db.updateTable('user_access_tokens').set({ revoked_at: now }).where('user_id', '=', userId).where('revoked_at', 'is', null).returning('id').execute();
  return rows.length;
}

/** Whoever may hold CRM user tokens (the sign-in's population), by id or email, disabled ones too. */
export async function findTokenHolder(db: Executor, ref: { id: number } | { email: string }) {
  let q = db.selectFrom('users').select(['id', 'login', 'email']).where('client_id', 'is', null).where('role', '<>', 'operator');
  q = 'id' in ref ? q.where('id', '=', ref.id) : q.where((eb) => eb(eb.fn('lower', ['login']), '=', ref.email.toLowerCase()));
  return q.executeTakeFirst();
}
