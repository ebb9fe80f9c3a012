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

// What the suites read back through the admin API, the JSON door and the client console.

export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function admin(srv: ModuleServer, method: 'GET' | 'POST', url: string, payload?: unknown): Promise<{ status: number; body: Json }> {
  const res = await srv.t.app.server.inject({ method, url, headers: { authorization: `Bearer ${srv.t.operatorKey}` }, ...(payload !== undefined ? { payload: payload as Json } : {}) });
  return { status: res.statusCode, body: res.json() as Json };
}

/** The JSON door, for reading what ApisCP's collect shows. */
export async function cp(srv: ModuleServer, fn: string, args: unknown[]): Promise<unknown> {
  const r = await admin(srv, 'POST', `/api/v1/cpcmd/${encodeURIComponent(fn)}`, { args });
  expect(r.status, `${fn}: ${JSON.stringify(r.body)}`).toBe(200);
  return r.body.result;
}

/** The site's admin-API record (sites are clients there), found by its domain; null when gone. */
export async function siteRecord(srv: ModuleServer, domain: string): Promise<Json | null> {
  const r = await admin(srv, 'GET', `/admin/v1/clients?q=${encodeURIComponent(domain)}`);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  const found = (r.body.clients as Json[]).filter((c) => (c.domains as Json[]).some((d) => d.name === domain) && c.status !== 'deleted');
  expect(found.length).toBeLessThanOrEqual(1);
  return found[0] ?? null;
}

export async function collectOne(srv: ModuleServer, domain: string, params: unknown = null): Promise<Json> {
  const all = (await cp(srv, 'admin:collect', [params, null, [domain]])) as Json;
  expect(Object.keys(all), JSON.stringify(all)).toEqual([domain]);
  return all[domain] as Json;
}

export async function signIn(srv: ModuleServer, clientId: number, login: string, password: string): Promise<{ status: number; cookie: string | null; body: Json }> {
  const res = await srv.t.app.server.inject({ method: 'POST', url: '/client/v1/session', payload: { client_id: clientId, login, password } });
  const set = res.headers['set-cookie'];
  return { status: res.statusCode, cookie: set ? String(set).split(';')[0]! : null, body: res.json() as Json };
}

export async function sessionAlive(srv: ModuleServer, cookie: string): Promise<boolean> {
  const res = await srv.t.app.server.inject({ method: 'GET', url: '/client/v1/session', headers: { cookie } });
  return (res.json() as Json).signed_in === true;
}

/** A console session of the site's admin opened the operator's way (hijack, then /apps/dashboard): its cookie. */
export async function hijackedSession(srv: ModuleServer, domain: string, user: string): Promise<string> {
  const id = String(await cp(srv, 'admin:hijack', [domain, user, 'UI']));
  const res = await srv.t.app.server.inject({ method: 'GET', url: `/apps/dashboard?esprit_id=${encodeURIComponent(id)}` });
  // The panel entry either is the page or sends the browser on to it; either way it sets the cookie.
  expect([200, 302, 303], res.body).toContain(res.statusCode);
  const cookie = String(res.headers['set-cookie'] ?? '').split(';')[0]!;
  expect(await sessionAlive(srv, cookie), 'the hijacked session signs in to the client API').toBe(true);
  return cookie;
}

export async function suspensions(srv: ModuleServer): Promise<Json[]> {
  return (await cp(srv, 'admin:delete-site', [null, { since: 'now', 'dry-run': true }])) as Json[];
}

/** A model that sent nothing failed before its first call (the WSDL, the connection): say why first. */
export function expectSent(run: StepRun): void {
  if (run.wire.length === 0) throw new Error(`nothing was sent: ${JSON.stringify(run.exception ?? run.value)}`);
}

/**
 * Puts the site in place through the JSON door when the module's own create did not, so that each later
 * step's result is about its own call and not a repeat of the create failure.
 */
export async function ensureSite(srv: ModuleServer, domain: string, user: string, extra: Json = {}): Promise<number> {
  const rec = await siteRecord(srv, domain);
  if (rec) return rec.id as number;
  await cp(srv, 'admin:add-site', [domain, user, { 'siteinfo.email': `owner@${domain}`, ...extra }]);
  return (await siteRecord(srv, domain))!.id as number;
}

/** Fails with every entry written out in full (an assertion diff would cut them short). */
export function expectNone(problems: (string | null | undefined | false)[], what: string): void {
  const list = problems.filter(Boolean);
  if (list.length > 0) throw new Error(`${what}:\n${list.join('\n')}`);
}

export const faultOf = (w: { response: string | null }) => /<faultstring>([\s\S]*?)<\/faultstring>/.exec(w.response ?? '')?.[1] ?? null;

export function expectSucceeded(run: StepRun, what: unknown = 'success'): void {
  expect(run.exception, JSON.stringify(run.exception)).toBeNull();
  const faults = run.wire.filter((w) => faultOf(w) !== null).map((w) => `${w.action.replace(/^.*#/, '')}: ${faultOf(w)}`);
  expectNone(faults, 'SOAP faults');
  expect(run.value, 'module answer').toEqual(what);
  expectClean(run);
}
