import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { createDb } from '../../src/db/database.js';
import { openTestDb } from '../support/test-db.js';
import { basicAuth, clientBody, freePort, http, killAll, makeTempDir, pool, spawnHostplane, stopGracefully, type Proc } from '../jobs-process/process-harness.js';

// kill -9 of a real server while keyed requests are in flight, then a restart on the same database
// and every request sent again with its key and body. A key is either done (its first answer comes
// back byte for byte) or never happened (it runs now, once): no 409 "still in progress", no 422
// "already taken" for a client the caller never heard of, no user paying twice. The PostgreSQL
// project runs it on a database of its own; the pglite project on the server's embedded data dir.

const tmp = makeTempDir('hostplane-idem-crash-');
const dataDir = path.join(tmp.dir, 'data');
const onPostgres = process.env.HOSTPLANE_TEST_DB === 'postgres';
let testDb: Awaited<ReturnType<typeof openTestDb>> | undefined;

afterAll(async () => {
  killAll();
  await testDb?.close();
  tmp.remove();
});

const CLIENTS = 200;
const PAYMENTS = 60;
/** The kill comes once this many requests were answered, with many others still in flight. */
const KILL_AFTER = 40;
const CONCURRENCY = 24;

async function startServe(): Promise<{ proc: Proc; url: string }> {
  const port = await freePort();
  const proc = spawnHostplane(['serve'], {
    HOSTPLANE_DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PORT: String(port),
    HOSTPLANE_LOG_LEVEL: 'warn',
    // Relay jobs are not what this test is about; the worker would only compete for the CPU.
    HOSTPLANE_WORKER: 'off',
    ...(testDb ? { DATABASE_URL: testDb.databaseUrl! } : {}),
  });
  // An embedded database is created and migrated on the first start: slow on a busy machine.
  await proc.waitForOutput('API reference:', 240_000);
  return { proc, url: `http://127.0.0.1:${port}` };
}

interface Answer {
  status: number;
  body: string;
  replayed: boolean;
}

async function send(url: string, auth: string, key: string, body: unknown): Promise<Answer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  return { status: res.status, body: await res.text(), replayed: res.headers.get('idempotency-replayed') === 'true' };
}

interface Req {
  kind: 'client' | 'payment';
  i: number;
  key: string;
  path: string;
  body: unknown;
}

describe(`Idempotency-Key survives kill -9 of serve (${onPostgres ? 'PostgreSQL' : 'embedded database'})`, () => {
  it('after a restart every key replays its first answer or runs once: no 409, no duplicate client, no double payment', { timeout: 600_000 }, async () => {
    if (onPostgres) testDb = await openTestDb();
    const first = await startServe();
    const operatorKey = fs.readFileSync(path.join(dataDir, 'operator-key'), 'utf8').trim();
    const operator = `Bearer ${operatorKey}`;
    let demo: { api_token: string; api_key: string };
    if (onPostgres) {
      const seeded = await http<{ reseller?: { api_token: string; api_key: string } }>('POST', `${first.url}/admin/v1/demo`, operator);
      expect(seeded.status).toBe(200);
      demo = seeded.body.reseller!;
    } else {
      demo = JSON.parse(fs.readFileSync(path.join(dataDir, 'demo-reseller.json'), 'utf8')) as { api_token: string; api_key: string };
    }
    const reseller = basicAuth(demo.api_token, demo.api_key);

    // The CRM side: an API token allowed to record payments, a subscription type, and one end user per payment.
    const run = `k${Date.now().toString(36)}`;
    const token = await http<{ token: string }>('POST', `${first.url}/admin/v1/api-tokens`, operator, { name: `crash-${run}`, allow: ['/api/v1/payments/create'] });
    expect(token.status, JSON.stringify(token.body)).toBe(201);
    const crm = `Bearer ${token.body.token}`;
    const type = await http<{ id: number }>('POST', `${first.url}/admin/v1/subscription-types`, operator, { code: `crash_${run}`, name: 'Crash test', length: 31, access: ['web'] });
    expect(type.status, JSON.stringify(type.body)).toBe(201);
    const users: { email: string; token: string }[] = [];
    await pool(PAYMENTS, 4, async (i) => {
      const email = `payer${i}-${run}@example.com`;
      const res = await http<{ access: { token: string } }>('POST', `${first.url}/api/v1/users/register`, '', { email, password: 'secret-pass' });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      users[i] = { email, token: res.body.access.token };
    });

    const requests: Req[] = [];
    for (let i = 0; i < CLIENTS; i++) requests.push({ kind: 'client', i, key: `${run}-client-${i}`, path: '/v1/clients', body: clientBody(run, i) });
    for (let i = 0; i < PAYMENTS; i++) {
      const body = { email: users[i]!.email, subscription_type_id: type.body.id, items: [{ subscription_type_id: type.body.id, name: 'Crash test', count: 1, price: 10 }] };
      // Spread among the clients, so the kill finds both kinds in flight.
      requests.splice(Math.floor(((i + 0.5) * CLIENTS) / PAYMENTS) + i, 0, { kind: 'payment', i, key: `${run}-payment-${i}`, path: '/api/v1/payments/create', body });
    }
    const authOf = (r: Req) => (r.kind === 'client' ? reseller : crm);
    const okStatus = (r: Req) => (r.kind === 'client' ? 201 : 200);

    // 1. Every request once, many at a time; kill -9 when KILL_AFTER of them have been answered.
    const firstAnswers = new Map<string, Answer>();
    let killed = false;
    let inFlight = 0;
    let inFlightAtKill = 0;
    await pool(requests.length, CONCURRENCY, async (n) => {
      if (killed) return;
      const r = requests[n]!;
      inFlight++;
      try {
        const answer = await send(`${first.url}${r.path}`, authOf(r), r.key, r.body);
        if (killed) return;
        // Before the kill every request runs normally: the first answer is the created object.
        expect(answer.status, `${r.kind} #${r.i}: ${answer.body}`).toBe(okStatus(r));
        firstAnswers.set(r.key, answer);
      } catch (err) {
        if (!killed) throw err;
      } finally {
        inFlight--;
      }
      if (!killed && firstAnswers.size >= KILL_AFTER) {
        killed = true;
        inFlightAtKill = inFlight;
        first.proc.child.kill('SIGKILL');
      }
    });
    expect(killed).toBe(true);
    expect(await first.proc.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(inFlightAtKill).toBeGreaterThan(0);

    // 2. Restart on the same database; every request again, with its key and body.
    const second = await startServe();
    const secondAnswers = new Map<string, Answer>();
    await pool(requests.length, CONCURRENCY, async (n) => {
      const r = requests[n]!;
      secondAnswers.set(r.key, await send(`${second.url}${r.path}`, authOf(r), r.key, r.body));
    });
    const problems: string[] = [];
    for (const r of requests) {
      const before = firstAnswers.get(r.key);
      const now = secondAnswers.get(r.key)!;
      if (before) {
        // The caller saw an answer: it gets exactly that one again.
        if (!now.replayed || now.status !== before.status || now.body !== before.body) problems.push(`${r.kind} #${r.i} answered ${before.status} before the kill, then ${now.status}${now.replayed ? ' (replayed)' : ''}: ${now.body.slice(0, 200)}`);
      } else if (now.status !== okStatus(r)) {
        // Never answered: it either ran before the kill (a replay of its stored answer) or runs now.
        problems.push(`${r.kind} #${r.i} (unanswered before the kill) answered ${now.status}${now.replayed ? ' (replayed)' : ''}: ${now.body.slice(0, 200)}`);
      }
    }
    expect(problems, problems.slice(0, 20).join('\n')).toEqual([]);

    // 3. A third time: every key is done now and replays the answer of the second round.
    await pool(requests.length, CONCURRENCY, async (n) => {
      const r = requests[n]!;
      const again = await send(`${second.url}${r.path}`, authOf(r), r.key, r.body);
      const want = firstAnswers.get(r.key) ?? secondAnswers.get(r.key)!;
      if (!again.replayed || again.status !== want.status || again.body !== want.body) problems.push(`${r.kind} #${r.i} third answer ${again.status}${again.replayed ? ' (replayed)' : ''} differs: ${again.body.slice(0, 200)}`);
    });
    expect(problems, problems.slice(0, 20).join('\n')).toEqual([]);

    // Each user sees one subscription, through the CRM door itself.
    for (const u of users) {
      const res = await http<{ subscriptions: unknown[] }>('GET', `${second.url}/api/v1/users/subscriptions`, `Bearer ${u.token}`);
      expect(res.status).toBe(200);
      expect(res.body.subscriptions, u.email).toHaveLength(1);
    }

    // And in the database: one client per request, one payment per user, no key left in progress.
    expect(await stopGracefully(second.proc)).toBe(0);
    const db = await createDb(onPostgres ? { databaseUrl: testDb!.databaseUrl!, poolSize: 1 } : { dataDir: path.join(dataDir, 'pgdata') });
    try {
      const clients = await db.db.selectFrom('clients').select(['email_address', sql<number>`count(*)`.as('n')]).where('name', 'like', 'Client %').groupBy('email_address').execute();
      expect(clients).toHaveLength(CLIENTS);
      expect(clients.filter((c) => Number(c.n) !== 1)).toEqual([]);
      const domains = await db.db.selectFrom('domains').select(['name', sql<number>`count(*)`.as('n')]).where('name', 'like', `%.${run}.test`).groupBy('name').execute();
      expect(domains.filter((d) => Number(d.n) !== 1)).toEqual([]);
      const payments = await db.db
        .selectFrom('payments')
        .innerJoin('users', 'users.id', 'payments.user_id')
        .select(['users.login', sql<number>`count(*)`.as('n')])
        .where('payments.subscription_type_id', '=', type.body.id)
        .groupBy('users.login')
        .execute();
      expect(payments).toHaveLength(PAYMENTS);
      expect(payments.filter((p) => Number(p.n) !== 1)).toEqual([]);
      const subscriptions = await db.db.selectFrom('subscriptions').select(['user_id', sql<number>`count(*)`.as('n')]).where('subscription_type_id', '=', type.body.id).groupBy('user_id').execute();
      expect(subscriptions).toHaveLength(PAYMENTS);
      expect(subscriptions.filter((s) => Number(s.n) !== 1)).toEqual([]);
      const pending = await db.db.selectFrom('idempotency_keys').select('path').where('state', '=', 'in_progress').execute();
      expect(pending).toEqual([]);
    } finally {
      await db.close();
    }
  });
});
