import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RelayDriver } from '../../src/relay/relay-driver.js';
import { startCliServer, type CliServer } from '../cli/cli-harness.js';
import { solveCaptcha } from '../support/captcha-solver.js';
import { createReseller, seedDemoCatalog, type ResellerFixture } from '../support/test-app.js';

// The operator's web console in a real browser: Debian's chromium driven by playwright-core, against
// a listening server on a test database. Screenshots of the main pages go to test-artifacts/console.

const CHROMIUM = process.env.HOSTPLANE_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(import.meta.dirname, '..', '..', 'test-artifacts', 'console');
const CONSOLE_INDEX = path.join(import.meta.dirname, '..', '..', 'dist', 'console', 'index.html');
const LOGIN = 'browser-operator';
const PASSWORD = 'a long operator password';
const CLIENTS = 240;
const NEEDLE = 'Zebra Needle Hosting';

let relayDown = false;
const relay: RelayDriver = {
  name: 'switchable',
  async apply() {
    if (relayDown) throw new Error('relay unreachable: connection refused');
  },
  provisionDomain: (d) => relay.apply([{ op: 'provision', domain: d }]),
  updateDomain: (d) => relay.apply([{ op: 'update', domain: d }]),
  deprovisionDomain: (name) => relay.apply([{ op: 'deprovision', name }]),
};

let s: CliServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let reseller: ResellerFixture;
let failedJobId: number;
const problems: string[] = [];
/** Console errors the step itself provokes (the refused password's 401); any other is a failure. */
let expected: RegExp | undefined;

const admin = () => ({ authorization: `Bearer ${s.t.operatorKey}` });

async function createClient(i: number, name = `Client ${String(i).padStart(4, '0')}`): Promise<number> {
  const res = await s.t.app.server.inject({
    method: 'POST',
    url: '/v1/clients',
    headers: { authorization: reseller.auth },
    payload: { package_uid: 'spamstopshere-standard', user_count: 1, name, email_address: `c${i}@example.com`, domains: [{ name: `browser-${i}.test` }] },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as number;
}

/** A relay job that used up its attempts while the relay was down, as the jobs page shows them. */
async function makeFailedJob(): Promise<number> {
  const clientId = await createClient(99_999, 'Relay Down Ltd');
  relayDown = true;
  try {
    let clock = Date.now();
    for (let i = 0; i < 60; i++) {
      await s.t.app.jobs.drain();
      const res = await s.t.app.server.inject({ method: 'GET', url: `/admin/v1/jobs?client_id=${clientId}&state=failed`, headers: admin() });
      const job = (res.json() as { jobs: { id: number }[] }).jobs[0];
      if (job) return job.id;
      clock += 61_000;
      s.t.setNow(new Date(clock));
    }
    throw new Error('the relay job never failed');
  } finally {
    relayDown = false;
    s.t.setNow(new Date());
  }
}

/** A public sign-up, pending until an operator approves it. */
async function signUp(username: string): Promise<void> {
  const captcha = (await s.t.app.server.inject({ method: 'GET', url: '/v1/resellers/new' })).json() as { captcha: { id: string; question: string } };
  const res = await s.t.app.server.inject({
    method: 'POST',
    url: '/v1/resellers',
    payload: { captcha: { id: captcha.captcha.id, answer: solveCaptcha(captcha.captcha.question) }, reseller: { name: 'Pending Hosting Co', email_address: 'ops@pending.test', username, application_name: 'cpanel' } },
  });
  expect(res.statusCode, res.body).toBeLessThan(300);
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

beforeAll(async () => {
  // A missing browser or an unbuilt console is a failure with instructions, never a silent skip.
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Debian's chromium is required for the console's browser tests: apt-get install -y chromium (looked for ${CHROMIUM})`);
  if (!fs.existsSync(CONSOLE_INDEX)) throw new Error('the web console is not built: run npm run build');
  fs.mkdirSync(ARTIFACTS, { recursive: true });

  s = await startCliServer({ relayDriver: relay, jobRunner: { backoffBaseMs: 1000, backoffMaxMs: 60_000 } });
  await seedDemoCatalog(s.t);
  reseller = await createReseller(s.t, { name: 'Acme Hosting' });
  const made = await s.cli('user', 'create', '--operator', '--login', LOGIN, '--password', PASSWORD);
  expect(made.code, made.stderr).toBe(0);
  await signUp('pending-co');
  for (let i = 0; i < CLIENTS; i++) await createClient(i, i === 137 ? NEEDLE : undefined);
  await s.t.app.jobs.drain();
  failedJobId = await makeFailedJob();

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  page.on('console', (msg) => {
    if (msg.type() !== 'error' && msg.type() !== 'warning') return;
    if (expected?.test(msg.text())) return;
    problems.push(`${msg.type()}: ${msg.text()} (${page.url()})`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message} (${page.url()})`));
  page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()} ${req.failure()?.errorText ?? ''}`));
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await s?.close();
});

describe.sequential('operator console in chromium', () => {
  it('refuses a wrong password with a clear message, then signs in', async () => {
    await page.goto(`${s.url}/console/`);
    await expect.poll(() => page.url()).toContain('/console/login');
    await page.getByLabel('Login').fill(LOGIN);
    await page.getByLabel('Password').fill('not the password');
    expected = /status of 401/;
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong login or password.' }).waitFor();
    expected = undefined;
    await shot('01-login-refused');

    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/console/');
  });

  it('the session cookie is HttpOnly, SameSite=Lax and invisible to scripts', async () => {
    const cookies = await context.cookies(s.url + '/admin/v1/session');
    const session = cookies.find((c) => c.name === 'hp_operator');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/admin/v1' });
    expect(await page.evaluate(() => document.cookie)).not.toContain('hp_operator');
  });

  it('the dashboard shows the counts', async () => {
    const count = (key: string) => page.locator(`[data-count="${key}"] dd`).innerText();
    await expect.poll(() => count('clients-active')).toBe(String(CLIENTS + 1));
    expect(await count('resellers-pending')).toBe('1');
    expect(await count('resellers-active')).toBe('2'); // Acme and the demo reseller
    expect(await count('jobs-failed')).toBe('1');
    await page.getByText('Pending Hosting Co').waitFor();
    await page.getByText('relay unreachable').first().waitFor();
    await shot('02-dashboard');
  });

  it('a change without the CSRF token is refused by the API, even with the session cookie', async () => {
    const pending = (await (await context.request.get(`${s.url}/admin/v1/resellers?status=pending`)).json()) as { id: number }[];
    expect(pending).toHaveLength(1);
    const refused = await context.request.post(`${s.url}/admin/v1/resellers/${pending[0]!.id}/approve`);
    expect(refused.status()).toBe(403);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain('x-csrf-token');
    const still = (await (await context.request.get(`${s.url}/admin/v1/resellers/${pending[0]!.id}`)).json()) as { status: string };
    expect(still.status).toBe('pending');
  });

  it('approves a pending sign-up after confirming, and shows its credentials once', async () => {
    await page.getByRole('link', { name: 'Review sign-ups' }).click();
    await page.getByRole('heading', { name: 'Resellers', level: 1 }).waitFor();
    const row = page.locator('tr[data-reseller="pending-co"]');
    await row.getByRole('button', { name: 'Approve' }).click();
    const dialog = page.getByRole('dialog', { name: 'Approve Pending Hosting Co?' });
    await dialog.waitFor();
    await shot('03-resellers-confirm');
    // Keyboard: Escape cancels and nothing changes.
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    await row.getByRole('button', { name: 'Approve' }).click();
    await dialog.getByRole('button', { name: 'Approve' }).click();
    await page.getByRole('status').filter({ hasText: 'Pending Hosting Co is approved' }).waitFor();
    const token = await page.getByTestId('api-token').innerText();
    const key = await page.getByTestId('api-key').innerText();
    await shot('04-resellers-approved');
    const auth = `Basic ${Buffer.from(`${token}:${key}`).toString('base64')}`;
    expect((await s.t.app.server.inject({ method: 'GET', url: '/v1/clients', headers: { authorization: auth } })).statusCode).toBe(200);
    await page.getByRole('button', { name: 'Done' }).click();
    await page.getByLabel('Status').selectOption('');
    await page.locator('tr[data-reseller="pending-co"]').getByText('active').waitFor();
  });

  it(`finds a client by search among ${CLIENTS}, pages and filters on the server`, async () => {
    await page.getByRole('link', { name: 'Clients' }).click();
    await page.getByRole('heading', { name: 'Clients', level: 1 }).waitFor();
    await expect.poll(() => page.locator('tbody tr').count()).toBe(25);
    const firstOfPage1 = Number(await page.locator('tbody tr').first().getAttribute('data-client'));
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText('Page 2', { exact: true }).waitFor();
    await expect.poll(async () => Number(await page.locator('tbody tr').first().getAttribute('data-client'))).toBe(firstOfPage1 + 25);
    await shot('05-clients-page-2');

    await page.getByRole('searchbox').fill('zebra needle');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    await page.getByRole('cell', { name: NEEDLE }).waitFor();
    expect(await page.getByText('Page 1', { exact: true }).count()).toBe(1);
    await shot('06-clients-search');

    await page.getByLabel('Status').selectOption('suspended');
    await page.getByText('No clients match these filters.').waitFor();
    await page.getByLabel('Status').selectOption('');
    await page.getByLabel('Reseller').selectOption({ label: 'Acme Hosting' });
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
  });

  it('retries a failed job', async () => {
    await page.getByRole('link', { name: 'Jobs' }).click();
    await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
    const row = page.locator(`tr[data-job="${failedJobId}"]`);
    await row.getByText('relay unreachable').waitFor();
    await shot('07-jobs-failed');
    await row.getByRole('button', { name: 'Retry' }).click();
    await page.getByRole('status').filter({ hasText: `Job #${failedJobId} is queued again` }).waitFor();
    await page.getByText('No failed jobs.').waitFor();
    const job = (await s.t.app.server.inject({ method: 'GET', url: `/admin/v1/jobs/${failedJobId}`, headers: admin() })).json() as { state: string; attempts: number };
    expect(job.state).toBe('queued');
    expect(job.attempts).toBe(0);
  });

  it('is readable on a phone', async () => {
    const phone = await context.newPage();
    phone.on('console', (msg) => msg.type() === 'error' && problems.push(`phone: ${msg.text()}`));
    phone.on('pageerror', (err) => problems.push(`phone page error: ${err.message}`));
    await phone.setViewportSize({ width: 390, height: 844 });
    for (const [name, url, heading] of [
      ['08-phone-dashboard', '/console/', 'Dashboard'],
      ['09-phone-clients', '/console/clients', 'Clients'],
    ] as const) {
      await phone.goto(`${s.url}${url}`);
      await phone.getByRole('heading', { name: heading, level: 1 }).waitFor();
      await phone.getByText('Loading…').first().waitFor({ state: 'detached' });
      // Nothing but the tables' own scroll boxes is wider than the screen.
      expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await phone.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
    }
    await phone.close();
  });

  it('signs out: the session ends and the console asks to sign in again', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Hostplane' }).waitFor();
    expect((await context.request.get(`${s.url}/admin/v1/overview`)).status()).toBe(401);
  });

  it('no page logged a console error', () => {
    expect(problems).toEqual([]);
  });
});
