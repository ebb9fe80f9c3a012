import type { Executor } from '../../db/database.js';

/** Rows whose only use has passed: expired captchas, login tokens, sessions, rate-limit windows and idempotency keys. */
export async function deleteExpired(db: Executor, now: Date, keepSucceededJobsUntil: Date): Promise<void> {
  await db.deleteFrom('captchas').where('expires_at', '<', now).execute();
  await db.deleteFrom('sso_tokens').where('expires_at', '<', now).execute();
  await db.deleteFrom('sessions').where('expires_at', '<', now).execute();
  await db.deleteFrom('rate_limits').where('window_ends_at', '<', now).execute();
  await db.deleteFrom('idempotency_keys').where('expires_at', '<', now).execute();
  await db.deleteFrom('jobs').where('state', '=', 'succeeded').where('finished_at', '<', keepSucceededJobsUntil).execute();
}
