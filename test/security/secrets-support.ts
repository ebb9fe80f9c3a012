import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { pino } from 'pino';
import { expect, inject } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { ctxFor } from '../../src/core/context.js';
import { createOperatorKey } from '../../src/core/credentials/credential.service.js';
import { createDb, type DbHandle } from '../../src/db/database.js';
import { openTestDb } from '../support/test-db.js';

/*
 * A database that outlives the apps started on it (so a test can stop, change keys, and start again),
 * with a data directory of its own for the master-key file. On PostgreSQL a database of the test's
 * own; on PGlite the data directory's pgdata, made from the migrated template.
 */

export const onPostgres = process.env.HOSTPLANE_TEST_DB === 'postgres';

export interface Store {
  dataDir: string;
  keyFile: string;
  /** For bin/hostplane: the variables that point it at this store. */
  env: Record<string, string>;
  /** Starts an app; the store's database stays open (PostgreSQL) or is opened for it (PGlite). */
  start(env?: Record<string, string>): Promise<Started>;
  /** Raw rows, read with SQL outside any app (PGlite: only while no app runs). */
  query<T>(text: string): Promise<T[]>;
  remove(): Promise<void>;
}

export interface Started {
  app: App;
  operatorKey: string;
  stop(): Promise<void>;
}

export async function openStore(): Promise<Store> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostplane-secrets-'));
  const pg = onPostgres ? await openTestDb() : undefined;
  let seeded = false;
  const openDb = async (): Promise<{ handle: DbHandle; release: () => Promise<void> }> => {
    if (pg) return { handle: pg, release: async () => {} };
    const handle = await createDb({ dataDir: path.join(dataDir, 'pgdata'), ...(seeded ? {} : { loadDataDir: new Blob([fs.readFileSync(inject('pgliteTemplate'))]) }) });
    seeded = true;
    return { handle, release: () => handle.close() };
  };
  return {
    dataDir,
    keyFile: path.join(dataDir, 'master-key'),
    env: { HOSTPLANE_DATA_DIR: dataDir, ...(pg ? { DATABASE_URL: pg.databaseUrl! } : {}) },
    async start(env = {}) {
      const { handle, release } = await openDb();
      const config = loadConfig({ HOSTPLANE_DATA_DIR: dataDir, HOSTPLANE_PUBLIC_URL: 'https://panel.hostplane.test', HOSTPLANE_WEBHOOK_ALLOW_PRIVATE: 'true', ...env });
      let app: App;
      try {
        app = await createApp(config, { dbHandle: handle, logger: pino({ level: 'silent' }) });
      } catch (e) {
        await release();
        throw e;
      }
      const { key } = await createOperatorKey(ctxFor(app.deps, { kind: 'system' }), 'secrets-test');
      return {
        app,
        operatorKey: key,
        stop: async () => {
          await app.close();
          await release();
        },
      };
    },
    async query<T>(text: string) {
      const { handle, release } = await openDb();
      try {
        return (await sql.raw(text).execute(handle.db)).rows as T[];
      } finally {
        await release();
      }
    },
    async remove() {
      await pg?.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Every row of every table as text, for looking for a secret anywhere in the database. */
export async function dumpAllRows(db: App['dbHandle']['db']): Promise<string> {
  const tables = await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'`.execute(db);
  const parts: string[] = [];
  for (const { table_name } of tables.rows) {
    const rows = await sql<{ row: string }>`select t::text as row from ${sql.table(table_name)} t`.execute(db);
    parts.push(...rows.rows.map((r) => `${table_name}: ${r.row}`));
  }
  return parts.join('\n');
}

/** The secret must appear nowhere: not as text, nor hex, nor base64 (bytea columns print as hex). */
export function expectAbsent(dump: string, secret: string): void {
  const forms = [secret, Buffer.from(secret).toString('hex'), Buffer.from(secret).toString('base64'), Buffer.from(secret).toString('base64url')];
  for (const form of forms) expect(dump.includes(form), `found ${form.slice(0, 12)}... in the database`).toBe(false);
}

export const admin = (key: string) => ({ authorization: `Bearer ${key}` });

/** Registers an operator endpoint (it receives every tenant's events) with the given or a generated secret. */
export async function registerHook(s: Started, url: string, secret?: string): Promise<{ id: number; secret: string }> {
  const res = await s.app.server.inject({ method: 'POST', url: '/admin/v1/webhooks', headers: admin(s.operatorKey), payload: { url, event_types: ['client.created'], ...(secret ? { secret } : {}) } });
  expect(res.statusCode, res.body).toBe(201);
  const body = res.json() as { id: number; secret?: string };
  return { id: body.id, secret: secret ?? body.secret! };
}

let n = 0;
/** A new client of a new reseller, so every operator endpoint gets a client.created event; then the jobs run. */
export async function fireClientCreated(s: Started): Promise<void> {
  const demo = await s.app.server.inject({ method: 'POST', url: '/admin/v1/demo', headers: admin(s.operatorKey) });
  expect(demo.statusCode, demo.body).toBe(200);
  const tag = `${Date.now().toString(36)}-${n++}`;
  const r = await s.app.server.inject({ method: 'POST', url: '/admin/v1/resellers', headers: admin(s.operatorKey), payload: { name: `Sealed ${tag}`, username: `sealed-${tag}`, email_address: `s-${tag}@example.com`, tags: ['cpanel'] } });
  expect(r.statusCode, r.body).toBe(201);
  const { api_token, api_key } = r.json() as { api_token: string; api_key: string };
  const client = await s.app.server.inject({
    method: 'POST',
    url: '/v1/clients',
    headers: { authorization: `Basic ${Buffer.from(`${api_token}:${api_key}`).toString('base64')}` },
    payload: { package_uid: 'spamstopshere-professional', user_count: 1, domains: [{ name: `sealed-${tag}.test` }] },
  });
  expect(client.statusCode, client.body).toBe(201);
  await s.app.jobs.drain();
}

export async function deliveriesOf(s: Started, hookId: number): Promise<{ status: string; attempts: number; last_error: string | null }[]> {
  const res = await s.app.server.inject({ method: 'GET', url: `/admin/v1/webhooks/${hookId}/deliveries`, headers: admin(s.operatorKey) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}
