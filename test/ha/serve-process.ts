import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { sql } from 'kysely';
import pg from 'pg';
import { inject } from 'vitest';
import { createDb, type Db, type DbHandle } from '../../src/db/database.js';
import { BIN } from '../cli/cli-harness.js';

export const onPostgres = process.env.HOSTPLANE_TEST_DB === 'postgres';

export async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  stderr(): string;
  /** SIGTERM, and the exit code. */
  stop(): Promise<number | null>;
}

/** A real `hostplane serve` (bin/hostplane, built dist/) with only the variables given. */
export async function startServe(env: Record<string, string>, bin = BIN): Promise<ServeProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [bin, 'serve'], {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), HOSTPLANE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const onData = () => {
      if (stderr.includes('API reference:')) resolve();
    };
    child.stderr!.on('data', onData);
    void exited.then((code) => reject(new Error(`serve exited early (${code}): ${stderr}`)));
  });
  return {
    child,
    url,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** PostgreSQL databases with a unique prefix on the test server, dropped by dropAll. */
export class ScratchDatabases {
  readonly prefix = `hostplane_ha_${randomBytes(4).toString('hex')}`;
  private readonly names: string[] = [];

  private admin(): pg.Client {
    return new pg.Client({ connectionString: process.env.DATABASE_URL });
  }

  urlOf(name: string): string {
    const u = new URL(process.env.DATABASE_URL!);
    u.pathname = `/${name}`;
    return u.toString();
  }

  /** A new database: migrated (from the run's template) or empty. */
  async create(suffix: string, migrated: boolean): Promise<string> {
    const name = `${this.prefix}_${suffix}`;
    const c = this.admin();
    await c.connect();
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          await c.query(`create database ${name}${migrated ? ` template ${inject('postgresTemplate')}` : ''}`);
          break;
        } catch (e) {
          if (attempt > 50 || !/being accessed by other users/.test(String(e))) throw e;
          await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
        }
      }
    } finally {
      await c.end();
    }
    this.names.push(name);
    return this.urlOf(name);
  }

  async dropAll(): Promise<void> {
    const c = this.admin();
    await c.connect();
    try {
      for (const name of this.names) await c.query(`drop database if exists ${name} with (force)`);
    } finally {
      await c.end();
    }
  }
}

export interface TableSum {
  rows: number;
  md5: string;
}

/**
 * Row count and an md5 of every row of every table of the public schema, in primary-key order (the
 * whole row's text for a table without one): two databases with equal sums hold the same rows.
 */
export async function tableChecksums(db: Db): Promise<Record<string, TableSum>> {
  const { rows: tables } = await sql<{ table: string; pk: string | null }>`
    select c.relname as table,
      (select string_agg(quote_ident(a.attname), ', ' order by array_position(i.indkey::int2[], a.attnum))
         from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
        where i.indrelid = c.oid and i.indisprimary) as pk
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind in ('r', 'p')
    order by c.relname`.execute(db);
  const out: Record<string, TableSum> = {};
  for (const t of tables) {
    const order = t.pk ?? 't::text';
    const { rows } = await sql<{ n: number; md5: string | null }>`
      select count(*)::int as n, md5(coalesce(string_agg(t::text, E'\\n' order by ${sql.raw(order)}), '')) as md5
      from ${sql.table(t.table)} t`.execute(db);
    out[t.table] = { rows: Number(rows[0]!.n), md5: rows[0]!.md5 ?? '' };
  }
  return out;
}

/** Opens a database of this run's kind to read it: a PostgreSQL URL, or an embedded data dir no process holds. */
export function openForReading(target: { databaseUrl: string } | { pgdata: string }): Promise<DbHandle> {
  return 'databaseUrl' in target ? createDb({ databaseUrl: target.databaseUrl, poolSize: 1 }) : createDb({ dataDir: target.pgdata });
}
