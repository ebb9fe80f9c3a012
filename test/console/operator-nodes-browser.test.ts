import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ctxFor } from '../../src/core/context.js';
import { bumpNodeObjects } from '../../src/core/nodes/bump-node-objects.js';
import { upsertNodeObjects } from '../../src/core/nodes/node-objects.repository.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

// The operator console's Nodes page in Debian's chromium: health from heartbeats, last heartbeat,
// version, capacity, objects placed, failed applies (with the failure's message), what a relay node
// is behind on, and the drain/undrain buttons. Screenshots go to test-artifacts/console.

const CHROMIUM = process.env.HOSTPLANE_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(import.meta.dirname, '..', '..', 'test-artifacts', 'console');
const LOGIN = 'nodes-operator';
const PASSWORD = 'a long operator password';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let t: TestApp;
let url: string;
let browser: Browser;
let page: Page;
const problems: string[] = [];

const admin = () => ({ authorization: `Bearer ${t.operatorKey}` });
async function inject(method: 'GET' | 'POST', path: string, headers: Record<string, string>, payload?: Record<string, unknown>) {
  const res = await t.app.server.inject({ method, url: path, headers, ...(payload ? { payload } : {}) });
  return { status: res.statusCode, body: JSON.parse(res.body) as Json };
}

let web1: number;

beforeAll(async () => {
  t = await createTestApp();
  await t.app.server.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(t.app.server.server.address() as AddressInfo).port}`;
  expect((await inject('POST', '/admin/v1/users', admin(), { login: LOGIN, password: PASSWORD, operator: true })).status).toBe(201);

  // web1: enrolled, heartbeating, two sites of which one failed to apply; web2: registered, never enrolled.
  const created = await inject('POST', '/admin/v1/nodes', admin(), { name: 'web1', roles: ['web'], labels: { zone: 'eu1' } });
  web1 = created.body.id as number;
  const token = (await inject('POST', '/agent/v1/enrol', { authorization: `Bearer ${created.body.token as string}` })).body.token as string;
  const spec = (n: number) => ({ siteId: n, name: `site${n}`, domain: `s${n}.example.com`, aliases: [], status: 'active' as const, suspendReason: null, php: false });
  const v = await bumpNodeObjects(ctxFor(t.app.deps, { kind: 'system' }), web1, [1, 2].map((n) => ({ kind: 'site' as const, objectId: `site${n}`, clientId: null, state: 'present' as const, spec: spec(n) })));
  const auth = { authorization: `Bearer ${token}` };
  expect((await inject('POST', '/agent/v1/heartbeat', auth, { agentVersion: '0.1.0', capacity: { diskFreeBytes: 40 * 1024 ** 3, diskTotalBytes: 100 * 1024 ** 3, load1: 0.25, cpus: 2 }, drivers: { web: { ok: true } } })).status).toBe(200);
  expect((await inject('POST', '/agent/v1/status', auth, { results: [{ kind: 'site', id: 'site1', version: v, ok: true }, { kind: 'site', id: 'site2', version: v, ok: false, error: 'nginx -t: invalid server name' }] })).status).toBe(200);
  expect((await inject('POST', '/admin/v1/nodes', admin(), { name: 'web2', roles: ['web', 'db'] })).status).toBe(201);
  // relay1: one domain it has not applied yet.
  const relay = await inject('POST', '/admin/v1/nodes', admin(), { name: 'relay1', roles: ['relay'] });
  await upsertNodeObjects(t.app.deps.db, [{ nodeId: relay.body.id as number, kind: 'relay_domain', objectId: 'late.example.com', clientId: null, state: 'present', spec: { domain: 'late.example.com', mailServers: [] } }]);

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
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

describe.sequential('the Nodes page in chromium', () => {
  it('shows each node with its health, heartbeat, version, capacity, objects and failed applies', async () => {
    await page.goto(`${url}/console/login?next=%2Fnodes`);
    await page.getByLabel('Login').fill(LOGIN);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Nodes', level: 1 }).waitFor();

    const row1 = page.locator('tr[data-node="web1"]');
    await row1.waitFor();
    await expect.poll(() => row1.locator('.badge').innerText()).toBe('healthy');
    const text1 = await row1.innerText();
    expect(text1).toContain('zone=eu1');
    expect(text1).toContain('agent 0.1.0');
    expect(text1).toContain('40.0 of 100.0 GB free, load 0.25 on 2 CPUs');
    expect(text1).toContain('2 placed, 1 applied');
    const row2 = page.locator('tr[data-node="web2"]');
    expect(await row2.locator('.badge').innerText()).toBe('unhealthy');
    expect(await row2.innerText()).toContain('waiting for its agent to enrol');
    expect(await row2.innerText()).toContain('never');

    await row1.getByRole('button', { name: '1 failed' }).click();
    const failed = page.locator('tr[data-object="site2"]');
    await failed.waitFor();
    expect(await failed.innerText()).toContain('nginx -t: invalid server name');
    expect(await page.locator('tr[data-object="site1"]').count()).toBe(0);
    await page.screenshot({ path: path.join(ARTIFACTS, '40-nodes.png'), fullPage: true });
  });

  it("lists the domains a relay node is behind on from its pending count", async () => {
    const row = page.locator('tr[data-node="relay1"]');
    await row.getByRole('button', { name: '1 pending' }).click();
    await page.getByRole('heading', { name: 'Behind on relay1: not applied yet' }).waitFor();
    const late = page.locator('tr[data-object="late.example.com"]');
    await late.waitFor();
    expect(await late.innerText()).toContain('late.example.com');
  });

  it('drains and undrains a node from its row', async () => {
    const row1 = page.locator('tr[data-node="web1"]');
    await row1.getByRole('button', { name: 'Drain' }).click();
    await expect.poll(() => row1.locator('.badge').innerText()).toBe('draining');
    expect((await inject('GET', `/admin/v1/nodes/${web1}`, admin())).body.state).toBe('draining');
    await row1.getByRole('button', { name: 'Undrain' }).click();
    await expect.poll(() => row1.locator('.badge').innerText()).toBe('healthy');
    expect((await inject('GET', `/admin/v1/nodes/${web1}`, admin())).body.state).toBe('active');
  });

  it('reaches the page from the navigation and logs no console errors', async () => {
    await page.goto(`${url}/console/`);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Nodes' }).click();
    await page.getByRole('heading', { name: 'Nodes', level: 1 }).waitFor();
    expect(problems).toEqual([]);
  });
});
