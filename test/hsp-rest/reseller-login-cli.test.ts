import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliServer, type CliServer } from '../cli/cli-harness.js';
import { solveCaptcha } from '../support/captcha-solver.js';

// `hostplane reseller approve --password` and `reseller set-login`: the operator's CLI sets the
// reseller's web console sign-in, and the reseller then signs in to the HSP door with it.

let s: CliServer;

async function signUp(username: string): Promise<number> {
  const form = (await s.t.app.server.inject({ method: 'GET', url: '/v1/resellers/new' })).json() as { captcha: { id: string; question: string } };
  const res = await s.t.app.server.inject({
    method: 'POST',
    url: '/v1/resellers',
    payload: { captcha: { id: form.captcha.id, answer: solveCaptcha(form.captcha.question) }, reseller: { name: `${username} Ltd`, email_address: `${username}@example.com`, username } },
  });
  expect(res.statusCode, res.body).toBe(201);
  return (res.json() as { reseller: { id: number } }).reseller.id;
}

const signIn = (login: string, password: string) => s.t.app.server.inject({ method: 'POST', url: '/v1/session', payload: { login, password } });

beforeAll(async () => {
  s = await startCliServer();
}, 60_000);
afterAll(() => s?.close());

describe('reseller console login from the CLI', () => {
  it('approve --password sets the login (the username by default) and prints it with the credentials', async () => {
    const id = await signUp('cli-reseller');
    const approved = await s.cliJson<{ status: string; login: string; api_key: string }>('reseller', 'approve', String(id), '--password', 'a console password');
    expect(approved).toMatchObject({ status: 'active', login: 'cli-reseller', api_key: expect.any(String) });
    expect((await signIn('cli-reseller', 'a console password')).statusCode).toBe(200);
  });

  it('approve with a short password fails with the reason, and the reseller stays pending', async () => {
    const id = await signUp('cli-short');
    const r = await s.cli('reseller', 'approve', String(id), '--login', 'cli-short-login', '--password', 'short');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('too short');
    const still = (await s.t.app.server.inject({ method: 'GET', url: `/admin/v1/resellers/${id}`, headers: { authorization: `Bearer ${s.t.operatorKey}` } })).json() as { status: string };
    expect(still.status).toBe('pending');
  });

  it('set-login replaces the login and password', async () => {
    const id = await signUp('cli-later');
    await s.cliJson('reseller', 'approve', String(id));
    expect((await signIn('cli-later', 'another console password')).statusCode).toBe(401);
    const set = await s.cliJson<{ login: string }>('reseller', 'set-login', String(id), '--login', 'cli-later-console', '--password', 'another console password');
    expect(set.login).toBe('cli-later-console');
    expect((await signIn('cli-later-console', 'another console password')).statusCode).toBe(200);
  });
});
