import type { Executor } from '../../db/database.js';

const columns = ['id', 'name', 'allowed_paths', 'created_at', 'revoked_at'] as const;

export async function insertApiToken(db: Executor, row: { name: string; token_digest: string; allowed_paths: string[]; created_at: Date }) {
  return db.insertInto('api_tokens').values(row).returning(columns).executeTakeFirstOrThrow();
}

export async function findLiveApiTokenByDigest(db: Executor, digest: string) {
  return db.selectFrom('api_tokens').select(columns).where('token_digest', '=', digest).where('revoked_at', 'is', null).executeTakeFirst();
}

export async function listApiTokens(db: Executor) {
  return db.selectFrom('api_tokens').select(columns).orderBy('id').execute();
}

export async function findApiToken(db: Executor, id: number) {
  return db.selectFrom('api_tokens').select(columns).where('id', '=', id).executeTakeFirst();
}

/** Undefined when the token was already revoked (or never existed). */
export async function revokeApiToken(db: Executor, id: number, now: Date) {
  return db.updateTable('api_tokens').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).returning(columns).executeTakeFirst();
}
