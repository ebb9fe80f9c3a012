import fs from 'node:fs';
import os from 'node:os';
import type { HeartbeatRequest } from '../core/nodes/agent-wire.schema.js';

/** What the heartbeat says about the machine: free space where the agent keeps sites, load, CPUs, memory. */
export async function measureCapacity(dataDir: string): Promise<HeartbeatRequest['capacity']> {
  let diskFreeBytes = 0;
  let diskTotalBytes = 0;
  try {
    const s = await fs.promises.statfs(dataDir);
    // bavail, not bfree: what an unprivileged site user can still write.
    diskFreeBytes = s.bavail * s.bsize;
    diskTotalBytes = s.blocks * s.bsize;
  } catch {
    // An unreadable data dir reads as no space; the drivers' health says why.
  }
  return {
    diskFreeBytes,
    diskTotalBytes,
    load1: Math.max(0, os.loadavg()[0] ?? 0),
    cpus: Math.max(1, os.availableParallelism()),
    memFreeBytes: os.freemem(),
  };
}
