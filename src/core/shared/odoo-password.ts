import { pbkdf2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

// Odoo's own password hash for res_users.password (docs/adr/0027, its addendum): passlib's
// pbkdf2_sha512, `$pbkdf2-sha512$<rounds>$<salt>$<checksum>`, both in passlib's "adapted base64"
// (standard base64, '.' for '+', no padding). Made on the control plane like the SCRAM verifiers,
// so the password itself never reaches a node.

/**
 * Recent Odoo versions hash with 600,000 rounds and re-hash anything weaker at the next sign-in;
 * every version verifies any count. Matching the newest keeps a pushed hash from being replaced at
 * once and is no weaker than what Odoo stores itself. The cost (a few hundred ms of one libuv worker
 * thread) is paid only when a door is given a password for an instance with a database.
 */
export const ODOO_PBKDF2_ROUNDS = 600_000;
let rounds = ODOO_PBKDF2_ROUNDS;

const SALT_BYTES = 16;
const CHECKSUM_BYTES = 64;

function ab64(b: Buffer): string {
  return b.toString('base64').replace(/=+$/, '').replace(/\+/g, '.');
}

/** passlib's pbkdf2_sha512 hash of `password` (UTF-8, as Odoo hands it to passlib). */
export async function odooPasswordHash(password: string, salt: Buffer = randomBytes(SALT_BYTES), iterations = rounds): Promise<string> {
  const checksum = await pbkdf2Async(Buffer.from(password, 'utf8'), salt, iterations, CHECKSUM_BYTES, 'sha512');
  return `$pbkdf2-sha512$${iterations}$${ab64(salt)}$${ab64(checksum)}`;
}

/** Whether `hash` was made from `password` (tests; what passlib checks at an Odoo sign-in). */
export async function odooPasswordMatches(hash: string, password: string): Promise<boolean> {
  const m = /^\$pbkdf2-sha512\$(\d+)\$([./A-Za-z0-9]+)\$[./A-Za-z0-9]+$/.exec(hash);
  if (!m) return false;
  const salt = Buffer.from(m[2]!.replace(/\./g, '+'), 'base64');
  return (await odooPasswordHash(password, salt, Number(m[1]))) === hash;
}

/**
 * For the test suite only (test/support/cheap-password-hashes.ts): in-process apps hash with 1,000
 * rounds, since many tests add instance users. The rounds travel in the hash, so nothing else changes;
 * control planes the tests start as child processes keep the production count.
 */
export function lowerOdooHashRoundsForTests(): void {
  rounds = 1000;
}
