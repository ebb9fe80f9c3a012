import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

// The hashes a database server stores for a password, made on the control plane so the password
// itself never reaches a node (docs/adr/0023-site-databases.md).

/**
 * MariaDB's mysql_native_password hash, `*` and the upper-case hex of SHA1(SHA1(password)), as
 * `CREATE USER ... IDENTIFIED BY PASSWORD '<hash>'` takes it.
 */
export function mysqlNativeHash(password: string): string {
  const inner = createHash('sha1').update(password, 'utf8').digest();
  return `*${createHash('sha1').update(inner).digest('hex').toUpperCase()}`;
}

/** PostgreSQL's default iteration count for SCRAM-SHA-256 (scram_iterations). */
const SCRAM_ITERATIONS = 4096;

/**
 * A PostgreSQL SCRAM-SHA-256 verifier, `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`
 * (RFC 5802/7677), which `CREATE ROLE ... PASSWORD '<verifier>'` stores as it is. PostgreSQL
 * normalises a password with SASLprep first; NFKC is that normalisation for every password a person
 * types (ASCII is unchanged by both).
 */
export function scramSha256Verifier(password: string, salt: Buffer = randomBytes(16), iterations = SCRAM_ITERATIONS): string {
  const salted = pbkdf2Sync(Buffer.from(password.normalize('NFKC'), 'utf8'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** Whether `verifier` was made from `password` (tests; and what a server checks at login). */
export function scramVerifierMatches(verifier: string, password: string): boolean {
  const m = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(verifier);
  if (!m) return false;
  return scramSha256Verifier(password, Buffer.from(m[2]!, 'base64'), Number(m[1])) === verifier;
}

/** A short name of a sealed password: equal while the password is not set again, never the password. */
export function passwordRef(sealed: string): string {
  return createHash('sha256').update(sealed).digest('hex').slice(0, 32);
}
