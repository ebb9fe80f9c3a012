import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClientWorld, type ClientWorld } from './client-harness.js';

// The client admin's area in a real browser (Debian's chromium via playwright-core): the reseller's
// SSO link lands in /console/my, domains show their status (updating when the relay has them) and
// the MX records to copy, the owner's family codes show with links to copy and share; sign-out, the
// owner's email sign-in, site switching and a SaaS instance's page. Screenshots in test-artifacts/console.

let w: ClientWorld;
let context: BrowserContext;
let page: Page;
let clientId: number;
let codes: string[];
let ownerToken: string;
const CLIENT = 'Northwind Traders';
const DOMAINS = ['northwind.example', 'northwind-mail.example'];
const OWNER = 'boss@northwind.example';
const OWNER_PASSWORD = 'northwind owner password';

beforeAll(async () => {
  w = await startClientWorld();
  clientId = await w.newClient(CLIENT, DOMAINS);
  ({ codes, token: ownerToken } = await w.ownerWithCodes(clientId, OWNER, OWNER_PASSWORD));
  ({ context, page } = await w.newPage());
}, 240_000);

afterAll(async () => {
  await w?.close();
});

describe.sequential('client area in chromium', () => {
  it('the SSO link lands in the client area, signed in, with an HttpOnly cookie scripts cannot read', async () => {
    await page.goto(`${w.s.url}${await w.loginPath(clientId)}`);
    await page.getByRole('heading', { name: CLIENT, level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/console/my');
    await page.locator('[data-count="domains"]').getByText('2 domains, 0 ready.').waitFor();
    const session = (await context.cookies(w.s.url)).find((c) => c.name === 'hp_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    expect(await page.evaluate(() => document.cookie)).not.toContain('hp_session');
    await w.shot(page, 'client-01-overview');
  });

  it('domains show the MX records to publish, with copy buttons; a domain turns ready when the relay has it', async () => {
    await page.getByRole('link', { name: 'Domains' }).click();
    await page.getByRole('heading', { name: 'Domains', level: 1 }).waitFor();
    const row = page.locator(`tr[data-domain="${DOMAINS[0]}"]`);
    await row.getByText('initializing').waitFor();
    const host = `${DOMAINS[0]!.replaceAll('.', '-')}.relay1g.spamh.com.`;
    await row.getByText(host).waitFor();
    await row.getByRole('button', { name: `Copy: ${host}` }).click();
    await row.getByRole('button', { name: `Copy: ${host}` }).getByText('Copied').waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(host);
    await w.shot(page, 'client-02-domains-initializing');

    await w.s.t.app.jobs.drain();
    // The page polls while a domain is initializing: the badge changes without a reload.
    await row.getByText('ready', { exact: true }).waitFor({ timeout: 20_000 });
    await page.locator(`tr[data-domain="${DOMAINS[1]}"]`).getByText('ready', { exact: true }).waitFor({ timeout: 20_000 });
    await w.shot(page, 'client-03-domains-ready');

    await page.getByLabel('Search domains').fill('mail');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.locator(`tr[data-domain="${DOMAINS[0]}"]`).waitFor({ state: 'detached' });
    await page.locator(`tr[data-domain="${DOMAINS[1]}"]`).waitFor();
    await page.getByLabel('Search domains').fill('nothing-like-this');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('No domain matches “nothing-like-this”.').waitFor();
  });

  it('mail servers are shown read-only, with who changes them', async () => {
    await page.getByRole('link', { name: 'Mail servers' }).click();
    await page.getByRole('heading', { name: 'Mail servers', level: 1 }).waitFor();
    await page.getByText('Your provider manages them').waitFor();
    await page.getByRole('cell', { name: DOMAINS[0] }).waitFor();
    await w.shot(page, 'client-04-mail-servers');
  });

  it("the subscription page lists the owner's family codes with activation links to copy", async () => {
    await page.getByRole('link', { name: 'Subscription' }).click();
    await page.getByRole('heading', { name: 'Subscription', level: 1 }).waitFor();
    await page.getByRole('cell', { name: 'company_year' }).waitFor();
    for (const code of codes) await page.locator(`tr[data-code="${code}"]`).getByText('Not used yet').waitFor();
    const url = `https://panel.hostplane.test/console/activate?code=${codes[0]}`;
    const row = page.locator(`tr[data-code="${codes[0]}"]`);
    await row.getByRole('link', { name: url }).waitFor();
    await row.getByRole('button', { name: `Copy link: ${url}` }).click();
    await row.getByText('Copied').waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(url);
    await w.shot(page, 'client-05-family-codes');

    // The client shares the link; a colleague opens it in their own browser, registers and activates.
    const shared = new URL(`https://panel.hostplane.test/console/activate?code=${codes[1]}`);
    const colleague = await w.newPage();
    await colleague.page.goto(`${w.s.url}${shared.pathname}${shared.search}`);
    await colleague.page.getByLabel('Email', { exact: true }).fill('colleague@northwind.example');
    await colleague.page.getByLabel('Password', { exact: true }).fill('colleague password');
    await colleague.page.getByRole('button', { name: 'Create account and activate' }).click();
    await colleague.page.getByRole('heading', { name: 'Code activated', level: 1 }).waitFor();
    await colleague.context.close();
    // The client area shows it in use, and by whom.
    await page.reload();
    await page.locator(`tr[data-code="${codes[1]}"]`).getByText('In use').waitFor();
    await page.locator(`tr[data-code="${codes[1]}"]`).getByText('by colleague@northwind.example').waitFor();
    await page.getByLabel('State').selectOption('accepted');
    await page.locator(`tr[data-code="${codes[0]}"]`).waitFor({ state: 'detached' });
    expect(await page.locator('tr[data-code]').count()).toBe(1);
    await page.getByLabel('State').selectOption('');
    await page.locator('tr[data-code]').nth(3).waitFor();

    // Deactivating is confirmed first (Escape backs out, nothing changes); an accepted code's holder
    // loses access and a new code takes its place.
    const inUse = page.locator(`tr[data-code="${codes[1]}"]`);
    await inUse.getByRole('button', { name: `Deactivate code ${codes[1]}` }).click();
    const dialog = page.getByRole('dialog', { name: 'Deactivate this family code?' });
    await dialog.getByText('colleague@northwind.example').waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    await inUse.getByText('In use').waitFor();
    await inUse.getByRole('button', { name: `Deactivate code ${codes[1]}` }).click();
    await w.shot(page, 'client-05b-deactivate-confirm');
    await dialog.getByRole('button', { name: 'Deactivate' }).click();
    await page.getByRole('status').filter({ hasText: `Code ${codes[1]} is deactivated and its holder's access has ended` }).waitFor();
    await inUse.getByText('Cancelled').waitFor();
    expect(await page.locator('tr[data-code]').count()).toBe(5);
    const holder = await w.json('GET', '/api/v1/family/list', undefined, { authorization: `Bearer ${ownerToken}` });
    expect(holder.body.codes.find((c: { code: string }) => c.code === codes[1]).status).toBe('canceled');
  });

  it('a change without the CSRF token is refused, even with the session cookie; nothing changes', async () => {
    const refused = await context.request.delete(`${w.s.url}/client/v1/session`);
    expect(refused.status()).toBe(403);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain('x-csrf-token');
    const still = (await (await context.request.get(`${w.s.url}/client/v1/session`)).json()) as { signed_in: boolean };
    expect(still.signed_in).toBe(true);
  });

  it('reads on a phone', async () => {
    const phone = await w.newPage({ width: 375, height: 740 });
    await phone.page.goto(`${w.s.url}${await w.loginPath(clientId)}`);
    await phone.page.getByRole('heading', { name: CLIENT, level: 1 }).waitFor();
    await w.shot(phone.page, 'client-06-phone-overview');
    await phone.page.getByRole('link', { name: 'Domains' }).click();
    await phone.page.getByRole('heading', { name: 'Domains', level: 1 }).waitFor();
    await w.shot(phone.page, 'client-07-phone-domains');
    await phone.page.getByRole('link', { name: 'Subscription' }).click();
    await phone.page.getByRole('heading', { name: 'Subscription', level: 1 }).waitFor();
    await phone.page.locator(`tr[data-code="${codes[0]}"]`).waitFor();
    await w.shot(phone.page, 'client-08-phone-codes');
    // Nothing wider than the screen but the tables, which scroll in their own box.
    const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    const wide = await phone.page.evaluate(() => [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1 && !e.closest('.table-wrap')).map((e) => `${e.tagName}.${e.className}:${Math.round(e.getBoundingClientRect().right)}`).slice(0, 10));
    expect(wide).toEqual([]);
    expect(overflow).toBe(0);
    await phone.context.close();
  });

  it('signs out with the keyboard, then the owner signs in with email and password (a wrong one is refused in words)', async () => {
    await page.getByRole('button', { name: 'Sign out' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Your account', level: 1 }).waitFor();
    await page.getByText('use the log in link').waitFor();
    expect(((await (await context.request.get(`${w.s.url}/client/v1/session`)).json()) as { signed_in: boolean }).signed_in).toBe(false);

    // The page also holds the site sign-in (domain, username, password): this is the email form.
    const form = page.getByRole('form', { name: 'Sign in with your email' });
    await form.getByLabel('Email', { exact: true }).fill(OWNER);
    await form.getByLabel('Password', { exact: true }).fill('not it');
    w.expect(/status of 401/);
    await form.getByRole('button', { name: 'Sign in' }).click();
    await form.getByRole('alert').filter({ hasText: 'Wrong email or password.' }).waitFor();
    w.expect(undefined);
    await w.shot(page, 'client-09-sign-in-refused');
    await form.getByLabel('Password', { exact: true }).fill(OWNER_PASSWORD);
    await form.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: CLIENT, level: 1 }).waitFor();
    await page.getByText(`Signed in as`).waitFor();
    await page.getByText(OWNER, { exact: true }).first().waitFor();
  });

  it('a master site switches into a subordinate after confirming, and back', async () => {
    const fn = async (name: string, args: unknown[]) => {
      const res = await w.json('POST', `/api/v1/cpcmd/${name}`, { args }, { authorization: `Bearer ${w.s.t.operatorKey}` });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body.result;
    };
    await fn('admin:add-site', ['hq.example', 'hq', { 'billing.invoice': 'grp-1' }]);
    await fn('admin:add-site', ['branch.example', 'branch', { 'billing.parent_invoice': 'grp-1' }]);
    const esprit = (await fn('admin:hijack', ['hq.example'])) as string;
    // ApisCP's panel entry keeps the session in the cookie and lands on the client area's overview.
    await page.goto(`${w.s.url}/apps/dashboard?esprit_id=${encodeURIComponent(esprit)}`);
    await page.getByRole('region', { name: 'Switch site' }).waitFor();
    expect(page.url()).toBe(`${w.s.url}/console/my`);
    await page.getByLabel('Subordinate site').selectOption({ label: 'branch.example' });
    await page.getByRole('button', { name: 'Switch', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Switch to branch.example?' });
    await dialog.waitFor();
    await w.shot(page, 'client-10-switch-confirm');
    await dialog.getByRole('button', { name: 'Switch' }).click();
    await page.getByRole('button', { name: 'Back to hq.example' }).waitFor();
    await page.getByText('branch.example').first().waitFor();
    await page.getByRole('link', { name: 'Domains' }).click();
    await page.locator('tr[data-domain="branch.example"]').waitFor();
    await w.shot(page, 'client-11-switched');
    await page.getByRole('button', { name: 'Back to hq.example' }).click();
    await page.getByRole('dialog', { name: 'Switch to hq.example?' }).getByRole('button', { name: 'Switch' }).click();
    await page.getByLabel('Subordinate site').waitFor();
  });

  it('a SaaS instance owner arrives through the portal link: users against max_users, storage, add-ons, groups; adds a user', async () => {
    const operator = { authorization: `Bearer ${w.s.t.operatorKey}` };
    const admin = await w.json('POST', '/admin/v1/users', { operator: true, login: 'portal-admin', password: 'portal admin password' }, operator);
    expect(admin.status).toBe(201);
    const rpc = async (service: string, method: string, args: unknown[]) => (await w.json('POST', '/jsonrpc', { jsonrpc: '2.0', method: 'call', id: 1, params: { service, method, args } })).body;
    const kw = async (model: string, method: string, args: unknown[], kwargs: Record<string, unknown> = {}) => {
      const out = await rpc('object', 'execute_kw', ['hostplane', admin.body.id, 'portal admin password', model, method, args, kwargs]);
      if (out.error) throw new Error(`${model}.${method}: ${out.error.data.message}`);
      return out.result;
    };
    await kw('res.users', 'signup', [{ login: 'erp-owner@example.com', name: 'ERP Owner', password: 'portal-pass' }]);
    const uid = (await rpc('common', 'authenticate', ['hostplane', 'erp-owner@example.com', 'portal-pass', {}])).result as number;
    const plans = (await w.json('GET', '/admin/v1/packages', undefined, operator)).body as { id: number; uid: string }[];
    const created = (await kw('saas_portal.plan', 'create_new_database', [plans.find((p) => p.uid === 'basic')!.id], { dbname: 'erp.example.test', user_id: uid, owner_password: 'owner-pass' })) as { id: number; url: string };
    JSON.parse((await kw('saas.config', 'do_upgrade_database', [{ params: [{ key: 'saas_client.max_users', value: '2', hidden: true }] }, created.id])) as string);

    const link = new URL(created.url);
    await page.goto(`${w.s.url}${link.pathname}${link.search}`);
    await page.getByRole('heading', { name: 'erp.example.test', level: 1 }).waitFor();
    await page.getByRole('link', { name: 'Instance' }).click();
    await page.getByTestId('users-count').getByText('1 of 2 users').waitFor();
    await page.getByTestId('storage').getByText(/MB of \d+ MB|MB \(no limit\)/).waitFor();
    await page.getByText('Employee').first().waitFor();
    await page.getByLabel('Login', { exact: true }).fill('second-user');
    await page.getByLabel('Password', { exact: true }).fill('second pass');
    await page.getByRole('button', { name: 'Add user' }).click();
    await page.getByRole('status').filter({ hasText: 'User second-user added.' }).waitFor();
    await page.getByTestId('users-count').getByText('2 of 2 users').waitFor();
    await page.getByText('as many users as it may have').waitFor();
    expect(await page.getByRole('button', { name: 'Add user' }).isDisabled()).toBe(true);
    await w.shot(page, 'client-12-instance');
  });

  it('no console errors anywhere', () => {
    expect(w.problems).toEqual([]);
  });
});
