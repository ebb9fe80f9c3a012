import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDb } from '../../src/db/database.js';
import { DataDirInUseError } from '../../src/db/data-dir-lock.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hostplane-lock-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('embedded data dir lock', () => {
  it('refuses a second opener while the first holds the database, and frees it on close', async () => {
    const dir = path.join(tmp, 'a');
    const first = await createDb({ dataDir: dir });
    await expect(createDb({ dataDir: dir })).rejects.toBeInstanceOf(DataDirInUseError);
    expect(fs.readFileSync(`${dir}.lock`, 'utf8').split(' ')[0]).toBe(String(process.pid));
    await first.close();
    expect(fs.existsSync(`${dir}.lock`)).toBe(false);
    const again = await createDb({ dataDir: dir });
    await again.close();
  }, 60_000);

  it('names the live process that holds it', async () => {
    const dir = path.join(tmp, 'b');
    const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      fs.writeFileSync(`${dir}.lock`, String(holder.pid));
      const err = await createDb({ dataDir: dir }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DataDirInUseError);
      expect((err as Error).message).toContain(`in use by process ${holder.pid}`);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('takes over a lock left by a process that is gone', async () => {
    const dir = path.join(tmp, 'c');
    const gone = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await new Promise((resolve) => gone.once('exit', resolve));
    fs.writeFileSync(`${dir}.lock`, String(gone.pid));
    const handle = await createDb({ dataDir: dir });
    expect(fs.readFileSync(`${dir}.lock`, 'utf8').split(' ')[0]).toBe(String(process.pid));
    await handle.close();
  }, 60_000);
});
