import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { expect } from 'vitest';
import { createNode, nodeView, startAgent, startControlPlane, type AgentProc, type ControlPlane, type NodeCreated } from '../agent/agent-harness.js';
import { killAll, makeTempDir, waitFor } from '../jobs-process/process-harness.js';
import { ODOO_TEMPLATE_SQL } from '../support/odoo-template.js';

/*
 * What the SaaS instance files share (docs/adr/0021, 0027): a control plane on a real port, a real
 * `hostplane agent` with the db role on the machine's PostgreSQL, an Odoo-shaped template, and
 * instances made by the portal's create_new_database through Python's xmlrpc.client. Every database
 * and role a world makes carries its prefix or an instance UUID it recorded, and close() drops them.
 */
export const PG_ADMIN = 'postgres://postgres@127.0.0.1:5432/postgres';
export const ADMIN_PASSWORD = 'portal-admin-password';
export const OWNER_PASSWORD = 'owner password';

/** SQL as the machine's PostgreSQL superuser, in `database` (its own `postgres` by default). */
export async function pgAdmin<T>(sqlText: string, params: unknown[] = [], database?: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: database ? PG_ADMIN.replace(/\/postgres$/, `/${database}`) : PG_ADMIN });
  await c.connect();
  try {
    return (await c.query(sqlText, params)).rows as T[];
  } finally {
    await c.end();
  }
}

/** Runs Python with `input` on stdin (passwords never on a command line) and returns its stdout. */
export function runPython(bin: string, code: string, input: string, env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(bin, ['-c', code], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${bin} failed: ${err.message}\n${stderr}`)) : resolve(stdout.trim()),
    );
    child.stdin!.end(input);
  });
}

export interface Instance {
  id: number;
  /** Its database's name. */
  db: string;
  /** The owner's login link. */
  url: string;
}

export interface InstanceWorld {
  prefix: string;
  /** The template database (Odoo-shaped unless `templateSql` said otherwise). */
  template: string;
  cp: ControlPlane;
  node: NodeCreated;
  /** The db node's agent (startAgent replaces it). */
  agent: AgentProc;
  tmp: { dir: string; remove: () => void };
  /** A host name of this world's own, `n` making it unique within it. */
  host(n: string): string;
  /** A database of this world's (`<prefix>_<suffix>`), made with `sql` inside, dropped by close(). */
  database(suffix: string, sql?: string): Promise<string>;
  /** A SaaS plan from `template`; `maxUsers` its users,max (none when not given). */
  createPlan(uid: string, template: string, maxUsers?: number): Promise<number>;
  /** create_new_database through Python's xmlrpc.client, as the portal calls it. */
  createInstance(planId: number, host: string, ownerPassword?: string): Promise<Instance>;
  /** An instance made by other means (a script): its database and owner role are dropped by close(). */
  track(instanceUuid: string): void;
  /** Starts the node's agent (again), talking to `url` (the control plane's by default), and waits until the node is healthy. */
  startAgent(url?: string): Promise<AgentProc>;
  /** The instance's overview as the admin API shows it (`T`: the fields a test reads). */
  overview<T>(id: number): Promise<T>;
  /** Waits until the instance's overview, as the node's reports make it, satisfies `ok`. */
  untilOverview<T>(id: number, ok: (o: T) => boolean, what: string): Promise<T>;
  close(): Promise<void>;
}

/**
 * `tag`: a few letters naming the file in database names (`hp<tag>_<random>`); `env`: the control
 * plane's; `jobs`: it runs its job queue too (webhook deliveries), as `serve` does.
 */
export async function startInstanceWorld(
  tag: string,
  options: { logs?: string[]; agentUrl?: (controlPlaneUrl: string) => Promise<string>; templateSql?: string; env?: Record<string, string>; agentEnv?: Record<string, string>; jobs?: boolean } = {},
): Promise<InstanceWorld> {
  const prefix = `hp${tag}_${randomBytes(4).toString('hex')}`;
  const template = `${prefix}_odoo`;
  const databases: string[] = [];
  const uuids: string[] = [];
  const tmp = makeTempDir(`hostplane-${tag}-`);
  const makeDatabase = async (name: string, sql?: string) => {
    databases.push(name);
    await pgAdmin(`create database ${name}`);
    if (sql) await pgAdmin(sql, [], name);
    return name;
  };
  await makeDatabase(template, options.templateSql ?? ODOO_TEMPLATE_SQL);
  const cp = await startControlPlane(options.env ?? {}, { ...(options.logs ? { logs: options.logs } : {}), ...(options.jobs ? { jobs: true } : {}) });
  expect((await cp.admin('POST', '/admin/v1/users', { operator: true, login: 'admin', password: ADMIN_PASSWORD })).status).toBe(201);
  const node = await createNode(cp, `db-${prefix.slice(tag.length + 3)}`, ['db']);
  const agentUrl = options.agentUrl ? await options.agentUrl(cp.url) : cp.url;

  const world: InstanceWorld = {
    prefix,
    template,
    cp,
    node,
    agent: undefined as unknown as AgentProc,
    tmp,
    host: (n) => `${prefix.replace(/_/g, '-')}-${n}.odoo.local`,
    database: (suffix, sql) => makeDatabase(`${prefix}_${suffix}`, sql),
    async createPlan(uid, tpl, maxUsers) {
      const r = await cp.admin<{ id: number }>('POST', '/admin/v1/packages', { uid, name: `Odoo ${uid}`, template_database: tpl, ...(maxUsers === undefined ? {} : { limits: { max_users: maxUsers } }) });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      return r.body.id;
    },
    async createInstance(planId, host, ownerPassword = OWNER_PASSWORD) {
      const out = await runPython(
        'python3',
        `import json, os, sys, xmlrpc.client
common = xmlrpc.client.ServerProxy(os.environ['PORTAL_URL'] + '/xmlrpc/2/common')
uid = common.authenticate('hostplane', 'admin', os.environ['ADMIN_PASSWORD'], {})
models = xmlrpc.client.ServerProxy(os.environ['PORTAL_URL'] + '/xmlrpc/2/object')
print(json.dumps(models.execute_kw('hostplane', uid, os.environ['ADMIN_PASSWORD'], 'saas_portal.plan', 'create_new_database', [int(os.environ['PLAN'])], {'dbname': os.environ['NAME'], 'user_id': uid, 'owner_password': sys.stdin.read()})))`,
        ownerPassword,
        { PORTAL_URL: cp.url, ADMIN_PASSWORD, PLAN: String(planId), NAME: host },
      );
      const created = JSON.parse(out) as { id: number; client_id: string; url: string };
      uuids.push(created.client_id);
      return { id: created.id, db: `saas_${created.client_id.replace(/-/g, '')}`, url: created.url };
    },
    track: (uuid) => void uuids.push(uuid),
    async startAgent(url = agentUrl) {
      world.agent = startAgent({ ...cp, url }, { dataDir: path.join(tmp.dir, 'agent'), token: node.token, args: [], env: { HOSTPLANE_AGENT_PG_URL: PG_ADMIN, ...options.agentEnv } });
      await waitFor(async () => ((await nodeView(cp, node.id)).status === 'healthy' ? true : undefined), 60_000, () => world.agent.output().slice(-3000), 200);
      return world.agent;
    },
    async overview<T>(id: number) {
      const r = await cp.admin<T>('GET', `/admin/v1/clients/${id}/instance`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body;
    },
    untilOverview<T>(id: number, ok: (o: T) => boolean, what: string) {
      let last: T | undefined;
      return waitFor(
        async () => {
          last = await world.overview<T>(id);
          return ok(last) ? last : undefined;
        },
        60_000,
        () => `${what}: ${JSON.stringify(last)}\n${world.agent.output().slice(-2000)}`,
        250,
      );
    },
    async close() {
      killAll();
      await cp.close();
      for (const uuid of uuids) {
        const hex = uuid.replace(/-/g, '');
        await pgAdmin(`drop database if exists saas_${hex} with (force)`).catch(() => undefined);
        await pgAdmin(`drop role if exists saas_${hex}_owner`).catch(() => undefined);
      }
      for (const name of databases) await pgAdmin(`drop database if exists ${name} with (force)`).catch(() => undefined);
      tmp.remove();
    },
  };
  await world.startAgent();
  return world;
}
