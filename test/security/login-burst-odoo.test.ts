import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliServer, type CliServer } from '../cli/cli-harness.js';
import { pythonCalls, requirePython } from '../facades/odoo-rpc/python-xmlrpc.js';

// The Odoo door's sign-ins have the same failed-login limits as every other door (10 per account, 50
// per address, per 15 minutes), answered as Odoo answers a bad password: `common.authenticate` and
// `login` return False, `/web/session/authenticate` a null uid, and object calls (which carry uid +
// password every time) an AccessDenied fault. Driven by Python's own xmlrpc.client, in bursts of
// parallel threads as an attacker would.

const DB = 'hostplane';
const ACCOUNT_LIMIT = 10;
const ADDRESS_LIMIT = 50;
const BURST_SCRIPT = fileURLToPath(new URL('./py/xmlrpc_burst.py', import.meta.url));

type Answer = { ok?: unknown; fault?: { faultCode: number | string; faultString: string }; error?: string };

let s: CliServer;
let portalAdmin: User;
let start: number;
let windows = 0;

/**
 * Moves the app's clock past every window opened so far. Python's client always comes from
 * 127.0.0.1, so each test starts with fresh windows instead of sharing the address's count.
 */
function freshWindows(): void {
  windows += 1;
  s.t.setNow(new Date(start + windows * 20 * 60 * 1000));
}

/** All calls at once, one Python thread and one ServerProxy each. */
function burst(service: 'common' | 'object', calls: { method: string; args: unknown[] }[], path = '/xmlrpc/2'): Promise<Answer[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [BURST_SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`python3 exited with ${code}: ${err}${out}`));
      const answers = JSON.parse(out) as Answer[];
      const broken = answers.find((a) => a.error);
      if (broken) return reject(new Error(`Python's client did not get an XML-RPC answer: ${broken.error}`));
      resolve(answers);
    });
    child.stdin.end(JSON.stringify({ url: `${s.url}${path}/${service}`, calls }));
  });
}

/** Calls one after the other through Python's client (one process for the batch). */
async function pySeq(service: 'common' | 'object', calls: { method: string; args: unknown[] }[], path = '/xmlrpc/2'): Promise<Answer[]> {
  return (await pythonCalls(`${s.url}${path}/${service}`, calls)).map((o) => {
    if (o.ok) return { ok: o.ok[1] };
    if (o.fault) return { fault: o.fault };
    throw new Error(`Python's client did not get an XML-RPC answer: ${JSON.stringify(o)}`);
  });
}

/** One call through Python's client, on its own. */
async function py(service: 'common' | 'object', method: string, args: unknown[], path = '/xmlrpc/2'): Promise<Answer> {
  return (await pySeq(service, [{ method, args }], path))[0]!;
}

type User = { uid: number; login: string; password: string };

/** An operator user (made through the admin API) or a portal user (signed up by an operator over JSON-RPC). */
async function newUser(operator: boolean): Promise<User> {
  const login = `odoo-${Math.random().toString(36).slice(2, 10)}`;
  const password = 'odoo user password';
  if (!operator) {
    const made = await jsonRpc('/jsonrpc', { jsonrpc: '2.0', method: 'call', id: 1, params: { service: 'object', method: 'execute_kw', args: [DB, portalAdmin.uid, portalAdmin.password, 'res.users', 'signup', [{ login, name: login, password }]] } }, '198.51.100.200');
    expect(made.error).toBeUndefined();
    const uid = await jsonRpc('/jsonrpc', { jsonrpc: '2.0', method: 'call', id: 2, params: { service: 'common', method: 'authenticate', args: [DB, login, password, {}] } }, '198.51.100.201');
    expect(uid.result).toEqual(expect.any(Number));
    return { uid: uid.result as number, login, password };
  }
  const res = await s.t.app.server.inject({ method: 'POST', url: '/admin/v1/users', headers: { authorization: `Bearer ${s.t.operatorKey}` }, payload: { operator: true, login, name: login, password } });
  expect(res.statusCode, res.body).toBe(201);
  return { uid: (res.json() as { id: number }).id, login, password };
}

const ACCESS_DENIED = { fault: { faultCode: 3, faultString: 'Access denied' } };
const kwArgs = (u: { uid: number }, password: string) => [DB, u.uid, password, 'ir.model', 'search', [[]]];

async function jsonRpc(path: string, body: unknown, ip: string) {
  const res = await s.t.app.server.inject({ method: 'POST', url: path, remoteAddress: ip, payload: body as object });
  expect(res.statusCode).toBe(200);
  return res.json() as { result?: unknown; error?: { code: number; data: { name: string; message: string } } };
}

beforeAll(async () => {
  await requirePython();
  s = await startCliServer();
  start = Date.now();
  portalAdmin = await newUser(true);
});
afterAll(() => s.close());

// Python processes and memory-hard hashes on a shared machine: generous bounds, no timing asserted.
describe('common.authenticate', { timeout: 180_000 }, () => {
  it('100 parallel wrong passwords for an operator, then the right one is False; after the window it is the uid again', async () => {
    freshWindows();
    const admin = await newUser(true);
    expect(await py('common', 'authenticate', [DB, admin.login, admin.password, {}])).toEqual({ ok: admin.uid });

    const answers = await burst('common', Array.from({ length: 100 }, (_, i) => ({ method: 'authenticate', args: [DB, admin.login, `guess ${i}`, {}] })));
    expect(answers).toEqual(Array(100).fill({ ok: false }));
    expect(await py('common', 'authenticate', [DB, admin.login, admin.password, {}])).toEqual({ ok: false });
    expect(await py('common', 'login', [DB, admin.login, admin.password])).toEqual({ ok: false });
    // The legacy endpoint and JSON-RPC, from another address: the account's own limit holds there too.
    expect(await py('common', 'authenticate', [DB, admin.login, admin.password, {}], '/xmlrpc')).toEqual({ ok: false });
    const web = await jsonRpc('/web/session/authenticate', { jsonrpc: '2.0', method: 'call', id: 1, params: { db: DB, login: admin.login, password: admin.password } }, '198.51.100.61');
    expect(web.result).toMatchObject({ uid: false });
    // One budget per account: the operator console refuses the same login with its own 429.
    const operatorConsole = await s.t.app.server.inject({ method: 'POST', url: '/admin/v1/session', remoteAddress: '198.51.100.62', payload: { login: admin.login, password: admin.password } });
    expect(operatorConsole.statusCode).toBe(429);
    expect(Number(operatorConsole.headers['retry-after'])).toBeGreaterThan(0);

    freshWindows();
    expect(await py('common', 'authenticate', [DB, admin.login, admin.password, {}])).toEqual({ ok: admin.uid });
  });

  it('wrong passwords at the operator console count at the Odoo door too', async () => {
    freshWindows();
    const admin = await newUser(true);
    for (let i = 0; i < ACCOUNT_LIMIT; i++) {
      const res = await s.t.app.server.inject({ method: 'POST', url: '/admin/v1/session', remoteAddress: `198.51.100.${70 + i}`, payload: { login: admin.login, password: `guess ${i}` } });
      expect(res.statusCode).toBe(401);
    }
    expect(await py('common', 'authenticate', [DB, admin.login, admin.password, {}])).toEqual({ ok: false });
  });

  it(`from one address, ${ADDRESS_LIMIT} wrong sign-ins over many logins close the door to every login from there`, async () => {
    freshWindows();
    const victim = await newUser(false);
    const answers = await burst('common', Array.from({ length: 60 }, (_, i) => ({ method: 'authenticate', args: [DB, `sprayed-${i}`, 'guess', {}] })));
    expect(answers).toEqual(Array(60).fill({ ok: false }));
    expect(await py('common', 'authenticate', [DB, victim.login, victim.password, {}])).toEqual({ ok: false });
    // Another address is not affected (JSON-RPC through the same door).
    const other = await jsonRpc('/jsonrpc', { jsonrpc: '2.0', method: 'call', id: 1, params: { service: 'common', method: 'authenticate', args: [DB, victim.login, victim.password, {}] } }, '198.51.100.90');
    expect(other.result).toBe(victim.uid);
  });
});

describe('execute_kw (uid + password on every call)', { timeout: 180_000 }, () => {
  it('parallel wrong passwords are AccessDenied, then the right one is AccessDenied too; after the window it works', async () => {
    freshWindows();
    const admin = await newUser(true);
    const answers = await burst('object', Array.from({ length: 40 }, (_, i) => ({ method: 'execute_kw', args: kwArgs(admin, `guess ${i}`) })));
    expect(answers).toEqual(Array(40).fill(ACCESS_DENIED));
    expect(await py('object', 'execute_kw', kwArgs(admin, admin.password))).toEqual(ACCESS_DENIED);
    expect(await py('object', 'execute', [DB, admin.uid, admin.password, 'ir.model', 'search', []])).toEqual(ACCESS_DENIED);
    // Odoo's legacy endpoint names the fault by its string code; JSON-RPC by the exception's class.
    expect(await py('object', 'execute_kw', kwArgs(admin, admin.password), '/xmlrpc')).toEqual({ fault: { faultCode: 'AccessDenied', faultString: 'Access denied' } });
    const json = await jsonRpc('/jsonrpc', { jsonrpc: '2.0', method: 'call', id: 1, params: { service: 'object', method: 'execute_kw', args: kwArgs(admin, admin.password) } }, '198.51.100.91');
    expect(json.error).toMatchObject({ code: 200, data: { name: 'odoo.exceptions.AccessDenied', message: 'Access denied' } });
    // The same account at common.authenticate: locked as well.
    expect(await py('common', 'authenticate', [DB, admin.login, admin.password, {}])).toEqual({ ok: false });

    freshWindows();
    const ok = await py('object', 'execute_kw', kwArgs(admin, admin.password));
    expect(ok.fault).toBeUndefined();
    expect(Array.isArray(ok.ok)).toBe(true);
  });

  it('a burst of the right pair is answered, and leaves no failures behind', async () => {
    freshWindows();
    const admin = await newUser(true);
    const answers = await burst('object', Array.from({ length: 30 }, () => ({ method: 'execute_kw', args: kwArgs(admin, admin.password) })));
    for (const a of answers) expect(a.fault).toBeUndefined();
    // All ten wrong tries are still available after 30 good calls: the ninth wrong one leaves room for the right one.
    const wrongThenRight = await pySeq('common', [
      ...Array.from({ length: ACCOUNT_LIMIT - 1 }, (_, i) => ({ method: 'authenticate', args: [DB, admin.login, `guess ${i}`, {}] })),
      { method: 'authenticate', args: [DB, admin.login, admin.password, {}] },
    ]);
    expect(wrongThenRight).toEqual([...Array(ACCOUNT_LIMIT - 1).fill({ ok: false }), { ok: admin.uid }]);
  });

  it('an unknown uid is AccessDenied, and counts against the address', async () => {
    freshWindows();
    const victim = await newUser(true);
    const answers = await burst('object', Array.from({ length: 60 }, (_, i) => ({ method: 'execute_kw', args: [DB, 900_000 + i, 'guess', 'ir.model', 'search', [[]]] })));
    expect(answers).toEqual(Array(60).fill(ACCESS_DENIED));
    expect(await py('object', 'execute_kw', kwArgs(victim, victim.password))).toEqual(ACCESS_DENIED);
  });
});
