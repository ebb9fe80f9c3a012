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

export async function findUserIdByTokenDigest(db: Executor, digest: string) {
  return db
    .selectFrom('user_access_tokens as t')
    .innerJoin('users as u', 'u.id', 't.user_id')
    .select('u.id')
    .where('t.token_digest', '=', digest)
    .where('t.revoked_at', 'is', null)
    .where('u.disabled_at', 'is', null)
    .executeTakeFirst();
}
