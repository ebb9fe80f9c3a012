import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';

/** Counts one hit in the bucket's fixed window, starting a new window when the old one ended. */
export async function recordHit(db: Executor, bucket: string, now: Date, windowEndsAt: Date) {
  return db
    .insertInto('rate_limits')
    .values({ bucket, hits: 1, window_ends_at: windowEndsAt })
    .onConflict((oc) =>
      oc.column('bucket').doUpdateSet({
        hits: sql`case when rate_limits.window_ends_at <= ${now} then 1 else rate_limits.hits + 1 end`,
        window_ends_at: sql`case when rate_limits.window_ends_at <= ${now} then excluded.window_ends_at else rate_limits.window_ends_at end`,
      }),
    )
    .returning(['hits', 'window_ends_at'])
    .executeTakeFirstOrThrow();
}

export async function findOpenWindow(db: Executor, bucket: string, now: Date) {
  return db
    .selectFrom('rate_limits')
    .select(['hits', 'window_ends_at'])
    .where('bucket', '=', bucket)
    .where('window_ends_at', '>', now)
    .executeTakeFirst();
}
