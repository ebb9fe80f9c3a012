import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Feature } from '../../src/core/packages/package.schema.js';
import { basic, createReseller } from '../support/test-app.js';
import { startCliServer, unique, type CliServer } from './cli-harness.js';

let s: CliServer;
beforeAll(async () => {
  s = await startCliServer();
});
afterAll(() => s.close());

interface Package {
  id: number;
  uid: string;
  name: string;
  description: string;
  position: number;
  free_trial: number;
  tags: string[];
  limits: Record<string, number>;
  domain_cost_cents: number;
  mailbox_cost_cents: number;
  parent_uid: string | null;
  features: Feature[];
}

// Runs first: the demo seed only loads into an empty catalog.
describe('seed --demo', () => {
  it('loads the demo catalog and prints a reseller whose credentials work, then declines to seed twice', async () => {
    const r = await s.cli('seed', '--demo');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Demo catalog loaded');
    const id = Number(/^id: +(\d+)$/m.exec(r.stdout)![1]);
    const token = /^api_token: +(\S+)$/m.exec(r.stdout)![1]!;
    const key = /^api_key: +(\S+)$/m.exec(r.stdout)![1]!;
    const res = await s.t.app.server.inject({ method: 'GET', url: '/v1/packages/by_tag/cpanel', headers: { authorization: basic(token, key) } });
    expect(res.statusCode).toBe(200);
    expect((res.json() as unknown[]).length).toBe(3);
    const resellers = await s.cliJson<{ id: number }[]>('reseller', 'list');
    expect(resellers.map((x) => x.id)).toContain(id);

    const again = await s.cli('seed', '--demo');
    expect(again).toMatchObject({ code: 0, stdout: 'The catalog already has packages; nothing was seeded.\n' });
    expect(await s.cliJson('seed', '--demo')).toEqual({ created: false });
    const bare = await s.cli('seed');
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain("required option '--demo' not specified");
  });
});

describe('feature create and list', () => {
  it('creates a feature and lists it, in both forms', async () => {
    const code = unique('feat').replace(/-/g, '_');
    const created = await s.cliJson<Feature>('feature', 'create', '--name', 'Outbound Filtering', '--code', code, '--blurb', 'scans outgoing mail', '--description', 'Long text', '--position', '7');
    expect(created).toEqual({ id: expect.any(Number), code, name: 'Outbound Filtering', blurb: 'scans outgoing mail', description: 'Long text', position: 7 });
    const listed = await s.cliJson<Feature[]>('feature', 'list');
    expect(listed).toContainEqual(created);

    const table = await s.cli('feature', 'list');
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID +CODE +NAME +POS +BLURB$/);
    const row = rows.find((l) => l.includes(code))!;
    expect(row.indexOf('Outbound Filtering')).toBe(header!.indexOf('NAME'));

    const human = await s.cli('feature', 'create', '--name', 'No Code Feature');
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^name: +No Code Feature$/m);
    expect(human.stdout).toMatch(/^code: +-$/m);
  });

  it('reports a taken code (5), a blank name (5) and a position that is not a number (2)', async () => {
    const [taken, blank, position] = await Promise.all([
      s.cli('feature', 'create', '--name', 'Dup', '--code', 'anti_spam'),
      s.cli('feature', 'create', '--name', ' '),
      s.cli('feature', 'create', '--name', 'X', '--position', 'first'),
    ]);
    expect(taken.code).toBe(5);
    expect(taken.stderr).toContain('  code: has already been taken');
    expect(blank.code).toBe(5);
    expect(blank.stderr).toMatch(/^ {2}name: /m);
    expect(position.code).toBe(2);
    expect(position.stderr).toContain("hostplane: option '--position <n>' argument 'first' is invalid. must be a whole number");
  });
});

describe('package create, update and list', () => {
  it('creates a package from every option, and a reseller with its tag can order it', async () => {
    const features = await s.cliJson<Feature[]>('feature', 'list');
    const antiVirus = features.find((f) => f.code === 'anti_virus')!;
    const uid = unique('pkg');
    const tag = unique('tag');
    const created = await s.cliJson<Package>(
      'package', 'create', '--uid', uid, '--name', 'Gold', '--description', 'The works', '--position', '-1', '--free-trial', '21',
      '--tag', tag, '--feature', 'anti_spam', '--feature', String(antiVirus.id), '--domain-cost', '80', '--mailbox-cost', '160',
      '--max-users', '50', '--max-domains', '10', '--max-mail-servers', '3', '--parent', 'spamstopshere-standard',
    );
    expect(created).toMatchObject({
      uid, name: 'Gold', description: 'The works', position: -1, free_trial: 21, tags: [tag],
      domain_cost_cents: 80, mailbox_cost_cents: 160, limits: { max_users: 50, max_domains: 10, max_mail_servers: 3 }, parent_uid: 'spamstopshere-standard',
    });
    expect(created.features.map((f) => f.code)).toEqual(['anti_spam', 'anti_virus']);

    const listed = await s.cliJson<Package[]>('package', 'list');
    expect(listed.find((p) => p.uid === uid)).toEqual(created);
    const reseller = await createReseller(s.t, { tags: [tag] });
    const res = await s.t.app.server.inject({ method: 'GET', url: `/v1/packages/by_tag/${tag}`, headers: { authorization: reseller.auth } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toHaveLength(1);
  });

  it('prints packages as a table and one package as key: value lines', async () => {
    const uid = unique('plain');
    const human = await s.cli('package', 'create', '--uid', uid, '--name', 'Plain', '--feature', 'support', '--max-users', '5');
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^uid: +${uid}$`, 'm'));
    expect(human.stdout).toMatch(/^features: +support$/m);
    expect(human.stdout).toMatch(/^limits: +max_users=5$/m);
    expect(human.stdout).toMatch(/^parent_uid: +-$/m);

    const table = await s.cli('package', 'list');
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^UID +NAME +POS +TRIAL +DOMAIN¢ +MAILBOX¢ +TAGS +LIMITS +PARENT +FEATURES$/);
    expect(rows.find((l) => l.startsWith('spamstopshere-standard '))).toMatch(/ Standard +1 +30 +50 +100 +cpanel +max_mail_servers=1 +- +anti_spam, support$/);
    expect(rows.find((l) => l.startsWith(`${uid} `))!.indexOf('Plain')).toBe(header!.indexOf('NAME'));
  });

  it('updates only the given fields, keeping the limits not mentioned', async () => {
    const uid = unique('upd');
    await s.cliJson('package', 'create', '--uid', uid, '--name', 'Before', '--tag', 'a', '--max-users', '5', '--max-domains', '2', '--parent', 'spamstopshere-standard', '--feature', 'anti_spam');
    const updated = await s.cliJson<Package>('package', 'update', uid, '--name', 'After', '--max-users', '9', '--feature', 'archiving', '--feature', 'support');
    expect(updated).toMatchObject({ uid, name: 'After', tags: ['a'], limits: { max_users: 9, max_domains: 2 }, parent_uid: 'spamstopshere-standard' });
    expect(updated.features.map((f) => f.code)).toEqual(['archiving', 'support']);

    const human = await s.cli('package', 'update', uid, '--no-parent', '--mailbox-cost', '0', '--free-trial', '0');
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^parent_uid: +-$/m);
    expect(human.stdout).toMatch(/^name: +After$/m);
    const after = (await s.cliJson<Package[]>('package', 'list')).find((p) => p.uid === uid)!;
    expect(after).toMatchObject({ parent_uid: null, mailbox_cost_cents: 0, free_trial: 0, name: 'After', limits: { max_users: 9, max_domains: 2 } });
  });

  it('sets and clears a SaaS template database, refusing a name that is not a plain identifier', async () => {
    const uid = unique('tpl');
    const created = await s.cliJson<Package & { template_database: string | null }>('package', 'create', '--uid', uid, '--name', 'Odoo', '--template-database', 'odoo_template_14');
    expect(created.template_database).toBe('odoo_template_14');
    const changed = await s.cliJson<Package & { template_database: string | null }>('package', 'update', uid, '--template-database', 'other_tpl');
    expect(changed.template_database).toBe('other_tpl');
    for (const bad of ['x"; drop database postgres; --', 'Upper', '1digit', 'a'.repeat(64), 'with-dash', 'tpl ']) {
      const r = await s.cli('package', 'update', uid, '--template-database', bad);
      expect(r.code, bad).toBe(5);
      expect(r.stderr, bad).toContain('  template_database: must be a plain database name');
    }
    expect((await s.cliJson<(Package & { template_database: string | null })[]>('package', 'list')).find((p) => p.uid === uid)!.template_database).toBe('other_tpl');
    const cleared = await s.cliJson<Package & { template_database: string | null }>('package', 'update', uid, '--no-template-database');
    expect(cleared.template_database).toBeNull();
  });

  it('maps package failures to exit codes with the field messages', async () => {
    const [unknown, nothing, negative, fraction, badFeature, dup, selfParent] = await Promise.all([
      s.cli('package', 'update', 'no-such-package', '--name', 'X'),
      s.cli('package', 'update', 'spamstopshere-standard'),
      s.cli('package', 'create', '--uid', unique('neg'), '--name', 'Neg', '--free-trial', '-1'),
      s.cli('package', 'create', '--uid', unique('frac'), '--name', 'Frac', '--domain-cost', '1.5'),
      s.cli('package', 'create', '--uid', unique('feat'), '--name', 'F', '--feature', 'no_such_feature', '--parent', 'no-such-parent'),
      s.cli('package', 'create', '--uid', 'spamstopshere-standard', '--name', 'Dup'),
      s.cli('package', 'update', 'spamstopshere-standard', '--parent', 'spamstopshere-standard'),
    ]);
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toBe('hostplane: package not found\n');
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('nothing to update');
    expect(negative.code).toBe(5);
    expect(negative.stderr).toContain('  free_trial: must be 0 or more');
    expect(fraction.code).toBe(2);
    expect(fraction.stderr).toContain("option '--domain-cost <cents>' argument '1.5' is invalid. must be a whole number");
    expect(badFeature.code).toBe(5);
    expect(badFeature.stderr).toContain('  features: "no_such_feature" is not a known feature');
    expect(badFeature.stderr).toContain('  parent_uid: is not a known package');
    expect(dup.code).toBe(5);
    expect(dup.stderr).toContain('  uid: has already been taken');
    expect(selfParent.code).toBe(5);
    expect(selfParent.stderr).toContain('  parent_uid: cannot be the package itself');
    const missing = await s.cli('package', 'create', '--name', 'No uid');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("required option '--uid <uid>' not specified");
  });
});
