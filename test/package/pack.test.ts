import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// The package `npm pack` makes, installed into an empty directory as an operator would, must run the
// server (console, migrations, demo) from node_modules/.bin with no source tree and no build there.
// It does not depend on the database kind, so it runs once, in the embedded project.
const onPostgres = process.env.HOSTPLANE_TEST_DB === 'postgres';
const ROOT = path.resolve(import.meta.dirname, '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hostplane-pack-'));
let server: ChildProcess | undefined;

afterAll(() => {
  server?.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
});

/**
 * The environment of a command run on the "target": none of the npm_* variables an outer `npm test`
 * exports (npm would read them as its own settings, e.g. the repository as its prefix), none of the
 * developer's HOSTPLANE_* or DATABASE_URL.
 */
function targetEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(npm_|HOSTPLANE_|DATABASE_URL$|PORT$|HOST$|NODE_OPTIONS$|VITEST)/i.test(k)) continue;
    env[k] = v;
  }
  // The bins start with `#!/usr/bin/env ... node`: the node running this test.
  env.PATH = `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`;
  return { ...env, ...extra };
}

function run(cmd: string, args: string[], cwd: string, timeoutMs: number, env = targetEnv()): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed (${err.message}):\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function walk(dir: string, out: string[] = []): string[] {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

describe.runIf(!onPostgres)('the npm package', { timeout: 240_000 }, () => {
  it('packs dist/ without sources, installs into an empty directory and serves the console, API and demo from node_modules/.bin', async () => {
    // npm pack runs the prepare script (a no-op here: pretest built these sources) and ships the lockfile as npm-shrinkwrap.json.
    const packDir = path.join(tmp, 'pack');
    fs.mkdirSync(packDir);
    const packed = JSON.parse((await run('npm', ['pack', '--json', '--pack-destination', packDir], ROOT, 120_000)).stdout) as { filename: string; files: { path: string }[] }[];
    const files = packed[0]!.files.map((f) => f.path);
    expect(fs.existsSync(path.join(ROOT, 'npm-shrinkwrap.json')), 'postpack removes the shrinkwrap copy').toBe(false);
    expect(files).toEqual(expect.arrayContaining(['bin/hostplane', 'bin/cpcmd', 'dist/main.js', 'dist/console/index.html', 'dist/db/migrations/0001-initial.js', 'npm-shrinkwrap.json', 'README.md']));
    expect(files.filter((f) => f.startsWith('src/') || f.startsWith('web/') || f.startsWith('test/') || /\.(ts|tsx|map)$/.test(f) || f.includes('.tsbuildinfo') || f.includes('.build-'))).toEqual([]);
    // Every migration the source tree has is in the package.
    const migrations = fs.readdirSync(path.join(ROOT, 'src', 'db', 'migrations')).filter((f) => /^\d{4}-.*\.ts$/.test(f));
    expect(migrations.length).toBeGreaterThan(0);
    for (const m of migrations) expect(files).toContain(`dist/db/migrations/${m.replace(/\.ts$/, '.js')}`);

    // An empty directory, as a target machine would have.
    const app = path.join(tmp, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'hostplane-target', private: true }));
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', path.join(packDir, packed[0]!.filename)], app, 180_000);
    const pkgDir = path.join(app, 'node_modules', 'hostplane');
    expect(fs.existsSync(path.join(pkgDir, 'src'))).toBe(false);
    expect(walk(pkgDir).filter((f) => /\.tsx?$/.test(f))).toEqual([]);
    const bin = path.join(app, 'node_modules', '.bin', 'hostplane');
    expect(fs.lstatSync(bin).isSymbolicLink()).toBe(true);
    // No compiler, bundler or test tool came along: the console's build tools stay in devDependencies.
    for (const dev of ['typescript', 'vite', 'vitest', 'openapi-typescript', 'react']) expect(fs.existsSync(path.join(app, 'node_modules', dev)), dev).toBe(false);

    // As an operator would: `hostplane init` writes ./hostplane.env (data dir ./data beside it), the
    // port is set there, and serve finds the file in its working directory.
    await run(bin, ['init'], app, 30_000);
    const port = await freePort();
    fs.appendFileSync(path.join(app, 'hostplane.env'), `PORT=${port}\nHOST=127.0.0.1\n`);
    const base = `http://127.0.0.1:${port}`;
    const dataDir = path.join(app, 'data');
    let output = '';
    server = spawn(bin, ['serve'], { cwd: app, env: targetEnv({ HOSTPLANE_LOG_LEVEL: 'warn' }), stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    server.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => server!.once('exit', (code) => resolve(code)));

    const deadline = Date.now() + 150_000;
    let ready = false;
    while (!ready && Date.now() < deadline && server.exitCode === null) {
      ready = await fetch(`${base}/readyz`).then((r) => r.status === 200, () => false);
      if (!ready) await new Promise((r) => setTimeout(r, 100));
    }
    expect(ready, `no 200 from /readyz:\n${output}`).toBe(true);

    const page = await fetch(`${base}/console/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const script = /<script[^>]+src="(\/console\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script, html).toBeDefined();
    const asset = await fetch(`${base}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);

    // The demo the first start seeded, through the reseller API (so the migrations ran too).
    const demo = JSON.parse(fs.readFileSync(path.join(dataDir, 'demo-reseller.json'), 'utf8')) as { api_token: string; api_key: string };
    const res = await fetch(`${base}/v1/packages/by_tag/cpanel`, { headers: { authorization: `Basic ${Buffer.from(`${demo.api_token}:${demo.api_key}`).toString('base64')}` } });
    expect(res.status).toBe(200);
    const packages = (await res.json()) as { uid: string }[];
    expect(packages.map((p) => p.uid)).toContain('spamstopshere-standard');
    const denied = await fetch(`${base}/v1/packages/by_tag/cpanel`, { headers: { authorization: `Basic ${Buffer.from(`${demo.api_token}:wrong`).toString('base64')}` } });
    expect(denied.status).toBe(401);

    // The installed CLI as an admin client of it, with the operator key the first start wrote.
    const listed = await run(bin, ['reseller', 'list', '--json'], app, 30_000, targetEnv({ HOSTPLANE_URL: base }));
    expect((JSON.parse(listed.stdout) as { username: string; status: string }[]).map((r) => `${r.username} ${r.status}`)).toEqual(['demo-reseller active']);

    server.kill('SIGTERM');
    expect(await exited).toBe(0);
    server = undefined;

    // And the installation checks out, from the package too.
    const doctor = JSON.parse((await run(bin, ['doctor', '--json'], app, 60_000)).stdout) as { ok: boolean; checks: { check: string; status: string }[] };
    expect(doctor.checks.filter((c) => c.status !== 'ok' && c.check !== 'nodes')).toEqual([]);
    expect(doctor.ok).toBe(true);
  });
});
