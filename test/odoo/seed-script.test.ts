import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliServer, type CliServer } from '../cli/cli-harness.js';

// Seed 003's script end to end through Python's xmlrpc.client against a listening server, then the
// same instance seen through the other doors (cpcmd's function door, the operator API, the console).
const SCRIPT = fileURLToPath(new URL('./py/seed_003.py', import.meta.url));
const ADMIN_PASSWORD = 'portal-admin-password';

let s: CliServer;
let planId: number;
beforeAll(async () => {
  s = await startCliServer();
  const admin = { authorization: `Bearer ${s.t.operatorKey}` };
  const user = await s.t.app.server.inject({ method: 'POST', url: '/admin/v1/users', headers: admin, payload: { operator: true, login: 'admin', password: ADMIN_PASSWORD } });
  expect(user.statusCode, user.body).toBe(201);
  const plans = (await s.t.app.server.inject({ method: 'GET', url: '/admin/v1/packages', headers: admin })).json() as { id: number; uid: string }[];
  planId = plans.find((p) => p.uid === 'basic')!.id;
});
afterAll(() => s.close());

function python(env: Record<string, string>): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    execFile('python3', [SCRIPT], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`python3 failed: ${err.message}\n${stderr}`));
      resolve(JSON.parse(stdout) as Record<string, unknown>);
    });
  });
}

describe('seed 003 through Python xmlrpc.client', () => {
  let out: Record<string, unknown>;
  it('runs the whole script', async () => {
    out = await python({ PORTAL_URL: s.url, PORTAL_DB: 'hostplane', ADMIN_PASSWORD, PLAN_ID: String(planId) });
    expect(out.admin_uid).toEqual(expect.any(Number));
    expect(out.signup).toEqual(['hostplane', 'client-email@example.com', 'Client Password']);
    expect(out.client_uid).toEqual(expect.any(Number));
    const created = out.create_new_database as { url: string; id: number; client_id: string; auth_url: string };
    expect(created).toEqual({ url: expect.stringContaining('/login/auth_token?token='), auth_url: created.url, id: expect.any(Number), client_id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(out.search_plan_partner).toEqual([created.id]);
    expect(out.search_name).toEqual([created.id]);
    for (const step of ['suspend', 'resume', 'max_users', 'storage', 'install', 'uninstall', 'access_owner_add', 'access_remove']) {
      expect(JSON.parse(out[step] as string), step).toEqual({ 'client.odoo.local': {} });
    }
    expect(out.state_suspended).toEqual([{ id: created.id, state: 'pending' }]);
    expect(out.read).toEqual([
      {
        id: created.id,
        name: 'client.odoo.local',
        plan_id: [planId, 'Basic'],
        partner_id: [out.client_uid, 'Client Name'],
        state: 'open',
        max_users: '4',
        total_storage_limit: 500,
        client_id: created.client_id,
      },
    ]);
  });

  it('the instance is one record for every door', async () => {
    const created = out.create_new_database as { id: number; url: string };
    const admin = { authorization: `Bearer ${s.t.operatorKey}` };
    const collected = await s.t.app.server.inject({ method: 'POST', url: '/api/v1/cpcmd/admin:collect', headers: admin, payload: { args: [['diskquota.quota', 'users.max'], { 'siteinfo.domain': 'client.odoo.local' }] } });
    expect(collected.json().result).toEqual({ [`site${created.id}`]: { diskquota: { quota: 500 }, users: { max: 4 }, active: true, domain: 'client.odoo.local' } });
    const client = await s.t.app.server.inject({ method: 'GET', url: `/admin/v1/clients/${created.id}`, headers: admin });
    expect(client.json()).toMatchObject({ id: created.id, status: 'active', user_count: 4, domains: [{ name: 'client.odoo.local' }] });
    // The owner's link logs into the instance once.
    const link = new URL(created.url);
    const first = await s.t.app.server.inject({ method: 'GET', url: `${link.pathname}${link.search}` });
    expect(first.statusCode).toBe(303);
    expect(first.headers.location).toBe('/console/my');
    expect((await s.t.app.server.inject({ method: 'GET', url: `${link.pathname}${link.search}` })).statusCode).toBe(403);
  });
});
