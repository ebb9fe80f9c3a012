import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import nodeHttp from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sql } from 'kysely';
import { nginxPaths } from '../../src/agent/drivers/web/nginx.config.js';
import { phpPaths } from '../../src/agent/drivers/web/php-fpm.config.js';
import { createDb, type Executor } from '../../src/db/database.js';
import { freePort, killAll, makeTempDir, spawnHostplane, stopGracefully, waitFor, type Proc } from '../jobs-process/process-harness.js';
import { openTestDb } from '../support/test-db.js';
import { NODE_ENV } from './agent-harness.js';

/*
 * `hostplane serve --with-agent`: the one-machine install. A real server process with its agent in
 * the same process, on the run's database (a copy of the migrated template for PGlite, a database of
 * its own on PostgreSQL). The files driver stands in for nginx here; test/agent/agent-e2e.test.ts
 * drives nginx.
 */

const tmp = makeTempDir('hostplane-local-agent-');
const dataDir = path.join(tmp.dir, 'data');
let pg: Awaited<ReturnType<typeof openTestDb>> | undefined;
let env: Record<string, string>;
let url: string;
// Site users are named after site ids: this run's ids start where no other run's do.
const firstSiteId = 1_000 + (process.pid % 20_000) * 1_000 + (process.env.HOSTPLANE_TEST_DB === 'postgres' ? 500 : 0);
const startIdsAt = (db: Executor) => sql`alter table clients alter column id restart with ${sql.lit(firstSiteId)}`.execute(db);

beforeAll(async () => {
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  env = { HOSTPLANE_DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: String(port), HOSTPLANE_LOG_LEVEL: 'info', HOSTPLANE_DEMO: 'off', HOSTPLANE_AGENT_WEB_DRIVER: 'files', ...NODE_ENV };
  if (process.env.HOSTPLANE_TEST_DB === 'postgres') {
    pg = await openTestDb();
    await startIdsAt(pg.db);
    env.DATABASE_URL = pg.databaseUrl!;
  } else {
    // The migrated template stands in for a first start's initdb and migrations.
    const template = await createDb({ dataDir: path.join(dataDir, 'pgdata'), loadDataDir: new Blob([fs.readFileSync(inject('pgliteTemplate'))]) });
    await startIdsAt(template.db);
    await template.close();
    fs.rmSync(path.join(dataDir, 'pgdata.lock'), { force: true });
  }
}, 120_000);

afterAll(async () => {
  killAll();
  // nginx and php-fpm outlive the agent by design; stop the ones this test caused, and its site users.
  for (const pidFile of [nginxPaths(path.join(`${dataDir}-agent`, 'nginx')).pidFile, phpPaths(`${dataDir}-agent`).pidFile]) {
    try {
      process.kill(Number(fs.readFileSync(pidFile, 'utf8').trim()), 'SIGQUIT');
    } catch {
      // not running
    }
  }
  if (process.getuid?.() === 0) {
    for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , , , , home] = line.split(':');
      if (name && home?.startsWith(tmp.dir + path.sep)) spawnSync('userdel', [name]);
    }
  }
  await pg?.close();
  tmp.remove();
}, 120_000);

/** Runs `serve`, then `check` against it, and stops it (SIGKILL if the check failed, so the next test can open the database). */
async function withServer(args: string[], extra: Record<string, string>, check: (p: Proc) => Promise<void>): Promise<void> {
  const p = spawnHostplane(['serve', ...args], { ...env, ...extra });
  try {
    await p.waitForOutput('API reference:', 60_000);
    await check(p);
    // serve gives its local agent's nginx and php-fpm up to 10 s each to quit, itself up to 30 s.
    const code = await stopGracefully(p, 45_000);
    expect(code, p.output().slice(-3000)).toBe(0);
  } finally {
    if (p.alive()) p.child.kill('SIGKILL');
    await p.exited;
  }
}

async function admin<T>(route: string): Promise<T> {
  const key = fs.readFileSync(path.join(dataDir, 'operator-key'), 'utf8').trim();
  const res = await fetch(url + route, { headers: { authorization: `Bearer ${key}` } });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as T;
}

interface NodeRow {
  id: number;
  name: string;
  roles: string[];
  status: string;
  agent_version: string | null;
  drivers: Record<string, { ok: boolean; error?: string }> | null;
}

const nodesNamed = async (name: string) => (await admin<NodeRow[]>('/admin/v1/nodes')).filter((n) => n.name === name);

describe('hostplane serve --with-agent', () => {
  it('creates the node "local" once, enrols its in-process agent over its own door, and the node heartbeats', async () => {
    await withServer(['--with-agent'], {}, async (server) => {
      const node = await waitFor(async () => (await nodesNamed('local')).find((n) => n.status === 'healthy' && n.agent_version), 20_000, () => server.output().slice(-3000));
      expect(node.roles).toEqual(['web']);
      expect(server.output()).toContain('created the local node');
      expect(server.output()).toContain('enrolled with the control plane');
      const credentials = path.join(`${dataDir}-agent`, 'credentials.json');
      expect((fs.statSync(credentials).mode & 0o777).toString(8)).toBe('600');
    });
  }, 90_000);

  it('a restart keeps the same node and the saved credentials: no new node, no new enrolment', async () => {
    const saved = fs.readFileSync(path.join(`${dataDir}-agent`, 'credentials.json'), 'utf8');
    await withServer([], { HOSTPLANE_WITH_AGENT: '1' }, async (server) => {
      await server.waitForOutput('fetched the node state', 20_000);
      await waitFor(async () => ((await nodesNamed('local'))[0]?.status === 'healthy' ? true : undefined), 20_000, () => server.output().slice(-3000));
      expect(await nodesNamed('local')).toHaveLength(1);
      expect(server.output()).not.toContain('created the local node');
      expect(server.output()).not.toContain('enrolled with the control plane');
      expect(fs.readFileSync(path.join(`${dataDir}-agent`, 'credentials.json'), 'utf8')).toBe(saved);
    });
  }, 90_000);

  it('without --with-agent the server runs no agent and the local node, no longer heartbeating, turns unhealthy', async () => {
    await withServer([], {}, async (server) => {
      await waitFor(async () => ((await nodesNamed('local'))[0]?.status === 'unhealthy' ? true : undefined), 20_000, () => server.output().slice(-3000));
      expect(server.output()).not.toContain('fetched the node state');
    });
  }, 90_000);

  it('without nginx the web role reports itself unhealthy on the node, and the server serves on', async () => {
    const missing = path.join(tmp.dir, 'no-such-dir', 'nginx');
    await withServer(['--with-agent'], { HOSTPLANE_AGENT_WEB_DRIVER: 'nginx', HOSTPLANE_AGENT_NGINX_BIN: missing, HOSTPLANE_AGENT_HTTP_PORT: String(await freePort()) }, async (server) => {
      const node = await waitFor(async () => (await nodesNamed('local')).find((n) => n.drivers?.web?.ok === false), 20_000, () => server.output().slice(-3000));
      expect(node.status).toBe('healthy');
      expect(node.drivers!.web!.error).toContain(missing);
      expect(server.output()).toContain('driver cannot start');
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
    });
  }, 90_000);

  it('with nginx: a site added with AddDomain is placed on the local node and served by the nginx the server runs', async () => {
    // Like /var/lib on a real machine: nginx's workers must reach the homes beside the data dir.
    fs.chmodSync(tmp.dir, 0o755);
    const httpPort = await freePort();
    await withServer(['--with-agent'], { HOSTPLANE_AGENT_WEB_DRIVER: 'nginx', HOSTPLANE_AGENT_HTTP_PORT: String(httpPort) }, async (server) => {
      await waitFor(async () => ((await nodesNamed('local'))[0]?.drivers?.web?.ok ? true : undefined), 30_000, () => server.output().slice(-3000));
      const key = fs.readFileSync(path.join(dataDir, 'operator-key'), 'utf8').trim();
      const domain = `local-${firstSiteId}.agent.test`;
      const added = await new Promise<{ code: number; stderr: string }>((resolve) =>
        execFile(process.execPath, [path.join(import.meta.dirname, '..', '..', 'bin', 'AddDomain'), '-c', `siteinfo,domain=${domain}`, '-c', `siteinfo,admin_user=adm${firstSiteId}`, '-c', 'apache,enabled=1'], { env: { PATH: process.env.PATH ?? '', HOSTPLANE_URL: url, HOSTPLANE_API_KEY: key } }, (err, _out, stderr) =>
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stderr }),
        ),
      );
      expect(added.code, added.stderr).toBe(0);
      const status = await waitFor(
        () =>
          new Promise<number | undefined>((resolve) => {
            const req = nodeHttp.request({ host: '127.0.0.1', port: httpPort, path: '/', headers: { host: domain }, timeout: 3_000 }, (res) => {
              res.resume();
              resolve(res.statusCode === 200 ? 200 : undefined);
            });
            req.on('error', () => resolve(undefined));
            req.end();
          }),
        30_000,
        () => server.output().slice(-3000),
        200,
      );
      expect(status).toBe(200);
    });
  }, 120_000);
});
