/**
 * The web role driver against a real nginx and php-fpm, each started in a temp dir on a free port.
 * The driver's files do not depend on the database, so the file runs once, in the pglite project.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SiteSpec, WireObject } from '../../src/core/nodes/agent-wire.schema.js';
import { WebDriver, type DriverLog } from '../../src/agent/drivers/web/web.driver.js';
import { freePort } from '../support/pg-cluster.js';

const asRoot = process.getuid?.() === 0;
const NGINX = process.env.HOSTPLANE_NGINX_BIN ?? '/usr/sbin/nginx';
const PHP_FPM = process.env.HOSTPLANE_PHP_FPM_BIN ?? (fs.readdirSync('/usr/sbin').filter((f) => /^php-fpm[0-9.]*$/.test(f)).map((f) => `/usr/sbin/${f}`)[0] ?? 'php-fpm');

interface Answer {
  status: number;
  body: string;
}

function request(port: number, host: string, urlPath = '/', method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: urlPath, method, headers: { Host: host }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** nginx's old workers finish their connections after a reload: ask until the new configuration answers. */
async function until(port: number, host: string, urlPath: string, want: (a: Answer) => boolean): Promise<Answer> {
  let last: Answer = { status: 0, body: '' };
  for (let i = 0; i < 100; i++) {
    last = await request(port, host, urlPath);
    if (want(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  return last;
}

const logged: { level: string; msg?: string; obj: object }[] = [];
const log: DriverLog = {
  info: (obj, msg) => logged.push({ level: 'info', obj, msg }),
  warn: (obj, msg) => logged.push({ level: 'warn', obj, msg }),
  error: (obj, msg) => logged.push({ level: 'error', obj, msg }),
};

// System users are machine-wide: names unique to this run keep parallel runs apart.
const RUN = `w${Date.now().toString(36)}`;
let seq = 0;
function newSite(over: Partial<SiteSpec> = {}): SiteSpec {
  seq++;
  return { siteId: seq, name: `${RUN}s${seq}`, domain: `${RUN}-${seq}.example.test`, aliases: [], status: 'active', suspendReason: null, php: false, ...over };
}
const present = (spec: SiteSpec, version = 1): WireObject => ({ kind: 'site', id: spec.name, version, state: 'present', spec });
const absent = (spec: SiteSpec, version = 2): WireObject => ({ kind: 'site', id: spec.name, version, state: 'absent', spec: null });

function userExists(name: string): boolean {
  return fs.readFileSync('/etc/passwd', 'utf8').split('\n').some((l) => l.startsWith(`${name}:`));
}

describe.runIf(process.env.HOSTPLANE_TEST_DB === 'pglite')('web role driver on nginx and php-fpm', () => {
  let root: string;
  let dataDir: string;
  let prefix: string;
  let port: number;
  let driver: WebDriver;
  const created: string[] = [];

  async function apply(objects: WireObject[]) {
    for (const o of objects) if (o.kind === 'site' && o.state === 'present') created.push(o.spec.name);
    return driver.apply(objects);
  }

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'hostplane-web-'));
    // nginx's workers (www-data when the master is root) walk down to each site's files.
    fs.chmodSync(root, 0o755);
    dataDir = path.join(root, 'data');
    prefix = path.join(root, 'nginx');
    port = await freePort();
    driver = new WebDriver({ dataDir, nginxPrefix: prefix, httpPort: port, nginxBin: NGINX, phpFpmBin: PHP_FPM, log });
    await driver.start();
  });

  afterAll(async () => {
    await driver?.stop();
    if (asRoot) for (const name of created) if (userExists(name)) execFileSync('userdel', [name]);
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('serves a site by its domain and aliases, and nothing for an unknown host', async () => {
    const site = newSite({ aliases: [`www.${RUN}-alias.example.test`] });
    const [result] = await apply([present(site)]);
    expect(result).toEqual({ kind: 'site', id: site.name, version: 1, ok: true });
    fs.writeFileSync(path.join(dataDir, 'sites', site.name, 'public_html', 'hello.txt'), 'hello from the site\n');
    const byDomain = await until(port, site.domain, '/hello.txt', (a) => a.status === 200);
    expect(byDomain).toEqual({ status: 200, body: 'hello from the site\n' });
    expect((await request(port, site.aliases[0]!, '/hello.txt')).body).toBe('hello from the site\n');
    expect((await request(port, site.domain, '/')).body).toContain('It works');
    expect((await request(port, `nobody-${RUN}.example.test`, '/hello.txt')).status).toBe(404);
    if (asRoot) {
      const st = fs.statSync(path.join(dataDir, 'sites', site.name, 'public_html'));
      const uid = Number(execFileSync('id', ['-u', site.name], { encoding: 'utf8' }));
      expect(st.uid).toBe(uid);
      // nginx's workers read it through its group; other sites' users cannot list it.
      expect(st.gid).toBe(Number(execFileSync('getent', ['group', 'www-data'], { encoding: 'utf8' }).split(':')[2]));
      expect(st.mode & 0o7777).toBe(0o2750);
      // Site users take ids of their own range, not Debian's small system range.
      expect(uid).toBeGreaterThanOrEqual(70_000);
      expect(uid).toBeLessThanOrEqual(99_999);
      // The home and its logs stay root's: the site's user cannot redirect the log nginx's master opens.
      expect(fs.statSync(path.join(dataDir, 'sites', site.name, 'logs')).uid).toBe(0);
    }
  });

  it('runs PHP in the site\'s own pool, as the site\'s user when the agent is root', async () => {
    const site = newSite({ php: true });
    const [result] = await apply([present(site)]);
    expect(result!.ok).toBe(true);
    fs.writeFileSync(path.join(dataDir, 'sites', site.name, 'public_html', 'who.php'), '<?php echo posix_getpwuid(posix_geteuid())["name"], " ", 6 * 7;');
    const answer = await until(port, site.domain, '/who.php', (a) => a.status === 200);
    expect(answer).toEqual({ status: 200, body: `${asRoot ? site.name : os.userInfo().username} 42` });
    expect(fs.existsSync(path.join(dataDir, 'php-fpm', 'pools', `${site.name}.conf`))).toBe(true);
    // A plain site does not run PHP: the source is served as a file, never executed.
    const plain = newSite();
    await apply([present(plain)]);
    fs.writeFileSync(path.join(dataDir, 'sites', plain.name, 'public_html', 'who.php'), '<?php echo 6 * 7;');
    const source = await until(port, plain.domain, '/who.php', (a) => a.status === 200);
    expect(source.body).toBe('<?php echo 6 * 7;');
  });

  it('suspends with a 503 page showing the escaped reason, for every method and path, and activates again', async () => {
    const site = newSite();
    await apply([present(site)]);
    await until(port, site.domain, '/', (a) => a.status === 200);
    const reason = 'Unpaid <script>alert("x")</script> & more';
    const [result] = await apply([present({ ...site, status: 'suspended', suspendReason: reason }, 2)]);
    expect(result!.ok).toBe(true);
    const page = await until(port, site.domain, '/', (a) => a.status === 503);
    expect(page.status).toBe(503);
    expect(page.body).toContain('Unpaid &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more');
    expect(page.body).not.toContain('<script>');
    for (const method of ['POST', 'PUT', 'DELETE']) expect((await request(port, site.domain, '/any/where.php', method)).status).toBe(503);
    expect((await request(port, site.domain, '/.hostplane-suspended.html')).status).toBe(503);

    await apply([present({ ...site, status: 'suspended', suspendReason: null }, 3)]);
    const generic = await until(port, site.domain, '/', (a) => a.status === 503 && !a.body.includes('Unpaid'));
    expect(generic.body).toContain('This site is suspended.');

    await apply([present({ ...site, status: 'active' }, 4)]);
    const back = await until(port, site.domain, '/', (a) => a.status === 200);
    expect(back.body).toContain('It works');
  });

  it('deletes a site: archived, not served, its pool, home and user gone', async () => {
    const site = newSite({ php: true });
    await apply([present(site)]);
    fs.writeFileSync(path.join(dataDir, 'sites', site.name, 'public_html', 'keep.txt'), 'precious');
    await until(port, site.domain, '/keep.txt', (a) => a.status === 200);
    const [result] = await driver.apply([absent(site)]);
    expect(result).toEqual({ kind: 'site', id: site.name, version: 2, ok: true });
    expect((await until(port, site.domain, '/keep.txt', (a) => a.status === 404)).status).toBe(404);
    expect(fs.existsSync(path.join(dataDir, 'sites', site.name))).toBe(false);
    expect(fs.existsSync(path.join(prefix, 'sites', `${site.name}.conf`))).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'php-fpm', 'pools', `${site.name}.conf`))).toBe(false);
    expect(userExists(site.name)).toBe(false);
    const archives = fs.readdirSync(path.join(dataDir, 'archives')).filter((f) => f.startsWith(`${site.name}-`));
    expect(archives).toHaveLength(1);
    expect(archives[0]).toMatch(new RegExp(`^${site.name}-\\d{8}T\\d{6}Z\\.tar\\.gz$`));
    const listing = execFileSync('tar', ['-tzf', path.join(dataDir, 'archives', archives[0]!)], { encoding: 'utf8' });
    expect(listing).toContain(`${site.name}/public_html/keep.txt`);
    // Deleting what is gone changes nothing and succeeds.
    const reloads = driver.stats.nginxReloads;
    expect((await driver.apply([absent(site, 3)]))[0]!.ok).toBe(true);
    expect(driver.stats.nginxReloads).toBe(reloads);
    expect(fs.readdirSync(path.join(dataDir, 'archives')).filter((f) => f.startsWith(`${site.name}-`))).toHaveLength(1);
  });

  it('applying the same state twice rewrites nothing and reloads nothing', async () => {
    const a = newSite({ php: true });
    const b = newSite({ status: 'suspended', suspendReason: 'late' });
    await apply([present(a), present(b)]);
    const conf = path.join(prefix, 'sites', `${a.name}.conf`);
    const before = fs.statSync(conf).mtimeMs;
    const stats = { ...driver.stats };
    const again = await apply([present(a), present(b)]);
    expect(again.every((r) => r.ok)).toBe(true);
    expect(driver.stats).toEqual(stats);
    expect(fs.statSync(conf).mtimeMs).toBe(before);
  });

  it('a site nginx refuses fails with nginx\'s message; the rest of the batch is served and a good site keeps its last config', async () => {
    const good = newSite();
    const kept = newSite();
    await apply([present(kept)]);
    await until(port, kept.domain, '/', (a) => a.status === 200);
    // A valid DNS name longer than nginx's server-name hash bucket: nginx -t refuses it.
    const long = `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.test`;
    const bad = newSite({ domain: long });
    const reloads = driver.stats.nginxReloads;
    const results = await apply([present(good), present(bad), present({ ...kept, aliases: [long] }, 2)]);
    expect(results.map((r) => r.ok)).toEqual([true, false, false]);
    expect(results[1]!.error).toMatch(/nginx refused.*server_names_hash/);
    expect(results[2]!.error).toMatch(/nginx refused.*server_names_hash/);
    expect(driver.stats.nginxReloads).toBe(reloads + 1);
    expect((await until(port, good.domain, '/', (a) => a.status === 200)).status).toBe(200);
    expect((await request(port, kept.domain, '/')).status).toBe(200);
    expect(fs.existsSync(path.join(prefix, 'sites', `${bad.name}.conf`))).toBe(false);
    expect(fs.readFileSync(path.join(prefix, 'sites', `${kept.name}.conf`), 'utf8')).not.toContain(long);
    expect(await driver.health()).toEqual({ ok: true });
  });

  it('a reload nginx cannot carry out (out of open files) fails the batch; the retry reloads and serves', async () => {
    const first = newSite();
    await apply([present(first)]);
    await until(port, first.domain, '/', (a) => a.status === 200);
    // nginx -t passes, but the running master has no file descriptor left to read the new configuration
    // with: it keeps its old one and says so only in its error log. prlimit changes the live master's limit.
    const master = Number(fs.readFileSync(path.join(prefix, 'nginx.pid'), 'utf8').trim());
    const limits = fs.readFileSync(`/proc/${master}/limits`, 'utf8').match(/Max open files\s+(\d+)\s+(\d+)/)!;
    const open = fs.readdirSync(`/proc/${master}/fd`).length;
    execFileSync('prlimit', ['--pid', String(master), `--nofile=${open}:${limits[2]}`]);
    const batch = Array.from({ length: 8 }, () => newSite());
    try {
      const failed = await apply(batch.map((x) => present(x)));
      expect(failed.every((r) => !r.ok && /nginx kept its previous configuration.*(Too many open files|no new workers)/.test(r.error ?? ''))).toBe(true);
      expect((await request(port, batch[0]!.domain, '/')).status).toBe(404);
    } finally {
      execFileSync('prlimit', ['--pid', String(master), `--nofile=${limits[1]}:${limits[2]}`]);
    }
    // The same specs again change no file, yet the reload owed from the failure happens.
    const reloads = driver.stats.nginxReloads;
    const retried = await apply(batch.map((x) => present(x)));
    expect(retried.every((r) => r.ok)).toBe(true);
    expect(driver.stats.nginxReloads).toBe(reloads + 1);
    for (const x of batch) expect((await until(port, x.domain, '/', (a) => a.status === 200)).status).toBe(200);
  });

  it('files a killed agent wrote but never reloaded are loaded when the next driver starts', async () => {
    const master = Number(fs.readFileSync(path.join(prefix, 'nginx.pid'), 'utf8').trim());
    const limits = fs.readFileSync(`/proc/${master}/limits`, 'utf8').match(/Max open files\s+(\d+)\s+(\d+)/)!;
    execFileSync('prlimit', ['--pid', String(master), `--nofile=${fs.readdirSync(`/proc/${master}/fd`).length}:${limits[2]}`]);
    const batch = Array.from({ length: 4 }, () => newSite());
    try {
      expect((await apply(batch.map((x) => present(x)))).some((r) => r.ok)).toBe(false);
    } finally {
      execFileSync('prlimit', ['--pid', String(master), `--nofile=${limits[1]}:${limits[2]}`]);
    }
    // A new driver (the agent restarted: what it owed is forgotten) finds the files matching the specs.
    const next = new WebDriver({ dataDir, nginxPrefix: prefix, httpPort: port, nginxBin: NGINX, phpFpmBin: PHP_FPM, log, keepServingOnStop: true });
    await next.start();
    for (const x of batch) expect((await until(port, x.domain, '/', (a) => a.status === 200)).status).toBe(200);
    expect((await next.apply(batch.map((x) => present(x)))).every((r) => r.ok)).toBe(true);
    await next.stop();
  });

  it('refuses objects it cannot trust and writes nothing for them', async () => {
    const site = newSite();
    const injected = { ...present(site), spec: { ...site, domain: `${RUN}.test; return 200 owned` } } as WireObject;
    const mismatched = { ...present(site), id: 'other' } as WireObject;
    const traversal = { ...present(site), id: '../etc', spec: { ...site, name: '../etc' } } as WireObject;
    const results = await driver.apply([injected, mismatched, traversal]);
    expect(results.map((r) => r.ok)).toEqual([false, false, false]);
    expect(results[0]!.error).toMatch(/invalid object: spec.domain/);
    expect(results[1]!.error).toMatch(/must be the site's name/);
    expect(results[2]!.error).toMatch(/invalid object/);
    expect(fs.readdirSync(path.join(prefix, 'sites')).some((f) => f.includes(site.name) || f.includes('etc'))).toBe(false);
    if (asRoot) {
      // A user that is not the site's (here root, whose home is elsewhere) is never taken over.
      const [takeover] = await driver.apply([present({ ...newSite(), name: 'root' }, 1)].map((o) => ({ ...o, id: 'root' }) as WireObject));
      expect(takeover!.ok).toBe(false);
      expect(takeover!.error).toMatch(/system user root already exists/);
      expect(fs.existsSync(path.join(prefix, 'sites', 'root.conf'))).toBe(false);
    }
  });

  it('the master holds no file per site: 40 more sites, its open files stay where they were, and their logs are written', async () => {
    const master = Number(fs.readFileSync(path.join(prefix, 'nginx.pid'), 'utf8').trim());
    const before = fs.readdirSync(`/proc/${master}/fd`).length;
    const batch = Array.from({ length: 40 }, () => newSite());
    expect((await apply(batch.map((x) => present(x)))).every((r) => r.ok)).toBe(true);
    for (const x of batch) expect((await until(port, x.domain, '/', (a) => a.status === 200)).status).toBe(200);
    const after = Number(fs.readFileSync(path.join(prefix, 'nginx.pid'), 'utf8').trim());
    expect(after).toBe(master);
    // A literal log path would be one more open file per site in the master (and twice that during a reload).
    expect(fs.readdirSync(`/proc/${master}/fd`).length).toBeLessThan(before + 5);
    const log = path.join(dataDir, 'sites', batch[0]!.name, 'logs', 'access.log');
    expect(fs.readFileSync(log, 'utf8')).toMatch(/^\d+ 127\.0\.0\.1 \[/);
    if (process.getuid?.() === 0) expect((fs.statSync(log).mode & 0o777).toString(8)).toBe('660');
  });

  it('meters storage and transfer per site; the transfer counter only grows, also across a truncated log', async () => {
    const site = newSite();
    await apply([present(site)]);
    const file = path.join(dataDir, 'sites', site.name, 'public_html', 'big.bin');
    fs.writeFileSync(file, Buffer.alloc(100_000, 1));
    await until(port, site.domain, '/big.bin', (a) => a.status === 200);
    const first = (await driver.observe()).find((s) => s.id === site.name)!;
    expect(first.storageBytes).toBeGreaterThanOrEqual(100_000);
    expect(first.transferBytes).toBeGreaterThan(100_000);
    for (let i = 0; i < 3; i++) await request(port, site.domain, '/big.bin');
    const second = (await driver.observe()).find((s) => s.id === site.name)!;
    expect(second.transferBytes).toBeGreaterThan(first.transferBytes + 3 * 100_000);
    // Nothing new: the counter stays where it was (the saved offset is honoured).
    expect((await driver.observe()).find((s) => s.id === site.name)!.transferBytes).toBe(second.transferBytes);
    fs.truncateSync(path.join(dataDir, 'sites', site.name, 'logs', 'access.log'), 0);
    await request(port, site.domain, '/big.bin');
    const third = (await driver.observe()).find((s) => s.id === site.name)!;
    expect(third.transferBytes).toBeGreaterThan(second.transferBytes + 100_000);
    const saved = JSON.parse(fs.readFileSync(path.join(dataDir, 'web-metering.json'), 'utf8')) as { sites: Record<string, { transferBytes: number }> };
    expect(saved.sites[site.name]!.transferBytes).toBe(third.transferBytes);
  });

  it('a new driver on the same directories finds nginx running and keeps serving; a refused file left on disk is set aside', async () => {
    const site = newSite();
    await apply([present(site)]);
    await until(port, site.domain, '/', (a) => a.status === 200);
    // What a crash between writing and testing could leave: a file nginx refuses.
    fs.writeFileSync(path.join(prefix, 'sites', 'broken.conf'), 'server { listen nonsense; }\n');
    const next = new WebDriver({ dataDir, nginxPrefix: prefix, httpPort: port, nginxBin: NGINX, phpFpmBin: PHP_FPM, log, keepServingOnStop: true });
    await next.start();
    expect(next.stats.nginxStarts).toBe(0);
    expect(fs.existsSync(path.join(prefix, 'sites', 'broken.conf.refused'))).toBe(true);
    expect((await request(port, site.domain, '/')).status).toBe(200);
    await next.stop();
    expect(await driver.health()).toEqual({ ok: true });
    expect((await request(port, site.domain, '/')).status).toBe(200);
  });
});

describe.runIf(process.env.HOSTPLANE_TEST_DB === 'pglite')('web role driver without site users', () => {
  it('a large batch (its directories listed once) clears a crash\'s leftovers, keeps what is current, and fails only a site whose home cannot be made', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hostplane-web-batch-'));
    fs.chmodSync(root, 0o755);
    const port = await freePort();
    const dataDir = path.join(root, 'data');
    const prefix = path.join(root, 'nginx');
    const driver = new WebDriver({ dataDir, nginxPrefix: prefix, httpPort: port, nginxBin: NGINX, phpFpmBin: PHP_FPM, log, manageUsers: false });
    try {
      await driver.start();
      const kept = newSite();
      const suspended = newSite({ status: 'suspended', suspendReason: 'unpaid' });
      await driver.apply([present(kept), present(suspended)]);
      const keptConf = path.join(prefix, 'sites', `${kept.name}.conf`);
      const keptMtime = fs.statSync(keptConf).mtimeMs;
      const fresh = Array.from({ length: 68 }, () => newSite());
      const [aside, refused, blocked] = fresh as [SiteSpec, SiteSpec, SiteSpec];
      // What a crash can leave: a home half built aside, a refused block. And a home nothing can be made in.
      fs.mkdirSync(path.join(dataDir, 'sites', `.${aside.name}.new`, 'public_html'), { recursive: true });
      fs.writeFileSync(path.join(dataDir, 'sites', `.${aside.name}.new`, 'public_html', 'junk'), 'x');
      fs.writeFileSync(path.join(prefix, 'sites', `${refused.name}.conf.refused`), 'server { listen nonsense; }\n');
      fs.writeFileSync(path.join(dataDir, 'sites', blocked.name), 'not a directory');
      const reloads = driver.stats.nginxReloads;
      const batch = [present(kept), present({ ...suspended, status: 'active', suspendReason: null }, 2), ...fresh.map((x) => present(x))];
      const results = await driver.apply(batch);
      expect(results.filter((r) => !r.ok).map((r) => r.id)).toEqual([blocked.name]);
      expect(results.find((r) => r.id === blocked.name)!.error).toMatch(/cannot make the site's home/);
      expect(fs.existsSync(path.join(prefix, 'sites', `${blocked.name}.conf`))).toBe(false);
      expect(driver.stats.nginxReloads).toBe(reloads + 1);
      expect(fs.statSync(keptConf).mtimeMs).toBe(keptMtime);
      expect(fs.existsSync(path.join(dataDir, 'sites', `.${aside.name}.new`))).toBe(false);
      expect(fs.readdirSync(path.join(dataDir, 'sites', aside.name, 'public_html'))).toEqual(['index.html']);
      expect(fs.existsSync(path.join(prefix, 'sites', `${refused.name}.conf.refused`))).toBe(false);
      expect((await until(port, suspended.domain, '/', (a) => a.status === 200)).status).toBe(200);
      for (const x of [kept, ...fresh.filter((f) => f !== blocked)]) expect((await until(port, x.domain, '/', (a) => a.status === 200)).status).toBe(200);
      expect((await request(port, blocked.domain, '/')).status).toBe(404);
      // The same batch again: nothing to write, nothing to reload, the same site failing.
      const again = await driver.apply(batch);
      expect(again.filter((r) => !r.ok).map((r) => r.id)).toEqual([blocked.name]);
      expect(driver.stats.nginxReloads).toBe(reloads + 1);
    } finally {
      await driver.stop();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('creates no system user; PHP runs as the agent\'s user, or as nobody when that is root', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hostplane-web-nousers-'));
    fs.chmodSync(root, 0o755);
    const port = await freePort();
    const driver = new WebDriver({ dataDir: path.join(root, 'data'), nginxPrefix: path.join(root, 'nginx'), httpPort: port, nginxBin: NGINX, phpFpmBin: PHP_FPM, log, manageUsers: false });
    try {
      await driver.start();
      const site = newSite({ php: true });
      const [result] = await driver.apply([present(site)]);
      expect(result!.ok).toBe(true);
      expect(userExists(site.name)).toBe(false);
      fs.writeFileSync(path.join(root, 'data', 'sites', site.name, 'public_html', 'who.php'), '<?php echo posix_getpwuid(posix_geteuid())["name"];');
      const answer = await until(port, site.domain, '/who.php', (a) => a.status === 200);
      expect(answer).toEqual({ status: 200, body: asRoot ? 'nobody' : os.userInfo().username });
    } finally {
      await driver.stop();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
