import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import nodeHttp from 'node:http';
import path from 'node:path';
import { sql } from 'kysely';
import { nginxPaths } from '../../src/agent/drivers/web/nginx.config.js';
import { phpPaths } from '../../src/agent/drivers/web/php-fpm.config.js';
import { freePort, waitFor } from '../jobs-process/process-harness.js';
import { createNode, startAgent, type AgentProc, type ControlPlane, type NodeCreated } from './agent-harness.js';

/*
 * Web nodes for the end-to-end suites: a real `hostplane agent` with the nginx driver, its own data
 * dir, nginx prefix and HTTP port, and the nginx and php-fpm it runs. Sites are asked for by Host
 * header, and the ApisCP tools (AddDomain, cpcmd, ...) run as an operator runs them.
 */

export interface WebNode {
  node: NodeCreated;
  dataDir: string;
  prefix: string;
  port: number;
  agent: AgentProc;
}

/** Starts an agent for a new node `name` under `root`, and waits until it has the node's state. */
export async function startWebNode(cp: ControlPlane, root: string, name: string, roles: string[] = ['web']): Promise<WebNode> {
  const node = await createNode(cp, name, roles);
  const dataDir = path.join(root, name);
  const prefix = path.join(root, `${name}-nginx`);
  const port = await freePort();
  const agent = startAgent(cp, { dataDir, token: node.token, args: ['--nginx-prefix', prefix, '--http-port', String(port)] });
  await agent.waitForOutput('fetched the node state', 30_000);
  return { node, dataDir, prefix, port, agent };
}

/** The same node's agent again (credentials saved in its data dir), after it stopped or was killed. */
export function restartAgent(cp: ControlPlane, n: WebNode): void {
  n.agent = startAgent(cp, { dataDir: n.dataDir, args: ['--nginx-prefix', n.prefix, '--http-port', String(n.port)] });
}

/** nginx and php-fpm outlive their agent by design; this stops the node's (SIGQUIT: graceful). */
export function stopServers(n: WebNode): void {
  for (const pidFile of [nginxPaths(n.prefix).pidFile, phpPaths(n.dataDir).pidFile]) {
    try {
      process.kill(Number(fs.readFileSync(pidFile, 'utf8').trim()), 'SIGQUIT');
    } catch {
      // not running
    }
  }
}

/** Whether the node's nginx master still runs (its pid file names a live process). */
export function nginxRunning(n: WebNode): boolean {
  try {
    process.kill(Number(fs.readFileSync(nginxPaths(n.prefix).pidFile, 'utf8').trim()), 0);
    return true;
  } catch {
    return false;
  }
}

/** Site users the agents made as root: every one whose home is under `root`. */
export function removeSiteUsers(root: string): void {
  if (process.getuid?.() !== 0) return;
  for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const [name, , , , , home] = line.split(':');
    if (name && home?.startsWith(root + path.sep)) spawnSync('userdel', [name]);
  }
}

/**
 * The first site id of this run in a suite's own range. Site users are system users named after site
 * ids, so two runs on one machine (or two suites, or the two database projects) must not share ids.
 */
export function siteIdBase(suite: number): number {
  return 30_000_000 + suite * 10_000_000 + (process.pid % 4_000) * 2_000 + (process.env.HOSTPLANE_TEST_DB === 'postgres' ? 1_000 : 0);
}

/** New sites take ids from `first` on. */
export async function startSiteIdsAt(cp: ControlPlane, first: number): Promise<void> {
  await sql`alter table clients alter column id restart with ${sql.lit(first)}`.execute(cp.app().deps.db);
}

export interface Answer {
  status: number;
  body: string;
}

/** One request to a node's nginx, by Host header, on a connection of its own. */
export function get(port: number, host: string, urlPath = '/'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = nodeHttp.request({ host: '127.0.0.1', port, path: urlPath, headers: { host }, agent: false, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

/**
 * Asks until the answer is the one wanted: a reload's leaving worker may cut a request, and a change
 * reaches nginx some time after the door took it.
 */
export function answerWhen(port: number, host: string, urlPath: string, want: (a: Answer) => boolean, timeoutMs: number, why: () => string = () => ''): Promise<Answer> {
  let last: Answer | string = 'no answer';
  return waitFor(
    async () => {
      const a = await get(port, host, urlPath).catch((e: unknown) => String(e));
      last = a;
      return typeof a !== 'string' && want(a) ? a : undefined;
    },
    timeoutMs,
    () => `${host}${urlPath} last answered ${typeof last === 'string' ? last : `${last.status} ${last.body.slice(0, 200)}`}\n${why()}`,
    100,
  );
}

const BIN_DIR = path.join(import.meta.dirname, '..', '..', 'bin');

/** One of the ApisCP tools (AddDomain, SuspendDomain, cpcmd, ...) against the control plane, with the operator key. */
export function tool(cp: ControlPlane, name: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(BIN_DIR, name), ...args], { env: { PATH: process.env.PATH ?? '', HOSTPLANE_URL: cp.url, HOSTPLANE_API_KEY: cp.operatorKey }, timeout: 30_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

/** `cpcmd -o json <fn> <args...>`, its JSON result; throws with cpcmd's output when it fails. */
export async function cpcmd<T = unknown>(cp: ControlPlane, fn: string, ...args: string[]): Promise<T> {
  const r = await tool(cp, 'cpcmd', '-o', 'json', fn, ...args);
  if (r.code !== 0) throw new Error(`cpcmd ${fn} ${args.join(' ')}: exit ${r.code}\n${r.stderr}${r.stdout}`);
  return JSON.parse(r.stdout) as T;
}

/** AddDomain for `domain` with the given `service,param=value` settings; the new site's id. */
export async function addDomain(cp: ControlPlane, domain: string, admin: string, ...settings: string[]): Promise<number> {
  const r = await tool(cp, 'AddDomain', '-c', `siteinfo,domain=${domain}`, '-c', `siteinfo,admin_user=${admin}`, ...settings.flatMap((s) => ['-c', s]));
  if (r.code !== 0) throw new Error(`AddDomain ${domain}: exit ${r.code}\n${r.stderr}${r.stdout}`);
  const row = await cp.app().deps.db.selectFrom('domains').select('client_id').where('name', '=', domain).where('released_at', 'is', null).executeTakeFirstOrThrow();
  return Number(row.client_id);
}

/**
 * Waits until the site's node reports its latest version applied (the admin API's view of it). The
 * agent reports a batch only once nginx's old workers have left, so from then on every new connection
 * gets the new configuration; a first 200 seen earlier may still be followed by an old worker's 404.
 */
export async function waitApplied(cp: ControlPlane, id: number, timeoutMs = 30_000): Promise<void> {
  let last: unknown;
  await waitFor(
    async () => {
      const r = await cp.admin<{ node: { object: string } | null }>('GET', `/admin/v1/clients/${id}`);
      last = r.body;
      return r.status === 200 && r.body.node?.object === 'applied' ? true : undefined;
    },
    timeoutMs,
    () => `site${id} not applied: ${JSON.stringify(last)}`,
    100,
  );
}

/** A site's home on a node, as the web driver lays it out. */
export const publicHtml = (n: WebNode, siteId: number) => path.join(n.dataDir, 'sites', `site${siteId}`, 'public_html');
