import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClientWorld, type ClientWorld } from './client-harness.js';

// A billing system's quick links in a real browser (Debian's chromium via playwright-core): WHMCS and
// Clientexec open /apps/<app>?esprit_id=<admin:hijack session>; the browser lands on the client
// console's page for that app, with the session id gone from the address. On Databases the page's
// refusals are the API's words and Drop goes through its dialog, each checked against the client API.
// Then a suspended site's admin signs in with domain, username and password and sees why.
// Screenshots in test-artifacts/console.

let w: ClientWorld;
let context: BrowserContext;
let page: Page;
const DOMAIN = 'quicklinks.example';
const ADMIN = 'quickadmin';
const PASSWORD = 'quick links password';
const DB_DOMAIN = 'dbpage.example';
const DB_ADMIN = 'dbpageadmin';

const fn = async (name: string, args: unknown[]) => {
  const res = await w.json('POST', `/api/v1/cpcmd/${name}`, { args }, { authorization: `Bearer ${w.s.t.operatorKey}` });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.result;
};
const hijack = async (domain = DOMAIN) => (await fn('admin:hijack', [domain, null, 'UI'])) as string;
/** The site's MySQL databases as the client API lists them, through the browser's own session. */
const dbNames = async () => {
  const cookie = (await context.cookies(w.s.url)).find((c) => c.name === 'hp_session')!;
  const res = await w.json('GET', '/client/v1/databases', undefined, { cookie: `hp_session=${cookie.value}` });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return (res.body.mysql.databases as { name: string }[]).map((d) => d.name);
};

beforeAll(async () => {
  w = await startClientWorld();
  await fn('admin:add-site', [DOMAIN, ADMIN, { 'users.max': 3, 'diskquota.quota': 2048 }]);
  await fn('auth:change-password', [PASSWORD, ADMIN, DOMAIN]);
  ({ context, page } = await w.newPage());
}, 240_000);

afterAll(async () => {
  await w?.close();
});

describe.sequential('panel quick links in chromium', () => {
  it('usermanage lands on Users: the site admin and the users,max limit; the address holds no session id', async () => {
    await page.goto(`${w.s.url}/apps/usermanage?esprit_id=${encodeURIComponent(await hijack())}`);
    await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
    expect(page.url()).toBe(`${w.s.url}/console/my/users`);
    await page.getByTestId('users-limit').getByText('0 of 3 users').waitFor();
    const row = page.locator(`tr[data-user="${ADMIN}"]`);
    await row.waitFor();
    // Login, name, role, state.
    expect(await row.locator('td').allInnerTexts()).toEqual([ADMIN, 'Administrator', 'Administrator', 'active']);
    expect(await page.getByRole('link', { name: 'Users' }).getAttribute('aria-current')).toBe('page');
    const session = (await context.cookies(w.s.url)).find((c) => c.name === 'hp_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    await w.shot(page, 'panel-01-usermanage');
  });

  it('databases lands on Databases: the services with their databases and a create form, no password shown', async () => {
    await page.goto(`${w.s.url}/apps/databases?esprit_id=${encodeURIComponent(await hijack())}`);
    await page.getByRole('heading', { name: 'Databases', level: 1 }).waitFor();
    expect(page.url()).toBe(`${w.s.url}/console/my/databases`);
    await page.getByText("Databases are made on your site's database server").waitFor();
    await page.locator('[data-service="MySQL"]').getByText('Name prefix').waitFor();
    await page.locator('[data-service="PostgreSQL"]').getByText('Database admin').waitFor();
    // Create a database through the form: its name is the prefix and what is typed; no database
    // server holds this site here, so it waits as pending.
    const mysql = page.locator('[data-service="MySQL"]');
    await mysql.getByLabel('New database').fill('shop');
    await mysql.getByRole('button', { name: 'Create' }).click();
    await mysql.locator('[data-database="quickadmin_shop"]').getByText('pending').waitFor();
    expect(await page.locator('main').innerText()).not.toMatch(/password:/i);
    await w.shot(page, 'panel-02-databases');
  });

  it('databases: a name the field does not take is stopped in the browser, an overlong one shows the API\'s refusal; nothing is created', async () => {
    await fn('admin:add-site', [DB_DOMAIN, DB_ADMIN, { 'mysql.enabled': 1, 'mysql.dbaseprefix': 'dbp_', 'mysql.dbasenum': 1, 'pgsql.enabled': 0 }]);
    await page.goto(`${w.s.url}/apps/databases?esprit_id=${encodeURIComponent(await hijack(DB_DOMAIN))}`);
    const mysql = page.locator('[data-service="MySQL"]');
    await mysql.getByText('Most databases').waitFor();
    expect(await mysql.locator('dd').allInnerTexts()).toEqual(['Yes', 'dbp_', DB_ADMIN, '1', '—']);
    const posts: string[] = [];
    page.on('request', (req) => {
      if (req.method() === 'POST' && new URL(req.url()).pathname === '/client/v1/databases') posts.push(req.postData() ?? '');
    });
    const field = mysql.getByLabel('New database');

    // SQL in the name: the field's own pattern holds the form back, so no request leaves the page.
    await field.fill("x'; drop database y; --");
    await mysql.getByRole('button', { name: 'Create' }).click();
    expect(await field.evaluate((el: HTMLInputElement) => el.validity.patternMismatch)).toBe(true);
    expect(posts).toEqual([]);

    // Letters the field takes, too many of them for MariaDB: the API refuses and the page says why.
    const long = 'a'.repeat(61);
    await field.fill(long);
    w.expect(/status of 422/);
    await mysql.getByRole('button', { name: 'Create' }).click();
    await mysql.getByRole('alert').filter({ hasText: 'name: must start with a letter and use only letters, digits or "_" (at most 64)' }).waitFor();
    w.expect(undefined);
    expect(posts).toEqual([JSON.stringify({ engine: 'mysql', name: `dbp_${long}` })]);
    expect(await field.inputValue()).toBe(long);
    expect(await dbNames()).toEqual([]);
    await w.shot(page, 'panel-03-databases-refused');
  });

  it('databases: a create beyond dbasenum (another session made one meanwhile) shows the API\'s refusal, then the database that filled the site', async () => {
    // The page shows no database, so it does not poll: another session's create stays unseen until the page asks.
    const mysql = page.locator('[data-service="MySQL"]');
    expect(await mysql.locator('tbody tr[data-database]').count()).toBe(0);
    const other = `hp_session=${await hijack(DB_DOMAIN)}`;
    const csrf = (await w.json('GET', '/client/v1/session', undefined, { cookie: other })).body.csrf_token as string;
    const made = await w.json('POST', '/client/v1/databases', { engine: 'mysql', name: 'dbp_other' }, { cookie: other, 'x-csrf-token': csrf });
    expect(made.status, JSON.stringify(made.body)).toBe(201);

    await mysql.getByLabel('New database').fill('shop');
    w.expect(/status of 409/);
    await mysql.getByRole('button', { name: 'Create' }).click();
    await mysql.getByRole('alert').filter({ hasText: 'this site may have at most 1 MySQL database(s); drop one first' }).waitFor();
    w.expect(undefined);
    await mysql.locator('[data-database="dbp_other"]').waitFor();
    await mysql.getByText('This site has as many databases as it may have; drop one first.').waitFor();
    expect(await mysql.getByLabel('New database').isDisabled()).toBe(true);
    expect(await dbNames()).toEqual(['dbp_other']);
  });

  it('databases: Drop asks first; Cancel keeps the database, Drop in the dialog removes it from the page and from the API', async () => {
    const mysql = page.locator('[data-service="MySQL"]');
    const row = mysql.locator('[data-database="dbp_other"]');
    await row.getByRole('button', { name: 'Drop' }).click();
    const dialog = page.getByRole('dialog', { name: 'Drop dbp_other?' });
    await dialog.getByText("The database is dumped to the server's archives, then dropped.").waitFor();
    await w.shot(page, 'panel-04-databases-drop');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect(await row.count()).toBe(1);
    expect(await dbNames()).toEqual(['dbp_other']);

    await row.getByRole('button', { name: 'Drop' }).click();
    await dialog.getByRole('button', { name: 'Drop' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await row.waitFor({ state: 'detached' });
    expect(await dbNames()).toEqual([]);
    // Below dbasenum again: the form takes a name.
    expect(await mysql.getByLabel('New database').isEnabled()).toBe(true);
  });

  it('databases: a drop refused because another session dropped it first says why and reloads the list; the next dialog starts without that error', async () => {
    const mysql = page.locator('[data-service="MySQL"]');
    const other = `hp_session=${await hijack(DB_DOMAIN)}`;
    const csrf = (await w.json('GET', '/client/v1/session', undefined, { cookie: other })).body.csrf_token as string;
    await mysql.getByLabel('New database').fill('gone');
    await mysql.getByRole('button', { name: 'Create' }).click();
    const row = mysql.locator('[data-database="dbp_gone"]');
    await row.waitFor();
    const dropped = await w.json('DELETE', '/client/v1/databases/mysql/dbp_gone', undefined, { cookie: other, 'x-csrf-token': csrf });
    expect(dropped.status, JSON.stringify(dropped.body)).toBeLessThan(300);

    await row.getByRole('button', { name: 'Drop' }).click();
    const dialog = page.getByRole('dialog', { name: 'Drop dbp_gone?' });
    w.expect(/status of 404/);
    await dialog.getByRole('button', { name: 'Drop' }).click();
    await dialog.getByRole('alert').waitFor();
    w.expect(undefined);
    await row.waitFor({ state: 'detached' });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });

    await mysql.getByLabel('New database').fill('next');
    await mysql.getByRole('button', { name: 'Create' }).click();
    const next = mysql.locator('[data-database="dbp_next"]');
    await next.getByRole('button', { name: 'Drop' }).click();
    const second = page.getByRole('dialog', { name: 'Drop dbp_next?' });
    await second.getByText("The database is dumped to the server's archives, then dropped.").waitFor();
    expect(await second.getByRole('alert').count()).toBe(0);
    await second.getByRole('button', { name: 'Drop' }).click();
    await next.waitFor({ state: 'detached' });
    expect(await dbNames()).toEqual([]);
  });

  it('bandwidthbd lands on Usage: storage against the 2 GB quota, transfer, unknown figures as a dash', async () => {
    await page.goto(`${w.s.url}/apps/bandwidthbd?esprit_id=${encodeURIComponent(await hijack())}`);
    await page.getByRole('heading', { name: 'Usage', level: 1 }).waitFor();
    expect(page.url()).toBe(`${w.s.url}/console/my/usage`);
    await page.getByTestId('storage').getByText('— of 2 GB').waitFor();
    await page.getByTestId('bandwidth').waitFor();
    await w.shot(page, 'panel-05-bandwidthbd');
  });

  it('a tool this panel does not have lands on the overview with a notice naming it; an unknown app on the overview', async () => {
    await page.goto(`${w.s.url}/apps/crontab?esprit_id=${encodeURIComponent(await hijack())}`);
    await page.getByRole('status').filter({ hasText: 'This control panel has no scheduled tasks (cron) tool.' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/console/my');
    expect(page.url()).not.toContain('esprit_id');
    await page.goto(`${w.s.url}/apps/no-such-app?esprit_id=${encodeURIComponent(await hijack())}`);
    await page.getByRole('heading', { name: 'Account', level: 2 }).waitFor();
    expect(page.url()).toBe(`${w.s.url}/console/my`);
  });

  it("a suspended site's admin signs in with domain, username and password and sees the notice with its reason, and nothing else", async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Your account', level: 1 }).waitFor();
    await fn('admin:deactivate-site', [DOMAIN, 'Invoice 1042 is 30 days overdue']);

    const form = page.getByRole('form', { name: 'Sign in to your site' });
    await form.getByLabel('Domain').fill(DOMAIN);
    await form.getByLabel('Username').fill(ADMIN);
    await form.getByLabel('Password', { exact: true }).fill('wrong password');
    w.expect(/status of 401/);
    await form.getByRole('button', { name: 'Sign in' }).click();
    await form.getByRole('alert').filter({ hasText: 'Wrong domain, login or password.' }).waitFor();
    w.expect(undefined);
    await form.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await form.getByRole('button', { name: 'Sign in' }).click();
    const notice = page.getByRole('alert').filter({ hasText: 'This account is suspended.' });
    await notice.waitFor();
    await notice.getByText('Reason: Invoice 1042 is 30 days overdue').waitFor();
    expect(await page.getByRole('navigation', { name: 'Main' }).getByRole('link').allInnerTexts()).toEqual(['Overview']);
    await w.shot(page, 'panel-06-suspended');
    // Another page's address still shows only the notice and the overview.
    await page.goto(`${w.s.url}/console/my/users`);
    await notice.waitFor();
    await expect(page.getByRole('heading', { name: 'Users', level: 1 }).count()).resolves.toBe(0);
    await fn('admin:activate-site', [DOMAIN]);
  });

  it('no console errors or failed requests along the way', () => {
    expect(w.problems).toEqual([]);
  });
});
