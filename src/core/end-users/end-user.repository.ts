import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';
import { precompiled } from '../../db/precompiled.js';

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
 * The look-up of a user token as two common table expressions, for any statement that authenticates
 * with one: `user_token`, the live (not revoked) token of an enabled user with what its idle expiry is
 * counted from, as it was before this use; and `user_token_touch`, which records the use when the last
 * recorded one is at least `touchBefore` old and the token has not gone idle (its last use after
 * `idleSince`). So a request pays no round trip of its own to authenticate, and writes at most once a
 * minute per token. Of concurrent requests only one writes: the others re-check the updated row and
 * find it recent. An idle token is never touched, so never revived.
 */
export function withUsedToken(db: Executor, digest: string, now: Date, touchBefore: Date, idleSince: Date) {
  const lastUse = sql<Date>`coalesce(t.last_used_at, t.created_at)`;
  return db
    .with('user_token', (q) =>
      q
        .selectFrom('user_access_tokens as t')
        .innerJoin('users as u', 'u.id', 't.user_id')
        .select(['t.id', 't.user_id', 't.created_at', 't.last_used_at'])
        .where('t.token_digest', '=', digest)
        .where('t.revoked_at', 'is', null)
        .where('u.disabled_at', 'is', null),
    )
    .with('user_token_touch', (q) =>
      q
        .updateTable('user_access_tokens as t')
        .from('user_token as f')
        .set({ last_used_at: now })
        .whereRef('t.id', '=', 'f.id')
        .where(lastUse, '<=', touchBefore)
        .where(lastUse, '>', idleSince)
        .returning('t.id'),
    );
}

const selectUsedToken = precompiled((db: Executor, digest: string, now: Date, touchBefore: Date, idleSince: Date) =>
  withUsedToken(db, digest, now, touchBefore, idleSince).selectFrom('user_token').select(['id', 'user_id', 'created_at', 'last_used_at']),
);

/** The token as `withUsedToken` finds it (recording the use), on its own: one round trip per request. */
export async function useUserToken(db: Executor, digest: string, now: Date, touchBefore: Date, idleSince: Date) {
  const [row] = await selectUsedToken(db, digest, now, touchBefore, idleSince);
  return row;
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
