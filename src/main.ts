import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import vm from 'node:vm';

// Every entry point (npm start, bin/hostplane) runs the CLI facade through this file. The build bundles
// the CLI and everything it imports into one CommonJS file (dist/hostplane.cjs, see scripts/bundle.mjs)
// because resolving and compiling some 600 ES modules one by one was about a second of every start.
// It is compiled here with V8's code cache (ADR 0018): a start reuses the bytecode a previous start of
// the same command made, instead of parsing 4 MB of JavaScript and compiling each function again.

// The embedded database is WebAssembly. V8 first runs each function with its baseline compiler and
// recompiles the busy ones with its optimizing one once they have run a budget of code; PostgreSQL's
// start-up runs enough to send hundreds of functions to the optimizer, which doubled PGlite's start-up
// CPU. A budget ten times V8's default leaves the start on baseline code; functions that stay busy
// under load are still optimized. Set before anything is compiled: the code cache records V8's flags.
setFlagsFromString('--wasm-tiering-budget=18000000');

type Main = (argv: string[]) => Promise<void>;

const BUNDLE = path.join(import.meta.dirname, 'hostplane.cjs');
const CACHE_DIR = path.join(import.meta.dirname, '.cache');
// Long-running commands save their cache this long after they started, once their start-up code has
// run (and before V8 may flush the bytecode of functions that ran only then); others when they exit.
const SAVE_AFTER_MS = 2000;

const argv = process.argv.slice(2);
const { main, saveCache } = loadBundle() ?? { main: ((await import('./cli-main.js')) as { main: Main }).main };
await main(argv);
if (saveCache) {
  process.once('exit', saveCache);
  setTimeout(saveCache, SAVE_AFTER_MS).unref();
}

/**
 * The bundle's `main`, compiled with the code cache when there is a valid one; undefined without a
 * bundle (a tree compiled by tsc alone), whose modules are then imported as they are.
 */
function loadBundle(): { main: Main; saveCache?: () => void } | undefined {
  let source: string;
  try {
    source = fs.readFileSync(BUNDLE, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  // V8 checks only the source's length against a cache, not its text, so the file name carries a hash
  // of the source; and one per command, since each runs different code (a cache made by a one-line
  // admin command would lack the server's functions). The flags are part of it as V8 refuses a cache
  // made under other flags.
  const command = /^[a-z][a-z-]*$/.test(argv[0] ?? '') ? argv[0] : 'other';
  const key = createHash('sha256')
    .update(source)
    .update(`\0${process.version}\0${process.arch}\0${process.execArgv.join(' ')}\0${process.env.NODE_OPTIONS ?? ''}`)
    .digest('hex')
    .slice(0, 24);
  const cacheFile = path.join(CACHE_DIR, `hostplane-${command}-${key}.bin`);
  let cachedData: Buffer | undefined;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    // none yet
  }
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: BUNDLE,
    ...(cachedData ? { cachedData } : {}),
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const module = { exports: {} as { main?: Main } };
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(BUNDLE), module, BUNDLE, import.meta.dirname);
  if (typeof module.exports.main !== 'function') throw new Error(`${BUNDLE} does not export main`);
  let saved = cachedData !== undefined && !script.cachedDataRejected;
  return {
    main: module.exports.main,
    saveCache: () => {
      if (saved) return;
      saved = true;
      // Beside the code it caches, with the same owner: nobody who could not change dist/ can plant a
      // cache here. A read-only installation simply runs without one.
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      try {
        fs.mkdirSync(CACHE_DIR, { recursive: true });
        fs.writeFileSync(tmp, script.createCachedData());
        fs.renameSync(tmp, cacheFile);
      } catch {
        fs.rmSync(tmp, { force: true });
      }
    },
  };
}
