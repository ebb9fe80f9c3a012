import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countByStatus } from '../../src/core/overview/overview.repository.js';
import { migrateToLatest, type DbHandle } from '../../src/db/database.js';
import { openTestDbAt } from '../support/test-db.js';

// Migration 0021 counts the rows that exist before it once: a database at 0018 with clients in every
// status, released and unreleased domains in every status and jobs in every state is migrated, and the
// overview's counts must equal a recount, then stay equal as the triggers take over.

let handle: DbHandle;

beforeAll(async () => {
  handle = await openTestDbAt('0018-dashboard-aggregates');
}, 120_000);

afterAll(async () => {
  await handle?.close();
});

async function recount() {
  const db = handle.db;
  const grouped = async (query: ReturnType<typeof sql<{ key: string; n: number }>>) => Object.fromEntries((await query.execute(db)).rows.map((r) => [r.key, r.n]));
  return {
    resellers: await grouped(sql`select status as key, count(*)::int as n from resellers group by 1`),
    clients: await grouped(sql`select status as key, count(*)::int as n from clients group by 1`),
    domains: await grouped(sql`select status as key, count(*)::int as n from domains where released_at is null group by 1`),
    jobs: await grouped(sql`select state as key, count(*)::int as n from jobs group by 1`),
  };
}

describe('the 0021 backfill', () => {
  it('counts the rows that exist before it, and the triggers keep the counts afterwards', async () => {
    const db = handle.db;
    await sql`insert into resellers (name, username, email_address, status, approved_at, updated_at) values
      ('One Co', 'one-co', 'o@x.test', 'active', now(), now()), ('Two Co', 'two-co', 't@x.test', 'pending', null, now()),
      ('Three Co', 'three-co', 'h@x.test', 'suspended', now(), now())`.execute(db);
    const statuses = ['active', 'active', 'active', 'suspended', 'suspended', 'cancelled', 'deleted'];
    const clients = await sql<{ id: number; status: string }>`insert into clients (reseller_id, name, user_count, status, cancelled_at, deleted_at, updated_at)
      select (select min(id) from resellers), 'c' || i || '.test', 1, st, case when st = 'cancelled' then now() end, case when st = 'deleted' then now() end, now()
      from unnest(${statuses}::text[]) with ordinality as u(st, i) returning id, status`.execute(db);
    for (const [i, { id, status }] of clients.rows.entries()) {
      const released = status === 'cancelled' || status === 'deleted';
      await sql`insert into domains (client_id, reseller_id, name, position, status, released_at, updated_at)
        values (${id}, null, ${`d${i}.test`}, 0, ${['initializing', 'ready', 'unknown'][i % 3]}, ${released ? sql`now()` : null}, now()),
               (${id}, null, ${`e${i}.test`}, 1, 'ready', null, now())`.execute(db);
    }
    await sql`insert into jobs (kind, payload, state, run_at, updated_at)
      select 'test.count', '{}', st, now(), now() from unnest(array['queued', 'running', 'running', 'succeeded', 'succeeded', 'succeeded', 'failed']) st`.execute(db);

    expect(await migrateToLatest(db)).toContain('0021-overview-counts');
    const expected = {
      resellers: { active: 1, pending: 1, suspended: 1 },
      clients: { active: 3, suspended: 2, cancelled: 1, deleted: 1 },
      // d5 and d6 are released; of d0..d4: initializing d0 d3, ready d1 d4, unknown d2; e0..e6 ready.
      domains: { initializing: 2, ready: 9, unknown: 1 },
      jobs: { queued: 1, running: 2, succeeded: 3, failed: 1 },
    };
    expect(await recount()).toEqual(expected);
    expect(await countByStatus(db)).toEqual(expected);

    // From here the triggers keep it: a status change, a release, a new client, a finished job, a prune.
    await sql`update clients set status = 'suspended' where status = 'active' and name = 'c1.test'`.execute(db);
    await sql`update domains set released_at = now() where name = 'e0.test'`.execute(db);
    await sql`insert into clients (name, user_count, status, updated_at) values ('new.test', 1, 'active', now())`.execute(db);
    await sql`update jobs set state = 'succeeded', finished_at = now() where state = 'running'`.execute(db);
    await sql`delete from jobs where state = 'succeeded' and finished_at is null`.execute(db);
    const after = await recount();
    expect(after.jobs).toEqual({ queued: 1, succeeded: 2, failed: 1 });
    expect(await countByStatus(db)).toEqual({ ...after, jobs: { ...after.jobs, running: 0 } });
  });
});
