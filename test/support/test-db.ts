import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Migrator } from 'kysely';
import pg from 'pg';
import { inject } from 'vitest';
import { createDb, type DbHandle } from '../../src/db/database.js';
import { migrationProvider } from '../../src/db/migrations/index.js';

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** A migrated database of this run's kind, private to the caller; close() drops it. */
export async function openTestDb(): Promise<DbHandle & { databaseUrl?: string }> {
  if (process.env.HOSTPLANE_TEST_DB === 'postgres') {
    const url = process.env.DATABASE_URL!;
    const name = `hostplane_t_${process.ppid}_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    // Forks share the template; creating from it needs nobody else connected, so retry briefly.
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.query(`create database ${name} template ${inject('postgresTemplate')}`);
        break;
      } catch (e) {
        if (attempt > 50 || !/being accessed by other users/.test(String(e))) throw e;
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
      }
    }
    const databaseUrl = withDatabase(url, name);
    const handle = await createDb({ databaseUrl, poolSize: 5 });
    return {
      ...handle,
      databaseUrl,
      close: async () => {
        await handle.close();
        await admin.query(`drop database if exists ${name} with (force)`);
        await admin.end();
      },
    };
  }
  const tar = fs.readFileSync(inject('pgliteTemplate'));
  return createDb({ loadDataDir: new Blob([tar]) });
}

/**
 * An empty database of this run's kind migrated only up to `migration`, for tests of what a later
 * migration does to the rows that exist before it; close() drops it.
 */
export async function openTestDbAt(migration: string): Promise<DbHandle> {
  let handle: DbHandle;
  if (process.env.HOSTPLANE_TEST_DB === 'postgres') {
    const url = process.env.DATABASE_URL!;
    const name = `hostplane_at_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`create database ${name}`);
    const opened = await createDb({ databaseUrl: withDatabase(url, name), poolSize: 2 });
    handle = {
      ...opened,
      close: async () => {
        await opened.close();
        await admin.query(`drop database if exists ${name} with (force)`);
        await admin.end();
      },
    };
  } else {
    handle = await createDb({});
  }
  const migrator = new Migrator({ db: handle.db, provider: migrationProvider, migrationTableName: 'hostplane_migrations', migrationLockTableName: 'hostplane_migrations_lock' });
  const { error } = await migrator.migrateTo(migration);
  if (error) {
    await handle.close();
    throw error;
  }
  return handle;
}
