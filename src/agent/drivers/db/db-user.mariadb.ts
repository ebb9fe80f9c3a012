import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import mariadb, { type Pool } from 'mariadb';
import type { DbUserSpec } from '../../../core/nodes/agent-wire.schema.js';
import { dumpTo, type DbUserEngine } from './db-user.engine.js';

/** The admin connection from `mysql://user:password@host:port` (or `mariadb://`; `?socket=` for a Unix socket). */
export function mariadbConnection(url: string): { host?: string; port?: number; socketPath?: string; user: string; password?: string } {
  const u = new URL(url);
  if (u.protocol !== 'mysql:' && u.protocol !== 'mariadb:') throw new Error('the MariaDB URL must start with mysql:// or mariadb://');
  const socket = u.searchParams.get('socket');
  return {
    ...(socket ? { socketPath: socket } : { host: u.hostname || '127.0.0.1', port: u.port ? Number(u.port) : 3306 }),
    user: decodeURIComponent(u.username || 'root'),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
  };
}

// Names reach SQL only after the wire schema checked them (a letter, then letters, digits and "_"),
// and are quoted on top of that. In a database-level GRANT, "_" is a wildcard: escaped, so a grant
// on `ab_c` never covers `abXc`.
const ident = (name: string) => `\`${name.replace(/`/g, '``')}\``;
const grantDb = (name: string) => ident(name.replace(/_/g, '\\_'));
const account = (user: string) => `'${user.replace(/'/g, "''")}'@'%'`;

function dumpBin(): string {
  return fs.existsSync('/usr/bin/mariadb-dump') ? '/usr/bin/mariadb-dump' : 'mysqldump';
}

/**
 * A site's MariaDB user: `'<user>'@'%'` with the mysql_native_password hash the control plane made,
 * ALL on each of its listed databases (and nothing else), `ACCOUNT LOCK` while suspended.
 */
export class MariadbUsers implements DbUserEngine {
  readonly engine = 'mariadb' as const;
  private readonly pool: Pool;
  private readonly conn: ReturnType<typeof mariadbConnection>;

  constructor(url: string) {
    this.conn = mariadbConnection(url);
    this.pool = mariadb.createPool({ ...this.conn, connectionLimit: 2, bigIntAsNumber: true });
  }

  private q<T = unknown>(sql: string, values?: unknown[]): Promise<T> {
    return this.pool.query(sql, values) as Promise<T>;
  }

  async userExists(user: string): Promise<boolean> {
    const rows = await this.q<unknown[]>(`select 1 from mysql.user where User = ? and Host = '%'`, [user]);
    return rows.length > 0;
  }

  /** The databases the user holds a grant on (unescaped). */
  private async grantedDatabases(user: string): Promise<string[]> {
    const rows = await this.q<{ Db: string }[]>(`select Db from mysql.db where User = ? and Host = '%'`, [user]);
    return rows.map((r) => r.Db.replace(/\\_/g, '_'));
  }

  private async existingDatabases(names: string[]): Promise<Set<string>> {
    if (names.length === 0) return new Set();
    const rows = await this.q<{ name: string }[]>(`select schema_name as name from information_schema.schemata where schema_name in (?)`, [names]);
    return new Set(rows.map((r) => r.name));
  }

  private async dropDatabase(user: string, db: string, file: string | null): Promise<void> {
    if (file && (await this.existingDatabases([db])).has(db)) await this.dump(db, file);
    await this.q(`drop database if exists ${ident(db)}`);
    // Dropping a database keeps its grants; a later database of that name must not inherit them.
    if ((await this.grantedDatabases(user)).includes(db)) await this.q(`revoke all privileges on ${grantDb(db)}.* from ${account(user)}`);
  }

  private dump(db: string, file: string): Promise<void> {
    const c = this.conn;
    const args = ['--single-transaction', '--routines', '--events', '--triggers', `--user=${c.user}`, ...(c.socketPath ? [`--socket=${c.socketPath}`] : [`--host=${c.host}`, `--port=${c.port}`]), '--databases', db];
    return dumpTo(dumpBin(), args, c.password ? { MYSQL_PWD: c.password } : {}, file);
  }

  async applyUser(spec: DbUserSpec, archive: (db: string) => string): Promise<void> {
    const who = account(spec.user);
    if (!(await this.userExists(spec.user))) {
      // No hash yet: a password nobody knows, until the site sets one.
      const auth = spec.passwordHash ? `identified by password '${spec.passwordHash}'` : `identified by '${randomBytes(24).toString('base64url')}'`;
      await this.q(`create user ${who} ${auth}`);
    } else if (spec.passwordHash) {
      const [row] = await this.q<{ hash: string }[]>(`select authentication_string as hash from mysql.user where User = ? and Host = '%'`, [spec.user]);
      if (row?.hash !== spec.passwordHash) await this.q(`alter user ${who} identified by password '${spec.passwordHash}'`);
    }
    const existing = await this.existingDatabases(spec.databases);
    const granted = new Set(await this.grantedDatabases(spec.user));
    for (const db of spec.databases) {
      if (!existing.has(db)) await this.q(`create database if not exists ${ident(db)}`);
      if (!granted.has(db)) await this.q(`grant all privileges on ${grantDb(db)}.* to ${who}`);
    }
    for (const db of granted) if (!spec.databases.includes(db)) await this.dropDatabase(spec.user, db, db.startsWith(spec.prefix) ? archive(db) : null);
    await this.setLocked(spec.user, spec.status === 'suspended');
  }

  private async setLocked(user: string, locked: boolean): Promise<void> {
    const [row] = await this.q<{ locked: string | null }[]>(`select json_value(Priv, '$.account_locked') as locked from mysql.global_priv where User = ? and Host = '%'`, [user]);
    // json_value reads a JSON true as 1.
    const now = row?.locked === '1' || row?.locked === 'true';
    if (now !== locked) await this.q(`alter user ${account(user)} account ${locked ? 'lock' : 'unlock'}`);
    // A lock refuses new logins only: the sessions already open end too.
    if (locked) for (const p of await this.q<{ id: number }[]>(`select id from information_schema.processlist where user = ?`, [user])) await this.q(`kill connection ${Number(p.id)}`).catch(() => undefined);
  }

  async retireUser(from: string, to: string): Promise<void> {
    if (!(await this.userExists(from))) return;
    const held = new Set(await this.grantedDatabases(to));
    for (const db of await this.grantedDatabases(from)) if (!held.has(db)) await this.q(`grant all privileges on ${grantDb(db)}.* to ${account(to)}`);
    await this.setLocked(from, true);
    await this.q(`drop user ${account(from)}`);
  }

  async removeUser(spec: DbUserSpec, archive: (db: string) => string): Promise<void> {
    const exists = await this.userExists(spec.user);
    const dbs = new Set(spec.databases);
    if (exists) for (const db of await this.grantedDatabases(spec.user)) if (db.startsWith(spec.prefix)) dbs.add(db);
    for (const db of dbs) await this.dropDatabase(spec.user, db, archive(db));
    if (exists) {
      await this.setLocked(spec.user, true);
      await this.q(`drop user ${account(spec.user)}`);
    }
  }

  async sizeOf(databases: string[]): Promise<number> {
    if (databases.length === 0) return 0;
    const [row] = await this.q<{ bytes: number | string | null }[]>(`select sum(data_length + index_length) as bytes from information_schema.tables where table_schema in (?)`, [databases]);
    return Number(row?.bytes ?? 0);
  }

  async ping(): Promise<void> {
    await this.q('select 1');
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
