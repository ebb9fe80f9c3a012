import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { sql } from 'kysely';
import { createDb, type DbHandle } from './database.js';
import { lockDataDir } from './data-dir-lock.js';
import { untar } from './pglite-template.js';

/*
 * The two backup formats (docs/adr/0026):
 *   embedded (PGlite): the gzipped ustar archive of the data dir that PGlite's dumpDataDir writes,
 *     taken after a checkpoint while the one database connection is held, so no transaction is open;
 *   PostgreSQL: pg_dump's custom format, restored by pg_restore.
 * A file says which it is by its first bytes; a restore refuses the other kind with a clear message.
 */

/** A backup or restore that cannot be done as asked; `kind` is the CLI's failure kind (its exit code). */
export class BackupError extends Error {
  readonly code = 'HP_BACKUP';
  constructor(
    readonly kind: 'validation_failed' | 'conflict' | 'not_found' | 'internal',
    message: string,
  ) {
    super(message);
  }
}

export type BackupFormat = 'pglite' | 'pg_dump';

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const PGDMP_MAGIC = Buffer.from('PGDMP');

/** Which kind of backup `file` holds, judged by its first bytes. */
export function backupFormatOf(file: string): BackupFormat {
  let head: Buffer;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      head = Buffer.alloc(8);
      head = head.subarray(0, fs.readSync(fd, head, 0, 8, 0));
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    throw ioError(e, `cannot read the backup ${file}`);
  }
  if (head.subarray(0, 5).equals(PGDMP_MAGIC)) return 'pg_dump';
  if (head.subarray(0, 2).equals(GZIP_MAGIC)) return 'pglite';
  throw new BackupError('validation_failed', `${file} is not a Hostplane backup (neither a pg_dump custom-format file nor an embedded database archive)`);
}

function ioError(e: unknown, what: string, writing = false): BackupError {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ENOENT') return writing ? new BackupError('validation_failed', `${what}: its directory does not exist`) : new BackupError('not_found', `${what}: it does not exist`);
  if (err.code === 'ENOTDIR') return new BackupError('validation_failed', `${what}: a part of its path is not a directory`);
  if (err.code === 'EACCES' || err.code === 'EPERM' || err.code === 'EROFS') return new BackupError('validation_failed', `${what}: permission denied`);
  if (err.code === 'EISDIR') return new BackupError('validation_failed', `${what}: it is a directory`);
  return new BackupError('internal', `${what}: ${err.message}`);
}

/**
 * Where a backup is written before it is renamed over `file`: next to it (one file system, so the
 * rename is atomic), created owner-only, since a backup holds every row (password hashes, sealed secrets).
 */
function stagingFileFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.partial`);
}

function openStaging(file: string): string {
  const staging = stagingFileFor(file);
  try {
    fs.rmSync(staging, { force: true });
    fs.closeSync(fs.openSync(staging, 'wx', 0o600));
  } catch (e) {
    throw ioError(e, `cannot write the backup ${file}`, true);
  }
  return staging;
}

function commitStaging(staging: string, file: string): void {
  const fd = fs.openSync(staging, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(staging, file);
}

/** Writes `data` to `file` (mode 0600), whole or not at all. */
export function writeBackupFile(file: string, data: Uint8Array): void {
  const staging = openStaging(file);
  try {
    fs.writeFileSync(staging, data);
    commitStaging(staging, file);
  } catch (e) {
    fs.rmSync(staging, { force: true });
    throw e instanceof BackupError ? e : ioError(e, `cannot write the backup ${file}`, true);
  }
}

/**
 * A consistent copy of an open embedded database: the connection is held (PGlite has one, and Kysely
 * hands it to one caller at a time), so no transaction is half-way; a checkpoint first leaves the copy
 * little WAL to replay when it starts.
 */
export async function dumpEmbedded(handle: DbHandle): Promise<Buffer> {
  if (!handle.pglite) throw new BackupError('validation_failed', 'not an embedded database');
  const pglite = handle.pglite;
  return handle.db.connection().execute(async (conn) => {
    await sql`checkpoint`.execute(conn);
    const dump = await pglite.dumpDataDir('gzip');
    return Buffer.from(await dump.arrayBuffer());
  });
}

/** `hostplane db backup` of an embedded data dir no server holds: opened here, under its lock. */
export async function backupEmbeddedDataDir(pgdata: string, file: string): Promise<void> {
  if (!fs.existsSync(path.join(pgdata, 'PG_VERSION'))) throw new BackupError('not_found', `there is no embedded database at ${pgdata} to back up`);
  const handle = await createDb({ dataDir: pgdata });
  try {
    writeBackupFile(file, await dumpEmbedded(handle));
  } finally {
    await handle.close();
  }
}

/** A data dir counts as empty when it does not exist or holds no file at all. */
function isEmptyDir(dir: string): boolean {
  try {
    return fs.readdirSync(dir).length === 0;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw e;
  }
}

/**
 * Restores an embedded backup into `pgdata` (held under its lock throughout): unpacked into a sibling
 * directory, opened there and handed to `prepare` (migrations and the data-plane rebuild), and only then
 * renamed into place, so a bad archive or a failed step leaves the target as it was. A target holding a
 * database is refused unless `force`; the database it held is removed once the restored one is in place.
 */
export async function restoreEmbedded(pgdata: string, file: string, force: boolean, prepare: (handle: DbHandle) => Promise<void>): Promise<void> {
  if (backupFormatOf(file) !== 'pglite') {
    throw new BackupError('validation_failed', `${file} is a PostgreSQL (pg_dump) backup: restore it with DATABASE_URL set to an empty PostgreSQL database`);
  }
  let tar: Buffer;
  try {
    tar = gunzipSync(fs.readFileSync(file));
  } catch (e) {
    throw new BackupError('validation_failed', `${file} is not a readable embedded database archive (${(e as Error).message})`);
  }
  fs.mkdirSync(path.dirname(pgdata), { recursive: true, mode: 0o700 });
  const unlock = lockDataDir(pgdata);
  const staging = `${pgdata}.restore-tmp`;
  const old = `${pgdata}.before-restore`;
  try {
    if (!force && !isEmptyDir(pgdata)) {
      throw new BackupError('conflict', `${pgdata} already holds a database; restore into a new data dir, or pass --force to replace it`);
    }
    fs.rmSync(staging, { recursive: true, force: true });
    fs.mkdirSync(staging, { mode: 0o700 });
    try {
      try {
        untar(tar, staging);
      } catch (e) {
        throw new BackupError('validation_failed', `${file} is not a readable embedded database archive (${(e as Error).message})`);
      }
      if (!fs.existsSync(path.join(staging, 'PG_VERSION'))) throw new BackupError('validation_failed', `${file} holds no embedded database (no PG_VERSION)`);
      let handle: DbHandle;
      try {
        handle = await createDb({ dataDir: staging });
      } catch (e) {
        throw new BackupError('validation_failed', `the database in ${file} does not start (${(e as Error).message})`);
      }
      try {
        await prepare(handle);
      } finally {
        await handle.close();
      }
      fs.rmSync(old, { recursive: true, force: true });
      if (fs.existsSync(pgdata)) fs.renameSync(pgdata, old);
      fs.renameSync(staging, pgdata);
      fs.rmSync(old, { recursive: true, force: true });
    } catch (e) {
      fs.rmSync(staging, { recursive: true, force: true });
      throw e;
    }
  } finally {
    unlock();
  }
}

/**
 * libpq reads the password from PGPASSWORD rather than a URL on the command line, where every user of
 * the machine could read it in the process list.
 */
function libpqTarget(databaseUrl: string): { dbname: string; env: NodeJS.ProcessEnv } {
  const url = new URL(databaseUrl);
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (url.password) env.PGPASSWORD = decodeURIComponent(url.password);
  url.password = '';
  return { dbname: url.toString(), env };
}

interface Run {
  code: number | null;
  stderr: string;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    if (stderr.length < 8192) stderr += d;
  });
  return new Promise<Run>((resolve) => {
    child.on('error', (e) => resolve({ code: null, stderr: (e as NodeJS.ErrnoException).code === 'ENOENT' ? `${command} is not installed (Debian: postgresql-client)` : e.message }));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

const firstLines = (text: string) => text.trim().split('\n').slice(0, 4).join('; ');

/** `hostplane db backup` against PostgreSQL: pg_dump's custom format, one consistent snapshot. */
export async function backupPostgres(databaseUrl: string, file: string): Promise<void> {
  const staging = openStaging(file);
  try {
    const { dbname, env } = libpqTarget(databaseUrl);
    const r = await run('pg_dump', ['--format=custom', '--no-password', `--file=${staging}`, `--dbname=${dbname}`], env);
    if (r.code !== 0) throw new BackupError('internal', `pg_dump failed: ${firstLines(r.stderr)}`);
    fs.chmodSync(staging, 0o600);
    commitStaging(staging, file);
  } catch (e) {
    fs.rmSync(staging, { force: true });
    throw e instanceof BackupError ? e : ioError(e, `cannot write the backup ${file}`, true);
  }
}

/**
 * Restores a pg_dump backup into the database of `databaseUrl` in one transaction. pg_restore first
 * turns the whole archive into SQL in a private temp dir (a truncated or damaged archive fails there,
 * before the database is touched); psql then runs it with ON_ERROR_STOP in a single transaction, so a
 * failure changes nothing. Objects get the restoring role as owner (roles of the source may not exist
 * here). A database holding tables is refused unless `force`, which empties the public schema in the
 * same transaction, before the restore.
 */
export async function restorePostgres(databaseUrl: string, file: string, force: boolean, isEmpty: () => Promise<boolean>): Promise<void> {
  if (backupFormatOf(file) !== 'pg_dump') {
    throw new BackupError('validation_failed', `${file} is an embedded database backup: restore it without DATABASE_URL, into the embedded data dir`);
  }
  const { dbname, env } = libpqTarget(databaseUrl);
  if (!force && !(await isEmpty())) {
    throw new BackupError('conflict', 'the target database already holds tables; restore into an empty database, or pass --force to replace its contents');
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostplane-restore-'));
  try {
    const script = path.join(dir, 'restore.sql');
    const made = await run('pg_restore', ['--no-owner', '--no-acl', `--file=${script}`, file], env);
    if (made.code !== 0) throw new BackupError('validation_failed', `${file} is not a readable pg_dump archive: ${firstLines(made.stderr)} (nothing was restored)`);
    const prelude = force ? ['--command=drop schema if exists public cascade; create schema public;'] : [];
    const applied = await run('psql', ['--no-psqlrc', '--quiet', '--no-password', '--set=ON_ERROR_STOP=1', '--single-transaction', ...prelude, `--file=${script}`, `--dbname=${dbname}`], { ...env, PGOPTIONS: '--client-min-messages=warning' });
    if (applied.code !== 0) throw new BackupError('internal', `the restore failed and was rolled back: ${firstLines(applied.stderr)}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
