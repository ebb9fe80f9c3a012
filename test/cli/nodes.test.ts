import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReseller } from '../support/test-app.js';
import { runBin, startCliServer, type CliServer } from './cli-harness.js';

let s: CliServer;

beforeAll(async () => {
  s = await startCliServer();
});
afterAll(() => s.close());

interface NodeOut {
  id: number;
  name: string;
  status: string;
  state: string;
  roles: string[];
  labels: Record<string, string>;
  counts: Record<string, number>;
}

// Each command is a process of its own: on a busy two-core machine a handful of them take seconds.
describe('hostplane node', { timeout: 90_000 }, () => {
  it('create --json prints exactly {id, name, roles, token}, and the token enrols the node once', async () => {
    const created = await s.cliJson<Record<string, unknown>>('node', 'create', '--name', 'web1', '--roles', 'web,relay', '--label', 'zone=eu1', '--label', 'disk=ssd');
    expect(Object.keys(created).sort()).toEqual(['id', 'name', 'roles', 'token']);
    expect(created).toMatchObject({ name: 'web1', roles: ['relay', 'web'] });
    expect(created.token).toMatch(/^hpe_/);
    const enrol = await fetch(`${s.url}/agent/v1/enrol`, { method: 'POST', headers: { authorization: `Bearer ${String(created.token)}` } });
    expect(enrol.status).toBe(200);
    const again = await fetch(`${s.url}/agent/v1/enrol`, { method: 'POST', headers: { authorization: `Bearer ${String(created.token)}` } });
    expect(again.status).toBe(401);

    const listed = await s.cliJson<NodeOut[]>('node', 'list');
    expect(listed.find((x) => x.name === 'web1')).toMatchObject({ id: created.id, status: 'unhealthy', labels: { zone: 'eu1', disk: 'ssd' }, counts: { placed: 0, sites: 0 } });
    const human = await s.cli('node', 'list');
    expect(human.stdout).toMatch(/^ID\s+NAME\s+ROLES\s+STATUS/);
    expect(human.stdout).toContain('web1');
  });

  it('show, drain, undrain, rotate-token, revoke-token and delete by name or id', async () => {
    const created = await s.cliJson<{ id: number; token: string }>('node', 'create', '--name', 'web2', '--roles', 'web');
    expect((await s.cliJson<NodeOut>('node', 'show', 'web2')).id).toBe(created.id);
    expect((await s.cliJson<NodeOut>('node', 'show', String(created.id))).name).toBe('web2');
    expect((await s.cliJson<NodeOut>('node', 'drain', 'web2')).status).toBe('draining');
    expect((await s.cliJson<NodeOut>('node', 'undrain', 'web2')).state).toBe('active');
    const rotated = await s.cliJson<{ token: string }>('node', 'rotate-token', 'web2');
    expect(rotated.token).not.toBe(created.token);
    const oldEnrol = await fetch(`${s.url}/agent/v1/enrol`, { method: 'POST', headers: { authorization: `Bearer ${created.token}` } });
    expect(oldEnrol.status).toBe(401);
    await s.cliJson('node', 'revoke-token', 'web2');
    const revokedEnrol = await fetch(`${s.url}/agent/v1/enrol`, { method: 'POST', headers: { authorization: `Bearer ${rotated.token}` } });
    expect(revokedEnrol.status).toBe(401);
    const deleted = await s.cliJson<{ name: string; unplaced_sites: number }>('node', 'delete', 'web2');
    expect(deleted).toEqual({ id: created.id, name: 'web2', unplaced_sites: 0 });
    const gone = await s.cli('node', 'show', 'web2');
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toMatch(/no node named or numbered "web2"/);
  });

  it('refuses bad input with the server\'s field errors and a usage error, changing nothing', async () => {
    const bad = await s.cli('node', 'create', '--name', 'Bad_Name', '--roles', 'web,mail');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/name/);
    expect(bad.stderr).toMatch(/roles/);
    const badLabel = await s.cli('node', 'create', '--name', 'web3', '--roles', 'web', '--label', 'novalue');
    expect(badLabel.code).not.toBe(0);
    expect(badLabel.stderr).toMatch(/key=value/);
    const hostileLabel = await s.cli('node', 'create', '--name', 'web3', '--roles', 'web', '--label', 'zone=eu1;rm -rf /');
    expect(hostileLabel.code).not.toBe(0);
    const dup = await s.cli('node', 'create', '--name', 'web1', '--roles', 'web');
    expect(dup.code).not.toBe(0);
    expect(dup.stderr).toMatch(/already/);
    const listed = await s.cliJson<NodeOut[]>('node', 'list');
    expect(listed.map((x) => x.name)).not.toContain('web3');
  });

  it('a reseller\'s credentials cannot manage nodes', async () => {
    const reseller = await createReseller(s.t);
    const r = await runBin(['node', 'list'], { HOSTPLANE_URL: s.url, HOSTPLANE_API_KEY: reseller.api_key });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/operator key|unauthenticated|not valid|invalid/i);
  });
});
