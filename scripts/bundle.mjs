#!/usr/bin/env node
// Bundles the CLI (src/cli-main.ts and everything it imports, the server included) into one CommonJS
// file, dist/hostplane.cjs, which dist/main.js compiles with V8's code cache (ADR 0018). A step of
// `npm run build` (build:steps), after tsc: the compiled modules in dist/ stay for the other bins and
// the benchmarks.
//
// The bundle follows the imports, so whatever the CLI comes to import is in it without a list here.
// The only packages left outside are those that read their own files at run time, next to their code.
import fs from 'node:fs';
import path from 'node:path';
import { rolldown } from 'rolldown';

const root = path.resolve(import.meta.dirname, '..');
const dist = path.join(root, 'dist');

const EXTERNAL = [
  // Its WebAssembly module, file-system bundle and extensions, found from its own directory.
  /^@electric-sql\/pglite(\/|$)/,
  // Swagger UI's static files, served from its own directory.
  /^@fastify\/swagger-ui(\/|$)/,
];

const problems = [];
const bundle = await rolldown({
  cwd: root,
  input: path.join(root, 'src', 'cli-main.ts'),
  platform: 'node',
  tsconfig: path.join(root, 'tsconfig.build.json'),
  external: EXTERNAL,
  onLog(level, log) {
    // A dependency's optional peer (pg-native) is required inside a try at run time: not an error.
    if (log.code === 'UNRESOLVED_IMPORT' && /pg-native/.test(log.message)) return;
    if (level === 'warn') problems.push(log.message);
    else if (level !== 'debug') process.stderr.write(`bundle: ${log.message}\n`);
  },
});
await bundle.write({ file: path.join(dist, 'hostplane.cjs'), format: 'cjs', codeSplitting: false, sourcemap: true });
await bundle.close();
// Caches of the previous bundle can never match again.
fs.rmSync(path.join(dist, '.cache'), { recursive: true, force: true });
if (problems.length) {
  // A warning here is a module the bundle may run differently from Node (import.meta in CommonJS, say).
  process.stderr.write(problems.map((m) => `bundle: ${m}\n`).join(''));
  process.exit(1);
}
