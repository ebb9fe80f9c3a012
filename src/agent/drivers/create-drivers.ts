import path from 'node:path';
import type { AgentLog } from '../agent-log.js';
import type { RoleDriver } from '../role-driver.js';
import { FilesDriver } from './files/files.driver.js';

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
  log: AgentLog;
}

/** The drivers for a node's roles; roles without a driver yet (db, relay) get none, so their objects fail visibly. */
export function createDrivers(roles: string[], s: DriverSettings): RoleDriver[] {
  const drivers: RoleDriver[] = [];
  if (roles.includes('web')) {
    drivers.push(new FilesDriver(path.join(s.dataDir, 'desired')));
  }
  return drivers;
}
