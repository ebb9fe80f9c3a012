import type { Executor } from '../../db/database.js';

export async function insertCaptcha(db: Executor, row: { id: string; question: string; answer_digests: string[]; expires_at: Date; created_at: Date }) {
  await db.insertInto('captchas').values(row).execute();
}

/** Marks the captcha used and returns it, only if it was unused and unexpired: single use under races. */
export async function consumeCaptcha(db: Executor, id: string, now: Date) {
  return db
    .updateTable('captchas')
    .set({ used_at: now })
    .where('id', '=', id)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .returning(['id', 'question', 'answer_digests'])
    .executeTakeFirst();
}

export async function deleteStaleCaptchas(db: Executor, before: Date): Promise<void> {
  await db.deleteFrom('captchas').where('expires_at', '<', before).execute();
}
