import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialCache } from '../../src/core/credentials/credential.cache.js';
import { sha256Hex } from '../../src/core/shared/secrets.js';
import { basicAuth, freePort, http, killAll, makeTempDir, spawnHostplane, stopGracefully, waitFor, type Proc } from '../jobs-process/process-harness.js';
import { basic, createReseller, createTestApp, TEST_MASTER_KEY, type ResellerFixture, type TestApp } from '../support/test-app.js';

// ADR 0015: verified reseller and operator credentials are kept for a few seconds so that a request
// does not pay a database round trip to authenticate; a rotation, suspension or revocation must still
// take effect on the very next request in this process, and in every other process once the
// database's notification reaches it.

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const onPostgres = process.env.HOSTPLANE_TEST_DB === 'postgres';
let t: TestApp;

async function inject(method: 'GET' | 'POST', url: string, authorization: string) {
  const res = await t.app.server.inject({ method, url, headers: { authorization } });
  return { status: res.statusCode, body: JSON.parse(res.body) as Json };
}

const operator = () => `Bearer ${t.operatorKey}`;
const cache = () => t.app.deps.credentials!;

beforeAll(async () => {
  t = await createTestApp();
});

afterAll(async () => {
  killAll();
  await t?.close();
});

/** Two successful requests: the first verifies against the database and fills the cache, the second is served from it. */
async function warm(r: ResellerFixture): Promise<void> {
  for (let i = 0; i < 2; i++) expect((await inject('GET', '/v1/credentials', r.auth)).status).toBe(200);
  expect(cache().reseller(r.api_token)?.resellerId).toBe(r.id);
}

describe('one process', () => {
  it('caches a verified pair, and a wrong key with a cached token is still refused', async () => {
    const r = await createReseller(t);
    await warm(r);
    const wrong = await inject('GET', '/v1/credentials', basic(r.api_token, `${r.api_key}x`));
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ errors: { base: ['invalid API token or key'] } });
    // An empty key, and another reseller's key with this token.
    const other = await createReseller(t);
    for (const key of ['', other.api_key]) expect((await inject('GET', '/v1/credentials', basic(r.api_token, key))).status).toBe(401);
    // The right pair is still served after those refusals.
    expect((await inject('GET', '/v1/credentials', r.auth)).status).toBe(200);
  });

  it('a rotated pair (by the reseller itself) is refused on the very next request; the new pair works', async () => {
    const r = await createReseller(t);
    await warm(r);
    const rotated = await inject('POST', '/v1/credentials/rotate', r.auth);
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(201);
    expect((await inject('GET', '/v1/credentials', r.auth)).status).toBe(401);
    expect((await inject('GET', '/v1/credentials', basic(rotated.body.api_token, rotated.body.api_key))).status).toBe(200);
  });

  it('a pair rotated by an operator is refused on the very next request', async () => {
    const r = await createReseller(t);
    await warm(r);
    const rotated = await inject('POST', `/admin/v1/resellers/${r.id}/rotate-key`, operator());
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
    expect((await inject('GET', '/v1/credentials', r.auth)).status).toBe(401);
    expect((await inject('GET', '/v1/credentials', basic(rotated.body.api_token, rotated.body.api_key))).status).toBe(200);
  });

  it('suspension answers 403 at once, reactivation 200 at once', async () => {
    const r = await createReseller(t);
    await warm(r);
    expect((await inject('POST', `/admin/v1/resellers/${r.id}/suspend`, operator())).status).toBe(200);
    const refused = await inject('GET', '/v1/credentials', r.auth);
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({ errors: { base: ['reseller account is suspended'] } });
    // The refusal is cached too (suspended, for this pair), and so must give way to reactivation at once.
    expect((await inject('GET', '/v1/credentials', r.auth)).status).toBe(403);
    expect((await inject('POST', `/admin/v1/resellers/${r.id}/activate`, operator())).status).toBe(200);
    expect((await inject('GET', '/v1/credentials', r.auth)).status).toBe(200);
  });

  it('a revoked operator key is refused on the very next request', async () => {
    const created = await t.app.server.inject({ method: 'POST', url: '/admin/v1/keys', headers: { authorization: operator() }, payload: { name: 'cached' } });
    expect(created.statusCode).toBe(201);
    const spare = created.json() as { id: number; key: string };
    for (let i = 0; i < 2; i++) expect((await inject('GET', '/admin/v1/keys', `Bearer ${spare.key}`)).status).toBe(200);
    expect(cache().operator(sha256Hex(spare.key))).toBe(spare.id);
    expect((await inject('POST', `/admin/v1/keys/${spare.id}/revoke`, operator())).status).toBe(200);
    expect((await inject('GET', '/admin/v1/keys', `Bearer ${spare.key}`)).status).toBe(401);
    expect((await inject('GET', '/admin/v1/keys', operator())).status).toBe(200);
  });

  it('a change made straight in the database (no use case) empties the cache through the notification', async () => {
    const r = await createReseller(t);
    await warm(r);
    await t.app.dbHandle.db.updateTable('resellers').set({ status: 'suspended' }).where('id', '=', r.id).execute();
    await waitFor(() => (cache().reseller(r.api_token) ? undefined : true), 10_000, () => 'the cache still holds the pair after the notification');
    expect((await inject('GET', '/v1/credentials', r.auth)).status).toBe(403);
    await t.app.dbHandle.db.updateTable('resellers').set({ status: 'active' }).where('id', '=', r.id).execute();
  });
});

describe('the cache on its own', () => {
  const entry = { keyDigest: sha256Hex('key'), resellerId: 7, status: 'active' };
  const listening = (now = () => 0) => {
    const c = new CredentialCache({ ttlMs: 1000, maxEntries: 3, pendingMs: 500, now });
    c.setListening(true);
    return c;
  };

  it('keeps nothing while the notification channel is down', () => {
    const c = new CredentialCache();
    c.putReseller('tok', entry, c.ticket());
    expect(c.reseller('tok')).toBeUndefined();
    c.setListening(true);
    c.putReseller('tok', entry, c.ticket());
    expect(c.reseller('tok')).toEqual(entry);
    c.setListening(false);
    expect(c.reseller('tok')).toBeUndefined();
  });

  it('drops a read that started before a change, and takes nothing until that change is notified', () => {
    const c = listening();
    const before = c.ticket();
    const change = c.changing();
    c.putReseller('tok', entry, before);
    expect(c.reseller('tok')).toBeUndefined();
    // Even a read started after the change began may have seen the old row: still shut.
    c.putReseller('tok', entry, c.ticket());
    expect(c.reseller('tok')).toBeUndefined();
    // Someone else's change committing does not open it.
    c.changed('another-change');
    c.putReseller('tok', entry, c.ticket());
    expect(c.reseller('tok')).toBeUndefined();
    c.changed(change);
    c.putReseller('tok', entry, c.ticket());
    expect(c.reseller('tok')).toEqual(entry);
  });

  it('a change that never commits stops holding the cache after pendingMs; entries expire after ttlMs; size is bounded', () => {
    let now = 0;
    const c = listening(() => now);
    c.changing();
    now = 499;
    c.putReseller('tok', entry, c.ticket());
    expect(c.reseller('tok')).toBeUndefined();
    now = 500;
    c.putReseller('tok', entry, c.ticket());
    expect(c.reseller('tok')).toEqual(entry);
    now = 1499;
    expect(c.reseller('tok')).toEqual(entry);
    now = 1500;
    expect(c.reseller('tok')).toBeUndefined();
    for (const tok of ['a', 'b', 'c', 'd']) c.putReseller(tok, entry, c.ticket());
    expect(['a', 'b', 'c', 'd'].map((tok) => c.reseller(tok) !== undefined)).toEqual([false, true, true, true]);
  });
});

describe.runIf(onPostgres)('two server processes on one PostgreSQL', () => {
  let second: Proc | undefined;
  let url = '';
  let tmp: ReturnType<typeof makeTempDir>;

  beforeAll(async () => {
    tmp = makeTempDir('hostplane-credcache-');
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const databaseUrl = (t.app.dbHandle as { databaseUrl?: string }).databaseUrl;
    expect(databaseUrl).toBeTruthy();
    second = spawnHostplane(['serve'], {
      DATABASE_URL: databaseUrl!,
      HOSTPLANE_DATA_DIR: path.join(tmp.dir, 'data'),
      HOSTPLANE_MASTER_KEY: TEST_MASTER_KEY,
      HOSTPLANE_DEMO: 'off',
      HOSTPLANE_WORKER: 'off',
      HOST: '127.0.0.1',
      PORT: String(port),
      HOSTPLANE_LOG_LEVEL: 'warn',
    });
    await second.waitForOutput('API reference:', 60_000);
  }, 90_000);

  afterAll(async () => {
    if (second) await stopGracefully(second);
    tmp?.remove();
  });

  /** Polls the second process until it answers `status` for the pair; the wait is bounded, not timed. */
  const answersOnSecond = (auth: string, status: number) =>
    waitFor(
      async () => ((await http('GET', `${url}/v1/credentials`, auth)).status === status ? true : undefined),
      10_000,
      async () => `the second process still answers ${(await http('GET', `${url}/v1/credentials`, auth)).status}, not ${status}`,
      20,
    );

  it('a rotation in this process reaches the other one: the old pair is refused there too', async () => {
    const r = await createReseller(t);
    for (let i = 0; i < 3; i++) expect((await http('GET', `${url}/v1/credentials`, r.auth)).status).toBe(200);
    const rotated = await inject('POST', `/admin/v1/resellers/${r.id}/rotate-key`, operator());
    expect(rotated.status).toBe(200);
    await answersOnSecond(r.auth, 401);
    expect((await http('GET', `${url}/v1/credentials`, basicAuth(rotated.body.api_token, rotated.body.api_key))).status).toBe(200);
  });

  it('a suspension reaches the other process (403), and so does the reactivation', async () => {
    const r = await createReseller(t);
    for (let i = 0; i < 3; i++) expect((await http('GET', `${url}/v1/credentials`, r.auth)).status).toBe(200);
    expect((await inject('POST', `/admin/v1/resellers/${r.id}/suspend`, operator())).status).toBe(200);
    await answersOnSecond(r.auth, 403);
    expect((await inject('POST', `/admin/v1/resellers/${r.id}/activate`, operator())).status).toBe(200);
    await answersOnSecond(r.auth, 200);
  });

  it('an operator key revoked here is refused by the other process', async () => {
    const created = await t.app.server.inject({ method: 'POST', url: '/admin/v1/keys', headers: { authorization: operator() }, payload: { name: 'elsewhere' } });
    const spare = created.json() as { id: number; key: string };
    for (let i = 0; i < 3; i++) expect((await http('GET', `${url}/admin/v1/keys`, `Bearer ${spare.key}`)).status).toBe(200);
    expect((await inject('POST', `/admin/v1/keys/${spare.id}/revoke`, operator())).status).toBe(200);
    await waitFor(
      async () => ((await http('GET', `${url}/admin/v1/keys`, `Bearer ${spare.key}`)).status === 401 ? true : undefined),
      10_000,
      () => 'the second process still takes the revoked key',
      20,
    );
  });
});
