#!/usr/bin/env node
// Bundles the CLI (src/cli-main.ts and everything it imports, the server included) into one CommonJS
// file, dist/hostplane.cjs, which dist/main.js compiles with V8's code cache (ADR 0018). A step of
// `npm run build` (build:steps), after tsc: the compiled modules in dist/ stay for the other bins and
// the benchmarks.
//
// The bundle follows the imports, so whatever the CLI comes to import is in it without a list here.
// Inside the bundle a dependency's __dirname would be dist/; packages that find their own files with
// it (Swagger UI's page, pino's workers) get their installed directory instead (dependencyDirname).
// The only package left outside is PGlite, which loads files next to its ES modules (import.meta.url).
import fs from 'node:fs';
import path from 'node:path';
import { rolldown } from 'rolldown';

const root = path.resolve(import.meta.dirname, '..');
const dist = path.join(root, 'dist');

const EXTERNAL = [
  // Its WebAssembly module, file-system bundle and extensions, found from its own directory.
  /^@electric-sql\/pglite(\/|$)/,
];

/**
 * Gives a bundled CommonJS module of node_modules that uses __dirname or __filename the values it
 * would have unbundled, found at run time from where the package is installed then (the bundle may be
 * built in one place and installed in another, where npm may have laid node_modules out differently).
 */
const dependencyDirname = {
  name: 'dependency-dirname',
  transform(code, id) {
    const rel = path.relative(root, id).split(path.sep);
    if (rel[0] !== 'node_modules') return null;
    // An ES module of a dependency finding its files from import.meta would need the same; none does.
    if (/\bimport\.meta\b/.test(code)) throw new Error(`${id}: import.meta in a bundled dependency; leave it external`);
    if (!/\b__(dirname|filename)\b/.test(code)) return null;
    const depth = rel[1].startsWith('@') ? 3 : 2;
    if (rel.slice(depth).includes('node_modules')) throw new Error(`${id}: __dirname in a nested dependency`);
    const pkg = rel.slice(1, depth).join('/');
    const sub = rel.slice(depth, -1).join('/');
    const file = rel[rel.length - 1];
    return {
      code: `var __dirname = __hostplaneDependencyDir(${JSON.stringify(pkg)}, ${JSON.stringify(sub)}), __filename = require("node:path").join(__dirname, ${JSON.stringify(file)});\n${code}`,
      map: null,
    };
  },
};

// Where a package is installed, searched the way require() would from the bundle's directory.
const BANNER = `function __hostplaneDependencyDir(pkg, sub) {
  const path = require("node:path"), fs = require("node:fs");
  for (const dir of require.resolve.paths(pkg) ?? []) {
    if (fs.existsSync(path.join(dir, pkg, "package.json"))) return path.join(dir, pkg, sub);
  }
  throw new Error("cannot find the installed package " + pkg);
}`;

const problems = [];
const bundle = await rolldown({
  cwd: root,
  input: path.join(root, 'src', 'cli-main.ts'),
  platform: 'node',
  tsconfig: path.join(root, 'tsconfig.build.json'),
  external: EXTERNAL,
  plugins: [dependencyDirname],
  onLog(level, log) {
    // A dependency's optional peer (pg-native) is required inside a try at run time: not an error.
    if (log.code === 'UNRESOLVED_IMPORT' && /pg-native/.test(log.message)) return;
    if (level === 'warn') problems.push(log.message);
    else if (level !== 'debug') process.stderr.write(`bundle: ${log.message}\n`);
  },
});
await bundle.write({
  file: path.join(dist, 'hostplane.cjs'),
  format: 'cjs',
  codeSplitting: false,
  sourcemap: true,
  banner: BANNER,
  // V8 keeps the source of every script it runs. One character past Latin-1 (a dash in a comment)
  // makes it keep all 4 MB as two bytes a character: escaped and without comments it is 3.7 MB of one.
  charset: 'ascii',
  comments: { legal: true, annotation: false, jsdoc: false },
});
await bundle.close();
// Caches of the previous bundle can never match again.
fs.rmSync(path.join(dist, '.cache'), { recursive: true, force: true });
if (problems.length) {
  // A warning here is a module the bundle may run differently from Node (import.meta in CommonJS, say).
  process.stderr.write(problems.map((m) => `bundle: ${m}\n`).join(''));
  process.exit(1);
}
