import type { Executor } from '../../db/database.js';

export async function getSetting(db: Executor, key: string): Promise<string | undefined> {
  const row = await db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
  return row?.value;
}

/**
 * Reads a setting and locks its row until the transaction ends: `update` while changing it, `share`
 * while relying on it, so a writer waits for readers and readers see what the writer committed.
 */
export async function lockSetting(db: Executor, key: string, mode: 'update' | 'share'): Promise<string | undefined> {
  let q = db.selectFrom('settings').select('value').where('key', '=', key);
  q = mode === 'update' ? q.forUpdate() : q.forShare();
  return (await q.executeTakeFirst())?.value;
}

/** Inserts the value unless another process got there first. */
export async function putSettingIfAbsent(db: Executor, key: string, value: string): Promise<void> {
  await db
    .insertInto('settings')
    .values({ key, value })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
}

export async function setSetting(db: Executor, key: string, value: string): Promise<void> {
  await db.updateTable('settings').set({ value }).where('key', '=', key).execute();
}

/** Endpoints' secrets, deleted endpoints included (their rows keep the secret), locked until the transaction ends. */
export async function lockWebhookSecrets(db: Executor, only: 'plain' | 'all'): Promise<{ id: number; secret: string; secret_key_id: string | null }[]> {
  let q = db.selectFrom('webhook_endpoints').select(['id', 'secret', 'secret_key_id']);
  if (only === 'plain') q = q.where('secret_key_id', 'is', null);
  return q.orderBy('id').forUpdate().execute();
}

export async function setWebhookSecret(db: Executor, id: number, sealed: string, keyId: string): Promise<void> {
  await db.updateTable('webhook_endpoints').set({ secret: sealed, secret_key_id: keyId }).where('id', '=', id).execute();
}
