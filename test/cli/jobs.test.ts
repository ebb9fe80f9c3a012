import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { ctxFor } from '../../src/core/context.js';
import { createOperatorKey } from '../../src/core/credentials/credential.service.js';
import { createDb, type DbHandle } from '../../src/db/database.js';
import type { RelayDriver } from '../../src/relay/relay-driver.js';
import { createReseller, seedDemoCatalog, type ResellerFixture } from '../support/test-app.js';
import { openTestDb } from '../support/test-db.js';
import { BIN, startCliServer, tempDir, type CliServer } from './cli-harness.js';

// A relay that can be switched off, like one that is down: its jobs retry and finally fail.
let relayDown = false;
const relay: RelayDriver = {
  name: 'switchable',
  async apply() {
    if (relayDown) throw new Error('relay unreachable');
  },
  provisionDomain: (d) => relay.apply([{ op: 'provision', domain: d }]),
  updateDomain: (d) => relay.apply([{ op: 'update', domain: d }]),
  deprovisionDomain: (name) => relay.apply([{ op: 'deprovision', name }]),
};

interface AdminJob {
  id: number;
  kind: string;
  state: string;
  attempts: number;
  max_attempts: number;
  last_error: string | null;
  client_id: number | null;
  payload: { domain?: string };
}
interface JobPage {
  jobs: AdminJob[];
  next_before: number | null;
}

let s: CliServer;
let alice: ResellerFixture;
let n = 0;
const domain = () => `jobs-cli-${Date.now().toString(36)}-${n++}.test`;

async function createClient(name: string): Promise<number> {
  const res = await s.t.app.server.inject({ method: 'POST', url: '/v1/clients', headers: { authorization: alice.auth }, payload: { package_uid: 'spamstopshere-standard', user_count: 1, domains: [{ name }] } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as number;
}

const jobFor = (page: JobPage, name: string) => page.jobs.find((j) => j.payload.domain === name);

/** A client whose relay job used up every attempt while the relay was down. */
async function failedJob(): Promise<{ clientId: number; job: AdminJob }> {
  const name = domain();
  const start = Date.now();
  s.t.setNow(new Date(start));
  const clientId = await createClient(name);
  relayDown = true;
  try {
    let clock = start;
    for (let i = 0; i < 60; i++) {
      await s.t.app.jobs.drain();
      // Read through the API rather than the CLI: this loop is set-up, and it runs many times.
      const res = await s.t.app.server.inject({ method: 'GET', url: `/admin/v1/jobs?client_id=${clientId}`, headers: { authorization: `Bearer ${s.t.operatorKey}` } });
      const job = jobFor(res.json() as JobPage, name)!;
      if (job.state === 'failed') return { clientId, job };
      clock += 61_000;
      s.t.setNow(new Date(clock));
    }
    throw new Error('the relay job never failed');
  } finally {
    relayDown = false;
    s.t.setNow(new Date());
  }
}

let failed: { clientId: number; job: AdminJob };
let succeeded: { clientId: number; name: string };

beforeAll(async () => {
  s = await startCliServer({ relayDriver: relay, jobRunner: { backoffBaseMs: 1000, backoffMaxMs: 60_000 } });
  await seedDemoCatalog(s.t);
  alice = await createReseller(s.t);
  const name = domain();
  succeeded = { clientId: await createClient(name), name };
  await createClient(domain());
  await s.t.app.jobs.drain();
  failed = await failedJob();
}, 120_000);
afterAll(() => s.close());

describe('jobs list', () => {
  it('lists jobs newest first as a table, and filters by state, kind and client', async () => {
    const all = await s.cli('jobs', 'list');
    expect(all.code, all.stderr).toBe(0);
    const [header, ...rows] = all.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID +KIND +STATE +ATTEMPTS +CLIENT +RUN AT +LAST ERROR$/);
    const failedRow = rows.find((r) => r.startsWith(`${failed.job.id} `))!;
    expect(failedRow).toMatch(new RegExp(`^${failed.job.id} +relay\\.apply +failed +${failed.job.max_attempts}/${failed.job.max_attempts} +${failed.clientId} `));
    expect(failedRow).toContain('relay unreachable');
    const ids = rows.map((r) => Number(r.split(/ +/)[0]));
    expect([...ids].sort((a, b) => b - a)).toEqual(ids);

    const onlyFailed = await s.cliJson<JobPage>('jobs', 'list', '--state', 'failed');
    expect(onlyFailed.jobs.map((j) => j.id)).toContain(failed.job.id);
    expect(onlyFailed.jobs.every((j) => j.state === 'failed')).toBe(true);

    const done = await s.cliJson<JobPage>('jobs', 'list', '--state', 'succeeded', '--kind', 'relay.apply');
    expect(done.jobs.length).toBeGreaterThanOrEqual(2);
    expect(done.jobs.every((j) => j.state === 'succeeded' && j.kind === 'relay.apply')).toBe(true);
    expect(done.jobs.map((j) => j.id)).not.toContain(failed.job.id);

    const ofClient = await s.cliJson<JobPage>('jobs', 'list', '--client', String(succeeded.clientId));
    expect(ofClient.jobs.length).toBeGreaterThan(0);
    expect(ofClient.jobs.every((j) => j.client_id === succeeded.clientId)).toBe(true);
    expect(jobFor(ofClient, succeeded.name)).toMatchObject({ state: 'succeeded', attempts: 1 });

    const none = await s.cli('jobs', 'list', '--kind', 'no.such.kind');
    expect(none).toMatchObject({ code: 0, stdout: 'no jobs\n' });
  });

  it('pages with --limit and --before, and prints the hint for the next page', async () => {
    const first = await s.cliJson<JobPage>('jobs', 'list', '--kind', 'relay.apply', '--limit', '1');
    expect(first.jobs).toHaveLength(1);
    expect(first.next_before).toBe(first.jobs[0]!.id);
    const second = await s.cliJson<JobPage>('jobs', 'list', '--kind', 'relay.apply', '--limit', '1', '--before', String(first.next_before));
    expect(second.jobs).toHaveLength(1);
    expect(second.jobs[0]!.id).toBeLessThan(first.jobs[0]!.id);

    const human = await s.cli('jobs', 'list', '--kind', 'relay.apply', '--limit', '1');
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`more: add --before ${first.next_before}\n`);
  });

  it('refuses a state that does not exist (exit 5) and malformed numbers (usage, exit 2)', async () => {
    const bad = await s.cli('jobs', 'list', '--state', 'exploded');
    expect(bad.code).toBe(5);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain('state: must be one of queued, running, succeeded, failed');
    const limit = await s.cli('jobs', 'list', '--limit', '0');
    expect(limit.code).toBe(5);
    expect(limit.stderr).toContain('limit: must be a whole number from 1 to 1000');
    const client = await s.cli('jobs', 'list', '--client', 'abc');
    expect(client.code).toBe(2);
    expect(client.stderr).toContain('must be a positive whole number');
  });
});

describe('jobs show', () => {
  it('shows one job with its payload and last error, or its JSON', async () => {
    const r = await s.cli('jobs', 'show', String(failed.job.id));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^id: +${failed.job.id}$`, 'm'));
    expect(r.stdout).toMatch(/^kind: +relay\.apply$/m);
    expect(r.stdout).toMatch(/^state: +failed$/m);
    expect(r.stdout).toMatch(/^last_error: +.*relay unreachable/m);
    expect(r.stdout).toMatch(new RegExp(`^payload: +\\{"change":"provision","domain":"${failed.job.payload.domain!.replaceAll('.', '\\.')}"\\}$`, 'm'));
    const json = await s.cliJson<AdminJob>('jobs', 'show', String(failed.job.id));
    expect(json).toMatchObject({ id: failed.job.id, state: 'failed', client_id: failed.clientId, attempts: failed.job.max_attempts });
  });

  it('exits 4 for an unknown job and 2 for an id that is not a number', async () => {
    const missing = await s.cli('jobs', 'show', '999999999');
    expect(missing.code).toBe(4);
    expect(missing.stderr).toBe('hostplane: job not found\n');
    const bad = await s.cli('jobs', 'show', 'nope');
    expect(bad.code).toBe(2);
  });
});

describe('jobs retry', () => {
  it('gives a failed job fresh attempts; a job that has not failed is refused with exit 6', async () => {
    const { job, clientId } = await failedJob();
    const r = await s.cliJson<AdminJob>('jobs', 'retry', String(job.id));
    expect(r).toMatchObject({ id: job.id, state: 'queued', attempts: 0 });
    await s.t.app.jobs.drain();
    expect((await s.cliJson<AdminJob>('jobs', 'show', String(job.id))).state).toBe('succeeded');
    const domainStatus = await s.t.app.server.inject({ method: 'GET', url: `/v1/domains/${job.payload.domain}/status`, headers: { authorization: alice.auth } });
    expect(domainStatus.json().status).toBe('ready');
    expect((await s.cliJson<JobPage>('jobs', 'list', '--client', String(clientId))).jobs.every((j) => j.state === 'succeeded')).toBe(true);

    const again = await s.cli('jobs', 'retry', String(job.id));
    expect(again.code).toBe(6);
    expect(again.stdout).toBe('');
    expect(again.stderr).toBe('hostplane: job is succeeded; only failed jobs can be retried\n');
  });

  it('exits 4 for an unknown job', async () => {
    const r = await s.cli('jobs', 'retry', '999999999');
    expect(r.code).toBe(4);
    expect(r.stderr).toBe('hostplane: job not found\n');
  });

  it('with --idempotency-key, a repeated retry prints the first answer instead of failing', async () => {
    const key = `retry-${failed.job.id}-${Date.now()}`;
    const first = await s.cli('jobs', 'retry', String(failed.job.id), '--idempotency-key', key);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^state: +queued$/m);
    await s.t.app.jobs.drain();
    const again = await s.cli('jobs', 'retry', String(failed.job.id), '--idempotency-key', key);
    expect(again).toEqual(first);
    expect((await s.cliJson<AdminJob>('jobs', 'show', String(failed.job.id))).state).toBe('succeeded');
  });
});

describe('worker', () => {
  const tmp = tempDir();
  let db: (DbHandle & { databaseUrl?: string }) | undefined;
  afterAll(async () => {
    await db?.close();
    tmp.remove();
  });

  it('works the queued relay jobs of the database it is given, logs that it runs, and stops cleanly on SIGTERM', async () => {
    const dataDir = path.join(tmp.dir, 'data');
    const onPostgres = process.env.HOSTPLANE_TEST_DB === 'postgres';
    // Queue a client's relay job in the database the worker will use: on PostgreSQL a database of
    // this test's own; on the embedded database a data directory made from the migrated template.
    db = onPostgres ? await openTestDb() : await createDb({ dataDir: path.join(dataDir, 'pgdata'), loadDataDir: new Blob([fs.readFileSync(inject('pgliteTemplate'))]) });
    const config = loadConfig({ HOSTPLANE_DATA_DIR: dataDir, HOSTPLANE_RELAY_HOSTS: 'relay1.example.net' });
    const app = await createApp(config, { dbHandle: db, logger: pino({ level: 'silent' }) });
    const name = domain();
    try {
      const { key } = await createOperatorKey(ctxFor(app.deps, { kind: 'system' }), 'worker-test');
      const admin = { authorization: `Bearer ${key}` };
      expect((await app.server.inject({ method: 'POST', url: '/admin/v1/demo', headers: admin })).statusCode).toBe(200);
      const r = (await app.server.inject({ method: 'POST', url: '/admin/v1/resellers', headers: admin, payload: { name: 'W', username: `w-${n++}`, email_address: 'w@example.com', tags: ['cpanel'] } })).json();
      const auth = `Basic ${Buffer.from(`${r.api_token}:${r.api_key}`).toString('base64')}`;
      const created = await app.server.inject({ method: 'POST', url: '/v1/clients', headers: { authorization: auth }, payload: { package_uid: 'spamstopshere-standard', user_count: 1, domains: [{ name, mail_servers: ['mx.example.org'] }] } });
      expect(created.statusCode).toBe(201);
    } finally {
      await app.close();
    }
    // The embedded database is one process's at a time: let go of it before the worker opens it.
    if (!onPostgres) {
      await db.close();
      db = undefined;
    }

    const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOSTPLANE_DATA_DIR: dataDir, HOSTPLANE_RELAY_HOSTS: 'relay1.example.net', HOSTPLANE_LOG_LEVEL: 'info' };
    if (onPostgres) env.DATABASE_URL = (db as { databaseUrl: string }).databaseUrl;
    const child = spawn(process.execPath, [BIN, 'worker'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const relayDomains = path.join(dataDir, 'relay', 'relay_domains');
      const deadline = Date.now() + 60_000;
      while (!(fs.existsSync(relayDomains) && fs.readFileSync(relayDomains, 'utf8').includes(name))) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the worker did not provision ${name}:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(output).toContain('hostplane worker running');
      // No HTTP: a worker serves nothing.
      expect(output).not.toContain('hostplane listening');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(output).toContain('worker shutting down');
  }, 90_000);
});
