import fs from 'node:fs';
import path from 'node:path';
import { formatMasterKey, keyIdOf, Keyring, newMasterKey, parseMasterKeys } from '../core/shared/keyring.js';
import type { Config } from './config.js';

/*
 * Where the master keys come from: HOSTPLANE_MASTER_KEY when set, else <data dir>/master-key, which the
 * first start creates (mode 0600) when the database has no sealed secrets yet. Never the database.
 */

export class MasterKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MasterKeyError';
  }
}

type KeyConfig = Pick<Config, 'dataDir' | 'masterKey'>;

export function masterKeyFile(config: Pick<Config, 'dataDir'>): string {
  return path.join(config.dataDir, 'master-key');
}

const HEADER = [
  '# Hostplane master key(s), newest first: they seal webhook signing secrets and the server secret in the',
  '# database. Keep this file apart from database backups; without it those secrets cannot be read.',
];

function keyFileText(keys: Buffer[], header = HEADER): string {
  return [...header, ...keys.map(formatMasterKey)].join('\n') + '\n';
}

/** Replaces the file in one step (write aside, then rename), readable by its owner only. */
export function writeKeyFile(file: string, keys: Buffer[], header?: string[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, keyFileText(keys, header), { mode: 0o600 });
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, file);
}

export function readKeyFile(file: string): Buffer[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new MasterKeyError(`cannot read the master key file ${file}: ${(e as Error).message}`);
  }
  try {
    return parseMasterKeys(text);
  } catch (e) {
    throw new MasterKeyError(`the master key file ${file} is not valid: ${(e as Error).message}`);
  }
}

/** Creates the key file unless it exists (another process may be creating it at the same moment). */
function createKeyFile(file: string): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, keyFileText([newMasterKey()]), { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new MasterKeyError(`cannot create the master key file ${file}: ${(e as Error).message}`);
  }
}

/**
 * The keyring a process starts with. `recordedKeyId` is the key the database says its secrets are
 * sealed under: with one recorded, a missing key file is an error (a new key would not open them).
 */
export function loadKeyring(config: KeyConfig, recordedKeyId: string | undefined): Keyring {
  if (config.masterKey) return new Keyring(parseMasterKeys(config.masterKey), 'HOSTPLANE_MASTER_KEY');
  const file = masterKeyFile(config);
  if (!fs.existsSync(file)) {
    if (recordedKeyId !== undefined) {
      throw new MasterKeyError(
        `no master key: the secrets in the database are sealed under key ${recordedKeyId}, but HOSTPLANE_MASTER_KEY is unset and ${file} does not exist; ` +
          'set HOSTPLANE_MASTER_KEY or restore the key file',
      );
    }
    createKeyFile(file);
  }
  return new Keyring(readKeyFile(file), `the key file ${file}`, () => readKeyFile(file));
}

export interface KeyFileRotation {
  /** The key to reseal under, and a keyring holding it and every older key. */
  keyId: string;
  keyring: Keyring;
  /** After the reseal committed: the file holds the new key only; the old ones go to a file of their own. */
  commit(at: Date): { retiredFile: string };
  /** After a failed reseal: the file as it was. */
  rollback(): void;
}

/**
 * `secrets rotate` with a key file: a fresh key goes first in the file while the old ones stay, so
 * every process reading the file can open values under either until the reseal has committed.
 */
export function beginKeyFileRotation(config: KeyConfig): KeyFileRotation {
  const file = masterKeyFile(config);
  if (!fs.existsSync(file)) throw new MasterKeyError(`no master key file at ${file} and HOSTPLANE_MASTER_KEY is unset: start the server once to create it`);
  const old = readKeyFile(file);
  const fresh = newMasterKey();
  writeKeyFile(file, [fresh, ...old]);
  return {
    keyId: keyIdOf(fresh),
    keyring: new Keyring([fresh, ...old], `the key file ${file}`, () => readKeyFile(file)),
    commit: (at) => {
      const retiredFile = `${file}.retired-${at.toISOString().replace(/[:.]/g, '-')}`;
      writeKeyFile(retiredFile, old, [
        `# Hostplane master key(s) retired on ${at.toISOString()}: nothing in the database is sealed under them any more.`,
        '# Keep them only to read database backups taken before then; otherwise delete this file.',
      ]);
      writeKeyFile(file, [fresh]);
      return { retiredFile };
    },
    rollback: () => writeKeyFile(file, old),
  };
}
