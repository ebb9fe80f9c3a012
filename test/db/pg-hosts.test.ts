import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type DbHandle } from '../../src/db/database.js';
import { parsePgHosts } from '../../src/db/pg-hosts.js';
import { isDatabaseUnavailable } from '../../src/errors/db-unavailable.js';
import { startPgCluster, type PgCluster } from '../support/pg-cluster.js';

// A DATABASE_URL naming two servers (as `pg_autoctl show uri` prints it): connections go to the one
// that accepts writes, a server turned read-only is left for the other, and with no writable server
// every query fails as "database unavailable" (a 503 in the doors). Two clusters of the test's own
// stand in for a primary and a standby: "read-only" is what a standby answers to
// `show transaction_read_only`, the check libpq's target_session_attrs=read-write makes.

describe('parsePgHosts', () => {
  it('splits a multi-host URL into one URL per host and keeps the rest', () => {
    const h = parsePgHosts('postgres://app:s%40cret@db1:5432,db2:6432,[::1]:7000/hostplane?sslmode=require&target_session_attrs=read-write');
    expect(h.urls).toEqual([
      'postgres://app:s%40cret@db1:5432/hostplane?sslmode=require',
      'postgres://app:s%40cret@db2:6432/hostplane?sslmode=require',
      'postgres://app:s%40cret@[::1]:7000/hostplane?sslmode=require',
    ]);
    expect(h.names).toEqual(['db1:5432', 'db2:6432', '[::1]:7000']);
    expect(h.readWrite).toBe(true);
  });

  it('leaves a single-host URL alone unless it asks for a read-write server', () => {
    expect(parsePgHosts('postgresql://db1/hostplane')).toEqual({ urls: ['postgresql://db1/hostplane'], names: ['db1'], readWrite: false });
    expect(parsePgHosts('postgres://db1/x?target_session_attrs=read-write').readWrite).toBe(true);
    expect(parsePgHosts('postgres://db1/x?target_session_attrs=any').readWrite).toBe(false);
  });
});

const onPostgres = process.env.HOSTPLANE_TEST_DB === 'postgres';

describe.skipIf(!onPostgres)('a DATABASE_URL with several hosts follows the primary (PostgreSQL only: it needs servers of its own)', () => {
  let a: PgCluster;
  let b: PgCluster;
  let handle: DbHandle;

  async function setReadOnly(c: PgCluster, on: boolean): Promise<void> {
    const admin = new pg.Client({ connectionString: c.url });
    await admin.connect();
    try {
      await admin.query('set default_transaction_read_only = off');
      await admin.query(`alter system set default_transaction_read_only = ${on ? 'on' : 'off'}`);
      await admin.query('select pg_reload_conf()');
    } finally {
      await admin.end();
    }
  }

  const serverPort = async () => (await sql<{ port: number }>`select inet_server_port() as port`.execute(handle.db)).rows[0]!.port;

  beforeAll(async () => {
    [a, b] = await Promise.all([startPgCluster(), startPgCluster()]);
    await setReadOnly(a, true);
    handle = await createDb({
      databaseUrl: `postgres://postgres@127.0.0.1:${a.port},127.0.0.1:${b.port}/postgres?target_session_attrs=read-write`,
      timeouts: { connectMs: 1000, probeMs: 500, stallMs: 500 },
      poolSize: 3,
    });
    await sql`create table ha_probe (n int)`.execute(handle.db).catch(() => {});
  }, 120_000);

  afterAll(async () => {
    await handle?.close();
    await Promise.all([a?.destroy(), b?.destroy()]);
  });

  it('writes go to the server that accepts them, not the first one listed', async () => {
    await sql`insert into ha_probe values (1)`.execute(handle.db);
    expect(await serverPort()).toBe(b.port);
  });

  it('after the roles swap, a write on the old connection fails as unavailable and the next goes to the new primary', async () => {
    await setReadOnly(a, false);
    const admin = new pg.Client({ connectionString: a.url });
    await admin.connect();
    await admin.query('create table if not exists ha_probe (n int)');
    await admin.end();
    await setReadOnly(b, true);
    const failures: unknown[] = [];
    let wroteOn: number | undefined;
    // Each pooled connection to the old primary fails once (25006) and is dropped; at most the pool's size.
    for (let attempt = 0; attempt < 10 && wroteOn === undefined; attempt++) {
      try {
        await handle.db.transaction().execute(async (tx) => {
          await sql`insert into ha_probe values (2)`.execute(tx);
          wroteOn = (await sql<{ port: number }>`select inet_server_port() as port`.execute(tx)).rows[0]!.port;
        });
      } catch (err) {
        failures.push(err);
      }
    }
    expect(wroteOn).toBe(a.port);
    expect(failures.length).toBeLessThanOrEqual(3);
    for (const f of failures) expect(isDatabaseUnavailable(f), String(f)).toBe(true);
    // Nothing of the failed attempts reached the read-only server.
    const onB = new pg.Client({ connectionString: b.url });
    await onB.connect();
    const rows = (await onB.query<{ n: number }>('select n from ha_probe order by n')).rows.map((r) => r.n);
    await onB.end();
    expect(rows).toEqual([1]);
  });

  it('with no server accepting writes, queries fail at once as "database unavailable"', async () => {
    await setReadOnly(a, true);
    await b.stop();
    const errors: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      await sql`insert into ha_probe values (3)`.execute(handle.db).then(
        () => errors.push(new Error('a write succeeded with no primary')),
        (err: unknown) => errors.push(err),
      );
    }
    for (const e of errors) expect(isDatabaseUnavailable(e), String(e)).toBe(true);
    expect(errors.map(String).join('\n')).toMatch(/read-only|no primary/);
    // The primary comes back: the same handle writes again without a restart.
    await setReadOnly(a, false);
    let ok = false;
    for (let i = 0; i < 20 && !ok; i++) {
      ok = await sql`insert into ha_probe values (4)`.execute(handle.db).then(
        () => true,
        () => new Promise<boolean>((r) => setTimeout(() => r(false), 300)),
      );
    }
    expect(ok).toBe(true);
    expect(await serverPort()).toBe(a.port);
  });
});
