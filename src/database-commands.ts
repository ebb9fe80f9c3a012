import fs from 'node:fs';
import type { Config } from './config/config.js';
import { ctxFor } from './core/context.js';
import { recordedSecretsKeyId, resealSecrets } from './core/secrets/secret.service.js';
import { Keyring, newMasterKey } from './core/shared/keyring.js';
import { beginKeyFileRotation, loadKeyring, masterKeyFile } from './config/master-key.js';
import { createDb, embeddedDataDir, holdsNoRelations, migrateDatabase, type DbHandle } from './db/database.js';
import { backupEmbeddedDataDir, backupFormatOf, backupPostgres, restoreEmbedded, restorePostgres, writeBackupFile, type BackupFormat } from './db/backup.js';
import { rebuildAfterRestore, type RestoreRebuild } from './core/backups/backup.service.js';
import { coreDeps, createLogger, openDatabase } from './app.js';

/*
 * The CLI's database commands (`db migrate|backup|restore|rebuild-after-restore`, `secrets rotate`):
 * each opens the database itself, with no server of its own, and closes it when done.
 */

/** `hostplane db migrate`: applies pending migrations and reports them. */
export async function runMigrations(config: Config): Promise<string[]> {
  const handle = await openDatabase(config);
  try {
    return await migrateDatabase(handle);
  } finally {
    await handle.close();
  }
}

export interface BackupResult {
  format: BackupFormat;
  file: string;
  bytes: number;
}

/**
 * `hostplane db backup`: pg_dump of the PostgreSQL database, or a copy of the embedded data dir when no
 * server holds it (a running server's lock fails this with DataDirInUseError: the CLI then asks that
 * server, through the admin API, and saves its copy with saveBackup).
 */
export async function backupDatabase(config: Config, file: string): Promise<BackupResult> {
  if (config.databaseUrl) await backupPostgres(config.databaseUrl, file);
  else await backupEmbeddedDataDir(embeddedDataDir(config.dataDir), file);
  return { format: config.databaseUrl ? 'pg_dump' : 'pglite', file, bytes: fs.statSync(file).size };
}

/** Writes a backup received from a running server: owner-only, whole or not at all. */
export function saveBackup(file: string, data: Uint8Array): BackupResult {
  writeBackupFile(file, data);
  return { format: backupFormatOf(file), file, bytes: data.length };
}

export interface RestoreResult {
  format: BackupFormat;
  /** Migrations applied on top of the backup (one taken by an older version). */
  migrated: string[];
  rebuild: RestoreRebuild;
  /** The master key the restored secrets are sealed under, when this configuration does not have it. */
  missing_master_key?: string;
}

/**
 * `hostplane db restore`: into an empty PostgreSQL database, or a new embedded data dir (either one
 * holding data only with `force`), then the restored database is migrated and the data plane made to
 * follow it (rebuildAfterRestore). No server may run on the target meanwhile: the embedded data dir's
 * lock enforces it; on PostgreSQL the operator stops the servers first.
 */
export async function restoreDatabase(config: Config, file: string, options: { force: boolean }): Promise<RestoreResult> {
  let migrated: string[] = [];
  let rebuild: RestoreRebuild | undefined;
  let recordedKey: string | undefined;
  const prepare = async (handle: DbHandle) => {
    ({ migrated, rebuild } = await migrateAndRebuild(config, handle));
    recordedKey = await recordedSecretsKeyId({ db: handle.db });
  };
  if (config.databaseUrl) {
    const url = config.databaseUrl;
    await restorePostgres(url, file, options.force, async () => {
      const probe = await createDb({ databaseUrl: url, poolSize: 1 });
      try {
        return await holdsNoRelations(probe.db);
      } finally {
        await probe.close();
      }
    });
    const handle = await createDb({ databaseUrl: url, poolSize: 2 });
    try {
      await prepare(handle);
    } finally {
      await handle.close();
    }
  } else {
    await restoreEmbedded(embeddedDataDir(config.dataDir), file, options.force, prepare);
  }
  const out: RestoreResult = { format: config.databaseUrl ? 'pg_dump' : 'pglite', migrated, rebuild: rebuild! };
  const keyAvailable = Boolean(config.masterKey) || fs.existsSync(masterKeyFile(config));
  if (recordedKey !== undefined && !keyAvailable) out.missing_master_key = recordedKey;
  return out;
}

async function migrateAndRebuild(config: Config, handle: DbHandle): Promise<{ migrated: string[]; rebuild: RestoreRebuild }> {
  const migrated = await migrateDatabase(handle);
  // The rebuild seals nothing: a throwaway key stands in for the master key, which may not be here yet.
  const deps = coreDeps(config, handle, new Keyring([newMasterKey()], 'restore'), () => new Date(), createLogger(config));
  return { migrated, rebuild: await rebuildAfterRestore(ctxFor(deps, { kind: 'system' })) };
}

/**
 * `hostplane db rebuild-after-restore`: what `db restore` does after restoring, for a database brought
 * back by other means (pgBackRest's point-in-time recovery): migrate, and make the data plane follow it.
 */
export async function rebuildAfterDatabaseRestore(config: Config): Promise<{ migrated: string[]; rebuild: RestoreRebuild }> {
  const handle = await openDatabase(config);
  try {
    return await migrateAndRebuild(config, handle);
  } finally {
    await handle.close();
  }
}

export interface SecretsRotation {
  key_id: string;
  previous_key_id: string | null;
  /** Values sealed again: every webhook signing secret and the server secret. */
  resealed: number;
  /** Key file: where the previous keys were moved. Environment: keys HOSTPLANE_MASTER_KEY no longer needs. */
  retired_key_file?: string;
  unused_key_ids?: string[];
}

/**
 * `hostplane secrets rotate`: works on the database directly, like `db migrate`, because it needs the
 * master keys, which exist only where the server runs and never travel over the admin API. With a key
 * file it adds a fresh key; with HOSTPLANE_MASTER_KEY it moves to the first key listed there.
 */
export async function rotateSecrets(config: Config): Promise<SecretsRotation> {
  const handle = await openDatabase(config);
  try {
    await migrateDatabase(handle);
    const recorded = await recordedSecretsKeyId({ db: handle.db });
    const rotation = config.masterKey ? undefined : beginKeyFileRotation(config);
    const keyring = rotation?.keyring ?? loadKeyring(config, recorded);
    const keyId = rotation?.keyId ?? keyring.primaryId;
    const deps = coreDeps(config, handle, keyring, () => new Date(), createLogger(config));
    let result;
    try {
      result = await resealSecrets(ctxFor(deps, { kind: 'system' }), keyId);
    } catch (e) {
      rotation?.rollback();
      throw e;
    }
    const out: SecretsRotation = { key_id: result.keyId, previous_key_id: result.previousKeyId ?? null, resealed: result.resealed };
    if (rotation) out.retired_key_file = rotation.commit(new Date()).retiredFile;
    else out.unused_key_ids = keyring.ids.filter((id) => id !== result.keyId);
    return out;
  } finally {
    await handle.close();
  }
}
