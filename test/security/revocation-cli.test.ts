import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBin, startCliServer, type CliServer } from '../cli/cli-harness.js';

// The revocation commands through the real bin/hostplane against a listening server (dist/ built),
// and REMP's logout through curl.

let s: CliServer;
beforeAll(async () => {
  s = await startCliServer();
});
afterAll(() => s?.close());

function curl(args: string[]): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return new Promise((resolve, reject) => {
    execFile('curl', ['-s', '-w', '\n%{http_code}', ...args], { timeout: 20_000 }, (err, stdout) => {
      if (err) return reject(err);
      const lines = stdout.trimEnd().split('\n');
      const status = Number(lines.pop());
      const text = lines.join('\n');
      resolve({ status, body: text ? JSON.parse(text) : null });
    });
  });
}

const withKey = (key: string, ...args: string[]) => runBin(args, { HOSTPLANE_URL: s.url, HOSTPLANE_API_KEY: key });

describe('hostplane key list / revoke', () => {
  it('lists keys without secrets; revoking one makes it exit 3 at once; the key in use cannot revoke itself (exit 6)', { timeout: 60_000 }, async () => {
    const spare = await s.cliJson<{ id: number; key: string }>('key', 'create', '--operator', '--name', 'ci-runner');
    expect((await withKey(spare.key, 'key', 'list')).code).toBe(0);

    const listed = await s.cli('key', 'list');
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^ID\s+NAME\s+CREATED\s+REVOKED/);
    expect(listed.stdout).toMatch(new RegExp(`^${spare.id}\\s+ci-runner\\s+\\S+\\s+-$`, 'm'));
    expect(listed.stdout).not.toContain(spare.key);

    const revoked = await s.cli('key', 'revoke', String(spare.id));
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toMatch(/^revoked_at:\s+\d{4}-/m);
    const refused = await withKey(spare.key, 'key', 'list');
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/invalid operator key/);

    const json = await s.cliJson<{ id: number; name: string; revoked_at: string | null }[]>('key', 'list');
    expect(json.find((k) => k.id === spare.id)!.revoked_at).not.toBeNull();

    // The test's own key is the first; the CLI uses it, so it may not revoke it.
    const own = json.find((k) => k.name === 'test')!;
    const self = await s.cli('key', 'revoke', String(own.id));
    expect(self.code).toBe(6);
    expect(self.stderr).toMatch(/another key or from the console/);
    expect((await s.cli('key', 'list')).code).toBe(0);
  });

  it('errors: an unknown id exits 4, a malformed one is a usage error (2); a revoked key cannot revoke (3)', async () => {
    expect((await s.cli('key', 'revoke', '999999')).code).toBe(4);
    for (const bad of ['abc', '0', '-3', '1e3']) expect((await s.cli('key', 'revoke', bad)).code, bad).toBe(2);
    const a = await s.cliJson<{ id: number; key: string }>('key', 'create', '--operator', '--name', 'a');
    const b = await s.cliJson<{ id: number; key: string }>('key', 'create', '--operator', '--name', 'b');
    expect((await s.cli('key', 'revoke', String(a.id))).code).toBe(0);
    expect((await withKey(a.key, 'key', 'revoke', String(b.id))).code).toBe(3);
    expect((await withKey(b.key, 'key', 'list')).code).toBe(0);
  });
});

describe('hostplane api-token revoke', () => {
  it('a revoked token gets the CRM door refusal; list shows it revoked; unknown ids exit 4', { timeout: 60_000 }, async () => {
    const token = await s.cliJson<{ id: number; token: string }>('api-token', 'create', '--name', 'billing', '--allow', '/api/v1/subscriptions/create');
    const call = () => curl(['-X', 'POST', `${s.url}/api/v1/subscriptions/create`, '-H', `Authorization: Bearer ${token.token}`, '--data', 'email=nobody%40example.com&subscription_type_id=1']);
    expect((await call()).status).not.toBe(403);
    const revoked = await s.cli('api-token', 'revoke', String(token.id));
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toMatch(/^revoked_at:\s+\d{4}-/m);
    expect(await call()).toEqual({ status: 403, body: { status: 'error', message: 'Not authorized: invalid API token', error: 'no_authorization' } });
    const listed = await s.cli('api-token', 'list');
    expect(listed.stdout).toMatch(new RegExp(`^${token.id}\\s+billing\\s+/api/v1/subscriptions/create\\s+\\d{4}-`, 'm'));
    expect((await s.cli('api-token', 'revoke', '999999')).code).toBe(4);
    expect((await s.cli('api-token', 'revoke', 'x')).code).toBe(2);
  });
});

describe('hostplane user revoke-tokens and POST /api/v1/users/logout', () => {
  it("logout ends the token it carries; the operator ends the rest by email or id", { timeout: 60_000 }, async () => {
    await s.cliJson('user', 'create', '--login', 'reader@example.test', '--password', 'reader-password');
    const login = () => curl(['-X', 'POST', `${s.url}/api/v1/users/login`, '--data', 'email=reader%40example.test&password=reader-password']);
    const info = (token: string) => curl([`${s.url}/api/v1/user/info`, '-H', `Authorization: Bearer ${token}`]);
    const [first, second, third] = [(await login()).body.access.token, (await login()).body.access.token, (await login()).body.access.token] as string[];

    expect(await curl(['-X', 'POST', `${s.url}/api/v1/users/logout`, '-H', `Authorization: Bearer ${first}`])).toEqual({ status: 200, body: { status: 'ok' } });
    expect((await info(first!)).status).toBe(403);
    expect((await info(second!)).status).toBe(200);

    const byEmail = await s.cli('user', 'revoke-tokens', 'reader@example.test');
    expect(byEmail.code, byEmail.stderr).toBe(0);
    expect(byEmail.stdout).toMatch(/^2 tokens of user \d+ \(reader@example\.test\) revoked$/m);
    for (const token of [second!, third!]) expect((await info(token)).status).toBe(403);

    const id = (await info((await login()).body.access.token)).body.user.id as number;
    expect(await s.cliJson('user', 'revoke-tokens', String(id))).toEqual({ user_id: id, email: 'reader@example.test', revoked: 1 });
    expect((await s.cli('user', 'revoke-tokens', 'ghost@example.test')).code).toBe(4);
    expect((await s.cli('user', 'revoke-tokens', '999999')).code).toBe(4);
  });
});
