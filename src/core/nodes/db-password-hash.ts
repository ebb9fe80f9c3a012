import { createHash } from 'node:crypto';

// The hashes a database server stores for a password, made on the control plane so the password
// itself never reaches a node (docs/adr/0023-site-databases.md). PostgreSQL's SCRAM verifier is
// src/core/shared/scram.ts, the same one SaaS instance owners get.

/**
 * MariaDB's mysql_native_password hash, `*` and the upper-case hex of SHA1(SHA1(password)), as
 * `CREATE USER ... IDENTIFIED BY PASSWORD '<hash>'` takes it.
 */
export function mysqlNativeHash(password: string): string {
  const inner = createHash('sha1').update(password, 'utf8').digest();
  return `*${createHash('sha1').update(inner).digest('hex').toUpperCase()}`;
}

/** A short name of a sealed password: equal while the password is not set again, never the password. */
export function passwordRef(sealed: string): string {
  return createHash('sha256').update(sealed).digest('hex').slice(0, 32);
}
