import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, runBin, tempDir } from './cli-harness.js';

// The in-process commands, end to end on an embedded database of their own: migrate it, serve it, and
// let the admin commands find the operator key that serve wrote into the data directory.
const tmp = tempDir();
const dataDir = path.join(tmp.dir, 'data');
let server: ChildProcess | undefined;
afterAll(() => {
  server?.kill('SIGKILL');
  tmp.remove();
});

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('db migrate and serve', () => {
  it('migrates an empty data directory, then finds nothing left to do', async () => {
    // Creating an embedded database from nothing (initdb) is the slow part of this suite.
    const first = await runBin(['db', 'migrate', '--json'], { HOSTPLANE_DATA_DIR: dataDir }, 80_000);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({ applied: expect.arrayContaining(['0001-initial']) });
    const again = await runBin(['db', 'migrate'], { HOSTPLANE_DATA_DIR: dataDir });
    expect(again).toMatchObject({ code: 0, stdout: 'database is up to date\n' });
  }, 90_000);

  it('reports a bad setting with exit code 1 before touching anything', async () => {
    const r = await runBin(['db', 'migrate'], { HOSTPLANE_DATA_DIR: dataDir, DATABASE_URL: 'mysql://nope' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('hostplane: invalid configuration');
    expect(r.stderr).toContain('DATABASE_URL: must be a postgres:// or postgresql:// URL');
  });

  it('serves, loads the demo into the empty embedded database, writes the operator key the admin commands then read, and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const child = spawn(process.execPath, [BIN, 'serve'], {
      env: { PATH: process.env.PATH ?? '', HOSTPLANE_DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: String(port), HOSTPLANE_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    server = child;
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('API reference:')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`serve exited early (${code}): ${stderr}`)));
    });
    const keyFile = path.join(dataDir, 'operator-key');
    expect(stderr).toContain(`Operator API key written to ${keyFile}`);
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);

    // The demo reseller's credentials are printed, saved, and work on the reseller API.
    const demo = JSON.parse(fs.readFileSync(path.join(dataDir, 'demo-reseller.json'), 'utf8')) as { api_token: string; api_key: string };
    expect(stderr).toContain(`API token: ${demo.api_token}`);
    expect(stderr).toContain(`API key:   ${demo.api_key}`);
    const packages = await fetch(`${url}/v1/packages/by_tag/cpanel`, { headers: { authorization: `Basic ${Buffer.from(`${demo.api_token}:${demo.api_key}`).toString('base64')}` } });
    expect(packages.status).toBe(200);
    expect(((await packages.json()) as unknown[]).length).toBe(3);

    const env = { HOSTPLANE_URL: url, HOSTPLANE_DATA_DIR: dataDir };
    const list = await runBin(['reseller', 'list', '--json'], env);
    expect(list.code, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout) as { username: string }[]).map((r) => r.username)).toEqual(['demo-reseller']);
    const seeded = await runBin(['seed', '--demo', '--json'], env);
    expect(seeded.code, seeded.stderr).toBe(0);
    expect(JSON.parse(seeded.stdout)).toEqual({ created: false });

    // The running server holds the embedded database; a second process may not open it.
    const busy = await runBin(['db', 'migrate'], { HOSTPLANE_DATA_DIR: dataDir });
    expect(busy.code).toBe(7); // the database is unavailable to this process
    expect(busy.stderr).toContain(`the embedded database is in use by process ${child.pid}`);

    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    server = undefined;
    const gone = await runBin(['package', 'list'], env);
    expect(gone.code).toBe(7);
  });
});
