import fs from 'node:fs';

export class DataDirInUseError extends Error {
  /** Lets the CLI recognise it without importing the database layer. */
  readonly code = 'HP_DATA_DIR_IN_USE';
  constructor(
    readonly lockFile: string,
    readonly pid: number,
  ) {
    super(`the embedded database is in use by process ${pid} (${lockFile}); stop that process first, or use a PostgreSQL server (DATABASE_URL)`);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * When a process started, in clock ticks since boot (Linux); undefined elsewhere. A pid alone can be
 * reused: a lock left by a killed server whose pid now belongs to another process is still stale.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses; the fields after its last ")" do not.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Whether the process that wrote `content` (`<pid>` or `<pid> <start time>`) still runs. */
function ownerRuns(content: string): number | undefined {
  const [pidText, started] = content.trim().split(/\s+/);
  const pid = Number(pidText);
  // Our own pid in a lock we do not hold is a leftover: containers restart with the same pid.
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || !alive(pid)) return undefined;
  if (started !== undefined) {
    const now = processStartTime(pid);
    if (now !== undefined && now !== started) return undefined;
  }
  return pid;
}

/**
 * PGlite is one process's database: a second process opening the same data dir (say `db migrate`
 * or a second `serve` while the server runs) would corrupt it. A lock file holding the owner's pid
 * and start time keeps it to one; the second opener fails at once with DataDirInUseError (the CLI's
 * exit code 7), even when the owner is stopped or hung, as taking over a live owner's data would
 * corrupt it. A lock left by a process that no longer runs (killed, or its pid reused) is taken over.
 */
const heldHere = new Set<string>();

export function lockDataDir(dataDir: string): () => void {
  const lockFile = `${dataDir}.lock`;
  if (heldHere.has(lockFile)) throw new DataDirInUseError(lockFile, process.pid);
  const started = processStartTime(process.pid);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lockFile, started ? `${process.pid} ${started}` : String(process.pid), { flag: 'wx', mode: 0o600 });
      heldHere.add(lockFile);
      return () => {
        heldHere.delete(lockFile);
        fs.rmSync(lockFile, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = ownerRuns(fs.readFileSync(lockFile, 'utf8'));
      if (owner !== undefined) throw new DataDirInUseError(lockFile, owner);
      fs.rmSync(lockFile, { force: true });
    }
  }
  throw new Error(`cannot lock ${dataDir}`);
}
