import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { ctxFor } from '../../src/core/context.js';
import { keyIdOf, parseMasterKeys } from '../../src/core/shared/keyring.js';
import { createWebhookEndpoint } from '../../src/core/webhooks/webhook.service.js';
import { runBin } from '../cli/cli-harness.js';
import { signatureValid, startReceiver, type Receiver } from '../webhooks/receiver.js';
import { fireClientCreated, onPostgres, openStore, registerHook, type Store } from './secrets-support.js';

// `hostplane secrets rotate` (the real bin/hostplane; dist/ must be built) reseals every secret under a
// new master key in one transaction; afterwards the old key is not needed.

interface Rotation {
  key_id: string;
  previous_key_id: string | null;
  resealed: number;
  retired_key_file?: string;
  unused_key_ids?: string[];
}

const newKey = () => randomBytes(32).toString('base64');
const idOf = (key: string) => keyIdOf(parseMasterKeys(key)[0]!);
let receiver: Receiver;
beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver.close();
});

async function rotate(store: Store, env: Record<string, string> = {}): Promise<Rotation> {
  const r = await runBin(['secrets', 'rotate', '--json'], { ...store.env, HOSTPLANE_LOG_LEVEL: 'silent', ...env }, 60_000);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Rotation;
}

async function sealedState(store: Store) {
  const hooks = await store.query<{ id: number; secret: string; secret_key_id: string }>(`select id, secret, secret_key_id from webhook_endpoints order by id`);
  const settings = await store.query<{ key: string; value: string }>(`select key, value from settings where key in ('server_secret', 'secrets_key_id') order by key`);
  return { hooks, serverSecret: settings.find((s) => s.key === 'server_secret')!.value, keyId: settings.find((s) => s.key === 'secrets_key_id')!.value };
}

async function expectSignedWith(store: Store, env: Record<string, string>, path: string, secret: string): Promise<void> {
  const s = await store.start(env);
  try {
    const mark = receiver.received.length;
    await fireClientCreated(s);
    const got = receiver.received.slice(mark).filter((r) => r.path === path);
    expect(got).toHaveLength(1);
    expect(signatureValid(got[0]!.headers['hostplane-signature'], got[0]!.body, secret)).toBe(true);
  } finally {
    await s.stop();
  }
}

describe('secrets rotate with the key file', { timeout: 180_000 }, () => {
  let store: Store;
  beforeAll(async () => {
    store = await openStore();
  });
  afterAll(async () => {
    await store.remove();
  });

  it('adds a key, reseals every secret under it, retires the old one; a start without the old key still works', async () => {
    const s = await store.start();
    const secret = `rotate-file-secret-${randomBytes(6).toString('hex')}`;
    await registerHook(s, `${receiver.url}/rotate-file`, secret);
    const serverSecret = s.app.deps.settings.secret;
    await s.stop();
    const oldText = fs.readFileSync(store.keyFile, 'utf8');
    const oldId = keyIdOf(parseMasterKeys(oldText)[0]!);

    const r = await rotate(store);
    expect(r.previous_key_id).toBe(oldId);
    expect(r.key_id).toMatch(/^[0-9a-f]{16}$/);
    expect(r.key_id).not.toBe(oldId);
    expect(r.resealed).toBe(2); // the webhook secret and the server secret

    const state = await sealedState(store);
    expect(state.keyId).toBe(r.key_id);
    expect(state.serverSecret.startsWith(`v1.${r.key_id}.`)).toBe(true);
    expect(state.hooks.map((h) => h.secret_key_id)).toEqual([r.key_id]);
    expect(state.hooks[0]!.secret.startsWith(`v1.${r.key_id}.`)).toBe(true);

    // The key file now holds the new key only; the old one went to a file of its own, which we delete.
    const keys = parseMasterKeys(fs.readFileSync(store.keyFile, 'utf8'));
    expect(keys.map(keyIdOf)).toEqual([r.key_id]);
    expect(fs.statSync(store.keyFile).mode & 0o777).toBe(0o600);
    expect(parseMasterKeys(fs.readFileSync(r.retired_key_file!, 'utf8')).map(keyIdOf)).toEqual([oldId]);
    fs.rmSync(r.retired_key_file!);

    await expectSignedWith(store, {}, '/rotate-file', secret);
    const again = await store.start();
    try {
      expect(again.app.deps.settings.secret).toBe(serverSecret);
    } finally {
      await again.stop();
    }
    // The old key alone opens nothing any more.
    const oldKey = parseMasterKeys(oldText)[0]!.toString('base64');
    await expect(store.start({ HOSTPLANE_MASTER_KEY: oldKey })).rejects.toThrow(`the secrets in the database are sealed under master key ${r.key_id}`);
  });

  it('says what it did without --json', async () => {
    const before = (await sealedState(store)).keyId;
    const r = await runBin(['secrets', 'rotate'], { ...store.env, HOSTPLANE_LOG_LEVEL: 'silent' }, 60_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^resealed 2 secret\\(s\\) under master key [0-9a-f]{16} \\(was ${before}\\)\\nprevious key\\(s\\) moved to .*master-key\\.retired-.*: keep it only to read database backups taken before now\\n$`));
  });

  it('a value that does not open stops the rotation: nothing is resealed and the key file is as it was', async () => {
    const before = await sealedState(store);
    const keyText = fs.readFileSync(store.keyFile, 'utf8');
    const retired = fs.readdirSync(store.dataDir).filter((f) => f.includes('retired'));
    const parts = before.hooks[0]!.secret.split('.');
    parts[3] = (parts[3]![0] === 'A' ? 'B' : 'A') + parts[3]!.slice(1);
    await store.query(`update webhook_endpoints set secret = '${parts.join('.')}' where id = ${before.hooks[0]!.id}`);

    const r = await runBin(['secrets', 'rotate'], { ...store.env, HOSTPLANE_LOG_LEVEL: 'silent' }, 60_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`hostplane: the signing secret of webhook ${before.hooks[0]!.id} failed its integrity check: it was altered or belongs to another row\n`);
    const after = await sealedState(store);
    expect(after.keyId).toBe(before.keyId);
    expect(after.serverSecret).toBe(before.serverSecret);
    expect(fs.readFileSync(store.keyFile, 'utf8')).toBe(keyText);
    expect(fs.readdirSync(store.dataDir).filter((f) => f.includes('retired'))).toEqual(retired);
  });
});

describe('secrets rotate with HOSTPLANE_MASTER_KEY', { timeout: 180_000 }, () => {
  let store: Store;
  beforeAll(async () => {
    store = await openStore();
  });
  afterAll(async () => {
    await store.remove();
  });

  it('moves to the first key listed; the others are then unused and can be dropped from the variable', async () => {
    const oldKey = newKey();
    const s = await store.start({ HOSTPLANE_MASTER_KEY: oldKey });
    const secret = `rotate-env-secret-${randomBytes(6).toString('hex')}`;
    await registerHook(s, `${receiver.url}/rotate-env`, secret);
    await s.stop();

    const key = newKey();
    const r = await rotate(store, { HOSTPLANE_MASTER_KEY: `${key},${oldKey}` });
    expect(r).toEqual({ key_id: idOf(key), previous_key_id: idOf(oldKey), resealed: 2, unused_key_ids: [idOf(oldKey)] });
    expect(fs.existsSync(store.keyFile)).toBe(false);
    expect((await sealedState(store)).hooks.map((h) => h.secret_key_id)).toEqual([idOf(key)]);

    await expectSignedWith(store, { HOSTPLANE_MASTER_KEY: key }, '/rotate-env', secret);
    await expect(store.start({ HOSTPLANE_MASTER_KEY: oldKey })).rejects.toThrow(`sealed under master key ${idOf(key)}, but HOSTPLANE_MASTER_KEY holds only ${idOf(oldKey)}`);
  });
});

describe.runIf(onPostgres)('secrets rotate while a server runs (PostgreSQL; the embedded database is one process at a time)', { timeout: 180_000 }, () => {
  let store: Store;
  beforeAll(async () => {
    store = await openStore();
  });
  afterAll(async () => {
    await store.remove();
  });

  it('the running server reads the new key from the key file: old and new endpoints keep signing correctly', async () => {
    const s = await store.start();
    try {
      const before = await registerHook(s, `${receiver.url}/online-before`, 'online-before-secret-0123');
      const r = await rotate(store);
      fs.rmSync(r.retired_key_file!);
      const after = await registerHook(s, `${receiver.url}/online-after`, 'online-after-secret-01234');
      expect((await sealedState(store)).hooks.map((h) => h.secret_key_id)).toEqual([r.key_id, r.key_id]);
      const mark = receiver.received.length;
      await fireClientCreated(s);
      for (const [hook, path] of [
        [before, '/online-before'],
        [after, '/online-after'],
      ] as const) {
        const got = receiver.received.slice(mark).filter((x) => x.path === path);
        expect(got).toHaveLength(1);
        expect(signatureValid(got[0]!.headers['hostplane-signature'], got[0]!.body, hook.secret)).toBe(true);
      }
    } finally {
      await s.stop();
    }
  });

  it('an endpoint created while a rotation starts is resealed by it, not left under the retired key', async () => {
    const s = await store.start();
    try {
      const db = s.app.dbHandle.db;
      const { rows } = await sql<{ name: string }>`select current_database() as name`.execute(db);
      let rotation: Promise<Rotation> | undefined;
      await db.transaction().execute(async (trx) => {
        const ctx = { ...ctxFor(s.app.deps, { kind: 'operator', keyId: null }), db: trx };
        await createWebhookEndpoint(ctx, { url: `${receiver.url}/in-flight`, event_types: ['client.created'], secret: 'in-flight-secret-0123456' });
        let settled = false;
        rotation = rotate(store).finally(() => (settled = true));
        // Commit only once the rotation waits for this transaction (a lock wait, seen by the server);
        // a rotation that does not wait finishes first, and the assertions below catch what it missed.
        const deadline = Date.now() + 60_000;
        while (!settled) {
          const waiting = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where datname = ${rows[0]!.name} and wait_event_type = 'Lock'`.execute(db);
          if (waiting.rows[0]!.n > 0) break;
          if (Date.now() > deadline) throw new Error('the rotation never waited for the open transaction');
          await new Promise((r) => setTimeout(r, 50));
        }
      });
      const r = await rotation!;
      const hooks = (await sealedState(store)).hooks;
      expect(hooks.map((h) => h.secret_key_id)).toEqual(hooks.map(() => r.key_id));
      fs.rmSync(r.retired_key_file!);
      const mark = receiver.received.length;
      await fireClientCreated(s);
      const got = receiver.received.slice(mark).filter((x) => x.path === '/in-flight');
      expect(got).toHaveLength(1);
      expect(signatureValid(got[0]!.headers['hostplane-signature'], got[0]!.body, 'in-flight-secret-0123456')).toBe(true);
    } finally {
      await s.stop();
    }
  });
});

describe.runIf(!onPostgres)('secrets rotate on the embedded database', { timeout: 180_000 }, () => {
  it('refuses while a server holds the data directory', async () => {
    const store = await openStore();
    const s = await store.start();
    try {
      const r = await runBin(['secrets', 'rotate'], { ...store.env, HOSTPLANE_LOG_LEVEL: 'silent' }, 60_000);
      expect(r.code).toBe(7);
      expect(r.stderr).toContain('the embedded database is in use by process');
      // Refused before touching the key file: it still holds the one key.
      expect(parseMasterKeys(fs.readFileSync(store.keyFile, 'utf8'))).toHaveLength(1);
    } finally {
      await s.stop();
      await store.remove();
    }
  });
});
