import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A PostgreSQL cluster of the test's own, in a temp dir on a free port (initdb/pg_ctl from PATH), so a
 * test may stop or freeze it; the machine's own server is never touched.
 */
export interface PgCluster {
  url: string;
  port: number;
  /** The cluster's data dir, and the dir of its Unix socket (owned by postgres when run as root). */
  dataDir: string;
  socketDir: string;
  /** `pg_ctl stop -m immediate`: every backend dies at once, as in a crash. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOP to the postmaster and every backend: the sockets stay open and nothing answers. */
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  destroy(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface PgClusterOptions {
  /** More `name=value` server settings (say, WAL archiving), given on the command line. */
  settings?: string[];
  /**
   * TCP connections of every role but `postgres` must give their SCRAM-SHA-256 password (the machine's
   * own server trusts local connections, so it cannot prove a password is checked); `postgres` and
   * the Unix socket stay trusted, so the test's admin URL needs none.
   */
  scramOverTcp?: boolean;
}

export async function startPgCluster(options: PgClusterOptions = {}): Promise<PgCluster> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostplane-pgc-'));
  const data = path.join(dir, 'data');
  // PostgreSQL refuses to run as root: as root, its programs run as the postgres user, who owns the dir.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { uid, gid } = await run('id', ['-u', 'postgres']).then(async ({ stdout }) => ({ uid: Number(stdout), gid: Number((await run('id', ['-g', 'postgres'])).stdout) }));
    fs.chownSync(dir, uid, gid);
  }
  const pg = (program: string, args: string[]) => (asRoot ? run('runuser', ['-u', 'postgres', '--', program, ...args], { timeout: 60_000 }) : run(program, args, { timeout: 60_000 }));
  await pg('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  if (options.scramOverTcp) {
    // Rewritten in place, so the file keeps its owner (the server reads it at start).
    fs.writeFileSync(path.join(data, 'pg_hba.conf'), 'local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n');
  }
  const port = await freePort();
  const extra = (options.settings ?? []).map((setting) => ` -c "${setting.replace(/(["\\$`])/g, '\\$1')}"`).join('');
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=40${extra}`;
  const pgCtl = (...args: string[]) => pg('pg_ctl', ['-D', data, ...args]);
  const start = async () => {
    await pgCtl('-o', opts, '-l', path.join(dir, 'log'), '-w', 'start');
  };
  const postmaster = () => Number(fs.readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const signalAll = async (signal: 'STOP' | 'CONT') => {
    const pid = postmaster();
    // The postmaster first on STOP (it forks no new backend while stopped), last on CONT.
    if (signal === 'STOP') process.kill(pid, 'SIGSTOP');
    await run('pkill', [`-${signal}`, '-P', String(pid)]).catch(() => {});
    if (signal === 'CONT') process.kill(pid, 'SIGCONT');
  };
  let frozen = false;
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDir: data,
    socketDir: dir,
    stop: async () => {
      await pgCtl('-m', 'immediate', '-w', 'stop');
    },
    start,
    freeze: async () => {
      await signalAll('STOP');
      frozen = true;
    },
    thaw: async () => {
      await signalAll('CONT');
      frozen = false;
    },
    destroy: async () => {
      if (frozen) await signalAll('CONT').catch(() => {});
      await pgCtl('-m', 'immediate', '-w', 'stop').catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
