import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliResult } from '../cli/cli-harness.js';
import { auditMark, auditSince } from '../support/audit.js';
import { BIN_DIR, expectServerUnchanged, serverSnapshot, startApiscpServer, type ApiscpServer, type ServerSnapshot } from './apiscp-harness.js';

/** The basic plan as admin:get-plan prints it in JSON: every value a plan may set, from the base plan. */
const BASIC_PLAN_JSON =
  '{"mysql":{"enabled":1,"dbaseprefix":null,"dbaseadmin":null,"dbasenum":null},"pgsql":{"enabled":1,"dbaseprefix":null,"dbaseadmin":null,"dbasenum":null},"diskquota":{"quota":1024,"units":"MB","fquota":null},"bandwidth":{"enabled":1,"threshold":null,"units":"MB","rollover":1},"aliases":{"enabled":1,"max":null},"users":{"enabled":1},"sites":{"max":null},"ssh":{"enabled":1,"jail":1},"apache":{"enabled":1},"php":{"enabled":1},"ftp":{"enabled":1},"logs":{"enabled":1},"mail":{"enabled":1},"ssl":{"enabled":1},"spamfilter":{"enabled":1,"provider":"rspamd"},"rampart":{"enabled":1,"max":null,"whitelist":[]},"cgroup":{"enabled":1,"memory":null,"cpu":null,"cpuweight":null,"proclimit":null,"ioweight":null,"readbw":null,"writebw":null,"readiops":null,"writeiops":null},"dns":{"enabled":1,"provider":"builtin"},"ipinfo":{"enabled":1,"namebased":1}}';

// The ApisCP tools (cpcmd, AddDomain, EditDomain, SuspendDomain, ActivateDomain, DeleteDomain) as an
// operator's script meets them: exit codes, `ERROR   : ...` lines on stderr, and no change on the
// server when a command is refused (re-collected and compared). Runs the built dist/.
let s: ApiscpServer;
/** An address where nothing listens: a tool that tried to call the server would exit 7. */
let closedUrl: string;
let emptyDataDir: string;
let plainId: number;
let group: { master: number; sub: number };

const ERROR_LINE = /^ERROR {3}: \S/m;

interface Run {
  tool: string;
  args: string[];
  env?: Record<string, string>;
}

function run({ tool, args, env = {} }: Run): Promise<CliResult> {
  const base = { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), HOSTPLANE_URL: s.url, HOSTPLANE_API_KEY: s.t.operatorKey };
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(BIN_DIR, tool), ...args], { env: { ...base, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

/** Runs the tools two at a time (CI machines are small); results in the order given. */
async function runAll(runs: Run[]): Promise<CliResult[]> {
  const out: CliResult[] = new Array<CliResult>(runs.length);
  let next = 0;
  const worker = async () => {
    while (next < runs.length) {
      const i = next++;
      out[i] = await run(runs[i]!);
    }
  };
  await Promise.all([worker(), worker()]);
  return out;
}

async function ok(name: string, args: unknown[] = [], extra: Record<string, unknown> = {}): Promise<unknown> {
  const r = await s.fn(name, args, extra);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.result;
}

const snapshot = () => serverSnapshot(s);
const expectUnchanged = (before: ServerSnapshot) => expectServerUnchanged(s, before);

interface Refusal extends Run {
  code: number;
  /** The tool's usage follows the error. */
  usage?: boolean;
  /** Every ERROR line the tool printed, in order. */
  errors: (string | RegExp)[];
}

/** Each command must fail with its exit code and ERROR lines, print nothing on stdout, and change nothing. */
async function expectRefused(cases: Refusal[]): Promise<void> {
  const before = await snapshot();
  const results = await runAll(cases);
  for (const [i, c] of cases.entries()) {
    const r = results[i]!;
    const label = `${c.tool} ${c.args.join(' ')}`;
    expect(r.code, `${label}: ${r.stderr}`).toBe(c.code);
    expect(r.stdout, label).toBe('');
    expect(r.stderr, label).toMatch(ERROR_LINE);
    if (c.usage) expect(r.stderr, label).toContain(`\n\nUsage: ${c.tool} `);
    else expect(r.stderr, label).not.toContain('Usage:');
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('ERROR   : ')).map((l) => l.slice('ERROR   : '.length));
    expect(lines, label).toHaveLength(c.errors.length);
    for (const [n, e] of c.errors.entries()) {
      if (typeof e === 'string') expect(lines[n], label).toBe(e);
      else expect(lines[n], label).toMatch(e);
    }
  }
  await expectUnchanged(before);
}

beforeAll(async () => {
  s = await startApiscpServer();
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  closedUrl = `http://127.0.0.1:${port}`;
  emptyDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostplane-apiscp-cli-'));

  await ok('admin:add-site', ['cli-plain.example', 'cliplain']);
  await ok('admin:add-site', ['cli-master.example', 'climaster', { 'billing.invoice': 'CLI-INV' }]);
  await ok('admin:add-site', ['cli-sub.example', 'clisub', { 'billing.parent_invoice': 'CLI-INV' }]);
  const ids = Object.keys((await ok('admin:collect', [[], [], ['CLI-INV']])) as object).map((k) => Number(k.slice(4)));
  group = { master: ids[0]!, sub: ids[1]! };
  plainId = Number(Object.keys((await ok('admin:collect', [[], { 'siteinfo.domain': 'cli-plain.example' }])) as object)[0]!.slice(4));
});
afterAll(async () => {
  if (emptyDataDir) fs.rmSync(emptyDataDir, { recursive: true, force: true });
  await s?.close();
});

describe('credentials and reachability', () => {
  it('a wrong or missing operator key exits 3 with an ERROR line; nothing changes', async () => {
    const wrong = { HOSTPLANE_API_KEY: 'hp_op_not-a-real-key' };
    await expectRefused([
      { tool: 'cpcmd', args: ['admin:collect'], env: wrong, code: 3, errors: ['invalid operator key'] },
      { tool: 'cpcmd', args: ['admin:add-site', 'intruder.example', 'intruder'], env: wrong, code: 3, errors: ['invalid operator key'] },
      { tool: 'AddDomain', args: ['-c', 'siteinfo,domain=intruder.example', '-c', 'siteinfo,admin_user=intruder'], env: wrong, code: 3, errors: ['invalid operator key'] },
      { tool: 'SuspendDomain', args: ['cli-plain.example'], env: { HOSTPLANE_API_KEY: 'not-an-operator-key' }, code: 3, errors: ['invalid operator key'] },
      { tool: 'DeleteDomain', args: ['cli-plain.example'], env: wrong, code: 3, errors: ['invalid operator key'] },
      {
        tool: 'cpcmd',
        args: ['admin:collect'],
        env: { HOSTPLANE_API_KEY: '', HOSTPLANE_DATA_DIR: emptyDataDir },
        code: 3,
        errors: [/^no operator key: cannot read .*operator-key \(it does not exist\); set HOSTPLANE_API_KEY/],
      },
    ]);
  });

  it('a server that is not running exits 7; a malformed HOSTPLANE_URL exits 1', async () => {
    const [down, verb, badUrl] = await runAll([
      { tool: 'cpcmd', args: ['admin:list-plans'], env: { HOSTPLANE_URL: closedUrl } },
      { tool: 'SuspendDomain', args: ['cli-plain.example'], env: { HOSTPLANE_URL: closedUrl } },
      { tool: 'cpcmd', args: ['admin:list-plans'], env: { HOSTPLANE_URL: 'ftp://example.test' } },
    ]);
    expect(down).toMatchObject({ code: 7, stdout: '' });
    expect(down!.stderr).toBe(`ERROR   : cannot reach the Hostplane server at ${closedUrl} (ECONNREFUSED); is it running? Set HOSTPLANE_URL to its address\n`);
    expect(verb).toMatchObject({ code: 7, stdout: '' });
    expect(verb!.stderr).toMatch(/^ERROR {3}: cannot reach the Hostplane server/);
    expect(badUrl).toMatchObject({ code: 1, stdout: '' });
    expect(badUrl!.stderr).toMatch(/^ERROR {3}: HOSTPLANE_URL must be an http\(s\) URL/);
  });
});

describe('usage errors exit 2 before anything is sent', () => {
  // Pointed at a closed port: had a tool tried to call the server, it would have exited 7.
  const offline = (tool: string, args: string[], error: string | RegExp): Refusal => ({ tool, args, env: { HOSTPLANE_URL: closedUrl }, code: 2, errors: [error] });
  const usage = (r: Refusal): Refusal => ({ ...r, usage: true });

  it('malformed cli arguments name the argument and the column', async () => {
    await expectRefused([
      offline('cpcmd', ['admin:collect', '[a,b'], /^argument 1 \("\[a,b"\): invalid cli argument at column 5: expected ',' or ']' to close the '\[' at column 1/),
      offline('cpcmd', ['admin:collect', '[]', '[a:1,b]'], /^argument 2 \("\[a:1,b\]"\): invalid cli argument at column 6: expected 'key:value': this group is a map because its first element is a pair/),
      offline('cpcmd', ['admin:collect', '[a,,b]'], /^argument 1 \("\[a,,b\]"\): invalid cli argument at column 4: /),
      offline('cpcmd', ['admin:collect', '[a]]'], /^argument 1 \("\[a\]\]"\): invalid cli argument at column 4: expected the end of the argument/),
      offline('cpcmd', ['admin:edit-site', 'x.example', '["unterminated:1]'], /^argument 2 .*: invalid cli argument at column \d+: /),
      offline('AddDomain', ['-c', 'siteinfo,domain=x.example', '-c', 'siteinfo,admin_user=x', '-c', 'aliases,aliases=[a.example,b.example'], /^-c "aliases,aliases=\[a\.example,b\.example": invalid cli argument at column 21: expected ',' or ']'/),
      offline('EditDomain', ['-c', 'aliases,aliases=[a:1,b]', 'cli-plain.example'], /^-c "aliases,aliases=\[a:1,b\]": invalid cli argument at column 6: /),
    ]);
  });

  it('unknown options, a bad output format, a missing or malformed function name', async () => {
    await expectRefused([
      usage(offline('cpcmd', ['--bogus', 'admin:collect'], 'unknown option --bogus')),
      offline('cpcmd', ['-o', 'xml', 'admin:collect'], '-o must be yaml or json, not "xml"'),
      usage(offline('cpcmd', ['-d'], '-d needs a value')),
      usage(offline('cpcmd', [], 'missing module:function')),
      offline('cpcmd', ['collect'], '"collect" is not a module:function name'),
      offline('cpcmd', ['admin:coll ect'], '"admin:coll ect" is not a module:function name'),
      usage(offline('AddDomain', ['--bogus'], 'unknown option --bogus')),
      usage(offline('EditDomain', ['--force', '-c', 'diskquota,quota=1', 'cli-plain.example'], 'unknown option --force')),
      usage(offline('SuspendDomain', ['-c', 'ssh,enabled=0', 'cli-plain.example'], '-c is not an option of this command')),
      usage(offline('ActivateDomain', ['--reason=paid', 'cli-plain.example'], 'unknown option --reason=paid')),
      usage(offline('DeleteDomain', ['--dry-run=yes', 'cli-plain.example'], 'unknown option --dry-run=yes')),
    ]);
  });

  it('AddDomain needs well-formed -c values; EditDomain exactly one target; the others at least one', async () => {
    await expectRefused([
      offline('AddDomain', ['-c', 'siteinfo.domain=x.example', '-c', 'siteinfo,admin_user=x'], '-c "siteinfo.domain=x.example": expected service,param=value (e.g. siteinfo,domain=example.com)'),
      offline('AddDomain', ['-c', 'siteinfo,domain'], '-c "siteinfo,domain": expected service,param=value (e.g. siteinfo,domain=example.com)'),
      usage(offline('AddDomain', ['-c'], '-c needs service,param=value')),
      usage(offline('AddDomain', ['-c', 'siteinfo,domain=x.example', 'extra'], 'unexpected argument extra')),
      usage(offline('EditDomain', ['-c', 'diskquota,quota=1'], 'name one site, domain or invoice')),
      usage(offline('EditDomain', ['-c', 'diskquota,quota=1', 'cli-plain.example', 'cli-sub.example'], 'name one site, domain or invoice')),
      usage(offline('SuspendDomain', ['--reason', 'unpaid'], 'name at least one site, domain or invoice')),
      usage(offline('ActivateDomain', [], 'name at least one site, domain or invoice')),
      usage(offline('DeleteDomain', [], 'name a site, domain or invoice, or select suspended sites with --since')),
      usage(offline('DeleteDomain', ['--dry-run', '--match=unpaid'], 'name a site, domain or invoice, or select suspended sites with --since')),
    ]);
  });

  it('--help of every tool exits 0 and prints its usage', async () => {
    const tools = ['cpcmd', 'AddDomain', 'EditDomain', 'SuspendDomain', 'ActivateDomain', 'DeleteDomain'];
    const results = await runAll([...tools.map((tool) => ({ tool, args: ['--help'], env: { HOSTPLANE_URL: closedUrl } })), { tool: 'AddDomain', args: ['-h'], env: { HOSTPLANE_URL: closedUrl } }]);
    for (const [i, r] of results.entries()) {
      const tool = tools[i] ?? 'AddDomain';
      expect(r.code, `${tool}: ${r.stderr}`).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout.startsWith(`Usage: ${tool} `), r.stdout).toBe(true);
    }
    expect(results[1]!.stdout).toContain('siteinfo,admin_user');
    expect(results[5]!.stdout).toContain('--since');
  });
});

describe('refused by the server', () => {
  it('unknown targets and functions exit 4', async () => {
    await expectRefused([
      { tool: 'cpcmd', args: ['admin:no-such-function'], code: 4, errors: ['function admin:no-such-function not found'] },
      { tool: 'cpcmd', args: ['-d', 'no-such-site.example', 'auth:is-inactive'], code: 4, errors: ['site, domain or invoice "no-such-site.example" not found'] },
      { tool: 'cpcmd', args: ['-d', 'cli-plain.example', '-u', 'nobody', 'common:whoami'], code: 4, errors: [`user nobody of site${plainId} not found`] },
      { tool: 'cpcmd', args: ['-d', 'cli-plain.example', '-u', 'nobody', 'auth:change-password', 'long-enough-password'], code: 4, errors: [`user nobody of site${plainId} not found`] },
      { tool: 'EditDomain', args: ['-c', 'diskquota,quota=1', 'no-such-site.example'], code: 4, errors: ['site, domain or invoice "no-such-site.example" not found'] },
      { tool: 'SuspendDomain', args: ['site999999999'], code: 4, errors: ['site, domain or invoice "site999999999" not found'] },
      { tool: 'ActivateDomain', args: ['NO-SUCH-INVOICE'], code: 4, errors: ['site, domain or invoice "NO-SUCH-INVOICE" not found'] },
      { tool: 'DeleteDomain', args: ['no-such-site.example'], code: 4, errors: ['site, domain or invoice "no-such-site.example" not found'] },
    ]);
  });

  it('a command naming several targets changes none of them when one is unknown', async () => {
    await expectRefused([
      { tool: 'SuspendDomain', args: ['cli-plain.example', 'no-such-site.example'], code: 4, errors: ['site, domain or invoice "no-such-site.example" not found'] },
      { tool: 'DeleteDomain', args: ['cli-plain.example', 'no-such-site.example'], code: 4, errors: ['site, domain or invoice "no-such-site.example" not found'] },
    ]);
    await ok('admin:deactivate-site', ['cli-plain.example']);
    await expectRefused([{ tool: 'ActivateDomain', args: ['cli-plain.example', 'no-such-site.example'], code: 4, errors: ['site, domain or invoice "no-such-site.example" not found'] }]);
    await ok('admin:activate-site', ['cli-plain.example']);
  });

  it('several targets are one deletion: a master whose subordinates stay refuses the whole command', async () => {
    // Named with a site that could go alone: nothing is deleted, not even that site.
    const refusal = `site${group.master} (cli-master.example) is the master of 1 site(s) that are not being deleted (site${group.sub}); delete the whole invoice or use --force`;
    await expectRefused([
      { tool: 'DeleteDomain', args: ['cli-plain.example', 'cli-master.example'], code: 6, errors: [refusal] },
      { tool: 'DeleteDomain', args: ['--dry-run', 'cli-plain.example', `site${group.master}`], code: 6, errors: [refusal] },
      { tool: 'DeleteDomain', args: ['cli-plain.example', 'cli-sub.example', 'no-such-site.example'], code: 4, errors: ['site, domain or invoice "no-such-site.example" not found'] },
    ]);
  });

  it('bad values exit 5 with one ERROR line per problem, naming the parameter', async () => {
    await expectRefused([
      { tool: 'AddDomain', args: [], code: 5, errors: ['siteinfo,domain: a value is required', 'siteinfo,admin_user: a value is required'] },
      { tool: 'AddDomain', args: ['-c', 'siteinfo,domain=cli-plain.example', '-c', 'siteinfo,admin_user=someone'], code: 5, errors: ['cli-plain.example: domain already belongs to a site'] },
      { tool: 'AddDomain', args: ['-c', 'siteinfo,domain=cli-new.example', '-c', 'siteinfo,admin_user=someone', '-c', 'diskquota,quota=lots'], code: 5, errors: ['diskquota,quota: "lots" is not a whole number'] },
      { tool: 'AddDomain', args: ['-c', 'siteinfo,domain=cli-new.example', '-c', 'siteinfo,admin_user=someone', '-c', 'nosuch,param=1'], code: 5, errors: ['nosuch: unknown service'] },
      { tool: 'AddDomain', args: ['-c', 'siteinfo,domain=cli-new.example', '-c', 'siteinfo,admin_user=someone', '--plan', 'no-such-plan'], code: 5, errors: ['siteinfo,plan: no plan named no-such-plan'] },
      { tool: 'EditDomain', args: ['cli-plain.example'], code: 5, errors: ['nothing to change: give at least one service,param=value'] },
      { tool: 'EditDomain', args: ['-c', 'siteinfo,domain=cli-renamed.example', 'CLI-INV'], code: 5, errors: ['siteinfo,domain can only be changed on one site at a time; CLI-INV names 2'] },
      { tool: 'SuspendDomain', args: ['--reason', 'x'.repeat(501), 'cli-plain.example'], code: 5, errors: ['reason: must be text of at most 500 characters'] },
      { tool: 'DeleteDomain', args: ['--since=next tuesday'], code: 5, errors: ['since: cannot read "next tuesday" as a time: use now, a relative time such as "30 days", a unix time or an ISO date'] },
      { tool: 'DeleteDomain', args: ['--match=(unclosed', 'cli-plain.example'], code: 5, errors: ['match: must be a regular expression of at most 200 characters'] },
      { tool: 'cpcmd', args: ['admin:add-site', 'not a domain', 'someone'], code: 5, errors: ['siteinfo,domain: "not a domain" is not a valid domain name'] },
      { tool: 'cpcmd', args: ['admin:list-plans', 'extra'], code: 5, errors: ['admin:list-plans takes at most 0 argument(s) (none), got 1'] },
      { tool: 'cpcmd', args: ['-u', 'cliplain', 'common:whoami'], code: 5, errors: ['-u USER names a user of a site: pass -d SITE too'] },
      { tool: 'cpcmd', args: ['scope:set', 'opcenter.account-cleanup', 'thirty days'], code: 5, errors: ['opcenter.account-cleanup: "thirty days" is not a time span such as "30 days"'] },
    ]);
  });

  it('deleting a master whose subordinates stay exits 6; so does entering a suspended site', async () => {
    await expectRefused([
      {
        tool: 'DeleteDomain',
        args: ['cli-master.example'],
        code: 6,
        errors: [`site${group.master} (cli-master.example) is the master of 1 site(s) that are not being deleted (site${group.sub}); delete the whole invoice or use --force`],
      },
      { tool: 'DeleteDomain', args: ['--dry-run', `site${group.master}`], code: 6, errors: [/is the master of 1 site\(s\)/] },
    ]);
    await ok('admin:deactivate-site', ['cli-sub.example']);
    await expectRefused([{ tool: 'cpcmd', args: ['admin:hijack', 'cli-sub.example'], code: 6, errors: [`site${group.sub} is suspended; it cannot be entered`] }]);
    await ok('admin:activate-site', ['cli-sub.example']);
  });
});

describe('the tools at work', () => {
  it('add, preview, edit, suspend, list, activate and delete a site', async () => {
    const r = await s.sh(`
AddDomain -c siteinfo,domain=cli-life.example -c siteinfo,admin_user=clilife -c diskquota,quota=2000 -c 'aliases,aliases=[www.cli-life.example]'
EditDomain --dry-run -c diskquota,quota=3000 cli-life.example
cpcmd -o json admin:collect '[diskquota.quota]' '[]' '[cli-life.example]'
EditDomain -c diskquota,quota=3000 cli-life.example
SuspendDomain --reason 'unpaid invoice' cli-life.example
DeleteDomain --dry-run --since=now --match=^unpaid cli-life.example
ActivateDomain cli-life.example
cpcmd -d cli-life.example auth:is-inactive
DeleteDomain cli-life.example
cpcmd -o json admin:collect '[]' '[]' '[cli-life.example]'
`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const id = /^INFO {4}: site(\d+) \(cli-life\.example\) created$/m.exec(r.stdout)?.[1];
    expect(id).toBeDefined();
    const today = new Date().toISOString().slice(0, 10);
    expect(r.stdout).toBe(
      [
        `INFO    : site${id} (cli-life.example) created`,
        `INFO    : site${id} (cli-life.example): diskquota,quota 2000 -> 3000 (dry run)`,
        `{"cli-life.example":{"diskquota":{"quota":2000},"active":true,"domain":"cli-life.example"}}`,
        `INFO    : site${id} (cli-life.example): diskquota,quota 2000 -> 3000`,
        `INFO    : site${id} (cli-life.example; suspension date ${today}) will be deleted`,
        '0',
        `INFO    : site${id} (cli-life.example; no suspension date) deleted`,
        // Nothing left: PHP's json_encode of an empty array.
        '[]',
        '',
      ].join('\n'),
    );
    // The alias went with the site: both names are free again.
    expect(await ok('admin:collect', [[], [], ['cli-life.example', 'www.cli-life.example']])).toEqual({});
  });

  it('SuspendDomain and ActivateDomain take several targets', async () => {
    const r = await s.sh(`SuspendDomain cli-plain.example site${group.sub}`);
    expect(r.code, r.stderr).toBe(0);
    expect(await ok('admin:collect', [['siteinfo.domain'], { active: false }])).toEqual({
      [`site${plainId}`]: { siteinfo: { domain: 'cli-plain.example' }, active: false, domain: 'cli-plain.example' },
      [`site${group.sub}`]: { siteinfo: { domain: 'cli-sub.example' }, active: false, domain: 'cli-sub.example' },
    });
    expect((await s.sh(`ActivateDomain cli-plain.example ${group.sub}`)).code).toBe(0);
    expect(await ok('admin:collect', [['siteinfo.domain'], { active: false }])).toEqual({});
  });

  it('DeleteDomain with several targets deletes them together, in the order named', async () => {
    await ok('admin:add-site', ['cli-multi.example', 'climulti']);
    await ok('admin:add-site', ['cli-mm-master.example', 'climmmaster', { 'billing.invoice': 'CLI-MM' }]);
    await ok('admin:add-site', ['cli-mm-sub.example', 'climmsub', { 'billing.parent_invoice': 'CLI-MM' }]);
    const id = async (domain: string) => Number(Object.keys((await ok('admin:collect', [[], { 'siteinfo.domain': domain }])) as object)[0]!.slice(4));
    const [multi, master, sub] = [await id('cli-multi.example'), await id('cli-mm-master.example'), await id('cli-mm-sub.example')];
    const r = await s.sh(`
DeleteDomain --dry-run cli-mm-sub.example cli-multi.example cli-mm-master.example
DeleteDomain cli-mm-sub.example cli-multi.example cli-mm-master.example
cpcmd -o json admin:collect '[]' '[]' '[cli-multi.example,CLI-MM]'
`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      [
        `INFO    : site${sub} (cli-mm-sub.example; no suspension date) will be deleted`,
        `INFO    : site${multi} (cli-multi.example; no suspension date) will be deleted`,
        `INFO    : site${master} (cli-mm-master.example; no suspension date) will be deleted`,
        `INFO    : site${sub} (cli-mm-sub.example; no suspension date) deleted`,
        `INFO    : site${multi} (cli-multi.example; no suspension date) deleted`,
        `INFO    : site${master} (cli-mm-master.example; no suspension date) deleted`,
        '[]',
        '',
      ].join('\n'),
    );
  });

  it('DeleteDomain --force deletes a master and leaves its subordinates', async () => {
    await ok('admin:add-site', ['cli-fm-master.example', 'clifmmaster', { 'billing.invoice': 'CLI-FM' }]);
    await ok('admin:add-site', ['cli-fm-sub.example', 'clifmsub', { 'billing.parent_invoice': 'CLI-FM' }]);
    const r = await s.sh('DeleteDomain --force cli-fm-master.example');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^INFO {4}: site\d+ \(cli-fm-master\.example; no suspension date\) deleted\n$/);
    const left = (await ok('admin:collect', [['billing'], [], ['CLI-FM']])) as Record<string, unknown>;
    expect(Object.values(left)).toEqual([{ billing: { invoice: null, parent_invoice: 'CLI-FM' }, active: true, domain: 'cli-fm-sub.example' }]);
  });

  it('EditDomain --reset drops the site\'s own values back to its plan, then applies -c; prints what it changed', async () => {
    const add = await s.sh('AddDomain -c siteinfo,domain=cli-reset.example -c siteinfo,admin_user=clireset -c diskquota,quota=2000 -c ssh,enabled=0');
    expect(add.code, add.stderr).toBe(0);
    const id = /^INFO {4}: site(\d+) /.exec(add.stdout)![1];
    const before = await snapshot();
    const dry = await s.sh('EditDomain --dry-run --reset -c siteinfo,email=owner@cli-reset.example cli-reset.example');
    await expectUnchanged(before);
    const r = await s.sh(`
EditDomain --reset -c siteinfo,email=owner@cli-reset.example cli-reset.example
cpcmd -o json admin:collect '[siteinfo.email,diskquota.quota,ssh.enabled]' '[]' '[site${id}]'
`);
    expect(r.code, r.stderr).toBe(0);
    const changes = [`siteinfo,email "blackhole@apiscp.com" -> "owner@cli-reset.example"`, 'diskquota,quota 2000 -> 1024', 'ssh,enabled 0 -> 1'];
    expect(dry.stdout).toBe(changes.map((c) => `INFO    : site${id} (cli-reset.example): ${c} (dry run)\n`).join(''));
    expect(r.stdout).toBe(
      [...changes.map((c) => `INFO    : site${id} (cli-reset.example): ${c}`), `{"site${id}":{"siteinfo":{"email":"owner@cli-reset.example"},"diskquota":{"quota":1024},"ssh":{"enabled":1},"active":true,"domain":"cli-reset.example"}}`, ''].join('\n'),
    );
  });

  it('EditDomain is one call that answers with what it applied, not a preview followed by the edit', async () => {
    // On a terminal each call shows its progress line: one edit, one call.
    const r = await s.sh(`script -qec 'EditDomain -c diskquota,quota=4100 cli-plain.example' /dev/null`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.match(/admin:edit-site: done/g)).toHaveLength(1);
    expect(r.stdout).toMatch(/admin:edit-site: done \(1 site\) in \d+\.\ds/);
    expect(r.stdout).toContain(`INFO    : site${plainId} (cli-plain.example): diskquota,quota 1024 -> 4100`);
    expect((await ok('admin:collect', [['diskquota.quota'], [], ['cli-plain.example']])) as object).toEqual({ 'cli-plain.example': { diskquota: { quota: 4100 }, active: true, domain: 'cli-plain.example' } });
  });

  it('cpcmd -u USER acts as that user of the -d site: common:whoami, auth:change-password', async () => {
    await s.t.app.deps.db.insertInto('users').values({ role: 'end_user', client_id: plainId, login: 'cli-mailbox', name: 'Mailbox' }).execute();
    const mark = await auditMark(s.t);
    const r = await s.sh(`
cpcmd -d cli-plain.example common:whoami
cpcmd -d cli-plain.example -u cli-mailbox common:whoami
cpcmd -d cli-plain.example -u CLIPLAIN common:whoami
cpcmd -o json -d cli-plain.example --user cli-mailbox common:whoami
cpcmd -d cli-plain.example -u cli-mailbox auth:change-password 'long-enough-password'
`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(['cliplain', 'cli-mailbox', 'cliplain', '"cli-mailbox"', '1', ''].join('\n'));
    const events = (await auditSince(s.t, mark)).filter((e) => e.actor_kind === 'operator');
    expect(events.map((e) => [e.action, e.changes.login?.after])).toEqual([['user.password_changed', 'cli-mailbox']]);
  });

  it('cpcmd -o yaml is the default output; -o json is PHP\'s json_encode', async () => {
    const r = await s.sh(`
cpcmd admin:collect '[siteinfo.domain,ssh.enabled]' '[]' '[cli-plain.example]'
cpcmd -o yaml admin:collect '[siteinfo.domain,ssh.enabled]' '[]' '[cli-plain.example]'
cpcmd -oyaml admin:get-plan basic | sed -n 1,9p
cpcmd -o json admin:collect '[siteinfo.domain,ssh.enabled]' '[]' '[cli-plain.example]'
cpcmd --output json admin:get-plan basic
cpcmd -o json -d cli-plain.example auth:is-inactive
cpcmd -o json admin:collect '[]' '[billing.invoice:NO-SUCH-INVOICE]'
`);
    expect(r.code, r.stderr).toBe(0);
    const yaml = ['cli-plain.example:', '  siteinfo: { domain: cli-plain.example }', '  ssh: { enabled: 1 }', '  active: true', '  domain: cli-plain.example'];
    expect(r.stdout).toBe(
      [
        ...yaml,
        ...yaml,
        'mysql:',
        '  enabled: 1',
        '  dbaseprefix: null',
        '  dbaseadmin: null',
        '  dbasenum: null',
        'pgsql:',
        '  enabled: 1',
        '  dbaseprefix: null',
        '  dbaseadmin: null',
        '{"cli-plain.example":{"siteinfo":{"domain":"cli-plain.example"},"ssh":{"enabled":1},"active":true,"domain":"cli-plain.example"}}',
        BASIC_PLAN_JSON,
        'false',
        '[]',
        '',
      ].join('\n'),
    );
  });

  it('module_function_name is the same call as module:function-name', async () => {
    const r = await s.sh(`
cpcmd admin:list-plans
cpcmd admin_list_plans
cpcmd -o json admin_get_plan basic
cpcmd -o json admin:get-plan basic
cpcmd -d cli-plain.example auth_is_inactive
cpcmd -o json admin_collect '[siteinfo.domain]' '[billing.invoice:CLI-INV]'
`);
    expect(r.code, r.stderr).toBe(0);
    const plan = BASIC_PLAN_JSON;
    expect(r.stdout).toBe(['- basic', '- basic', plan, plan, '0', `{"site${group.master}":{"siteinfo":{"domain":"cli-master.example"},"active":true,"domain":"cli-master.example"}}`, ''].join('\n'));
  });
});
