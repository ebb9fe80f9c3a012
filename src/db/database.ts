import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, Migrator, PostgresDialect, sql, type Transaction } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import { migrationProvider } from './migrations/index.js';
import { lockDataDir } from './data-dir-lock.js';
import { copyTemplateTo } from './pglite-template.js';
import { DatabaseUnavailableError } from '../errors/db-unavailable.js';
import { connectionSettings, DEFAULT_PG_TIMEOUTS, PgGuard, type PgTimeouts } from './pg-guard.js';
import { parsePgHosts, PrimaryLocator, primaryClientClass } from './pg-hosts.js';
import { preparedStatementPool } from './prepared-pool.js';
import { preparedPglite } from './pglite-prepared.js';
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
  /** Fills an empty data dir before PGlite opens it (see pglite-template.ts); false: PGlite runs initdb. */
  fillNewDataDir?: ((dataDir: string) => Promise<boolean>) | undefined;
  poolSize?: number;
  /** PostgreSQL deadlines; unset ones take DEFAULT_PG_TIMEOUTS. */
  timeouts?: Partial<PgTimeouts> | undefined;
}

export interface DbHandle {
  db: Db;
  kind: 'pglite' | 'postgres';
  pglite?: PGlite;
  /**
   * Calls `onNotify` for every NOTIFY on `channel`, with its payload (and once without one after a
   * lost connection comes back, as notifications may have been missed); `onState` hears when
   * listening starts and when the connection is lost. Returns the way to stop listening.
   */
  listen(channel: string, onNotify: (payload?: string) => void, onState?: (listening: boolean) => void): Promise<() => Promise<void>>;
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

/**
 * PostgreSQL settings of the embedded database, given on its command line (the data dir's own
 * postgresql.conf stays as initdb wrote it). PGlite zeroes all of PostgreSQL's shared memory when it
 * starts, and that memory stays resident: with initdb's 128 MB of shared_buffers that was about
 * 100 MB of the idle server and 300 ms of every start. 16 MB holds the working set of an embedded
 * installation (its whole database is tens of MB, and a buffer miss is a read from the OS's page
 * cache); wal_buffers follows shared_buffers (1/32 of it).
 */
export const PGLITE_SETTINGS = ['shared_buffers=16MB'];

export async function createDb(config: DbConfig): Promise<DbHandle> {
  if (config.databaseUrl) {
    const databaseUrl = config.databaseUrl;
    const timeouts: PgTimeouts = { ...DEFAULT_PG_TIMEOUTS, ...config.timeouts };
    const server = pgServer(databaseUrl, timeouts);
    const db = postgresKysely(server, timeouts, config.poolSize ?? 10);
    return {
      db,
      kind: 'postgres',
      listen: (channel, onNotify, onState) => listenOnServer(server, timeouts, channel, onNotify, onState),
      withoutTimeouts: async (fn) => {
        const unbounded = postgresKysely(server, { ...timeouts, statementMs: 0, lockMs: 0, idleInTransactionMs: 0, queryMs: 0 }, 1);
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
    // Only once the lock is held may the data dir be judged new (another process could be filling it).
    if (config.dataDir && config.fillNewDataDir && !config.loadDataDir && fs.readdirSync(config.dataDir).length === 0) await config.fillNewDataDir(config.dataDir);
    pglite = await PGlite.create({
      ...(config.dataDir ? { dataDir: config.dataDir } : {}),
      ...(config.loadDataDir ? { loadDataDir: config.loadDataDir } : {}),
      parsers: { [INT8_OID]: toNumber, [NUMERIC_OID]: toNumber },
      startParams: [...PGlite.defaultStartParams, ...PGLITE_SETTINGS.flatMap((s) => ['-c', s])],
    });
  } catch (e) {
    unlock();
    throw e;
  }
  // The dialect calls only `query` and `close` of what it is given.
  const db = new Kysely<Database>({ dialect: new PGliteDialect(preparedPglite(pglite) as unknown as PGlite) });
  return {
    db,
    kind: 'pglite',
    pglite,
    withoutTimeouts: (fn) => fn(db),
    listen: async (channel, onNotify, onState) => {
      const unlisten = await pglite.listen(channel, (payload) => onNotify(payload));
      onState?.(true);
      return async () => {
        onState?.(false);
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
 * Where connections go. One server: its URL as given. Several (`host1:port1,host2:port2`, ADR 25):
 * each connection goes to the one that accepts writes now, found again after a failover.
 */
interface PgServer {
  url: string;
  Client: typeof pg.Client;
  /** The guard's liveness probe: the URL, or a fresh search for a primary. */
  probe: string | (() => Promise<void>);
}

function pgServer(databaseUrl: string, timeouts: PgTimeouts): PgServer {
  const hosts = parsePgHosts(databaseUrl);
  if (!hosts.readWrite) return { url: databaseUrl, Client: pg.Client, probe: databaseUrl };
  const locator = new PrimaryLocator(hosts, timeouts.probeMs || 1000);
  return { url: hosts.urls[0]!, Client: primaryClientClass(locator), probe: () => locator.probe() };
}

function postgresKysely(server: PgServer, timeouts: PgTimeouts, max: number): Db {
  const pool = new pg.Pool({
    connectionString: server.url,
    Client: server.Client,
    max,
    ...connectionSettings(timeouts),
    types: {
      getTypeParser: ((oid: number, format?: string) =>
        oid === INT8_OID || oid === NUMERIC_OID ? toNumber : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', () => {});
  const guard = new PgGuard(server.probe, timeouts);
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: preparedStatementPool(pool, guard, timeouts.queryMs) }) });
}

/**
 * LISTEN needs a connection of its own, outside the pool (a pooled one would be handed to queries).
 * It reconnects after a second when the server goes away, for as long as nobody stopped it; a server
 * away when listening starts is retried the same way, so the caller always gets its way to stop.
 */
async function listenOnServer(server: PgServer, timeouts: PgTimeouts, channel: string, onNotify: (payload?: string) => void, onState?: (listening: boolean) => void): Promise<() => Promise<void>> {
  if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`bad channel name ${channel}`);
  let stopped = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  const connect = async (): Promise<void> => {
    // A frozen server would hold the connect (and the LISTEN) forever without these deadlines.
    const c = new server.Client({ connectionString: server.url, ...connectionSettings(timeouts), ...(timeouts.probeMs ? { query_timeout: Math.max(timeouts.probeMs, timeouts.connectMs) } : {}) });
    client = c;
    let lost = false;
    const onLost = () => {
      if (lost) return;
      lost = true;
      onState?.(false);
      void c.end().catch(() => {});
      if (!stopped) retry = setTimeout(() => void connect().then(() => onNotify(), () => {}), 1000);
    };
    c.on('error', onLost);
    c.on('end', onLost);
    c.on('notification', (msg) => {
      if (msg.channel === channel) onNotify(msg.payload);
    });
    try {
      await c.connect();
      await c.query(`listen ${channel}`);
      if (!lost) onState?.(true);
    } catch (err) {
      onLost();
      throw err;
    }
  };
  await connect().catch(() => {});
  return async () => {
    stopped = true;
    onState?.(false);
    clearTimeout(retry);
    await client?.end().catch(() => {});
  };
}

/** Where the embedded database lives under a server's data dir. */
export function embeddedDataDir(dataDir: string): string {
  return path.join(dataDir, 'pgdata');
}

/**
 * The database a server configuration names: the PostgreSQL server, or PGlite under the data dir.
 * `fromTemplate`: a new embedded data dir starts from the build's migrated template when there is one
 * (serve and worker; `db migrate` keeps reporting the migrations it applies to a new data dir).
 */
export async function openConfiguredDatabase(
  config: { databaseUrl?: string | undefined; dataDir: string; dbTimeouts?: Partial<PgTimeouts> },
  options: { fromTemplate?: boolean } = {},
): Promise<DbHandle> {
  if (config.databaseUrl) return createDb({ databaseUrl: config.databaseUrl, timeouts: config.dbTimeouts });
  return createDb({ dataDir: embeddedDataDir(config.dataDir), ...(options.fromTemplate ? { fillNewDataDir: (dir: string) => copyTemplateTo(dir) } : {}) });
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
// one indexed read tells whether there is anything to do at all. Every migration this code knows
// being applied is enough: a database a newer version has migrated further also lists migrations
// this code does not know (which Kysely's migrator would refuse as "corrupted"), and a node of the
// previous version restarted during a rolling upgrade must still start (docs/adr/0026).
async function isUpToDate(db: Db): Promise<boolean> {
  const names = Object.keys(await migrationProvider.getMigrations());
  try {
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from hostplane_migrations where name = any(${names}::text[])`.execute(db);
    return Number(rows[0]?.n) === names.length;
  } catch {
    return false;
  }
}

/** Whether the database holds no table, view or sequence of its own (a restore's target must not). */
export async function holdsNoRelations(db: Db): Promise<boolean> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from pg_class c join pg_namespace s on s.oid = c.relnamespace
    where s.nspname not in ('pg_catalog', 'information_schema') and s.nspname not like 'pg\_toast%' and s.nspname not like 'pg\_temp%'`.execute(db);
  return Number(rows[0]?.n ?? 0) === 0;
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
