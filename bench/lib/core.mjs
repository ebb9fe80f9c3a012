// Constants every row shares, BENCH_ROWS, and the bench's clock and log.
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const HOST = '127.0.0.1';
export const CONNECTIONS = 10;
export const WARMUP_S = 2;
export const ROUND_S = 3;
export const ROUNDS = 4;
export const RELAY_HOSTS = 'relay1.hostplane.test,relay2.hostplane.test';
export const RELAY_STEP = 10;
export const PACKAGE_UID = 'spamstopshere-standard';

export const ONLY_ROWS = process.env.BENCH_ROWS ? new Set(process.env.BENCH_ROWS.split(',').map(Number)) : undefined;
export const want = (row) => !ONLY_ROWS || ONLY_ROWS.has(row);

export const startedAt = performance.now();
export const loadAtStart = os.loadavg()[0];
export const log = (msg) => process.stderr.write(`bench [${((performance.now() - startedAt) / 1000).toFixed(1)}s] ${msg}\n`);
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
