import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBin, tempDir } from '../cli/cli-harness.js';
import { onPostgres, openForReading, ScratchDatabases, startServe, tableChecksums, type ServeProcess } from './serve-process.js';

// `hostplane db backup|restore` end to end on this run's database: a real server taking a stream of
// creates over HTTP while the CLI backs it up, restores into fresh targets, and the same data served.
const tmp = tempDir();
const scratch = new ScratchDatabases();
const srcDir = path.join(tmp.dir, 'src');
let srcUrl = '';
let server: ServeProcess | undefined;
const restored: { dir: string; url: string }[] = [];

/** The variables every command of a target gets: its data dir, and its database when on PostgreSQL. */
const envOf = (dir: string, url: string): Record<string, string> => ({ HOSTPLANE_DATA_DIR: dir, ...(onPostgres ? { DATABASE_URL: url } : {}) });
const targetOf = (dir: string, url: string) => (onPostgres ? { databaseUrl: url } : { pgdata: path.join(dir, 'pgdata') });

async function freshTarget(name: string): Promise<{ dir: string; url: string }> {
  const t = { dir: path.join(tmp.dir, name), url: onPostgres ? await scratch.create(name, false) : '' };
  restored.push(t);
  return t;
}

async function sums(dir: string, url: string) {
  const h = await openForReading(targetOf(dir, url));
  try {
    return await tableChecksums(h.db);
  } finally {
    await h.close();
  }
}

const operatorKey = () => fs.readFileSync(path.join(srcDir, 'operator-key'), 'utf8').trim();

async function createReseller(url: string, n: number): Promise<number> {
  const res = await fetch(`${url}/admin/v1/resellers`, {
    method: 'POST',
    headers: { authorization: `Bearer ${operatorKey()}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: `Stream ${n}`, username: `stream-${n}`, email_address: `stream-${n}@example.com` }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: number }).id;
}

beforeAll(async () => {
  if (onPostgres) srcUrl = await scratch.create('src', true);
  server = await startServe(envOf(srcDir, srcUrl));
}, 120_000);

afterAll(async () => {
  await server?.stop();
  if (onPostgres) await scratch.dropAll();
  tmp.remove();
}, 60_000);

describe('db backup and restore', () => {
  const live = path.join(tmp.dir, 'while-writing.backup');
  const quiet = path.join(tmp.dir, 'quiet.backup');
  const acked: number[] = [];

  it('backs up while creates stream in, owner-only; the restore is one consistent moment holding every create acknowledged before it began', async () => {
    const s = server!;
    let stop = false;
    let n = 0;
    const writer = (async () => {
      while (!stop) acked.push(await createReseller(s.url, n++));
    })();
    while (acked.length < 5) await new Promise((r) => setTimeout(r, 20));
    const before = acked.length;
    const r = await runBin(['db', 'backup', live, '--json'], { ...envOf(srcDir, srcUrl), HOSTPLANE_URL: s.url }, 120_000);
    const during = acked.length;
    while (acked.length < during + 3) await new Promise((r) => setTimeout(r, 20));
    stop = true;
    await writer;
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ format: onPostgres ? 'pg_dump' : 'pglite', file: live, ...(onPostgres ? {} : { via: 'server' }) });
    expect(fs.statSync(live).mode & 0o777).toBe(0o600);

    // Restored without the master key beside it: the restore says which key the secrets need.
    const t = await freshTarget('live');
    const back = await runBin(['db', 'restore', live, '--json'], envOf(t.dir, t.url), 120_000);
    expect(back.code, back.stderr).toBe(0);
    expect(JSON.parse(back.stdout)).toMatchObject({ migrated: [], rebuild: { nodes: 0, relay_domains: 0 }, missing_master_key: expect.any(String) });

    const h = await openForReading(targetOf(t.dir, t.url));
    try {
      const { rows } = await sql<{ id: number }>`select id from resellers where username like 'stream-%' order by id`.execute(h.db);
      const ids = rows.map((x) => Number(x.id));
      // Every create acknowledged before the backup started is in it; what it holds is a prefix of the stream.
      expect(ids.length).toBeGreaterThanOrEqual(before);
      expect(ids).toEqual(acked.slice(0, ids.length));
      // One moment of the database: each reseller came with its audit event, in its transaction.
      const { rows: orphans } = await sql<{ n: number }>`
        select (select count(*) from resellers r where r.username like 'stream-%'
                  and not exists (select 1 from audit_events a where a.action = 'reseller.created' and a.target_id = r.id::text))
             + (select count(*) from audit_events a where a.action = 'reseller.created'
                  and not exists (select 1 from resellers r where r.id::text = a.target_id)) as n`.execute(h.db);
      expect(Number(orphans[0]!.n)).toBe(0);
      const restoredRows = await sql<{ t: string }>`select r::text as t from resellers r where username like 'stream-%' order by id`.execute(h.db);
      const h2 = await openSourceWhileServing();
      if (h2) {
        try {
          const sourceRows = await sql<{ t: string }>`select r::text as t from resellers r where username like 'stream-%' and id <= ${ids[ids.length - 1]!} order by id`.execute(h2.db);
          expect(restoredRows.rows).toEqual(sourceRows.rows);
        } finally {
          await h2.close();
        }
      }
    } finally {
      await h.close();
    }
    if (!onPostgres) {
      // The copy came from the running server, which recorded who took it.
      const audit = await fetch(`${s.url}/admin/v1/audit?action=database.backup_taken`, { headers: { authorization: `Bearer ${operatorKey()}` } });
      expect(audit.status).toBe(200);
      expect(JSON.stringify(await audit.json())).toContain('database.backup_taken');
    }
  }, 180_000);

  it('restores a backup taken at rest into a fresh target holding every table with the same rows, and serves the same data', async () => {
    const served = await listResellers(server!.url);
    // At rest: the embedded data dir is then backed up by the CLI itself, under its lock.
    expect(await server!.stop()).toBe(0);
    server = undefined;
    const r = await runBin(['db', 'backup', quiet], envOf(srcDir, srcUrl), 120_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`wrote ${quiet}`);
    expect(fs.statSync(quiet).mode & 0o777).toBe(0o600);

    const t = await freshTarget('quiet');
    fs.mkdirSync(t.dir, { recursive: true });
    fs.copyFileSync(path.join(srcDir, 'master-key'), path.join(t.dir, 'master-key'));
    const back = await runBin(['db', 'restore', quiet], envOf(t.dir, t.url), 120_000);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).not.toContain('master key');

    const [want, got] = [await sums(srcDir, srcUrl), await sums(t.dir, t.url)];
    expect(Object.keys(want).length).toBeGreaterThan(40);
    expect(want.resellers!.rows).toBeGreaterThanOrEqual(acked.length);
    expect(got).toEqual(want);

    const again = await startServe(envOf(t.dir, t.url));
    try {
      expect(await listResellers(again.url, operatorKey())).toEqual(served);
    } finally {
      expect(await again.stop()).toBe(0);
    }
  }, 240_000);

  it('refuses to restore over a target holding data (exit 6) and changes nothing; --force replaces it', async () => {
    const t = restored[1]!;
    const before = await sums(t.dir, t.url);
    const refused = await runBin(['db', 'restore', live], envOf(t.dir, t.url), 60_000);
    expect(refused.code).toBe(6);
    expect(refused.stderr).toMatch(/already holds (a database|tables).*--force/);
    expect(await sums(t.dir, t.url)).toEqual(before);

    const forced = await runBin(['db', 'restore', '--force', live, '--json'], envOf(t.dir, t.url), 120_000);
    expect(forced.code, forced.stderr).toBe(0);
    expect(await sums(t.dir, t.url)).toEqual(await sums(restored[0]!.dir, restored[0]!.url));

    // What a point-in-time recovery is followed by: the same rebuild, on the database as it is.
    const rebuilt = await runBin(['db', 'rebuild-after-restore', '--json'], envOf(t.dir, t.url), 60_000);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect(JSON.parse(rebuilt.stdout)).toEqual({ migrated: [], rebuild: { nodes: 0, relay_domains: 0 } });
  }, 180_000);

  it('refuses a corrupt, truncated or foreign file (exit 5), leaving the empty target empty', async () => {
    const t = await freshTarget('bad');
    const junk = path.join(tmp.dir, 'junk.backup');
    fs.writeFileSync(junk, Buffer.from('not a backup at all, just some text\n'.repeat(50)));
    const cut = path.join(tmp.dir, 'cut.backup');
    const whole = fs.readFileSync(quiet);
    fs.writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
    const flipped = path.join(tmp.dir, 'flipped.backup');
    const damaged = Buffer.from(whole);
    for (let i = 4096; i < damaged.length; i += 997) damaged[i] = damaged[i]! ^ 0xff;
    fs.writeFileSync(flipped, damaged);
    const foreign = path.join(tmp.dir, onPostgres ? 'foreign.tar.gz' : 'foreign.dump');
    fs.writeFileSync(foreign, onPostgres ? Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.alloc(100)]) : Buffer.concat([Buffer.from('PGDMP'), Buffer.alloc(100)]));

    for (const [file, message] of [
      [junk, 'is not a Hostplane backup'],
      [cut, onPostgres ? 'is not a readable pg_dump archive' : 'is not a readable embedded database archive'],
      [flipped, onPostgres ? 'is not a readable pg_dump archive' : 'is not a readable embedded database archive'],
      [foreign, onPostgres ? 'is an embedded database backup' : 'is a PostgreSQL (pg_dump) backup'],
    ] as const) {
      const r = await runBin(['db', 'restore', file], envOf(t.dir, t.url), 60_000);
      expect(r.code, `${file}: ${r.stderr}`).toBe(5);
      expect(r.stderr).toContain(message);
    }
    const missing = await runBin(['db', 'restore', path.join(tmp.dir, 'nope.backup')], envOf(t.dir, t.url));
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain('does not exist');

    if (onPostgres) {
      const h = await openForReading({ databaseUrl: t.url });
      try {
        const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_class c join pg_namespace s on s.oid = c.relnamespace where s.nspname = 'public'`.execute(h.db);
        expect(rows[0]!.n).toBe(0);
      } finally {
        await h.close();
      }
    } else {
      expect(fs.existsSync(path.join(t.dir, 'pgdata', 'PG_VERSION'))).toBe(false);
      expect(fs.existsSync(t.dir) ? fs.readdirSync(t.dir).filter((f) => f.includes('restore')) : []).toEqual([]);
    }
  }, 180_000);

  it('reports a backup it cannot write (exit 5) and leaves no partial file', async () => {
    const aFile = path.join(tmp.dir, 'plain-file');
    fs.writeFileSync(aFile, 'x');
    for (const [file, message] of [
      [path.join(aFile, 'under-a-file.backup'), 'is not a directory'],
      [path.join(tmp.dir, 'no-such-dir', 'x.backup'), 'its directory does not exist'],
    ] as const) {
      const r = await runBin(['db', 'backup', file], envOf(srcDir, srcUrl), 60_000);
      expect(r.code, r.stderr).toBe(5);
      expect(r.stderr).toContain(message);
    }
    expect(fs.readdirSync(tmp.dir).filter((f) => f.endsWith('.partial'))).toEqual([]);
  }, 60_000);
});

async function listResellers(url: string, key = operatorKey()): Promise<unknown> {
  const res = await fetch(`${url}/admin/v1/resellers`, { headers: { authorization: `Bearer ${key}` } });
  expect(res.status).toBe(200);
  return res.json();
}

/** The source database while its server runs: readable directly on PostgreSQL; the embedded one is locked to the server. */
async function openSourceWhileServing() {
  return onPostgres ? openForReading({ databaseUrl: srcUrl }) : undefined;
}
