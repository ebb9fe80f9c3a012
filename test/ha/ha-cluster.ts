import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort, makeTempDir, sleep, waitFor } from '../jobs-process/process-harness.js';

/*
 * The moving parts of the HA topology (docs/deploy.md), started by the test in a temp dir on free
 * ports: a pg_auto_failover monitor and two PostgreSQL nodes (Debian's postgresql-15-auto-failover),
 * and HAProxy with deploy/haproxy.cfg. Never the machine's own PostgreSQL. The PostgreSQL side is
 * built by deploy/pg-auto-failover.sh, step by step as docs/deploy.md has an operator run it, with
 * the settings that keep it off the machine's own paths: each step writes its systemd unit into the
 * temp dir (never installed), and the test starts each keeper with the script's `run` step, which is
 * what that unit runs. As root, the PostgreSQL programs run as the postgres user (PostgreSQL refuses
 * root), who owns the temp dir.
 */

const run = promisify(execFile);
const PG_BIN = '/usr/lib/postgresql/15/bin';
const PG_AUTOCTL = '/usr/bin/pg_autoctl';
const REPO = path.join(import.meta.dirname, '..', '..');
const SETUP_SCRIPT = path.join(REPO, 'deploy', 'pg-auto-failover.sh');

/** Why the suite cannot run here, or undefined when it can. */
export function haToolsMissing(): string | undefined {
  if (!fs.existsSync(PG_AUTOCTL) || !fs.existsSync(path.join(PG_BIN, 'pg_ctl'))) return 'pg_autoctl is not installed (Debian postgresql-15-auto-failover)';
  if (!fs.existsSync('/usr/sbin/haproxy')) return 'haproxy is not installed';
  return undefined;
}

interface Owner {
  uid?: number;
  gid?: number;
}

async function postgresOwner(): Promise<Owner> {
  if (process.getuid?.() !== 0) return {};
  const uid = Number((await run('id', ['-u', 'postgres'])).stdout);
  const gid = Number((await run('id', ['-g', 'postgres'])).stdout);
  return { uid, gid };
}

/**
 * The address the nodes reach each other on. initdb's own pg_hba.conf trusts every connection from
 * 127.0.0.1, so on loopback no password would ever be asked for; on the machine's own non-loopback
 * address (connections to it come from it) pg_autoctl's scram-sha-256 rules and the hostplane rule
 * apply, as between machines. Without one, loopback.
 */
function nodeAddress(): { host: string; passwordsChecked: boolean } {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return { host: a.address, passwordsChecked: true };
  }
  return { host: '127.0.0.1', passwordsChecked: false };
}

export interface PgNode {
  name: string;
  port: number;
  pgdata: string;
  /** Its `pg_autoctl run` (the keeper), leader of its own process group with its PostgreSQL. */
  child: ChildProcess;
}

export interface FailoverCluster {
  /** The multi-host URL `pg_autoctl show uri` prints, with the hostplane role and database: what DATABASE_URL is set to. */
  uri: string;
  /** The systemd unit the script wrote for each keeper (`monitor`, `node1`, `node2`), and the PGDATA it is for. */
  units: { name: string; pgdata: string; text: string }[];
  /** The address the nodes listen on and name in `uri`. */
  host: string;
  /** Whether `host` is not loopback, so that every connection between nodes and to them logged in with its password. */
  passwordsChecked: boolean;
  nodes: PgNode[];
  /** The node whose PostgreSQL accepts writes now (asked of each node). */
  primary(): Promise<PgNode | undefined>;
  /** kill -9 of a node's keeper, its PostgreSQL and every backend: the machine is gone. */
  kill9(node: PgNode): Promise<void>;
  /** `pg_autoctl show state`, for failure messages and the log. */
  state(): Promise<string>;
  destroy(): Promise<void>;
}

/**
 * The monitor's failure detection, shortened from its production defaults (a node unhealthy after
 * 20 s, a lost primary given 30 s to demote itself) so the test's failover takes seconds; docs/deploy.md
 * says which values production keeps.
 */
const MONITOR_SETTINGS: Record<string, string> = {
  'pgautofailover.health_check_period': '1000',
  'pgautofailover.health_check_timeout': '1000',
  'pgautofailover.health_check_max_retries': '1',
  'pgautofailover.health_check_retry_delay': '500',
  'pgautofailover.node_considered_unhealthy_timeout': '3000',
  'pgautofailover.primary_demote_timeout': '3000',
};

const BOTH_RUNNING = /\|\s+primary \|\s+primary\s*\n[\s\S]*\|\s+secondary \|\s+secondary/;

export async function startFailoverCluster(): Promise<FailoverCluster> {
  const tmp = makeTempDir('hostplane-ha-pg-');
  const owner = await postgresOwner();
  if (owner.uid !== undefined) fs.chownSync(tmp.dir, owner.uid, owner.gid!);
  const { host, passwordsChecked } = nodeAddress();
  const secret = () => randomBytes(18).toString('hex');
  const hostplanePassword = secret();
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: tmp.dir,
    // pg_autoctl keeps its config, state and pid files here instead of the postgres user's home.
    XDG_CONFIG_HOME: path.join(tmp.dir, 'xdg'),
    XDG_DATA_HOME: path.join(tmp.dir, 'xdg'),
    XDG_RUNTIME_DIR: path.join(tmp.dir, 'xdg'),
    // deploy/pg-auto-failover.sh's settings: production's authentication (scram-sha-256, with the
    // passwords it sets), no TLS (node-postgres would verify a self-signed certificate), the test's
    // address.
    PG_BINDIR: PG_BIN,
    NODE_HOST: host,
    // The test's own admin connections (ALTER SYSTEM, `database`) come over loopback, trusted.
    LISTEN: host === '127.0.0.1' ? host : `${host},127.0.0.1`,
    SSL_OPTS: '--no-ssl',
    SSL_MODE: 'disable',
    AUTOCTL_NODE_PASSWORD: secret(),
    REPLICATION_PASSWORD: secret(),
    HOSTPLANE_NETWORK: `${host}/32`,
  };
  const setup = (step: string, settings: Record<string, string>) => run('/bin/sh', [SETUP_SCRIPT, step], { env: { ...env, ...settings }, timeout: 120_000, ...owner, cwd: tmp.dir });
  const autoctl = (args: string[]) => run(PG_AUTOCTL, args, { env: { ...env, PATH: `${PG_BIN}:${env.PATH}` }, timeout: 120_000, ...owner, cwd: tmp.dir });
  const children: ChildProcess[] = [];
  const runKeeper = (pgdata: string, logName: string): ChildProcess => {
    const log = fs.openSync(path.join(tmp.dir, logName), 'a');
    // Its own process group, so kill -9 takes the keeper, PostgreSQL and its backends together; the
    // script's `run` step execs pg_autoctl, so the child is the keeper itself.
    const child = spawn('/bin/sh', [SETUP_SCRIPT, 'run'], { env: { ...env, PGDATA: pgdata }, ...owner, cwd: tmp.dir, detached: true, stdio: ['ignore', log, log] });
    fs.closeSync(log);
    children.push(child);
    return child;
  };
  const pgdatas: string[] = [];
  const units: { name: string; pgdata: string; text: string }[] = [];
  const unitFile = (name: string) => path.join(tmp.dir, `${name}.service`);
  const killAllKeepers = async () => {
    for (const c of children) {
      try {
        process.kill(-c.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    // A PostgreSQL that left its keeper's group (none should) is named by its pid file.
    for (const dir of pgdatas) {
      const pidFile = path.join(dir, 'postmaster.pid');
      if (!fs.existsSync(pidFile)) continue;
      try {
        process.kill(Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await sleep(300);
  };

  try {
    const monitorPort = await freePort();
    const monitorData = path.join(tmp.dir, 'monitor');
    pgdatas.push(monitorData);
    await setup('monitor', { PGDATA: monitorData, PGPORT: String(monitorPort), UNIT_FILE: unitFile('monitor') });
    units.push({ name: 'monitor', pgdata: monitorData, text: fs.readFileSync(unitFile('monitor'), 'utf8') });
    runKeeper(monitorData, 'monitor.log');
    const monitorAdmin = `postgres://postgres@127.0.0.1:${monitorPort}/pg_auto_failover`;
    await waitFor(() => canConnect(monitorAdmin), 60_000, () => 'the monitor did not start');
    const admin = new pg.Client({ connectionString: monitorAdmin });
    await admin.connect();
    try {
      for (const [name, value] of Object.entries(MONITOR_SETTINGS)) await admin.query(`alter system set ${name} = '${value}'`);
      await admin.query('select pg_reload_conf()');
    } finally {
      await admin.end();
    }

    const nodes: PgNode[] = [];
    for (const name of ['node1', 'node2']) {
      const port = await freePort();
      const pgdata = path.join(tmp.dir, name);
      pgdatas.push(pgdata);
      // The second node copies the first with pg_basebackup and becomes its synchronous standby.
      await setup('node', { PGDATA: pgdata, PGPORT: String(port), NODE_NAME: name, MONITOR_HOST: host, MONITOR_PORT: String(monitorPort), UNIT_FILE: unitFile(name) });
      units.push({ name, pgdata, text: fs.readFileSync(unitFile(name), 'utf8') });
      nodes.push({ name, port, pgdata, child: runKeeper(pgdata, `${name}.log`) });
    }
    const state = async () => (await autoctl(['show', 'state', '--pgdata', monitorData]).catch((e: Error) => ({ stdout: String(e) }))).stdout;
    await waitFor(
      async () => (BOTH_RUNNING.test(await state()) ? true : undefined),
      90_000,
      async () => `the nodes did not reach primary + secondary:\n${await state()}\n${readLogs(tmp.dir)}`,
      500,
    );
    // The role and database Hostplane uses, made on the primary; they replicate to the standby.
    await setup('database', { PGHOST: '127.0.0.1', PGPORT: String(nodes[0]!.port), HOSTPLANE_PASSWORD: hostplanePassword });
    // The nodes run without TLS (--no-ssl); node-postgres reads `sslmode=prefer` as "TLS required", so
    // it goes (docs/deploy.md: production nodes have certificates and the URL says sslmode=verify-full).
    const shown = (await setup('uri', { PGDATA: monitorData })).stdout.trim();
    const uri = shown
      .replace(/([?&])sslmode=prefer(&|$)/, (_m, before: string, after: string) => (after ? before : ''))
      .replace(/[?&]$/, '')
      .replace(/^postgres:\/\//, `postgres://hostplane:${hostplanePassword}@`)
      .replace(/\/postgres(\?|$)/, '/hostplane$1');

    const primary = async () => {
      for (const n of nodes) {
        const c = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${n.port}/postgres`, connectionTimeoutMillis: 1000 });
        c.on('error', () => {});
        try {
          await c.connect();
          const r = await c.query<{ transaction_read_only: string }>('show transaction_read_only');
          if (r.rows[0]?.transaction_read_only === 'off') return n;
        } catch {
          // down or starting
        } finally {
          await c.end().catch(() => {});
        }
      }
      return undefined;
    };

    return {
      uri,
      units,
      host,
      passwordsChecked,
      nodes,
      primary,
      state,
      kill9: async (node) => {
        const pgid = node.child.pid!;
        process.kill(-pgid, 'SIGKILL');
        // PostgreSQL stays in the keeper's group; its pid file names it in case it ever left.
        const pidFile = path.join(node.pgdata, 'postmaster.pid');
        if (fs.existsSync(pidFile)) {
          const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone with the group
          }
        }
        await sleep(100);
      },
      destroy: async () => {
        await killAllKeepers();
        tmp.remove();
      },
    };
  } catch (e) {
    // A setup that failed half way leaves no keeper running.
    await killAllKeepers();
    tmp.remove();
    throw e;
  }
}

async function canConnect(url: string): Promise<true | undefined> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  c.on('error', () => {});
  try {
    await c.connect();
    return true;
  } catch {
    return undefined;
  } finally {
    await c.end().catch(() => {});
  }
}

function readLogs(dir: string): string {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .map((f) => `--- ${f}:\n${fs.readFileSync(path.join(dir, f), 'utf8').slice(-3000)}`)
    .join('\n');
}

export interface Haproxy {
  url: string;
  config: string;
  /** With `requestLog`: one entry per request HAProxy finished, in the order it finished them. */
  requests(): HaproxyRequest[];
  /** HAProxy's own output (its request log, warnings), for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

export interface HaproxyRequest {
  /** The API node that answered (`api1`), or `<NOSRV>` when HAProxy answered itself (no node ready). */
  server: string;
  /** -1 when the client went away first. */
  status: number;
  method: string;
  path: string;
}

/** `option httplog`'s line: `... hostplane api/api1 Tq/Tw/Tc/Tr/Ta status bytes ... "GET /path HTTP/1.1"`. */
const HTTPLOG = / \S+ [^/\s]+\/(\S+) -?\d+\/-?\d+\/-?\d+\/-?\d+\/\+?-?\d+ (-?\d+) .*"([A-Z]+) (\S+) HTTP\/[0-9.]+"$/;

/**
 * HAProxy with deploy/haproxy.cfg: its `defaults`, frontend and backend as shipped; the test's own
 * `global` (no user switch, no daemon, no syslog), listening address and servers. `requestLog`: the
 * shipped `option httplog` lines go to HAProxy's standard output, for requests() (the benchmark
 * leaves it off).
 */
export async function startHaproxy(servers: { name: string; port: number }[], opts: { requestLog?: boolean } = {}): Promise<Haproxy> {
  const tmp = makeTempDir('hostplane-ha-lb-');
  const port = await freePort();
  const shipped = fs.readFileSync(path.join(REPO, 'deploy', 'haproxy.cfg'), 'utf8');
  const sections = shipped.split(/^(?=\S)/m);
  const kept = sections.filter((s) => !s.startsWith('global') && !s.startsWith('#'));
  const global = ['global', '    maxconn 4096', `    pidfile ${path.join(tmp.dir, 'haproxy.pid')}`, ...(opts.requestLog ? ['    log stdout format raw local0'] : []), ''];
  let config = global.join('\n') + kept.join('');
  if (!opts.requestLog) config = config.replace(/^(\s+)log global\n/m, '').replace(/^(\s+)option httplog\n/m, '');
  config = config.replace(/^(\s+)bind \S+$/m, `$1bind 127.0.0.1:${port}`);
  config = config.replace(/^(\s+)errorfile 503 \S+$/m, `$1errorfile 503 ${path.join(REPO, 'deploy', 'hostplane-503.http')}`);
  const serverLines = servers.map((s) => `    server ${s.name} 127.0.0.1:${s.port} check`).join('\n');
  config = config.replace(/(^\s+server \S+ \S+ check\n?)+/m, `${serverLines}\n`);
  const file = path.join(tmp.dir, 'haproxy.cfg');
  fs.writeFileSync(file, config);
  await run('/usr/sbin/haproxy', ['-c', '-q', '-f', file]);
  const logFile = path.join(tmp.dir, 'haproxy.log');
  const log = fs.openSync(logFile, 'a');
  const child = spawn('/usr/sbin/haproxy', ['-db', '-f', file], { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  // Listening, with a node through its health check.
  await waitFor(
    () => fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) }).then((r) => (r.status === 200 ? true : undefined), () => undefined),
    20_000,
    () => `HAProxy did not become ready:\n${fs.readFileSync(path.join(tmp.dir, 'haproxy.log'), 'utf8')}`,
    200,
  );
  return {
    url,
    config,
    log: () => fs.readFileSync(logFile, 'utf8'),
    requests: () => {
      const out: HaproxyRequest[] = [];
      for (const line of fs.readFileSync(logFile, 'utf8').split('\n')) {
        const m = HTTPLOG.exec(line);
        if (m) out.push({ server: m[1]!, status: Number(m[2]), method: m[3]!, path: m[4]! });
      }
      return out;
    },
    stop: async () => {
      child.kill('SIGKILL');
      await exited;
      tmp.remove();
    },
  };
}
