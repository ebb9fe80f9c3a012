import fs from 'node:fs';
import path from 'node:path';
import type { AgentLog } from './agent-log.js';

/**
 * The retention of `<data dir>/archives/`: what the roles archive before they remove something (a
 * deleted site's home, a dropped database's dump) is kept as many days as the control plane's
 * clean-up policy says (`archiveRetentionDays`, from `HOSTPLANE_NODE_ARCHIVE_DAYS`), then removed.
 * Absent or 0 keeps everything. Files still being written are named with a leading dot and renamed
 * when whole, so they are never taken; nor is anything but a regular file directly in the folder.
 */
export function pruneArchives(dataDir: string, retentionDays: number | undefined, now: Date, log: AgentLog): string[] {
  if (!retentionDays || retentionDays <= 0) return [];
  const dir = path.join(dataDir, 'archives');
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const before = now.getTime() - retentionDays * 86_400_000;
  const removed: string[] = [];
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const file = path.join(dir, name);
    const st = fs.lstatSync(file, { throwIfNoEntry: false });
    if (!st?.isFile() || st.mtimeMs >= before) continue;
    fs.rmSync(file, { force: true });
    removed.push(name);
  }
  if (removed.length) log.info({ removed: removed.length, retentionDays, files: removed.slice(0, 20) }, 'old archives removed');
  return removed;
}
