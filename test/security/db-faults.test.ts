import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, sql, type DatabaseConnection, type Driver } from 'kysely';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { ctxFor, type CoreDeps } from '../../src/core/context.js';
import { createOperatorKey } from '../../src/core/credentials/credential.service.js';
import { createDb, type Database, type DbHandle } from '../../src/db/database.js';
import { DataDirInUseError, lockDataDir, processStartTime } from '../../src/db/data-dir-lock.js';
import { JobRunner } from '../../src/jobs/job-runner.js';
import type { RelayDriver } from '../../src/relay/relay-driver.js';
import { BIN, runBin } from '../cli/cli-harness.js';
import { freePort, startPgCluster, type PgCluster } from '../support/pg-cluster.js';
import { runPhpSoap } from '../support/php-soap.js';
import { openTestDb } from '../support/test-db.js';

const onPostgres = process.env.HOSTPLANE_TEST_DB === 'postgres';

// Short deadlines keep the file fast; production defaults are in src/db/pg-guard.ts.
const DB_ENV = {
  HOSTPLANE_DB_CONNECT_TIMEOUT_MS: '1000',
  HOSTPLANE_DB_STATEMENT_TIMEOUT_MS: '2000',
  HOSTPLANE_DB_LOCK_TIMEOUT_MS: '500',
  HOSTPLANE_DB_QUERY_TIMEOUT_MS: '3000',
  HOSTPLANE_DB_STALL_MS: '500',
  HOSTPLANE_DB_PROBE_TIMEOUT_MS: '500',
};
/** Far above any configured deadline (connect 1 s, query 3 s, stall + probe 1 s): an answer later than this hung. */
const HANG_MS = 15_000;

interface Answer {
  door: string;
  status: number;
  headers: Headers;
  body: string;
  sentAt: number;
  answeredAt: number;
}

interface Door {
  name: string;
  send(): Promise<Response>;
  /** The door's answer while the database serves. */
  ok(a: Answer): boolean;
  /** The door's own "temporarily unavailable, retry later". */
  unavailable(a: Answer): boolean;
}

const json = (a: Answer) => {
  try {
    return JSON.parse(a.body) as Record<string, unknown>;
  } catch {
    return {};
  }
};
const retryAfter = (a: Answer) => Number(a.headers.get('retry-after')) > 0;
const UNAVAILABLE_TEXT = /temporarily unavailable/;
const PY_AUTHENTICATE = `
import sys, xmlrpc.client
try:
    print('uid', xmlrpc.client.ServerProxy(sys.argv[1]).authenticate('hostplane', sys.argv[2], 'not-the-password', {}))
except xmlrpc.client.Fault as f:
    print(f'fault {f.faultCode}: {f.faultString}')
`;

describe.runIf(onPostgres)('PostgreSQL stopped and frozen under a trickle of requests on every door', () => {
  let cluster: PgCluster;
  let handle: DbHandle;
  let app: App;
  let base: string;
  let operatorKey: string;
  let doors: Door[];
  let resellerAuth: string;
  let login: string;
  let notified = 0;
  let unlisten: (() => Promise<void>) | undefined;
  const logLines: Array<{ level: number; msg: string }> = [];
  const relayed: string[] = [];
  const relay: RelayDriver = {
    name: 'recorder',
    async apply(ops) {
      for (const op of ops) relayed.push(op.op === 'deprovision' ? op.name : op.domain.name);
    },
    provisionDomain: (d) => relay.apply([{ op: 'provision', domain: d }]),
    updateDomain: (d) => relay.apply([{ op: 'update', domain: d }]),
    deprovisionDomain: (name) => relay.apply([{ op: 'deprovision', name }]),
  };

  beforeAll(async () => {
    cluster = await startPgCluster();
    const config = loadConfig({ HOSTPLANE_DATA_DIR: '/nonexistent-test-dir', HOSTPLANE_PUBLIC_URL: 'https://panel.hostplane.test', HOSTPLANE_RELAY_HOSTS: 'relay1.example.net', ...DB_ENV });
    handle = await createDb({ databaseUrl: cluster.url, timeouts: config.dbTimeouts, poolSize: 5 });
    const logs = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line) logLines.push(JSON.parse(line) as { level: number; msg: string });
        done();
      },
    });
    app = await createApp(config, { dbHandle: handle, relayDriver: relay, logger: pino({ level: 'debug' }, logs), jobRunner: { pollMs: 100, failureBackoffMaxMs: 1000 } });
    operatorKey = (await createOperatorKey(ctxFor(app.deps, { kind: 'system' }), 'db-faults')).key;
    await app.server.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.server.address() as { port: number }).port}`;
    app.jobs.start();

    const demo = (await (await fetch(`${base}/admin/v1/demo`, { method: 'POST', headers: { authorization: `Bearer ${operatorKey}` } })).json()) as {
      reseller: { api_token: string; api_key: string };
      portal_admin: { login: string; password: string };
    };
    const reseller = `Basic ${Buffer.from(`${demo.reseller.api_token}:${demo.reseller.api_key}`).toString('base64')}`;
    resellerAuth = reseller;
    unlisten = await handle.listen('hp_db_faults', () => notified++);
    login = demo.portal_admin.login;
    const password = demo.portal_admin.password;
    const admin = { authorization: `Bearer ${operatorKey}` };
    const xml = (body: string) => ({ method: 'POST', headers: { 'content-type': 'text/xml' }, body });
    const jsonPost = (body: unknown, headers: Record<string, string> = {}) => ({ method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    const get = (url: string, init: RequestInit = {}) => () => fetch(`${base}${url}`, { ...init, signal: AbortSignal.timeout(60_000) });
    const post = (url: string, init: RequestInit) => () => fetch(`${base}${url}`, { ...init, signal: AbortSignal.timeout(60_000) });
    const jsonError = (a: Answer) => a.status === 503 && retryAfter(a) && (json(a).error as { code?: string } | undefined)?.code === 'unavailable';
    doors = [
      { name: 'readyz', send: get('/readyz'), ok: (a) => a.status === 200, unavailable: (a) => a.status === 503 },
      {
        name: 'hsp',
        send: get('/v1/clients', { headers: { authorization: reseller } }),
        ok: (a) => a.status === 200,
        unavailable: (a) => a.status === 503 && retryAfter(a) && UNAVAILABLE_TEXT.test(String((json(a).errors as { base?: string[] } | undefined)?.base?.[0])),
      },
      { name: 'admin', send: get('/admin/v1/resellers', { headers: admin }), ok: (a) => a.status === 200, unavailable: jsonError },
      // A cookie that names no session: the client API has to look it up to say "not signed in".
      { name: 'client-rest', send: get('/client/v1/session', { headers: { cookie: 'hp_session=no-such-session' } }), ok: (a) => a.status === 200 && json(a).signed_in === false, unavailable: jsonError },
      {
        name: 'crm',
        send: get('/api/v1/users/subscriptions', { headers: { authorization: 'Bearer no-such-token' } }),
        ok: (a) => a.status === 403,
        unavailable: (a) => a.status === 503 && retryAfter(a) && json(a).status === 'error' && json(a).error === 'service_unavailable',
      },
      { name: 'cpcmd', send: post('/api/v1/cpcmd/admin:collect', jsonPost({ args: [] }, admin)), ok: (a) => a.status === 200, unavailable: jsonError },
      {
        name: 'soap',
        send: post(
          `/soap?authkey=${operatorKey}`,
          xml(`<?xml version="1.0"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="urn:apnscp"><SOAP-ENV:Body><ns1:admin_collect/></SOAP-ENV:Body></SOAP-ENV:Envelope>`),
        ),
        ok: (a) => a.status === 200 && a.body.includes('admin_collectResponse'),
        unavailable: (a) => a.status === 503 && retryAfter(a) && a.body.includes('<faultcode>SOAP-ENV:Server</faultcode>') && UNAVAILABLE_TEXT.test(a.body),
      },
      {
        name: 'xmlrpc',
        send: post(
          '/xmlrpc/2/common',
          xml(`<?xml version="1.0"?><methodCall><methodName>authenticate</methodName><params><param><value><string>hostplane</string></value></param><param><value><string>${login}</string></value></param><param><value><string>${password}</string></value></param><param><value><struct></struct></value></param></params></methodCall>`),
        ),
        ok: (a) => a.status === 200 && /<int>\d+<\/int>/.test(a.body) && !a.body.includes('<fault>'),
        // Faults travel as HTTP 200, as Odoo sends them; Retry-After rides along.
        unavailable: (a) => a.status === 200 && retryAfter(a) && a.body.includes('<fault>') && /<name>faultCode<\/name>\s*<value><int>1<\/int>/.test(a.body) && UNAVAILABLE_TEXT.test(a.body),
      },
      {
        name: 'jsonrpc',
        send: post('/jsonrpc', jsonPost({ jsonrpc: '2.0', method: 'call', id: 7, params: { service: 'common', method: 'authenticate', args: ['hostplane', login, password, {}] } })),
        ok: (a) => a.status === 200 && typeof json(a).result === 'number',
        unavailable: (a) => a.status === 200 && retryAfter(a) && (json(a).error as { data?: { name?: string } } | undefined)?.data?.name === 'psycopg2.OperationalError' && json(a).id === 7,
      },
      {
        name: 'console',
        send: get('/apps/dashboard?esprit_id=no-such-session'),
        ok: (a) => a.status === 401 && a.headers.get('content-type')?.startsWith('text/html') === true,
        unavailable: (a) => a.status === 503 && retryAfter(a) && a.headers.get('content-type')?.startsWith('text/html') === true,
      },
    ];
  }, 120_000);

  afterAll(async () => {
    await cluster?.thaw().catch(() => {});
    await unlisten?.();
    await app?.close();
    await handle?.close();
    await cluster?.destroy();
  }, 60_000);

  const ask = async (door: Door): Promise<Answer> => {
    const sentAt = Date.now();
    const res = await door.send();
    const body = await res.text();
    return { door: door.name, status: res.status, headers: res.headers, body, sentAt, answeredAt: Date.now() };
  };
  const round = () => Promise.all(doors.map(ask));
  const verdict = (a: Answer) => {
    const door = doors.find((d) => d.name === a.door)!;
    return door.ok(a) ? 'ok' : door.unavailable(a) ? 'unavailable' : `unexpected ${a.status}: ${a.body.slice(0, 300)}`;
  };

  /** Rounds until every door answers as usual; fails the test after `ms`. */
  async function recovered(ms = 30_000): Promise<void> {
    const until = Date.now() + ms;
    let last: string[] = [];
    while (Date.now() < until) {
      const answers = await round();
      last = answers.map((a) => `${a.door}: ${verdict(a)}`);
      if (answers.every((a) => verdict(a) === 'ok')) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`not recovered within ${ms} ms: ${last.join('; ')}`);
  }

  it('serves every door normally before anything breaks', async () => {
    const answers = await round();
    expect(answers.map((a) => `${a.door}: ${verdict(a)}`)).toEqual(doors.map((d) => `${d.name}: ok`));
  });

  it('server-side deadlines: a request stuck behind a lock gets 503 after lock_timeout; migrations run without the statement timeout', async () => {
    const locker = new pg.Client({ connectionString: cluster.url });
    await locker.connect();
    try {
      await locker.query('begin');
      await locker.query('lock table resellers in access exclusive mode');
      const res = await fetch(`${base}/admin/v1/resellers`, { headers: { authorization: `Bearer ${operatorKey}` } });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      expect(await res.json()).toMatchObject({ error: { code: 'unavailable' } });
    } finally {
      await locker.query('rollback');
      await locker.end();
    }
    const slow = sql`select pg_sleep(2.5)`;
    const cancelled = await slow.execute(handle.db).then(() => undefined, (e: unknown) => e);
    expect((cancelled as { code?: string } | undefined)?.code).toBe('57014');
    await expect(handle.withoutTimeouts((db) => slow.execute(db))).resolves.toBeDefined();
  }, 30_000);

  it('stopped: every door answers 503 in its own format (never 500, never hanging), the CLI exits 7, and all recover when it is back', async () => {
    const answers: Answer[] = [];
    let trickling = true;
    const trickle = (async () => {
      while (trickling) {
        answers.push(...(await round()));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    try {
      await new Promise((r) => setTimeout(r, 300));
      await cluster.stop();
      const stoppedAt = Date.now();
      // Every door has answered "unavailable" to a request sent after the stop (bounded wait).
      const until = Date.now() + 20_000;
      while (Date.now() < until && !doors.every((d) => answers.some((a) => a.door === d.name && a.sentAt > stoppedAt && d.unavailable(a)))) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const cli = await runBin(['reseller', 'list'], { HOSTPLANE_URL: base, HOSTPLANE_API_KEY: operatorKey });
      expect(cli.code, cli.stderr).toBe(7);
      expect(cli.stderr).toMatch(/temporarily unavailable/);
      const migrate = await runBin(['db', 'migrate'], { DATABASE_URL: cluster.url, HOSTPLANE_DATA_DIR: '/nonexistent-test-dir', ...DB_ENV });
      expect(migrate.code, migrate.stderr).toBe(7);
      expect(migrate.stderr).toMatch(/cannot reach the database/);
      // Real clients of the RPC doors read "retry later" as their own kind of fault.
      const [soap] = await runPhpSoap([{ op: 'admin_collect', args: [] }], { wsdl: `${base}/apnscp.wsdl`, location: `${base}/soap?authkey=${operatorKey}` });
      expect(soap).toMatchObject({ status: 503, fault: { faultcode: 'SOAP-ENV:Server', faultstring: expect.stringMatching(UNAVAILABLE_TEXT) } });
      const py = await promisify(execFile)('python3', ['-c', PY_AUTHENTICATE, `${base}/xmlrpc/2/common`, login]);
      expect(py.stdout).toMatch(/^fault 1: .*temporarily unavailable/);
      await cluster.start();
      await recovered();
    } finally {
      trickling = false;
      await trickle;
    }
    const after = answers;
    for (const door of doors) expect(after.some((a) => a.door === door.name && door.unavailable(a)), `${door.name} answered "unavailable" while stopped`).toBe(true);
    const unexpected = after.filter((a) => !['ok', 'unavailable'].includes(verdict(a))).map((a) => `${a.door}: ${verdict(a)}`);
    expect(unexpected).toEqual([]);
    expect(after.filter((a) => a.status >= 500 && a.status !== 503)).toEqual([]);
    expect(Math.max(...after.map((a) => a.answeredAt - a.sentAt))).toBeLessThan(HANG_MS);
  }, 90_000);

  it('frozen (SIGSTOP): /readyz and every door answer 503 while it is still frozen, `db migrate` exits 7, and SIGCONT brings them back', async () => {
    await recovered();
    await cluster.freeze();
    let thawedAt = Number.POSITIVE_INFINITY;
    let answers: Answer[] = [];
    let migrate: Awaited<ReturnType<typeof runBin>> | undefined;
    try {
      // The freeze lasts until everything has answered, or 20 s: an answer that waited for the thaw hung.
      const pending = Promise.all([
        round().then((a) => (answers = a)),
        runBin(['db', 'migrate'], { DATABASE_URL: cluster.url, HOSTPLANE_DATA_DIR: '/nonexistent-test-dir', ...DB_ENV }).then((r) => (migrate = r)),
      ]);
      await Promise.race([pending, new Promise((r) => setTimeout(r, 20_000))]);
    } finally {
      await cluster.thaw();
      thawedAt = Date.now();
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(answers.map((a) => `${a.door}: ${verdict(a)}${a.answeredAt < thawedAt ? '' : ' (only after the thaw)'}`)).toEqual(doors.map((d) => `${d.name}: unavailable`));
    expect(migrate?.code, migrate?.stderr).toBe(7);
    await recovered();
  }, 90_000);

  it('keeps the job runner and LISTEN going: a domain created after both outages is provisioned, a NOTIFY arrives, each outage was logged once', async () => {
    // The LISTEN connection of beforeAll died with the stopped server; it must have come back by itself.
    const before = notified;
    await sql`select pg_notify('hp_db_faults', '')`.execute(handle.db);
    const until = Date.now() + 20_000;
    while (Date.now() < until && notified === before) await new Promise((r) => setTimeout(r, 50));
    expect(notified).toBeGreaterThan(before);

    const name = `after-outage-${Date.now()}.example.com`;
    const res = await fetch(`${base}/v1/clients`, {
      method: 'POST',
      headers: { authorization: resellerAuth, 'content-type': 'application/json' },
      body: JSON.stringify({ package_uid: 'spamstopshere-professional', user_count: 1, domains: [{ name, mail_servers: ['mx.example.net'] }] }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
    while (Date.now() < until && !relayed.includes(name)) await new Promise((r) => setTimeout(r, 100));
    expect(relayed).toContain(name);

    // One error per outage, not one per poll; and the runner said when it carried on (the pass that
    // ran the job says so as it ends, so give it a moment).
    const outages = () => logLines.filter((l) => l.msg === 'job runner tick failed; backing off until the database answers').length;
    const resumed = () => logLines.filter((l) => l.msg === 'job runner resumed').length;
    while (Date.now() < until && resumed() < outages()) await new Promise((r) => setTimeout(r, 50));
    expect(outages()).toBeGreaterThanOrEqual(1);
    expect(outages()).toBeLessThanOrEqual(2);
    expect(resumed()).toBe(outages());
  }, 60_000);
});

describe('the job runner while the database keeps failing', () => {
  it('waits longer after each failed pass instead of polling at full speed, logs the outage once, and resumes by itself', async () => {
    vi.useFakeTimers();
    let failing = true;
    let failedAcquires = 0;
    // A Kysely whose every connection attempt is refused while `failing`, and that finds no jobs otherwise.
    const connection: DatabaseConnection = { executeQuery: async () => ({ rows: [] }), streamQuery: async function* () {} };
    const driver: Driver = {
      init: async () => {},
      acquireConnection: async () => {
        if (!failing) return connection;
        failedAcquires++;
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
      },
      beginTransaction: async () => {},
      commitTransaction: async () => {},
      rollbackTransaction: async () => {},
      releaseConnection: async () => {},
      destroy: async () => {},
    };
    const db = new Kysely<Database>({
      dialect: { createAdapter: () => new PostgresAdapter(), createDriver: () => driver, createIntrospector: (k) => new PostgresIntrospector(k), createQueryCompiler: () => new PostgresQueryCompiler() },
    });
    const lines: Array<{ msg: string }> = [];
    const log = pino({ level: 'debug' }, new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(...chunk.toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as { msg: string })), done()) }));
    const settings = { publicUrl: 'http://127.0.0.1:8080', relayHosts: [], relayPriorityStep: 10, secret: 'x', webhookTimeoutMs: 1000, webhookAllowPrivate: false, rpcDb: 'hostplane' } as unknown as CoreDeps['settings'];
    const runner = new JobRunner({ db, clock: () => new Date(), log, settings }, [], { pollMs: 250, failureBackoffMaxMs: 5_000 });
    try {
      runner.start();
      await vi.advanceTimersByTimeAsync(30_000);
      // Polling every 250 ms would have tried 120 times; doubling from 250 ms up to 5 s tries about 10.
      expect(failedAcquires).toBeGreaterThanOrEqual(5);
      expect(failedAcquires).toBeLessThanOrEqual(15);
      failing = false;
      await vi.advanceTimersByTimeAsync(6_000);
      const failedNow = failedAcquires;
      await vi.advanceTimersByTimeAsync(2_000);
      expect(failedAcquires).toBe(failedNow);
      expect(lines.filter((l) => l.msg.startsWith('job runner tick failed; backing off')).length).toBe(1);
      expect(lines.filter((l) => l.msg === 'job runner resumed').length).toBe(1);
    } finally {
      await runner.stop();
      vi.useRealTimers();
    }
  });
});

describe.runIf(!onPostgres)('the embedded database: its lock file and a closed PGlite', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hostplane-dbfaults-'));
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('a second server on the same data dir fails at once with exit 7 naming the owner; once the owner is killed, its lock is taken over', async () => {
    const dataDir = path.join(tmp, 'serve');
    const env = { PATH: process.env.PATH ?? '', HOSTPLANE_DATA_DIR: dataDir, HOSTPLANE_DEMO: 'off', HOSTPLANE_LOG_LEVEL: 'warn' };
    const port = await freePort();
    const first = spawn(process.execPath, [BIN, 'serve'], { env: { ...env, PORT: String(port) }, stdio: 'ignore' });
    children.push(first);
    const until = Date.now() + 60_000;
    let up = false;
    while (!up && Date.now() < until && first.exitCode === null) {
      up = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
      if (!up) await new Promise((r) => setTimeout(r, 200));
    }
    expect(up).toBe(true);

    const second = await runBin(['serve'], { ...env, PORT: String(await freePort()) }, 60_000);
    expect(second.code, second.stderr).toBe(7);
    expect(second.stderr).toContain(`in use by process ${first.pid}`);
    const migrate = await runBin(['db', 'migrate'], env, 60_000);
    expect(migrate.code, migrate.stderr).toBe(7);
    expect(migrate.stderr).toContain(`in use by process ${first.pid}`);
    expect(await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status)).toBe(200);

    const exited = new Promise((r) => first.once('exit', r));
    first.kill('SIGKILL');
    await exited;
    expect(fs.existsSync(path.join(dataDir, 'pgdata.lock'))).toBe(true);
    const after = await runBin(['db', 'migrate'], env, 60_000);
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).toContain('database is up to date');
  }, 120_000);

  it('a lock whose pid now belongs to another process is stale (the start time differs); the real owner is refused', async () => {
    const dir = path.join(tmp, 'reused');
    const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    children.push(holder);
    await new Promise((r) => holder.once('spawn', r));
    const started = processStartTime(holder.pid!);
    expect(started).toBeDefined();

    fs.writeFileSync(`${dir}.lock`, `${holder.pid} ${started}`);
    const refused = (() => {
      try {
        return lockDataDir(dir);
      } catch (e) {
        return e;
      }
    })();
    expect(refused).toBeInstanceOf(DataDirInUseError);
    expect((refused as Error).message).toContain(`in use by process ${holder.pid}`);

    // The same pid with another start time: the process that wrote the lock is gone, the pid was reused.
    fs.writeFileSync(`${dir}.lock`, `${holder.pid} ${Number(started) + 1}`);
    const unlock = lockDataDir(dir);
    expect(fs.readFileSync(`${dir}.lock`, 'utf8')).toBe(`${process.pid} ${processStartTime(process.pid)}`);
    unlock();
    expect(fs.existsSync(`${dir}.lock`)).toBe(false);
  }, 60_000);

  it('a PGlite that can no longer serve answers 503 in the doors’ formats, not 500', async () => {
    const handle = await openTestDb();
    const config = loadConfig({ HOSTPLANE_DATA_DIR: '/nonexistent-test-dir', HOSTPLANE_PUBLIC_URL: 'https://panel.hostplane.test' });
    const app = await createApp(config, { dbHandle: handle, logger: pino({ level: 'silent' }) });
    const { key } = await createOperatorKey(ctxFor(app.deps, { kind: 'system' }), 'closed');
    try {
      await handle.pglite!.close();
      const admin = await app.server.inject({ method: 'GET', url: '/admin/v1/resellers', headers: { authorization: `Bearer ${key}` } });
      expect(admin.statusCode, admin.body).toBe(503);
      expect(admin.headers['retry-after']).toBe('5');
      expect(admin.json()).toMatchObject({ error: { code: 'unavailable' } });
      const hsp = await app.server.inject({ method: 'GET', url: '/v1/clients', headers: { authorization: `Basic ${Buffer.from('t:k').toString('base64')}` } });
      expect(hsp.statusCode, hsp.body).toBe(503);
      expect(hsp.json()).toEqual({ errors: { base: [expect.stringMatching(/temporarily unavailable/)] } });
      const ready = await app.server.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
    } finally {
      await app.close();
    }
  }, 60_000);
});
