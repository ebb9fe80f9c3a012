import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';

export interface AccountUser {
  id: number;
  role: 'operator' | 'portal';
  login: string;
  name: string | null;
  password_hash: string | null;
  disabled_at: Date | null;
}

/** Portal accounts (operator users and signed-up portal users): users that belong to no client. */
function accounts(db: Executor) {
  return db
    .selectFrom('users')
    .select(['id', sql<'operator' | 'portal'>`role`.as('role'), 'login', 'name', 'password_hash', 'disabled_at'])
    .where('client_id', 'is', null)
    .where('role', 'in', ['operator', 'portal']);
}

export async function findAccountByLogin(db: Executor, login: string): Promise<AccountUser | undefined> {
  return accounts(db).where(sql<boolean>`lower(login) = lower(${login})`).executeTakeFirst();
}

export async function findAccountById(db: Executor, id: number): Promise<AccountUser | undefined> {
  return accounts(db).where('id', '=', id).executeTakeFirst();
}
