import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatTransport, parseTransport, PostfixMapsRelayDriver } from '../../src/relay/postfix-maps.driver.js';
import { RelayError, type RelayOp } from '../../src/relay/relay-driver.js';

const HEADER = '# Managed by Hostplane: rewritten on every change, do not edit by hand.\n';

let dataDir: string;
let relayDir: string;

beforeEach(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostplane-relay-'));
  relayDir = path.join(dataDir, 'relay');
});

afterEach(() => {
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const read = (file: string) => fs.readFileSync(path.join(relayDir, file), 'utf8');
const relayDomains = () => read('relay_domains');
const transport = () => read('transport');
const snapshot = () => ({ relayDomains: relayDomains(), transport: transport() });
const provision = (name: string, ...mailServers: string[]): RelayOp => ({ op: 'provision', domain: { name, mailServers } });
const update = (name: string, ...mailServers: string[]): RelayOp => ({ op: 'update', domain: { name, mailServers } });
const deprovision = (name: string): RelayOp => ({ op: 'deprovision', name });

async function rejectionOf(promise: Promise<unknown>): Promise<RelayError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(RelayError);
    return err as RelayError;
  }
  throw new Error('expected a rejection');
}

describe('postfix-maps relay driver', () => {
  it('provisions, updates and deprovisions single domains', async () => {
    const driver = new PostfixMapsRelayDriver({ dataDir });
    expect(driver.name).toBe('postfix-maps');

    await driver.provisionDomain({ name: 'example.com', mailServers: ['mail.example.com'] });
    expect(relayDomains()).toBe(`${HEADER}example.com  OK\n`);
    expect(transport()).toBe(`${HEADER}example.com  smtp:[mail.example.com]\n`);

    await driver.provisionDomain({ name: 'alpha.test', mailServers: ['mx.alpha.test'] });
    await driver.updateDomain({ name: 'example.com', mailServers: ['mx2.example.net'] });
    expect(relayDomains()).toBe(`${HEADER}alpha.test  OK\nexample.com  OK\n`);
    expect(transport()).toBe(`${HEADER}alpha.test  smtp:[mx.alpha.test]\nexample.com  smtp:[mx2.example.net]\n`);

    await driver.deprovisionDomain('example.com');
    expect(relayDomains()).toBe(`${HEADER}alpha.test  OK\n`);
    expect(transport()).toBe(`${HEADER}alpha.test  smtp:[mx.alpha.test]\n`);

    await driver.deprovisionDomain('alpha.test');
    expect(snapshot()).toEqual({ relayDomains: HEADER, transport: HEADER });
  });

  it('writes several mail servers as a failover list, IP literals included, without duplicates', async () => {
    const driver = new PostfixMapsRelayDriver({ dataDir });
    await driver.apply([
      provision('example.com', 'mx1.example.com', 'mx2.example.com'),
      provision('ips.example', '192.0.2.10', '2001:db8::25', 'mx.ips.example', '192.0.2.10'),
    ]);
    expect(transport()).toBe(`${HEADER}example.com  smtp:[mx1.example.com],[mx2.example.com]\nips.example  smtp:[192.0.2.10],[ipv6:2001:db8::25],[mx.ips.example]\n`);
    // And the file reads back into the same state.
    await driver.apply([]);
    expect(transport()).toBe(`${HEADER}example.com  smtp:[mx1.example.com],[mx2.example.com]\nips.example  smtp:[192.0.2.10],[ipv6:2001:db8::25],[mx.ips.example]\n`);
  });

  it('relays a domain without mail servers on the default transport (no transport line)', async () => {
    const driver = new PostfixMapsRelayDriver({ dataDir });
    await driver.apply([provision('bare.example'), provision('routed.example', 'mx.routed.example')]);
    expect(relayDomains()).toBe(`${HEADER}bare.example  OK\nrouted.example  OK\n`);
    expect(transport()).toBe(`${HEADER}routed.example  smtp:[mx.routed.example]\n`);
    await driver.updateDomain({ name: 'routed.example', mailServers: [] });
    expect(transport()).toBe(HEADER);
    expect(relayDomains()).toBe(`${HEADER}bare.example  OK\nrouted.example  OK\n`);
  });

  it('applies a batch of 1,000 domains with one write per file and one reload, sorted, leaving no temp files', async () => {
    const counter = path.join(dataDir, 'reloads.log');
    const driver = new PostfixMapsRelayDriver({ dataDir, reloadCommand: `echo reload >> '${counter}'` });
    const names = Array.from({ length: 1000 }, (_, i) => `d${String((i * 7919) % 1000).padStart(4, '0')}.example`);
    expect(new Set(names).size).toBe(1000);
    await driver.apply(names.map((n, i) => provision(n, `mx${i % 3}.${n}`)));

    const sorted = [...names].sort();
    const relayLines = relayDomains().split('\n').slice(1, -1);
    expect(relayLines).toEqual(sorted.map((n) => `${n}  OK`));
    const transportLines = transport().split('\n').slice(1, -1);
    expect(transportLines).toHaveLength(1000);
    expect(transportLines.map((l) => l.split('  ')[0])).toEqual(sorted);
    expect(transportLines).toContain(`${names[4]}  smtp:[mx1.${names[4]}]`);
    expect(fs.readdirSync(relayDir).sort()).toEqual(['relay_domains', 'transport']);
    expect(fs.readFileSync(counter, 'utf8')).toBe('reload\n');

    // A second batch that deprovisions half of them and updates the rest: again one reload.
    await driver.apply(names.map((n, i) => (i % 2 === 0 ? deprovision(n) : update(n, 'mx.new.example'))));
    const kept = names.filter((_, i) => i % 2 === 1).sort();
    expect(relayDomains()).toBe(HEADER + kept.map((n) => `${n}  OK\n`).join(''));
    expect(transport()).toBe(HEADER + kept.map((n) => `${n}  smtp:[mx.new.example]\n`).join(''));
    expect(fs.readdirSync(relayDir).sort()).toEqual(['relay_domains', 'transport']);
    expect(fs.readFileSync(counter, 'utf8')).toBe('reload\nreload\n');
  });

  it('applies the ops of one batch in order', async () => {
    const driver = new PostfixMapsRelayDriver({ dataDir });
    await driver.apply([
      provision('a.example', 'mx1.a.example'),
      update('a.example', 'mx2.a.example'),
      provision('b.example', 'mx.b.example'),
      deprovision('b.example'),
      deprovision('c.example'),
      provision('c.example', 'mx.c.example'),
    ]);
    expect(relayDomains()).toBe(`${HEADER}a.example  OK\nc.example  OK\n`);
    expect(transport()).toBe(`${HEADER}a.example  smtp:[mx2.a.example]\nc.example  smtp:[mx.c.example]\n`);
  });

  it('is idempotent: the same batch twice gives identical files; unknown deprovisions and repeated provisions are fine', async () => {
    const driver = new PostfixMapsRelayDriver({ dataDir });
    const batch = [provision('one.example', 'mx.one.example'), provision('two.example', 'mx1.two.example', 'mx2.two.example'), deprovision('never.example')];
    await driver.apply(batch);
    const first = snapshot();
    await driver.apply(batch);
    expect(snapshot()).toEqual(first);
    await driver.provisionDomain({ name: 'one.example', mailServers: ['mx.one.example'] });
    await driver.deprovisionDomain('never.example');
    expect(snapshot()).toEqual(first);
    expect(first.relayDomains).toBe(`${HEADER}one.example  OK\ntwo.example  OK\n`);
  });

  it('leaves the files alone when a batch changes nothing, but still runs the reload (an earlier one may have failed)', async () => {
    const counter = path.join(dataDir, 'reloads.log');
    const driver = new PostfixMapsRelayDriver({ dataDir, reloadCommand: `echo reload >> '${counter}'` });
    await driver.apply([provision('same.example', 'mx.same.example'), provision('other.example')]);
    const inode = (file: string) => fs.statSync(path.join(relayDir, file)).ino;
    const before = { relay: inode('relay_domains'), transport: inode('transport') };
    await driver.apply([deprovision('never.example'), update('same.example', 'mx.same.example'), provision('other.example')]);
    expect({ relay: inode('relay_domains'), transport: inode('transport') }).toEqual(before);
    expect(fs.readFileSync(counter, 'utf8')).toBe('reload\nreload\n');
    // A change to one file replaces that file only.
    await driver.apply([update('other.example', 'mx.other.example')]);
    expect(inode('relay_domains')).toBe(before.relay);
    expect(inode('transport')).not.toBe(before.transport);
    expect(transport()).toBe(`${HEADER}other.example  smtp:[mx.other.example]\nsame.example  smtp:[mx.same.example]\n`);
  });

  it('is restart-safe: a new driver instance continues from the files on disk', async () => {
    await new PostfixMapsRelayDriver({ dataDir }).apply([provision('keep.example', 'mx.keep.example'), provision('gone.example', 'mx.gone.example'), provision('change.example', 'old.change.example')]);
    const restarted = new PostfixMapsRelayDriver({ dataDir });
    await restarted.apply([deprovision('gone.example'), update('change.example', 'new.change.example', '198.51.100.7'), provision('new.example')]);
    expect(relayDomains()).toBe(`${HEADER}change.example  OK\nkeep.example  OK\nnew.example  OK\n`);
    expect(transport()).toBe(`${HEADER}change.example  smtp:[new.change.example],[198.51.100.7]\nkeep.example  smtp:[mx.keep.example]\n`);
  });

  it('treats relay_domains as the authority: a transport line left over from a crash is dropped', async () => {
    fs.mkdirSync(relayDir);
    fs.writeFileSync(path.join(relayDir, 'relay_domains'), 'live.example  OK\n');
    fs.writeFileSync(path.join(relayDir, 'transport'), 'live.example  smtp:[mx.live.example]\norphan.example  smtp:[mx.orphan.example]\n');
    await new PostfixMapsRelayDriver({ dataDir }).apply([]);
    expect(snapshot()).toEqual({ relayDomains: `${HEADER}live.example  OK\n`, transport: `${HEADER}live.example  smtp:[mx.live.example]\n` });
  });

  it('removes temp files a killed writer left behind, but not those of a live process or files it did not make', async () => {
    fs.mkdirSync(relayDir);
    // Named as the driver names its temp files; a process that exited stands for one killed mid-write.
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    const temp = (file: string, pid: number) => `.${file}.${pid}.0123456789ab.tmp`;
    const leftovers = [temp('transport', dead), temp('relay_domains', dead), temp('transport', process.pid)];
    const alive = temp('relay_domains', process.ppid);
    for (const name of [...leftovers, alive]) fs.writeFileSync(path.join(relayDir, name), 'half.example  O');
    fs.writeFileSync(path.join(relayDir, '.operator-notes'), 'mine\n');
    await new PostfixMapsRelayDriver({ dataDir }).apply([provision('after.example')]);
    expect(fs.readdirSync(relayDir).sort()).toEqual(['.operator-notes', alive, 'relay_domains', 'transport'].sort());
    expect(relayDomains()).toBe(`${HEADER}after.example  OK\n`);
  });

  it('serialises concurrent batches so none is lost', async () => {
    const driver = new PostfixMapsRelayDriver({ dataDir });
    const names = Array.from({ length: 25 }, (_, i) => `c${i}.example`);
    await Promise.all(names.map((n) => driver.apply([provision(n, `mx.${n}`)])));
    expect(relayDomains()).toBe(HEADER + [...names].sort().map((n) => `${n}  OK\n`).join(''));
    expect(fs.readdirSync(relayDir).sort()).toEqual(['relay_domains', 'transport']);
  });

  it('a failed batch does not block the next one', async () => {
    const driver = new PostfixMapsRelayDriver({ dataDir });
    const bad = driver.apply([provision('BAD.example')]);
    const good = driver.apply([provision('good.example')]);
    await expect(bad).rejects.toThrow(/not a canonical domain name/);
    await good;
    expect(relayDomains()).toBe(`${HEADER}good.example  OK\n`);
  });

  it('rejects a batch with any invalid name and leaves the files and the reload alone', async () => {
    const counter = path.join(dataDir, 'reloads.log');
    const driver = new PostfixMapsRelayDriver({ dataDir, reloadCommand: `echo reload >> '${counter}'` });
    await driver.apply([provision('ok.example', 'mx.ok.example')]);
    const before = snapshot();

    const invalid: RelayOp[][] = [
      [provision('Example.com')],
      [provision('evil.example  OK\nother.example')],
      [provision('evil.example', 'mx.evil.example]\nx.example  smtp:[attacker.example')],
      [provision('a b.example')],
      [provision('localhost')],
      [provision('1.2.3.4')],
      [provision('trailing.example.')],
      [provision('-dash.example')],
      [provision('ünicode.example')],
      [provision('fine.example', '[192.0.2.1]')],
      [provision('fine.example', 'MX.fine.example')],
      [provision('fine.example', 'fe80::1%eth0')],
      [provision('fine.example', '')],
      [deprovision('#comment')],
      [deprovision('')],
      [{ op: 'provision', domain: { name: 'fine.example', mailServers: 'mx.fine.example' } } as unknown as RelayOp],
      [{ op: 'delete', name: 'fine.example' } as unknown as RelayOp],
    ];
    for (const ops of invalid) {
      const err = await rejectionOf(driver.apply([provision('fine.example', 'mx.fine.example'), ...ops]));
      expect(err.message).toMatch(/batch rejected, nothing applied/);
    }
    const err = await rejectionOf(driver.apply([provision('UPPER.example'), deprovision('x y')]));
    expect(err.message).toContain('"UPPER.example" is not a canonical domain name');
    expect(err.message).toContain('"x y" is not a canonical domain name');

    expect(snapshot()).toEqual(before);
    expect(fs.readFileSync(counter, 'utf8')).toBe('reload\n');
    expect(fs.readdirSync(relayDir).sort()).toEqual(['relay_domains', 'transport']);
  });

  it('refuses to rewrite files holding lines it would not have written', async () => {
    fs.mkdirSync(relayDir);
    const cases: [string, string, RegExp][] = [
      ['relay_domains', 'ok.example  OK\nEvil.example  OK\n', /relay_domains line 2: "Evil.example" is not a canonical domain name/],
      ['relay_domains', 'ok.example  OK\nok.example  OK\n', /listed twice/],
      ['relay_domains', 'ok.example  REJECT\n', /expected "OK"/],
      ['relay_domains', 'ok.example  OK\n  continued\n', /line 2: cannot parse/],
      ['transport', 'ok.example  relay:[mx.ok.example]\n', /unexpected transport/],
      ['transport', 'ok.example  smtp:[mx.ok.example], [mx2.ok.example]\n', /cannot parse/],
    ];
    for (const [file, content, message] of cases) {
      fs.rmSync(path.join(relayDir, 'relay_domains'), { force: true });
      fs.rmSync(path.join(relayDir, 'transport'), { force: true });
      fs.writeFileSync(path.join(relayDir, file), content);
      const err = await rejectionOf(new PostfixMapsRelayDriver({ dataDir }).apply([provision('new.example')]));
      expect(err.message).toMatch(message);
      expect(fs.readFileSync(path.join(relayDir, file), 'utf8')).toBe(content);
      expect(fs.readdirSync(relayDir)).toEqual([file]);
    }
  });

  it('runs the reload command once per batch, in the relay directory, after the files are in place', async () => {
    const log = path.join(dataDir, 'reload.log');
    const driver = new PostfixMapsRelayDriver({
      dataDir,
      reloadCommand: `{ printf '%s|%s|' "$(pwd -P)" "$HOSTPLANE_RELAY_DIR"; grep -c ' OK$' relay_domains; } >> '${log}'`,
    });
    await driver.apply([provision('a.example'), provision('b.example')]);
    await driver.apply([provision('c.example')]);
    await driver.deprovisionDomain('a.example');
    const real = fs.realpathSync(relayDir);
    expect(fs.readFileSync(log, 'utf8')).toBe(`${real}|${relayDir}|2\n${real}|${relayDir}|3\n${real}|${relayDir}|2\n`);
  });

  it('rejects with the stderr tail when the reload command fails, and succeeds on retry once it is fixed', async () => {
    const flag = path.join(dataDir, 'broken');
    fs.writeFileSync(flag, '');
    const driver = new PostfixMapsRelayDriver({
      dataDir,
      reloadCommand: `if [ -e '${flag}' ]; then echo "noise on stdout"; echo "postmap: fatal: open database relay_domains.db: Permission denied" >&2; exit 3; fi`,
    });
    const batch = [provision('retry.example', 'mx.retry.example')];
    const err = await rejectionOf(driver.apply(batch));
    expect(err.message).toMatch(/reload command exited with code 3: postmap: fatal: open database relay_domains.db: Permission denied$/);
    expect(err.message).not.toContain('noise on stdout');

    fs.rmSync(flag);
    await driver.apply(batch);
    expect(relayDomains()).toBe(`${HEADER}retry.example  OK\n`);
  });

  it('keeps only the tail of a long stderr, and reports a silent failure', async () => {
    const driver = new PostfixMapsRelayDriver({ dataDir, reloadCommand: `i=0; while [ $i -lt 2000 ]; do echo "line $i" >&2; i=$((i+1)); done; exit 1` });
    const err = await rejectionOf(driver.apply([]));
    expect(err.message).toContain('line 1999');
    expect(err.message).not.toContain('line 10\n');
    expect(err.message.length).toBeLessThan(4500);

    const silent = new PostfixMapsRelayDriver({ dataDir, reloadCommand: 'exit 42' });
    expect((await rejectionOf(silent.apply([]))).message).toMatch(/exited with code 42 \(no stderr output\)/);
  });

  it('kills a reload command that outlives its timeout, together with its children', async () => {
    const marker = path.join(dataDir, 'survived');
    const driver = new PostfixMapsRelayDriver({
      dataDir,
      reloadTimeoutMs: 300,
      reloadCommand: `echo starting >&2; (sleep 1; touch '${marker}') & sleep 5`,
    });
    const started = Date.now();
    const err = await rejectionOf(driver.apply([provision('slow.example')]));
    expect(err.message).toMatch(/reload command timed out after 300 ms and was killed: starting/);
    expect(Date.now() - started).toBeLessThan(3000);
    await new Promise((r) => setTimeout(r, 1200));
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('rejects when the relay directory cannot be written', async () => {
    const file = path.join(dataDir, 'not-a-dir');
    fs.writeFileSync(file, '');
    const err = await new PostfixMapsRelayDriver({ dataDir: file }).apply([provision('x.example')]).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toMatch(/ENOTDIR|EEXIST/);
  });

  it('builds maps that postmap resolves to the nexthop list (file content only where postmap is missing)', async () => {
    const hasPostmap = spawnSync('/bin/sh', ['-c', 'command -v postmap'], { encoding: 'utf8' }).status === 0;
    // A throwaway Postfix configuration: the machine's may be absent (Debian's "No configuration") and is not ours to read.
    const config = path.join(dataDir, 'postfix-config');
    fs.mkdirSync(config, { recursive: true });
    fs.writeFileSync(path.join(config, 'main.cf'), '');
    const type = hasPostmap ? execFileSync('postconf', ['-c', config, '-h', 'default_database_type'], { encoding: 'utf8' }).trim() || 'hash' : 'hash';
    const driver = new PostfixMapsRelayDriver({
      dataDir,
      reloadCommand: hasPostmap ? `postmap -c ${config} ${type}:"$HOSTPLANE_RELAY_DIR/relay_domains" && postmap -c ${config} ${type}:"$HOSTPLANE_RELAY_DIR/transport"` : undefined,
    });
    await driver.apply([provision('example.com', 'mx1.example.com', 'mx2.example.com'), provision('v6.example', '2001:db8::25'), provision('plain.example')]);

    if (hasPostmap) {
      const query = (key: string, file: string) => spawnSync('postmap', ['-c', config, '-q', key, `${type}:${path.join(relayDir, file)}`], { encoding: 'utf8' });
      expect(query('example.com', 'transport').stdout).toBe('smtp:[mx1.example.com],[mx2.example.com]\n');
      expect(query('v6.example', 'transport').stdout).toBe('smtp:[ipv6:2001:db8::25]\n');
      expect(query('plain.example', 'relay_domains').stdout).toBe('OK\n');
      const missing = query('plain.example', 'transport');
      expect(missing.status).toBe(1); // not found: default transport
      expect(missing.stdout).toBe('');
    } else {
      expect(transport()).toBe(`${HEADER}example.com  smtp:[mx1.example.com],[mx2.example.com]\nv6.example  smtp:[ipv6:2001:db8::25]\n`);
      expect(relayDomains()).toBe(`${HEADER}example.com  OK\nplain.example  OK\nv6.example  OK\n`);
    }
  });
});

describe('transport values', () => {
  it('round-trip through format and parse', () => {
    for (const servers of [['mx.example.com'], ['mx1.example.com', 'mx2.example.com'], ['192.0.2.1', '2001:db8::1', 'mx.example.com']]) {
      expect(parseTransport(formatTransport(servers))).toEqual(servers);
    }
    expect(formatTransport(['2001:db8::1'])).toBe('smtp:[ipv6:2001:db8::1]');
  });

  it('parse refuses anything it would not write', () => {
    for (const value of ['relay:[mx.example.com]', 'smtp:mx.example.com', 'smtp:[2001:db8::1]', 'smtp:[ipv6:mx.example.com]', 'smtp:[mx.example.com],', 'smtp:[MX.example.com]', 'smtp:']) {
      expect(parseTransport(value), value).toBeNull();
    }
  });
});
