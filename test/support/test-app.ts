import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { createApp, type App, type AppOptions } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config/config.js';
import { ctxFor } from '../../src/core/context.js';
import { createOperatorKey } from '../../src/core/credentials/credential.service.js';
import { openTestDb } from './test-db.js';

export interface TestApp {
  app: App;
  config: Config;
  operatorKey: string;
  /** Moves the app's clock; real time is used until this is called. */
  setNow(date: Date): void;
  close(): Promise<void>;
}

/** The master key test apps seal secrets under: there is no data dir to keep a key file in. */
export const TEST_MASTER_KEY = randomBytes(32).toString('base64');

export async function createTestApp(env: Record<string, string> = {}, options: Pick<AppOptions, 'logger' | 'relayDriver' | 'jobRunner' | 'webhookResolveHost'> = {}): Promise<TestApp> {
  const config = loadConfig({ HOSTPLANE_DATA_DIR: '/nonexistent-test-dir', HOSTPLANE_PUBLIC_URL: 'https://panel.hostplane.test', HOSTPLANE_RELAY_HOSTS: 'relay1g.spamh.com,relay1h.spamh.com', HOSTPLANE_MASTER_KEY: TEST_MASTER_KEY, ...env });
  const dbHandle = await openTestDb();
  let now: Date | undefined;
  const app = await createApp(config, { ...options, dbHandle, logger: options.logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }), clock: () => now ?? new Date() });
  const { key } = await createOperatorKey(ctxFor(app.deps, { kind: 'system' }), 'test');
  return {
    app,
    config,
    operatorKey: key,
    setNow: (d) => {
      now = d;
    },
    close: async () => {
      await app.close();
      await dbHandle.close();
    },
  };
}

export function basic(token: string, key: string): string {
  return `Basic ${Buffer.from(`${token}:${key}`).toString('base64')}`;
}

export interface ResellerFixture {
  id: number;
  api_token: string;
  api_key: string;
  auth: string;
}

/** Creates an approved reseller through the admin API, as an operator would. */
export async function createReseller(t: TestApp, overrides: Record<string, unknown> = {}): Promise<ResellerFixture> {
  const n = Math.random().toString(36).slice(2, 10);
  const res = await t.app.server.inject({
    method: 'POST',
    url: '/admin/v1/resellers',
    headers: { authorization: `Bearer ${t.operatorKey}` },
    payload: { name: `Reseller ${n}`, username: `reseller-${n}`, email_address: `r-${n}@example.com`, tags: ['cpanel'], ...overrides },
  });
  if (res.statusCode !== 201) throw new Error(`createReseller failed: ${res.statusCode} ${res.body}`);
  const body = res.json() as { id: number; api_token: string; api_key: string };
  return { id: body.id, api_token: body.api_token, api_key: body.api_key, auth: basic(body.api_token, body.api_key) };
}

export async function seedDemoCatalog(t: TestApp): Promise<void> {
  const res = await t.app.server.inject({ method: 'POST', url: '/admin/v1/demo', headers: { authorization: `Bearer ${t.operatorKey}` } });
  if (res.statusCode !== 200) throw new Error(`demo seed failed: ${res.statusCode} ${res.body}`);
}
