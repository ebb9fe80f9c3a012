import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { solveCaptcha } from '../support/captcha-solver.js';
import { basic, createReseller, createTestApp, seedDemoCatalog, type TestApp } from '../support/test-app.js';

// The reseller's web console in a real browser (Debian's chromium driven by playwright-core) against
// a listening server on a test database: an operator approves a sign-up with a console password, the
// reseller signs in, creates a client, watches its domain turn ready, edits it, logs in as it,
// manages webhooks and keys, reads its audit log and cancels the client after the warning.
// Screenshots of the main pages go to test-artifacts/console.

const CHROMIUM = process.env.HOSTPLANE_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(import.meta.dirname, '..', '..', 'test-artifacts', 'console');
const CONSOLE_INDEX = path.join(import.meta.dirname, '..', '..', 'dist', 'console', 'index.html');
const OPERATOR = 'reseller-test-operator';
const OPERATOR_PASSWORD = 'an operator password';
const USERNAME = 'northwind';
const PASSWORD = 'northwind console password';
const DOMAIN = 'northwind-mail.test';
const SECOND = 'northwind-two.test';

let t: TestApp;
let url: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let resellerId: number;
let clientId: number;
let firstKey: { token: string; key: string };
let currentKey: { token: string; key: string };
let otherAuth: string;
const problems: string[] = [];
/** Console errors the step itself provokes (a refused password's 401); any other is a failure. */
let expected: RegExp | undefined;
const admin = () => ({ authorization: `Bearer ${t.operatorKey}` });

async function shot(name: string, p: Page = page): Promise<void> {
  await p.getByText('Loading…').first().waitFor({ state: 'detached' });
  await p.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

function watch(p: Page, label: string): void {
  p.on('console', (msg) => {
    if (msg.type() !== 'error' && msg.type() !== 'warning') return;
    if (expected?.test(msg.text())) return;
    problems.push(`${label} ${msg.type()}: ${msg.text()} (${p.url()})`);
  });
  p.on('pageerror', (err) => problems.push(`${label} page error: ${err.message} (${p.url()})`));
  p.on('requestfailed', (req) => problems.push(`${label} request failed: ${req.url()} ${req.failure()?.errorText ?? ''}`));
}

async function domainStatus(name: string): Promise<string> {
  const res = await t.app.server.inject({ method: 'GET', url: `/admin/v1/clients/${clientId}`, headers: admin() });
  return (res.json() as { domains: { name: string; status: string }[] }).domains.find((d) => d.name === name)?.status ?? 'missing';
}

beforeAll(async () => {
  // A missing browser or an unbuilt console is a failure with instructions, never a silent skip.
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Debian's chromium is required for the console's browser tests: apt-get install -y chromium (looked for ${CHROMIUM})`);
  if (!fs.existsSync(CONSOLE_INDEX)) throw new Error('the web console is not built: run npm run build');
  fs.mkdirSync(ARTIFACTS, { recursive: true });

  // Webhook targets on this machine are private addresses; the test server allows them.
  t = await createTestApp({ HOSTPLANE_WEBHOOK_ALLOW_PRIVATE: 'true' });
  await t.app.server.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(t.app.server.server.address() as AddressInfo).port}`;
  await seedDemoCatalog(t);
  // Another reseller's client, which this reseller must never see.
  const other = await createReseller(t, { name: 'Other Hosting' });
  otherAuth = other.auth;
  const theirs = await t.app.server.inject({ method: 'POST', url: '/v1/clients', headers: { authorization: other.auth }, payload: { package_uid: 'spamstopshere-standard', user_count: 1, name: 'Not Yours Ltd', domains: [{ name: 'not-yours.test' }] } });
  expect(theirs.statusCode, theirs.body).toBe(201);
  await t.app.jobs.drain();
  const made = await t.app.server.inject({ method: 'POST', url: '/admin/v1/users', headers: admin(), payload: { login: OPERATOR, password: OPERATOR_PASSWORD, operator: true } });
  expect(made.statusCode, made.body).toBe(201);
  const form = (await t.app.server.inject({ method: 'GET', url: '/v1/resellers/new' })).json() as { captcha: { id: string; question: string } };
  const signUp = await t.app.server.inject({
    method: 'POST',
    url: '/v1/resellers',
    payload: { captcha: { id: form.captcha.id, answer: solveCaptcha(form.captcha.question) }, reseller: { name: 'Northwind Mail', email_address: 'ops@northwind.test', username: USERNAME } },
  });
  expect(signUp.statusCode, signUp.body).toBe(201);
  resellerId = (signUp.json() as { reseller: { id: number } }).reseller.id;

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url });
  page = await context.newPage();
  watch(page, 'main');
}, 240_000);

// A failed step leaves a picture of where it stopped.
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail' && page) await page.screenshot({ path: path.join(ARTIFACTS, `failed-${ctx.task.name.slice(0, 40).replace(/[^a-z0-9]+/gi, '-')}.png`), fullPage: true });
});

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe.sequential('reseller console in chromium', () => {
  it('the operator approves the sign-up with a console password and sees the credentials once', async () => {
    await page.goto(`${url}/console/login`);
    await page.getByLabel('Login').fill(OPERATOR);
    await page.getByLabel('Password').fill(OPERATOR_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Resellers' }).click();
    await page.getByRole('heading', { name: 'Resellers', level: 1 }).waitFor();
    const row = page.locator(`tr[data-reseller="${USERNAME}"]`);
    await row.getByRole('button', { name: 'Approve' }).click();
    const dialog = page.getByRole('dialog', { name: 'Approve Northwind Mail?' });
    await dialog.waitFor();
    expect(await dialog.getByLabel('Console login').inputValue()).toBe(USERNAME);
    await dialog.getByLabel(/Console password/).fill('short');
    expected = /status of 422/;
    await dialog.getByRole('button', { name: 'Approve' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'password is too short' }).waitFor();
    expected = undefined;
    await dialog.getByLabel(/Console password/).fill(PASSWORD);
    await shot('reseller-00-operator-approve');
    await dialog.getByRole('button', { name: 'Approve' }).click();
    const notice = page.getByRole('status').filter({ hasText: 'Northwind Mail is approved' });
    await notice.waitFor();
    expect(await page.getByTestId('console-login').innerText()).toBe(USERNAME);
    firstKey = { token: await page.getByTestId('api-token').innerText(), key: await page.getByTestId('api-key').innerText() };
    await notice.getByRole('button', { name: 'Copy token:key' }).click();
    await notice.getByRole('button', { name: /Copy token:key/ }).filter({ hasText: 'Copied' }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(`${firstKey.token}:${firstKey.key}`);
    await shot('reseller-01-operator-approved');
    await page.getByRole('button', { name: 'Done' }).click();

    // A new key for another reseller: shown once, and its old pair stops working.
    await page.getByLabel('Status').selectOption('');
    const other = page.locator('tr', { hasText: 'Other Hosting' });
    await other.getByRole('button', { name: 'New key' }).click();
    const rotate = page.getByRole('dialog', { name: 'Issue a new key for Other Hosting?' });
    await rotate.getByRole('button', { name: 'Issue new key' }).click();
    await page.getByRole('status').filter({ hasText: 'Other Hosting has a new key' }).waitFor();
    const rotated = basic(await page.getByTestId('api-token').innerText(), await page.getByTestId('api-key').innerText());
    expect((await t.app.server.inject({ method: 'GET', url: '/v1/credentials', headers: { authorization: otherAuth } })).statusCode).toBe(401);
    expect((await t.app.server.inject({ method: 'GET', url: '/v1/credentials', headers: { authorization: rotated } })).statusCode).toBe(200);
    await page.getByRole('button', { name: 'Done' }).click();

    // Its branded login host.
    await other.getByRole('button', { name: 'Login host' }).click();
    const hostDialog = page.getByRole('dialog', { name: 'Branded login host of Other Hosting?' });
    await hostDialog.getByLabel('Login host').fill('login.other-hosting.test');
    await hostDialog.getByRole('button', { name: 'Save host' }).click();
    await page.getByRole('status').filter({ hasText: 'login.other-hosting.test' }).waitFor();
    await other.getByText('login.other-hosting.test').waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Hostplane' }).waitFor();
  });

  it('refuses a wrong password in plain words, then signs the reseller in', async () => {
    await page.goto(`${url}/console/reseller/clients`);
    await expect.poll(() => new URL(page.url()).pathname).toBe('/console/reseller/login');
    await page.getByRole('heading', { name: 'Sign in to Hostplane' }).waitFor();
    await page.getByLabel('Login', { exact: true }).fill(USERNAME);
    await page.getByLabel('Password', { exact: true }).fill('not the password');
    expected = /status of 401/;
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong login or password.' }).waitFor();
    expected = undefined;
    await shot('reseller-02-login-refused');
    // The public sign-up is reachable from here without a session, and back.
    await page.getByRole('link', { name: 'Apply for an account' }).click();
    await expect.poll(() => new URL(page.url()).pathname).toBe('/console/reseller/signup');
    await page.getByRole('heading', { level: 1 }).first().waitFor();
    await page.getByLabel('Company name').waitFor();
    await shot('reseller-02b-signup');
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.getByLabel('Login', { exact: true }).fill(USERNAME);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Clients', level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/console/reseller');
    await page.getByText('You have no clients yet.').waitFor();
    await page.locator('header .brand').filter({ hasText: 'Northwind Mail' }).waitFor();
    await shot('reseller-03-clients-empty');
  });

  it('the session cookie is HttpOnly, SameSite=Lax, scoped to /v1; a change without the CSRF token is refused', async () => {
    const cookie = (await context.cookies(`${url}/v1/session`)).find((c) => c.name === 'hp_reseller');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/v1' });
    expect(await page.evaluate(() => document.cookie)).not.toContain('hp_reseller');
    const forged = await context.request.post(`${url}/v1/clients`, { data: { package_uid: 'spamstopshere-standard', user_count: 1, domains: [{ name: 'forged.test' }] } });
    expect(forged.status()).toBe(403);
    const search = (await (await context.request.get(`${url}/v1/clients/search`)).json()) as { clients: unknown[] };
    expect(search.clients).toEqual([]);
  });

  it('creates a client with a domain: the package picker shows costs, field errors are in words', async () => {
    await page.getByRole('link', { name: 'New client' }).click();
    await page.getByRole('heading', { name: 'New client', level: 1 }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('Contoso Ltd');
    await page.getByLabel('Contact email').fill('admin@contoso.test');
    const options = await page.getByLabel('Package', { exact: true }).locator('option').allInnerTexts();
    expect(options.some((o) => /\$\d+\.\d\d per domain, \$\d+\.\d\d per mailbox/.test(o))).toBe(true);
    expected = /status of 422/;
    await page.getByRole('button', { name: 'Create client' }).click();
    await page.getByText(/Package can't be blank/).first().waitFor();
    expected = undefined;
    await page.getByLabel('Package', { exact: true }).selectOption('spamstopshere-standard');
    await page.getByTestId('package-cost').filter({ hasText: /per domain/ }).waitFor();
    await page.getByLabel('Users').fill('5');
    await page.getByLabel('Domain 1', { exact: true }).fill(DOMAIN);
    await shot('reseller-04-client-new');
    await page.getByRole('button', { name: 'Create client' }).click();
    await page.getByRole('heading', { name: 'Contoso Ltd', level: 1 }).waitFor();
    clientId = Number(/\/clients\/([0-9]+)$/.exec(new URL(page.url()).pathname)![1]);
    expect(clientId).toBeGreaterThan(0);
  });

  it('shows the MX records to publish with copy buttons, and a pending badge', async () => {
    const card = page.locator(`article[data-domain="${DOMAIN}"]`);
    await card.getByText('initializing').waitFor();
    const hosts = await card.locator('tbody code').allInnerTexts();
    expect(hosts).toEqual(['northwind-mail-test.relay1g.spamh.com.', 'northwind-mail-test.relay1h.spamh.com.']);
    await card.getByRole('button', { name: `Copy: ${hosts[0]}` }).click();
    await card.getByRole('button', { name: `Copy: ${hosts[0]}` }).filter({ hasText: 'Copied' }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(hosts[0]);
    await shot('reseller-05-client-detail-pending');
  });

  it('the clients list badge turns ready without a reload once the relay job ran', async () => {
    await page.getByRole('link', { name: 'Clients', exact: true }).first().click();
    const badge = page.locator(`[data-domain="${DOMAIN}"] .badge`);
    await badge.filter({ hasText: 'initializing' }).waitFor();
    // Only the reseller's own clients are listed.
    expect(await page.getByText('Not Yours Ltd').count()).toBe(0);
    await shot('reseller-06-clients-pending');
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    await t.app.jobs.drain();
    expect(await domainStatus(DOMAIN)).toBe('ready');
    await badge.filter({ hasText: 'ready' }).waitFor({ timeout: 20_000 });
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    await shot('reseller-07-clients-ready');
  });

  it('finds the client by search', async () => {
    await page.getByRole('searchbox').fill('nothing like it');
    await page.keyboard.press('Enter');
    await page.getByText('No clients match this search.').waitFor();
    await page.getByRole('searchbox').fill('CONTOSO');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
  });

  it('edits the client: a new name and a second domain with its own mail server', async () => {
    await page.getByRole('link', { name: 'Contoso Ltd' }).click();
    await page.getByRole('link', { name: 'Edit' }).click();
    await page.getByRole('heading', { name: 'Edit Contoso Ltd', level: 1 }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('Contoso Group');
    await page.getByRole('button', { name: 'Add a domain' }).click();
    await page.getByLabel('Domain 2', { exact: true }).fill(SECOND);
    await page.getByLabel(/Mail servers for domain 2/).fill('mx.contoso.test');
    await shot('reseller-08-client-edit');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('heading', { name: 'Contoso Group', level: 1 }).waitFor();
    const second = page.locator(`article[data-domain="${SECOND}"]`);
    await second.getByText('mx.contoso.test').waitFor();
    await second.getByText('initializing').waitFor();
    await t.app.jobs.drain();
    await second.locator('.badge').filter({ hasText: 'ready' }).waitFor({ timeout: 20_000 });
    const saved = (await t.app.server.inject({ method: 'GET', url: `/admin/v1/clients/${clientId}`, headers: admin() })).json() as { name: string; domains: { name: string; mail_servers: string[] }[] };
    expect(saved.name).toBe('Contoso Group');
    expect(saved.domains.map((d) => d.name)).toEqual([DOMAIN, SECOND]);
    expect(saved.domains[1]!.mail_servers).toEqual(['mx.contoso.test']);
  });

  it('"Log in as client" opens the one-time SSO link in a new tab', async () => {
    // The link points at the server's public address (https://panel.hostplane.test here), which this
    // machine cannot reach: the browser's request for it is caught and answered, and the token in it
    // is then redeemed against the real server.
    let opened: string | undefined;
    await context.route('https://panel.hostplane.test/**', (route) => {
      opened = route.request().url();
      return route.fulfill({ status: 200, contentType: 'text/plain', body: 'landing' });
    });
    const [tab] = await Promise.all([context.waitForEvent('page'), page.getByRole('button', { name: 'Log in as client' }).click()]);
    await expect.poll(() => opened).toContain('/login/auth_token?token=');
    expect(opened!.startsWith('https://panel.hostplane.test/login/auth_token?token=')).toBe(true);
    await expect.poll(() => tab.url()).toBe(opened);
    const link = new URL(opened!);
    await tab.close();
    await context.unroute('https://panel.hostplane.test/**');
    await page.getByRole('status').filter({ hasText: 'A login link for the client' }).waitFor();
    await shot('reseller-09-client-login-link');
    const redeemed = await t.app.server.inject({ method: 'GET', url: `${link.pathname}${link.search}` });
    expect(redeemed.statusCode).toBeGreaterThanOrEqual(300);
    expect(redeemed.statusCode).toBeLessThan(400);
    expect(String(redeemed.headers['set-cookie'])).toContain('HttpOnly');
    // Single use: the same link is refused the second time.
    expect((await t.app.server.inject({ method: 'GET', url: `${link.pathname}${link.search}` })).statusCode).toBe(403);
  });

  it('lists the packages with their costs', async () => {
    await page.getByRole('link', { name: 'Packages' }).click();
    await page.getByRole('heading', { name: 'Packages', level: 1 }).waitFor();
    const row = page.locator('tr[data-package="spamstopshere-standard"]');
    await row.waitFor();
    expect(await row.locator('td').nth(1).innerText()).toMatch(/^\$\d+\.\d\d$/);
    await shot('reseller-10-packages');
  });

  it('adds a webhook (secret shown once), sees its deliveries, and deletes it after confirming', async () => {
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
    await page.getByText('No webhook endpoints yet.').waitFor();
    await page.getByLabel('Endpoint URL').fill(`${url}/healthz`);
    await page.getByLabel('client.updated').check();
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await page.getByRole('status').filter({ hasText: 'Endpoint added' }).waitFor();
    expect((await page.getByTestId('webhook-secret').innerText()).length).toBeGreaterThan(20);
    // An event after registration makes a delivery.
    const update = await t.app.server.inject({ method: 'PUT', url: `/v1/clients/${clientId}`, headers: { authorization: basic(firstKey.token, firstKey.key) }, payload: { user_count: 6 } });
    expect(update.statusCode, update.body).toBe(200);
    const row = page.locator('tr[data-webhook]');
    await row.getByRole('button', { name: 'Deliveries' }).click();
    await page.locator('tr[data-delivery]').getByText('client.updated').waitFor();
    await shot('reseller-11-webhooks');
    await row.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete this webhook endpoint?' });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Delete endpoint' }).click();
    await page.getByText('No webhook endpoints yet.').waitFor();
  });

  it('rotates the API key after confirming: the new pair is shown once and the old one stops working', async () => {
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
    expect(await page.getByTestId('current-token').innerText()).toBe(firstKey.token);
    await page.getByRole('button', { name: 'Rotate API key' }).click();
    const dialog = page.getByRole('dialog', { name: 'Rotate the API key?' });
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect((await t.app.server.inject({ method: 'GET', url: '/v1/credentials', headers: { authorization: basic(firstKey.token, firstKey.key) } })).statusCode).toBe(200);
    await page.getByRole('button', { name: 'Rotate API key' }).click();
    await dialog.getByRole('button', { name: 'Rotate key' }).click();
    await page.getByRole('status').filter({ hasText: 'New API credentials' }).waitFor();
    const fresh = { token: await page.getByTestId('api-token').innerText(), key: await page.getByTestId('api-key').innerText() };
    currentKey = fresh;
    await shot('reseller-12-keys-rotated');
    expect((await t.app.server.inject({ method: 'GET', url: '/v1/credentials', headers: { authorization: basic(firstKey.token, firstKey.key) } })).statusCode).toBe(401);
    expect((await t.app.server.inject({ method: 'GET', url: '/v1/credentials', headers: { authorization: basic(fresh.token, fresh.key) } })).statusCode).toBe(200);
    await page.getByRole('button', { name: 'Done, I stored it' }).click();
    await expect.poll(() => page.getByTestId('current-token').innerText()).toBe(fresh.token);
    await expect.poll(() => page.getByTestId('api-key').count()).toBe(0);
  });

  it('reads its audit log, newest first', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('heading', { name: 'Audit log', level: 1 }).waitFor();
    await page.locator('tr[data-event="reseller.key_rotated"]').first().waitFor();
    await page.locator('tr[data-event="client.created"]').first().waitFor();
    await page.locator('tr[data-event="reseller.logged_in"]').first().waitFor();
    await page.getByLabel('Action').fill('client.created');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    await shot('reseller-13-audit');
  });

  it('is readable on a phone', async () => {
    const phone = await context.newPage();
    watch(phone, 'phone');
    await phone.setViewportSize({ width: 390, height: 844 });
    for (const [name, to, heading] of [
      ['reseller-14-phone-clients', '/console/reseller', 'Clients'],
      ['reseller-15-phone-client', `/console/reseller/clients/${clientId}`, 'Contoso Group'],
      ['reseller-16-phone-edit', `/console/reseller/clients/${clientId}/edit`, 'Edit Contoso Group'],
    ] as const) {
      await phone.goto(`${url}${to}`);
      await phone.getByRole('heading', { name: heading, level: 1 }).waitFor();
      await phone.getByText('Loading…').first().waitFor({ state: 'detached' });
      await shot(name, phone);
      // Nothing but the tables' own scroll boxes is wider than the screen.
      expect(await phone.evaluate(() => document.documentElement.scrollWidth), name).toBeLessThanOrEqual(390);
    }
    await phone.close();
  });

  it('cancels the client only after a warning that says mail stops', async () => {
    await page.goto(`${url}/console/reseller/clients/${clientId}`);
    await page.getByRole('heading', { name: 'Contoso Group', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Cancel client' }).click();
    const dialog = page.getByRole('dialog', { name: 'Cancel Contoso Group?' });
    await dialog.waitFor();
    expect(await dialog.innerText()).toContain('Mail stops.');
    expect(await dialog.innerText()).toContain(DOMAIN);
    await shot('reseller-17-cancel-warning');
    await dialog.getByRole('button', { name: 'Cancel', exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect(await domainStatus(DOMAIN)).toBe('ready');
    await page.getByRole('button', { name: 'Cancel client' }).click();
    await dialog.getByRole('button', { name: 'Cancel client, stop mail' }).click();
    await page.getByRole('heading', { name: 'Clients', level: 1 }).waitFor();
    await page.getByText('You have no clients yet.').waitFor();
    const gone = (await t.app.server.inject({ method: 'GET', url: `/admin/v1/clients/${clientId}`, headers: admin() })).json() as { status: string };
    expect(gone.status).toBe('cancelled');
  });

  it('pages through its clients by cursor', async () => {
    for (let i = 0; i < 30; i++) {
      const res = await t.app.server.inject({
        method: 'POST',
        url: '/v1/clients',
        headers: { authorization: basic(currentKey.token, currentKey.key) },
        payload: { package_uid: 'spamstopshere-standard', user_count: 1, name: `Paged ${String(i).padStart(2, '0')}`, domains: [{ name: `paged-${i}.test` }] },
      });
      expect(res.statusCode, res.body).toBe(201);
    }
    await page.reload();
    await page.getByRole('heading', { name: 'Clients', level: 1 }).waitFor();
    await expect.poll(() => page.locator('tbody tr').count()).toBe(25);
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText('Page 2', { exact: true }).waitFor();
    await expect.poll(() => page.locator('tbody tr').count()).toBe(5);
    expect(await page.locator('tbody tr').first().innerText()).toContain('Paged 25');
    expect(await page.getByRole('button', { name: 'Next' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Previous' }).click();
    await page.getByText('Page 1', { exact: true }).waitFor();
    await expect.poll(() => page.locator('tbody tr').count()).toBe(25);
  });

  it("on the reseller's branded login host the sign-in page carries its brand; sign-out ends the session", async () => {
    const host = new URL(url).host;
    const patched = await t.app.server.inject({ method: 'PATCH', url: `/admin/v1/resellers/${resellerId}`, headers: admin(), payload: { login_hostname: host } });
    expect(patched.statusCode, patched.body).toBe(200);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Northwind Mail' }).waitFor();
    await shot('reseller-18-branded-login');
    expect((await context.request.get(`${url}/v1/clients/search`)).status()).toBe(401);
    expect((await (await context.request.get(`${url}/v1/session`)).json()) as unknown).toEqual({ signed_in: false });
  });

  it('no page logged a console error', () => {
    expect(problems).toEqual([]);
  });
});
