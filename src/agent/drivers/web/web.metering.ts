/**
 * Usage of the sites a web driver holds: storage (a bounded walk of the home) and transfer (the
 * `$bytes_sent` of each access-log line, added to a per-site counter that only grows).
 *
 * The counters and each log's read position live in the driver's own state file, replaced
 * atomically after every pass, so a restarted agent neither recounts nor loses bytes beyond the
 * lines of the last unsaved pass. A log that shrank or was replaced (rotation, truncation) is read
 * again from its start.
 */
import fss from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { readOrNull, writeAtomic } from './web.files.js';

interface LogPosition {
  /** Inode of the log the offset belongs to; another inode means the log was rotated. */
  ino: number;
  offset: number;
  transferBytes: number;
}

interface MeteringFile {
  version: 1;
  sites: Record<string, LogPosition>;
}

export interface StorageCount {
  bytes: number;
  entries: number;
  /** False when the walk stopped at its entry cap: `bytes` is then what the visited entries hold. */
  complete: boolean;
}

const READ_CHUNK = 1024 * 1024;

export class WebMetering {
  private state: MeteringFile | null = null;

  constructor(
    private readonly stateFile: string,
    /** Most bytes of one log read per pass; the rest waits for the next pass. */
    private readonly maxReadPerPass = 256 * 1024 * 1024,
  ) {}

  private async load(): Promise<MeteringFile> {
    if (this.state) return this.state;
    const text = readOrNull(this.stateFile);
    let parsed: MeteringFile = { version: 1, sites: {} };
    if (text !== null) {
      try {
        const value = JSON.parse(text) as MeteringFile;
        if (value && value.version === 1 && typeof value.sites === 'object' && value.sites !== null) parsed = value;
      } catch {
        // A state file we cannot read restarts the counters: a smaller value reads as a reset upstream.
      }
    }
    this.state = parsed;
    return parsed;
  }

  async save(): Promise<void> {
    if (!this.state) return;
    writeAtomic(this.stateFile, JSON.stringify(this.state), 0o600);
  }

  /** A deleted site's counter goes with it; a site created again under the name starts at zero. */
  async forget(names: string[]): Promise<void> {
    const state = await this.load();
    let changed = false;
    for (const name of names) {
      if (state.sites[name]) {
        delete state.sites[name];
        changed = true;
      }
    }
    if (changed) await this.save();
  }

  /** Reads what the log gained since the last pass and returns the site's cumulative bytes sent. */
  async transfer(name: string, logFile: string, stillPresent: () => boolean): Promise<number> {
    const state = await this.load();
    const known = state.sites[name] ?? { ino: 0, offset: 0, transferBytes: 0 };
    let stat;
    try {
      stat = await fs.stat(logFile);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return known.transferBytes;
      throw err;
    }
    let offset = known.offset;
    if (stat.ino !== known.ino || stat.size < offset) offset = 0;
    let added = 0;
    if (stat.size > offset) {
      const handle = await fs.open(logFile, 'r');
      try {
        const end = Math.min(stat.size, offset + this.maxReadPerPass);
        const buffer = Buffer.alloc(Math.min(READ_CHUNK, end - offset));
        let carry = '';
        let pos = offset;
        while (pos < end) {
          const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, end - pos), pos);
          if (bytesRead === 0) break;
          pos += bytesRead;
          const text = carry + buffer.toString('latin1', 0, bytesRead);
          const lastNewline = text.lastIndexOf('\n');
          if (lastNewline < 0) {
            carry = text;
            continue;
          }
          added += sumBytesSent(text.slice(0, lastNewline));
          carry = text.slice(lastNewline + 1);
        }
        // A line nginx is still writing is left for the next pass: the offset stops before it.
        offset = pos - Buffer.byteLength(carry, 'latin1');
      } finally {
        await handle.close();
      }
    }
    const next = { ino: stat.ino, offset, transferBytes: known.transferBytes + added };
    if (stillPresent()) state.sites[name] = next;
    return next.transferBytes;
  }
}

/** Sum of the first field (`$bytes_sent`) of complete log lines; lines not starting with a number count 0. */
export function sumBytesSent(lines: string): number {
  let total = 0;
  for (const line of lines.split('\n')) {
    const m = /^(\d{1,15}) /.exec(line);
    if (m) total += Number(m[1]);
  }
  return total;
}

/**
 * Disk use under `root` (allocated blocks, as du counts them), visiting at most `maxEntries` entries.
 * Symbolic links are counted as links, never followed, so a site cannot make us walk elsewhere.
 * Synchronous: a home is a few directory reads, and through the thread pool each cost several
 * times more (see web.files.ts); the driver yields between sites.
 */
export function countStorage(root: string, maxEntries: number): StorageCount {
  let bytes = 0;
  let entries = 0;
  const stack = [root];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    let names: fss.Dirent[];
    try {
      names = fss.readdirSync(dir, { withFileTypes: true });
    } catch {
      // Unreadable or vanished directory: count what we saw.
      continue;
    }
    for (const entry of names) {
      if (entries >= maxEntries) return { bytes, entries, complete: false };
      entries++;
      const full = path.join(dir, entry.name);
      try {
        const st = fss.lstatSync(full);
        bytes += st.blocks * 512;
        if (st.isDirectory()) stack.push(full);
      } catch {
        // Removed while we walked: nothing to count.
      }
    }
  }
  return { bytes, entries, complete: true };
}
