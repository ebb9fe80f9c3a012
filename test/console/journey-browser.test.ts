import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { solveCaptcha } from '../support/captcha-solver.js';
import { startClientWorld, type ClientWorld } from './client-harness.js';

// The whole journey through the console, in one chromium, each person in their own browser context
// (their own cookies): a company applies to resell, an operator approves it, the reseller creates a
// client whose domain becomes ready, logs in as the client, the client shares a family code that a
// colleague activates, and the operator bulk-suspends the client's account group after a dry run.
// Every step goes through the pages; the API is used only for what no page offers to that person
// (the integrator's subscription, the operator's site metadata) and to check the results.

const COMPANY = 'Journey Webworks';
const USERNAME = 'journey-webworks';
const PASSWORD = 'journey reseller password';
const OPERATOR = 'journey-operator';
const OPERATOR_PASSWORD = 'journey operator password';
const CLIENT = 'Fjord Bakery';
const DOMAIN = 'fjord-bakery.test';
const OWNER = 'owner@fjord-bakery.test';
const COLLEAGUE = 'baker@fjord-bakery.test';
const GROUP = 'FJORD-2026';

let w: ClientWorld;
const operatorAuth = () => ({ authorization: `Bearer ${w.s.t.operatorKey}` });
const clientStatus = async (id: number) => (await w.json('GET', `/admin/v1/clients/${id}`, undefined, operatorAuth())).body.status as string;

async function person(): Promise<{ context: BrowserContext; page: Page }> {
  return w.newPage({ width: 1280, height: 860 });
}

beforeAll(async () => {
  w = await startClientWorld();
  const made = await w.json('POST', '/admin/v1/users', { login: OPERATOR, password: OPERATOR_PASSWORD, operator: true }, operatorAuth());
  expect(made.status, JSON.stringify(made.body)).toBe(201);
});
afterAll(async () => {
  await w?.close();
});

describe('the journey', () => {
  let operator: Page;
  let reseller: Page;
  let client: Page;
  let clientId: number;
  let shared: string;

  it('a company applies to resell on the sign-up page', async () => {
    const { page } = await person();
    await page.goto(`${w.s.url}/console/reseller/signup`);
    await page.getByLabel(/Company name/).fill(COMPANY);
    await page.getByLabel(/Username/).fill(USERNAME);
    await page.getByLabel(/Email address/).fill('sales@journey-webworks.test');
    const question = (await page.locator('label[for="signup-captcha"]').innerText()).replace(/\s*\*\s*$/, '').trim();
    await page.getByLabel(question).fill(solveCaptcha(question));
    await w.shot(page, '40-journey-signup');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByRole('heading', { name: 'Thank you', level: 1 }).waitFor();
    const listed = await w.json('GET', '/admin/v1/resellers?status=pending', undefined, operatorAuth());
    expect((listed.body as { name: string; status: string }[]).filter((r) => r.name === COMPANY)).toMatchObject([{ status: 'pending' }]);
  });

  it('the operator approves it with a console password', async () => {
    ({ page: operator } = await person());
    await operator.goto(`${w.s.url}/console/login`);
    await operator.getByLabel('Login').fill(OPERATOR);
    await operator.getByLabel('Password').fill(OPERATOR_PASSWORD);
    await operator.getByRole('button', { name: 'Sign in' }).click();
    await operator.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    await operator.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Resellers' }).click();
    await operator.getByRole('heading', { name: 'Resellers', level: 1 }).waitFor();
    await operator.locator(`tr[data-reseller="${USERNAME}"]`).getByRole('button', { name: 'Approve' }).click();
    const dialog = operator.getByRole('dialog', { name: `Approve ${COMPANY}?` });
    expect(await dialog.getByLabel('Console login').inputValue()).toBe(USERNAME);
    await dialog.getByLabel(/Console password/).fill(PASSWORD);
    await dialog.getByRole('button', { name: 'Approve' }).click();
    await operator.getByRole('status').filter({ hasText: `${COMPANY} is approved` }).waitFor();
    await w.shot(operator, '41-journey-approved');
    await operator.getByRole('button', { name: 'Done' }).click();
  });

  it('the reseller signs in and creates a client whose domain becomes ready', async () => {
    ({ page: reseller } = await person());
    await reseller.goto(`${w.s.url}/console/reseller`);
    await reseller.getByLabel('Login', { exact: true }).fill(USERNAME);
    await reseller.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await reseller.getByRole('button', { name: 'Sign in' }).click();
    await reseller.getByRole('heading', { name: 'Clients', level: 1 }).waitFor();
    await reseller.getByRole('link', { name: 'New client' }).click();
    await reseller.getByLabel('Name', { exact: true }).fill(CLIENT);
    await reseller.getByLabel('Contact email').fill(OWNER);
    await reseller.getByLabel('Package', { exact: true }).selectOption('spamstopshere-standard');
    await reseller.getByLabel('Users').fill('3');
    await reseller.getByLabel('Domain 1', { exact: true }).fill(DOMAIN);
    await reseller.getByRole('button', { name: 'Create client' }).click();
    await reseller.getByRole('heading', { name: CLIENT, level: 1 }).waitFor();
    clientId = Number(/\/clients\/([0-9]+)/.exec(reseller.url())?.[1]);
    expect(clientId).toBeGreaterThan(0);
    const card = reseller.locator(`article[data-domain="${DOMAIN}"]`);
    // The relay job provisions the domain; the badge turns without a reload.
    await card.locator('.badge').filter({ hasText: 'initializing' }).waitFor();
    // The test server runs no worker loop: the queued relay job runs here, as a worker would.
    await w.s.t.app.jobs.drain();
    await card.locator('.badge').filter({ hasText: 'ready' }).waitFor({ timeout: 20_000 });
    await w.shot(reseller, '42-journey-client-ready');
    const mine = await w.json('GET', `/admin/v1/clients/${clientId}`, undefined, operatorAuth());
    expect(mine.body).toMatchObject({ name: CLIENT, status: 'active' });
  });

  it('the reseller logs in as the client (SSO) and lands in the client area', async () => {
    // The link points at the server's public address (https://panel.hostplane.test in tests), which no
    // DNS here resolves: the browser's request for it is sent on to this server, standing in for DNS,
    // and the rest (the one-time token, the session cookie, the landing) is the real flow.
    await reseller.context().route('https://panel.hostplane.test/**', (route) => {
      const target = new URL(route.request().url());
      return route.fulfill({ status: 302, headers: { location: `${w.s.url}${target.pathname}${target.search}` } });
    });
    const [tab] = await Promise.all([reseller.context().waitForEvent('page'), reseller.getByRole('button', { name: 'Log in as client' }).click()]);
    client = tab;
    client.setDefaultTimeout(10_000);
    await client.waitForURL(/\/console\/my/);
    await client.getByRole('heading', { name: CLIENT, level: 1 }).waitFor();
    await w.shot(client, '43-journey-client-area');
  });

  it('the client shares a family code and a colleague activates it', async () => {
    // The integrator's side: the client's owner holds a company subscription with codes to share.
    const { codes } = await w.ownerWithCodes(clientId, OWNER, 'owner password');
    // The owner was linked while the client area was open: it shows on the next visit.
    await client.reload();
    await client.getByRole('link', { name: 'Subscription' }).click();
    await client.getByRole('heading', { name: 'Subscription', level: 1 }).waitFor();
    const row = client.locator(`tr[data-code="${codes[0]}"]`);
    await row.getByText('Not used yet').waitFor();
    await row.getByRole('button', { name: /^Copy link: / }).click();
    await row.getByText('Copied').waitFor();
    shared = await client.evaluate(() => navigator.clipboard.readText());
    expect(shared).toMatch(new RegExp(`/console/activate\\?code=${codes[0]}$`));

    const { page: colleague } = await person();
    const link = new URL(shared);
    await colleague.goto(`${w.s.url}${link.pathname}${link.search}`);
    await colleague.getByLabel('Email', { exact: true }).fill(COLLEAGUE);
    await colleague.getByLabel('Password', { exact: true }).fill('colleague password');
    await colleague.getByRole('button', { name: 'Create account and activate' }).click();
    await colleague.getByRole('heading', { name: 'Code activated', level: 1 }).waitFor();
    await w.shot(colleague, '44-journey-activated');

    await client.reload();
    await client.locator(`tr[data-code="${codes[0]}"]`).getByText('In use').waitFor();
    await client.locator(`tr[data-code="${codes[0]}"]`).getByText(`by ${COLLEAGUE}`).waitFor();
    const login = await w.json('POST', '/api/v1/users/login', { email: COLLEAGUE, password: 'colleague password' });
    const subs = await w.json('GET', '/api/v1/users/subscriptions', undefined, { authorization: `Bearer ${login.body.access.token}` });
    expect((subs.body.subscriptions as { code: string }[]).map((s) => s.code)).toEqual(['company_member']);
  });

  it('the operator bulk-suspends the client’s account group after a dry run', async () => {
    // The billing system put the client in an account group with one subordinate site.
    const cpcmd = (fn: string, args: unknown[]) => w.json('POST', `/api/v1/cpcmd/${encodeURIComponent(fn)}`, { args }, operatorAuth());
    expect((await cpcmd('admin:edit-site', [`site${clientId}`, { 'billing.invoice': GROUP }])).status).toBe(200);
    expect((await cpcmd('admin:add-site', ['fjord-shop.test', 'fjordshop', { 'billing.parent_invoice': GROUP }])).status).toBe(200);
    const sub = (await w.json('GET', '/admin/v1/clients?q=fjord-shop.test', undefined, operatorAuth())).body.clients[0].id as number;
    const bystander = await w.newClient('Bystander Ltd', ['bystander.test']);

    await operator.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Account groups', exact: true }).click();
    await operator.getByRole('heading', { name: 'Account groups', level: 1 }).waitFor();
    await operator.locator(`tr[data-group="${GROUP}"]`).getByRole('button', { name: /Manage/ }).click();
    const panel = operator.getByRole('region', { name: `Group ${GROUP}` });
    await expect.poll(() => panel.locator('tr[data-site]').count()).toBe(2);
    await panel.getByLabel('Suspension reason').fill('invoice overdue');
    await panel.getByRole('button', { name: 'Suspend group…' }).click();
    const preview = panel.getByRole('region', { name: /Preview: suspend 2 sites/ });
    await preview.waitFor();
    const listed = await preview.locator('tr[data-site]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-site')));
    expect(listed.sort()).toEqual([`site${clientId}`, `site${sub}`].sort());
    expect(await clientStatus(clientId)).toBe('active');
    await w.shot(operator, '45-journey-group-dry-run');
    await preview.getByRole('button', { name: 'Suspend these 2 sites…' }).click();
    await operator.getByRole('dialog', { name: `Suspend 2 sites of group ${GROUP}?` }).getByRole('button', { name: 'Suspend', exact: true }).click();
    await panel.getByRole('status').filter({ hasText: '2 sites suspended' }).waitFor();
    await w.shot(operator, '46-journey-group-suspended');

    expect(await clientStatus(clientId)).toBe('suspended');
    expect(await clientStatus(sub)).toBe('suspended');
    expect(await clientStatus(bystander)).toBe('active');

    // The reseller sees it too, without a reload of the whole console.
    await reseller.getByRole('link', { name: 'Clients', exact: true }).first().click();
    await reseller.locator('tr', { hasText: CLIENT }).getByText('suspended').waitFor({ timeout: 15_000 });
    await w.shot(reseller, '47-journey-reseller-sees-suspension');
  });

  it('no page logged an error nobody expected', () => {
    expect(w.problems).toEqual([]);
  });
});
