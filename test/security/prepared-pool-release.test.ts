import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { preparedStatementPool } from '../../src/db/prepared-pool.js';
import { openTestDb } from '../support/test-db.js';

// A keyed request whose COMMIT and then ROLLBACK failed has a connection in an unknown state: Kysely
// releases it asking for it to be destroyed, and the pool must not hand it to the next request.

const onPostgres = process.env.HOSTPLANE_TEST_DB === 'postgres';
let testDb: Awaited<ReturnType<typeof openTestDb>> | undefined;
afterAll(async () => testDb?.close());

describe.runIf(onPostgres)('the prepared-statement pool (PostgreSQL)', () => {
  it('destroys a connection released for destruction, and keeps one released normally', async () => {
    testDb = await openTestDb();
    const raw = new pg.Pool({ connectionString: testDb.databaseUrl!, max: 2 });
    try {
      const pool = preparedStatementPool(raw);
      const broken = await pool.connect();
      await broken.query('begin', []);
      broken.release(true);
      expect(raw.totalCount).toBe(0);
      const fine = await pool.connect();
      expect((await fine.query<{ one: number }>('select 1 as one', [])).rows).toEqual([{ one: 1 }]);
      fine.release();
      expect({ total: raw.totalCount, idle: raw.idleCount }).toEqual({ total: 1, idle: 1 });
    } finally {
      await raw.end();
    }
  });
});
