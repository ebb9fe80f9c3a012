import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReseller, createTestApp, seedDemoCatalog, type ResellerFixture, type TestApp } from '../support/test-app.js';

// Where each site lives and what it uses, in Debian's chromium: the operator's Clients page and a
// client's page, the reseller's client page and the client area's Usage page show the site's node
// (health, applied / pending / failed with the node's error, or "not placed") and a usage chart drawn
// from what the node reported through /agent/v1/usage. A node that stopped heartbeating shows its
// sites unhealthy. Screenshots go to test-artifacts/console.

const CHROMIUM = process.env.HOSTPLANE_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(import.meta.dirname, '..', '..', 'test-artifacts', 'console');
const CONSOLE_INDEX = path.join(import.meta.dirname, '..', '..', 'dist', 'console', 'index.html');
const OPERATOR = 'hosting-operator';
const OPERATOR_PASSWORD = 'a long operator password';
const RESELLER_LOGIN = 'hosting-reseller';
const RESELLER_PASSWORD = 'a long reseller password';
const MB = 1024 * 1024;
const DAY = 86_400_000;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let t: TestApp;
let url: string;
let browser: Browser;
let a: ResellerFixture;
const problems: string[] = [];
/** Console errors a step provokes on purpose (a refused request's status line). */
let expected: RegExp | undefined;
const tokens: Record<string, string> = {};
const ids: Record<'served' | 'failing' | 'stale' | 'early' | 'theirs', number> = { served: 0, failing: 0, stale: 0, early: 0, theirs: 0 };

const admin = () => ({ authorization: `Bearer ${t.operatorKey}` });
async function inject(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, headers: Record<string, string>, payload?: unknown) {
  const res = await t.app.server.inject({ method, url: path, headers, ...(payload !== undefined ? { payload: payload as object } : {}) });
  return { status: res.statusCode, body: (res.body ? res.json() : null) as Json };
}
async function ok(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, headers: Record<string, string>, payload?: unknown): Promise<Json> {
  const res = await inject(method, path, headers, payload);
  expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
  return res.body;
}

async function addNode(name: string): Promise<void> {
  const created = await ok('POST', '/admin/v1/nodes', admin(), { name, roles: ['web'] });
  tokens[name] = (await ok('POST', '/agent/v1/enrol', { authorization: `Bearer ${created.token as string}` })).token as string;
  await ok('POST', '/agent/v1/heartbeat', { authorization: `Bearer ${tokens[name]}` }, { agentVersion: '0.1.0', capacity: { diskFreeBytes: 40 * 1024 ** 3, diskTotalBytes: 100 * 1024 ** 3, load1: 0.1, cpus: 2 }, drivers: { web: { ok: true } } });
}

async function newClient(r: ResellerFixture, name: string, domain: string): Promise<number> {
  return (await ok('POST', '/v1/clients', { authorization: r.auth }, { package_uid: 'spamstopshere-standard', user_count: 1, name, email_address: `it@${domain}`, domains: [{ name: domain }] })).id as number;
}

async function report(node: string, results: { id: number; ok: boolean; error?: string }[]): Promise<void> {
  const rows = await t.app.deps.db.selectFrom('node_objects').select(['object_id', 'version']).where('kind', '=', 'site').execute();
  const version = new Map(rows.map((r) => [r.object_id, Number(r.version)]));
  await ok('POST', '/agent/v1/status', { authorization: `Bearer ${tokens[node]}` }, { results: results.map((r) => ({ kind: 'site', id: `site${r.id}`, version: version.get(`site${r.id}`), ok: r.ok, ...(r.error ? { error: r.error } : {}) })) });
}

async function newPage(): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  page.setDefaultTimeout(10_000);
  page.on('console', (msg) => {
    if (msg.type() !== 'error' && msg.type() !== 'warning') return;
    if (expected?.test(msg.text())) return;
    problems.push(`${msg.type()}: ${msg.text()} (${page.url()})`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message} (${page.url()})`));
  page.on('response', (res) => {
    if (res.status() >= 400 && !expected) problems.push(`${res.status()} ${res.request().method()} ${res.url()}`);
  });
  return page;
}

async function shot(page: Page, name: string): Promise<string> {
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** How many of the canvas's pixels are (nearly) each colour, read back once: a drawn bar or line leaves some. */
async function pixelsOf(chart: Locator, colours: [number, number, number][]): Promise<number[]> {
  return chart.locator('canvas').evaluate((canvas: HTMLCanvasElement, rgbs) => {
    const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
    const counts = rgbs.map(() => 0);
    for (let i = 0; i < data.length; i += 4) {
      rgbs.forEach(([r, g, b], k) => {
        if (Math.abs(data[i]! - r) < 8 && Math.abs(data[i + 1]! - g) < 8 && Math.abs(data[i + 2]! - b) < 8 && data[i + 3]! > 200) counts[k]! += 1;
      });
    }
    return counts;
  }, colours);
}

/** The usage chart is drawn with the reported days: storage points for the three days, transfer bars that are not all zero. */
async function expectUsageChart(page: Page): Promise<void> {
  const chart = page.locator('[data-chart="site-usage"]');
  await expect.poll(() => chart.getAttribute('data-drawn')).toBe('yes');
  // 30 transfer slots (0 on days without a report) and the 3 storage samples.
  expect(await chart.getAttribute('data-points')).toBe('33');
  expect(await chart.locator('canvas').getAttribute('aria-label')).toMatch(/MB sent over 30 days; storage 5 MB on/);
  // The transfer bars' blue and the storage line's green are on the canvas.
  const [bars, line] = await pixelsOf(chart, [
    [31, 95, 191],
    [26, 127, 55],
  ]);
  expect(bars).toBeGreaterThan(50);
  expect(line).toBeGreaterThan(20);
}

beforeAll(async () => {
  // A missing browser or an unbuilt console is a failure with instructions, never a silent skip.
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Debian's chromium is required for the console's browser tests: apt-get install -y chromium (looked for ${CHROMIUM})`);
  if (!fs.existsSync(CONSOLE_INDEX)) throw new Error('the web console is not built: run npm run build');
  fs.mkdirSync(ARTIFACTS, { recursive: true });

  // A day-long health window: a slow run never turns web1 unhealthy; web2's last heartbeat is set two days back below.
  t = await createTestApp({ HOSTPLANE_NODE_UNHEALTHY_SECONDS: '86400' });
  await t.app.server.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(t.app.server.server.address() as AddressInfo).port}`;
  await seedDemoCatalog(t);
  await ok('POST', '/admin/v1/users', admin(), { login: OPERATOR, password: OPERATOR_PASSWORD, operator: true });
  a = await createReseller(t, { name: 'Hosting Reseller' });
  await ok('PUT', `/admin/v1/resellers/${a.id}/login`, admin(), { login: RESELLER_LOGIN, password: RESELLER_PASSWORD });
  const b = await createReseller(t, { name: 'Other Reseller' });

  // Before any node: not placed. Then web1 takes the next two (fewest sites wins), web2 the one after.
  ids.early = await newClient(a, 'Early Ltd', 'early.example.com');
  await addNode('web1');
  ids.served = await newClient(a, 'Served Ltd', 'served.example.com');
  ids.failing = await newClient(a, 'Failing Ltd', 'failing.example.com');
  await addNode('web2');
  ids.stale = await newClient(a, 'Stale Ltd', 'stale.example.com');
  ids.theirs = await newClient(b, 'Not Yours Ltd', 'not-yours.example.com');
  const placed = await t.app.deps.db.selectFrom('clients').innerJoin('nodes', 'nodes.id', 'clients.node_id').select(['clients.id', 'nodes.name']).execute();
  const nodeOf = new Map(placed.map((p) => [Number(p.id), p.name]));
  expect([nodeOf.get(ids.served), nodeOf.get(ids.failing), nodeOf.get(ids.stale), nodeOf.get(ids.early)]).toEqual(['web1', 'web1', 'web2', undefined]);

  await report('web1', [{ id: ids.served, ok: true }, { id: ids.failing, ok: false, error: 'nginx: [emerg] could not build server_names_hash' }]);
  await report('web2', [{ id: ids.stale, ok: true }]);
  // Three days of usage for the served site, through the real endpoint with web1's token.
  const at = (days: number) => new Date(Date.now() - days * DAY).toISOString();
  const usage = await ok('POST', '/agent/v1/usage', { authorization: `Bearer ${tokens.web1}` }, {
    samples: [
      { kind: 'site', id: `site${ids.served}`, at: at(2), storageBytes: 3 * MB, transferBytes: 2 * MB },
      { kind: 'site', id: `site${ids.served}`, at: at(1), storageBytes: 4 * MB, transferBytes: 6 * MB },
      { kind: 'site', id: `site${ids.served}`, at: at(0), storageBytes: 5 * MB, transferBytes: 7 * MB },
    ],
  });
  expect(usage).toEqual({ accepted: 3, ignored: 0 });
  // web2 stopped heartbeating: its last heartbeat is two days old, past the one-day window.
  await t.app.deps.db.updateTable('nodes').set({ last_heartbeat_at: new Date(Date.now() - 2 * DAY) }).where('name', '=', 'web2').execute();

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe.sequential('a site node and its usage chart in the three consoles', () => {
  it("the operator's Clients page shows each site's node, and a client's page its node and usage chart", async () => {
    const page = await newPage();
    await page.goto(`${url}/console/login?next=%2Fclients`);
    await page.getByLabel('Login').fill(OPERATOR);
    await page.getByLabel('Password').fill(OPERATOR_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Clients', level: 1 }).waitFor();

    const row = (id: number) => page.locator(`tr[data-client="${id}"] .node-status`);
    await row(ids.served).waitFor();
    expect(await row(ids.served).getAttribute('data-node-name')).toBe('web1');
    expect(await row(ids.served).getAttribute('data-node-status')).toBe('healthy');
    expect(await row(ids.served).innerText()).toMatch(/web1\s+healthy\s+applied/);
    expect(await row(ids.failing).innerText()).toMatch(/web1\s+healthy\s+failed\s+nginx: \[emerg\] could not build server_names_hash/);
    expect(await row(ids.stale).getAttribute('data-node-status')).toBe('unhealthy');
    expect(await row(ids.stale).innerText()).toMatch(/web2\s+unhealthy\s+applied/);
    expect(await row(ids.early).innerText()).toBe('not placed');
    await shot(page, '50-clients-nodes');

    await page.locator(`tr[data-client="${ids.served}"]`).getByRole('link', { name: 'Served Ltd' }).click();
    await page.getByRole('heading', { name: 'Served Ltd', level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/console/sites/${ids.served}`);
    await page.locator('.facts').getByText('Hosting Reseller').waitFor();
    const card = page.locator('.site-hosting');
    await card.locator('[data-node-name="web1"][data-node-status="healthy"][data-apply="applied"]').waitFor();
    await expectUsageChart(page);
    await shot(page, '51-client-hosting');

    // The 90-day window asks the API again and still draws the same three reports.
    await card.getByRole('button', { name: '90 days' }).click();
    await expect.poll(() => page.locator('[data-chart="site-usage"]').getAttribute('data-points')).toBe('93');

    await page.goto(`${url}/console/sites/${ids.stale}`);
    await page.locator('.site-hosting [data-node-name="web2"][data-node-status="unhealthy"]').waitFor();
    await page.locator('[data-chart="site-usage"][data-drawn="yes"]').waitFor();
    expect(await page.locator('.site-hosting').innerText()).toContain('web2 has stopped sending heartbeats');
    await shot(page, '51b-client-hosting-unhealthy');
    await page.goto(`${url}/console/sites/${ids.early}`);
    await page.locator('.site-hosting [data-node-status="not-placed"]').waitFor();
    expect(await page.locator('.site-hosting').innerText()).toContain('not placed on a hosting node');
    expect(await page.locator('[data-chart="site-usage"]').getAttribute('data-points')).toBe('30');

    // A cancelled client's page says its site is no longer served instead of asking for usage.
    const gone = await newClient(a, 'Gone Ltd', 'gone.example.com');
    await ok('DELETE', `/v1/clients/${gone}`, { authorization: a.auth });
    await page.goto(`${url}/console/sites/${gone}`);
    await page.getByRole('heading', { name: 'Gone Ltd', level: 1 }).waitFor();
    await page.getByText('This client is cancelled: its site is no longer served or metered.').waitFor();
    expect(await page.locator('.site-hosting').count()).toBe(0);
    await page.close();
  });

  it("the reseller's client page shows its own client's node and usage chart; another reseller's client is not found", async () => {
    const page = await newPage();
    await page.goto(`${url}/console/reseller/login`);
    await page.getByLabel('Login', { exact: true }).fill(RESELLER_LOGIN);
    await page.getByLabel('Password', { exact: true }).fill(RESELLER_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Clients', level: 1 }).waitFor();

    await page.goto(`${url}/console/reseller/clients/${ids.served}`);
    await page.getByRole('heading', { name: 'Served Ltd', level: 1 }).waitFor();
    await page.locator('.site-hosting [data-node-name="web1"][data-node-status="healthy"][data-apply="applied"]').waitFor();
    await expectUsageChart(page);
    await shot(page, '52-reseller-client-hosting');

    await page.goto(`${url}/console/reseller/clients/${ids.failing}`);
    await page.locator('.site-hosting [data-apply="failed"]').waitFor();
    expect(await page.locator('.site-hosting .node-error').innerText()).toBe('nginx: [emerg] could not build server_names_hash');
    await page.goto(`${url}/console/reseller/clients/${ids.stale}`);
    await page.locator('.site-hosting [data-node-name="web2"][data-node-status="unhealthy"]').waitFor();

    expected = /status of 404/;
    await page.goto(`${url}/console/reseller/clients/${ids.theirs}`);
    await page.getByRole('alert').waitFor();
    expect(await page.locator('body').innerText()).not.toContain('Not Yours Ltd');
    expected = undefined;
    const direct = await page.context().request.get(`${url}/v1/clients/${ids.theirs}/usage`, { headers: { 'x-requested-with': 'hostplane-console' } });
    expect(direct.status()).toBe(404);
    await page.close();
  });

  it("the client area's Usage page shows the signed-in site's node and its chart", async () => {
    const issued = await ok('GET', `/v1/clients/${ids.served}/auth_token`, { authorization: a.auth });
    const page = await newPage();
    await page.goto(`${url}${issued.path as string}`);
    await expect.poll(() => new URL(page.url()).pathname).toBe('/console/my');
    await page.getByRole('link', { name: 'Usage' }).click();
    await page.getByRole('heading', { name: 'Usage', level: 1 }).waitFor();
    expect(await page.getByTestId('storage').innerText()).toMatch(/^5 MB/);
    await page.locator('.site-hosting [data-node-name="web1"][data-node-status="healthy"]').waitFor();
    await expectUsageChart(page);
    await shot(page, '53-client-area-usage');
    await page.close();
  });

  it('logged no console errors beyond the refusals the steps provoked', () => {
    expect(problems).toEqual([]);
  });
});
