import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/*
 * Secrets the server must read back (webhook signing secrets, the server secret) are sealed with
 * AES-256-GCM under a master key kept outside the database. A sealed value names the key it was sealed
 * under, so several keys can be readable at once while a rotation moves everything to a new one.
 */

export const MASTER_KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const FORMAT = 'v1';

/** A master key given as 32 bytes of base64, base64url or hex; throws with the reason otherwise. */
export function parseMasterKey(text: string): Buffer {
  const t = text.trim();
  let key: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(t)) key = Buffer.from(t, 'hex');
  else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(t)) key = Buffer.from(t.replace(/=$/, ''), 'base64url');
  if (!key || key.length !== MASTER_KEY_BYTES) throw new Error(`a master key must be ${MASTER_KEY_BYTES} random bytes written as base64 (44 characters) or hex (64 characters)`);
  return key;
}

/** Keys separated by commas, whitespace or newlines, newest first; `#` starts a comment in a key file. */
export function parseMasterKeys(text: string): Buffer[] {
  const words = text
    .split('\n')
    .map((line) => line.replace(/#.*$/, ''))
    .join(' ')
    .split(/[\s,]+/)
    .filter((w) => w !== '');
  if (words.length === 0) throw new Error('no master key given');
  return words.map(parseMasterKey);
}

export function newMasterKey(): Buffer {
  return randomBytes(MASTER_KEY_BYTES);
}

export function formatMasterKey(key: Buffer): string {
  return key.toString('base64');
}

/** A short public name for a key, derived from it: distinct keys never share one, and it reveals nothing usable. */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update('hostplane master key id\0').update(key).digest('hex').slice(0, 16);
}

/** Why a sealed value could not be opened; the message names the key or the row, never the secret. */
export class SealedSecretError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealedSecretError';
  }
}

/** The key id a sealed value names, or undefined when the text is not a sealed value. */
export function sealedKeyId(sealed: string): string | undefined {
  const parts = sealed.split('.');
  return parts.length === 4 && parts[0] === FORMAT ? parts[1] : undefined;
}

export class Keyring {
  private keys = new Map<string, Buffer>();
  private order: string[] = [];

  /**
   * `keys` newest first. `reload`, when given, reads the keys again (a key file another process,
   * `hostplane secrets rotate`, may have changed); it is tried once when a key id is unknown.
   */
  constructor(
    keys: Buffer[],
    readonly source: string,
    private readonly reload?: () => Buffer[],
  ) {
    if (keys.length === 0) throw new Error('a keyring needs at least one key');
    this.set(keys);
  }

  private set(keys: Buffer[]): void {
    this.keys = new Map(keys.map((k) => [keyIdOf(k), k]));
    this.order = keys.map(keyIdOf);
  }

  /** The newest key's id: the one a fresh database and a rotation seal under. */
  get primaryId(): string {
    return this.order[0]!;
  }

  get ids(): string[] {
    return [...this.order];
  }

  /** Whether the key is held, reading the keys again once if it is not. */
  has(keyId: string): boolean {
    if (this.keys.has(keyId)) return true;
    if (!this.reload) return false;
    try {
      this.set(this.reload());
    } catch {
      return false;
    }
    return this.keys.has(keyId);
  }

  private key(keyId: string): Buffer {
    if (!this.has(keyId)) throw new SealedSecretError(`key ${keyId} is not in the keyring (${this.source}); start with the master key the secrets were sealed under`);
    return this.keys.get(keyId)!;
  }

  /**
   * `v1.<key id>.<iv>.<ciphertext and tag>` (base64url). `context` is authenticated but not stored:
   * it names the row and purpose, so a sealed value copied into another row does not open there.
   */
  seal(plaintext: string, context: string, keyId: string = this.primaryId): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key(keyId), iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return [FORMAT, keyId, iv.toString('base64url'), body.toString('base64url')].join('.');
  }

  open(sealed: string, context: string): string {
    const parts = sealed.split('.');
    if (parts.length !== 4 || parts[0] !== FORMAT) throw new SealedSecretError(`the ${context} is not a sealed value`);
    const [, keyId, ivText, bodyText] = parts as [string, string, string, string];
    const iv = Buffer.from(ivText, 'base64url');
    const body = Buffer.from(bodyText, 'base64url');
    if (iv.length !== IV_BYTES || body.length < TAG_BYTES) throw new SealedSecretError(`the ${context} is not a sealed value`);
    const decipher = createDecipheriv('aes-256-gcm', this.key(keyId), iv);
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new SealedSecretError(`the ${context} failed its integrity check: it was altered or belongs to another row`);
    }
  }
}
