import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RelayDriver } from '../../src/relay/relay-driver.js';
import { startCliServer, type CliServer } from '../cli/cli-harness.js';
import { solveCaptcha } from '../support/captcha-solver.js';
import { createReseller, seedDemoCatalog, type ResellerFixture } from '../support/test-app.js';

// The dashboards' charts in a real browser: the operator's and a reseller's, drawn by Chart.js under
// the console's CSP (script-src 'self'; style-src 'self'). Any console error, CSP violation or failed
// request fails the test. Screenshots go to a temporary directory named in the test's output.

const CHROMIUM = process.env.HOSTPLANE_CHROMIUM ?? '/usr/bin/chromium';
const CONSOLE_INDEX = path.join(import.meta.dirname, '..', '..', 'dist', 'console', 'index.html');
const OPERATOR = 'chart-operator';
const PASSWORD = 'a long console password';
const DAY = 86_400_000;

const relay: RelayDriver = {
  name: 'accepting',
  async apply() {},
  provisionDomain: async () => {},
  updateDomain: async () => {},
  deprovisionDomain: async () => {},
};

let s: CliServer;
let browser: Browser;
let shots: string;
let acme: ResellerFixture;
let globex: ResellerFixture;
const problems: string[] = [];

/** Clients created on a past day and provisioned `seconds` later, by the app's clock. */
async function clientsOn(r: ResellerFixture, daysAgo: number, count: number, seconds: number): Promise<number[]> {
  const at = Date.now() - daysAgo * DAY;
  s.t.setNow(new Date(at));
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    const res = await s.t.app.server.inject({
      method: 'POST',
      url: '/v1/clients',
      headers: { authorization: r.auth },
      payload: { package_uid: 'spamstopshere-standard', user_count: 1, name: `Client ${daysAgo}-${i}`, domains: [{ name: `d${daysAgo}-${i}-${r.id}.chart.test` }] },
    });
    expect(res.statusCode, res.body).toBe(201);
    ids.push((res.json() as { id: number }).id);
  }
  s.t.setNow(new Date(at + seconds * 1000));
  await s.t.app.jobs.drain();
  return ids;
}

async function signUp(username: string): Promise<void> {
  const captcha = (await s.t.app.server.inject({ method: 'GET', url: '/v1/resellers/new' })).json() as { captcha: { id: string; question: string } };
  const res = await s.t.app.server.inject({
    method: 'POST',
    url: '/v1/resellers',
    payload: { captcha: { id: captcha.captcha.id, answer: solveCaptcha(captcha.captcha.question) }, reseller: { name: `Applicant ${username}`, email_address: `${username}@apply.test`, username, application_name: 'cpanel' } },
  });
  expect(res.statusCode, res.body).toBeLessThan(300);
}

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  // A CSP violation is also reported to the page as an event; collect those besides console errors.
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
  });
  const page = await context.newPage();
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`${msg.type()}: ${msg.text()} (${page.url()})`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()} ${req.failure()?.errorText ?? ''}`));
  return page;
}

/** Waits until every chart named is drawn with data, and checks its canvas has painted pixels. */
async function expectCharts(page: Page, ids: string[]): Promise<void> {
  for (const id of ids) {
    const chart = page.locator(`[data-chart="${id}"]`);
    await chart.and(page.locator('[data-drawn="yes"]')).waitFor({ timeout: 30_000 });
    expect(Number(await chart.getAttribute('data-points')), id).toBeGreaterThan(0);
    const painted = await chart.locator('canvas').evaluate((c: HTMLCanvasElement) => {
      const g = c.getContext('2d')!;
      const { data } = g.getImageData(0, 0, c.width, c.height);
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
      return { n, width: c.width, height: c.height };
    });
    expect(painted.width, id).toBeGreaterThan(100);
    expect(painted.n, `${id}: painted pixels`).toBeGreaterThan(500);
  }
}

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Debian's chromium is required for the console's browser tests: apt-get install -y chromium (looked for ${CHROMIUM})`);
  if (!fs.existsSync(CONSOLE_INDEX)) throw new Error('the web console is not built: run npm run build');
  shots = fs.mkdtempSync(path.join(os.tmpdir(), 'hostplane-dashboard-'));

  s = await startCliServer({ relayDriver: relay });
  await seedDemoCatalog(s.t);
  acme = await createReseller(s.t, { name: 'Acme Hosting' });
  globex = await createReseller(s.t, { name: 'Globex Mail' });
  const login = await s.t.app.server.inject({ method: 'PUT', url: `/admin/v1/resellers/${acme.id}/login`, headers: { authorization: `Bearer ${s.t.operatorKey}` }, payload: { login: 'acme', password: PASSWORD } });
  expect(login.statusCode, login.body).toBe(200);
  const made = await s.cli('user', 'create', '--operator', '--login', OPERATOR, '--password', PASSWORD);
  expect(made.code, made.stderr).toBe(0);
  try {
    // Three weeks of sign-ups, a few a day, provisioned in 20 s to a few minutes.
    for (let d = 21; d >= 0; d -= 3) {
      await clientsOn(acme, d, 2 + (d % 4), 20 + d * 7);
      await clientsOn(globex, d, 1, 45);
    }
    const cancel = (await clientsOn(acme, 5, 2, 30))[0]!;
    s.t.setNow(new Date());
    const cancelled = await s.t.app.server.inject({ method: 'DELETE', url: `/v1/clients/${cancel}`, headers: { authorization: acme.auth } });
    expect(cancelled.statusCode).toBe(200);
  } finally {
    s.t.setNow(new Date());
  }
  await signUp('applicant-one');
  await signUp('applicant-two');
  // Relay jobs that used up their attempts on three days; the relay here never fails, so they are rows.
  for (const daysAgo of [9, 4, 4, 1]) {
    await sql`insert into jobs (kind, payload, state, reseller_id, run_at, updated_at, finished_at, last_error)
      values ('relay.apply', '{}', 'failed', ${acme.id}, now(), now(), now() - make_interval(days => ${daysAgo}), 'relay unreachable')`.execute(s.t.app.deps.db);
  }

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await s?.close();
});

describe.sequential('dashboard charts in chromium', () => {
  it("the operator's dashboard draws every chart, with no CSP violation", async () => {
    const page = await newPage();
    await page.goto(`${s.url}/console/login`);
    await page.getByLabel('Login').fill(OPERATOR);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    await expectCharts(page, ['growth', 'flow', 'provisioning', 'failed', 'signups', 'resellers']);
    expect(await page.locator('[data-count="pending-now"]').innerText()).toMatch(/^2\b/);
    expect(await page.locator('[data-chart="resellers"] canvas').getAttribute('aria-label')).toMatch(/^Acme Hosting: \d+ clients/);
    await page.getByRole('button', { name: '90 days' }).click();
    await expect.poll(() => page.locator('[data-chart="growth"]').getAttribute('data-points')).toBe('180');
    await page.getByRole('button', { name: '30 days' }).click();
    await expect.poll(() => page.locator('[data-chart="growth"]').getAttribute('data-points')).toBe('60');
    await expectCharts(page, ['growth']);
    const file = path.join(shots, 'operator-dashboard.png');
    await page.screenshot({ path: file, fullPage: true });
    console.log(`operator dashboard screenshot: ${file}`);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it("a reseller's dashboard draws its own charts only", async () => {
    const page = await newPage();
    await page.goto(`${s.url}/console/reseller/login`);
    await page.getByLabel('Login', { exact: true }).fill('acme');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Clients', level: 1 }).waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboard' }).click();
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    await expectCharts(page, ['growth', 'flow', 'provisioning', 'failed']);
    expect(await page.locator('[data-chart="signups"]').count()).toBe(0);
    expect(await page.locator('[data-chart="resellers"]').count()).toBe(0);
    const own = (await s.t.app.server.inject({ method: 'GET', url: '/v1/stats', headers: { authorization: acme.auth } })).json() as { series: { clients: number }[] };
    expect(await page.locator('[data-count="clients"] dd').innerText()).toBe(String(own.series[own.series.length - 1]!.clients));
    const file = path.join(shots, 'reseller-dashboard.png');
    await page.screenshot({ path: file, fullPage: true });
    console.log(`reseller dashboard screenshot: ${file}`);
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
