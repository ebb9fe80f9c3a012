import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';
import { precompiled } from '../../db/precompiled.js';

export async function insertOperatorKey(db: Executor, name: string, digest: string, now: Date): Promise<number> {
  const row = await db
    .insertInto('operator_keys')
    .values({ name, key_digest: digest, created_at: now })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function findActiveOperatorKeyByDigest(db: Executor, digest: string) {
  return db
    .selectFrom('operator_keys')
    .select(['id', 'name'])
    .where('key_digest', '=', digest)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
}

const keyColumns = ['id', 'name', 'created_at', 'revoked_at'] as const;

export async function listOperatorKeys(db: Executor) {
  return db.selectFrom('operator_keys').select(keyColumns).orderBy('id').execute();
}

export async function findOperatorKey(db: Executor, id: number) {
  return db.selectFrom('operator_keys').select(keyColumns).where('id', '=', id).executeTakeFirst();
}

/** Undefined when the key was already revoked (or never existed). */
export async function revokeOperatorKey(db: Executor, id: number, now: Date) {
  return db.updateTable('operator_keys').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).returning(keyColumns).executeTakeFirst();
}

export async function countActiveOperatorKeys(db: Executor): Promise<number> {
  const row = await db
    .selectFrom('operator_keys')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('revoked_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

// Runs on every reseller API request.
const selectResellerCredentials = precompiled((db: Executor, apiToken: string) =>
  db.selectFrom('resellers').select(['id', 'status', 'api_key_digest']).where('api_token', '=', apiToken),
);

export async function findResellerCredentials(db: Executor, apiToken: string) {
  return (await selectResellerCredentials(db, apiToken))[0];
}

/** Names the change the current transaction makes to credentials, for the notification it causes (migration 0019). */
export async function tagCredentialChange(db: Executor, changeId: string): Promise<void> {
  await sql`select set_config('hostplane.credential_change', ${changeId}, true)`.execute(db);
}
