import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * Drives the billing module models in test/apiscp/modules/ (PHP's own SoapClient, as the modules use it)
 * against a real server, and reads back what they sent.
 */
const RUNNER = path.join(import.meta.dirname, 'modules', 'runner.php');

export type Typed = [string, ...unknown[]];

export interface WireRequest {
  location: string;
  action: string;
  headers: string;
  body: string;
  status: number | null;
  response: string | null;
}

export interface StepRun {
  /** What the step returned, as plain JS (PHP ints and floats both as numbers). */
  value: unknown;
  /** The same with PHP's types kept. */
  typed: Typed | null;
  exception: { class: string; message: string } | null;
  wire: WireRequest[];
  clients: { wsdl: string; options: Record<string, unknown>; stream_context: { http?: { header?: string } } | null }[];
  resends: number;
  warnings: string[];
}

export function fromTyped(t: Typed | null): unknown {
  if (!t) return null;
  const [type, a, b] = t;
  switch (type) {
    case 'NULL':
      return null;
    case 'array': {
      const items = a as [string | number, Typed][];
      const isList = items.every(([k], i) => k === i);
      return isList ? items.map(([, v]) => fromTyped(v)) : Object.fromEntries(items.map(([k, v]) => [String(k), fromTyped(v)]));
    }
    case 'object':
      return { __class: a, ...(fromTyped(b as Typed) as object) };
    default:
      return a;
  }
}

/** The PHP type at a path of keys inside a typed value ('integer', 'double', 'NULL', ...). */
export function phpTypeAt(t: Typed | null, ...keys: (string | number)[]): string | undefined {
  let cur: Typed | undefined = t ?? undefined;
  for (const key of keys) {
    if (!cur || cur[0] !== 'array') return undefined;
    cur = (cur[1] as [string | number, Typed][]).find(([k]) => String(k) === String(key))?.[1];
  }
  return cur?.[0];
}

export function runStep(model: 'whmcs' | 'clientexec' | 'blesta', step: string, input: unknown, opts: { cafile?: string } = {}): Promise<StepRun> {
  const args = ['-d', 'soap.wsdl_cache_enabled=0', '-d', 'display_errors=stderr'];
  if (opts.cafile) args.push('-d', `openssl.cafile=${opts.cafile}`);
  args.push(RUNNER);
  return new Promise((resolve, reject) => {
    const child = spawn('php', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`php ${model} ${step} exited with ${code}: ${stderr}${stdout}`));
      try {
        const out = JSON.parse(stdout) as Omit<StepRun, 'value' | 'typed'> & { return: Typed | null };
        resolve({ ...out, typed: out.return, value: fromTyped(out.return) });
      } catch {
        reject(new Error(`php ${model} ${step} printed something that is not JSON: ${stdout}${stderr}`));
      }
    });
    child.stdin.end(JSON.stringify({ model, step, input }));
  });
}

/** The SOAP functions a step called, in order (from each request's SOAPAction). */
export const ops = (run: StepRun): string[] => run.wire.map((w) => w.action.replace(/^.*#/, ''));

/** What every step of every module must show: no re-sent call, no PHP warning, every request answered 200. */
export function expectClean(run: StepRun): void {
  expect(run.warnings, 'PHP warnings while reading the answers').toEqual([]);
  expect(run.resends, 'calls re-sent because the answer was NULL').toBe(0);
  for (const w of run.wire) expect(w.status, `${w.action}: ${w.response ?? ''}`).toBe(200);
}

export interface ModuleServer {
  t: TestApp;
  url: string;
  host: string;
  port: string;
  /** The self-signed certificate when the server speaks HTTPS. */
  cafile?: string;
  close(): Promise<void>;
}

/** A server on a loopback port; with `tls`, a fresh self-signed certificate for 127.0.0.1 given through HOSTPLANE_TLS_CERT/KEY. */
export async function startModuleServer(opts: { tls?: boolean } = {}): Promise<ModuleServer> {
  let env: Record<string, string> = {};
  let cafile: string | undefined;
  let dir: string | undefined;
  if (opts.tls) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostplane-tls-'));
    cafile = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    await new Promise<void>((resolve, reject) =>
      execFile('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cafile!], (err) => (err ? reject(err) : resolve())),
    );
    env = { HOSTPLANE_TLS_CERT: cafile, HOSTPLANE_TLS_KEY: key };
  }
  const t = await createTestApp(env);
  await t.app.server.listen({ port: 0, host: '127.0.0.1' });
  const { port } = t.app.server.server.address() as AddressInfo;
  return {
    t,
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    host: '127.0.0.1',
    port: String(port),
    ...(cafile ? { cafile } : {}),
    close: async () => {
      await t.close();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A GET as a browser's first hop: no redirects followed. */
export function getOnce(url: string, opts: { cookie?: string; ca?: string } = {}): Promise<{ status: number; location: string | null; setCookie: string[]; body: string }> {
  const u = new URL(url);
  const lib = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.get(u, { headers: opts.cookie ? { cookie: opts.cookie } : {}, ...(opts.ca ? { ca: fs.readFileSync(opts.ca) } : {}) }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location ?? null, setCookie: res.headers['set-cookie'] ?? [], body }));
    });
    req.on('error', reject);
  });
}

/**
 * Opens a single sign-on URL the way the browser would: the first answer either is the page (200) or
 * sends it on (3xx) to a page that answers 200 with the cookie it was given. Returns the hops.
 */
export async function landing(url: string, ca?: string): Promise<{ first: { status: number; location: string | null }; final: { url: string; status: number; body: string } }> {
  const first = await getOnce(url, ca ? { ca } : {});
  if (first.status < 300 || first.status >= 400 || !first.location) return { first, final: { url, status: first.status, body: first.body } };
  const next = new URL(first.location, url).toString();
  const cookie = first.setCookie.map((c) => c.split(';')[0]).join('; ');
  const second = await getOnce(next, { cookie, ...(ca ? { ca } : {}) });
  return { first, final: { url: next, status: second.status, body: second.body } };
}
