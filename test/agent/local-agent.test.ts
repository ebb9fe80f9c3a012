import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDb } from '../../src/db/database.js';
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

beforeAll(async () => {
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  env = { HOSTPLANE_DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: String(port), HOSTPLANE_LOG_LEVEL: 'info', HOSTPLANE_DEMO: 'off', HOSTPLANE_AGENT_WEB_DRIVER: 'files', ...NODE_ENV };
  if (process.env.HOSTPLANE_TEST_DB === 'postgres') {
    pg = await openTestDb();
    env.DATABASE_URL = pg.databaseUrl!;
  } else {
    // The migrated template stands in for a first start's initdb and migrations.
    const template = await createDb({ dataDir: path.join(dataDir, 'pgdata'), loadDataDir: new Blob([fs.readFileSync(inject('pgliteTemplate'))]) });
    await template.close();
    fs.rmSync(path.join(dataDir, 'pgdata.lock'), { force: true });
  }
}, 120_000);

afterAll(async () => {
  killAll();
  await pg?.close();
  tmp.remove();
});

/** Runs `serve`, then `check` against it, and stops it (SIGKILL if the check failed, so the next test can open the database). */
async function withServer(args: string[], extra: Record<string, string>, check: (p: Proc) => Promise<void>): Promise<void> {
  const p = spawnHostplane(['serve', ...args], { ...env, ...extra });
  try {
    await p.waitForOutput('API reference:', 60_000);
    await check(p);
    expect(await stopGracefully(p)).toBe(0);
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
      const credentials = path.join(dataDir, 'agent', 'credentials.json');
      expect((fs.statSync(credentials).mode & 0o777).toString(8)).toBe('600');
    });
  }, 90_000);

  it('a restart keeps the same node and the saved credentials: no new node, no new enrolment', async () => {
    const saved = fs.readFileSync(path.join(dataDir, 'agent', 'credentials.json'), 'utf8');
    await withServer([], { HOSTPLANE_WITH_AGENT: '1' }, async (server) => {
      await server.waitForOutput('fetched the node state', 20_000);
      await waitFor(async () => ((await nodesNamed('local'))[0]?.status === 'healthy' ? true : undefined), 20_000, () => server.output().slice(-3000));
      expect(await nodesNamed('local')).toHaveLength(1);
      expect(server.output()).not.toContain('created the local node');
      expect(server.output()).not.toContain('enrolled with the control plane');
      expect(fs.readFileSync(path.join(dataDir, 'agent', 'credentials.json'), 'utf8')).toBe(saved);
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
});
