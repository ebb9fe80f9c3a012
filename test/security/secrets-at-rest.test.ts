import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { keyIdOf, parseMasterKeys } from '../../src/core/shared/keyring.js';
import { signatureValid, startReceiver, type Receiver } from '../webhooks/receiver.js';
import { runBin } from '../cli/cli-harness.js';
import { deliveriesOf, dumpAllRows, expectAbsent, fireClientCreated, openStore, registerHook, type Store } from './secrets-support.js';

// Webhook signing secrets and the server secret are sealed (AES-256-GCM) under a master key kept
// outside the database: HOSTPLANE_MASTER_KEY, or the master-key file in the data directory.

const newKey = () => randomBytes(32).toString('base64');
let receiver: Receiver;
beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver.close();
});

const signed = (mark: number, path: string, secret: string) =>
  receiver.received.slice(mark).filter((r) => r.path === path && signatureValid(r.headers['hostplane-signature'], r.body, secret));

describe('secrets at rest: happy path', { timeout: 180_000 }, () => {
  let store: Store;
  beforeAll(async () => {
    store = await openStore();
  });
  afterAll(async () => {
    await store.remove();
  });

  it('a first start without HOSTPLANE_MASTER_KEY creates the key file (0600); no row holds a secret in plain text', async () => {
    const s = await store.start();
    try {
      expect(fs.statSync(store.keyFile).mode & 0o777).toBe(0o600);
      const [key] = parseMasterKeys(fs.readFileSync(store.keyFile, 'utf8'));
      const chosen = `chosen-secret-${randomBytes(8).toString('hex')}`;
      const mine = await registerHook(s, `${receiver.url}/chosen`, chosen);
      const generated = await registerHook(s, `${receiver.url}/generated`);
      expect(generated.secret).toMatch(/^whsec_/);

      const dump = await dumpAllRows(s.app.dbHandle.db);
      expectAbsent(dump, chosen);
      expectAbsent(dump, generated.secret);
      expectAbsent(dump, s.app.deps.settings.secret);
      const rows = (await s.app.dbHandle.db.selectFrom('webhook_endpoints').select(['id', 'secret', 'secret_key_id']).where('id', 'in', [mine.id, generated.id]).execute());
      for (const row of rows) {
        expect(row.secret_key_id).toBe(keyIdOf(key!));
        expect(row.secret.startsWith(`v1.${keyIdOf(key!)}.`)).toBe(true);
      }
      // A fresh IV per value: the same secret sealed twice never gives the same text.
      const again = await registerHook(s, `${receiver.url}/again`, chosen);
      const sealed = await s.app.dbHandle.db.selectFrom('webhook_endpoints').select('secret').where('id', 'in', [mine.id, again.id]).execute();
      expect(sealed[0]!.secret).not.toBe(sealed[1]!.secret);

      const mark = receiver.received.length;
      await fireClientCreated(s);
      expect(signed(mark, '/chosen', chosen)).toHaveLength(1);
      expect(signed(mark, '/generated', generated.secret)).toHaveLength(1);
    } finally {
      await s.stop();
    }
  });

  it('the server secret is the same after a restart, so keyed digests made before it still match', async () => {
    const first = await store.start();
    const secret = first.app.deps.settings.secret;
    await first.stop();
    const second = await store.start();
    try {
      expect(second.app.deps.settings.secret).toBe(secret);
      expect(secret.length).toBeGreaterThanOrEqual(32);
    } finally {
      await second.stop();
    }
  });

  it('HOSTPLANE_MASTER_KEY takes precedence over the key file', async () => {
    const other = await openStore();
    try {
      const key = newKey();
      const s = await other.start({ HOSTPLANE_MASTER_KEY: key });
      try {
        expect(fs.existsSync(other.keyFile)).toBe(false);
        const row = await s.app.dbHandle.db.selectFrom('settings').select('value').where('key', '=', 'secrets_key_id').executeTakeFirstOrThrow();
        expect(row.value).toBe(keyIdOf(parseMasterKeys(key)[0]!));
      } finally {
        await s.stop();
      }
    } finally {
      await other.remove();
    }
  });

  it('secrets an earlier version stored in plain text are sealed at start-up and keep working', async () => {
    const legacy = await openStore();
    const key = newKey();
    try {
      const s = await legacy.start({ HOSTPLANE_MASTER_KEY: key });
      const hook = await registerHook(s, `${receiver.url}/legacy`, 'placeholder-secret-0123456789');
      await s.stop();
      // What a database written before secrets were sealed looks like.
      const oldSecret = `legacy-webhook-secret-${randomBytes(6).toString('hex')}`;
      const oldServerSecret = randomBytes(32).toString('base64url');
      await legacy.query(`update webhook_endpoints set secret = '${oldSecret}', secret_key_id = null where id = ${hook.id}`);
      await legacy.query(`update settings set value = '${oldServerSecret}' where key = 'server_secret'`);
      await legacy.query(`delete from settings where key = 'secrets_key_id'`);

      const again = await legacy.start({ HOSTPLANE_MASTER_KEY: key });
      try {
        expect(again.app.deps.settings.secret).toBe(oldServerSecret);
        const dump = await dumpAllRows(again.app.dbHandle.db);
        expectAbsent(dump, oldSecret);
        expectAbsent(dump, oldServerSecret);
        const mark = receiver.received.length;
        await fireClientCreated(again);
        expect(signed(mark, '/legacy', oldSecret)).toHaveLength(1);
      } finally {
        await again.stop();
      }
    } finally {
      await legacy.remove();
    }
  });
});

describe('secrets at rest: errors', { timeout: 180_000 }, () => {
  let store: Store;
  const key = newKey();
  beforeAll(async () => {
    store = await openStore();
    const s = await store.start({ HOSTPLANE_MASTER_KEY: key });
    await registerHook(s, `${receiver.url}/errors`, 'errors-secret-0123456789');
    await s.stop();
  });
  afterAll(async () => {
    await store.remove();
  });

  it('a wrong key fails start-up, naming the key the secrets are sealed under', async () => {
    const wrong = newKey();
    await expect(store.start({ HOSTPLANE_MASTER_KEY: wrong })).rejects.toThrow(
      `the secrets in the database are sealed under master key ${keyIdOf(parseMasterKeys(key)[0]!)}, but HOSTPLANE_MASTER_KEY holds only ${keyIdOf(parseMasterKeys(wrong)[0]!)}`,
    );
  });

  it('a missing key (no variable, no key file) fails start-up instead of making a new key', async () => {
    await expect(store.start()).rejects.toThrow(/no master key: the secrets in the database are sealed under key [0-9a-f]{16}, but HOSTPLANE_MASTER_KEY is unset and .*master-key does not exist/);
    expect(fs.existsSync(store.keyFile)).toBe(false);
  });

  it('bin/hostplane serve with a wrong key exits 1 with the reason, and serves nothing', async () => {
    const r = await runBin(['serve'], { ...store.env, HOSTPLANE_MASTER_KEY: newKey(), PORT: '0', HOSTPLANE_LOG_LEVEL: 'silent' }, 60_000);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('hostplane: the secrets in the database are sealed under master key');
    expect(r.stderr).not.toContain('listening');
  });

  it('with no key and nowhere to keep one, a fresh database stores nothing, in plain text or otherwise', async () => {
    const fresh = await openStore();
    try {
      const blocker = `${fresh.dataDir}/not-a-dir`;
      fs.writeFileSync(blocker, '');
      await expect(fresh.start({ HOSTPLANE_DATA_DIR: `${blocker}/data` })).rejects.toThrow(/cannot create the master key file .*not-a-dir\/data\/master-key/);
      // The PGlite store's database lives in its own data dir: only read it now nothing holds it.
      const rows = await fresh.query<{ key: string }>(`select key from settings where key in ('server_secret', 'secrets_key_id')`);
      expect(rows).toEqual([]);
    } finally {
      await fresh.remove();
    }
  });

  it('a malformed HOSTPLANE_MASTER_KEY is a configuration error that does not repeat the value', () => {
    const bad = 'c2hvcnQta2V5';
    let problems: string[] = [];
    try {
      loadConfig({ HOSTPLANE_MASTER_KEY: bad });
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      problems = (e as ConfigError).problems;
    }
    expect(problems).toEqual(['HOSTPLANE_MASTER_KEY: must be one or more 32-byte keys, each as base64 (44 characters) or hex (64 characters), newest first, separated by commas']);
    expect(problems.join('')).not.toContain(bad);
    expect(loadConfig({ HOSTPLANE_MASTER_KEY: `${newKey()}, ${randomBytes(32).toString('hex')}` }).masterKey).toBeDefined();
  });
});

describe('secrets at rest: tampering', { timeout: 180_000 }, () => {
  let store: Store;
  const key = newKey();
  beforeAll(async () => {
    store = await openStore();
  });
  afterAll(async () => {
    await store.remove();
  });

  it('an altered or swapped webhook secret fails its delivery with the reason; nothing is sent unsigned or mis-signed', async () => {
    const s = await store.start({ HOSTPLANE_MASTER_KEY: key });
    try {
      const a = await registerHook(s, `${receiver.url}/tamper-a`, 'tamper-a-secret-0123456789');
      const b = await registerHook(s, `${receiver.url}/tamper-b`, 'tamper-b-secret-0123456789');
      const db = s.app.dbHandle.db;
      const rowA = await db.selectFrom('webhook_endpoints').select('secret').where('id', '=', a.id).executeTakeFirstOrThrow();
      // A: one character of the ciphertext changed. B: A's (valid) sealed secret copied into B's row.
      const parts = rowA.secret.split('.');
      const body = parts[3]!;
      parts[3] = (body[0] === 'A' ? 'B' : 'A') + body.slice(1);
      await db.updateTable('webhook_endpoints').set({ secret: parts.join('.') }).where('id', '=', a.id).execute();
      await db.updateTable('webhook_endpoints').set({ secret: rowA.secret }).where('id', '=', b.id).execute();

      const mark = receiver.received.length;
      await fireClientCreated(s);
      expect(receiver.received.slice(mark).filter((r) => r.path === '/tamper-a' || r.path === '/tamper-b')).toEqual([]);
      for (const hook of [a, b]) {
        const [d] = await deliveriesOf(s, hook.id);
        expect(d!.status).toBe('pending');
        expect(d!.attempts).toBeGreaterThanOrEqual(1);
        expect(d!.last_error).toBe(`the signing secret of webhook ${hook.id} failed its integrity check: it was altered or belongs to another row`);
      }
    } finally {
      await s.stop();
    }
  });

  it('an altered server secret fails start-up', async () => {
    const rows = await store.query<{ value: string }>(`select value from settings where key = 'server_secret'`);
    const parts = rows[0]!.value.split('.');
    parts[2] = (parts[2]![0] === 'A' ? 'B' : 'A') + parts[2]!.slice(1);
    await store.query(`update settings set value = '${parts.join('.')}' where key = 'server_secret'`);
    await expect(store.start({ HOSTPLANE_MASTER_KEY: key })).rejects.toThrow('the server secret failed its integrity check: it was altered or belongs to another row');
  });
});
