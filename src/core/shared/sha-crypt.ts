import { createHash } from 'node:crypto';

/**
 * SHA-crypt ($5$ SHA-256, $6$ SHA-512), the crypt(3) hashes glibc writes and `openssl passwd -5/-6`
 * prints, as billing modules pass them in ApisCP's auth,cpasswd. Written from the published
 * specification ("Unix crypt using SHA-256 and SHA-512", U. Drepper); no maintained npm package does
 * it. See docs/adr/0011-crypt-password-hashes.md.
 */

const ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const DEFAULT_ROUNDS = 5000;
const MIN_ROUNDS = 1000;
/**
 * The specification allows up to 999,999,999 rounds; a hash we accept is checked at every sign-in,
 * so a stored hash with a huge count would let anyone who tries a password burn the CPU.
 */
export const MAX_ACCEPTED_ROUNDS = 100_000;

interface Variant {
  algorithm: 'sha256' | 'sha512';
  size: number;
  /** The byte triples of the final digest, in the order their base-64 characters are written. */
  order: number[][];
  /** The last, shorter group: bytes, and how many characters. */
  tail: [number[], number];
}

const SHA256: Variant = {
  algorithm: 'sha256',
  size: 32,
  order: [[0, 10, 20], [21, 1, 11], [12, 22, 2], [3, 13, 23], [24, 4, 14], [15, 25, 5], [6, 16, 26], [27, 7, 17], [18, 28, 8], [9, 19, 29]],
  tail: [[-1, 31, 30], 3],
};

const SHA512: Variant = {
  algorithm: 'sha512',
  size: 64,
  order: [
    [0, 21, 42], [22, 43, 1], [44, 2, 23], [3, 24, 45], [25, 46, 4], [47, 5, 26], [6, 27, 48], [28, 49, 7], [50, 8, 29], [9, 30, 51], [31, 52, 10],
    [53, 11, 32], [12, 33, 54], [34, 55, 13], [56, 14, 35], [15, 36, 57], [37, 58, 16], [59, 17, 38], [18, 39, 60], [40, 61, 19], [62, 20, 41],
  ],
  tail: [[-1, -1, 63], 2],
};

export interface ShaCryptHash {
  id: '5' | '6';
  rounds: number;
  /** Whether the hash spelled out its rounds (`rounds=N$`): the output does too. */
  explicitRounds: boolean;
  salt: string;
  hash: string;
}

const HASH_FORM = /^\$([56])\$(?:rounds=(\d{1,9})\$)?([^$:\n]{0,16})\$([./0-9A-Za-z]+)$/;

/** Parses a `$5$` / `$6$` hash; undefined when it is not one (or its digest has the wrong length). */
export function parseShaCrypt(text: string): ShaCryptHash | undefined {
  const m = HASH_FORM.exec(text);
  if (!m) return undefined;
  const id = m[1] as '5' | '6';
  if (m[4]!.length !== (id === '5' ? 43 : 86)) return undefined;
  const given = m[2] === undefined ? DEFAULT_ROUNDS : Number(m[2]);
  return { id, rounds: Math.min(Math.max(given, MIN_ROUNDS), 999_999_999), explicitRounds: m[2] !== undefined, salt: m[3]!, hash: m[4]! };
}

function digest(v: Variant, ...parts: Buffer[]): Buffer {
  const h = createHash(v.algorithm);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** `count` bytes of `block` repeated. */
function repeatTo(block: Buffer, count: number): Buffer {
  const out = Buffer.alloc(count);
  for (let i = 0; i < count; i += block.length) block.copy(out, i, 0, Math.min(block.length, count - i));
  return out;
}

function encode(v: Variant, final: Buffer): string {
  let out = '';
  const group = (bytes: number[], chars: number) => {
    let w = ((bytes[0]! < 0 ? 0 : final[bytes[0]!]!) << 16) | ((bytes[1]! < 0 ? 0 : final[bytes[1]!]!) << 8) | final[bytes[2]!]!;
    for (let i = 0; i < chars; i++) {
      out += ALPHABET[w & 0x3f];
      w >>= 6;
    }
  };
  for (const triple of v.order) group(triple, 4);
  group(...v.tail);
  return out;
}

/** The digest part of a SHA-crypt hash of `password` with this salt and rounds. */
export function shaCryptDigest(id: '5' | '6', password: string, salt: string, rounds: number): string {
  const v = id === '5' ? SHA256 : SHA512;
  const p = Buffer.from(password, 'utf8');
  const s = Buffer.from(salt, 'utf8').subarray(0, 16);
  const b = digest(v, p, s, p);
  const aParts: Buffer[] = [p, s, repeatTo(b, p.length)];
  for (let n = p.length; n > 0; n >>= 1) aParts.push(n & 1 ? b : p);
  const a = digest(v, ...aParts);
  const pSeq = repeatTo(digest(v, ...Array<Buffer>(p.length).fill(p)), p.length);
  const sSeq = repeatTo(digest(v, ...Array<Buffer>(16 + a[0]!).fill(s)), s.length);
  let c = a;
  for (let i = 0; i < rounds; i++) {
    const h = createHash(v.algorithm);
    h.update(i & 1 ? pSeq : c);
    if (i % 3) h.update(sSeq);
    if (i % 7) h.update(pSeq);
    h.update(i & 1 ? c : pSeq);
    c = h.digest();
  }
  return encode(v, c);
}

/** The full hash string, as crypt(3) writes it. */
export function shaCrypt(id: '5' | '6', password: string, salt: string, rounds?: number): string {
  const r = rounds === undefined ? DEFAULT_ROUNDS : Math.min(Math.max(rounds, MIN_ROUNDS), 999_999_999);
  const s = salt.slice(0, 16);
  return `$${id}$${rounds === undefined ? '' : `rounds=${r}$`}${s}$${shaCryptDigest(id, password, s, r)}`;
}
