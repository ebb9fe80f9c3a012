import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { createDb, type DbHandle } from '../../src/db/database.js';
import { checkClock, checkMigrations, checkNodes, CLOCK_FAIL_MS, CLOCK_WARN_MS } from '../../src/doctor/doctor.js';
import { openTestDb } from '../support/test-db.js';
import { BIN, tempDir } from './cli-harness.js';

// `hostplane doctor` against a real installation of this run's database kind: an embedded data dir
// made from the migrated template, or a PostgreSQL database of this file's own.

const onPostgres = process.env.HOSTPLANE_TEST_DB === 'postgres';
const tmp = tempDir();
const opened: DbHandle[] = [];
afterAll(async () => {
  for (const db of opened) await db.close();
  tmp.remove();
});

interface Check {
  check: string;
  status: 'ok' | 'warn' | 'fail' | 'skip';
  message: string;
}
interface Report {
  version: string;
  ok: boolean;
  checks: Check[];
}

let n = 0;

/**
 * A migrated installation: the data dir as the first start leaves it (0700, key files 0600) and, on
 * PostgreSQL, a database of its own. The embedded one is closed again: doctor opens it itself.
 */
async function installation(): Promise<{ dataDir: string; env: Record<string, string> }> {
  const dataDir = path.join(tmp.dir, `data-${n++}`);
  fs.mkdirSync(dataDir, { mode: 0o700 });
  fs.writeFileSync(path.join(dataDir, 'operator-key'), 'hp_op_doctor_test_key\n', { mode: 0o600 });
  fs.writeFileSync(path.join(dataDir, 'master-key'), '# test\nMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n', { mode: 0o600 });
  if (onPostgres) {
    const db = await openTestDb();
    opened.push(db);
    return { dataDir, env: { HOSTPLANE_DATA_DIR: dataDir, DATABASE_URL: db.databaseUrl! } };
  }
  const db = await createDb({ dataDir: path.join(dataDir, 'pgdata'), loadDataDir: new Blob([fs.readFileSync(inject('pgliteTemplate'))]) });
  await db.close();
  return { dataDir, env: { HOSTPLANE_DATA_DIR: dataDir } };
}

function doctor(env: Record<string, string>, args: string[] = ['--json']): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, 'doctor', ...args], { cwd: tmp.dir, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 90_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

async function doctorJson(env: Record<string, string>): Promise<{ code: number; report: Report; byCheck: (name: string) => Check }> {
  const r = await doctor(env);
  let report: Report;
  try {
    report = JSON.parse(r.stdout) as Report;
  } catch {
    throw new Error(`doctor printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  return { code: r.code, report, byCheck: (name) => report.checks.find((c) => c.check === name)! };
}

// Each case opens the embedded database once or twice, which takes seconds on a busy two-core machine.
describe('hostplane doctor', { timeout: 120_000 }, () => {
  it('on a fresh installation: every check ok (nodes skipped: none registered), exit 0, one line per check', async () => {
    const { env } = await installation();
    const r = await doctor(env, []);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[lines.length - 1]).toMatch(/^hostplane \S+: no check failed$/);
    const names = lines.slice(0, -1).map((l) => l.split(/\s+/).slice(0, 2));
    expect(names.map(([, check]) => check)).toEqual(['config', 'database', 'migrations', 'clock', 'nodes', 'relay', 'permissions', 'permissions', 'permissions']);
    for (const [status, check] of names) expect(`${check} ${status}`).toBe(`${check} ${check === 'nodes' ? 'skip' : 'ok'}`);
    expect(r.stdout).toMatch(onPostgres ? /database\s+PostgreSQL \d+/ : /database\s+embedded \(PGlite, PostgreSQL \d+/);
    expect(r.stdout).toMatch(/migrations\s+all \d+ applied/);
    expect(r.stdout).toContain('no nodes registered');
  });

  it('before the first start: no database yet is not a failure, and doctor creates nothing', async () => {
    const dataDir = path.join(tmp.dir, 'never-started');
    const { code, report, byCheck } = await doctorJson({ HOSTPLANE_DATA_DIR: dataDir });
    expect(code).toBe(0);
    expect(report.ok).toBe(true);
    expect(byCheck('database').message).toContain('the first `hostplane serve` creates it');
    expect(byCheck('migrations').status).toBe('skip');
    expect(fs.existsSync(dataDir)).toBe(false);
  });

  it('a DATABASE_URL nothing answers: database fails with the reason, the checks that need it are skipped, the password is never printed', async () => {
    const dataDir = path.join(tmp.dir, 'unreachable');
    const r = await doctor({ HOSTPLANE_DATA_DIR: dataDir, DATABASE_URL: 'postgres://hostplane:s3cret-pw@127.0.0.1:1/hostplane' }, []);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL\s+database\s+cannot use PostgreSQL at postgres:\/\/hostplane:\*\*\*@127\.0\.0\.1:1\/hostplane: .*ECONNREFUSED/);
    expect(r.stdout).toMatch(/skip\s+migrations/);
    expect(r.stdout + r.stderr).not.toContain('s3cret-pw');
    expect(r.stdout).toMatch(/1 check\(s\) failed/);
  });

  it('a DATABASE_URL that is not a PostgreSQL URL: the config check fails and nothing else runs', async () => {
    const { code, report } = await doctorJson({ HOSTPLANE_DATA_DIR: tmp.dir, DATABASE_URL: 'mysql://root@127.0.0.1/hostplane' });
    expect(code).toBe(1);
    expect(report.checks[0]).toEqual({ check: 'config', status: 'fail', message: 'DATABASE_URL: must be a postgres:// or postgresql:// URL' });
    expect(report.checks.slice(1).every((c) => c.status === 'skip')).toBe(true);
  });

  it.runIf(onPostgres)('a PostgreSQL database that does not exist fails with the server\'s own words', async () => {
    const url = new URL(process.env.DATABASE_URL!);
    url.pathname = '/hostplane_doctor_no_such_db';
    const { code, byCheck } = await doctorJson({ HOSTPLANE_DATA_DIR: tmp.dir, DATABASE_URL: url.toString() });
    expect(code).toBe(1);
    expect(byCheck('database').message).toMatch(/database "hostplane_doctor_no_such_db" does not exist/);
  });

  it.runIf(!onPostgres)('an embedded database held by a running server: database ok, what needs it skipped with the reason', async () => {
    // A data dir with a database in it (doctor looks no further than PG_VERSION before the lock), and
    // the lock a live process (this test's own) holds, as a running server's would be.
    const dataDir = path.join(tmp.dir, 'held');
    fs.mkdirSync(path.join(dataDir, 'pgdata'), { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(dataDir, 'pgdata', 'PG_VERSION'), '17\n');
    fs.writeFileSync(path.join(dataDir, 'pgdata.lock'), String(process.pid));
    const env = { HOSTPLANE_DATA_DIR: dataDir };
    const { code, byCheck } = await doctorJson(env);
    expect(code).toBe(0);
    expect(byCheck('database').message).toContain(`in use by process ${process.pid}`);
    expect(byCheck('clock')).toEqual({ check: 'clock', status: 'skip', message: `process ${process.pid} holds the embedded database; stop it to check this too` });
    fs.rmSync(path.join(dataDir, 'pgdata.lock'));
  });

  it('flags key files and data dirs other users can reach (a world-readable operator key fails, group access warns) and an unwritable relay dir (here: a file in its place)', async () => {
    const { dataDir, env } = await installation();
    fs.writeFileSync(path.join(dataDir, 'relay'), 'not a directory');
    fs.chmodSync(path.join(dataDir, 'operator-key'), 0o644);
    fs.chmodSync(path.join(dataDir, 'master-key'), 0o640);
    fs.chmodSync(dataDir, 0o755);
    const configFile = path.join(tmp.dir, `world-${n++}.env`);
    fs.writeFileSync(configFile, `HOSTPLANE_DATA_DIR=${dataDir}\n`, { mode: 0o644 });
    fs.chmodSync(configFile, 0o644);
    const r = await doctor({ ...env, HOSTPLANE_CONFIG: configFile }, []);
    expect(r.code).toBe(1);
    const key = path.join(dataDir, 'operator-key');
    expect(r.stdout).toContain(`FAIL  permissions  operator key ${key}: mode 0644, other users may read or change it; chmod 600 ${key}`);
    expect(r.stdout).toMatch(/warn\s+permissions\s+master key .*: mode 0640, its group may read it/);
    expect(r.stdout).toMatch(new RegExp(`warn\\s+permissions\\s+data dir ${dataDir}: mode 0755, other users may read what it holds; chmod 700`));
    expect(r.stdout).toMatch(/FAIL\s+permissions\s+config file .*world-\d+\.env: mode 0644/);
    expect(r.stdout).toContain(`FAIL  relay        ${path.join(dataDir, 'relay')} is not a directory: the postfix-maps driver writes its map files there`);
    // The checks that found nothing wrong still ran and say so.
    expect(r.stdout).toMatch(/ok\s+migrations\s+all \d+ applied/);
    expect(r.stdout).toMatch(/3 check\(s\) failed, 2 warning\(s\)$/m);
    // It names files and modes, never their contents.
    expect(r.stdout + r.stderr).not.toContain('hp_op_doctor_test_key');
    expect(r.stdout + r.stderr).not.toContain('MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=');
  });

});

// The checks that read the database, on one database of this run's kind, changed between calls.
describe('doctor\'s database checks', { timeout: 120_000 }, () => {
  let db: DbHandle;
  beforeAll(async () => {
    db = await openTestDb();
    opened.push(db);
  });

  it('migrations: all applied is ok, one missing warns (pending), one this version does not know fails', async () => {
    expect(await checkMigrations(db)).toEqual({ check: 'migrations', status: 'ok', message: expect.stringMatching(/^all \d+ applied \(latest \d{4}-[a-z-]+\)$/) });
    const latest = (await sql<{ name: string }>`select max(name) as name from hostplane_migrations`.execute(db.db)).rows[0]!.name;
    await sql`delete from hostplane_migrations where name = ${latest}`.execute(db.db);
    const pending = await checkMigrations(db);
    expect(pending.status).toBe('warn');
    expect(pending.message).toMatch(new RegExp(`^1 of \\d+ pending \\(${latest}\\): \`hostplane db migrate\` or the next start applies them$`));
    await sql`insert into hostplane_migrations (name, timestamp) values (${latest}, now()::text), ('9999-from-the-future', now()::text)`.execute(db.db);
    const newer = await checkMigrations(db);
    expect(newer.status).toBe('fail');
    expect(newer.message).toContain('(9999-from-the-future): it was migrated by a newer version');
    await sql`delete from hostplane_migrations where name = '9999-from-the-future'`.execute(db.db);
  });

  it('clock: a few seconds apart warns, over a minute fails', async () => {
    const clock = (shift: number) => checkClock(db, () => Date.now() + shift);
    expect((await clock(0)).status).toBe('ok');
    const warn = await clock(CLOCK_WARN_MS * 3);
    expect(warn.status).toBe('warn');
    expect(warn.message).toMatch(/clock is \d+ ms behind this machine's: synchronise both clocks/);
    const fail = await clock(-CLOCK_FAIL_MS * 2);
    expect(fail.status).toBe('fail');
    expect(fail.message).toMatch(/ahead of this machine's: login tokens and sessions will misbehave/);
  });

  it('nodes: skipped while none is registered; counted by health, a silent one warns', async () => {
    expect(await checkNodes(db)).toEqual({ check: 'nodes', status: 'skip', message: 'no nodes registered: sites are not placed on any node' });
    await sql`insert into nodes (name, roles, state, last_heartbeat_at) values ('doc1', '{web}', 'active', now()), ('doc2', '{web}', 'draining', null)`.execute(db.db);
    expect(await checkNodes(db)).toEqual({ check: 'nodes', status: 'ok', message: '2 registered: 1 healthy, 0 unhealthy, 1 draining' });
    await sql`insert into nodes (name, roles, state, last_heartbeat_at) values ('doc3', '{web}', 'active', now() - interval '5 minutes')`.execute(db.db);
    expect(await checkNodes(db, 60)).toEqual({ check: 'nodes', status: 'warn', message: '3 registered: 1 healthy, 1 unhealthy, 1 draining (no heartbeat for 60 s: see hostplane node list)' });
    await sql`delete from nodes`.execute(db.db);
  });
});
