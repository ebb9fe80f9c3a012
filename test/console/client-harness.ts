import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { startCliServer, type CliServer } from '../cli/cli-harness.js';
import { createReseller, seedDemoCatalog, type ResellerFixture } from '../support/test-app.js';

// What the client area's and the activation page's browser tests share: a listening server with a
// reseller, a family parent subscription type, and chromium with console errors collected.

export const CHROMIUM = process.env.HOSTPLANE_CHROMIUM ?? '/usr/bin/chromium';
export const ARTIFACTS = path.join(import.meta.dirname, '..', '..', 'test-artifacts', 'console');
const CONSOLE_INDEX = path.join(import.meta.dirname, '..', '..', 'dist', 'console', 'index.html');

export interface ClientWorld {
  s: CliServer;
  reseller: ResellerFixture;
  browser: Browser;
  /** Console errors and failed requests no step expected. */
  problems: string[];
  /** Console errors the current step provokes on purpose (a refused request's status line). */
  expect(pattern: RegExp | undefined): void;
  newPage(viewport?: { width: number; height: number }): Promise<{ context: BrowserContext; page: Page }>;
  shot(page: Page, name: string): Promise<void>;
  json(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** A registered CRM end user; returns their access token. */
  endUser(email: string, password: string): Promise<string>;
  /** A reseller's client with these domains; returns its id. */
  newClient(name: string, domains: string[]): Promise<number>;
  /** The client's one-minute SSO login path (/login/auth_token?token=...). */
  loginPath(clientId: number): Promise<string>;
  /** Makes the email's user owner of the client, with a running parent subscription of `count` codes. */
  ownerWithCodes(clientId: number, email: string, password: string): Promise<{ token: string; codes: string[] }>;
  close(): Promise<void>;
}

export async function startClientWorld(): Promise<ClientWorld> {
  // A missing browser or an unbuilt console is a failure with instructions, never a silent skip.
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Debian's chromium is required for the console's browser tests: apt-get install -y chromium (looked for ${CHROMIUM})`);
  if (!fs.existsSync(CONSOLE_INDEX)) throw new Error('the web console is not built: run npm run build');
  fs.mkdirSync(ARTIFACTS, { recursive: true });

  const s = await startCliServer();
  await seedDemoCatalog(s.t);
  const reseller = await createReseller(s.t, { name: 'Acme Hosting' });
  const operator = { authorization: `Bearer ${s.t.operatorKey}` };
  const json: ClientWorld['json'] = async (method, url, body, headers = {}) => {
    const res = await s.t.app.server.inject({ method, url, headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { payload: JSON.stringify(body) } : {}) });
    return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : null };
  };
  const ok = async (method: 'POST' | 'PUT', url: string, body: unknown, headers: Record<string, string> = operator) => {
    const res = await json(method, url, body, headers);
    expect(res.status, `${url}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
    return res.body;
  };
  const apiToken = (await ok('POST', '/admin/v1/api-tokens', { name: 'browser', allow: ['/api/v1/subscriptions/create'] })).token as string;
  const parent = await ok('POST', '/admin/v1/subscription-types', { code: 'company_year', name: 'Company year', length: 365, access: ['web', 'mobile'] });
  await ok('POST', '/admin/v1/subscription-types', { code: 'company_member', name: 'Company member', length: 365, access: ['web', 'mobile'] });
  await ok('POST', '/admin/v1/family-types', { parent: 'company_year', child: 'company_member', method: 'copy', count: 4, is_paid: true });

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const problems: string[] = [];
  let expected: RegExp | undefined;
  const contexts: BrowserContext[] = [];

  const world: ClientWorld = {
    s,
    reseller,
    browser,
    problems,
    expect: (p) => {
      expected = p;
    },
    newPage: async (viewport = { width: 1280, height: 800 }) => {
      const context = await browser.newContext({ viewport });
      contexts.push(context);
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: s.url });
      const page = await context.newPage();
      // Shorter than a test's own limit, so a missing element fails with its locator named.
      page.setDefaultTimeout(10_000);
      page.on('console', (msg) => {
        if (msg.type() !== 'error' && msg.type() !== 'warning') return;
        if (expected?.test(msg.text())) return;
        problems.push(`${msg.type()}: ${msg.text()} (${page.url()})`);
      });
      page.on('pageerror', (err) => problems.push(`page error: ${err.message} (${page.url()})`));
      page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()} ${req.failure()?.errorText ?? ''}`));
      return { context, page };
    },
    shot: async (page, name) => {
      await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
    },
    json,
    endUser: async (email, password) => (await ok('POST', '/api/v1/users/register', { email, password }, {})).access.token as string,
    newClient: async (name, domains) => {
      const res = await json('POST', '/v1/clients', { package_uid: 'spamstopshere-standard', user_count: 1, name, email_address: 'it@example.com', domains: domains.map((d) => ({ name: d })) }, { authorization: reseller.auth });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body.id as number;
    },
    loginPath: async (clientId) => {
      const res = await json('GET', `/v1/clients/${clientId}/auth_token`, undefined, { authorization: reseller.auth });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body.path as string;
    },
    ownerWithCodes: async (clientId, email, password) => {
      const token = await world.endUser(email, password);
      await ok('POST', '/api/v1/subscriptions/create', { email, subscription_type_id: parent.id, is_paid: true }, { authorization: `Bearer ${apiToken}` });
      await ok('PUT', `/admin/v1/clients/${clientId}/owner`, { email });
      const list = await json('GET', '/api/v1/family/list', undefined, { authorization: `Bearer ${token}` });
      return { token, codes: (list.body.codes as { code: string }[]).map((c) => c.code) };
    },
    close: async () => {
      for (const c of contexts) await c.close().catch(() => undefined);
      await browser.close();
      await s.close();
    },
  };
  return world;
}
