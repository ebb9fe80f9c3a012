import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import bcrypt from 'bcryptjs';
import { MAX_ACCEPTED_ROUNDS, parseShaCrypt, shaCryptDigest } from './sha-crypt.js';

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number, options: { N: number; r: number; p: number; maxmem: number }) => Promise<Buffer>;

// Node's built-in scrypt (memory-hard); parameters travel with the hash so they can be raised later.
export const SCRYPT_N = 16384;
let N = SCRYPT_N;
const R = 8;
const P = 1;
const KEYLEN = 32;

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, KEYLEN, { N, r: R, p: P, maxmem: 64 * 1024 * 1024 });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/**
 * For the test suite only (its Vitest setup file test/support/cheap-password-hashes.ts calls it): new
 * hashes use N=1024 instead of SCRYPT_N, since thousands of sign-ups and sign-ins at 16 MiB each would
 * dominate the suite's time. Nothing in the product calls it and no setting or variable reaches it;
 * verifying reads N from the stored hash, so every other path runs as in production.
 */
export function lowerPasswordHashCostForTests(): void {
  N = 1024;
}

/** The marker a crypt(3) hash is stored under (taken from a billing system: ApisCP's auth,cpasswd). */
const CRYPT_SCHEME = 'crypt:';
const BCRYPT_FORM = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;
/** bcrypt costs accepted: each sign-in pays the cost once, so a huge one would be a denial of service. */
const BCRYPT_COSTS = { min: 4, max: 13 };

export type CryptCheck = { ok: true; stored: string } | { ok: false; message: string };

/**
 * A crypt(3) hash another system made (bcrypt $2y$/$2a$/$2b$, SHA-crypt $5$/$6$), checked and turned
 * into a stored password hash that `verifyPassword` understands. Any other form is refused: MD5-crypt,
 * DES and plain text would all be weaker than what we store ourselves.
 */
export function importCryptHash(hash: string): CryptCheck {
  const bc = BCRYPT_FORM.exec(hash);
  if (bc) {
    const cost = Number(bc[1]);
    if (cost < BCRYPT_COSTS.min || cost > BCRYPT_COSTS.max) return { ok: false, message: `bcrypt cost must be ${BCRYPT_COSTS.min} to ${BCRYPT_COSTS.max}, got ${cost}` };
    return { ok: true, stored: `${CRYPT_SCHEME}${hash}` };
  }
  if (hash.startsWith('$5$') || hash.startsWith('$6$')) {
    const sha = parseShaCrypt(hash);
    if (!sha) return { ok: false, message: 'is not a well-formed SHA-crypt hash ($5$ or $6$, optional rounds=N$, salt of at most 16 characters, then the digest)' };
    if (sha.rounds > MAX_ACCEPTED_ROUNDS) return { ok: false, message: `SHA-crypt rounds must be at most ${MAX_ACCEPTED_ROUNDS}, got ${sha.rounds}` };
    return { ok: true, stored: `${CRYPT_SCHEME}${hash}` };
  }
  return { ok: false, message: 'must be a crypt(3) hash: bcrypt ($2y$, $2a$, $2b$) or SHA-crypt ($5$, $6$)' };
}

async function verifyCrypt(password: string, hash: string): Promise<boolean> {
  if (BCRYPT_FORM.test(hash)) {
    // PHP writes $2y$; the JavaScript bcrypt implements the same algorithm under $2b$.
    return bcrypt.compare(password, hash.replace(/^\$2y\$/, '$2b$'));
  }
  const sha = parseShaCrypt(hash);
  if (!sha || sha.rounds > MAX_ACCEPTED_ROUNDS) return false;
  const actual = Buffer.from(shaCryptDigest(sha.id, password, sha.salt, sha.rounds));
  const expected = Buffer.from(sha.hash);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** Whether a stored hash is another system's and should be replaced by our own at the next sign-in. */
export function needsRehash(stored: string): boolean {
  return stored.startsWith(CRYPT_SCHEME);
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  if (stored.startsWith(CRYPT_SCHEME)) return verifyCrypt(password, stored.slice(CRYPT_SCHEME.length));
  const [scheme, n, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64');
  const actual = await scryptAsync(password, Buffer.from(salt, 'base64'), expected.length, { N: Number(n), r: Number(r), p: Number(p), maxmem: 64 * 1024 * 1024 });
  return timingSafeEqual(expected, actual);
}

let dummyHash: Promise<string> | undefined;

/**
 * A sign-in's password check: against the stored hash, or, when there is none (unknown login, no
 * password), against a throw-away hash of the same cost and false, so the time taken does not tell
 * which logins exist.
 */
export async function verifyPasswordOrDummy(password: string, stored: string | null | undefined): Promise<boolean> {
  if (stored) return verifyPassword(password, stored);
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
  await verifyPassword(password, await dummyHash);
  return false;
}
