import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Migrator, sql, type Kysely, type Migration } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { createDb } from '../../src/db/database.js';
import { migrationProvider } from '../../src/db/migrations/index.js';
import { tempDir } from '../cli/cli-harness.js';
import { onPostgres, ScratchDatabases, startServe, type ServeProcess } from './serve-process.js';

// Upgrades of several API nodes sharing one PostgreSQL (docs/adr/0026). The embedded database is one
// process's, so there is nothing to roll there: these run on the PostgreSQL project only.
const tmp = tempDir();
const scratch = new ScratchDatabases();
const running: ServeProcess[] = [];
afterAll(async () => {
  await Promise.all(running.map((s) => s.stop()));
  await scratch.dropAll();
  tmp.remove();
}, 60_000);

const keyOf = (dir: string) => fs.readFileSync(path.join(dir, 'operator-key'), 'utf8').trim();

describe.skipIf(!onPostgres)('upgrades on PostgreSQL', () => {
  it('three nodes started at once on an empty database apply each migration once, and all of them serve', async () => {
    const url = await scratch.create('fresh', false);
    const dirs = [1, 2, 3].map((n) => path.join(tmp.dir, `node${n}`));
    // Nodes of one installation share the master key (each would otherwise make its own on first start).
    const masterKey = randomBytes(32).toString('base64');
    // Each node is kept for afterAll as soon as it serves, so one failing to start leaves no other running.
    const nodes = await Promise.all(
      dirs.map(async (dir) => {
        const node = await startServe({ DATABASE_URL: url, HOSTPLANE_DATA_DIR: dir, HOSTPLANE_WORKER: 'off', HOSTPLANE_MASTER_KEY: masterKey });
        running.push(node);
        return node;
      }),
    );
    const known = Object.keys(await migrationProvider.getMigrations()).sort();
    const db = await createDb({ databaseUrl: url, poolSize: 1 });
    try {
      const { rows } = await sql<{ name: string; n: number }>`select name, count(*)::int as n from hostplane_migrations group by name order by name`.execute(db.db);
      expect(rows).toEqual(known.map((name) => ({ name, n: 1 })));
    } finally {
      await db.close();
    }
    // The first node to find no operator key made one (in its data dir); it works on every node.
    const keyDirs = dirs.filter((d) => fs.existsSync(path.join(d, 'operator-key')));
    expect(keyDirs.length).toBeGreaterThanOrEqual(1);
    for (const node of nodes) {
      const res = await fetch(`${node.url}/admin/v1/resellers`, { headers: { authorization: `Bearer ${keyOf(keyDirs[0]!)}` } });
      expect(res.status).toBe(200);
    }
    for (const node of nodes) expect(await node.stop()).toBe(0);
  }, 240_000);

  it('a node of the previous version keeps serving, and starts again, after the next version added to the schema', async () => {
    const url = await scratch.create('rolling', true);
    const dir = path.join(tmp.dir, 'old');
    let old = await startServe({ DATABASE_URL: url, HOSTPLANE_DATA_DIR: dir, HOSTPLANE_WORKER: 'off' });
    running.push(old);
    const key = keyOf(dir);
    const failures: string[] = [];
    let made = 0;
    let stop = false;
    // While it restarts no node answers (a load balancer would send the traffic to another one).
    let restarting = false;
    const step = async () => {
      const n = made;
      const created = await fetch(`${old.url}/admin/v1/resellers`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `Rolling ${n}`, username: `rolling-${n}`, email_address: `rolling-${n}@example.com` }),
      }).catch((e: Error) => ({ status: 0, text: async () => e.message }));
      if (created.status !== 201) failures.push(`create ${n}: ${created.status} ${await created.text()}`);
      else made++;
      const listed = await fetch(`${old.url}/admin/v1/resellers`, { headers: { authorization: `Bearer ${key}` } }).catch(() => ({ status: 0 }));
      if (listed.status !== 200) failures.push(`list: ${listed.status}`);
    };
    // Creates and reads through the old node, for as long as the upgrade takes.
    let current: Promise<void> = Promise.resolve();
    const traffic = (async () => {
      while (!stop) {
        if (restarting) {
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        current = step();
        await current;
      }
    })();
    const waitFor = async (n: number) => {
      while (made < n && failures.length === 0) await new Promise((r) => setTimeout(r, 20));
    };
    await waitFor(3);

    // The next version's migration set: this one's, and one more of the kind the rule allows
    // (a new nullable column, a new table, a new index), applied by "the new node" meanwhile.
    const next: Migration = {
      async up(db: Kysely<unknown>) {
        await sql`alter table resellers add column next_version_note text`.execute(db);
        await sql`create table next_version_things (id bigserial primary key, reseller_id bigint not null references resellers (id), note text not null)`.execute(db);
        await sql`create index resellers_next_version_note on resellers (next_version_note) where next_version_note is not null`.execute(db);
      },
    };
    const newer = await createDb({ databaseUrl: url, poolSize: 1 });
    try {
      const migrator = new Migrator({
        db: newer.db,
        provider: { getMigrations: async () => ({ ...(await migrationProvider.getMigrations()), '9999-next-version': next }) },
        migrationTableName: 'hostplane_migrations',
        migrationLockTableName: 'hostplane_migrations_lock',
      });
      const r = await migrator.migrateToLatest();
      expect(r.error).toBeUndefined();
      expect(r.results?.map((x) => [x.migrationName, x.status])).toEqual([['9999-next-version', 'Success']]);
    } finally {
      await newer.close();
    }
    const afterMigration = made;
    await waitFor(afterMigration + 3);

    // The old node restarts (a crash, or its turn in the roll) while the database is already newer.
    restarting = true;
    await current; // the requests in flight finish first
    expect(await old.stop()).toBe(0);
    old = await startServe({ DATABASE_URL: url, HOSTPLANE_DATA_DIR: dir, HOSTPLANE_WORKER: 'off' });
    running.push(old);
    restarting = false;
    await waitFor(made + 3);
    stop = true;
    await traffic;
    expect(failures).toEqual([]);

    const check = await createDb({ databaseUrl: url, poolSize: 1 });
    try {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from resellers where username like 'rolling-%' and next_version_note is null`.execute(check.db);
      expect(rows[0]!.n).toBe(made);
    } finally {
      await check.close();
    }
  }, 240_000);
});
