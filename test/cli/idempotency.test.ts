import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliServer, unique, type CliServer } from './cli-harness.js';

let s: CliServer;
beforeAll(async () => {
  s = await startCliServer();
});
afterAll(() => s.close());

const createArgs = (username: string) => ['reseller', 'create', '--name', `Reseller ${username}`, '--username', username, '--email', `${username}@example.com`];
const resellersNamed = async (username: string) => (await s.cliJson<{ username: string }[]>('reseller', 'list')).filter((r) => r.username === username);

describe('--idempotency-key', () => {
  it('running reseller create twice with one key creates one reseller and prints the same credentials', async () => {
    const username = unique('idem');
    const key = `cli-${username}`;
    const first = await s.cli(...createArgs(username), '--idempotency-key', key);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^api_key: +\S+$/m);
    const again = await s.cli(...createArgs(username), '--idempotency-key', key);
    expect(again).toEqual(first);
    expect(await resellersNamed(username)).toHaveLength(1);

    // Without the key, the same command is a second attempt at the username, and fails.
    const keyless = await s.cli(...createArgs(username));
    expect(keyless.code).toBe(5);
    expect(keyless.stderr).toContain('username');
  });

  it('works with --json too, and says so when the key was used for another change (exit 5)', async () => {
    const username = unique('idem-json');
    const key = `cli-${username}`;
    const first = await s.cliJson<{ id: number; api_key: string }>(...createArgs(username), '--idempotency-key', key);
    const again = await s.cliJson<{ id: number; api_key: string }>(...createArgs(username), '--idempotency-key', key);
    expect(again).toEqual(first);

    const other = unique('idem-other');
    const reused = await s.cli(...createArgs(other), '--idempotency-key', key);
    expect(reused.code).toBe(5);
    expect(reused.stdout).toBe('');
    expect(reused.stderr).toBe('hostplane: Idempotency-Key was already used with a different request\n');
    expect(await resellersNamed(other)).toHaveLength(0);

    const bad = await s.cli(...createArgs(unique('idem-bad')), '--idempotency-key', 'x'.repeat(300));
    expect(bad.code).toBe(5);
    expect(bad.stderr).toBe('hostplane: Idempotency-Key must be 1 to 255 printable ASCII characters\n');
  });

  it('is offered by commands that change something, not by those that only read', async () => {
    const help = await s.cli('reseller', 'create', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--idempotency-key <key>');
    const list = await s.cli('reseller', 'list', '--idempotency-key', 'k');
    expect(list.code).toBe(2);
    expect(list.stderr).toContain("unknown option '--idempotency-key'");
  });
});
