import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFIG_FILE_VARIABLES, DOCUMENTED_VARIABLES, parseConfigFile, ConfigFileError } from '../../src/config/config-file.js';
import { loadConfig } from '../../src/config/config.js';
import { BIN, tempDir } from './cli-harness.js';

// `hostplane init` writes the commented config file; every other command reads it, the environment
// winning. No database is involved, so this runs the same in both projects.

const tmp = tempDir();
afterAll(() => tmp.remove());
let n = 0;
const freshDir = () => {
  const dir = path.join(tmp.dir, `case-${n++}`);
  fs.mkdirSync(dir);
  return dir;
};

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** bin/hostplane in `cwd` with only PATH and `env`, under a shell's umask so file modes are not the test's. */
function hostplane(cwd: string, args: string[], env: Record<string, string> = {}, umask = '022'): Promise<Result> {
  const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve, reject) => {
    execFile('/bin/sh', ['-c', `umask ${umask}; exec ${quoted}`], { cwd, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

const modeOf = (file: string) => (fs.statSync(file).mode & 0o777).toString(8);

describe('the config file format', () => {
  it('documents every variable the server and the CLI read, each once', () => {
    expect([...DOCUMENTED_VARIABLES].sort()).toEqual([...CONFIG_FILE_VARIABLES].sort());
    expect(new Set(DOCUMENTED_VARIABLES).size).toBe(DOCUMENTED_VARIABLES.length);
  });

  it('reads NAME=value lines, comments, export, quotes and CRLF; the rest of the line is the value', () => {
    const text = '# comment\r\n\r\nPORT=9090\r\nexport HOST = 0.0.0.0\nHOSTPLANE_RELAY_RELOAD_COMMAND=postmap /x && postfix reload # not a comment\nHOSTPLANE_PUBLIC_URL="https://p.example.com"\nDATABASE_URL=\'postgres://u:p#w@h/db\'\n   # indented comment\n';
    expect(parseConfigFile(text, 'f')).toEqual({
      PORT: '9090',
      HOST: '0.0.0.0',
      HOSTPLANE_RELAY_RELOAD_COMMAND: 'postmap /x && postfix reload # not a comment',
      HOSTPLANE_PUBLIC_URL: 'https://p.example.com',
      DATABASE_URL: 'postgres://u:p#w@h/db',
    });
  });

  it('refuses a line that is not NAME=value and a name Hostplane does not read, naming the lines', () => {
    expect(() => parseConfigFile('PORT=1\nHOSTPLANE_PORT=2\njust words\n', 'my.env')).toThrow(ConfigFileError);
    expect(() => parseConfigFile('PORT=1\nHOSTPLANE_PORT=2\njust words\n', 'my.env')).toThrow(/my\.env: line 2: HOSTPLANE_PORT is not a Hostplane setting; line 3: expected NAME=value/);
    // It only supplies variables: it cannot point at another config file.
    expect(() => parseConfigFile('HOSTPLANE_CONFIG=/etc/other.env\n', 'f')).toThrow(/HOSTPLANE_CONFIG is not a Hostplane setting/);
  });
});

describe('hostplane init', () => {
  it('writes ./hostplane.env, owner-only whatever the umask, whose commented defaults are the real ones', async () => {
    const dir = freshDir();
    const r = await hostplane(dir, ['init'], {}, '000');
    expect(r.code, r.stderr).toBe(0);
    const file = path.join(dir, 'hostplane.env');
    expect(r.stdout).toContain(`wrote ${file} (mode 0600)`);
    expect(r.stdout).toContain('hostplane serve');
    expect(modeOf(file)).toBe('600');

    const text = fs.readFileSync(file, 'utf8');
    // Active: only the data dir, absolute, beside the file.
    expect(parseConfigFile(text, file)).toEqual({ HOSTPLANE_DATA_DIR: path.join(dir, 'data') });
    // Each setting is listed (commented out) with a comment line above it.
    const lines = text.split('\n');
    for (const name of CONFIG_FILE_VARIABLES) {
      const i = lines.findIndex((l) => l.startsWith(`#${name}=`) || l.startsWith(`${name}=`));
      expect(i, name).toBeGreaterThan(0);
      expect(lines[i - 1], name).toMatch(/^# \S/);
    }
    // Uncommenting every default (not the examples of settings that have none) changes nothing.
    const examples = new Set(['HOSTPLANE_PUBLIC_URL', 'HOSTPLANE_TLS_CERT', 'HOSTPLANE_TLS_KEY', 'DATABASE_URL', 'HOSTPLANE_MASTER_KEY', 'HOSTPLANE_RELAY_RELOAD_COMMAND', 'HOSTPLANE_RELAY_HTTP_URL', 'HOSTPLANE_API_KEY', 'HOSTPLANE_AGENT_URL', 'HOSTPLANE_AGENT_TOKEN', 'HOSTPLANE_AGENT_DATA_DIR', 'HOSTPLANE_AGENT_NGINX_PREFIX', 'HOSTPLANE_AGENT_NGINX_BIN', 'HOSTPLANE_AGENT_PHP_FPM_BIN']);
    const uncommented = lines.map((l) => (/^#[A-Z_]+=/.test(l) && !examples.has(l.slice(1, l.indexOf('='))) ? l.slice(1) : l)).join('\n');
    const defaults = parseConfigFile(uncommented, file);
    expect(Object.keys(defaults).length).toBe(CONFIG_FILE_VARIABLES.length - examples.size);
    const { HOSTPLANE_URL: _url, ...serverDefaults } = defaults;
    expect(loadConfig(serverDefaults)).toEqual(loadConfig({ HOSTPLANE_DATA_DIR: path.join(dir, 'data') }));
  });

  it('refuses to overwrite an existing file (exit 6) unless --force, which leaves it 0600 again', async () => {
    const dir = freshDir();
    const file = path.join(dir, 'hostplane.env');
    fs.writeFileSync(file, 'PORT=1234\n', { mode: 0o644 });
    const refused = await hostplane(dir, ['init']);
    expect(refused.code).toBe(6);
    expect(refused.stderr).toContain(`${file} already exists; add --force to replace it`);
    expect(fs.readFileSync(file, 'utf8')).toBe('PORT=1234\n');

    const forced = await hostplane(dir, ['init', '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toContain('#PORT=8080');
    expect(modeOf(file)).toBe('600');
  });

  it('writes where it is told: a path argument, --config or HOSTPLANE_CONFIG, with --data-dir', async () => {
    const dir = freshDir();
    const a = await hostplane(dir, ['init', 'etc/a.env', '--data-dir', '/srv/hostplane', '--json']);
    expect(a.code, a.stderr).toBe(0);
    expect(JSON.parse(a.stdout)).toEqual({ file: path.join(dir, 'etc', 'a.env'), mode: '0600', data_dir: '/srv/hostplane' });
    expect(parseConfigFile(fs.readFileSync(path.join(dir, 'etc', 'a.env'), 'utf8'), 'a')).toEqual({ HOSTPLANE_DATA_DIR: '/srv/hostplane' });
    expect((await hostplane(dir, ['--config', 'b.env', 'init'])).code).toBe(0);
    expect((await hostplane(dir, ['init'], { HOSTPLANE_CONFIG: path.join(dir, 'c.env') })).code).toBe(0);
    expect(fs.existsSync(path.join(dir, 'b.env')) && fs.existsSync(path.join(dir, 'c.env'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'hostplane.env'))).toBe(false);
  });

  it('says so when the file cannot be written', async () => {
    const dir = freshDir();
    fs.writeFileSync(path.join(dir, 'not-a-dir'), '');
    const r = await hostplane(dir, ['init', 'not-a-dir/hostplane.env']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot write .*not-a-dir\/hostplane\.env/);
  });
});

describe('commands read the config file', () => {
  it('finds ./hostplane.env, and a variable in the environment wins over it', async () => {
    const dir = freshDir();
    fs.writeFileSync(path.join(dir, 'hostplane.env'), `HOSTPLANE_DATA_DIR=${path.join(dir, 'from-file')}\nHOSTPLANE_RELAY_DRIVER=http\nHOSTPLANE_RELAY_HTTP_URL=https://relay.example.com/hook\n`, { mode: 0o600 });
    const fromFile = await hostplane(dir, ['doctor', '--json']);
    const checks = (JSON.parse(fromFile.stdout) as { checks: { check: string; message: string }[] }).checks;
    expect(checks.find((c) => c.check === 'config')!.message).toBe(`environment and ${path.join(dir, 'hostplane.env')}`);
    expect(checks.find((c) => c.check === 'relay')!.message).toContain('https://relay.example.com/hook');
    expect(checks.find((c) => c.check === 'database')!.message).toContain(path.join(dir, 'from-file'));

    const fromEnv = await hostplane(dir, ['doctor', '--json'], { HOSTPLANE_DATA_DIR: path.join(dir, 'from-env'), HOSTPLANE_RELAY_DRIVER: 'postfix-maps' });
    const envChecks = (JSON.parse(fromEnv.stdout) as { checks: { check: string; message: string }[] }).checks;
    expect(envChecks.find((c) => c.check === 'database')!.message).toContain(path.join(dir, 'from-env'));
    expect(envChecks.find((c) => c.check === 'relay')!.message).toContain(path.join(dir, 'from-env', 'relay'));
  });

  it('admin commands take the server URL and the data dir (for the operator key) from it', async () => {
    const dir = freshDir();
    fs.mkdirSync(path.join(dir, 'data'));
    fs.writeFileSync(path.join(dir, 'data', 'operator-key'), 'hp_op_not_a_real_key\n', { mode: 0o600 });
    // Port 9 (discard) on loopback: nothing listens, so the command reports the URL it was given.
    fs.writeFileSync(path.join(dir, 'ops.env'), `HOSTPLANE_URL=http://127.0.0.1:9\nHOSTPLANE_DATA_DIR=${path.join(dir, 'data')}\n`, { mode: 0o600 });
    const r = await hostplane(dir, ['reseller', 'list', '--config', 'ops.env']);
    expect(r.code).toBe(7);
    expect(r.stderr).toContain('http://127.0.0.1:9');
  });

  it('a named file that is missing, or a file with a mistake, stops the command with the reason (exit 1)', async () => {
    const dir = freshDir();
    const missing = await hostplane(dir, ['doctor', '--config', 'nope.env']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`cannot read the config file ${path.join(dir, 'nope.env')} (ENOENT)`);

    fs.writeFileSync(path.join(dir, 'hostplane.env'), 'PORT=8080\nHOSTPLANE_DATADIR=/tmp/x\n', { mode: 0o600 });
    const typo = await hostplane(dir, ['db', 'migrate']);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain('line 2: HOSTPLANE_DATADIR is not a Hostplane setting');
    // Nothing was opened or created on the way.
    expect(fs.existsSync(path.join(dir, 'data'))).toBe(false);
  });
});
