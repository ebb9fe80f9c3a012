import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiscpServer, withSiteNames, type ApiscpServer } from './apiscp-harness.js';

// Seed 002's shell session, command for command, through the real bin/ tools on PATH against a
// listening server. Site numbers differ from the seed's (site143, site146, ...): outputs are compared
// after naming the sites MASTER, CHILD1 and CHILD2.
let s: ApiscpServer;
const ids: Record<string, number> = {};
beforeAll(async () => {
  s = await startApiscpServer();
});
afterAll(() => s.close());

const lines = (...l: string[]) => `${l.join('\n')}\n`;
const named = (text: string) => withSiteNames(text, ids);

describe('seed 002: account groups', () => {
  it('creates the three sites of the example', async () => {
    const r = await s.sh(`
AddDomain -c siteinfo,domain=test-domain.com -c siteinfo,admin_user=test-admin -c billing,invoice=master-invoice-123
AddDomain -c siteinfo,domain=test-domain-child1.com -c siteinfo,admin_user=test-child-1 -c billing,parent_invoice=master-invoice-123
AddDomain -c siteinfo,domain=test-domain-child2.com -c siteinfo,admin_user=test-child-2 -c billing,parent_invoice=master-invoice-123
`);
    expect(r.code, r.stderr).toBe(0);
    const created = [...r.stdout.matchAll(/^INFO {4}: site(\d+) \((\S+)\) created$/gm)].map((m) => [m[2], Number(m[1])] as const);
    expect(created.map(([d]) => d)).toEqual(['test-domain.com', 'test-domain-child1.com', 'test-domain-child2.com']);
    ids.MASTER = created[0]![1];
    ids.CHILD1 = created[1]![1];
    ids.CHILD2 = created[2]![1];
    // A site is a client: the same record, seen through the operator's admin API.
    const client = await s.t.app.server.inject({ method: 'GET', url: `/admin/v1/clients/${ids.CHILD1}`, headers: { authorization: `Bearer ${s.t.operatorKey}` } });
    expect(client.statusCode).toBe(200);
    expect(client.json()).toMatchObject({ id: ids.CHILD1, email_address: 'blackhole@apiscp.com', domains: [{ name: 'test-domain-child1.com' }] });
  });

  it('admin:collect finds the subordinates in all three filter forms', async () => {
    const forms = [`'[billing.parent_invoice:master-invoice-123]'`, `'["billing,parent_invoice":master-invoice-123]'`, `'[billing:[parent_invoice:master-invoice-123]]'`];
    const outputs = [];
    for (const form of forms) {
      const r = await s.sh(`cpcmd admin:collect '[siteinfo.domain,diskquota.quota,ssh.enabled]' ${form}`);
      expect(r.code, r.stderr).toBe(0);
      outputs.push(named(r.stdout));
    }
    expect(outputs[1]).toBe(outputs[0]);
    expect(outputs[2]).toBe(outputs[0]);
    expect(Object.keys(ids)).toHaveLength(3);
    expect(outputs[0]).toMatch(/^CHILD1:\n {2}siteinfo: \{ domain: test-domain-child1\.com \}\n {2}diskquota: \{ quota: \d+ \}\n {2}ssh: \{ enabled: 1 \}\n {2}active: true\n {2}domain: test-domain-child1\.com\nCHILD2:\n/);
  });

  it('EditDomain on the invoice boosts the quota of the master and both subordinates', async () => {
    const r = await s.sh('EditDomain -c diskquota,quota=5000 master-invoice-123');
    expect(r.code, r.stderr).toBe(0);
    const children = await s.sh(`cpcmd admin:collect '[siteinfo.domain,diskquota.quota,ssh.enabled]' '[billing:[parent_invoice:master-invoice-123]]'`);
    expect(named(children.stdout)).toBe(
      lines(
        'CHILD1:',
        '  siteinfo: { domain: test-domain-child1.com }',
        '  diskquota: { quota: 5000 }',
        '  ssh: { enabled: 1 }',
        '  active: true',
        '  domain: test-domain-child1.com',
        'CHILD2:',
        '  siteinfo: { domain: test-domain-child2.com }',
        '  diskquota: { quota: 5000 }',
        '  ssh: { enabled: 1 }',
        '  active: true',
        '  domain: test-domain-child2.com',
      ),
    );
    const master = await s.sh(`cpcmd admin:collect '[siteinfo.domain,diskquota.quota,ssh.enabled]' '[billing:[invoice:master-invoice-123]]'`);
    expect(named(master.stdout)).toBe(lines('MASTER:', '  siteinfo: { domain: test-domain.com }', '  diskquota: { quota: 5000 }', '  ssh: { enabled: 1 }', '  active: true', '  domain: test-domain.com'));
  });

  it('the jq loop edits the subordinates one by one and leaves the master alone', async () => {
    const r = await s.sh(`
cpcmd -o json admin:collect '[]' '[billing:[parent_invoice:master-invoice-123]]' | jq -r 'keys[]' | while read -r SITE ; do
EditDomain -c diskquota,quota=6000 $SITE
done
`);
    expect(r.code, r.stderr).toBe(0);
    const quotas = JSON.parse((await s.sh(`cpcmd -o json admin:collect '[diskquota.quota]' '[billing:[invoice:master-invoice-123]]'`)).stdout);
    expect(quotas).toEqual({ [`site${ids.MASTER}`]: { diskquota: { quota: 5000 }, active: true, domain: 'test-domain.com' } });
    const children = JSON.parse((await s.sh(`cpcmd -o json admin:collect '[diskquota.quota]' '[billing.parent_invoice:master-invoice-123]'`)).stdout);
    expect(Object.values(children as Record<string, { diskquota: { quota: number } }>).map((c) => c.diskquota.quota)).toEqual([6000, 6000]);
  });

  it('turns subordinate SSO off with scope:set', async () => {
    const r = await s.sh('cpcmd scope:set cp.config auth subordinate_site_sso false');
    expect(r).toMatchObject({ code: 0, stdout: '1\n' });
    expect((await s.sh('cpcmd scope:get cp.config auth subordinate_site_sso')).stdout).toBe('0\n');
    expect((await s.sh('cpcmd scope:set cp.config auth subordinate_site_sso true')).code).toBe(0);
  });

  it('SuspendDomain on the invoice: collect shows active false with the default fields; auth:is-inactive prints 1', async () => {
    const r = await s.sh('SuspendDomain master-invoice-123');
    expect(r.code, r.stderr).toBe(0);
    const collected = await s.sh(`cpcmd admin:collect '[]' '[billing:[parent_invoice:master-invoice-123]]'`);
    expect(named(collected.stdout)).toBe(
      lines(
        'CHILD1:',
        '  siteinfo: { email: blackhole@apiscp.com, admin_user: test-child-1 }',
        '  aliases: { aliases: { } }',
        '  billing: { invoice: null, parent_invoice: master-invoice-123 }',
        '  active: false',
        '  domain: test-domain-child1.com',
        'CHILD2:',
        '  siteinfo: { email: blackhole@apiscp.com, admin_user: test-child-2 }',
        '  aliases: { aliases: { } }',
        '  billing: { invoice: null, parent_invoice: master-invoice-123 }',
        '  active: false',
        '  domain: test-domain-child2.com',
      ),
    );
    expect(await s.sh('cpcmd -d test-domain-child2.com auth:is-inactive')).toMatchObject({ code: 0, stdout: '1\n' });
    // The active filter is the special query key.
    const inactive = JSON.parse((await s.sh(`cpcmd -o json admin:collect '[siteinfo.domain]' '[active:false]'`)).stdout);
    expect(Object.keys(inactive).sort()).toEqual([`site${ids.MASTER}`, `site${ids.CHILD1}`, `site${ids.CHILD2}`].sort());
  });

  it('ActivateDomain takes the group out of the inactive state', async () => {
    expect((await s.sh('ActivateDomain master-invoice-123')).code).toBe(0);
    expect((await s.sh('cpcmd -d test-domain-child2.com auth:is-inactive')).stdout).toBe('0\n');
  });

  it('DeleteDomain --dry-run lists every site of the invoice; with --since=now only the suspended one; nothing is deleted', async () => {
    const all = await s.sh('DeleteDomain --dry-run master-invoice-123');
    expect(all.code, all.stderr).toBe(0);
    expect(named(all.stdout)).toBe(
      lines(
        'INFO    : MASTER (test-domain.com; no suspension date) will be deleted',
        'INFO    : CHILD1 (test-domain-child1.com; no suspension date) will be deleted',
        'INFO    : CHILD2 (test-domain-child2.com; no suspension date) will be deleted',
      ),
    );
    expect((await s.sh('SuspendDomain test-domain-child2.com')).code).toBe(0);
    const since = await s.sh('DeleteDomain --dry-run --since=now master-invoice-123');
    const today = new Date().toISOString().slice(0, 10);
    expect(named(since.stdout)).toBe(lines(`INFO    : CHILD2 (test-domain-child2.com; suspension date ${today}) will be deleted`));
    const left = JSON.parse((await s.sh(`cpcmd -o json admin:collect '[siteinfo.domain]' '[billing.parent_invoice:master-invoice-123]'`)).stdout);
    expect(Object.keys(left)).toHaveLength(2);
  });

  it('schedules the periodic clean-up with the opcenter.account-cleanup scope', async () => {
    expect(await s.sh(`cpcmd scope:set opcenter.account-cleanup '30 days'`)).toMatchObject({ code: 0, stdout: '1\n' });
    expect((await s.sh('cpcmd scope:get opcenter.account-cleanup')).stdout).toBe('30 days\n');
  });

  it('on a terminal, a group command shows that it is working and how many sites it covered', async () => {
    // `script` gives the command a pseudo-terminal, as an operator's shell would.
    const r = await s.sh(`script -qec 'DeleteDomain --dry-run master-invoice-123' /dev/null`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('admin:delete-site: working...');
    expect(r.stdout).toMatch(/admin:delete-site: done \(3 sites\) in \d+\.\ds/);
    // Piped, as in the jq loop, the same command prints only its result.
    const piped = await s.sh('DeleteDomain --dry-run master-invoice-123 2>&1 | cat');
    expect(piped.stdout).not.toContain('working');
  });
});
