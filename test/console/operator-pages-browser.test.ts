import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { sql } from 'kysely';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RelayDriver } from '../../src/relay/relay-driver.js';
import { createReseller, createTestApp, seedDemoCatalog, type ResellerFixture, type TestApp } from '../support/test-app.js';

// The operator console's remaining pages in Debian's chromium: packages with inheritance, 10,000
// clients paged and filtered, an account group bulk-suspended after a dry run, webhooks and their
// deliveries, the audit log and the settings. Screenshots go to test-artifacts/console.

const CHROMIUM = process.env.HOSTPLANE_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(import.meta.dirname, '..', '..', 'test-artifacts', 'console');
const CONSOLE_INDEX = path.join(import.meta.dirname, '..', '..', 'dist', 'console', 'index.html');
const LOGIN = 'pages-operator';
const PASSWORD = 'a long operator password';
const BULK = 10_000;
const NEEDLE = 'Quokka Needle Ltd';
const STAMP = Date.now().toString(36);
const GROUP = `ACME-${STAMP}`;
const OTHER = `OTHER-${STAMP}`;

let t: TestApp;
let url: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let reseller: ResellerFixture;
let hooks: http.Server;
let hookUrl: string;
const received: string[] = [];
const site: Record<string, number> = {};
const problems: string[] = [];
const timings: string[] = [];

// Relay changes always succeed here: domains become ready as soon as their job runs.
const relay: RelayDriver = {
  name: 'always-ok',
  async apply() {},
  provisionDomain: async () => {},
  updateDomain: async () => {},
  deprovisionDomain: async () => {},
};

const admin = () => ({ authorization: `Bearer ${t.operatorKey}` });
async function get<T>(path: string): Promise<T> {
  const res = await t.app.server.inject({ method: 'GET', url: path, headers: admin() });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as T;
}

async function shot(name: string, fullPage = true): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage });
}

/** 10,000 clients in two statements (clients, then one ready domain each), half on each of two plans. */
async function seedBulkClients(): Promise<void> {
  const db = t.app.deps.db;
  await sql`
    insert into clients (reseller_id, plan_id, name, email_address, user_count)
    select ${reseller.id}, (select id from plans where uid = case when i % 2 = 0 then 'spamstopshere-standard' else 'spamstopshere-professional' end),
      case when i = 7777 then ${NEEDLE} else 'Bulk Client ' || lpad(i::text, 5, '0') end, 'bulk' || i || '@example.com', 1
    from generate_series(1, ${BULK}) as g(i)`.execute(db);
  await sql`
    insert into domains (client_id, reseller_id, name, status)
    select c.id, c.reseller_id, 'bulk-' || substr(c.email_address, 5, strpos(c.email_address, '@') - 5) || '.test', 'ready'
    from clients c where c.email_address like 'bulk%@example.com'`.execute(db);
}

async function addSite(key: string, opts: Record<string, unknown>): Promise<void> {
  const res = await t.app.server.inject({ method: 'POST', url: '/api/v1/cpcmd/admin%3Aadd-site', headers: admin(), payload: { args: [`${key}-${STAMP}.example`, key, opts] } });
  expect(res.statusCode, res.body).toBe(200);
  const found = await get<{ clients: { id: number }[] }>(`/admin/v1/clients?q=${key}-${STAMP}.example`);
  expect(found.clients).toHaveLength(1);
  site[key] = found.clients[0]!.id;
}

const statusOf = async (id: number) => (await get<{ status: string }>(`/admin/v1/clients/${id}`)).status;

const pageNumber = (n: number) => page.getByRole('navigation', { name: 'Pages' }).getByText(`Page ${n}`, { exact: true });

/** Time from an action to a visible result, for the report (never asserted). */
async function timed(label: string, action: () => Promise<void>): Promise<void> {
  const started = performance.now();
  await action();
  timings.push(`${label}: ${Math.round(performance.now() - started)} ms`);
}

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Debian's chromium is required for the console's browser tests: apt-get install -y chromium (looked for ${CHROMIUM})`);
  if (!fs.existsSync(CONSOLE_INDEX)) throw new Error('the web console is not built: run npm run build');
  fs.mkdirSync(ARTIFACTS, { recursive: true });

  hooks = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push(body);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/hook`;

  t = await createTestApp({ HOSTPLANE_WEBHOOK_ALLOW_PRIVATE: 'true' }, { relayDriver: relay });
  await t.app.server.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(t.app.server.server.address() as AddressInfo).port}`;
  await seedDemoCatalog(t);
  reseller = await createReseller(t, { name: 'Bulk Hosting' });
  const made = await t.app.server.inject({ method: 'POST', url: '/admin/v1/users', headers: admin(), payload: { login: LOGIN, password: PASSWORD, operator: true } });
  expect(made.statusCode, made.body).toBe(201);
  await seedBulkClients();
  await addSite('master', { 'billing.invoice': GROUP });
  await addSite('suba', { 'billing.parent_invoice': GROUP });
  await addSite('subb', { 'billing.parent_invoice': GROUP });
  await addSite('othermaster', { 'billing.invoice': OTHER });
  await addSite('othersub', { 'billing.parent_invoice': OTHER });
  await addSite('loner', {});
  // Enough audit events for more than one page of the log.
  for (let i = 0; i < 60; i++) {
    const res = await t.app.server.inject({ method: 'POST', url: '/admin/v1/features', headers: admin(), payload: { code: `feature-${i}`, name: `Feature ${i}` } });
    expect(res.statusCode, res.body).toBe(201);
  }
  await t.app.jobs.drain();

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  // A step that cannot find its element fails with the locator's name, well before the test's own timeout.
  page.setDefaultTimeout(10_000);
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`${msg.type()}: ${msg.text()} (${page.url()})`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message} (${page.url()})`));
  page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()} ${req.failure()?.errorText ?? ''}`));
}, 300_000);

afterAll(async () => {
  if (timings.length) console.log(`operator pages, ${BULK} clients:\n  ${timings.join('\n  ')}`);
  await browser?.close();
  await t?.close();
  await new Promise((r) => hooks?.close(r));
});

describe.sequential('operator console pages in chromium', () => {
  it('signs in and the dashboard links to every new page', async () => {
    await page.goto(`${url}/console/login`);
    await page.getByLabel('Login').fill(LOGIN);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    const manage = page.getByRole('navigation', { name: 'Manage' });
    for (const name of ['Packages and features', 'Account groups and bulk actions', 'Webhooks and deliveries', 'Audit log', 'Clean-up and SSO settings']) await manage.getByRole('link', { name }).waitFor();
    const main = page.getByRole('navigation', { name: 'Main' });
    for (const name of ['Packages', 'Account groups', 'Webhooks', 'Audit log', 'Settings']) await main.getByRole('link', { name, exact: true }).waitFor();
    await shot('10-dashboard-manage');
  });

  it('packages: creates a child package, shows what it inherits and what it sets itself', async () => {
    await page.getByRole('navigation', { name: 'Manage' }).getByRole('link', { name: 'Packages and features' }).click();
    await page.getByRole('heading', { name: 'Packages', level: 1 }).waitFor();
    await page.locator('tr[data-package="spamstopshere-standard"]').waitFor();
    await shot('11-packages');

    // The parent sets one value itself, so the child shows a value inherited from a plan, not only the base.
    const patched = await t.app.server.inject({ method: 'PATCH', url: '/admin/v1/packages/spamstopshere-standard', headers: admin(), payload: { service_defaults: { ssh: { enabled: 0 } } } });
    expect(patched.statusCode, patched.body).toBe(200);
    const parent = await get<{ values: { service: string; param: string; value: unknown; source: string }[] }>('/admin/v1/packages/spamstopshere-standard/inheritance');
    const ssh = parent.values.find((v) => v.service === 'ssh' && v.param === 'enabled')!;
    expect(ssh).toMatchObject({ value: 0, source: 'spamstopshere-standard' });

    await page.getByRole('button', { name: 'New package' }).click();
    const form = page.getByRole('form', { name: 'New package' });
    await form.getByLabel('Package id (uid)').fill(`child-${STAMP}`);
    await form.getByLabel('Name', { exact: true }).fill('Child Plan');
    await form.getByLabel('Parent package').selectOption('spamstopshere-standard');
    await form.getByLabel('Domain cost (cents)').fill('250');
    await form.getByLabel('Mailbox cost (cents)').fill('75');
    await form.getByLabel('Template database (SaaS)').fill('odoo_child_tpl');
    const quotaRow = form.locator('tr[data-param="diskquota.quota"]');
    await quotaRow.getByText('inherited').waitFor();
    await quotaRow.getByLabel('Own value of diskquota,quota').fill('2048');
    await quotaRow.getByText('own', { exact: true }).waitFor();
    await shot('12-package-new');
    await form.getByRole('button', { name: 'Create package' }).click();
    await page.getByRole('status').filter({ hasText: `Package child-${STAMP} is saved.` }).waitFor();

    const saved = await get<{ parent_uid: string; domain_cost_cents: number; mailbox_cost_cents: number; service_defaults: Record<string, Record<string, unknown>>; template_database: string | null }>(`/admin/v1/packages/child-${STAMP}`);
    expect(saved).toMatchObject({ parent_uid: 'spamstopshere-standard', domain_cost_cents: 250, mailbox_cost_cents: 75, service_defaults: { diskquota: { quota: 2048 } }, template_database: 'odoo_child_tpl' });
    expect(saved.service_defaults.ssh).toBeUndefined();

    const row = page.locator(`tr[data-package="child-${STAMP}"]`);
    await row.getByText('$2.50').waitFor();
    await row.getByRole('button', { name: /Edit/ }).click();
    const edit = page.getByRole('form', { name: 'Edit Child Plan' });
    const sshRow = edit.locator('tr[data-param="ssh.enabled"]');
    await sshRow.getByText('0 from spamstopshere-standard').waitFor();
    await edit.locator('tr[data-param="diskquota.quota"]').getByText('1024 from base').waitFor();
    await sshRow.getByText('inherited').waitFor();
    await edit.locator('tr[data-param="diskquota.quota"]').getByText('own', { exact: true }).waitFor();
    await edit.getByText(`child-${STAMP}`).first().waitFor();
    await shot('13-package-edit-inheritance');

    // A bad value: the field's own message, nothing saved.
    await sshRow.getByLabel('Own value of ssh,enabled').fill('7');
    await edit.getByRole('button', { name: 'Save changes' }).click();
    await edit.getByRole('alert').waitFor();
    problems.splice(0, problems.length, ...problems.filter((p) => !/status of 422/.test(p)));
    expect((await get<{ service_defaults: Record<string, unknown> }>(`/admin/v1/packages/child-${STAMP}`)).service_defaults.ssh).toBeUndefined();
    await edit.getByRole('button', { name: 'Cancel' }).click();
  });

  it(`clients: ${BULK.toLocaleString()} clients page, search and filter by package and account group`, async () => {
    await timed('clients page, first page shown', async () => {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Clients', exact: true }).click();
      await page.locator('tbody tr').first().waitFor();
    });
    expect(await page.locator('tbody tr').count()).toBe(25);
    await timed('next page', async () => {
      const first = await page.locator('tbody tr').first().getAttribute('data-client');
      await page.getByRole('button', { name: 'Next' }).click();
      await expect.poll(() => page.locator('tbody tr').first().getAttribute('data-client')).not.toBe(first);
    });
    await pageNumber(2).waitFor();

    await timed('search for one client among all', async () => {
      await page.getByLabel('Search').fill('quokka');
      await page.getByRole('button', { name: 'Search' }).click();
      await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    });
    await page.locator('tbody tr').getByText(NEEDLE).waitFor();
    await page.getByLabel('Search').fill('');
    await page.getByRole('button', { name: 'Search' }).click();

    await timed('filter by package', async () => {
      await page.getByLabel('Package').selectOption('spamstopshere-professional');
      await expect.poll(async () => [...new Set(await page.locator('tbody tr td:nth-child(5)').allInnerTexts())]).toEqual(['spamstopshere-professional']);
    });
    expect(await page.locator('tbody tr').count()).toBe(25);
    await timed('deep paging in a filter (5 pages)', async () => {
      for (let i = 2; i <= 6; i++) {
        await page.getByRole('button', { name: 'Next' }).click();
        await pageNumber(i).waitFor();
      }
    });
    expect([...new Set(await page.locator('tbody tr td:nth-child(5)').allInnerTexts())]).toEqual(['spamstopshere-professional']);
    await shot('14-clients-10000-by-package');

    await page.getByLabel('Package').selectOption('');
    await page.getByLabel('Account group (invoice)').fill(GROUP);
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(async () => (await page.locator('tbody tr').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-client'))))).sort((a, b) => a - b)).toEqual([site.master, site.suba, site.subb]);
    await shot('15-clients-by-group');
  });

  it('account groups: bulk-suspends a group after a dry run that lists exactly its master and subordinates', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Account groups', exact: true }).click();
    await page.getByRole('heading', { name: 'Account groups', level: 1 }).waitFor();
    await page.getByLabel('Search').fill(STAMP);
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.locator('tr[data-group]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-group')))).toEqual([GROUP, OTHER]);
    await page.locator(`tr[data-group="${GROUP}"]`).getByRole('cell').nth(2).getByText('2').waitFor();
    await page.locator(`tr[data-group="${GROUP}"]`).getByRole('button', { name: /Manage/ }).click();
    const panel = page.getByRole('region', { name: `Group ${GROUP}` });
    await expect.poll(() => panel.locator('tr[data-site]').count()).toBe(3);
    await panel.getByLabel('Suspension reason').fill('invoice overdue');
    await panel.getByRole('button', { name: 'Suspend group…' }).click();

    const preview = panel.getByRole('region', { name: /Preview: suspend 3 sites/ });
    await preview.waitFor();
    const listed = await preview.locator('tr[data-site]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-site')));
    expect(listed.sort()).toEqual([site.master, site.suba, site.subb].map((id) => `site${id}`).sort());
    // The dry run changed nothing.
    for (const key of ['master', 'suba', 'subb']) expect(await statusOf(site[key]!)).toBe('active');
    await shot('16-group-dry-run');

    await preview.getByRole('button', { name: 'Suspend these 3 sites…' }).click();
    const dialog = page.getByRole('dialog', { name: `Suspend 3 sites of group ${GROUP}?` });
    await dialog.waitFor();
    await shot('17-group-confirm');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect(await statusOf(site.master!)).toBe('active');
    await preview.getByRole('button', { name: 'Suspend these 3 sites…' }).click();
    await dialog.getByRole('button', { name: 'Suspend', exact: true }).click();
    await panel.getByRole('status').filter({ hasText: '3 sites suspended' }).waitFor();
    await expect.poll(() => panel.locator('tr[data-site] .badge-suspended').count()).toBe(3);
    await shot('18-group-suspended');

    expect(Object.fromEntries(await Promise.all(Object.entries(site).map(async ([k, id]) => [k, await statusOf(id)])))).toEqual({
      master: 'suspended',
      suba: 'suspended',
      subb: 'suspended',
      othermaster: 'active',
      othersub: 'active',
      loner: 'active',
    });
    const overview = await get<{ clients: { suspended: number } }>('/admin/v1/overview');
    expect(overview.clients.suspended).toBe(3);
  });

  it('webhooks: adds an endpoint, shows its deliveries, replays one, deletes the endpoint after confirming', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Webhooks', exact: true }).click();
    await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
    await page.getByText('No webhook endpoints yet.').waitFor();
    await page.getByLabel('Endpoint URL').fill(hookUrl);
    await page.getByLabel('domain.ready').check();
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    const secret = await page.getByTestId('webhook-secret').innerText();
    expect(secret.length).toBeGreaterThanOrEqual(16);
    const endpoints = await get<{ id: number; url: string; event_types: string[] }[]>('/admin/v1/webhooks');
    expect(endpoints).toEqual([expect.objectContaining({ url: hookUrl, event_types: ['client.created', 'domain.ready'] })]);
    const hookId = endpoints[0]!.id;

    const created = await t.app.server.inject({ method: 'POST', url: '/v1/clients', headers: { authorization: reseller.auth }, payload: { package_uid: 'spamstopshere-standard', user_count: 1, name: 'Hooked Ltd', domains: [{ name: `hooked-${STAMP}.test` }] } });
    expect(created.statusCode, created.body).toBe(201);
    await t.app.jobs.drain();
    expect(received.map((b) => (JSON.parse(b) as { type: string }).type).sort()).toEqual(['client.created', 'domain.ready']);

    await page.locator(`tr[data-webhook="${hookId}"]`).getByRole('button', { name: /Deliveries/ }).click();
    const deliveries = page.getByRole('region', { name: `Deliveries of endpoint #${hookId}` });
    await expect.poll(() => deliveries.locator('tr[data-delivery] .badge-delivered').count()).toBe(2);
    await shot('19-webhook-deliveries');
    await deliveries.locator('tr[data-delivery]').first().getByRole('button', { name: /Replay/ }).click();
    await deliveries.getByRole('status').filter({ hasText: 'Queued again as delivery' }).waitFor();
    await expect.poll(() => deliveries.locator('tr[data-delivery]').count()).toBe(3);
    await t.app.jobs.drain();
    expect(received).toHaveLength(3);

    await page.locator(`tr[data-webhook="${hookId}"]`).getByRole('button', { name: /Delete/ }).click();
    const dialog = page.getByRole('dialog', { name: `Delete endpoint #${hookId}?` });
    await dialog.waitFor();
    await shot('20-webhook-delete-confirm');
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await page.getByText('No webhook endpoints yet.').waitFor();
    expect(await get<unknown[]>('/admin/v1/webhooks')).toEqual([]);
  });

  it('audit log: filters by action and target, pages older events', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log', exact: true }).click();
    await page.getByRole('heading', { name: 'Audit log', level: 1 }).waitFor();
    await page.locator('tr[data-event]').first().waitFor();
    await page.getByLabel('Action').fill('client.suspended');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => page.locator('tr[data-event]').count()).toBe(3);
    expect((await page.locator('tr[data-event] td:nth-child(4)').allInnerTexts()).map((s) => s.trim()).sort()).toEqual([site.master, site.suba, site.subb].map((id) => `client ${id}`).sort());
    await page.locator('tr[data-event]').first().getByText('3 fields').click();
    await page.locator('tr[data-event]').first().getByText('invoice overdue').waitFor();
    await shot('21-audit-filtered');

    await page.getByLabel('Action').fill('');
    await page.getByLabel('Target type').selectOption('client');
    await page.getByLabel('Target id').fill(String(site.master));
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(async () => (await page.locator('tr[data-event] td:nth-child(3)').allInnerTexts()).sort()).toEqual(['client.created', 'client.suspended']);
    await page.getByRole('button', { name: 'Clear' }).click();
    await expect.poll(() => page.locator('tr[data-event]').count()).toBe(50);
    await page.getByRole('button', { name: 'Older' }).click();
    await pageNumber(2).waitFor();
  });

  it('settings: turns the clean-up on after confirming and switching off', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings', exact: true }).click();
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    expect(await page.getByLabel('Delete long-suspended accounts').isChecked()).toBe(false);
    expect(await page.getByLabel(/may switch into its subordinate sites/).isChecked()).toBe(true);
    await page.getByLabel('Delete long-suspended accounts').check();
    await page.getByLabel('Suspended for longer than').fill('whenever');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByRole('dialog', { name: 'Turn on the account clean-up?' }).getByRole('button', { name: 'Save and delete' }).click();
    await page.getByText('is not a time span').first().waitFor();
    problems.splice(0, problems.length, ...problems.filter((p) => !/status of 422/.test(p)));
    expect(await get('/admin/v1/settings')).toEqual({ account_cleanup: false, subordinate_site_sso: true, suspended_login: true, show_suspension_reason: true, over_quota_policy: 'notify' });

    await page.getByLabel('Suspended for longer than').fill('45 days');
    await page.getByLabel(/may switch into its subordinate sites/).uncheck();
    await page.getByRole('button', { name: 'Save settings' }).click();
    const dialog = page.getByRole('dialog', { name: 'Turn on the account clean-up?' });
    await dialog.getByText('45 days').waitFor();
    await shot('22-settings-confirm');
    await dialog.getByRole('button', { name: 'Save and delete' }).click();
    await page.getByRole('status').filter({ hasText: 'Settings saved.' }).waitFor();
    expect(await get('/admin/v1/settings')).toEqual({ account_cleanup: '45 days', subordinate_site_sso: false, suspended_login: true, show_suspension_reason: true, over_quota_policy: 'notify' });
    await shot('23-settings-saved');
  });

  it('the new pages are readable on a phone: nothing wider than the screen but tables, which scroll in their box', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [path, name] of [
      ['/packages', 'Packages'],
      ['/groups', 'Account groups'],
      ['/webhooks', 'Webhooks'],
      ['/audit', 'Audit log'],
      ['/settings', 'Settings'],
    ] as const) {
      await page.goto(`${url}/console${path}`);
      await page.getByRole('heading', { name, level: 1 }).waitFor();
      await page.waitForLoadState('networkidle');
      const wide = await page.evaluate(() =>
        document.documentElement.scrollWidth <= window.innerWidth
          ? []
          : [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth && !e.closest('.table-wrap')).map((e) => `${e.tagName}.${e.className}`).slice(0, 5),
      );
      expect(wide, path).toEqual([]);
      // What the phone shows (a full-page capture would also paint the tables' scrolled-off parts).
      await shot(`24-phone${path.replace('/', '-')}`, false);
    }
  });

  it('no console errors on the way', () => {
    expect(problems).toEqual([]);
  });
});
