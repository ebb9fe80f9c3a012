import { execFile } from 'node:child_process';
import { randomBytes, scryptSync } from 'node:crypto';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SCRYPT_N, hashPassword, importCryptHash, needsRehash, verifyPassword } from '../../src/core/shared/passwords.js';
import { parseShaCrypt, shaCrypt } from '../../src/core/shared/sha-crypt.js';

// SHA-crypt is our own code: pinned against OpenSSL's `passwd -5/-6`, which uses glibc's algorithm.
const run = promisify(execFile);
const openssl = async (kind: '-5' | '-6', salt: string, password: string) => (await run('openssl', ['passwd', kind, '-salt', salt, password])).stdout.trim();

const CASES: { id: '5' | '6'; salt: string; rounds?: number; password: string }[] = [
  { id: '6', salt: 'saltsalt', password: 'hunter2secret' },
  { id: '5', salt: 'saltsalt', password: 'hunter2secret' },
  { id: '6', salt: 'abc', rounds: 1000, password: 'x' },
  { id: '5', salt: '0123456789abcdef', rounds: 12000, password: 'pässwörd long password that exceeds sixty four bytes in length for sure, yes it does' },
  { id: '6', salt: 'x', rounds: 5001, password: 'a'.repeat(200) },
  { id: '5', salt: 'Zz./09', password: 'p' },
];

describe('SHA-crypt', () => {
  it('matches openssl passwd for SHA-256 and SHA-512, default and custom rounds, short, long and non-ASCII input', async () => {
    for (const c of CASES) {
      const expected = await openssl(c.id === '5' ? '-5' : '-6', c.rounds === undefined ? c.salt : `rounds=${c.rounds}$${c.salt}`, c.password);
      expect(shaCrypt(c.id, c.password, c.salt, c.rounds), JSON.stringify(c)).toBe(expected);
    }
  });

  it('parses only well-formed hashes', () => {
    expect(parseShaCrypt('$6$saltsalt$U7jVRifQSoFHLrTw.Qjk6ZA.brELttHCwBb/wX/A1gErj4SwwWfmSRzkTeow3RnMsfiGfb43j8ulbr76ocFR8.')).toMatchObject({ id: '6', rounds: 5000, salt: 'saltsalt' });
    expect(parseShaCrypt('$6$saltsalt$short')).toBeUndefined();
    expect(parseShaCrypt('$5$a:b$4jlykDYPxmLSDnuwjHbkYHJjelym.ZUDD3A4oKKgY2B')).toBeUndefined();
    expect(parseShaCrypt('$7$saltsalt$4jlykDYPxmLSDnuwjHbkYHJjelym.ZUDD3A4oKKgY2B')).toBeUndefined();
  });
});

describe('foreign password hashes', () => {
  it('verifies imported SHA-crypt and bcrypt hashes, and marks them for rehashing', async () => {
    const sha = importCryptHash(await openssl('-6', 'pepper', 'Right-pass-1'));
    const bcrypt = importCryptHash((await run('php', ['-r', 'echo password_hash("Right-pass-2", PASSWORD_BCRYPT, ["cost" => 4]);'])).stdout);
    if (!sha.ok || !bcrypt.ok) throw new Error('expected both hashes to be accepted');
    expect(await verifyPassword('Right-pass-1', sha.stored)).toBe(true);
    expect(await verifyPassword('Wrong-pass-1', sha.stored)).toBe(false);
    expect(await verifyPassword('Right-pass-2', bcrypt.stored)).toBe(true);
    expect(await verifyPassword('Right-pass-2x', bcrypt.stored)).toBe(false);
    expect([needsRehash(sha.stored), needsRehash(bcrypt.stored), needsRehash(await hashPassword('Own-pass-1'))]).toEqual([true, true, false]);
  });

  it('refuses weak forms and work factors that would let a sign-in burn the CPU', () => {
    expect(importCryptHash('$1$salt$qJH7.N4xYta3aEG/dfqo/0')).toMatchObject({ ok: false });
    expect(importCryptHash('abJnggxhB/yWI')).toMatchObject({ ok: false });
    expect(importCryptHash(`$6$rounds=100001$salt$${'a'.repeat(86)}`)).toEqual({ ok: false, message: 'SHA-crypt rounds must be at most 100000, got 100001' });
    expect(importCryptHash(`$2y$14$${'a'.repeat(53)}`)).toEqual({ ok: false, message: 'bcrypt cost must be 4 to 13, got 14' });
    expect(importCryptHash(`$2y$03$${'a'.repeat(53)}`)).toMatchObject({ ok: false });
  });
});

describe('own password hashes', () => {
  // The suite's setup file lowers the cost of new hashes (test/support/cheap-password-hashes.ts); the
  // product's own cost is still what production writes, and a hash of that cost still verifies.
  it('hash at the lowered test cost and verify a production-cost hash, the parameters read from the hash', async () => {
    expect(SCRYPT_N).toBe(16384);
    const own = await hashPassword('Own-pass-2');
    expect(own).toMatch(/^scrypt\$1024\$8\$1\$/);
    expect(await verifyPassword('Own-pass-2', own)).toBe(true);
    expect(await verifyPassword('Own-pass-2x', own)).toBe(false);
    const salt = randomBytes(16);
    const key = scryptSync('Prod-pass-1', salt, 32, { N: SCRYPT_N, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
    const production = `scrypt$${SCRYPT_N}$8$1$${salt.toString('base64')}$${key.toString('base64')}`;
    expect(await verifyPassword('Prod-pass-1', production)).toBe(true);
    expect(await verifyPassword('Prod-pass-2', production)).toBe(false);
  });
});
