import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBin, startCliServer, type CliServer } from '../cli/cli-harness.js';

let s: CliServer;
beforeAll(async () => {
  s = await startCliServer();
});
afterAll(() => s.close());

/** The seed's curl, for real, against the listening server. */
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

describe('operator commands and the seed walk-through', () => {
  it('sets up a company family over the CLI, then runs the seed curl examples', { timeout: 120_000 }, async () => {
    const parent = await s.cliJson<{ code: string; access: string[]; length: number }>('subscription-type', 'create', '--code', 'donation_from_company_year_online', '--name', 'Company year', '--length', '365', '--access', 'web');
    expect(parent).toMatchObject({ code: 'donation_from_company_year_online', access: ['web'], length: 365 });
    await s.cliJson('subscription-type', 'create', '--code', 'donation_from_company_standard_year_online', '--name', 'Company member year', '--length', '365', '--access', 'web', '--extension', 'extend_family');
    const family = await s.cliJson<{ parent: string; child: string; method: string; count: number; is_paid: boolean }>('family-type', 'create', '--parent', 'donation_from_company_year_online', '--child', 'donation_from_company_standard_year_online', '--method', 'copy', '--count', '2', '--paid');
    expect(family).toMatchObject({ method: 'copy', count: 2, is_paid: true });
    const token = await s.cliJson<{ token: string; allow: string[] }>('api-token', 'create', '--name', 'billing', '--allow', '/api/v1/subscriptions/create');
    expect(token.allow).toEqual(['/api/v1/subscriptions/create']);
    const human = await s.cli('api-token', 'create', '--name', 'nothing');
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/shown only this once/);

    expect((await s.cliJson<{ role: string }>('user', 'create', '--login', 'boss@company.test', '--password', 'boss-password', '--name', 'The Boss')).role).toBe('end_user');
    expect((await s.cliJson<{ role: string }>('user', 'create', '--login', 'member@company.test', '--password', 'member-password')).role).toBe('end_user');
    expect((await s.cliJson<{ role: string }>('user', 'create', '--operator', '--login', 'crm-admin', '--password', 'admin-password')).role).toBe('operator');

    const types = await s.cliJson<{ id: number; code: string }[]>('subscription-type', 'list');
    const parentId = types.find((t) => t.code === 'donation_from_company_year_online')!.id;
    const created = await curl(['-X', 'POST', `${s.url}/api/v1/subscriptions/create`, '-H', `Authorization: Bearer ${token.token}`, '--data', `email=boss%40company.test&subscription_type_id=${parentId}&is_paid=1`]);
    expect(created).toMatchObject({ status: 200, body: { status: 'ok', message: 'Subscription created' } });

    const boss = await curl(['-X', 'POST', `${s.url}/api/v1/users/login`, '--data', 'email=boss%40company.test&password=boss-password']);
    expect(boss).toMatchObject({ status: 200, body: { status: 'ok', user: { email: 'boss@company.test', first_name: 'The', last_name: 'Boss' } } });
    const member = await curl(['-X', 'POST', `${s.url}/api/v1/users/login`, '-H', 'Content-Type: application/json', '-d', '{"email": "member@company.test", "password": "member-password"}']);
    expect(member.status).toBe(200);

    // As the seed writes them (its "–XGET" is curl's -XGET).
    const list = await curl(['-s', '-XGET', `${s.url}/api/v1/family/list`, '-H', 'Content-Type:application/json', '-H', `Authorization: Bearer ${boss.body.access.token}`]);
    expect(list.status).toBe(200);
    expect(list.body.codes).toHaveLength(2);
    const code = list.body.codes[0].code as string;
    const activated = await curl(['-s', '-XPOST', `${s.url}/api/v1/family/activate`, '-H', 'Content-Type:application/json', '-H', `Authorization: Bearer ${member.body.access.token}`, '-d', `{\n    "code": "${code}"\n}`]);
    expect(activated.status).toBe(201);
    expect(activated.body).toMatchObject({ code, subscription: { code: 'donation_from_company_standard_year_online', access: ['web'] } });
    expect(Object.keys(activated.body.subscription)).toEqual(['start_at', 'end_at', 'code', 'access']);

    const info = await curl([`${s.url}/api/v1/user/info`, '-H', `Authorization: Bearer ${member.body.access.token}`]);
    expect(info).toMatchObject({ status: 200, body: { status: 'ok', user: { email: 'member@company.test' } } });
  });

  it('usage and validation errors exit with the documented codes', async () => {
    expect((await s.cli('family-type', 'create', '--parent', 'x', '--method', 'copy')).code).toBe(2);
    expect((await s.cli('family-type', 'create', '--parent', 'nope', '--method', 'copy', '--count', '1')).code).toBe(5);
    expect((await s.cli('subscription-type', 'create', '--code', 'Bad Code', '--name', 'x', '--length', '3')).code).toBe(5);
    expect((await s.cli('api-token', 'create', '--name', 'x', '--allow', 'not-a-path')).code).toBe(5);
    const listed = await s.cliJson<unknown[]>('family-type', 'list');
    expect(Array.isArray(listed)).toBe(true);
  });

  it('every CRM command refuses a missing or wrong operator key (exit 3) and changes nothing', { timeout: 60_000 }, async () => {
    const commands = [
      ['api-token', 'create', '--name', 'sneaky', '--allow', '/api/v1/subscriptions/create'],
      ['api-token', 'list'],
      ['subscription-type', 'create', '--code', 'sneaky', '--name', 'x', '--length', '3'],
      ['subscription-type', 'list'],
      ['family-type', 'create', '--parent', 'donation_from_company_year_online', '--method', 'copy', '--count', '1'],
      ['family-type', 'list'],
      ['user', 'create', '--login', 'sneaky@example.com', '--password', 'sneaky-password'],
    ];
    for (const args of commands) {
      expect((await runBin(args, { HOSTPLANE_URL: s.url, HOSTPLANE_API_KEY: 'wrong-key' })).code, args.join(' ')).toBe(3);
      expect((await runBin(args, { HOSTPLANE_URL: s.url })).code, args.join(' ')).not.toBe(0);
    }
    const tokens = await s.cliJson<{ name: string }[]>('api-token', 'list');
    expect(tokens.map((t) => t.name)).not.toContain('sneaky');
    expect((await s.cliJson<{ code: string }[]>('subscription-type', 'list')).map((t) => t.code)).not.toContain('sneaky');
  });

  it('user create and subscription-type create errors: taken login, bad email, unknown package', async () => {
    expect((await s.cli('user', 'create', '--login', 'twice@company.test', '--password', 'twice-password')).code).toBe(0);
    expect((await s.cli('user', 'create', '--login', 'twice@company.test', '--password', 'twice-password')).code).toBe(6);
    expect((await s.cli('user', 'create', '--login', 'not-an-email', '--password', 'whatever-pass')).code).toBe(5);
    expect((await s.cli('user', 'create', '--login', 'short@company.test', '--password', 'x')).code).toBe(5);
    expect((await s.cli('subscription-type', 'create', '--code', 'pkg_ghost', '--name', 'x', '--length', '3', '--package', 'no-such-package')).code).toBe(5);
    expect((await s.cli('family-type', 'create', '--parent', 'donation_from_company_year_online', '--method', 'fixed_days', '--count', '1')).code).toBe(5);
  });
});
