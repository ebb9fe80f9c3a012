import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_ENV } from '../agent/agent-env.js';
import { killAll, makeTempDir, spawnHostplane, waitFor, type Proc } from '../jobs-process/process-harness.js';
import { startClientWorld, type ClientWorld } from './client-harness.js';

// The client console's Databases page in chromium against a real db node: a `hostplane agent` whose
// MariaDB is the machine's (127.0.0.1:3306, root). What the page creates is there on MariaDB, what
// its Drop dialog drops is gone from the page, the client API and MariaDB, with its dump archived.
// The site's MariaDB user and databases carry the run's pid and are dropped afterwards.

const run = promisify(execFile);
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const MARIADB_URL = 'mysql://root@127.0.0.1:3306';
const tag = `cdb${process.pid}${process.env.HOSTPLANE_TEST_DB === 'postgres' ? 'p' : 'g'}`;
const DOMAIN = `${tag}.dbpage.test`;
const DB = `${tag}_shop`;

let w: ClientWorld;
let context: BrowserContext;
let page: Page;
let agent: Proc;
const tmp = makeTempDir('hostplane-dbpage-');
const dataDir = path.join(tmp.dir, 'db1');

async function rootSql(sql: string): Promise<string> {
  const { stdout } = await run('mariadb', ['-h', '127.0.0.1', '-P', '3306', '-u', 'root', '-N', '-B', '-e', sql]);
  return stdout.trim();
}

const schemaExists = async (name: string) => (await rootSql(`select count(*) from information_schema.schemata where schema_name = '${name}'`)) === '1';

async function dropLeftovers(): Promise<void> {
  for (const u of (await rootSql(`select concat(User, '@', Host) from mysql.user where User like '${tag}%'`)).split('\n').filter(Boolean)) await rootSql(`drop user '${u.split('@')[0]}'@'${u.split('@')[1]}'`);
  for (const db of (await rootSql(`select schema_name from information_schema.schemata where schema_name like '${tag}%'`)).split('\n').filter(Boolean)) await rootSql(`drop database \`${db}\``);
}

const operator = () => ({ authorization: `Bearer ${w.s.t.operatorKey}` });
const fn = async (name: string, args: unknown[]) => {
  const res = await w.json('POST', `/api/v1/cpcmd/${name}`, { args }, operator());
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.result;
};

/** The site's MySQL databases as the client API lists them, through the browser's own session. */
async function listed(): Promise<Json[]> {
  const cookie = (await context.cookies(w.s.url)).find((c) => c.name === 'hp_session')!;
  const res = await w.json('GET', '/client/v1/databases', undefined, { cookie: `hp_session=${cookie.value}` });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.mysql.databases as Json[];
}

beforeAll(async () => {
  await dropLeftovers();
  w = await startClientWorld();
  const node = await w.json('POST', '/admin/v1/nodes', { name: 'db1', roles: ['db'] }, operator());
  expect(node.status, JSON.stringify(node.body)).toBe(201);
  agent = spawnHostplane(['agent', '--url', w.s.url, '--data-dir', dataDir, '--token', node.body.token as string, '--mariadb-url', MARIADB_URL], { HOSTPLANE_LOG_LEVEL: 'debug', ...AGENT_ENV });
  // Placement takes healthy nodes only: the site is added once a heartbeat has arrived.
  await waitFor(async () => ((await w.json('GET', `/admin/v1/nodes/${node.body.id}`, undefined, operator())).body.last_heartbeat_at ? true : undefined), 30_000, () => `no heartbeat from the db node\n${agent.output().slice(-3000)}`);
  await fn('admin:add-site', [DOMAIN, tag, { 'mysql.enabled': 1, 'mysql.dbaseadmin': tag, 'mysql.dbaseprefix': `${tag}_`, 'mysql.dbasenum': 2, 'mysql.passwd': 'Db-page-pass-4410', 'pgsql.enabled': 0 }]);
  ({ context, page } = await w.newPage());
}, 120_000);

afterAll(async () => {
  killAll();
  await w?.close();
  await dropLeftovers();
  tmp.remove();
}, 60_000);

describe.sequential('the Databases page on a db node with MariaDB', () => {
  it('a database created on the page is applied, and there on MariaDB', async () => {
    await page.goto(`${w.s.url}/apps/databases?esprit_id=${encodeURIComponent((await fn('admin:hijack', [DOMAIN, null, 'UI'])) as string)}`);
    const mysql = page.locator('[data-service="MySQL"]');
    await mysql.getByLabel('New database').fill('shop');
    await mysql.getByRole('button', { name: 'Create' }).click();
    // The page asks again while the database is pending, until the node has made it.
    await mysql.locator(`[data-database="${DB}"]`).getByText('applied').waitFor({ timeout: 30_000 });
    expect(await schemaExists(DB)).toBe(true);
    expect((await listed()).map((d) => [d.name, d.state])).toEqual([[DB, 'applied']]);
  });

  it("Drop through the page's dialog: gone from the page and the client API at once, then from MariaDB, its dump archived", async () => {
    const row = page.locator(`[data-service="MySQL"] [data-database="${DB}"]`);
    await row.getByRole('button', { name: 'Drop' }).click();
    const dialog = page.getByRole('dialog', { name: `Drop ${DB}?` });
    await dialog.getByRole('button', { name: 'Drop' }).click();
    await row.waitFor({ state: 'detached' });
    expect(await listed()).toEqual([]);
    await waitFor(async () => ((await schemaExists(DB)) ? undefined : true), 30_000, () => `${DB} is still on MariaDB\n${agent.output().slice(-3000)}`, 200);
    const archives = fs.readdirSync(path.join(dataDir, 'archives'), { recursive: true }).map(String);
    expect(archives.some((f) => f.includes(DB) && f.endsWith('.sql')), archives.join(', ')).toBe(true);
  });

  it('no console errors or failed requests along the way', () => {
    expect(w.problems).toEqual([]);
  });
});
