#!/usr/bin/env node
// `npm start`: the build check of scripts/build.mjs, then the CLI in this same process, so a start of
// an unchanged tree costs one Node start rather than two (npm's own is on top).
//
//   node scripts/start.mjs serve [options]     what `npm start -- [options]` runs
import path from 'node:path';
import { ensureBuilt } from './build.mjs';

ensureBuilt({ ifStale: true });
const main = path.resolve(import.meta.dirname, '..', 'dist', 'main.js');
process.argv = [process.argv[0], main, ...process.argv.slice(2)];
await import(main);
