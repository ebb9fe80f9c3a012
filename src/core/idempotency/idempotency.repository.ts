import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';

export interface IdempotencyClaimRow {
  scope: string;
  key_digest: string;
  method: string;
  path: string;
  request_hash: string;
  created_at: Date;
  expires_at: Date;
}

/**
 * Takes the key for a new request: inserts it as in progress, or overwrites a row that has expired
 * or was abandoned mid-request.
 * One statement, so of two concurrent requests with one key exactly one gets `true`.
 */
/** No request runs this long (the HTTP server and the database time out first). */
export const ABANDONED_AFTER_MS = 5 * 60 * 1000;

export async function claimKey(db: Executor, row: IdempotencyClaimRow, now: Date): Promise<boolean> {
  const claimed = await db
    .insertInto('idempotency_keys')
    .values({ ...row, state: 'in_progress', response_status: null, response_content_type: null, response_body: null })
    .onConflict((oc) =>
      oc
        .columns(['scope', 'key_digest'])
        .doUpdateSet({
          method: sql`excluded.method`,
          path: sql`excluded.path`,
          request_hash: sql`excluded.request_hash`,
          state: 'in_progress',
          response_status: null,
          response_content_type: null,
          response_body: null,
          created_at: sql`excluded.created_at`,
          expires_at: sql`excluded.expires_at`,
        })
        .where((eb) =>
          eb.or([
            eb('idempotency_keys.expires_at', '<=', now),
            // A request still "in progress" this long after it began died with its process: free its key.
            eb.and([eb('idempotency_keys.state', '=', 'in_progress'), eb('idempotency_keys.created_at', '<=', new Date(now.getTime() - ABANDONED_AFTER_MS))]),
          ]),
        ),
    )
    .returning('scope')
    .executeTakeFirst();
  return claimed !== undefined;
}

export async function findLiveKey(db: Executor, scope: string, keyDigest: string, now: Date) {
  return db
    .selectFrom('idempotency_keys')
    .select(['request_hash', 'state', 'response_status', 'response_content_type', 'response_body'])
    .where('scope', '=', scope)
    .where('key_digest', '=', keyDigest)
    .where('expires_at', '>', now)
    .executeTakeFirst();
}

export async function storeResponse(db: Executor, scope: string, keyDigest: string, requestHash: string, response: { status: number; contentType: string | null; body: string }): Promise<void> {
  await db
    .updateTable('idempotency_keys')
    .set({ state: 'done', response_status: response.status, response_content_type: response.contentType, response_body: response.body })
    .where('scope', '=', scope)
    .where('key_digest', '=', keyDigest)
    .where('request_hash', '=', requestHash)
    .where('state', '=', 'in_progress')
    .execute();
}

export async function releaseKey(db: Executor, scope: string, keyDigest: string, requestHash: string): Promise<void> {
  await db
    .deleteFrom('idempotency_keys')
    .where('scope', '=', scope)
    .where('key_digest', '=', keyDigest)
    .where('request_hash', '=', requestHash)
    .where('state', '=', 'in_progress')
    .execute();
}
