import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ODOO_PBKDF2_ROUNDS, odooPasswordHash, odooPasswordMatches } from '../../src/core/shared/odoo-password.js';
import type { AgentProc, ControlPlane } from '../agent/agent-harness.js';
import { killAll, waitFor } from '../jobs-process/process-harness.js';
import { pgAdmin, runPython, startInstanceWorld, type Instance, type InstanceWorld } from './instance-world.js';

/*
 * Instance users' passwords in the instance's own res_users (docs/adr/0027, "Addendum: passwords
 * reach res_users"), end to end: a control plane on a real port, a real `hostplane agent` (role db)
 * on the machine's PostgreSQL, instances made by the portal's create_new_database through Python's
 * xmlrpc.client. Every password given to a door must reach res_users as a hash that Debian's
 * python3-passlib, the library Odoo signs in with, verifies; a password changed inside the instance
 * stays until a door sets a new one; the plain password is never in the desired state or the logs.
 */
/** Debian's interpreter, where python3-passlib is installed (apt-get install python3-passlib). */
const DEBIAN_PYTHON = '/usr/bin/python3';

/** Every plain password the doors are given here; none may show up in the desired state or a log. */
const secret = (what: string) => `${what}-${randomBytes(6).toString('hex')}`;
const OWNER_PASSWORD = secret('owner');
const plains: string[] = [OWNER_PASSWORD];
const pw = (what: string) => {
  const p = secret(what);
  plains.push(p);
  return p;
};

let w: InstanceWorld;
let cp: ControlPlane;
/** Every agent started, for their logs (the test restarts it once). */
const agents: AgentProc[] = [];
const cpLogs: string[] = [];

const admin = pgAdmin;
const python = runPython;


/** passlib's answer, as Odoo's sign-in gets it, for each [password, hash]. */
async function passlibVerify(pairs: [string, string][]): Promise<boolean[]> {
  const out = await python(DEBIAN_PYTHON, `import json, sys
from passlib.context import CryptContext
ctx = CryptContext(['pbkdf2_sha512'])
print(json.dumps([ctx.verify(p, h) for p, h in json.load(sys.stdin)]))`, JSON.stringify(pairs));
  return JSON.parse(out) as boolean[];
}

/** A hash as Odoo itself makes one when a user changes their password inside the instance. */
async function passlibHash(password: string): Promise<string> {
  return python(DEBIAN_PYTHON, `import sys
from passlib.context import CryptContext
print(CryptContext(['pbkdf2_sha512']).hash(sys.stdin.read()))`, password);
}


/** create_new_database through Python's xmlrpc.client, with this file's owner password. */
const createInstance = (planId: number, host: string) => w.createInstance(planId, host, OWNER_PASSWORD);

/** `login`'s res_users.password; undefined while the login (or the database, not made yet) is missing. */
async function passwordOf(db: string, login: string): Promise<string | null | undefined> {
  try {
    return (await admin<{ password: string | null }>('select password from res_users where login = $1', [login], db))[0]?.password;
  } catch (e) {
    if ((e as { code?: string }).code === '3D000') return undefined;
    throw e;
  }
}

/** Waits until `login` in the instance's res_users has a password that `ok` accepts. */
function untilPassword(db: string, login: string, ok: (hash: string) => boolean, what: string): Promise<string> {
  let last: string | null | undefined;
  return waitFor(
    async () => {
      last = await passwordOf(db, login);
      return last && ok(last) ? last : undefined;
    },
    60_000,
    () => `${what}: ${login} has ${JSON.stringify(last)}\n${w.agent.output().slice(-2000)}`,
    200,
  );
}

async function objectVersion(clientId: number): Promise<number> {
  const row = await cp.app().deps.db.selectFrom('node_objects').select('version').where('object_id', '=', `db${clientId}`).executeTakeFirstOrThrow();
  return Number(row.version);
}

/** Signs the owner in through the instance's login link; returns the session cookie. */
async function ownerSession(inst: Instance): Promise<string> {
  const link = new URL(inst.url);
  const login = await fetch(`${cp.url}${link.pathname}${link.search}`, { redirect: 'manual' });
  expect(login.status).toBe(303);
  return login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
}


let plan: number;
let a: Instance;

beforeAll(async () => {
  w = await startInstanceWorld('p', { logs: cpLogs });
  cp = w.cp;
  agents.push(w.agent);
  plan = await w.createPlan(`odoo-${w.prefix}`, w.template, 20);
  a = await createInstance(plan, w.host('a'));
}, 180_000);

afterAll(() => w?.close(), 120_000);

describe("Odoo's hash, made by Hostplane", () => {
  it('is what passlib makes and checks, at the production round count too', async () => {
    const password = 'pässword with spaces';
    const ours = await odooPasswordHash(password, undefined, ODOO_PBKDF2_ROUNDS);
    expect(ours).toMatch(new RegExp(`^\\$pbkdf2-sha512\\$${ODOO_PBKDF2_ROUNDS}\\$[./A-Za-z0-9]{22}\\$[./A-Za-z0-9]{86}$`));
    const theirs = await passlibHash(password);
    expect(await passlibVerify([[password, ours], ['wrong', ours]])).toEqual([true, false]);
    expect(await odooPasswordMatches(theirs, password)).toBe(true);
    expect(await odooPasswordMatches(theirs, 'wrong')).toBe(false);
  });
});

describe("passwords given at Hostplane's doors reach res_users", () => {
  it("the owner's, given to the Odoo door's create_new_database", async () => {
    const hash = await untilPassword(a.db, 'owner', () => true, 'owner password written');
    expect(await passlibVerify([[OWNER_PASSWORD, hash], [`${OWNER_PASSWORD}x`, hash]])).toEqual([true, false]);
    // The administrator has no password in Hostplane: the template's row keeps its own (none here).
    expect(await passwordOf(a.db, 'admin')).toBeNull();
  });

  it('a user added through the admin API, the client API and the console form', async () => {
    const viaAdmin = pw('admin-api');
    const r = await cp.admin('POST', `/admin/v1/clients/${a.id}/users`, { login: 'sales@a.test', password: viaAdmin, name: 'Sales' });
    expect(r.status, JSON.stringify(r.body)).toBe(201);

    const cookie = await ownerSession(a);
    const csrf = ((await (await fetch(`${cp.url}/client/v1/session`, { headers: { cookie } })).json()) as { csrf_token: string }).csrf_token;
    const viaClient = pw('client-api');
    const c = await fetch(`${cp.url}/client/v1/instance/users`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' }, body: JSON.stringify({ login: 'clerk@a.test', password: viaClient }) });
    expect(c.status, await c.clone().text()).toBe(201);

    const page = await (await fetch(`${cp.url}/console/clients/${a.id}`, { headers: { cookie } })).text();
    const formCsrf = /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
    const viaConsole = pw('console');
    const f = await fetch(`${cp.url}/console/clients/${a.id}/users`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf: formCsrf, login: 'desk@a.test', name: 'Desk', password: viaConsole }).toString(),
    });
    expect(f.status).toBe(303);

    const hashes = await Promise.all([
      untilPassword(a.db, 'sales@a.test', () => true, 'admin API user'),
      untilPassword(a.db, 'clerk@a.test', () => true, 'client API user'),
      untilPassword(a.db, 'desk@a.test', () => true, 'console user'),
    ]);
    expect(
      await passlibVerify([
        [viaAdmin, hashes[0]],
        [viaClient, hashes[1]],
        [viaConsole, hashes[2]],
        [viaClient, hashes[0]],
        [viaAdmin, hashes[1]],
        ['', hashes[2]],
      ]),
    ).toEqual([true, true, true, false, false, false]);
  });

  it('a password changed inside the instance survives later applies; a new one set at a door replaces it', async () => {
    // Odoo's own users change their passwords: Odoo writes its hash into res_users.
    const insideOwner = pw('inside-owner');
    const insideSales = pw('inside-sales');
    const [ownerInside, salesInside] = await Promise.all([passlibHash(insideOwner), passlibHash(insideSales)]);
    await admin("update res_users set password = $1 where login = 'owner'", [ownerInside], a.db);
    await admin("update res_users set password = $1 where login = 'sales@a.test'", [salesInside], a.db);

    // An unrelated change rewrites the database's object; the node applies it (the new user is there).
    const before = await objectVersion(a.id);
    expect((await cp.admin('POST', `/admin/v1/clients/${a.id}/users`, { login: 'later@a.test', password: pw('later') })).status).toBe(201);
    expect(await objectVersion(a.id)).toBeGreaterThan(before);
    await untilPassword(a.db, 'later@a.test', () => true, 'the unrelated user');
    expect(await passwordOf(a.db, 'owner')).toBe(ownerInside);
    expect(await passwordOf(a.db, 'sales@a.test')).toBe(salesInside);

    // The agent restarting applies every object again: still the instance's own passwords.
    killAll();
    agents.push(await w.startAgent());
    expect((await cp.admin('POST', `/admin/v1/clients/${a.id}/users`, { login: 'after-restart@a.test', password: pw('restart') })).status).toBe(201);
    await untilPassword(a.db, 'after-restart@a.test', () => true, 'the user added after the restart');
    expect(await passwordOf(a.db, 'owner')).toBe(ownerInside);
    expect(await passwordOf(a.db, 'sales@a.test')).toBe(salesInside);

    // A new owner password set at Hostplane's door replaces the one set inside.
    const next = pw('owner-next');
    const put = await cp.admin('PUT', `/admin/v1/clients/${a.id}/instance/owner-password`, { password: next });
    expect(put).toEqual({ status: 200, body: { id: a.id, database: true } });
    const hash = await untilPassword(a.db, 'owner', (h) => h !== ownerInside, 'owner password from the door');
    expect(await passlibVerify([[next, hash], [insideOwner, hash], [OWNER_PASSWORD, hash]])).toEqual([true, false, false]);
    // The owner's other password, Hostplane's own sign-in, changed with it; sales keeps the instance's.
    expect(await passwordOf(a.db, 'sales@a.test')).toBe(salesInside);
  });
});

describe('security', () => {
  it('the desired state the agent reads carries hashes only; no log holds a plain password', async () => {
    // The node's own credentials, as the agent keeps them after enrolling.
    const token = (JSON.parse(fs.readFileSync(path.join(w.agent.dataDir, 'credentials.json'), 'utf8')) as { token: string }).token;
    const res = await fetch(`${cp.url}/agent/v1/state`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const text = await res.text();
    const state = JSON.parse(text) as { objects: { kind: string; id: string; spec: { users?: { login: string; passwordHash?: string }[] } }[] };
    const users = state.objects.find((o) => o.id === `db${a.id}`)!.spec.users!;
    const sales = users.find((u) => u.login === 'sales@a.test')!;
    expect(sales.passwordHash).toMatch(/^\$pbkdf2-sha512\$/);
    expect(users.find((u) => u.login === 'admin')).not.toHaveProperty('passwordHash');
    // The logs were written (requests, applies): an empty log would prove nothing.
    expect(cpLogs.length).toBeGreaterThan(0);
    for (const plain of plains) {
      expect(text, 'desired state').not.toContain(plain);
      for (const p of agents) expect(p.output(), 'agent log').not.toContain(plain);
      expect(cpLogs.join(''), 'control plane log').not.toContain(plain);
    }
    // What the node remembers inside the database is a digest of each hash it wrote, never the hash.
    const remembered = await admin<{ login: string; hash_ref: string }>('select login, hash_ref from hostplane_applied_passwords order by login', [], a.db);
    expect(remembered.map((r) => r.login)).toContain('sales@a.test');
    for (const r of remembered) expect(r.hash_ref).toMatch(/^[0-9a-f]{64}$/);
    // The stored Odoo hash is not shown by the doors.
    const o = await cp.admin('GET', `/admin/v1/clients/${a.id}/instance`);
    expect(JSON.stringify(o.body)).not.toContain('pbkdf2');
  });

  it('bad passwords are refused at the doors as before, and nothing reaches the node', async () => {
    const before = await objectVersion(a.id);
    for (const password of ['', 'x'.repeat(1025), 12345, null]) {
      const r = await cp.admin<{ error: { code: string; fields: Record<string, string[]> } }>('POST', `/admin/v1/clients/${a.id}/users`, { login: 'refused@a.test', password });
      expect(r.status, JSON.stringify(password)).toBe(422);
      expect(r.body.error.fields.password).toBeDefined();
      const put = await cp.admin<{ error: { code: string } }>('PUT', `/admin/v1/clients/${a.id}/instance/owner-password`, { password });
      expect(put.status, JSON.stringify(password)).toBe(422);
    }
    expect(await objectVersion(a.id)).toBe(before);
    const owner = await cp.app().deps.db.selectFrom('users').select('odoo_password_hash').where('client_id', '=', a.id).where('login', '=', 'owner').executeTakeFirstOrThrow();
    expect(await odooPasswordMatches(owner.odoo_password_hash!, plains.find((p) => p.startsWith('owner-next'))!)).toBe(true);
    expect(await passwordOf(a.db, 'refused@a.test')).toBeUndefined();
  });

  it("another instance's owner password never reaches this one's res_users", async () => {
    const b = await createInstance(plan, w.host('b'));
    const next = pw('b-owner');
    expect((await cp.admin('PUT', `/admin/v1/clients/${b.id}/instance/owner-password`, { password: next })).status).toBe(200);
    // b's owner was made with the first owner password, then given `next`: wait for that one.
    await untilPassword(b.db, 'owner', () => true, "b's owner");
    await waitFor(async () => ((await passlibVerify([[next, (await passwordOf(b.db, 'owner'))!]]))[0] ? true : undefined), 60_000, () => w.agent.output().slice(-2000), 250);
    const aOwner = (await passwordOf(a.db, 'owner'))!;
    expect(await passlibVerify([[next, aOwner]])).toEqual([false]);
  });
});
