import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDb } from '../../src/db/database.js';
import { solveCaptcha } from '../support/captcha-solver.js';
import { freePort, makeTempDir } from '../jobs-process/process-harness.js';
import { readmeBlocks, splitCommands, type ReadmeBlock, type ReadmeCommand } from './readme-blocks.js';
import { ShellSession, type CommandRun } from './shell-session.js';

// Every ```sh block of the README, command by command and in order, in one bash session against a
// fresh embedded install: a directory with `bin/` (the repository's) and a `data/` that only
// `hostplane serve` fills (operator key, master key, demo reseller and portal administrator). The README
// describes the embedded database as the way to start, and `db migrate` answers differently on
// PostgreSQL, so this runs in the pglite project only.
//
// What the test changes in a command, all of it listed here:
// - the README's address http://127.0.0.1:8080 becomes the test server's (HOSTPLANE_URL too, which
//   the CLI would otherwise default to that address);
// - the placeholders of PLACEHOLDERS are filled the way a reader would fill them;
// - curl runs with -sS (no progress meter) and reports each answer's status, which must be 2xx, or the
//   status a `# 201` comment on the command states.
// Every command must exit 0 (or as EXPECTED_EXIT says, with its reason); SKIPPED_COMMANDS are not run.
// A failing command fails its block's test with its README line, what went wrong and its output.

const README = path.join(import.meta.dirname, '..', '..', 'README.md');
const REPO_BIN = path.join(import.meta.dirname, '..', '..', 'bin');
const README_ORIGIN = 'http://127.0.0.1:8080';
const onPostgres = process.env.HOSTPLANE_TEST_DB === 'postgres';

/** Commands not run, and why. */
const SKIPPED_COMMANDS: { match: RegExp; reason: string }[] = [
  { match: /^npm install && npm start\b/, reason: 'builds, then serves until stopped; the test starts the same server with `bin/hostplane serve`' },
  { match: /^npm test\b/, reason: 'the suite this test is part of' },
  { match: /^DATABASE_URL=/, reason: "needs the reader's own PostgreSQL server at the address they give" },
  { match: /^bin\/hostplane serve\b/, reason: 'serves until stopped; it is how this test starts the server' },
  { match: /^bin\/hostplane worker\b/, reason: 'runs jobs until stopped (and on the embedded database the server already holds it)' },
  { match: /^npm install -g \.\/hostplane-/, reason: 'installs a packed tarball globally; test/package/pack.test.ts installs the packed package into an empty directory instead' },
  { match: /^hostplane (init|serve|doctor)\b/, reason: "the installed package's commands: test/package/pack.test.ts runs init, serve and doctor from the packed package" },
  { match: /^sudo /, reason: "changes the machine's packages and services as root; .ci/run installs nginx and php-fpm, and test/agent/ starts its own instances of them on free ports" },
  { match: /^printf 'HOSTPLANE_AGENT_URL=/, reason: 'writes /etc/hostplane/agent.env as root, for the systemd unit the skipped commands around it install' },
  { match: /^HOSTPLANE_AGENT_PG_URL=.*\bhostplane agent\b/s, reason: "a db node's agent with the reader's PostgreSQL admin role; test/odoo/saas-database.test.ts runs one against the machine's PostgreSQL" },
  { match: /^hostplane agent\b/, reason: 'runs on a hosting node until stopped; test/agent/ runs real `hostplane agent` processes against a real server, with nginx' },
];

/** Commands whose non-zero exit the README itself gives, and why it is that one here. */
const EXPECTED_EXIT: { match: RegExp; code: number; reason: string }[] = [
  { match: /^bin\/hostplane db migrate\b/, code: 7, reason: 'the running server holds the embedded database (exit code 7, as the README says)' },
  { match: /^bin\/hostplane jobs retry\b/, code: 6, reason: 'a fresh install has no failed job; the one named (the first maintenance run) succeeded, and only failed jobs are retried' },
];

const password = `readme-${randomBytes(9).toString('base64url')}`;

interface Ran {
  command: ReadmeCommand;
  run: CommandRun;
}

/** What `pick` finds in the newest output, among the commands run so far, that it finds anything in. */
function fromOutputs<T>(history: Ran[], pick: (stdout: string) => T | undefined): T {
  for (let i = history.length - 1; i >= 0; i--) {
    const found = pick(history[i]!.run.stdout);
    if (found !== undefined) return found;
  }
  throw new Error('no earlier output holds it');
}

/** The same over the outputs that are JSON (curl's answers). */
function fromAnswers<T>(history: Ran[], pick: (json: unknown) => T | undefined): T {
  return fromOutputs(history, (stdout) => {
    try {
      return pick(JSON.parse(stdout));
    } catch {
      return undefined;
    }
  });
}

type Json = Record<string, unknown> | undefined;
const captchaOf = (json: unknown) => ((json as Json)?.captcha as { id?: string; question?: string } | undefined)?.question ? ((json as Json)!.captcha as { id: string; question: string }) : undefined;

/** What a reader puts in place of each placeholder, from what the earlier commands printed. */
const PLACEHOLDERS: Record<string, (history: Ran[]) => string> = {
  '<password>': () => password,
  // The sign-up captcha: its id copied from GET /v1/resellers/new, its question answered by reading it.
  '<id>': (h) => fromAnswers(h, captchaOf).id,
  '<answer>': (h) => solveCaptcha(fromAnswers(h, captchaOf).question),
  // REMP: the API token `api-token create` printed, the access token of the newest sign-in, and an
  // unused code from `family/list`.
  '<token>': (h) => fromOutputs(h, (out) => /^token:\s+(\S+)$/m.exec(out)?.[1]),
  '<access.token>': (h) => fromAnswers(h, (json) => ((json as Json)?.access as { token?: string } | undefined)?.token),
  '<code>': (h) => fromAnswers(h, (json) => ((json as Json)?.codes as { code: string; status: string }[] | undefined)?.find((c) => c.status === 'created')?.code),
};

function fill(command: ReadmeCommand, history: Ran[], url: string): string {
  let code = command.code.replaceAll(README_ORIGIN, url);
  for (const [placeholder, value] of Object.entries(PLACEHOLDERS)) {
    if (code.includes(placeholder)) code = code.replaceAll(placeholder, value(history));
  }
  const unknown = /<[a-z][a-z ._-]*>/i.exec(code.replace(/<<-?\s*'?[A-Za-z_]+'?/g, ''));
  if (unknown) throw new Error(`README line ${command.line}: no value for the placeholder ${unknown[0]} (add it to PLACEHOLDERS or make the README show where it comes from)`);
  return code;
}

function isCurl(code: string): boolean {
  return /(^|[\s;|&($])curl\s/.test(code);
}

/** Problems with one command's run; empty when it did what the README says. */
function check(command: ReadmeCommand, run: CommandRun, expectedExit: number): string[] {
  const problems: string[] = [];
  if (run.code !== expectedExit) problems.push(`exit ${run.code}, expected ${expectedExit}`);
  if (isCurl(command.code)) {
    if (run.httpStatuses.length === 0) problems.push('curl got no HTTP answer');
    const stated = /^(\d{3})\b/.exec(command.comment);
    for (const status of run.httpStatuses) {
      if (stated ? status !== Number(stated[1]) : status < 200 || status > 299) problems.push(`HTTP ${status}${stated ? `, the README says ${stated[1]}` : ''}`);
    }
  } else if (/^\d+$/.test(command.comment) && run.stdout.trim() !== command.comment) {
    problems.push(`printed ${JSON.stringify(run.stdout.trim())}, the README says ${command.comment}`);
  }
  return problems;
}

describe('README command splitting', () => {
  it('keeps multi-line quotes, continuations and here-documents whole, and drops comments', () => {
    const commands = splitCommands([
      '# a comment line with an apostrophe: it\'s not code',
      "curl -d '{",
      '  "a": 1}'  + "'   # 201",
      'echo one \\',
      '  two        # the sign-up\'s id',
      "python3 - <<'PY'",
      "print('#not a comment')   # nor this, it's Python",
      'PY',
      'X="a # b"; echo "$X"',
    ]);
    expect(commands.map((c) => [c.line, c.code, c.comment])).toEqual([
      [2, "curl -d '{\n  \"a\": 1}'", '201'],
      [4, 'echo one \\\n  two', "the sign-up's id"],
      [6, "python3 - <<'PY'\nprint('#not a comment')   # nor this, it's Python\nPY", ''],
      [9, 'X="a # b"; echo "$X"', ''],
    ]);
  });

  it('refuses a command that never ends', () => {
    expect(() => splitCommands(["curl -d '{"])).toThrow(/never ends/);
  });
});

describe.runIf(!onPostgres)('every command of the README on a fresh install', () => {
  const tmp = makeTempDir('hostplane-readme-');
  const home = path.join(tmp.dir, 'install');
  let server: ChildProcess | undefined;
  let serverOutput = '';
  let session: ShellSession;
  let url = '';
  const history: Ran[] = [];
  const blocks: ReadmeBlock[] = readmeBlocks(fs.readFileSync(README, 'utf8'));

  beforeAll(async () => {
    fs.mkdirSync(home);
    fs.symlinkSync(REPO_BIN, path.join(home, 'bin'));
    // The migrated template stands in for the initdb and migrations of a first start (the slow part,
    // and what `db migrate` tests cover); everything else a first start does, serve does here.
    const pgdata = path.join(home, 'data', 'pgdata');
    const template = await createDb({ dataDir: pgdata, loadDataDir: new Blob([fs.readFileSync(inject('pgliteTemplate'))]) });
    await template.close();
    fs.rmSync(path.join(home, 'data', 'pgdata.lock'), { force: true });

    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    server = spawn(process.execPath, [path.join(home, 'bin', 'hostplane'), 'serve'], {
      cwd: home,
      env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), HOSTPLANE_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        serverOutput += chunk.toString('utf8');
        if (serverOutput.includes('API reference:')) resolve();
      };
      server!.stdout!.on('data', onData);
      server!.stderr!.on('data', onData);
      server!.once('exit', (code) => reject(new Error(`serve exited (${code}) before listening:\n${serverOutput}`)));
    });
    session = new ShellSession(home, { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? home, LANG: 'C.UTF-8', HOSTPLANE_URL: url }, path.join(tmp.dir, 'session'));
  }, 120_000);

  afterAll(() => {
    session?.close();
    server?.kill('SIGKILL');
    tmp.remove();
  });

  it('finds the commands, and every rule of this file still names one of them', () => {
    const commands = blocks.flatMap((b) => b.commands);
    expect(commands.length).toBeGreaterThan(40);
    for (const rule of [...SKIPPED_COMMANDS, ...EXPECTED_EXIT]) expect(commands.some((c) => rule.match.test(c.code)), String(rule.match)).toBe(true);
  });

  for (const block of blocks) {
    if (block.commands.every((c) => SKIPPED_COMMANDS.some((s) => s.match.test(c.code)))) continue;
    it(`${block.heading} (README line ${block.line})`, async () => {
      const failures: string[] = [];
      for (const command of block.commands) {
        const skip = SKIPPED_COMMANDS.find((s) => s.match.test(command.code));
        if (skip) continue;
        const expected = EXPECTED_EXIT.find((e) => e.match.test(command.code));
        const run = await session.run(fill(command, history, url), 60_000);
        history.push({ command, run });
        const problems = check(command, run, expected?.code ?? 0);
        if (problems.length > 0) {
          failures.push(`README line ${command.line}: ${command.text}\n  → ${problems.join('; ')}\n  stdout: ${run.stdout.trim().slice(0, 600)}\n  stderr: ${run.stderr.trim().slice(0, 600)}`);
        }
      }
      expect(failures.join('\n\n')).toBe('');
    }, 240_000);
  }

  it('lets both operators the README names into the web console: the demo admin and the one it creates', async () => {
    const demo = JSON.parse(fs.readFileSync(path.join(home, 'data', 'demo-reseller.json'), 'utf8')) as { portal_admin: { login: string; password: string } };
    expect(demo.portal_admin.login).toBe('admin');
    expect(serverOutput).toContain(`Operator user for the web console (${url}/console)`);
    expect(serverOutput).toContain(`login admin, password ${demo.portal_admin.password}`);
    for (const [login, pw] of [['admin', demo.portal_admin.password], ['ops', password]] as const) {
      const res = await fetch(`${url}/admin/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ login, password: pw }) });
      expect(res.status, `${login}: ${await res.clone().text()}`).toBe(200);
      expect(res.headers.get('set-cookie')).toBeTruthy();
    }
  });
});
