import { execFile } from 'node:child_process';
import path from 'node:path';
import { expect } from 'vitest';
import { startCliServer, type CliResult, type CliServer } from '../cli/cli-harness.js';
import { auditMark, auditSince } from '../support/audit.js';

export const BIN_DIR = path.join(import.meta.dirname, '..', '..', 'bin');

export interface ApiscpServer extends CliServer {
  /** A bash script with Hostplane's bin/ first on PATH, as an operator's terminal would have it. */
  sh(script: string): Promise<CliResult>;
  /** One of the ApisCP tools (cpcmd, AddDomain, ...) with these arguments, no shell involved. */
  tool(name: string, ...args: string[]): Promise<CliResult>;
  /** The JSON door: POST /api/v1/cpcmd/{fn}. */
  fn(name: string, args?: unknown[], extra?: Record<string, unknown>, auth?: string | null): Promise<{ status: number; body: Record<string, unknown> & { result?: unknown; error?: { code: string; message: string; fields?: Record<string, string[]> } } }>;
}

export async function startApiscpServer(): Promise<ApiscpServer> {
  const s = await startCliServer();
  const env = { PATH: `${BIN_DIR}:${process.env.PATH ?? ''}`, HOSTPLANE_URL: s.url, HOSTPLANE_API_KEY: s.t.operatorKey, HOME: process.env.HOME ?? '/tmp' };
  const run = (file: string, args: string[]) =>
    new Promise<CliResult>((resolve, reject) => {
      execFile(file, args, { env, timeout: 60_000 }, (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') return reject(err);
        resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
      });
    });
  return {
    ...s,
    sh: (script) => run('bash', ['-e', '-o', 'pipefail', '-c', script]),
    tool: (name, ...args) => run(process.execPath, [path.join(BIN_DIR, name), ...args]),
    fn: async (name, args = [], extra = {}, auth = `Bearer ${s.t.operatorKey}`) => {
      const res = await s.t.app.server.inject({
        method: 'POST',
        url: `/api/v1/cpcmd/${encodeURIComponent(name)}`,
        headers: auth === null ? {} : { authorization: auth },
        payload: { args, ...extra },
      });
      return { status: res.statusCode, body: res.json() };
    },
  };
}

/** Replaces every `siteNN` with the names given in order of first appearance, so outputs compare across runs. */
export function withSiteNames(text: string, ids: Record<string, number>): string {
  let out = text;
  for (const [name, id] of Object.entries(ids)) out = out.replaceAll(new RegExp(`\\bsite${id}\\b`, 'g'), name);
  return out;
}

/** Everything an ApisCP call could change: every site with every value, suspensions, scopes, plans, the newest job, the audit log. */
export interface ServerSnapshot {
  sites: unknown;
  /** Suspension dates and reasons are not collect fields: the delete dry run shows them. */
  suspensions: unknown;
  scopes: unknown[];
  plans: unknown;
  lastJob: number;
  audit: number;
}

export async function serverSnapshot(s: ApiscpServer): Promise<ServerSnapshot> {
  const read = async (name: string, args: unknown[]) => {
    const r = await s.fn(name, args);
    expect(r.status, `${name}: ${JSON.stringify(r.body)}`).toBe(200);
    return r.body.result;
  };
  const get = async (url: string) => {
    const res = await s.t.app.server.inject({ method: 'GET', url, headers: { authorization: `Bearer ${s.t.operatorKey}` } });
    expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
    return res.json() as unknown;
  };
  return {
    sites: await read('admin:collect', [null]),
    suspensions: await read('admin:delete-site', [null, { since: 'now', 'dry-run': true }]),
    scopes: [await read('scope:get', ['opcenter.account-cleanup']), await read('scope:get', ['cp.config'])],
    plans: await get('/admin/v1/packages'),
    lastJob: ((await get('/admin/v1/jobs?limit=1')) as { jobs: { id: number }[] }).jobs[0]?.id ?? 0,
    audit: await auditMark(s.t),
  };
}

export async function expectServerUnchanged(s: ApiscpServer, before: ServerSnapshot): Promise<void> {
  const after = await serverSnapshot(s);
  expect(after.sites).toEqual(before.sites);
  expect(after.suspensions).toEqual(before.suspensions);
  expect(after.scopes).toEqual(before.scopes);
  expect(after.plans).toEqual(before.plans);
  expect(after.lastJob).toBe(before.lastJob);
  // Background jobs may record their own (system) events; a refused call records none.
  expect((await auditSince(s.t, before.audit)).filter((e) => e.actor_kind !== 'system')).toEqual([]);
}
