import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { runBin, tempDir } from '../cli/cli-harness.js';
import { startPgCluster, type PgCluster } from '../support/pg-cluster.js';
import { onPostgres, startServe, type ServeProcess } from './serve-process.js';

// docs/deploy.md's point-in-time recovery, done as written there with Debian's pgbackrest, against a
// cluster of the test's own (it is stopped and restored). Once per run: on the PostgreSQL project.
const run = promisify(execFile);
const tmp = tempDir();
let cluster: PgCluster | undefined;
let server: ServeProcess | undefined;
afterAll(async () => {
  await server?.stop();
  await cluster?.destroy();
  tmp.remove();
}, 60_000);

const asRoot = process.getuid?.() === 0;
/** pgbackrest as the cluster's owner, as docs/deploy.md runs it (`sudo -u postgres`). */
const pgbackrest = (conf: string, ...args: string[]) =>
  asRoot ? run('runuser', ['-u', 'postgres', '--', 'pgbackrest', `--config=${conf}`, '--stanza=hostplane', ...args], { timeout: 120_000 }) : run('pgbackrest', [`--config=${conf}`, '--stanza=hostplane', ...args], { timeout: 120_000 });

describe.skipIf(!onPostgres)('point-in-time recovery with pgBackRest', () => {
  it('brings Hostplane\'s database back to a moment between two writes; the servers then serve what was there at that moment', async () => {
    // The repository and config live beside the cluster, owned by postgres like it.
    const repo = fs.mkdtempSync(path.join(tmp.dir, 'repo-'));
    const conf = path.join(repo, 'pgbackrest.conf');
    const archive = `pgbackrest --config=${conf} --stanza=hostplane archive-push %p`;
    cluster = await startPgCluster({ settings: ['wal_level=replica', 'archive_mode=on', `archive_command=${archive}`] });
    fs.writeFileSync(
      conf,
      [
        '[global]',
        `repo1-path=${repo}/backups`,
        'repo1-retention-full=2',
        'start-fast=y',
        `lock-path=${repo}/lock`,
        `log-path=${repo}/log`,
        'log-level-file=off',
        'log-level-console=warn',
        '[hostplane]',
        `pg1-path=${cluster.dataDir}`,
        `pg1-port=${cluster.port}`,
        `pg1-socket-path=${cluster.socketDir}`,
        '',
      ].join('\n'),
    );
    if (asRoot) {
      const { stdout } = await run('id', ['-u', 'postgres']);
      const uid = Number(stdout);
      const gid = Number((await run('id', ['-g', 'postgres'])).stdout);
      for (const p of [tmp.dir, repo, conf]) fs.chownSync(p, uid, gid);
    }
    const dir = path.join(tmp.dir, 'data');
    const env = { DATABASE_URL: cluster.url, HOSTPLANE_DATA_DIR: dir };
    const migrated = await runBin(['db', 'migrate'], env, 120_000);
    expect(migrated.code, migrated.stderr).toBe(0);

    await pgbackrest(conf, 'stanza-create');
    await pgbackrest(conf, 'check');
    await pgbackrest(conf, '--type=full', 'backup');

    server = await startServe(env);
    const key = fs.readFileSync(path.join(dir, 'operator-key'), 'utf8').trim();
    const create = async (name: string) => {
      const res = await fetch(`${server!.url}/admin/v1/resellers`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name, username: name, email_address: `${name}@example.com` }),
      });
      expect(res.status).toBe(201);
    };
    await create('kept-one');
    await create('kept-two');
    const db = new pg.Client({ connectionString: cluster.url });
    await db.connect();
    let target: string;
    try {
      // pgBackRest keeps a backup's stop time in whole seconds and restores to a time only from a
      // backup that stopped before it: a target in the backup's last second finds none. The writes
      // above are usually done a second later, but not always on a loaded machine.
      const info = JSON.parse((await pgbackrest(conf, '--output=json', 'info')).stdout) as { backup: { timestamp: { stop: number } }[] }[];
      const stopped = Math.max(...info[0]!.backup.map((b) => b.timestamp.stop));
      for (let i = 0; i < 50; i++) {
        const [row] = (await db.query<{ s: string }>('select floor(extract(epoch from clock_timestamp()))::text as s')).rows;
        if (Number(row!.s) > stopped) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      target = (await db.query<{ t: string }>(`select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' as t`)).rows[0]!.t;
      await create('the-mistake');
      // Close the WAL segment holding it, so it is archived (archive_timeout does this on a real install).
      await db.query('select pg_switch_wal()');
    } finally {
      await db.end();
    }
    await pgbackrest(conf, 'check'); // waits until the current WAL segment is in the repository
    expect(await server.stop()).toBe(0);
    server = undefined;

    await cluster.stop();
    await pgbackrest(conf, '--delta', '--type=time', `--target=${target}`, '--target-action=promote', 'restore');
    await cluster.start();
    const rebuilt = await runBin(['db', 'rebuild-after-restore', '--json'], env, 120_000);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);

    server = await startServe(env);
    const res = await fetch(`${server.url}/admin/v1/resellers`, { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
    const names = ((await res.json()) as { username: string }[]).map((r) => r.username).sort();
    expect(names).toEqual(['kept-one', 'kept-two']);
  }, 300_000);
});
