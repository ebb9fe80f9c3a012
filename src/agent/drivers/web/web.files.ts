/** File helpers of the web role: atomic replacement, reads that treat "absent" as a value. */
import { randomBytes } from 'node:crypto';
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
export async function writeAtomic(target: string, content: string, mode = 0o644): Promise<void> {
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await fs.open(temp, 'wx', mode);
    try {
      await handle.writeFile(content, 'utf8');
    } finally {
      await handle.close();
    }
    await fs.rename(temp, target);
  } catch (err) {
    await fs.rm(temp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/** The file's text, or null when it does not exist. */
export async function readOrNull(file: string): Promise<string | null> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Restores a file to what it was: the old text, or no file when there was none. */
export async function restoreFile(target: string, previous: string | null): Promise<void> {
  if (previous === null) await fs.rm(target, { force: true });
  else await writeAtomic(target, previous);
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

export async function exists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** UTC stamp for archive names: 20261206T194500Z. */
export function utcStamp(at: Date): string {
  return at.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}
