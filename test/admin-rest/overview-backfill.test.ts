import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest, type DbHandle } from '../../src/db/database.js';
import { openTestDbAt } from '../support/test-db.js';

// Migration 0018 computes the dashboards' rollup once from the rows that exist before it: a database
// at 0017 with history (clients over several days, some cancelled, released domains, a pending and an
// approved sign-up, a domain whose "ready" is only in the audit log) is migrated, and the rollup must
// equal what the rows say.

let handle: DbHandle;

beforeAll(async () => {
  handle = await openTestDbAt('0017-revocation');
}, 120_000);

afterAll(async () => {
  await handle?.close();
});

const day = (daysAgo: number) => sql`(date_trunc('day', now() at time zone 'UTC') at time zone 'UTC') - make_interval(days => ${daysAgo}) + interval '12 hours'`;

describe('the 0018 backfill', () => {
  it('rolls up the rows that exist before it', async () => {
    const db = handle.db;
    const r = await sql<{ id: number }>`insert into resellers (name, username, email_address, status, approved_at, created_at, updated_at) values
      ('Old Co', 'old-co', 'o@x.test', 'active', ${day(9)}, ${day(10)}, now()),
      ('Waiting Co', 'waiting-co', 'w@x.test', 'pending', null, ${day(2)}, now()),
      ('Direct Co', 'direct-co', 'd@x.test', 'active', ${day(5)}, ${day(5)}, now())
      returning id`.execute(db);
    const [old, , direct] = r.rows.map((x) => x.id);
    // Old Co: 3 clients 6 days ago (one cancelled 2 days ago), 1 client 1 day ago; Direct Co: 1 today; one client of no reseller.
    const c = await sql<{ id: number; name: string }>`insert into clients (reseller_id, name, user_count, status, cancelled_at, created_at, updated_at) values
      (${old}, 'a.test', 1, 'active', null, ${day(6)}, now()),
      (${old}, 'b.test', 1, 'active', null, ${day(6)}, now()),
      (${old}, 'c.test', 1, 'cancelled', ${day(2)}, ${day(6)}, now()),
      (${old}, 'd.test', 1, 'suspended', null, ${day(1)}, now()),
      (${direct}, 'e.test', 1, 'active', null, ${day(0)}, now()),
      (null, 'f.test', 1, 'active', null, ${day(3)}, now())
      returning id, name`.execute(db);
    for (const { id, name } of c.rows) {
      const released = name === 'c.test' ? day(2) : null;
      await sql`insert into domains (client_id, reseller_id, name, position, status, released_at, created_at, updated_at)
        select ${id}, reseller_id, ${name}, 0, 'ready', ${released}, created_at, now() from clients where id = ${id}`.execute(db);
    }
    await sql`insert into audit_events (occurred_at, actor_kind, action, target_type, target_id, changes)
      select created_at + interval '42 seconds', 'system', 'domain.status_set', 'domain', name, '{"status": {"before": "initializing", "after": "ready"}}' from domains where name = 'a.test'`.execute(db);

    expect(await migrateToLatest(db)).toContain('0018-dashboard-aggregates');

    const totals = await sql<{ reseller_id: number; clients: number; domains: number; pending: number }>`
      select reseller_id::int, sum(clients)::int as clients, sum(domains)::int as domains, sum(pending)::int as pending from stats_totals group by reseller_id order by reseller_id`.execute(db);
    expect(totals.rows).toEqual(
      expect.arrayContaining([
        { reseller_id: 0, clients: 1, domains: 1, pending: 0 },
        { reseller_id: old, clients: 3, domains: 3, pending: 0 },
        { reseller_id: direct, clients: 1, domains: 1, pending: 0 },
        expect.objectContaining({ pending: 1 }),
      ]),
    );
    const daily = await sql<{ ago: number; created: number; cancelled: number; signups: number; decided: number }>`
      select ((now() at time zone 'UTC')::date - day)::int as ago, sum(clients_created)::int as created, sum(clients_cancelled)::int as cancelled, sum(signups)::int as signups, sum(signups_decided)::int as decided
      from stats_daily where reseller_id = ${old} group by day order by day`.execute(db);
    expect(daily.rows).toEqual([
      { ago: 10, created: 0, cancelled: 0, signups: 1, decided: 0 },
      { ago: 9, created: 0, cancelled: 0, signups: 0, decided: 1 },
      { ago: 6, created: 3, cancelled: 0, signups: 0, decided: 0 },
      { ago: 2, created: 0, cancelled: 1, signups: 0, decided: 0 },
      { ago: 1, created: 1, cancelled: 0, signups: 0, decided: 0 },
    ]);
    const ready = await sql<{ name: string; seconds: number | null }>`select name, extract(epoch from ready_at - created_at)::float8 as seconds from domains where name in ('a.test', 'b.test') order by name`.execute(db);
    expect(ready.rows).toEqual([
      { name: 'a.test', seconds: 42 },
      { name: 'b.test', seconds: null },
    ]);

    // From here on the triggers keep it: a new client of Old Co and a cancel.
    await sql`insert into clients (reseller_id, name, user_count, status, created_at, updated_at) values (${old}, 'g.test', 1, 'active', now(), now())`.execute(db);
    await sql`update clients set status = 'cancelled' where name = 'a.test'`.execute(db);
    const after = await sql<{ clients: number }>`select sum(clients)::int as clients from stats_totals where reseller_id = ${old}`.execute(db);
    expect(after.rows[0]!.clients).toBe(3);
  });
});
