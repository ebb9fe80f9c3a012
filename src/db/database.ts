import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, Migrator, PostgresDialect, sql, type Transaction } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import { migrationProvider } from './migrations/index.js';
import { lockDataDir } from './data-dir-lock.js';
import { DatabaseUnavailableError } from '../errors/db-unavailable.js';
import { connectionSettings, DEFAULT_PG_TIMEOUTS, PgGuard, type PgTimeouts } from './pg-guard.js';
import { preparedStatementPool } from './prepared-pool.js';
import type { Database } from './schema.js';

export type { Database } from './schema.js';
export type Db = Kysely<Database>;
/** Either the root handle or a transaction: repositories accept both. */
export type Executor = Kysely<Database> | Transaction<Database>;

export interface DbConfig {
  /** A PostgreSQL server when set; the embedded PGlite otherwise. */
  databaseUrl?: string | undefined;
  /** PGlite data directory; undefined means in memory. */
  dataDir?: string | undefined;
  /** A PGlite data dir dump to start from (tests start every file from a migrated template). */
  loadDataDir?: Blob | undefined;
  poolSize?: number;
  /** PostgreSQL deadlines; unset ones take DEFAULT_PG_TIMEOUTS. */
  timeouts?: Partial<PgTimeouts> | undefined;
}

export interface DbHandle {
  db: Db;
  kind: 'pglite' | 'postgres';
  pglite?: PGlite;
  /**
   * Calls `onNotify` for every NOTIFY on `channel` (and once after a lost connection comes back, as
   * notifications may have been missed). Returns the way to stop listening.
   */
  listen(channel: string, onNotify: () => void): Promise<() => Promise<void>>;
  /**
   * Runs `fn` on a handle without statement, lock and query deadlines (PostgreSQL: a connection of
   * its own), for work that may rightly run long: migrations.
   */
  withoutTimeouts<T>(fn: (db: Db) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;
// ids are bigint columns, counts are int8: both fit a JS number for any realistic size.
const toNumber = (v: string) => Number(v);

export async function createDb(config: DbConfig): Promise<DbHandle> {
  if (config.databaseUrl) {
    const databaseUrl = config.databaseUrl;
    const timeouts: PgTimeouts = { ...DEFAULT_PG_TIMEOUTS, ...config.timeouts };
    const db = postgresKysely(databaseUrl, timeouts, config.poolSize ?? 10);
    return {
      db,
      kind: 'postgres',
      listen: (channel, onNotify) => listenOnServer(databaseUrl, timeouts, channel, onNotify),
      withoutTimeouts: async (fn) => {
        const unbounded = postgresKysely(databaseUrl, { ...timeouts, statementMs: 0, lockMs: 0, idleInTransactionMs: 0, queryMs: 0 }, 1);
        try {
          return await fn(unbounded);
        } finally {
          await unbounded.destroy();
        }
      },
      close: () => db.destroy(),
    };
  }

  let unlock = () => {};
  if (config.dataDir) {
    // Owner only, as PostgreSQL insists for its own data dirs: every row is in these files.
    fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    unlock = lockDataDir(config.dataDir);
  }
  let pglite: PGlite;
  try {
    pglite = await PGlite.create({
      ...(config.dataDir ? { dataDir: config.dataDir } : {}),
      ...(config.loadDataDir ? { loadDataDir: config.loadDataDir } : {}),
      parsers: { [INT8_OID]: toNumber, [NUMERIC_OID]: toNumber },
    });
  } catch (e) {
    unlock();
    throw e;
  }
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
  return {
    db,
    kind: 'pglite',
    pglite,
    withoutTimeouts: (fn) => fn(db),
    listen: async (channel, onNotify) => {
      const unlisten = await pglite.listen(channel, () => onNotify());
      return async () => {
        if (!pglite.closed) await unlisten();
      };
    },
    close: async () => {
      await db.destroy();
      unlock();
    },
  };
}

function postgresKysely(databaseUrl: string, timeouts: PgTimeouts, max: number): Db {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max,
    ...connectionSettings(timeouts),
    types: {
      getTypeParser: ((oid: number, format?: string) =>
        oid === INT8_OID || oid === NUMERIC_OID ? toNumber : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', () => {});
  const guard = new PgGuard(databaseUrl, timeouts);
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: preparedStatementPool(pool, guard, timeouts.queryMs) }) });
}

/**
 * LISTEN needs a connection of its own, outside the pool (a pooled one would be handed to queries).
 * It reconnects after a second when the server goes away, for as long as nobody stopped it; a server
 * away when listening starts is retried the same way, so the caller always gets its way to stop.
 */
async function listenOnServer(databaseUrl: string, timeouts: PgTimeouts, channel: string, onNotify: () => void): Promise<() => Promise<void>> {
  if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`bad channel name ${channel}`);
  let stopped = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  const connect = async (): Promise<void> => {
    // A frozen server would hold the connect (and the LISTEN) forever without these deadlines.
    const c = new pg.Client({ connectionString: databaseUrl, ...connectionSettings(timeouts), ...(timeouts.probeMs ? { query_timeout: Math.max(timeouts.probeMs, timeouts.connectMs) } : {}) });
    client = c;
    let lost = false;
    const onLost = () => {
      if (lost) return;
      lost = true;
      void c.end().catch(() => {});
      if (!stopped) retry = setTimeout(() => void connect().then(onNotify, () => {}), 1000);
    };
    c.on('error', onLost);
    c.on('end', onLost);
    c.on('notification', (msg) => {
      if (msg.channel === channel) onNotify();
    });
    try {
      await c.connect();
      await c.query(`listen ${channel}`);
    } catch (err) {
      onLost();
      throw err;
    }
  };
  await connect().catch(() => {});
  return async () => {
    stopped = true;
    clearTimeout(retry);
    await client?.end().catch(() => {});
  };
}

/** The database a server configuration names: the PostgreSQL server, or PGlite under the data dir. */
export async function openConfiguredDatabase(config: { databaseUrl?: string | undefined; dataDir: string; dbTimeouts?: Partial<PgTimeouts> }): Promise<DbHandle> {
  return createDb(config.databaseUrl ? { databaseUrl: config.databaseUrl, timeouts: config.dbTimeouts } : { dataDir: path.join(config.dataDir, 'pgdata') });
}

/** Applies pending migrations without the deadlines meant for requests (a migration may rightly run long). */
export async function migrateDatabase(handle: DbHandle): Promise<string[]> {
  if (await isUpToDate(handle.db)) return [];
  return handle.withoutTimeouts(migrateToLatest);
}

/** Applies pending migrations; a no-op when none are pending. Returns the names it applied. */
export async function migrateToLatest(db: Db): Promise<string[]> {
  if (await isUpToDate(db)) return [];
  const migrator = new Migrator({ db, provider: migrationProvider, migrationTableName: 'hostplane_migrations', migrationLockTableName: 'hostplane_migrations_lock' });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

// Kysely's migrator introspects the catalog on every run, which is a good part of an embedded start;
// one indexed read tells whether there is anything to do at all.
async function isUpToDate(db: Db): Promise<boolean> {
  const names = Object.keys(await migrationProvider.getMigrations()).sort();
  try {
    const { rows } = await sql<{ name: string }>`select name from hostplane_migrations order by name desc limit 1`.execute(db);
    return rows[0]?.name === names[names.length - 1];
  } catch {
    return false;
  }
}

/** Resolves when the database answers `select 1` within `timeoutMs`; rejects otherwise. */
export async function pingDb(db: Db, timeoutMs = 1000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = sql`select 1`.execute(db);
  late.catch(() => {});
  try {
    await Promise.race([
      late,
      new Promise((_resolve, reject) => {
        timer = setTimeout(() => reject(new DatabaseUnavailableError(`no answer from the database within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
