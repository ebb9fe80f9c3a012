// CPU and memory figures read from /proc (Linux).
import fs from 'node:fs';

/** VmRSS / VmHWM of a process in bytes. */
export function memOf(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** Resets VmHWM to the current RSS (Linux >= 4.0, same user); false when the kernel refuses. */
export function resetPeak(pid) {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** CPU seconds (user + system) a process has used so far; with reaped children's when asked. */
const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux x86_64

export function cpuSeconds(pid, withChildren = false) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12]) + (withChildren ? Number(f[13]) + Number(f[14]) : 0)) / CLK_TCK;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds of every PostgreSQL process on the machine, by pid (the server runs locally),
 * including exited backends (the postmaster's reaped children).
 */
export function postgresCpu() {
  const out = new Map();
  for (const e of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(e)) continue;
    try {
      const s = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      if (s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')) !== 'postgres') continue;
      out.set(e, cpuSeconds(e, true));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
/** Busy CPU seconds of the whole machine so far (all cores), from /proc/stat. */
export function machineBusy() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = f;
  return (user + nice + system + irq + softirq + steal) / CLK_TCK;
}
export const postgresCpuSince = (before) => {
  let sum = 0;
  for (const [pid, v] of postgresCpu()) sum += v - (before.get(pid) ?? 0);
  return sum;
};
