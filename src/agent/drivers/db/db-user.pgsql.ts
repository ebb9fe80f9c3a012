import pg from 'pg';
import type { DbUserSpec } from '../../../core/nodes/agent-wire.schema.js';
import { dumpTo, type DbUserEngine } from './db-user.engine.js';

// Names reach SQL only after the wire schema checked them (a letter, then letters, digits and "_"),
// and are quoted on top of that; the verifier is checked against its format the same way.
const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;
const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;

/**
 * A site's PostgreSQL role: LOGIN with the SCRAM-SHA-256 verifier the control plane made, owner of
 * each listed database (which PUBLIC may not connect to), NOLOGIN with its sessions ended while
 * suspended. The admin connection is `--pg-url`.
 */
export class PgsqlUsers implements DbUserEngine {
  readonly engine = 'pgsql' as const;
  private readonly pool: pg.Pool;

  constructor(private readonly url: string) {
    this.pool = new pg.Pool({ connectionString: url, max: 2 });
    // An idle connection the server ended (a restart) must not end the agent.
    this.pool.on('error', () => undefined);
  }

  private async q<T extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<T[]> {
    return (await this.pool.query<T>(text, values)).rows;
  }

  async userExists(user: string): Promise<boolean> {
    return (await this.q(`select 1 from pg_roles where rolname = $1`, [user])).length > 0;
  }

  private async ownedDatabases(user: string): Promise<string[]> {
    return (await this.q<{ datname: string }>(`select d.datname from pg_database d join pg_roles r on r.oid = d.datdba where r.rolname = $1 order by 1`, [user])).map((r) => r.datname);
  }

  private async dropDatabase(db: string, file: string | null): Promise<void> {
    const exists = (await this.q(`select 1 from pg_database where datname = $1`, [db])).length > 0;
    if (!exists) return;
    if (file) await this.dump(db, file);
    await this.q(`drop database if exists ${ident(db)} with (force)`);
  }

  /** pg_dump in its custom format, with the admin connection's settings passed in the environment (never on the command line). */
  private dump(db: string, file: string): Promise<void> {
    const u = new URL(this.url);
    const env: NodeJS.ProcessEnv = { PGDATABASE: db };
    const host = u.searchParams.get('host') ?? (u.hostname ? decodeURIComponent(u.hostname) : undefined);
    if (host) env.PGHOST = host;
    if (u.port) env.PGPORT = u.port;
    if (u.username) env.PGUSER = decodeURIComponent(u.username);
    if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
    return dumpTo('pg_dump', ['--format=custom', '--no-password'], env, file);
  }

  private async endSessions(user: string): Promise<void> {
    await this.q(`select pg_terminate_backend(pid) from pg_stat_activity where usename = $1 and pid <> pg_backend_pid()`, [user]);
  }

  async applyUser(spec: DbUserSpec, archive: (db: string) => string): Promise<void> {
    const role = ident(spec.user);
    const login = spec.status === 'suspended' ? 'nologin' : 'login';
    if (!(await this.userExists(spec.user))) {
      // No hash yet: PASSWORD NULL, which no password matches, until the site sets one.
      await this.q(`create role ${role} ${login} password ${spec.passwordHash ? literal(spec.passwordHash) : 'null'}`);
    } else {
      const [row] = await this.q<{ rolcanlogin: boolean; rolpassword: string | null }>(`select rolcanlogin, rolpassword from pg_authid where rolname = $1`, [spec.user]);
      if (spec.passwordHash && row?.rolpassword !== spec.passwordHash) await this.q(`alter role ${role} password ${literal(spec.passwordHash)}`);
      if (row?.rolcanlogin !== (login === 'login')) await this.q(`alter role ${role} ${login}`);
    }
    if (spec.status === 'suspended') await this.endSessions(spec.user);
    const owned = await this.ownedDatabases(spec.user);
    for (const db of spec.databases) {
      if (owned.includes(db)) continue;
      const exists = (await this.q(`select 1 from pg_database where datname = $1`, [db])).length > 0;
      if (exists) await this.q(`alter database ${ident(db)} owner to ${role}`);
      else await this.q(`create database ${ident(db)} owner ${role}`);
      // Every role may connect to a new database by default; a site's database is its own.
      await this.q(`revoke connect, temporary on database ${ident(db)} from public`);
    }
    for (const db of owned) if (!spec.databases.includes(db)) await this.dropDatabase(db, db.startsWith(spec.prefix) ? archive(db) : null);
  }

  async retireUser(from: string, to: string): Promise<void> {
    if (!(await this.userExists(from))) return;
    for (const db of await this.ownedDatabases(from)) await this.q(`alter database ${ident(db)} owner to ${ident(to)}`);
    await this.q(`alter role ${ident(from)} nologin`);
    await this.endSessions(from);
    await this.q(`drop role ${ident(from)}`);
  }

  async removeUser(spec: DbUserSpec, archive: (db: string) => string): Promise<void> {
    const exists = await this.userExists(spec.user);
    const dbs = new Set(spec.databases);
    if (exists) {
      await this.q(`alter role ${ident(spec.user)} nologin`);
      await this.endSessions(spec.user);
      for (const db of await this.ownedDatabases(spec.user)) if (db.startsWith(spec.prefix)) dbs.add(db);
    }
    for (const db of dbs) await this.dropDatabase(db, archive(db));
    if (exists) await this.q(`drop role ${ident(spec.user)}`);
  }

  async sizeOf(databases: string[]): Promise<number> {
    if (databases.length === 0) return 0;
    const [row] = await this.q<{ bytes: string | null }>(`select sum(pg_database_size(datname))::text as bytes from pg_database where datname = any($1::text[])`, [databases]);
    return Number(row?.bytes ?? 0);
  }

  async ping(): Promise<void> {
    await this.q('select 1');
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
