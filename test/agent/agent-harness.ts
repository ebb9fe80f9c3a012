import fs from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { ctxFor } from '../../src/core/context.js';
import { createOperatorKey } from '../../src/core/credentials/credential.service.js';
import type { SiteSpec } from '../../src/core/nodes/agent-wire.schema.js';
import { upsertNodeObjects } from '../../src/core/nodes/bump-node-objects.js';
import type { DbHandle } from '../../src/db/database.js';
import { freePort, spawnHostplane, waitFor, type Proc } from '../jobs-process/process-harness.js';
import { TEST_MASTER_KEY } from '../support/test-app.js';
import { openTestDb } from '../support/test-db.js';

/*
 * A real control plane (the whole app on a real port, its own database of the run's kind) that can be
 * stopped and started again on the same port and database, and real `hostplane agent` processes
 * against it. Agents get short intervals so the tests wait seconds, not minutes.
 */

/** The server's node settings for tests: heartbeats every second, unhealthy after three without. */
export const NODE_ENV = { HOSTPLANE_NODE_HEARTBEAT_SECONDS: '1', HOSTPLANE_NODE_USAGE_SECONDS: '1', HOSTPLANE_NODE_UNHEALTHY_SECONDS: '3' };

/** The agent's own: a short long-poll, and quick retries of the control plane and of failed objects. */
export const AGENT_ENV = { HOSTPLANE_AGENT_POLL_WAIT_SECONDS: '2', HOSTPLANE_AGENT_BACKOFF_MAX_SECONDS: '0.5', HOSTPLANE_AGENT_RETRY_MAX_SECONDS: '1' };

export interface ControlPlane {
  url: string;
  operatorKey: string;
  app(): App;
  /** Stops serving (agents see connection errors); the database stays. */
  stop(): Promise<void>;
  /** Serves again on the same port and database. */
  start(): Promise<void>;
  close(): Promise<void>;
  admin<T = unknown>(method: string, route: string, body?: unknown): Promise<{ status: number; body: T }>;
}

/**
 * `jobs`: also run the job queue (webhook deliveries, relay changes), as `serve` does. `logs`: the
 * server's log lines (debug and up) are pushed there, for tests that check what is logged.
 */
export async function startControlPlane(env: Record<string, string> = {}, opts: { jobs?: boolean; logs?: string[] } = {}): Promise<ControlPlane> {
  const port = await freePort();
  const config = loadConfig({ HOSTPLANE_DATA_DIR: '/nonexistent-test-dir', PORT: String(port), HOSTPLANE_MASTER_KEY: TEST_MASTER_KEY, ...NODE_ENV, ...env });
  const db: DbHandle = await openTestDb();
  const logs = opts.logs;
  const logger = logs ? pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) }) : pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  let app: App | undefined;
  const start = async () => {
    app = await createApp(config, { dbHandle: db, logger });
    await app.server.listen({ port, host: '127.0.0.1' });
    if (opts.jobs) app.jobs.start();
  };
  await start();
  const { key } = await createOperatorKey(ctxFor(app!.deps, { kind: 'system' }), 'agent tests');
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    const a = app;
    app = undefined;
    await a?.close();
  };
  return {
    url,
    operatorKey: key,
    app: () => {
      if (!app) throw new Error('the control plane is stopped');
      return app;
    },
    stop,
    start,
    close: async () => {
      await stop();
      await db.close();
    },
    admin: async <T>(method: string, route: string, body?: unknown) => {
      const res = await fetch(url + route, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
    },
  };
}

export interface NodeCreated {
  id: number;
  name: string;
  token: string;
}

export async function createNode(cp: ControlPlane, name: string, roles: string[] = ['web']): Promise<NodeCreated> {
  const r = await cp.admin<NodeCreated>('POST', '/admin/v1/nodes', { name, roles });
  if (r.status !== 201) throw new Error(`node create: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

export interface AgentProc extends Proc {
  dataDir: string;
}

export function startAgent(cp: ControlPlane, o: { dataDir: string; token?: string; args?: string[]; env?: Record<string, string> }): AgentProc {
  const args = ['agent', '--url', cp.url, '--data-dir', o.dataDir, ...(o.token ? ['--token', o.token] : []), ...(o.args ?? ['--web-driver', 'files'])];
  const p = spawnHostplane(args, { HOSTPLANE_LOG_LEVEL: 'debug', ...AGENT_ENV, ...o.env });
  return Object.assign(p, { dataDir: o.dataDir });
}

export function siteSpec(n: number, over: Partial<SiteSpec> = {}): SiteSpec {
  return { siteId: n, name: `site${n}`, domain: `site${n}.agent.test`, aliases: [], status: 'active', suspendReason: null, php: false, ...over };
}

/** Desired state written the way the doors write it: one transaction, one version bump per node. */
export async function putSites(cp: ControlPlane, nodeId: number, sites: { n: number; spec?: Partial<SiteSpec>; absent?: boolean }[]): Promise<number> {
  const versions = await upsertNodeObjects(
    ctxFor(cp.app().deps, { kind: 'system' }),
    sites.map((s) =>
      s.absent
        ? { nodeId, kind: 'site' as const, objectId: `site${s.n}`, clientId: null, state: 'absent' as const, spec: null }
        : { nodeId, kind: 'site' as const, objectId: `site${s.n}`, clientId: null, state: 'present' as const, spec: siteSpec(s.n, s.spec) },
    ),
  );
  return versions.get(nodeId)!;
}

/** The specs the files driver holds: what this node would serve. */
export function desiredFiles(dataDir: string): Map<string, SiteSpec> {
  const dir = path.join(dataDir, 'desired');
  const out = new Map<string, SiteSpec>();
  if (!fs.existsSync(dir)) return out;
  for (const f of fs.readdirSync(dir)) {
    if (f.endsWith('.json') && !f.startsWith('.')) out.set(f.slice(0, -5), JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as SiteSpec);
  }
  return out;
}

export interface NodeView {
  id: number;
  name: string;
  status: string;
  last_heartbeat_at: string | null;
}

export async function nodeView(cp: ControlPlane, id: number): Promise<NodeView & Record<string, unknown>> {
  const r = await cp.admin<NodeView & Record<string, unknown>>('GET', `/admin/v1/nodes/${id}`);
  if (r.status !== 200) throw new Error(`node show: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

export interface ObjectView {
  id: string;
  version: number;
  applied_version: number | null;
  error: string | null;
  status: string;
}

/** Every desired object of a node as the control plane sees it (applied version, error). */
export async function nodeObjects(cp: ControlPlane, id: number): Promise<ObjectView[]> {
  const all: ObjectView[] = [];
  let after: string | undefined;
  for (;;) {
    const r = await cp.admin<{ objects: ObjectView[]; next_after: string | null }>('GET', `/admin/v1/nodes/${id}/objects?limit=1000${after ? `&after=${encodeURIComponent(after)}` : ''}`);
    if (r.status !== 200) throw new Error(`node objects: ${r.status} ${JSON.stringify(r.body)}`);
    all.push(...r.body.objects);
    after = r.body.next_after ?? undefined;
    if (!after || r.body.objects.length === 0) return all;
  }
}

/** Waits until every listed object of the node reports its current version applied. */
export async function waitAllApplied(cp: ControlPlane, nodeId: number, expected: number, timeoutMs = 30_000): Promise<ObjectView[]> {
  let last: ObjectView[] = [];
  return waitFor(
    async () => {
      last = await nodeObjects(cp, nodeId);
      return last.length === expected && last.every((o) => o.applied_version === o.version) ? last : undefined;
    },
    timeoutMs,
    () => `${last.filter((o) => o.applied_version === o.version).length}/${expected} applied (${last.length} listed); e.g. ${JSON.stringify(last.find((o) => o.applied_version !== o.version))}`,
    200,
  );
}
