import fs from 'node:fs';
import path from 'node:path';
import type { AgentLog } from '../agent-log.js';
import type { RoleDriver } from '../role-driver.js';
import { PgDatabaseDriver, type CopyStrategy } from './db/pg-database.driver.js';
import { DbUserDriver } from './db/db-user.driver.js';
import { FilesDriver } from './files/files.driver.js';
import { RelayRoleDriver, type RelayRoleSettings } from './relay/relay.driver.js';
import { WebDriver } from './web/web.driver.js';

export interface DriverSettings {
  dataDir: string;
  /** nginx's prefix for the web role (default `<data dir>/nginx`). */
  nginxPrefix: string;
  /** The port nginx serves sites on. */
  httpPort: number;
  /** `nginx`: serve sites; `files`: only record them as JSON files (no web server needed). */
  webDriver: 'nginx' | 'files';
  /** Binaries; by default Debian's, found under /usr/sbin. */
  nginxBin?: string;
  phpFpmBin?: string;
  /** The db role's MariaDB admin connection (`--mariadb-url`, mysql://user:password@host:port). */
  mariadbUrl?: string | undefined;
  /**
   * The db role's PostgreSQL admin connection (`--pg-url`, postgres://user:password@host:port/db): it
   * stays on the node, never sent to the control plane. Without it, SaaS databases cannot be made.
   */
  pgUrl?: string | undefined;
  /** How SaaS databases are copied from their templates (`--pg-copy-strategy`); default auto. */
  pgCopyStrategy?: CopyStrategy | undefined;
  /** Fetches a file staged for an instance database's ir_attachment (the agent's wire client); without it such files wait. */
  fetchInstanceFile?: ((id: number) => Promise<Buffer>) | undefined;
  /** The relay role: which driver, where its maps go (default `<data dir>/relay`), its reload command or http target. */
  relay?: Omit<RelayRoleSettings, 'log' | 'relayDir'> & { relayDir?: string | undefined };
  log: AgentLog;
}

/** Stands in for a role driver that cannot work at all: it says why at every start, so the heartbeat and each object show it. */
class UnavailableDriver implements RoleDriver {
  constructor(
    readonly role: RoleDriver['role'],
    readonly name: string,
    readonly kinds: RoleDriver['kinds'],
    private readonly why: string,
  ) {}
  start(): Promise<void> {
    return Promise.reject(new Error(this.why));
  }
  apply(): never {
    throw new Error(this.why);
  }
  observe(): Promise<never[]> {
    return Promise.resolve([]);
  }
  health(): Promise<{ ok: boolean; error?: string }> {
    return Promise.resolve({ ok: false, error: this.why });
  }
  stop(): Promise<void> {
    return Promise.resolve();
  }
}

/** Debian installs php-fpm with its version in the name (php-fpm8.2); the newest one wins. */
export function defaultPhpFpmBin(dir = '/usr/sbin'): string {
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir).filter((f) => /^php-fpm[0-9.]*$/.test(f));
  } catch {
    // no such directory: rely on PATH
  }
  names.sort((a, b) => b.localeCompare(a, 'en', { numeric: true }));
  return names[0] ? path.join(dir, names[0]) : 'php-fpm';
}

export function defaultNginxBin(): string {
  return fs.existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
}

/** The drivers for a node's roles. */
export function createDrivers(roles: string[], s: DriverSettings): RoleDriver[] {
  const drivers: RoleDriver[] = [];
  if (roles.includes('web')) {
    drivers.push(
      s.webDriver === 'files'
        ? new FilesDriver(path.join(s.dataDir, 'desired'))
        : new WebDriver({
            dataDir: s.dataDir,
            nginxPrefix: s.nginxPrefix,
            httpPort: s.httpPort,
            nginxBin: s.nginxBin ?? defaultNginxBin(),
            phpFpmBin: s.phpFpmBin ?? defaultPhpFpmBin(),
            log: s.log,
            // nginx and php-fpm outlive the agent: a restart or upgrade of the agent never interrupts the sites.
            keepServingOnStop: true,
          }),
    );
  }
  // The db role: site database users, and SaaS instances' own databases (PostgreSQL only).
  if (roles.includes('db')) drivers.push(new DbUserDriver({ dataDir: s.dataDir, mariadbUrl: s.mariadbUrl, pgUrl: s.pgUrl, log: s.log }));
  if (roles.includes('db')) {
    if (!s.pgUrl) drivers.push(new UnavailableDriver('db', 'database', ['database'], 'no PostgreSQL admin connection for SaaS databases: start the agent with --pg-url or HOSTPLANE_AGENT_PG_URL'));
    else {
      try {
        drivers.push(new PgDatabaseDriver({ pgUrl: s.pgUrl, dataDir: s.dataDir, log: s.log, fetchInstanceFile: s.fetchInstanceFile, copyStrategy: s.pgCopyStrategy }));
      } catch (e) {
        drivers.push(new UnavailableDriver('db', 'database', ['database'], (e as Error).message));
      }
    }
  }
  if (roles.includes('relay')) {
    const relay = s.relay ?? { driver: 'postfix-maps' as const };
    drivers.push(new RelayRoleDriver({ ...relay, relayDir: relay.relayDir ?? path.join(s.dataDir, 'relay'), log: s.log }));
  }
  return drivers;
}
