import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import type { Config } from '../config/config.js';
import { openConfiguredDatabase, type DbHandle } from '../db/database.js';
import { migrationProvider } from '../db/migrations/index.js';
import { VERSION } from '../version.js';
import { checkPermissions, checkRelay } from './doctor-files.js';

/*
 * `hostplane doctor`: checks an installation from the machine it runs on, server up or not. It opens the
 * database itself (like `db migrate`) rather than asking the server, because "is the database there, is
 * its schema current, are the key files private" must be answerable when the server does not start.
 * It reads and never writes: no migration, no bootstrap, no database created where there is none.
 */

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  check: string;
  status: CheckStatus;
  message: string;
}

export interface DoctorReport {
  version: string;
  /** No check failed (warnings allowed). */
  ok: boolean;
  checks: CheckResult[];
}

export interface DoctorOptions {
  /** The config file the settings came from, if any: its mode is checked too. */
  configFile?: string | undefined;
  /** HOSTPLANE_TLS_KEY as given (Config keeps the key, not its path). */
  tlsKeyFile?: string | undefined;
  /** This machine's clock (tests shift it). */
  now?: () => number;
}

/** Above this the clock check warns: sessions, one-minute login tokens and job schedules compare the two clocks. */
export const CLOCK_WARN_MS = 5_000;
/** Above this it fails: a one-minute login token could be expired when issued. */
export const CLOCK_FAIL_MS = 60_000;
/** Oldest PostgreSQL server the SQL is written for. */
const MIN_SERVER_VERSION = 150000;
/** Doctor waits at most this long for a PostgreSQL connection, whatever the server's own deadline. */
const DOCTOR_CONNECT_MS = 5_000;

export function reportOf(checks: CheckResult[]): DoctorReport {
  return { version: VERSION, ok: !checks.some((c) => c.status === 'fail'), checks };
}

/** A DATABASE_URL fit to print: no password. */
export function safeDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'DATABASE_URL';
  }
}

export async function runDoctor(config: Config, options: DoctorOptions = {}): Promise<DoctorReport> {
  const now = options.now ?? Date.now;
  const checks: CheckResult[] = [];
  const opened = await openForDoctor(config);
  checks.push(opened.result);
  if (opened.handle) {
    try {
      checks.push(await checkMigrations(opened.handle));
      checks.push(await checkClock(opened.handle, now));
      checks.push(await checkNodes(opened.handle, config.nodeUnhealthySeconds));
    } finally {
      await opened.handle.close();
    }
  } else {
    const why = opened.skipReason ?? 'the database could not be opened';
    checks.push({ check: 'migrations', status: 'skip', message: why }, { check: 'clock', status: 'skip', message: why }, { check: 'nodes', status: 'skip', message: why });
  }
  checks.push(checkRelay(config));
  checks.push(...checkPermissions(config, { configFile: options.configFile, tlsKeyFile: options.tlsKeyFile }));
  return reportOf(checks);
}

async function openForDoctor(config: Config): Promise<{ result: CheckResult; handle?: DbHandle; skipReason?: string }> {
  if (config.databaseUrl) {
    const where = safeDatabaseUrl(config.databaseUrl);
    let handle: DbHandle | undefined;
    try {
      const connectMs = Math.min(config.dbTimeouts.connectMs || DOCTOR_CONNECT_MS, DOCTOR_CONNECT_MS);
      handle = await openConfiguredDatabase({ ...config, dbTimeouts: { ...config.dbTimeouts, connectMs, queryMs: connectMs * 2 } });
      const { rows } = await sql<{ version: string; num: number }>`select current_setting('server_version') as version, current_setting('server_version_num')::int as num`.execute(handle.db);
      const v = rows[0]!;
      if (v.num < MIN_SERVER_VERSION) return { result: { check: 'database', status: 'warn', message: `PostgreSQL ${v.version} at ${where}: Hostplane is written for 15 and newer` }, handle };
      return { result: { check: 'database', status: 'ok', message: `PostgreSQL ${v.version} at ${where}` }, handle };
    } catch (e) {
      await handle?.close().catch(() => {});
      return { result: { check: 'database', status: 'fail', message: `cannot use PostgreSQL at ${where}: ${describeError(e)}` } };
    }
  }

  const pgdata = path.join(config.dataDir, 'pgdata');
  if (!fs.existsSync(path.join(pgdata, 'PG_VERSION'))) {
    const why = 'no embedded database yet';
    return { result: { check: 'database', status: 'ok', message: `embedded (PGlite): no database in ${pgdata} yet; the first \`hostplane serve\` creates it` }, skipReason: why };
  }
  try {
    const handle = await openConfiguredDatabase(config);
    const { rows } = await sql<{ version: string }>`select current_setting('server_version') as version`.execute(handle.db);
    return { result: { check: 'database', status: 'ok', message: `embedded (PGlite, PostgreSQL ${rows[0]!.version}) in ${pgdata}` }, handle };
  } catch (e) {
    const err = e as { code?: unknown; pid?: number };
    if (err.code === 'HP_DATA_DIR_IN_USE') {
      // One process at a time may open PGlite: a running server is the normal case, not a failure.
      const why = `process ${err.pid} holds the embedded database; stop it to check this too`;
      return { result: { check: 'database', status: 'ok', message: `embedded (PGlite) in ${pgdata}: in use by process ${err.pid}, a running server (it applied pending migrations when it started)` }, skipReason: why };
    }
    return { result: { check: 'database', status: 'fail', message: `cannot open the embedded database in ${pgdata}: ${describeError(e)}` } };
  }
}

function describeError(e: unknown): string {
  const err = e as { code?: string; message?: string };
  const message = err.message || err.code || String(e);
  return err.code && !message.includes(err.code) ? `${message} (${err.code})` : message;
}

export async function checkMigrations(handle: DbHandle): Promise<CheckResult> {
  const known = Object.keys(await migrationProvider.getMigrations()).sort();
  let applied: string[];
  try {
    const { rows } = await sql<{ name: string }>`select name from hostplane_migrations order by name`.execute(handle.db);
    applied = rows.map((r) => r.name);
  } catch {
    // No migration table: an empty database.
    applied = [];
  }
  const unknown = applied.filter((n) => !known.includes(n));
  if (unknown.length) return { check: 'migrations', status: 'fail', message: `the database has migrations this Hostplane ${VERSION} does not know (${unknown.join(', ')}): it was migrated by a newer version` };
  const pending = known.filter((n) => !applied.includes(n));
  if (pending.length) return { check: 'migrations', status: 'warn', message: `${pending.length} of ${known.length} pending (${pending.join(', ')}): \`hostplane db migrate\` or the next start applies them` };
  return { check: 'migrations', status: 'ok', message: `all ${known.length} applied (latest ${known[known.length - 1]})` };
}

/** The database's clock against this machine's, halfway through the round trip. */
export async function checkClock(handle: DbHandle, now: () => number): Promise<CheckResult> {
  const before = now();
  const { rows } = await sql<{ ms: number }>`select (extract(epoch from clock_timestamp()) * 1000)::float8 as ms`.execute(handle.db);
  const after = now();
  const skew = Math.round(Number(rows[0]!.ms) - (before + after) / 2);
  const where = handle.kind === 'pglite' ? 'the embedded database' : 'the database server';
  const text = `${where}'s clock is ${Math.abs(skew)} ms ${skew >= 0 ? 'ahead of' : 'behind'} this machine's`;
  if (Math.abs(skew) > CLOCK_FAIL_MS) return { check: 'clock', status: 'fail', message: `${text}: login tokens and sessions will misbehave; synchronise both clocks (NTP)` };
  if (Math.abs(skew) > CLOCK_WARN_MS) return { check: 'clock', status: 'warn', message: `${text}: synchronise both clocks (NTP)` };
  return { check: 'clock', status: 'ok', message: text };
}

/**
 * Hosting nodes by health, as the admin API derives it (draining, else a heartbeat within the
 * configured time): a registered node that is silent warns, since its sites are no longer kept up to
 * date. None registered is not a problem (sites are simply not placed), so it is skipped.
 */
export async function checkNodes(handle: DbHandle, unhealthySeconds = 30): Promise<CheckResult> {
  const { rows } = await sql<{ present: boolean }>`select to_regclass('nodes') is not null as present`.execute(handle.db);
  if (!rows[0]?.present) return { check: 'nodes', status: 'skip', message: 'no nodes registered (this database keeps no node registry yet: run the migrations)' };
  const { rows: count } = await sql<{ n: number; draining: number; healthy: number }>`
    select count(*)::int as n, count(*) filter (where state = 'draining')::int as draining,
      count(*) filter (where state <> 'draining' and last_heartbeat_at > now() - make_interval(secs => ${unhealthySeconds}))::int as healthy
    from nodes`.execute(handle.db);
  const { n, draining, healthy } = count[0]!;
  if (n === 0) return { check: 'nodes', status: 'skip', message: 'no nodes registered: sites are not placed on any node' };
  const unhealthy = n - draining - healthy;
  const message = `${n} registered: ${healthy} healthy, ${unhealthy} unhealthy, ${draining} draining`;
  return unhealthy > 0 ? { check: 'nodes', status: 'warn', message: `${message} (no heartbeat for ${unhealthySeconds} s: see hostplane node list)` } : { check: 'nodes', status: 'ok', message };
}
