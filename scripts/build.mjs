#!/usr/bin/env node
// Builds dist/ (server and web console) and records a stamp of the sources it was built from, so that
// `npm start`, `npm test` and `npm run bench` rebuild only when something changed.
//
//   node scripts/build.mjs             build now (npm run build)
//   node scripts/build.mjs --if-stale  build only when the sources differ from the stamp (prepare, pretest, bench)
//
// `npm start` runs scripts/start.mjs, which makes the same check in the server's own process.
//
// The steps themselves are the package.json script build:steps.
//
// The stamp is a content hash, not a set of mtimes: a checkout, a copy or `touch` that leaves the text as
// it was costs no build, and an edit that keeps the mtime (a restored backup) still causes one. Hashing
// the ~2 MB of sources takes a few milliseconds; the check is dominated by Node's own start-up.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(import.meta.dirname, '..');
const dist = path.join(root, 'dist');
const stampFile = path.join(dist, '.build-stamp');
const lockFile = path.join(dist, '.build-lock');

// What the build reads. web/generated is the build's own output (from dist/openapi-export.js).
const INPUT_DIRS = ['src', 'web'];
const SKIP_DIRS = new Set(['web/generated', 'web/node_modules']);
const INPUT_FILES = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts/bundle.mjs'];
// What a start needs (and the console's type check, the generated client); a stamp without them
// (dist/ or web/generated partly deleted) is not trusted.
const OUTPUTS = ['dist/main.js', 'dist/hostplane.cjs', 'dist/console/index.html', 'web/generated/schema.d.ts'];
// An installed package has no web/: dist/ is all it runs.
const PACKAGE_OUTPUTS = OUTPUTS.filter((f) => f.startsWith('dist/'));

function listFiles(rel, out) {
  let entries;
  try {
    entries = fs.readdirSync(path.join(root, rel), { withFileTypes: true });
  } catch (e) {
    if (e.code === 'ENOENT') return;
    throw e;
  }
  for (const entry of entries) {
    const child = `${rel}/${entry.name}`;
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(child)) listFiles(child, out);
    } else if (entry.isFile()) out.push(child);
  }
}

/** One hash over every input's path and content, in a stable order. */
function fingerprint() {
  const files = [];
  for (const dir of INPUT_DIRS) listFiles(dir, files);
  for (const file of INPUT_FILES) if (fs.existsSync(path.join(root, file))) files.push(file);
  files.sort();
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(file);
    hash.update('\0');
    hash.update(fs.readFileSync(path.join(root, file)));
    hash.update('\0');
  }
  return `${hash.digest('hex')} ${files.length}`;
}

function readStamp() {
  try {
    return fs.readFileSync(stampFile, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function isFresh(print) {
  return readStamp() === print && OUTPUTS.every((f) => fs.existsSync(path.join(root, f)));
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * One build at a time per tree: two starts at once (or a start while `npm test` builds) would otherwise
 * run two vite builds into the same dist/console. A lock whose process is gone is taken over.
 */
function acquireLock() {
  fs.mkdirSync(dist, { recursive: true });
  let told = false;
  for (;;) {
    try {
      fs.writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      return;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
    }
    const owner = Number.parseInt(fs.readFileSync(lockFile, 'utf8'), 10);
    if (!Number.isInteger(owner) || !alive(owner)) {
      fs.rmSync(lockFile, { force: true });
      continue;
    }
    if (!told) process.stderr.write(`build: waiting for the build already running (pid ${owner})\n`);
    told = true;
    sleep(250);
  }
}

function releaseLock() {
  try {
    if (fs.readFileSync(lockFile, 'utf8') === String(process.pid)) fs.rmSync(lockFile);
  } catch {
    // already gone
  }
}

function run(script) {
  // Through the npm that started us (npm_execpath), so the steps stay readable in package.json.
  const npmCli = process.env.npm_execpath;
  const [cmd, args] = npmCli && /\.c?js$/.test(npmCli) ? [process.execPath, [npmCli, 'run', script]] : ['npm', ['run', script]];
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    releaseLock();
    process.exit(r.status ?? 1);
  }
}

function build(print) {
  fs.rmSync(stampFile, { force: true }); // a build that fails half-way leaves no stamp behind
  run('build:steps');
  fs.writeFileSync(stampFile, `${print}\n`);
}

/** Builds (or, with ifStale, only when the sources changed); exits the process when the build fails. */
export function ensureBuilt({ ifStale }) {
  if (!fs.existsSync(path.join(root, 'src'))) {
    // An installed package: dist/ came built and there is nothing to build it from.
    if (PACKAGE_OUTPUTS.every((f) => fs.existsSync(path.join(root, f)))) return;
    process.stderr.write('build: no src/ to build from and no built dist/; reinstall the package\n');
    process.exit(1);
  }
  let print = fingerprint();
  if (ifStale && isFresh(print)) return;
  acquireLock();
  try {
    // Another process may have built these very sources while we waited; the fingerprint is taken
    // before the build, so an edit made while it runs leaves the stamp stale and the next start rebuilds.
    print = fingerprint();
    if (ifStale && isFresh(print)) return;
    if (ifStale) process.stderr.write('build: sources changed since the last build; building\n');
    build(print);
  } finally {
    releaseLock();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) ensureBuilt({ ifStale: process.argv.includes('--if-stale') });
