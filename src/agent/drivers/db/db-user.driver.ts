import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { DbUserWireObject, type DbUserSpec, type WireObject } from '../../../core/nodes/agent-wire.schema.js';
import type { AgentLog } from '../../agent-log.js';
import { readJsonFile, writeFileAtomic } from '../../atomic-file.js';
import type { ObjectResultT, RoleDriver, UsageSampleT } from '../../role-driver.js';
import type { DbUserEngine } from './db-user.engine.js';
import { MariadbUsers } from './db-user.mariadb.js';
import { PgsqlUsers } from './db-user.pgsql.js';

export interface DbUserDriverOptions {
  dataDir: string;
  /** The MariaDB admin connection (`--mariadb-url`); without it, MariaDB users fail visibly. */
  mariadbUrl?: string | undefined;
  /** The PostgreSQL admin connection (`--pg-url`). */
  pgUrl?: string | undefined;
  log: AgentLog;
}

/** `<data dir>/db-users.json`: which object made each database user (`<engine>:<user>` → object id). */
const OwnersFile = z.record(z.string(), z.string());

/**
 * The db role's site database users (`db_user` objects): one MariaDB or PostgreSQL user per site and
 * engine, its databases, its lock. The driver touches only users it created itself (it records each
 * in `db-users.json` before creating it), so a site named `root` or taking another site's user name
 * fails instead of taking that account over. Databases that go are dumped to `<data dir>/archives/`
 * first.
 */
export class DbUserDriver implements RoleDriver {
  readonly role = 'db' as const;
  /** Its key in the heartbeat's drivers: the db role has a driver per kind. */
  readonly name = 'db-user';
  readonly kinds = ['db_user'] as const satisfies readonly WireObject['kind'][];
  private readonly engines = new Map<DbUserSpec['engine'], DbUserEngine>();
  /** The specs this driver made true, for usage (filled again by the full re-apply after a restart). */
  private readonly held = new Map<string, DbUserSpec>();
  private readonly ownersPath: string;
  private readonly archives: string;

  constructor(private readonly o: DbUserDriverOptions) {
    this.ownersPath = path.join(o.dataDir, 'db-users.json');
    this.archives = path.join(o.dataDir, 'archives');
  }

  async start(): Promise<void> {
    if (!this.o.mariadbUrl && !this.o.pgUrl) throw new Error('no database server: give --mariadb-url and/or --pg-url (HOSTPLANE_AGENT_MARIADB_URL, HOSTPLANE_AGENT_PG_URL)');
    if (this.o.mariadbUrl && !this.engines.has('mariadb')) this.engines.set('mariadb', new MariadbUsers(this.o.mariadbUrl));
    if (this.o.pgUrl && !this.engines.has('pgsql')) this.engines.set('pgsql', new PgsqlUsers(this.o.pgUrl));
    await fs.promises.mkdir(this.archives, { recursive: true, mode: 0o700 });
    for (const e of this.engines.values()) await e.ping();
  }

  private async owners(): Promise<Record<string, string>> {
    const parsed = OwnersFile.safeParse((await readJsonFile(this.ownersPath)) ?? {});
    if (!parsed.success) throw new Error(`${this.ownersPath} is not in the expected format`);
    return parsed.data;
  }

  private archiveOf(objectId: string): (db: string) => string {
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, 'Z');
    // pg_dump's custom format for PostgreSQL (pg_restore reads it), SQL text for MariaDB.
    const ext = objectId.endsWith('-pgsql') ? 'dump' : 'sql';
    return (db) => path.join(this.archives, `${objectId}-${db}-${stamp}.${ext}`);
  }

  private engine(spec: DbUserSpec): DbUserEngine {
    const e = this.engines.get(spec.engine);
    if (!e) throw new Error(`this node has no ${spec.engine === 'mariadb' ? 'MariaDB (--mariadb-url)' : 'PostgreSQL (--pg-url)'}`);
    return e;
  }

  async apply(objects: WireObject[]): Promise<ObjectResultT[]> {
    const results: ObjectResultT[] = [];
    const owners = await this.owners();
    const save = () => writeFileAtomic(this.ownersPath, JSON.stringify(owners), 0o600);
    for (const raw of objects) {
      const result: ObjectResultT = { kind: 'db_user', id: String(raw?.id ?? ''), version: Number(raw?.version ?? 0), ok: false };
      try {
        const parsed = DbUserWireObject.safeParse(raw);
        if (!parsed.success) throw new Error(`invalid object: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`.slice(0, 2000));
        const o = parsed.data;
        if (!/^site[1-9][0-9]{0,17}-(mysql|pgsql)$/.test(o.id)) throw new Error('object id must be site<n>-mysql or site<n>-pgsql');
        if (o.spec === null) {
          // Nothing left to name what to drop; whatever this node made for it stays until asked by name.
          results.push({ ...result, ok: true });
          continue;
        }
        const spec = o.spec;
        const engine = this.engine(spec);
        const key = `${spec.engine}:${spec.user}`;
        const mine = owners[key] === o.id;
        if (o.state === 'absent') {
          if (mine || !(await engine.userExists(spec.user))) {
            await engine.removeUser(mine ? spec : { ...spec, databases: [] }, this.archiveOf(o.id));
            delete owners[key];
            await save();
          }
          this.held.delete(o.id);
          results.push({ ...result, ok: true });
          continue;
        }
        if (!mine) {
          if (owners[key] !== undefined) throw new Error(`database user ${spec.user} belongs to ${owners[key]} on this node`);
          if (await engine.userExists(spec.user)) throw new Error(`database user ${spec.user} already exists on this node and was not made by it; it is left untouched`);
          // Recorded before it exists: a crash in between leaves a user this driver knows is its own.
          owners[key] = o.id;
          await save();
        }
        await engine.applyUser(spec, this.archiveOf(o.id));
        // An earlier name of this object's user (dbaseadmin changed): its databases move over, it goes.
        for (const [other, id] of Object.entries(owners)) {
          if (id !== o.id || other === key || !other.startsWith(`${spec.engine}:`)) continue;
          await engine.retireUser(other.slice(spec.engine.length + 1), spec.user);
          delete owners[other];
          await save();
        }
        this.held.set(o.id, spec);
        results.push({ ...result, ok: true });
      } catch (e) {
        results.push({ ...result, error: ((e as Error).message || String(e)).slice(0, 2000) });
      }
    }
    return results;
  }

  /** Per held object, the total size of its databases (shown to the site; not counted against its disk quota). */
  async observe(): Promise<UsageSampleT[]> {
    const samples: UsageSampleT[] = [];
    for (const [id, spec] of this.held) {
      const engine = this.engines.get(spec.engine);
      if (!engine) continue;
      try {
        samples.push({ kind: 'db_user', id, at: new Date().toISOString(), storageBytes: Math.max(0, Math.floor(await engine.sizeOf(spec.databases))), transferBytes: 0 });
      } catch (e) {
        this.o.log.warn({ object: id, err: (e as Error).message }, 'database size not measured');
      }
    }
    return samples;
  }

  async health(): Promise<{ ok: boolean; error?: string }> {
    const problems: string[] = [];
    for (const [name, e] of this.engines) await e.ping().catch((err: unknown) => problems.push(`${name}: ${(err as Error).message}`));
    if (this.engines.size === 0) problems.push('no database server configured');
    return problems.length ? { ok: false, error: problems.join('; ') } : { ok: true };
  }

  async stop(): Promise<void> {
    for (const e of this.engines.values()) await e.close().catch(() => undefined);
    this.engines.clear();
  }
}
