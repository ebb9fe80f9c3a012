// Row 4, installed: the package `npm pack` makes, installed into an empty directory with npm as an
// operator would (test/package/pack.test.ts checks that it works; this times it). Issue 14: "a start
// of an installed tree reaches its first 200 within 2 s". The first start there makes the data dir and
// the code cache (dist/.cache is not shipped); the restarts after it are what an operator waits for
// after an upgrade or a reboot.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const INSTALLED_RESTART_MS = 2000;
const RESTARTS = 3;

/** The environment of the target machine: nothing of an outer npm run, nor the developer's settings. */
function targetEnv(env, extra) {
  const out = {};
  for (const [k, v] of Object.entries(env)) if (!/^(npm_|HOSTPLANE_|DATABASE_URL$|PORT$|HOST$|NODE_OPTIONS$)/i.test(k)) out[k] = v;
  out.PATH = `${path.dirname(process.execPath)}${path.delimiter}${env.PATH ?? ''}`;
  return { ...out, ...extra };
}

/** ctx: as embeddedStartRows's, plus root (the repository). */
export async function embeddedInstalledRows(ctx) {
  const { fmt, median, log } = ctx;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hostplane-bench-installed-'));
  ctx.tempDirs.push(tmp);
  const packDir = path.join(tmp, 'pack');
  const app = path.join(tmp, 'app');
  fs.mkdirSync(packDir);
  fs.mkdirSync(app);
  const npmEnv = targetEnv(process.env, {});
  const t0 = performance.now();
  const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', packDir], { cwd: ctx.root, env: npmEnv, maxBuffer: 64 * 1024 * 1024 }).toString());
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'hostplane-target', private: true }));
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', path.join(packDir, packed[0].filename)], { cwd: app, env: npmEnv, stdio: 'ignore' });
  log(`embedded installed: packed and installed in ${fmt.ms(performance.now() - t0)}`);
  const bin = path.join(app, 'node_modules', '.bin', 'hostplane');
  const env = targetEnv(ctx.env, { PORT: String(ctx.port), HOST: '127.0.0.1', HOSTPLANE_DATA_DIR: path.join(app, 'data'), HOSTPLANE_LOG_LEVEL: 'warn' });
  const start = async () => {
    const t = performance.now();
    const child = ctx.startProcess('hostplane-installed', ['serve'], env, bin);
    return { child, ms: (await ctx.waitHealthy(child, ctx.port, 60_000, 5)) - t };
  };
  const stop = async (child) => {
    const { code } = await ctx.stopProcess(child);
    if (code !== 0) throw new Error(`installed server exited with ${code} on SIGTERM`);
  };
  const first = await start();
  await new Promise((r) => setTimeout(r, 2500)); // its code cache is written 2 s after the start
  await stop(first.child);
  const times = [];
  for (let i = 0; i < RESTARTS; i++) {
    const { child, ms } = await start();
    times.push(ms);
    await stop(child);
  }
  const ms = median(times);
  log(`embedded installed: first start ${fmt.ms(first.ms)}, restarts ${times.map((t) => t.toFixed(0)).join('/')} ms`);
  ctx.addRow(4, 'Embedded, installed package: restart to first 200', fmt.ms(ms), '-', ms / INSTALLED_RESTART_MS, `<= ${INSTALLED_RESTART_MS} ms`, ms <= INSTALLED_RESTART_MS);
  ctx.notes.push({
    order: 4,
    text:
      `Embedded, installed package: \`npm pack\` of this tree installed with \`npm install --prefer-offline\` into an empty directory, started as node_modules/.bin/hostplane serve (its own data dir); ` +
      `first start there ${fmt.ms(first.ms)} (new data dir, no code cache yet), then the median of ${RESTARTS} restarts (${times.map((t) => t.toFixed(0)).join(', ')} ms) to the first 200 of /healthz.`,
  });
}
