/**
 * File helpers of the web role: atomic replacement, reads that treat "absent" as a value.
 *
 * The per-site helpers are synchronous on purpose: a batch does a dozen small file operations per
 * site for thousands of sites, and through libuv's thread pool each one cost several times its
 * synchronous price (a profile of 1,000 new homes: 4.2 s against 0.4 s). Callers yield to the event
 * loop between sites (yieldEvery), so timers such as the agent's heartbeat still run during a batch.
 */
import fss from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

/** Temp files we create next to their target: `.<name>.<pid>.<random>.tmp`. */
const TEMP_FILE = /^\.(.+)\.([0-9]+)\.[0-9a-f]{12}\.tmp$/;

let tempCount = 0;

/**
 * Writes a file so readers (nginx, php-fpm) see the old or the new content, never a torn one: temp
 * file in the same directory, rename over the target. There is no fsync per file (a batch writes
 * thousands): after a power loss the agent re-applies every object on start and rewrites any file
 * whose content is not the desired one, and start() tests the set before nginx runs it.
 */
export function writeAtomic(target: string, content: string, mode = 0o644): void {
  // The pid and a count of this process's temp files make the name unique: no random bytes needed.
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${(tempCount++).toString(16).padStart(12, '0')}.tmp`);
  try {
    fss.writeFileSync(temp, content, { encoding: 'utf8', mode, flag: 'wx' });
    fss.renameSync(temp, target);
  } catch (err) {
    fss.rmSync(temp, { force: true });
    throw err;
  }
}

/**
 * Writes a file where there was none: in place, failing if one appeared meanwhile (then it is
 * replaced atomically). No temp file and rename are needed: nginx and php-fpm read the site files
 * only when the driver tests or reloads, after a batch's writes, and what a crash can leave is an
 * empty or short new file, which start() tests (set aside when refused) and the re-apply of every
 * object on start rewrites, since its text is not the desired one.
 */
export function writeNew(target: string, content: string, mode = 0o644): void {
  try {
    fss.writeFileSync(target, content, { encoding: 'utf8', mode, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    writeAtomic(target, content, mode);
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

/**
 * What a directory holds, read once for a large batch: for thousands of new sites, knowing from one
 * listing that a file is absent replaces a failed open or stat per file, each of which costs Node an
 * exception (about 25-30 us of CPU on the bench machine, against a few ms to list 1,000 entries).
 * Without a listing (small batches, where listing a directory of 10,000 sites would cost more than
 * it saves) every question goes to the file system. A listing is only true while nothing else writes
 * the directory: the driver's batches are serial and it alone writes these directories.
 */
export class DirListing {
  private constructor(
    private readonly dir: string,
    private readonly names: Set<string> | null,
  ) {}

  /** Lists `dir` when `list` is true (a missing directory lists as empty). */
  static of(dir: string, list: boolean): DirListing {
    if (!list) return new DirListing(dir, null);
    try {
      return new DirListing(dir, new Set(fss.readdirSync(dir)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new DirListing(dir, new Set());
      throw err;
    }
  }

  /** Whether the directory was listed (else every question goes to the file system). */
  listed(): boolean {
    return this.names !== null;
  }

  path(name: string): string {
    return path.join(this.dir, name);
  }

  /** Whether an entry of that name exists (a dangling link counts). */
  has(name: string): boolean {
    return this.names ? this.names.has(name) : exists(path.join(this.dir, name));
  }

  /** The text of the file of that name, or null when there is none. */
  read(name: string): string | null {
    return this.names && !this.names.has(name) ? null : readOrNull(path.join(this.dir, name));
  }

  /** Removes the entry of that name if there is one (not a directory). */
  remove(name: string): void {
    if (this.names && !this.names.has(name)) return;
    fss.rmSync(path.join(this.dir, name), { force: true });
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
