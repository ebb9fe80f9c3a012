/**
 * File helpers of the web role: atomic replacement, reads that treat "absent" as a value.
 *
 * The per-site helpers are synchronous on purpose: a batch does a dozen small file operations per
 * site for thousands of sites, and through libuv's thread pool each one cost several times its
 * synchronous price (a profile of 1,000 new homes: 4.2 s against 0.4 s). Callers yield to the event
 * loop between sites (yieldEvery), so timers such as the agent's heartbeat still run during a batch.
 */
import { randomBytes } from 'node:crypto';
import fss from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

/** Temp files we create next to their target: `.<name>.<pid>.<random>.tmp`. */
const TEMP_FILE = /^\.(.+)\.([0-9]+)\.[0-9a-f]{12}\.tmp$/;

/**
 * Writes a file so readers (nginx, php-fpm) see the old or the new content, never a torn one: temp
 * file in the same directory, rename over the target. There is no fsync per file (a batch writes
 * thousands): after a power loss the agent re-applies every object on start and rewrites any file
 * whose content is not the desired one, and start() tests the set before nginx runs it.
 */
export function writeAtomic(target: string, content: string, mode = 0o644): void {
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    fss.writeFileSync(temp, content, { encoding: 'utf8', mode, flag: 'wx' });
    fss.renameSync(temp, target);
  } catch (err) {
    fss.rmSync(temp, { force: true });
    throw err;
  }
}

/** The file's text, or null when it does not exist. */
export function readOrNull(file: string): string | null {
  try {
    return fss.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Restores a file to what it was: the old text, or no file when there was none. */
export function restoreFile(target: string, previous: string | null): void {
  if (previous === null) fss.rmSync(target, { force: true });
  else writeAtomic(target, previous);
}

/** A crash between creating a temp file and renaming it leaves the file behind; this removes ours. */
export async function removeStaleTempFiles(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = TEMP_FILE.exec(name);
    if (!m) continue;
    const pid = Number(m[2]);
    if (pid !== process.pid && processAlive(pid)) continue;
    await fs.rm(path.join(dir, name), { force: true });
  }
}

export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function exists(file: string): boolean {
  return fss.existsSync(file) || isDanglingLink(file);
}

function isDanglingLink(file: string): boolean {
  try {
    fss.lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

/** Every `every` items, a turn of the event loop. */
export async function yieldEvery(index: number, every = 32): Promise<void> {
  if (index % every === every - 1) await new Promise((resolve) => setImmediate(resolve));
}

/** UTC stamp for archive names: 20261206T194500Z. */
export function utcStamp(at: Date): string {
  return at.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}
