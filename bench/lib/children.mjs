// Child processes, the databases and temp dirs the bench creates, and cleanup: every child, database and
// temp dir goes away on any exit path.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import pg from 'pg';
import { ROOT, HOST } from './core.mjs';

const children = new Set();
export const tempDirs = [];
/**
 * Databases the bench created, by stage: { name, adminUrl }. A stage sets its entry right before
 * `create database` and clears it after dropping the database itself; cleanup drops what is left.
 */
export const dbs = {};
/** Async functions cleanup runs once the children are gone, before it drops `dbs` (a stage's own drops that need its database, or roles). */
export const cleanupHooks = [];
let cleaningUp;

export async function cleanup() {
  cleaningUp ??= (async () => {
    await Promise.all([...children].map((c) => stopProcess(c, 5000).catch(() => {})));
    for (const hook of cleanupHooks) {
      try {
        await hook();
      } catch (e) {
        process.stderr.write(`bench: a cleanup step failed: ${e.message}\n`);
      }
    }
    for (const d of Object.values(dbs)) {
      if (!d) continue;
      const admin = new pg.Client({ connectionString: d.adminUrl });
      try {
        await admin.connect();
        await admin.query(`drop database if exists "${d.name}" with (force)`);
      } catch (e) {
        process.stderr.write(`bench: could not drop database ${d.name}: ${e.message}\n`);
      } finally {
        await admin.end().catch(() => {});
      }
    }
    for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  })();
  return cleaningUp;
}

let failed = false;
export function fail(err) {
  if (failed) return; // cleanup itself ends connections; only the first failure is news
  failed = true;
  process.stderr.write(`bench: FAILED: ${err?.stack ?? err}\n`);
  for (const c of children) if (c.logTail) process.stderr.write(`--- last output of ${c.label} ---\n${c.logTail}\n`);
  cleanup().finally(() => process.exit(1));
}

/** Any exit path (signal, uncaught error, time limit) fails the bench and cleans up. */
export function installFailHandlers(timeLimitMs) {
  process.on('SIGINT', () => fail(new Error('interrupted')));
  process.on('SIGTERM', () => fail(new Error('terminated')));
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
  setTimeout(() => fail(new Error(`time limit of ${timeLimitMs / 1000}s exceeded`)), timeLimitMs).unref();
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The environment and Node flags of `bin/hostplane`'s shebang (`#!/usr/bin/env -S VAR=value node --flag`),
 * read from the file so that a Hostplane process the bench starts with `node dist/main.js` runs with
 * the settings operators' processes get from the launcher.
 */
function launcherSettings() {
  const words = fs.readFileSync(`${ROOT}/bin/hostplane`, 'utf8').split('\n', 1)[0].replace(/^#!\S*env -S /, '').split(/\s+/).filter(Boolean);
  const at = words.indexOf('node');
  return {
    env: Object.fromEntries(words.slice(0, at).map((w) => w.split('=', 2))),
    flags: words.slice(at + 1),
  };
}
const LAUNCHER = launcherSettings();

/**
 * Starts `node <args>`, or `command <args>` when a command is given (an executable script run by its
 * shebang). `node ... dist/main.js ...` (a Hostplane server, worker or agent) gets the launcher's settings.
 */
export function startProcess(label, args, env, command = process.execPath) {
  const isHostplane = command === process.execPath && args.includes('dist/main.js');
  const child = isHostplane
    ? spawn(command, [...LAUNCHER.flags, ...args], { cwd: ROOT, env: { ...env, ...LAUNCHER.env }, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.label = label;
  child.logTail = '';
  const keep = (buf) => {
    child.logTail = (child.logTail + buf.toString()).slice(-4000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  children.add(child);
  child.exited.then(({ code, signal }) => {
    children.delete(child);
    if (!child.stopping && !failed) fail(new Error(`${label} (pid ${child.pid}) exited unexpectedly: code ${code}, signal ${signal}\n${child.logTail}`));
  });
  return child;
}

export async function stopProcess(child, timeoutMs = 10_000) {
  child.stopping = true;
  if (child.exitCode !== null || child.signalCode !== null) return child.exited;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const result = await child.exited;
  clearTimeout(timer);
  return result;
}

/** Runs a one-shot script (bench/queue-floor.mjs) to its end; returns the JSON of its last stdout line. */
export async function runScript(label, args, env, timeoutMs) {
  const child = startProcess(label, args, env);
  child.stopping = true; // exiting is what it is meant to do
  let out = '';
  child.stdout.on('data', (b) => (out += b));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const { code, signal } = await child.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${label} exited with code ${code}, signal ${signal}:\n${child.logTail}`);
  return JSON.parse(out.trim().split('\n').pop());
}
