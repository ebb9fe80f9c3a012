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

/**
 * Takes one hit in the bucket's window only if the window has room: one statement, so concurrent
 * callers cannot all see room and all take it. Returns the window the hit went into, or undefined
 * when the window is full (the conflict's WHERE leaves the row as it is and returns nothing).
 */
export async function takeHitIfRoom(db: Executor, bucket: string, now: Date, windowEndsAt: Date, limit: number) {
  return db
    .insertInto('rate_limits')
    .values({ bucket, hits: 1, window_ends_at: windowEndsAt })
    .onConflict((oc) =>
      oc
        .column('bucket')
        .doUpdateSet({
          hits: sql`case when rate_limits.window_ends_at <= ${now} then 1 else rate_limits.hits + 1 end`,
          window_ends_at: sql`case when rate_limits.window_ends_at <= ${now} then excluded.window_ends_at else rate_limits.window_ends_at end`,
        })
        .where(sql<boolean>`rate_limits.window_ends_at <= ${now} or rate_limits.hits < ${limit}`),
    )
    .returning(['hits', 'window_ends_at'])
    .executeTakeFirst();
}

/** Gives a hit back to the window it was taken from; a window that has since ended is left alone. */
export async function giveBackHit(db: Executor, bucket: string, windowEndsAt: Date): Promise<void> {
  await db
    .updateTable('rate_limits')
    .set({ hits: sql`hits - 1` })
    .where('bucket', '=', bucket)
    .where('window_ends_at', '=', windowEndsAt)
    .where('hits', '>', 0)
    .execute();
}

export async function findOpenWindow(db: Executor, bucket: string, now: Date) {
  return db
    .selectFrom('rate_limits')
    .select(['hits', 'window_ends_at'])
    .where('bucket', '=', bucket)
    .where('window_ends_at', '>', now)
    .executeTakeFirst();
}

/** The buckets among `buckets` whose window is still open, with their counts. */
export async function findOpenWindows(db: Executor, buckets: string[], now: Date) {
  if (buckets.length === 0) return [];
  return db.selectFrom('rate_limits').select(['bucket', 'hits', 'window_ends_at']).where('bucket', 'in', buckets).where('window_ends_at', '>', now).execute();
}

/** Forgets the buckets' counts; returns the buckets that held failures in an open window. */
export async function deleteBuckets(db: Executor, buckets: string[], now: Date): Promise<string[]> {
  if (buckets.length === 0) return [];
  const rows = await db.deleteFrom('rate_limits').where('bucket', 'in', buckets).returning(['bucket', 'hits', 'window_ends_at']).execute();
  return rows.filter((r) => r.window_ends_at > now && r.hits > 0).map((r) => r.bucket);
}
