import fs from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { preparedPglite, type PgliteQueryClient } from '../../src/db/pglite-prepared.js';

// The embedded database's statements go through named prepared statements (src/db/pglite-prepared.ts).
// What PGlite's own `query` gives must come back the same, and what can go wrong with a cached
// statement (a failed one, a schema change, an aborted transaction, a full cache) must not stick.
// The test opens PGlite itself, so it is the same on both projects: it runs once, on the embedded one.
const onPostgres = process.env.HOSTPLANE_TEST_DB === 'postgres';

describe.runIf(!onPostgres)('prepared statements on the embedded database', () => {
  let pglite: PGlite;
  let client: PgliteQueryClient;
  beforeAll(async () => {
    // From the run's migrated template, as the other embedded tests: a fresh initdb is slow.
    pglite = await PGlite.create({ loadDataDir: new Blob([fs.readFileSync(inject('pgliteTemplate'))]), parsers: { 20: (v: string) => Number(v) } });
    client = preparedPglite(pglite, { maxPrepared: 3 });
    await pglite.exec(`create table t (id bigserial primary key, name text not null unique, tags text[] not null default '{}', meta jsonb, at timestamptz not null default now());
      create function t_notify() returns trigger language plpgsql as $$ begin perform pg_notify('t_changes', new.name); return new; end $$;
      create trigger t_notify after insert on t for each row execute function t_notify();`);
  }, 120_000);
  afterAll(async () => {
    if (!pglite.closed) await client.close();
  });

  it('answers as PGlite’s own query does: rows, types, affected rows, null parameters', async () => {
    const insert = 'insert into t (name, tags, meta) values ($1, $2, $3) returning id, name, tags, meta, at';
    const a = await client.query(insert, ['alpha', ['x', 'y'], { k: 1 }]);
    expect(a.rows).toEqual([{ id: 1, name: 'alpha', tags: ['x', 'y'], meta: { k: 1 }, at: expect.any(Date) }]);
    expect(a.affectedRows).toBe(1);
    const b = await client.query(insert, ['beta', [], null]);
    expect(b.rows[0]).toMatchObject({ id: 2, name: 'beta', tags: [], meta: null });
    const select = 'select id, name, meta from t where name = any($1::text[]) order by id';
    const ours = await client.query(select, [['alpha', 'beta', 'nobody']]);
    const theirs = await pglite.query(select, [['alpha', 'beta', 'nobody']]);
    expect(ours.rows).toEqual(theirs.rows);
    const upd = await client.query('update t set meta = $2 where id = $1', [1, { k: 2 }]);
    expect(upd.affectedRows).toBe(1);
    expect(upd.rows).toEqual([]);
  });

  it('a failing execution leaves the statement and the session usable', async () => {
    const insert = 'insert into t (name) values ($1) returning id';
    await client.query(insert, ['gamma']);
    await expect(client.query(insert, ['gamma'])).rejects.toMatchObject({ code: '23505' });
    await expect(client.query(insert, ['delta'])).resolves.toMatchObject({ rows: [{ id: expect.any(Number) }] });
    // A statement that does not parse is refused and not kept.
    await expect(client.query('selec 1', [])).rejects.toMatchObject({ code: '42601' });
    await expect(client.query('select count(*)::int as n from t', [])).resolves.toMatchObject({ rows: [{ n: 4 }] });
  });

  it('transactions through the same path commit and roll back; an aborted one refuses until rollback', async () => {
    await client.query('begin');
    await client.query('insert into t (name) values ($1)', ['in-tx']);
    await client.query('rollback');
    expect((await client.query('select count(*)::int as n from t where name = $1', ['in-tx'])).rows).toEqual([{ n: 0 }]);
    await client.query('begin');
    await expect(client.query('insert into t (name) values ($1)', ['alpha'])).rejects.toMatchObject({ code: '23505' });
    await expect(client.query('select count(*)::int as n from t where name = $1', ['alpha'])).rejects.toMatchObject({ code: '25P02' });
    await client.query('rollback');
    await client.query('begin');
    await client.query('insert into t (name) values ($1)', ['in-tx']);
    await client.query('commit');
    expect((await client.query('select count(*)::int as n from t where name = $1', ['in-tx'])).rows).toEqual([{ n: 1 }]);
  });

  it('a statement whose result columns changed with the schema is prepared again', async () => {
    const select = 'select * from t where id = $1';
    const before = await client.query(select, [1]);
    expect(Object.keys(before.rows[0] as object)).not.toContain('extra');
    await pglite.exec("alter table t add column extra text not null default 'e'");
    const after = await client.query(select, [1]);
    expect(after.rows[0]).toMatchObject({ id: 1, extra: 'e' });
  });

  it('past the cache’s size, statements still run (unnamed)', async () => {
    for (let i = 0; i < 6; i++) {
      const r = await client.query(`select $1::int + ${i} as v`, [10]);
      expect(r.rows).toEqual([{ v: 10 + i }]);
    }
  });

  it('NOTIFY still reaches listeners when the change came through a prepared statement', async () => {
    const heard: string[] = [];
    const stop = await pglite.listen('t_changes', (payload) => heard.push(payload));
    await client.query('insert into t (name) values ($1)', ['notified']);
    await new Promise((r) => setTimeout(r, 20));
    await stop();
    expect(heard).toContain('notified');
  });

  it('values are parameters, never SQL', async () => {
    const hostile = "x'); drop table t; --";
    await client.query('insert into t (name) values ($1)', [hostile]);
    expect((await client.query('select name from t where name = $1', [hostile])).rows).toEqual([{ name: hostile }]);
    expect((await pglite.query<{ n: number }>('select count(*)::int as n from t')).rows[0]!.n).toBeGreaterThan(5);
  });

  it('once PGlite is closed, a statement fails with PGlite’s own words instead of reaching it', async () => {
    await client.close();
    await expect(client.query('select 1 as one', [])).rejects.toThrow(/^PGlite is closed/);
    await expect(client.query('select name from t where name = $1', ['alpha'])).rejects.toThrow(/^PGlite is closed/);
  });
});
