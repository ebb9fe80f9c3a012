import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../../src/app.js';
import { insertReseller } from '../../src/core/resellers/reseller.repository.js';
import { basic } from '../support/test-app.js';
import { runBin, startCliServer, tempDir, unique, type CliServer } from './cli-harness.js';

let s: CliServer;
beforeAll(async () => {
  s = await startCliServer();
});
afterAll(() => s.close());

interface Created {
  id: number;
  username: string;
  status: string;
  tags: string[];
  login_hostname: string | null;
  suspend_reason: string | null;
  api_token: string;
  api_key: string;
}

/** What the reseller API says to a token/key pair: 200 accepted, 401 unknown, 403 not allowed now. */
async function hspStatusFor(token: string, key: string): Promise<number> {
  const res = await s.t.app.server.inject({ method: 'GET', url: '/v1/packages/by_tag/cpanel', headers: { authorization: basic(token, key) } });
  return res.statusCode;
}

const createArgs = (username = unique('res')) => ['reseller', 'create', '--name', `Reseller ${username}`, '--username', username, '--email', `${username}@example.com`];

/** A self sign-up awaiting approval; the sign-up form's captcha is beside the point here. */
async function pendingReseller(): Promise<number> {
  const username = unique('pending');
  const row = await insertReseller(s.t.app.deps.db, { name: 'Pending Co', username, email_address: `${username}@example.com`, status: 'pending', tags: ['cpanel'], updated_at: new Date() });
  return row.id;
}

describe('reseller create and list', () => {
  it('creates an approved reseller whose printed token and key the reseller API accepts', async () => {
    const username = unique('human');
    const r = await s.cli(...createArgs(username), '--tag', 'cpanel', '--tag', 'plesk', '--login-hostname', 'login.example.com');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^id: +\d+$/m);
    expect(r.stdout).toMatch(new RegExp(`^username: +${username}$`, 'm'));
    expect(r.stdout).toMatch(/^status: +active$/m);
    expect(r.stdout).toMatch(/^tags: +cpanel, plesk$/m);
    expect(r.stdout).toMatch(/^login_hostname: +login\.example\.com$/m);
    expect(r.stdout).toContain('shown only this once');
    const token = /^api_token: +(\S+)$/m.exec(r.stdout)![1]!;
    const key = /^api_key: +(\S+)$/m.exec(r.stdout)![1]!;
    expect(await hspStatusFor(token, key)).toBe(200);
  });

  it('prints the API response with credentials under --json, and the reseller shows up in the lists', async () => {
    const created = await s.cliJson<Created>(...createArgs());
    expect(created).toMatchObject({ id: expect.any(Number), status: 'active', tags: [], login_hostname: null, api_token: expect.any(String), api_key: expect.any(String) });
    expect(await hspStatusFor(created.api_token, created.api_key)).toBe(200);

    const all = await s.cliJson<Created[]>('reseller', 'list');
    expect(all.find((r) => r.id === created.id)).toMatchObject({ username: created.username, status: 'active' });
    expect(all.every((r) => !('api_key' in r))).toBe(true);
    const active = await s.cliJson<Created[]>('reseller', 'list', '--status', 'active');
    expect(active.map((r) => r.id)).toContain(created.id);
    const pending = await s.cliJson<Created[]>('reseller', 'list', '--status', 'pending');
    expect(pending.map((r) => r.id)).not.toContain(created.id);

    const table = await s.cli('reseller', 'list');
    expect(table.code).toBe(0);
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID +STATUS +USERNAME +NAME +EMAIL +TAGS +LOGIN HOSTNAME$/);
    const row = rows.find((l) => l.includes(created.username))!;
    expect(row).toBeDefined();
    // Aligned: every column starts where its header does.
    expect(row.indexOf('active')).toBe(header!.indexOf('STATUS'));
    expect(row.indexOf(created.username)).toBe(header!.indexOf('USERNAME'));
    expect(row.startsWith(`${created.id} `)).toBe(true);
  });

  it('reports the API field errors on stderr with exit code 5', async () => {
    const username = unique('bad');
    const r = await s.cli('reseller', 'create', '--name', 'Bad', '--username', username, '--email', 'not-an-email', '--login-hostname', 'not a host');
    expect(r.code).toBe(5);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^hostplane: /);
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}email_address: .+/));
    expect(lines).toContainEqual('  login_hostname: must be a host name such as login.example.com');

    const first = await s.cli(...createArgs(username));
    expect(first.code).toBe(0);
    const again = await s.cli(...createArgs(username));
    expect(again.code).toBe(5);
    expect(again.stderr).toContain('  username: has already been taken');
  });

  it('rejects a missing required option or an unknown status filter', async () => {
    const missing = await s.cli('reseller', 'create', '--name', 'No Email', '--username', unique('x'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("hostplane: required option '--email <address>' not specified");

    const status = await s.cli('reseller', 'list', '--status', 'sleeping');
    expect(status.code).toBe(5);
    expect(status.stderr).toContain('  status: must be pending, active or suspended');
  });
});

describe('reseller approve, suspend, activate, rotate-key, update', () => {
  it('approves a pending sign-up and prints credentials that work, once', async () => {
    const id = await pendingReseller();
    const approved = await s.cliJson<Created>('reseller', 'approve', String(id));
    expect(approved).toMatchObject({ id, status: 'active', api_token: expect.any(String), api_key: expect.any(String) });
    expect(await hspStatusFor(approved.api_token, approved.api_key)).toBe(200);

    const again = await s.cli('reseller', 'approve', String(id));
    expect(again.code).toBe(6);
    expect(again.stderr).toBe('hostplane: reseller is active, not pending\n');
  });

  it('prints approve credentials in the human form too', async () => {
    const id = await pendingReseller();
    const r = await s.cli('reseller', 'approve', String(id));
    expect(r.code, r.stderr).toBe(0);
    const token = /^api_token: +(\S+)$/m.exec(r.stdout)![1]!;
    const key = /^api_key: +(\S+)$/m.exec(r.stdout)![1]!;
    expect(await hspStatusFor(token, key)).toBe(200);
  });

  it('answers 4 for an unknown reseller and 2 for an id that is not a number', async () => {
    const [unknown, word, rotate] = await Promise.all([s.cli('reseller', 'approve', '999999'), s.cli('reseller', 'suspend', 'abc'), s.cli('reseller', 'rotate-key', '999999')]);
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toBe('hostplane: reseller not found\n');
    expect(word.code).toBe(2);
    expect(word.stderr).toContain("'abc' is invalid for argument 'id'. must be a positive whole number");
    expect(rotate.code).toBe(4);
  });

  it('suspends with a reason and activates again, and the reseller API follows', async () => {
    const r = await s.cliJson<Created>(...createArgs());
    const suspended = await s.cli('reseller', 'suspend', String(r.id), '--reason', 'unpaid invoices');
    expect(suspended.code, suspended.stderr).toBe(0);
    expect(suspended.stdout).toMatch(/^status: +suspended$/m);
    expect(suspended.stdout).toMatch(/^suspend_reason: +unpaid invoices$/m);
    expect(await hspStatusFor(r.api_token, r.api_key)).toBe(403);

    const activated = await s.cliJson<Created>('reseller', 'activate', String(r.id));
    expect(activated).toMatchObject({ id: r.id, status: 'active', suspend_reason: null });
    expect(await hspStatusFor(r.api_token, r.api_key)).toBe(200);

    const noReason = await s.cliJson<Created>('reseller', 'suspend', String(r.id));
    expect(noReason).toMatchObject({ status: 'suspended', suspend_reason: null });

    const pending = await s.cli('reseller', 'suspend', String(await pendingReseller()));
    expect(pending.code).toBe(6);
    expect(pending.stderr).toContain('pending');
  });

  it('rotates the credentials: the new pair works and the old one stops', async () => {
    const r = await s.cliJson<Created>(...createArgs());
    const rotated = await s.cliJson<Created>('reseller', 'rotate-key', String(r.id));
    expect(rotated.api_key).not.toBe(r.api_key);
    expect(await hspStatusFor(rotated.api_token, rotated.api_key)).toBe(200);
    expect(await hspStatusFor(r.api_token, r.api_key)).toBe(401);

    const human = await s.cli('reseller', 'rotate-key', String(r.id));
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('shown only this once');
  });

  it('updates only the fields given', async () => {
    const r = await s.cliJson<Created>(...createArgs(), '--tag', 'cpanel', '--login-hostname', 'old.example.com');
    const renamed = await s.cliJson<Created & { name: string }>('reseller', 'update', String(r.id), '--name', 'Renamed Co');
    expect(renamed).toMatchObject({ name: 'Renamed Co', tags: ['cpanel'], login_hostname: 'old.example.com' });

    const human = await s.cli('reseller', 'update', String(r.id), '--login-hostname', 'Login.Example.NET', '--tag', 'plesk', '--tag', 'cpanel');
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^login_hostname: +login\.example\.net$/m);
    expect(human.stdout).toMatch(/^tags: +plesk, cpanel$/m);
    expect(human.stdout).toMatch(/^name: +Renamed Co$/m);

    const cleared = await s.cliJson<Created>('reseller', 'update', String(r.id), '--no-login-hostname');
    expect(cleared.login_hostname).toBeNull();
    const listed = await s.cliJson<Created[]>('reseller', 'list');
    expect(listed.find((x) => x.id === r.id)).toMatchObject({ login_hostname: null, tags: ['plesk', 'cpanel'] });

    const [nothing, invalid, unknown] = await Promise.all([
      s.cli('reseller', 'update', String(r.id)),
      s.cli('reseller', 'update', String(r.id), '--tag', 'Not A Tag!'),
      s.cli('reseller', 'update', '999999', '--name', 'Ghost'),
    ]);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('nothing to update');
    expect(invalid.code).toBe(5);
    expect(invalid.stderr).toMatch(/^ {2}tags(\.0)?: must be 1-64 lower-case letters/m);
    expect(unknown.code).toBe(4);
  });
});

describe('key create', () => {
  it('issues an operator key, printed once, that the CLI can then use', async () => {
    const issued = await s.cliJson<{ id: number; name: string; key: string }>('key', 'create', '--operator', '--name', 'billing-sync');
    expect(issued).toMatchObject({ id: expect.any(Number), name: 'billing-sync', key: expect.stringMatching(/^hpo_/) });
    const withNewKey = await runBin(['reseller', 'list', '--json'], { HOSTPLANE_URL: s.url, HOSTPLANE_API_KEY: issued.key });
    expect(withNewKey.code, withNewKey.stderr).toBe(0);
    expect(Array.isArray(JSON.parse(withNewKey.stdout))).toBe(true);

    const human = await s.cli('key', 'create', '--operator');
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^name: +cli$/m);
    expect(human.stdout).toMatch(/^key: +hpo_\S+$/m);
    expect(human.stdout).toContain('shown only this once');
  });

  it('needs --operator and a non-blank name', async () => {
    const [noKind, blank] = await Promise.all([s.cli('key', 'create', '--name', 'x'), s.cli('key', 'create', '--operator', '--name', '   ')]);
    expect(noKind.code).toBe(2);
    expect(noKind.stderr).toContain("required option '--operator' not specified");
    expect(blank.code).toBe(5);
    expect(blank.stderr).toContain("  name: can't be blank");
  });
});

describe('connection and credentials', () => {
  it('reads the operator key from <HOSTPLANE_DATA_DIR>/operator-key when HOSTPLANE_API_KEY is unset', async () => {
    const tmp = tempDir();
    try {
      fs.writeFileSync(path.join(tmp.dir, 'operator-key'), `${s.t.operatorKey}\n`, { mode: 0o600 });
      const r = await runBin(['reseller', 'list', '--json'], { HOSTPLANE_URL: s.url, HOSTPLANE_DATA_DIR: tmp.dir });
      expect(r.code, r.stderr).toBe(0);
      expect(Array.isArray(JSON.parse(r.stdout))).toBe(true);
    } finally {
      tmp.remove();
    }
  });

  it('names the key file and the variables when there is no key', async () => {
    const tmp = tempDir();
    try {
      const file = path.join(tmp.dir, 'operator-key');
      const missing = await runBin(['reseller', 'list'], { HOSTPLANE_URL: s.url, HOSTPLANE_DATA_DIR: tmp.dir });
      expect(missing.code).toBe(3);
      expect(missing.stderr).toContain(file);
      expect(missing.stderr).toContain('HOSTPLANE_API_KEY');
      expect(missing.stderr).toContain('HOSTPLANE_DATA_DIR');

      fs.writeFileSync(file, '\n');
      const empty = await runBin(['reseller', 'list'], { HOSTPLANE_URL: s.url, HOSTPLANE_DATA_DIR: tmp.dir });
      expect(empty.code).toBe(3);
      expect(empty.stderr).toContain(`${file} is empty`);
    } finally {
      tmp.remove();
    }
  });

  it('answers 3 for a key the server does not know', async () => {
    const r = await runBin(['reseller', 'list'], { HOSTPLANE_URL: s.url, HOSTPLANE_API_KEY: 'hpo_not-a-real-key' });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe('hostplane: invalid operator key\n');
  });

  it('answers 7 naming the URL when nothing listens there', async () => {
    // A port that was free a moment ago: bound by us, then released.
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as net.AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const url = `http://127.0.0.1:${port}`;
    const r = await runBin(['reseller', 'list'], { HOSTPLANE_URL: url, HOSTPLANE_API_KEY: s.t.operatorKey });
    expect(r.code).toBe(7);
    expect(r.stderr).toContain(`cannot reach the Hostplane server at ${url}`);
    expect(r.stderr).toContain('HOSTPLANE_URL');
  });

  it('says so when HOSTPLANE_URL is not a URL, or not a Hostplane server', async () => {
    const bad = await runBin(['reseller', 'list'], { HOSTPLANE_URL: 'localhost 8080', HOSTPLANE_API_KEY: s.t.operatorKey });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('HOSTPLANE_URL must be an http(s) URL');
    // Under a path prefix the server has nothing, so what answers is not the admin API.
    const elsewhere = await runBin(['reseller', 'list'], { HOSTPLANE_URL: `${s.url}/not-here/`, HOSTPLANE_API_KEY: s.t.operatorKey });
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toContain(`unexpected answer from ${s.url}/not-here: HTTP 404`);
  });
});

describe('the program itself', () => {
  it('prints help and the version with exit code 0', async () => {
    const [help, version] = await Promise.all([runBin(['--help'], {}), runBin(['--version'], {})]);
    expect(help.code).toBe(0);
    for (const command of ['serve', 'db', 'reseller', 'package', 'feature', 'seed', 'key', 'domain', 'client']) expect(help.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    expect(help.stdout).toContain('7 server unreachable');
    expect(version).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
  });

  it('answers 2 for an unknown command, a group without a subcommand, or an unknown option', async () => {
    const [typo, group, option] = await Promise.all([runBin(['resellr', 'list'], {}), runBin(['reseller'], {}), runBin(['reseller', 'list', '--colour'], {})]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("hostplane: unknown command 'resellr'");
    expect(group.code).toBe(2);
    expect(group.stderr).toContain('Usage: hostplane reseller');
    expect(option.code).toBe(2);
    expect(option.stderr).toContain("hostplane: unknown option '--colour'");
  });
});
