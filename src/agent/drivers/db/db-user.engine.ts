import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { DbUserSpec } from '../../../core/nodes/agent-wire.schema.js';

/**
 * What the db-user driver asks of one database server (MariaDB or PostgreSQL). Every call is
 * idempotent: it reads what the server has and changes only what differs.
 */
export interface DbUserEngine {
  readonly engine: DbUserSpec['engine'];
  /** Whether the user exists on the server. */
  userExists(user: string): Promise<boolean>;
  /** Makes the user, its password hash, its lock and its databases as the spec says. */
  applyUser(spec: DbUserSpec, archive: (db: string) => string): Promise<void>;
  /** Hands the databases of `from` (an earlier name of this object's user) to `to` and drops `from`. */
  retireUser(from: string, to: string): Promise<void>;
  /** Dumps every database of the user (and those the spec lists) into `archive(db)`, then drops them and the user. */
  removeUser(spec: DbUserSpec, archive: (db: string) => string): Promise<void>;
  /** Total bytes of the databases named. */
  sizeOf(databases: string[]): Promise<number>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Runs a dump program with its output going to `file` (mode 0600); a failure names the program and
 * its last error line. Written under a dot name and renamed when whole, so neither a reader nor the
 * archives' clean-up ever takes a half-written dump.
 */
export async function dumpTo(command: string, args: string[], env: NodeJS.ProcessEnv, file: string): Promise<void> {
  const partial = path.join(path.dirname(file), `.${path.basename(file)}.partial`);
  const out = await fs.promises.open(partial, 'w', 0o600);
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', out.fd, 'pipe'] });
      let err = '';
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (c: string) => (err = (err + c).slice(-2000)));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}: ${err.trim().split('\n').at(-1) ?? ''}`))));
    });
  } catch (e) {
    await out.close();
    await fs.promises.rm(partial, { force: true });
    throw e;
  }
  await out.sync();
  await out.close();
  await fs.promises.rename(partial, file);
}
