import OdooAwait from 'odoo-await';
import { OdooClient } from 'odoo-xmlrpc-ts';
import { startCliServer, type CliServer } from '../cli/cli-harness.js';
import { plain, pythonCalls, type PyCall, type PyOutcome } from '../facades/odoo-rpc/python-xmlrpc.js';

/**
 * A listening Hostplane with a portal administrator, and the three kinds of real client the portal's
 * integrators use (Python's xmlrpc.client, odoo-await, odoo-xmlrpc-ts), each reporting a call the same
 * way: `{ok: value}` or `{fault: {faultCode, faultString}}`, so tests can compare faults across clients.
 */

export const DB = 'hostplane';

export interface Account {
  uid: number;
  login: string;
  password: string;
}

export interface Fault {
  faultCode: number | string;
  faultString: string;
}

export type Outcome = { ok: unknown; fault?: undefined } | { fault: Fault; ok?: undefined };

export interface Portal {
  s: CliServer;
  admin: Account;
  close(): Promise<void>;
}

const ADMIN_PASSWORD = 'portal-admin-password';

export async function startPortal(): Promise<Portal> {
  const s = await startCliServer();
  const created = await operatorApi(s, 'POST', '/admin/v1/users', { operator: true, login: 'admin', name: 'Portal Admin', password: ADMIN_PASSWORD });
  if (created.status !== 201) throw new Error(`could not create the portal admin: ${JSON.stringify(created.body)}`);
  return { s, admin: { uid: (created.body as { id: number }).id, login: 'admin', password: ADMIN_PASSWORD }, close: () => s.close() };
}

/** The operator admin API (and the cpcmd function door) with the test's operator key. */
export async function operatorApi(s: CliServer, method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown): Promise<{ status: number; body: unknown }> {
  const res = await s.t.app.server.inject({ method, url, headers: { authorization: `Bearer ${s.t.operatorKey}` }, ...(payload === undefined ? {} : { payload: payload as object }) });
  return { status: res.statusCode, body: res.body === '' ? null : res.json() };
}

function fromPython(o: PyOutcome): Outcome {
  if (o.ok) return { ok: plain(o.ok) };
  if (o.fault) return { fault: o.fault };
  throw new Error(`Python's client did not get an XML-RPC answer: ${JSON.stringify(o)}`);
}

/** Calls on `/xmlrpc/2/<service>` through Python's xmlrpc.client, one Python process for the batch. */
export async function python(s: CliServer, service: 'common' | 'object', calls: PyCall[], path = '/xmlrpc/2'): Promise<Outcome[]> {
  return (await pythonCalls(`${s.url}${path}/${service}`, calls)).map(fromPython);
}

export interface ObjectCall {
  as: Account;
  model: string;
  method: string;
  args: unknown[];
  kwargs?: Record<string, unknown>;
}

/** `execute_kw` calls through Python, as the seed's scripts make them. */
export async function pyExecute(s: CliServer, calls: ObjectCall[]): Promise<Outcome[]> {
  return python(
    s,
    'object',
    calls.map((c) => ({ method: 'execute_kw', args: [DB, c.as.uid, c.as.password, c.model, c.method, c.args, ...(c.kwargs ? [c.kwargs] : [])] })),
  );
}

export async function pyOne(s: CliServer, call: ObjectCall): Promise<Outcome> {
  return (await pyExecute(s, [call]))[0]!;
}

/** The value of a successful call; a fault fails the test with the fault's text. */
export function ok<T = unknown>(o: Outcome): T {
  if (o.fault) throw new Error(`expected a result, got fault ${String(o.fault.faultCode)}: ${o.fault.faultString}`);
  return o.ok as T;
}

export function fault(o: Outcome): Fault {
  if (!o.fault) throw new Error(`expected a fault, got ${JSON.stringify(o.ok)}`);
  return o.fault;
}

/** An odoo-await client, connected (it authenticates through common.authenticate). */
export async function odooAwait(s: CliServer, who: Account): Promise<OdooAwait> {
  const client = new OdooAwait({ baseUrl: s.url, db: DB, username: who.login, password: who.password });
  await client.connect();
  return client;
}

/** odoo-await's own execute_kw (positional args, then kwargs), its fault read from the npm xmlrpc error. */
export async function awaitCall(client: OdooAwait, model: string, method: string, args: unknown[], kwargs?: Record<string, unknown>): Promise<Outcome> {
  try {
    return { ok: await client.execute_kw(model, method, kwargs ? [args, kwargs] : [args]) };
  } catch (err) {
    const e = err as { faultCode?: number | string; faultString?: string };
    if (e.faultCode === undefined) throw err;
    return { fault: { faultCode: e.faultCode, faultString: e.faultString ?? '' } };
  }
}

export function tsClient(s: CliServer, who: Account): OdooClient {
  return new OdooClient({ url: s.url, db: DB, username: who.login, password: who.password });
}

/** POSTs a raw body to the door, as no well-behaved client would. */
export async function rawPost(s: CliServer, url: string, body: string | Buffer, contentType = 'text/xml'): Promise<{ status: number; type: string; body: string }> {
  const res = await s.t.app.server.inject({ method: 'POST', url, headers: { 'content-type': contentType }, payload: body });
  return { status: res.statusCode, type: String(res.headers['content-type'] ?? ''), body: res.body };
}
