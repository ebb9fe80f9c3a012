import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client, Domain } from '../../src/core/clients/client.schema.js';
import { createReseller, seedDemoCatalog, type ResellerFixture } from '../support/test-app.js';
import { startCliServer, unique, type CliServer } from './cli-harness.js';

let s: CliServer;
let alice: ResellerFixture;
let bob: ResellerFixture;

interface Page {
  clients: Client[];
  next_after: number | null;
}

/** Clients come from resellers, so they are made through the reseller API, as in production. */
async function hspClient(owner: ResellerFixture, name = 'Customer'): Promise<{ id: number; domain: string }> {
  const domain = `${unique('cust')}.test`;
  const res = await s.t.app.server.inject({
    method: 'POST',
    url: '/v1/clients',
    headers: { authorization: owner.auth },
    payload: { package_uid: 'spamstopshere-standard', user_count: 1, email_address: 'owner@example.com', name, domains: [{ name: domain, mail_servers: [`mail.${domain}`] }] },
  });
  if (res.statusCode !== 201) throw new Error(`client create failed: ${res.statusCode} ${res.body}`);
  return { id: (res.json() as { id: number }).id, domain };
}

beforeAll(async () => {
  s = await startCliServer();
  await seedDemoCatalog(s.t);
  alice = await createReseller(s.t);
  bob = await createReseller(s.t);
});
afterAll(() => s.close());

describe('client list', () => {
  it('lists the clients of every reseller and filters them', async () => {
    const a = await hspClient(alice, 'Acme Alice');
    const b = await hspClient(bob, 'Bobby Tables');

    const all = await s.cliJson<Page>('client', 'list');
    expect(all.next_after).toBeNull();
    expect(all.clients.map((c) => c.id)).toEqual(expect.arrayContaining([a.id, b.id]));

    const [onlyBob, searched, active, cancelled] = await Promise.all([
      s.cliJson<Page>('client', 'list', '--reseller', String(bob.id)),
      s.cliJson<Page>('client', 'list', '--search', a.domain),
      s.cliJson<Page>('client', 'list', '--status', 'active'),
      s.cliJson<Page>('client', 'list', '--status', 'cancelled'),
    ]);
    expect(onlyBob.clients.every((c) => c.reseller_id === bob.id)).toBe(true);
    expect(onlyBob.clients.map((c) => c.id)).toContain(b.id);
    expect(searched.clients.map((c) => c.id)).toEqual([a.id]);
    expect(searched.clients[0]).toMatchObject({ name: 'Acme Alice', status: 'active', package_uid: 'spamstopshere-standard', domains: [{ name: a.domain, mail_servers: [`mail.${a.domain}`] }] });
    expect(active.clients.map((c) => c.id)).toContain(a.id);
    expect(cancelled.clients.map((c) => c.id)).not.toContain(a.id);

    const table = await s.cli('client', 'list', '--reseller', String(alice.id));
    expect(table.code, table.stderr).toBe(0);
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID +RESELLER +STATUS +PACKAGE +USERS +NAME +EMAIL +DOMAINS$/);
    const row = rows.find((l) => l.startsWith(`${a.id} `))!;
    expect(row.indexOf('spamstopshere-standard')).toBe(header!.indexOf('PACKAGE'));
    expect(row.endsWith(a.domain)).toBe(true);
  });

  it('pages with --limit and --after, and says how to get the next page', async () => {
    await hspClient(alice);
    await hspClient(alice);
    const first = await s.cliJson<Page>('client', 'list', '--limit', '1');
    expect(first.clients).toHaveLength(1);
    expect(first.next_after).toBe(first.clients[0]!.id);
    const second = await s.cliJson<Page>('client', 'list', '--limit', '1', '--after', String(first.next_after));
    expect(second.clients[0]!.id).toBeGreaterThan(first.clients[0]!.id);

    const human = await s.cli('client', 'list', '--limit', '1');
    expect(human.stdout.trimEnd().split('\n').at(-1)).toBe(`more: add --after ${first.next_after}`);
  });

  it('rejects bad filters: not a number (2) or out of the API\'s range (5)', async () => {
    const [word, zero, status, reseller] = await Promise.all([
      s.cli('client', 'list', '--limit', 'ten'),
      s.cli('client', 'list', '--limit', '0'),
      s.cli('client', 'list', '--status', 'gone'),
      s.cli('client', 'list', '--reseller', '-3'),
    ]);
    expect(word.code).toBe(2);
    expect(word.stderr).toContain("option '--limit <n>' argument 'ten' is invalid. must be a whole number");
    expect(zero.code).toBe(5);
    expect(zero.stderr).toContain('  limit: must be a whole number from 1 to 1000');
    expect(status.code).toBe(5);
    expect(status.stderr).toMatch(/^ {2}status: /m);
    expect(reseller.code).toBe(2);
  });

  it('says so when nothing matches', async () => {
    const r = await s.cli('client', 'list', '--search', 'nothing-matches-this');
    expect(r).toEqual({ code: 0, stdout: 'no clients\n', stderr: '' });
  });
});

describe('client show and restore', () => {
  it('shows one client with its domains', async () => {
    const c = await hspClient(bob, 'Shown Client');
    const shown = await s.cliJson<Client>('client', 'show', String(c.id));
    expect(shown).toMatchObject({ id: c.id, reseller_id: bob.id, name: 'Shown Client', domains: [{ name: c.domain }] });

    const human = await s.cli('client', 'show', String(c.id));
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^name: +Shown Client$/m);
    expect(human.stdout).toMatch(new RegExp(`^domains: +${c.domain.replace(/\./g, '\\.')} \\[\\w+\\] mail: mail\\.${c.domain.replace(/\./g, '\\.')}$`, 'm'));

    const unknown = await s.cli('client', 'show', '999999');
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toMatch(/^hostplane: .*not found/);
  });

  it('restores a cancelled client, once', async () => {
    const c = await hspClient(alice);
    const notCancelled = await s.cli('client', 'restore', String(c.id));
    expect(notCancelled.code).toBe(6);
    expect(notCancelled.stderr).toBe('hostplane: client is active, not cancelled\n');

    const cancel = await s.t.app.server.inject({ method: 'DELETE', url: `/v1/clients/${c.id}`, headers: { authorization: alice.auth } });
    expect(cancel.statusCode).toBe(200);
    expect((await s.cliJson<Client>('client', 'show', String(c.id))).status).toBe('cancelled');

    const restored = await s.cli('client', 'restore', String(c.id));
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toMatch(/^status: +active$/m);
    const seen = await s.t.app.server.inject({ method: 'GET', url: `/v1/clients/${c.id}`, headers: { authorization: alice.auth } });
    expect(seen.statusCode).toBe(200);

    const unknown = await s.cli('client', 'restore', '999999', '--json');
    expect(unknown.code).toBe(4);
    expect(unknown.stdout).toBe('');
  });
});

describe('domain status', () => {
  it('sets a domain\'s status, which the reseller API then reports', async () => {
    const c = await hspClient(alice);
    const human = await s.cli('domain', 'status', c.domain, 'ready');
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^name: +${c.domain.replace(/\./g, '\\.')}$`, 'm'));
    expect(human.stdout).toMatch(/^status: +ready$/m);
    const seen = await s.t.app.server.inject({ method: 'GET', url: `/v1/domains/${c.domain}/status`, headers: { authorization: alice.auth } });
    expect(seen.json()).toEqual({ status: 'ready' });

    const back = await s.cliJson<Domain>('domain', 'status', c.domain, 'initializing');
    expect(back).toEqual({ name: c.domain, status: 'initializing', mail_servers: [`mail.${c.domain}`] });
  });

  it('maps an unknown status (5), an unknown domain (4) and a missing argument (2)', async () => {
    const c = await hspClient(bob);
    const [status, domain, missing] = await Promise.all([
      s.cli('domain', 'status', c.domain, 'done'),
      s.cli('domain', 'status', 'no-such-domain.test', 'ready'),
      s.cli('domain', 'status', c.domain),
    ]);
    expect(status.code).toBe(5);
    expect(status.stderr).toContain('  status: must be one of initializing, ready, unknown');
    expect(domain.code).toBe(4);
    expect(domain.stderr).toBe('hostplane: domain not found\n');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing required argument 'status'");
  });
});
