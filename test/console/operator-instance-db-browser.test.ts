import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ctxFor } from '../../src/core/context.js';
import { createInstance, signupPortalUser } from '../../src/core/saas/saas.service.js';
import { createReseller, createTestApp, seedDemoCatalog, type TestApp } from '../support/test-app.js';

// The operator console's client page shows a SaaS instance's database in Debian's chromium: its db
// node, name, state, size, active users and when the node last applied it, or the node's error.
// The db node is registered and enrolled through the real doors and reports as its agent would.
// Screenshots go to test-artifacts/console.

const CHROMIUM = process.env.HOSTPLANE_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(import.meta.dirname, '..', '..', 'test-artifacts', 'console');
const LOGIN = 'instance-db-operator';
const PASSWORD = 'a long operator password';
const MB = 1024 * 1024;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let t: TestApp;
let url: string;
let browser: Browser;
let page: Page;
const problems: string[] = [];
let applied: number;
let failed: number;
let plain: number;

async function inject(method: 'GET' | 'POST', route: string, headers: Record<string, string>, payload?: unknown) {
  const res = await t.app.server.inject({ method, url: route, headers, ...(payload === undefined ? {} : { payload: payload as object }) });
  return { status: res.statusCode, body: JSON.parse(res.body || 'null') as Json };
}
const admin = () => ({ authorization: `Bearer ${t.operatorKey}` });

beforeAll(async () => {
  t = await createTestApp();
  await t.app.server.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(t.app.server.server.address() as AddressInfo).port}`;
  expect((await inject('POST', '/admin/v1/users', admin(), { login: LOGIN, password: PASSWORD, operator: true })).status).toBe(201);

  // The demo catalog seeds an empty install only: before the SaaS plan.
  await seedDemoCatalog(t);
  const created = await inject('POST', '/admin/v1/nodes', admin(), { name: 'db-eu1', roles: ['db'] });
  const token = (await inject('POST', '/agent/v1/enrol', { authorization: `Bearer ${created.body.token as string}` })).body.token as string;
  const node = { authorization: `Bearer ${token}` };
  expect((await inject('POST', '/agent/v1/heartbeat', node, { agentVersion: '0.1.0', capacity: { diskFreeBytes: 40 * 1024 ** 3, diskTotalBytes: 100 * 1024 ** 3, load1: 0.1, cpus: 2 }, drivers: { db: { ok: true } } })).status).toBe(200);
  const plan = await inject('POST', '/admin/v1/packages', admin(), { uid: 'odoo-console', name: 'Odoo (console test)', template_database: 'odoo_template', limits: { max_users: 5 } });
  expect(plan.status, JSON.stringify(plan.body)).toBe(201);
  const system = ctxFor(t.app.deps, { kind: 'system' });
  const owner = await signupPortalUser(system, { login: 'owner@console.test', password: 'portal password', name: 'Owner' });
  applied = (await createInstance(system, { planId: plan.body.id as number, dbname: 'crm-applied.console.test', userId: owner.id, ownerPassword: 'owner password one' })).id;
  failed = (await createInstance(system, { planId: plan.body.id as number, dbname: 'crm-failed.console.test', userId: owner.id, ownerPassword: 'owner password two' })).id;

  // The node applies one, fails the other, and measures the first.
  const state = await inject('GET', '/agent/v1/state', node);
  const objects = state.body.objects as { kind: string; id: string; version: number }[];
  const results = objects.map((o) => (o.id === `db${failed}` ? { kind: o.kind, id: o.id, version: o.version, ok: false, error: 'template database "odoo_template" does not exist' } : { kind: o.kind, id: o.id, version: o.version, ok: true }));
  expect((await inject('POST', '/agent/v1/status', node, { results })).status).toBe(200);
  const usage = await inject('POST', '/agent/v1/usage', node, { samples: [{ kind: 'database', id: `db${applied}`, at: new Date().toISOString(), storageBytes: 12.5 * MB, transferBytes: 0, activeUsers: 3 }] });
  expect(usage.body).toEqual({ accepted: 1, ignored: 0 });

  // A hosting client (no SaaS instance) for the page without the card.
  const reseller = await createReseller(t);
  const hosting = await inject('POST', '/v1/clients', { authorization: reseller.auth }, { package_uid: 'spamstopshere-standard', user_count: 1, domains: [{ name: 'plain-hosting.console.test' }] });
  expect(hosting.status, JSON.stringify(hosting.body)).toBe(201);
  plain = hosting.body.id as number;

  fs.mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  page.setDefaultTimeout(10_000);
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`${msg.type()}: ${msg.text()} (${page.url()})`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message} (${page.url()})`));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe.sequential("a SaaS instance's database on the client page, in chromium", () => {
  it('shows the node, name, state, size, active users and when it was last applied', async () => {
    await page.goto(`${url}/console/login?next=${encodeURIComponent(`/sites/${applied}`)}`);
    await page.getByLabel('Login').fill(LOGIN);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const card = page.getByRole('region', { name: 'Database' });
    await card.waitFor();
    const view = (await inject('GET', `/admin/v1/clients/${applied}/instance`, admin())).body.database as Json;
    expect(view.status).toBe('applied');
    expect(await card.getAttribute('data-database-status')).toBe('applied');
    const text = await card.innerText();
    expect(text).toContain('db-eu1');
    expect(text).toContain(view.name as string);
    expect(text).toContain('odoo_template');
    expect(text).toContain('applied');
    expect(text).toContain('12.5 MB');
    expect(text).toMatch(/Active users\s+3 of 5/);
    // No expiry was set (do_upgrade_database's saas_client.expiration_datetime sets one).
    expect(await card.getByTestId('instance-expires').innerText()).toBe('never');
    // The instant the node reported, as the page renders it.
    expect(await card.locator('time').first().getAttribute('datetime')).toBe(view.reported_at);
    await page.screenshot({ path: path.join(ARTIFACTS, '50-instance-database.png'), fullPage: true });
  });

  it("shows a failed database with the node's error, and nothing measured yet", async () => {
    await page.goto(`${url}/console/sites/${failed}`);
    const card = page.getByRole('region', { name: 'Database' });
    await card.waitFor();
    expect(await card.getAttribute('data-database-status')).toBe('failed');
    const text = await card.innerText();
    expect(text).toContain('template database "odoo_template" does not exist');
    expect(text).toContain('Last report');
    expect(text).toContain('not measured yet');
    await page.screenshot({ path: path.join(ARTIFACTS, '51-instance-database-failed.png'), fullPage: true });
  });

  it('a client that is no SaaS instance has no database card, and the console logged no errors', async () => {
    await page.goto(`${url}/console/sites/${plain}`);
    await page.getByText('plain-hosting.console.test').first().waitFor();
    // The card's query has settled (404) once the page shows no loading state.
    await page.waitForFunction(() => !document.querySelector('[aria-busy="true"], .loading'));
    expect(await page.getByRole('region', { name: 'Database' }).count()).toBe(0);
    // The instance door answers a hosting client 404, which the card takes as "no instance", not as an error.
    expect(problems.filter((p) => !p.includes('404'))).toEqual([]);
  });
});
