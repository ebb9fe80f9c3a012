import { createHash, createHmac, pbkdf2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

/** PostgreSQL's own default (scram_iterations). */
export const SCRAM_ITERATIONS = 4096;

// RFC 3454 table B.1, characters SASLprep removes (a set: some of them combine with their neighbours).
const MAPPED_TO_NOTHING = new Set(
  [0xad, 0x34f, 0x1806, 0x180b, 0x180c, 0x180d, 0x200b, 0x200c, 0x200d, 0x2060, 0xfeff, ...Array.from({ length: 16 }, (_, i) => 0xfe00 + i)].map((c) => String.fromCharCode(c)),
);

/**
 * The password as PostgreSQL's SASLprep leaves it, for the common cases: non-ASCII spaces become a
 * space, characters "mapped to nothing" go, and the rest is NFKC-normalised. PostgreSQL (and libpq,
 * which does the same on the client's side) falls back to the raw bytes when SASLprep refuses a
 * password; those rare passwords (prohibited or bidirectional characters) may not match here, which
 * the ADR notes. ASCII passwords are never changed.
 */
function saslPrep(password: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(password)) return password;
  return password
    .replace(/[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]/g, ' ')
    .split('')
    .filter((c) => !MAPPED_TO_NOTHING.has(c))
    .join('')
    .normalize('NFKC');
}

/**
 * A SCRAM-SHA-256 verifier of `password` in the form PostgreSQL stores in pg_authid and accepts in
 * `CREATE ROLE ... PASSWORD '<verifier>'` (RFC 5802/7677): the control plane computes it, so the
 * password itself never reaches a node or the node's desired state.
 */
export async function scramSha256Verifier(password: string, iterations = SCRAM_ITERATIONS, salt: Buffer = randomBytes(16)): Promise<string> {
  const salted = await pbkdf2Async(Buffer.from(saslPrep(password), 'utf8'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** Whether `verifier` was made from `password`: what the server checks at sign-in (tests compare with it). */
export async function scramVerifierMatches(verifier: string, password: string): Promise<boolean> {
  const m = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(verifier);
  if (!m) return false;
  return (await scramSha256Verifier(password, Number(m[1]), Buffer.from(m[2]!, 'base64'))) === verifier;
}
