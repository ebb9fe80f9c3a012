import { execFile } from 'node:child_process';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { AppOptions } from '../../src/app.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

export const BIN = path.join(import.meta.dirname, '..', '..', 'bin', 'hostplane');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real bin/hostplane (so dist/ must be built: `npm test` does it in pretest) with only the
 * variables given, so a developer's own HOSTPLANE_* settings never leak into a test.
 */
export function runBin(args: string[], env: Record<string, string>, timeoutMs = 20_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

export interface CliServer {
  t: TestApp;
  url: string;
  /** bin/hostplane against this server with the test's operator key. */
  cli(...args: string[]): Promise<CliResult>;
  /** Same, parsing stdout of a command run with --json; fails loudly when the command failed. */
  cliJson<T = unknown>(...args: string[]): Promise<T>;
  close(): Promise<void>;
}

export async function startCliServer(options: Pick<AppOptions, 'relayDriver' | 'jobRunner'> = {}): Promise<CliServer> {
  const t = await createTestApp({}, options);
  await t.app.server.listen({ port: 0, host: '127.0.0.1' });
  const { port } = t.app.server.server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const cli = (...args: string[]) => runBin(args, { HOSTPLANE_URL: url, HOSTPLANE_API_KEY: t.operatorKey });
  return {
    t,
    url,
    cli,
    cliJson: async <T>(...args: string[]) => {
      const r = await cli(...args, '--json');
      if (r.code !== 0) throw new Error(`hostplane ${args.join(' ')} --json exited ${r.code}: ${r.stderr}`);
      return JSON.parse(r.stdout) as T;
    },
    close: () => t.close(),
  };
}

/** A directory removed when the returned function is called. */
export function tempDir(): { dir: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostplane-cli-'));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

let n = 0;
export const unique = (prefix: string) => `${prefix}-${n++}-${Math.random().toString(36).slice(2, 6)}`;
