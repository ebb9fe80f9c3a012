import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, Migrator, PostgresDialect, sql, type Transaction } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import { migrationProvider } from './migrations/index.js';
import { lockDataDir } from './data-dir-lock.js';
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
  close(): Promise<void>;
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;
// ids are bigint columns, counts are int8: both fit a JS number for any realistic size.
const toNumber = (v: string) => Number(v);

export async function createDb(config: DbConfig): Promise<DbHandle> {
  if (config.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: config.databaseUrl,
      max: config.poolSize ?? 10,
      types: {
        getTypeParser: ((oid: number, format?: string) =>
          oid === INT8_OID || oid === NUMERIC_OID ? toNumber : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
      },
    });
    // An idle client losing its server must not crash the process; the next query reports it.
    pool.on('error', () => {});
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: preparedStatementPool(pool) }) });
    const databaseUrl = config.databaseUrl;
    return { db, kind: 'postgres', listen: (channel, onNotify) => listenOnServer(databaseUrl, channel, onNotify), close: () => db.destroy() };
  }

  let unlock = () => {};
  if (config.dataDir) {
    fs.mkdirSync(config.dataDir, { recursive: true });
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

/**
 * LISTEN needs a connection of its own, outside the pool (a pooled one would be handed to queries).
 * It reconnects after a second when the server goes away, for as long as nobody stopped it.
 */
async function listenOnServer(databaseUrl: string, channel: string, onNotify: () => void): Promise<() => Promise<void>> {
  if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`bad channel name ${channel}`);
  let stopped = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: databaseUrl });
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
  await connect();
  return async () => {
    stopped = true;
    clearTimeout(retry);
    await client?.end().catch(() => {});
  };
}

/** The database a server configuration names: the PostgreSQL server, or PGlite under the data dir. */
export async function openConfiguredDatabase(config: { databaseUrl?: string | undefined; dataDir: string }): Promise<DbHandle> {
  return createDb(config.databaseUrl ? { databaseUrl: config.databaseUrl } : { dataDir: path.join(config.dataDir, 'pgdata') });
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

export async function pingDb(db: Db): Promise<void> {
  await sql`select 1`.execute(db);
}
