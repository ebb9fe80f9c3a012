import { inTransaction, type Ctx } from '../context.js';
import { SealedSecretError, sealedKeyId, type Keyring } from '../shared/keyring.js';
import { randomToken } from '../shared/secrets.js';
import { resealSiteSecrets } from '../sites/site-secrets.js';
import * as repo from './secret.repository.js';

/*
 * Secrets the server reads back are stored sealed under a master key from outside the database (see
 * shared/keyring.ts). The database records which key new values are sealed under (`secrets_key_id`):
 * every process seals under that one, and `hostplane secrets rotate` changes it and reseals every value
 * in the same transaction, so no value is ever left under a key the database no longer names.
 */

const CURRENT_KEY = 'secrets_key_id';
const SERVER_SECRET = 'server_secret';

// Authenticated with each sealed value: a value copied into another row or setting does not open there.
const SERVER_SECRET_CONTEXT = 'server secret';
export const webhookSecretContext = (endpointId: number) => `signing secret of webhook ${endpointId}`;

/** The key the database's secrets are sealed under, or undefined before the first start that sealed any. */
export async function recordedSecretsKeyId(ctx: Pick<Ctx, 'db'>): Promise<string | undefined> {
  return repo.getSetting(ctx.db, CURRENT_KEY);
}

function requireKey(keyring: Keyring, keyId: string): void {
  if (!keyring.has(keyId)) {
    throw new SealedSecretError(
      `the secrets in the database are sealed under master key ${keyId}, but ${keyring.source} holds only ${keyring.ids.join(', ')}; ` +
        'start with the key they were sealed under (HOSTPLANE_MASTER_KEY, or the master-key file in the data directory)',
    );
  }
}

/**
 * Start-up: records the key on a first start, seals what an earlier version stored in plain text, and
 * returns the server secret (created on first use). Fails, and stores nothing, when the keyring lacks
 * the key the database names or a sealed value does not open.
 */
export async function openServerSecret(ctx: Ctx): Promise<string> {
  const keyring = ctx.settings.keyring;
  return inTransaction(ctx, async (tx) => {
    await repo.putSettingIfAbsent(tx.db, CURRENT_KEY, keyring.primaryId);
    const keyId = (await repo.lockSetting(tx.db, CURRENT_KEY, 'update'))!;
    requireKey(keyring, keyId);
    const plain = await repo.lockWebhookSecrets(tx.db, 'plain');
    for (const row of plain) await repo.setWebhookSecret(tx.db, row.id, keyring.seal(row.secret, webhookSecretContext(row.id), keyId), keyId);
    const stored = await repo.getSetting(tx.db, SERVER_SECRET);
    const plainServerSecret = stored !== undefined && sealedKeyId(stored) === undefined;
    if (plain.length > 0 || plainServerSecret) {
      ctx.log.info({ keyId, webhookSecrets: plain.length, serverSecret: plainServerSecret }, 'sealed the secrets an earlier version stored in plain text');
    }
    if (stored === undefined) {
      const secret = randomToken(32);
      await repo.putSettingIfAbsent(tx.db, SERVER_SECRET, keyring.seal(secret, SERVER_SECRET_CONTEXT, keyId));
      return secret;
    }
    if (!plainServerSecret) return keyring.open(stored, SERVER_SECRET_CONTEXT);
    await repo.setSetting(tx.db, SERVER_SECRET, keyring.seal(stored, SERVER_SECRET_CONTEXT, keyId));
    return stored;
  });
}

/**
 * Seals a secret under the key the database names, holding that record until the caller's transaction
 * ends so a rotation cannot slip in between (it would miss the new value). Call inside a transaction.
 */
export async function sealSecret(tx: Ctx, context: string, plaintext: string): Promise<{ sealed: string; keyId: string }> {
  const keyId = await repo.lockSetting(tx.db, CURRENT_KEY, 'share');
  if (keyId === undefined) throw new SealedSecretError('no master key is recorded in the database; the server has not finished starting');
  requireKey(tx.settings.keyring, keyId);
  return { sealed: tx.settings.keyring.seal(plaintext, context, keyId), keyId };
}

/** A webhook's signing secret; throws SealedSecretError rather than sign with anything else. */
export function openWebhookSecret(ctx: Ctx, endpointId: number, stored: string, keyId: string | null): string {
  if (keyId === null) throw new SealedSecretError(`the ${webhookSecretContext(endpointId)} is stored in plain text; restart the server to seal it`);
  if (sealedKeyId(stored) !== keyId) throw new SealedSecretError(`the ${webhookSecretContext(endpointId)} does not match the key recorded for it`);
  return ctx.settings.keyring.open(stored, webhookSecretContext(endpointId));
}

export interface Resealed {
  keyId: string;
  previousKeyId: string | undefined;
  /** How many values were sealed again: webhook secrets, the server secret and sites' sealed service values. */
  resealed: number;
}

/**
 * Rotation: makes `keyId` the key the database names and reseals every secret under it, in one
 * transaction. Until it commits every value stays readable under its old key; if any value does not
 * open (altered, or sealed under a key not held), nothing changes.
 */
export async function resealSecrets(ctx: Ctx, keyId: string): Promise<Resealed> {
  const keyring = ctx.settings.keyring;
  requireKey(keyring, keyId);
  return inTransaction(ctx, async (tx) => {
    await repo.putSettingIfAbsent(tx.db, CURRENT_KEY, keyId);
    const previousKeyId = await repo.lockSetting(tx.db, CURRENT_KEY, 'update');
    let resealed = 0;
    for (const row of await repo.lockWebhookSecrets(tx.db, 'all')) {
      const context = webhookSecretContext(row.id);
      const plaintext = row.secret_key_id === null ? row.secret : openWebhookSecret(tx, row.id, row.secret, row.secret_key_id);
      await repo.setWebhookSecret(tx.db, row.id, keyring.seal(plaintext, context, keyId), keyId);
      resealed++;
    }
    const stored = await repo.getSetting(tx.db, SERVER_SECRET);
    if (stored !== undefined) {
      const secret = sealedKeyId(stored) === undefined ? stored : keyring.open(stored, SERVER_SECRET_CONTEXT);
      await repo.setSetting(tx.db, SERVER_SECRET, keyring.seal(secret, SERVER_SECRET_CONTEXT, keyId));
      resealed++;
    }
    resealed += await resealSiteSecrets(tx, keyId);
    await repo.setSetting(tx.db, CURRENT_KEY, keyId);
    return { keyId, previousKeyId, resealed };
  });
}
