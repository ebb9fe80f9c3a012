import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { DatabaseObject, type DatabaseSpec, type ReportedInstanceUser, type WireObject } from '../../../core/nodes/agent-wire.schema.js';
import type { AgentLog } from '../../agent-log.js';
import type { ObjectResultT, RoleDriver, UsageSampleT } from '../../role-driver.js';
import { applyInstanceFiles } from './pg-instance-files.sql.js';
import { applyInstanceUsers, readInstanceReport, readInstanceUserList } from './pg-instance-users.sql.js';
import { checkAdminUrl, connect, libpqEnv, pgMessage, REASSIGN_TO_OWNER, saasClientParams, withClient, WRITE_CONFIG_PARAMS } from './pg-database.sql.js';

export interface PgDatabaseDriverOptions {
  /** The node's PostgreSQL admin connection (a role with CREATEDB and CREATEROLE, or a superuser). */
  pgUrl: string;
  /** The agent's data dir; dumps of dropped databases go to its `archives/`. */
  dataDir: string;
  log: AgentLog;
  pgDumpBin?: string;
  /** Fetches a staged file's content from the control plane (docs/adr/0027, addendum); absent: files wait there. */
  fetchInstanceFile?: ((id: number) => Promise<Buffer>) | undefined;
  /** How CREATE DATABASE copies a template (`--pg-copy-strategy`, docs/adr/0029); default `auto`. */
  copyStrategy?: CopyStrategy | undefined;
  /** `auto` copies templates of at least this many bytes with FILE_COPY (default FILE_COPY_FROM_BYTES). */
  fileCopyFromBytes?: number;
}

export const COPY_STRATEGIES = ['auto', 'file_copy', 'wal_log'] as const;
export type CopyStrategy = (typeof COPY_STRATEGIES)[number];

/**
 * From this template size `auto` copies with FILE_COPY. Measured on a two-core node (docs/adr/0029):
 * an 8 MB template copies faster with WAL_LOG, a 20 MB one as fast either way, a 50 MB one twice as
 * fast with FILE_COPY.
 */
export const FILE_COPY_FROM_BYTES = 32 * 1024 * 1024;

/** Names the control plane gives instance databases; such a database is never used as a template. */
const INSTANCE_DATABASE = /^saas_[0-9a-f]{32}$/;

function parseDatabaseObject(raw: unknown) {
  const state = (raw as { state?: unknown } | null)?.state;
  const option = DatabaseObject.options.find((o) => o.shape.state.value === state);
  if (!option) return { success: false as const, error: { issues: [{ path: ['state'], message: 'must be present or absent' }] } };
  return option.safeParse(raw);
}

function stamp(d = new Date()): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/**
 * Objects of one batch applied at once, each on its own admin session: a new database's copy (the
 * server's work) runs while the previous one's owner, grants and settings are written (round trips
 * and a session inside it). Databases are independent, and copies of one template may run together
 * (CREATE DATABASE holds a share lock on its template).
 */
const OBJECTS_IN_FLIGHT = 2;

/**
 * The db role's SaaS instance databases on a PostgreSQL server (docs/adr/0021): each `database` object
 * is a database copied from its template, an owner role logging in with the verifier it was given, a
 * connection limit, and Odoo's saas_client limits in its own ir_config_parameter. Suspended: no new
 * connections (the owner is NOLOGIN) and open sessions are ended. Absent: pg_dump to the archives,
 * then DROP DATABASE and DROP ROLE. A batch's objects are applied OBJECTS_IN_FLIGHT at a time; one
 * failing never stops the others.
 */
export class PgDatabaseDriver implements RoleDriver {
  readonly role = 'db' as const;
  /** Its key in the heartbeat's drivers: the db role has a driver per kind. */
  readonly name = 'database';
  readonly kinds = ['database'] as const;
  /** The databases this driver made true, by object id: what observe() measures. */
  private readonly held = new Map<string, DatabaseSpec>();
  private readonly archives: string;
  private queue: Promise<unknown> = Promise.resolve();
  /** The last turn queued on each database name (see `turn`). */
  private readonly turns = new Map<string, Promise<void>>();
  /** Whether the server takes CREATE DATABASE's STRATEGY (PostgreSQL 15 on; before it, every copy is a file copy). */
  private strategies = false;

  constructor(private readonly o: PgDatabaseDriverOptions) {
    checkAdminUrl(o.pgUrl);
    if (o.copyStrategy !== undefined && !COPY_STRATEGIES.includes(o.copyStrategy)) throw new Error(`the copy strategy must be one of ${COPY_STRATEGIES.join(', ')}`);
    this.archives = path.join(o.dataDir, 'archives');
  }

  async start(): Promise<void> {
    await fs.promises.mkdir(this.archives, { recursive: true, mode: 0o700 });
    const role = await withClient(this.o.pgUrl, undefined, async (c) => (await c.query<{ rolsuper: boolean; rolcreatedb: boolean; rolcreaterole: boolean; version: number }>("select rolsuper, rolcreatedb, rolcreaterole, current_setting('server_version_num')::int as version from pg_roles where rolname = current_user")).rows[0]);
    if (!role || (!role.rolsuper && !(role.rolcreatedb && role.rolcreaterole))) throw new Error('the PostgreSQL admin role needs CREATEDB and CREATEROLE (or to be a superuser)');
    this.strategies = role.version >= 150000;
  }

  /**
   * The STRATEGY clause for copies of `template`. FILE_COPY copies the files and makes the server
   * checkpoint before and after; WAL_LOG (PostgreSQL's default) writes every page to the WAL. `auto`
   * picks by the template's size; a size it may not read (no CONNECT on the template) leaves
   * PostgreSQL's default.
   */
  private async strategyClause(admin: pg.Client, template: string): Promise<string> {
    if (!this.strategies) return '';
    const chosen = this.o.copyStrategy ?? 'auto';
    if (chosen !== 'auto') return ` strategy ${chosen}`;
    try {
      const bytes = (await admin.query<{ bytes: string | null }>('select pg_database_size(datname)::text as bytes from pg_database where datname = $1', [template])).rows[0]?.bytes;
      if (bytes === undefined || bytes === null) return '';
      return Number(bytes) >= (this.o.fileCopyFromBytes ?? FILE_COPY_FROM_BYTES) ? ' strategy file_copy' : ' strategy wal_log';
    } catch {
      return '';
    }
  }

  async health(): Promise<{ ok: boolean; error?: string }> {
    try {
      await withClient(this.o.pgUrl, undefined, (c) => c.query('select 1'));
      return { ok: true };
    } catch (e) {
      return { ok: false, error: `PostgreSQL: ${(e as Error).message}` };
    }
  }

  async stop(): Promise<void> {
    await this.queue.catch(() => undefined);
    await Promise.all([...this.turns.values()]);
  }

  /** One batch at a time. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Runs `fn` when nothing else holds any of `names`, holding them meanwhile, first come first
   * served per name. An apply holds the one database it makes; a usage read holds what it reads, so
   * it never sees a database half made, and a walk over every database holds each only while it
   * reads it: creating instances is never held back for a whole walk. The turns are queued at once
   * (synchronously) for every name, so two holders of several names cannot wait on each other.
   */
  private async turn<T>(names: readonly string[], fn: () => Promise<T>): Promise<T> {
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const before = names.map((n) => {
      const prev = this.turns.get(n);
      this.turns.set(n, mine);
      return prev;
    });
    try {
      await Promise.all(before);
      return await fn();
    } finally {
      release();
      for (const n of names) if (this.turns.get(n) === mine) this.turns.delete(n);
    }
  }

  apply(objects: WireObject[]): Promise<ObjectResultT[]> {
    return this.serial(() => this.applyNow(objects));
  }

  private async applyNow(objects: WireObject[]): Promise<ObjectResultT[]> {
    const results: ObjectResultT[] = [];
    let next = 0;
    // Each lane has its own admin session and takes the batch's next object when it is done with one.
    const lane = async (): Promise<void> => {
      let admin: pg.Client | undefined;
      try {
        while (next < objects.length) {
          const raw = objects[next]!;
          const result: ObjectResultT = { kind: 'database', id: String(raw?.id ?? ''), version: Number(raw?.version ?? 0), ok: false };
          results[next++] = result;
          const parsed = parseDatabaseObject(raw);
          if (!parsed.success) {
            result.error = `invalid object: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`.slice(0, 2000);
            continue;
          }
          const o = parsed.data;
          const held: number[] = [];
          try {
            admin ??= await connect(this.o.pgUrl);
            const session = admin;
            const name = o.spec?.name;
            await this.turn(name ? [name] : [], async () => {
              if (o.state === 'present') await this.ensure(session, o.id, o.spec, held);
              else {
                await this.remove(session, o.spec);
                this.held.delete(o.id);
              }
            });
            result.ok = true;
          } catch (e) {
            result.error = pgMessage(e).slice(0, 2000);
            this.o.log.warn({ object: o.id, err: result.error }, 'database object failed');
            // A broken admin session is made again for the next object.
            if (admin && (e as { code?: string }).code === undefined) {
              await admin.end().catch(() => undefined);
              admin = undefined;
            }
          }
          // Named whether or not the rest applied: these are in the database and leave the control plane.
          if (held.length) result.files = held;
        }
      } finally {
        await admin?.end().catch(() => undefined);
      }
    };
    await Promise.all(Array.from({ length: Math.min(OBJECTS_IN_FLIGHT, objects.length) }, lane));
    return results;
  }

  /**
   * `held` receives the ids of the spec's files the database holds once this returns (or throws). The
   * database is measured from the moment its settings and users are in, whatever its files do.
   */
  private async ensure(admin: pg.Client, id: string, s: DatabaseSpec, held: number[]): Promise<void> {
    const db = admin.escapeIdentifier(s.name);
    const owner = admin.escapeIdentifier(s.owner);
    const login = s.status === 'active' ? 'login' : 'nologin';
    const password = s.ownerPassword === null ? 'null' : admin.escapeLiteral(s.ownerPassword);

    // Each step below is one round trip, and the settings after the copy commit together: a commit
    // is a WAL flush, which a busy server makes the slowest part of a statement this small.
    const found = (await admin.query<{ rolsuper: boolean | null; datallowconn: boolean | null }>('select (select rolsuper from pg_roles where rolname = $1) as rolsuper, (select datallowconn from pg_database where datname = $2) as datallowconn', [s.owner, s.name])).rows[0]!;
    if (found.rolsuper) throw new Error(`role ${s.owner} is a superuser: refusing to make it a database owner`);

    // CREATE DATABASE runs in no transaction block, so it comes first (owned by the admin for the
    // moment, as a copy of the template holds nothing of the client's yet).
    const created = found.datallowconn === null;
    if (created) {
      if (INSTANCE_DATABASE.test(s.template)) throw new Error(`template ${s.template} is an instance's database: refusing to copy it`);
      // The template's size is read at each copy (a round trip beside a copy of megabytes): a template rebuilt meanwhile is judged as it is now.
      const clause = await this.strategyClause(admin, s.template);
      await admin.query(`create database ${db} template ${admin.escapeIdentifier(s.template)}${clause} connection limit ${s.connectionLimit}`);
    }
    const allowConnections = created || found.datallowconn === true;
    // Several statements in one simple query run as one transaction: the role, its ownership and the
    // grants commit together. Only the owner (and the admin) may connect: PUBLIC's default CONNECT
    // would let every other instance's owner in. The writes inside need a connection; while suspended
    // the owner is already NOLOGIN, so opening the database for the admin's own session lets nobody else in.
    await admin.query(
      [
        `${found.rolsuper === null ? 'create' : 'alter'} role ${owner} ${login} password ${password}`,
        `alter database ${db} owner to ${owner}`,
        ...(created ? [] : [`alter database ${db} connection limit ${s.connectionLimit}`]),
        `revoke all on database ${db} from public`,
        `grant connect, temporary on database ${db} to ${owner}`,
        ...(allowConnections ? [] : [`alter database ${db} allow_connections true`]),
      ].join(';\n'),
    );
    try {
      await withClient(this.o.pgUrl, s.name, async (c) => {
        await c.query(
          [
            'begin',
            `select set_config('hostplane.owner', ${c.escapeLiteral(s.owner)}, true), set_config('hostplane.params', ${c.escapeLiteral(JSON.stringify(saasClientParams(s.limits, s.status === 'suspended')))}, true)`,
            REASSIGN_TO_OWNER,
            WRITE_CONFIG_PARAMS,
          ].join(';\n'),
        );
        // A template without res_users keeps its users in the control plane (the report says so).
        // A failure leaves the transaction open; withClient's end of the connection rolls it back.
        if (s.users) await applyInstanceUsers(c, s.users, s.owner);
        await c.query('commit');
        // Held from here: a file that keeps failing to move below must not leave the database out of
        // the usage report (its size, users and files), as it would after the agent restarts.
        this.held.set(id, s);
        // Each file in its own transaction after the rest: a large one never holds the settings back.
        if (s.files?.length) {
          const files = await applyInstanceFiles(c, s.files, this.o.fetchInstanceFile);
          held.push(...files.held);
          if (files.errors.length) throw new Error(files.errors.join('; '));
        }
      });
    } finally {
      // Closed again even when the writes failed: a suspended database never stays open.
      if (s.status === 'suspended') {
        await admin.query(`alter database ${db} allow_connections false`);
        await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where (datname = $1 or usename = $2) and pid <> pg_backend_pid()', [s.name, s.owner]);
      }
    }
  }

  private async remove(admin: pg.Client, s: Partial<DatabaseSpec> | null): Promise<void> {
    if (!s?.name || !s.owner) {
      // An absent object without names was never made here by this contract: nothing to remove.
      this.o.log.warn({}, 'absent database object without names: nothing removed');
      return;
    }
    const db = admin.escapeIdentifier(s.name);
    const owner = admin.escapeIdentifier(s.owner);
    const role = (await admin.query<{ rolsuper: boolean }>('select rolsuper from pg_roles where rolname = $1', [s.owner])).rows[0];
    if (role?.rolsuper) throw new Error(`role ${s.owner} is a superuser: refusing to drop it`);
    if (role) await admin.query(`alter role ${owner} nologin`);
    const current = (await admin.query<{ datallowconn: boolean }>('select datallowconn from pg_database where datname = $1', [s.name])).rows[0];
    if (current) {
      await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where usename = $1 and pid <> pg_backend_pid()', [s.owner]);
      if (!current.datallowconn) await admin.query(`alter database ${db} allow_connections true`);
      // The dump is whole before anything is dropped; a failed dump leaves the database as it is.
      await this.dump(s.name);
      await admin.query(`alter database ${db} allow_connections false`);
      await admin.query(`drop database ${db} with (force)`);
    }
    if (role) await admin.query(`drop role ${owner}`);
  }

  private async dump(name: string): Promise<string> {
    const file = path.join(this.archives, `${name}-${stamp()}.dump`);
    const part = `${file}.part`;
    await new Promise<void>((resolve, reject) => {
      execFile(
        this.o.pgDumpBin ?? 'pg_dump',
        ['--format=custom', '--no-password', '--file', part],
        { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...libpqEnv(this.o.pgUrl, name) }, timeout: 6 * 60 * 60 * 1000, maxBuffer: 1024 * 1024 },
        (err, _stdout, stderr) => (err ? reject(new Error(`pg_dump of ${name} failed: ${String(stderr).trim() || err.message}`)) : resolve()),
      );
    }).catch(async (e: unknown) => {
      await fs.promises.rm(part, { force: true });
      throw e;
    });
    await fs.promises.chmod(part, 0o600);
    await fs.promises.rename(part, file);
    this.o.log.info({ database: name, archive: file }, 'database archived before dropping');
    return file;
  }

  /**
   * Size of every database held and, read from inside it, its users (res_users) and files
   * (ir_attachment) where it has them. Runs beside the batches: each database is read in its own turn.
   */
  async observe(): Promise<UsageSampleT[]> {
    if (this.held.size === 0) return [];
    const at = new Date().toISOString();
    const byName = new Map([...this.held].map(([id, spec]) => [spec.name, { id, spec }]));
    const names = [...byName.keys()];
    const sizes = await this.turn(names, () =>
      withClient(this.o.pgUrl, undefined, async (c) =>
        (await c.query<{ datname: string; size: string; datallowconn: boolean }>('select datname, pg_database_size(oid)::text as size, datallowconn from pg_database where datname = any($1)', [names])).rows,
      ),
    );
    const samples: UsageSampleT[] = [];
    for (const row of sizes) {
      const held = byName.get(row.datname)!;
      const sample: UsageSampleT = { kind: 'database', id: held.id, at, storageBytes: Number(row.size), transferBytes: 0 };
      if (row.datallowconn) {
        try {
          // An apply may have removed it since the sizes were read: then it has no sample.
          const report = await this.turn([row.datname], () => (this.held.has(held.id) ? withClient(this.o.pgUrl, row.datname, readInstanceReport) : Promise.resolve(undefined)));
          if (!report) continue;
          if (report.users === null) sample.users = null;
          sample.files = report.files;
          if (report.usersDigest !== undefined) sample.usersDigest = report.usersDigest;
          if (report.usersTotal !== undefined) sample.usersTotal = report.usersTotal;
          if (report.activeUsers !== undefined) sample.activeUsers = report.activeUsers;
        } catch (e) {
          this.o.log.debug({ database: row.datname, err: (e as Error).message }, 'could not read users and files');
        }
      }
      samples.push(sample);
    }
    return samples;
  }

  /** The whole list of users of a database held here (undefined: not held, not open, or no res_users): asked for when the control plane holds another. */
  async userList(id: string): Promise<{ digest: string; users: ReportedInstanceUser[] } | undefined> {
    const name = this.held.get(id)?.name;
    if (!name) return undefined;
    return this.turn([name], async () => {
      // Read again in its turn: the apply it waited for may have suspended or removed it.
      const spec = this.held.get(id);
      if (!spec || spec.status === 'suspended') return undefined;
      return withClient(this.o.pgUrl, spec.name, readInstanceUserList);
    });
  }
}
