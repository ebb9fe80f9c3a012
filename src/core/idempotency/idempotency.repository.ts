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
 * Takes the key for a new request, inside the transaction that will run it: inserts it as in
 * progress, or takes over a row that has expired. On PostgreSQL a concurrent request with the same
 * key waits here on the uncommitted row until the first one commits (then it finds the answer) or
 * rolls back (then it takes the key). A row still in progress from before this design (a request
 * whose process died) is never taken over: its change may have committed.
 */
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
        .where('idempotency_keys.expires_at', '<=', now),
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

/** Marks the key done with its answer; false when this transaction does not hold the key in progress. */
export async function storeResponse(db: Executor, scope: string, keyDigest: string, requestHash: string, response: { status: number; contentType: string | null; body: string }): Promise<boolean> {
  const stored = await db
    .updateTable('idempotency_keys')
    .set({ state: 'done', response_status: response.status, response_content_type: response.contentType, response_body: response.body })
    .where('scope', '=', scope)
    .where('key_digest', '=', keyDigest)
    .where('request_hash', '=', requestHash)
    .where('state', '=', 'in_progress')
    .returning('scope')
    .executeTakeFirst();
  return stored !== undefined;
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
