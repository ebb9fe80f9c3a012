import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/test-app.js';

// The operator console's API keys page in Debian's chromium: a new operator key shown once, revoking
// it after confirming (refused at once), revoking a CRM API token, and ending a CRM user's sign-ins.
// Screenshots go to test-artifacts/console.

const CHROMIUM = process.env.HOSTPLANE_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(import.meta.dirname, '..', '..', 'test-artifacts', 'console');
const LOGIN = 'keys-operator';
const PASSWORD = 'a long operator password';

let t: TestApp;
let url: string;
let browser: Browser;
let page: Page;
const problems: string[] = [];

const admin = () => ({ authorization: `Bearer ${t.operatorKey}` });
async function inject(method: 'GET' | 'POST', path: string, headers: Record<string, string>, payload?: Record<string, unknown>) {
  const res = await t.app.server.inject({ method, url: path, headers, ...(payload ? { payload } : {}) });
  return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

beforeAll(async () => {
  t = await createTestApp();
  await t.app.server.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(t.app.server.server.address() as AddressInfo).port}`;
  expect((await inject('POST', '/admin/v1/users', admin(), { login: LOGIN, password: PASSWORD, operator: true })).status).toBe(201);
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

describe.sequential('the API keys page in chromium', () => {
  it('creates an operator key shown once, then revokes it after confirming: the key is refused at once', async () => {
    await page.goto(`${url}/console/login?next=%2Fkeys`);
    await page.getByLabel('Login').fill(LOGIN);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();

    await page.getByLabel('What it is for').fill('billing-sync');
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = await page.getByTestId('operator-key').innerText();
    expect(key).toMatch(/^hpo_/);
    expect((await inject('GET', '/admin/v1/keys', { authorization: `Bearer ${key}` })).status).toBe(200);
    const id = ((await inject('GET', '/admin/v1/keys', admin())).body as unknown as { id: number; name: string }[]).find((k) => k.name === 'billing-sync')!.id;

    const row = page.locator(`tr[data-key="${id}"]`);
    await row.getByRole('button', { name: /Revoke/ }).click();
    const dialog = page.getByRole('dialog', { name: `Revoke operator key #${id}?` });
    await dialog.waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, '30-keys-revoke-confirm.png'), fullPage: true });
    await dialog.getByRole('button', { name: 'Revoke' }).click();
    await row.locator('.badge-revoked').waitFor();
    await expect.poll(() => row.getByRole('button', { name: /Revoke/ }).count()).toBe(0);
    expect((await inject('GET', '/admin/v1/keys', { authorization: `Bearer ${key}` })).status).toBe(401);
  });

  it('revokes a CRM API token, which the CRM door then refuses', async () => {
    const made = await inject('POST', '/admin/v1/api-tokens', admin(), { name: 'billing', allow: ['/api/v1/subscriptions/create'] });
    expect(made.status).toBe(201);
    await page.reload();
    const row = page.locator(`tr[data-token="${made.body.id}"]`);
    await row.getByRole('button', { name: /Revoke/ }).click();
    await page.getByRole('dialog', { name: `Revoke CRM API token #${made.body.id}?` }).getByRole('button', { name: 'Revoke' }).click();
    await row.locator('.badge-revoked').waitFor();
    const refused = await inject('POST', '/api/v1/subscriptions/create', { authorization: `Bearer ${made.body.token}`, 'content-type': 'application/json' }, { email: 'x@example.com', subscription_type_id: 1 });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toBe('no_authorization');
  });

  it("ends a CRM user's sign-ins by email; an unknown user is said so", async () => {
    const reg = await inject('POST', '/api/v1/users/register', { 'content-type': 'application/json' }, { email: 'reader@example.com', password: 'reader-password' });
    expect(reg.status).toBe(200);
    await page.getByLabel('User id or email').fill('reader@example.com');
    await page.getByRole('button', { name: 'Revoke their tokens' }).click();
    await page.getByRole('status').filter({ hasText: '1 token of user' }).waitFor();
    expect((await inject('GET', '/api/v1/user/info', { authorization: `Bearer ${reg.body.access.token}` })).status).toBe(403);
    await page.screenshot({ path: path.join(ARTIFACTS, '31-keys-page.png'), fullPage: true });

    await page.getByLabel('User id or email').fill('ghost@example.com');
    await page.getByRole('button', { name: 'Revoke their tokens' }).click();
    await page.getByRole('alert').filter({ hasText: 'user not found' }).waitFor();
  });

  it('is readable on a phone: nothing wider than the screen but tables, which scroll in their box', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${url}/console/keys`);
    await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
    await page.waitForLoadState('networkidle');
    const wide = await page.evaluate(() =>
      document.documentElement.scrollWidth <= window.innerWidth
        ? []
        : [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth && !e.closest('.table-wrap')).map((e) => `${e.tagName}.${e.className}`).slice(0, 5),
    );
    expect(wide).toEqual([]);
    await page.screenshot({ path: path.join(ARTIFACTS, '32-keys-phone.png') });
  });

  it('no console errors on the way', () => {
    // The one failed call above (404 for the unknown user) is the browser's own network log line.
    expect(problems.filter((p) => !/status of 404/.test(p))).toEqual([]);
  });
});
