import fs from 'node:fs';

export class DataDirInUseError extends Error {
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
 * PGlite is one process's database: a second process opening the same data dir (say `db migrate`
 * while the server runs) would corrupt it. A lock file holding the owner's pid keeps it to one; a
 * lock left by a process that no longer exists is taken over.
 */
const heldHere = new Set<string>();

export function lockDataDir(dataDir: string): () => void {
  const lockFile = `${dataDir}.lock`;
  if (heldHere.has(lockFile)) throw new DataDirInUseError(lockFile, process.pid);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lockFile, String(process.pid), { flag: 'wx', mode: 0o600 });
      heldHere.add(lockFile);
      return () => {
        heldHere.delete(lockFile);
        fs.rmSync(lockFile, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(fs.readFileSync(lockFile, 'utf8').trim());
      // Our own pid in a lock we do not hold is a leftover: containers restart with the same pid.
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) throw new DataDirInUseError(lockFile, pid);
      fs.rmSync(lockFile, { force: true });
    }
  }
  throw new Error(`cannot lock ${dataDir}`);
}
