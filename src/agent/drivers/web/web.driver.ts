/**
 * The web role on a real nginx and php-fpm (ADR 0020). One driver owns one nginx master (its own
 * prefix and port) and at most one php-fpm master, both daemonized so they keep serving when the
 * agent is gone. A site is a server block `<prefix>/sites/<name>.conf`, a home under
 * `<dataDir>/sites/<name>/`, maybe a php-fpm pool, and a system user when the agent runs as root.
 *
 * A batch is written first, then tested as a whole with `nginx -t`; when nginx refuses it, the sites
 * responsible are found by testing halves of the changed files alone, put back to their last good
 * file (or left out when new) and reported failed with nginx's words, and the rest is reloaded once.
 * A batch that changes nothing rewrites nothing and reloads nothing.
 */
import fss from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { SiteObject, WireUserName, type SiteSpec, type WireObject } from '../../../core/nodes/agent-wire.schema.js';
import type { ObjectResultT, RoleDriver, UsageSampleT } from '../../role-driver.js';
import {
  assertSafePath,
  nginxPaths,
  renderFastcgiParams,
  renderHttpCommon,
  renderMainConf,
  renderMimeTypes,
  renderSiteBlock,
  renderSuspendedPage,
    TEMP_SUBDIRS,
  type NginxLayout,
} from './nginx.config.js';
import { phpPaths, poolSocket, renderPhpFpmMain, renderPool } from './php-fpm.config.js';
import { DirListing, exists, readOrNull, yieldEvery, removeStaleTempFiles, restoreFile, writeAtomic, writeNew } from './web.files.js';
import { archiveHome, ensureHome, homePaths, removeHome } from './web.homes.js';
import { countStorage, WebMetering } from './web.metering.js';
import { NginxMaster, PhpFpmMaster, waitForSockets } from './web.processes.js';
import { ensureSiteUser, groupId, readPasswd, removeSiteUser, workerAccount, type PasswdEntry } from './web.users.js';

/** What the driver logs through; pino's logger fits. */
export interface DriverLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface WebDriverOptions {
  dataDir: string;
  nginxPrefix: string;
  httpPort: number;
  nginxBin: string;
  phpFpmBin: string;
  log: DriverLog;
  /** Entries one site's storage walk visits at most (default 100,000); past it the count is partial. */
  storageWalkLimit?: number;
  /** stop() leaves nginx and php-fpm running, serving what was applied (default: stop() quits them). */
  keepServingOnStop?: boolean;
  /** Overrides the root check (tests of the non-root layout while running as root). */
  manageUsers?: boolean;
}

/** One file the batch wants: its new text (null: no file), and what was there, to put it back. */
interface FileChange {
  file: string;
  next: string | null;
  previous: string | null;
}

interface SitePlan {
  name: string;
  /** Indexes of the batch's objects this plan answers. */
  indexes: number[];
  version: number;
  present: boolean;
  spec: SiteSpec | null;
  conf: FileChange | null;
  page: FileChange | null;
  pool: FileChange | null;
  error: string | null;
}

const SOCKET_WAIT_MS = 10_000;

/**
 * From this many sites a batch lists the directories it writes instead of asking about each file:
 * listing a directory of 10,000 sites costs about what 64 failed look-ups do.
 */
const LIST_FROM = 64;

/** What a batch knows of the directories it writes (see DirListing). */
interface Listings {
  confs: DirListing;
  pages: DirListing;
  pools: DirListing;
  homes: DirListing;
}

/** The first directory from `/` down to `dir` that others may not traverse, or null. */
function closedAncestor(dir: string): string | null {
  let current = '/';
  for (const part of dir.split('/').filter(Boolean)) {
    current = path.join(current, part);
    try {
      if ((fss.statSync(current).mode & 0o001) === 0) return current;
    } catch {
      return null;
    }
  }
  return null;
}

/**
 * WireObject checked option by option, picked by `state`: its two options share the `kind` it is
 * discriminated on, which zod 4 refuses when parsing, and the option's own issues say more than a
 * union's "invalid input".
 */
function parseWireObject(raw: unknown) {
  const state = (raw as { state?: unknown } | null)?.state;
  const option = SiteObject.options.find((o) => o.shape.state.value === state);
  if (!option) return { success: false as const, error: { issues: [{ path: ['state'], message: 'must be present or absent' }] } };
  return option.safeParse(raw);
}

export class WebDriver implements RoleDriver {
  readonly role = 'web' as const;
  readonly kinds = ['site'] as const;
  /** Reloads (and starts) of nginx and php-fpm this driver made; tests and the bench read them. */
  readonly stats = { nginxReloads: 0, nginxStarts: 0, phpFpmReloads: 0, phpFpmStarts: 0 };
  /** A reload failed after the files changed: the next apply reloads even when it changes no file. */
  private reloadOwed = false;

  private readonly dataDir: string;
  private readonly prefix: string;
  private readonly paths: ReturnType<typeof nginxPaths>;
  private readonly php: ReturnType<typeof phpPaths>;
  private readonly sitesDir: string;
  private readonly archivesDir: string;
  private readonly nginx: NginxMaster;
  private readonly phpFpm: PhpFpmMaster;
  private readonly metering: WebMetering;
  private readonly isRoot: boolean;
  /** Whether sites get system users (root, unless told otherwise). */
  private readonly asRoot: boolean;
  private readonly log: DriverLog;
  private layout: NginxLayout;
  private passwd = new Map<string, PasswdEntry>();
  /** The group of nginx's workers (root only): the group of every site's public_html. */
  private webGid: number | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: WebDriverOptions) {
    this.dataDir = path.resolve(options.dataDir);
    this.prefix = path.resolve(options.nginxPrefix);
    assertSafePath('data dir', this.dataDir);
    assertSafePath('nginx prefix', this.prefix);
    if (!Number.isInteger(options.httpPort) || options.httpPort < 1 || options.httpPort > 65535) throw new Error(`http port ${options.httpPort} is not a TCP port`);
    this.paths = nginxPaths(this.prefix);
    this.php = phpPaths(this.dataDir);
    this.sitesDir = path.join(this.dataDir, 'sites');
    this.archivesDir = path.join(this.dataDir, 'archives');
    this.isRoot = process.getuid?.() === 0;
    this.asRoot = options.manageUsers ?? this.isRoot;
    this.log = options.log;
    this.layout = { prefix: this.prefix, httpPort: options.httpPort, worker: null };
    this.nginx = new NginxMaster(options.nginxBin, this.prefix, this.paths.mainConf, this.paths.pidFile, this.paths.errorLog);
    this.phpFpm = new PhpFpmMaster(options.phpFpmBin, this.php.mainConf, this.php.pidFile, this.php.errorLog);
    this.metering = new WebMetering(path.join(this.dataDir, 'web-metering.json'));
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private home(name: string): string {
    return path.join(this.sitesDir, name);
  }

  private confFile(name: string): string {
    return path.join(this.paths.sitesDir, `${name}.conf`);
  }

  private pageFile(name: string): string {
    return path.join(this.paths.suspendedDir, `${name}.html`);
  }

  start(): Promise<void> {
    return this.serial(() => this.startNow());
  }

  private async startNow(): Promise<void> {
    const p = this.paths;
    for (const dir of [p.sitesDir, p.suspendedDir, path.dirname(p.errorLog), ...TEMP_SUBDIRS.map((d) => path.join(p.tempDir, d))]) {
      await fs.mkdir(dir, { recursive: true });
    }
    for (const dir of [this.sitesDir, this.php.poolsDir, this.php.socketsDir, path.dirname(this.php.errorLog)]) await fs.mkdir(dir, { recursive: true });
    await fs.mkdir(this.archivesDir, { recursive: true, mode: 0o700 });
    for (const dir of [p.sitesDir, p.suspendedDir, this.php.poolsDir, this.prefix, path.join(this.dataDir, 'php-fpm'), this.dataDir]) await removeStaleTempFiles(dir);

    if (this.isRoot) {
      this.layout = { ...this.layout, worker: workerAccount(await readPasswd()) };
      this.webGid = await groupId(this.layout.worker!.group);
      for (const dir of [this.sitesDir, this.paths.suspendedDir, this.php.socketsDir]) {
        const closed = closedAncestor(dir);
        if (closed) this.log.warn({ dir: closed, worker: this.layout.worker!.user }, 'nginx\'s workers cannot traverse this directory: sites will answer 403 or 502 until it is o+x');
      }
    }
    if (this.asRoot) this.passwd = await readPasswd();
    const files: [string, string][] = [
      [p.mimeTypes, renderMimeTypes()],
      [p.fastcgiParams, renderFastcgiParams()],
      [p.httpCommon, renderHttpCommon(this.layout)],
      [p.mainConf, renderMainConf(this.layout)],
    ];
    for (const [file, text] of files) if (readOrNull(file) !== text) writeAtomic(file, text);
    const phpMain = renderPhpFpmMain(this.dataDir);
    const phpChanged = readOrNull(this.php.mainConf) !== phpMain;
    if (phpChanged) writeAtomic(this.php.mainConf, phpMain);

    const running = await this.nginx.pid();
    const test = await this.nginx.test();
    if (!test.ok) await this.quarantineRefusedSites(test.error);
    // A running nginx (and php-fpm) is reloaded even when no file changed here: an agent killed
    // between writing a batch's files and reloading leaves files that already match their specs, so
    // the next applies change nothing and would never make the servers load them.
    if (running === null) {
      await this.nginx.start();
      this.stats.nginxStarts++;
    } else {
      await this.nginx.reload();
      this.stats.nginxReloads++;
    }
    if ((await this.poolNames()).length > 0) {
      if ((await this.phpFpm.pid()) === null) await this.startPhpFpm();
      else await this.reloadPhpFpm();
    }
    this.log.info({ prefix: this.prefix, port: this.options.httpPort, asRoot: this.asRoot }, 'web driver started');
  }

  /**
   * On start, a set nginx refuses (a hand edit, a crash between writing and testing) must not keep
   * every site down: the site files nginx refuses are renamed aside (`.conf.refused`); the next
   * apply of those sites writes them again and reports what nginx says.
   */
  private async quarantineRefusedSites(error: string): Promise<boolean> {
    const changes: FileChange[] = [];
    for (const f of (await fs.readdir(this.paths.sitesDir)).filter((n) => n.endsWith('.conf')).sort()) {
      const file = path.join(this.paths.sitesDir, f);
      changes.push({ file, next: await fs.readFile(file, 'utf8'), previous: null });
    }
    const refused = await this.isolateRefused(changes, error);
    for (const [file, why] of refused) {
      this.log.error({ file, error: why }, 'nginx refuses a site file; set aside');
      writeAtomic(`${file}.refused`, changes.find((c) => c.file === file)!.next!);
    }
    return refused.size > 0;
  }

  apply(objects: WireObject[]): Promise<ObjectResultT[]> {
    return this.serial(() => this.applyNow(objects));
  }

  private async applyNow(objects: WireObject[]): Promise<ObjectResultT[]> {
    const results: ObjectResultT[] = objects.map((o) => ({ kind: 'site', id: String(o?.id ?? ''), version: Number(o?.version ?? 0), ok: false }));
    const plans = new Map<string, SitePlan>();
    objects.forEach((raw, index) => {
      const parsed = parseWireObject(raw);
      if (!parsed.success) {
        results[index]!.error = `invalid object: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`.slice(0, 2000);
        return;
      }
      const o = parsed.data;
      const name = o.state === 'present' ? o.spec.name : (o.spec?.name ?? o.id);
      if (!WireUserName.safeParse(name).success || name !== o.id) {
        results[index]!.error = `site id ${JSON.stringify(o.id)} must be the site's name (a plain system user name)`;
        return;
      }
      // The last object of a name in a batch wins; every one of them gets its result.
      const indexes = [...(plans.get(name)?.indexes ?? []), index];
      plans.set(name, { name, indexes, version: o.version, present: o.state === 'present', spec: o.state === 'present' ? o.spec : null, conf: null, page: null, pool: null, error: null });
    });

    const t0 = performance.now();
    const all = [...plans.values()];
    if (this.asRoot) {
      this.passwd = await readPasswd();
      // useradd locks the account files: users are made one at a time, before the parallel part.
      for (const plan of all) {
        if (!plan.present) continue;
        const user = await ensureSiteUser(plan.name, this.home(plan.name), this.passwd);
        if (!user.ok) plan.error = user.error;
      }
    }
    const list = all.length >= LIST_FROM;
    const listings: Listings = {
      confs: DirListing.of(this.paths.sitesDir, list),
      pages: DirListing.of(this.paths.suspendedDir, list),
      pools: DirListing.of(this.php.poolsDir, list),
      homes: DirListing.of(this.sitesDir, list),
    };
    for (const [i, plan] of all.entries()) {
      if (plan.error !== null) continue;
      try {
        if (plan.present) this.planPresent(plan, listings);
        else await this.planAbsent(plan, listings);
      } catch (err) {
        plan.error = (err as Error).message;
      }
      await yieldEvery(i);
    }
    const live = all.filter((p) => p.error === null);
    await this.writeChanges(live);
    const t1 = performance.now();

    // nginx -t reads the server blocks, never the homes: it runs in its own process while the homes
    // are made here. A site that fails after the test started (its home, its pool) has its files put
    // back, and then the set is tested again, so what is reloaded is always what nginx -t accepted.
    // (Settled into a value at once: a failure to run nginx must not go unhandled while the homes are made.)
    const confsChanged = live.some((p) => p.error === null && p.conf !== null);
    const testing = confsChanged ? this.nginx.test().then((result) => ({ result }), (failure: unknown) => ({ failure })) : null;
    const homes = await this.makeHomes(live, listings.homes);
    let lateRollBack = homes.confsPutBack;
    if (live.some((p) => p.error === null && p.pool !== null)) lateRollBack = (await this.checkPools(live)) || lateRollBack;
    if (testing) {
      const tested = await testing;
      if ('failure' in tested) throw tested.failure;
      if (lateRollBack) await this.checkNginx(live);
      else if (!tested.result.ok) await this.checkNginx(live, tested.result.error);
    }

    // php-fpm before nginx: a server block may name a pool's socket only once the pool listens.
    if (live.some((p) => p.error === null && p.pool !== null)) await this.applyPools(live);
    const t2 = performance.now();
    const nginxRunning = (await this.nginx.pid()) !== null;
    if (!nginxRunning) {
      await this.nginx.start();
      this.stats.nginxStarts++;
    } else if (this.reloadOwed || live.some((p) => p.error === null && p.conf !== null)) {
      // Owed until a reload succeeds: the files on disk are already the new ones, so a retry of the
      // same specs changes no file and would otherwise report applied what nginx never loaded.
      this.reloadOwed = true;
      try {
        await this.nginx.reload();
        this.reloadOwed = false;
        this.stats.nginxReloads++;
      } catch (err) {
        // nginx still serves the previous configuration: nothing of this batch is true yet, and a
        // removed site's home must stay until nginx has stopped naming it.
        for (const plan of live) if (plan.error === null) plan.error = (err as Error).message;
      }
    }

    const t3 = performance.now();
    // The server no longer names a deleted site: its home (archived while planning), user and counters go.
    for (const plan of live) {
      if (plan.present || plan.error !== null) continue;
      try {
        await fs.rm(this.pageFile(plan.name), { force: true });
        await removeHome(this.home(plan.name));
        if (this.asRoot) {
          const r = await removeSiteUser(plan.name, this.home(plan.name), this.passwd);
          if (!r.ok) throw new Error(r.error);
        }
        await this.metering.forget([plan.name]);
      } catch (err) {
        plan.error = (err as Error).message;
      }
    }

    for (const plan of plans.values()) {
      for (const index of plan.indexes) {
        const result = results[index]!;
        result.ok = plan.error === null;
        if (plan.error !== null) result.error = plan.error.slice(0, 2000);
      }
    }
    const failed = results.filter((r) => !r.ok);
    const ms = (a: number, b: number) => Math.round(b - a);
    // filesMs: planning and writing the config files; testMs: nginx -t and php-fpm, with the homes
    // made meanwhile (homesMs of it).
    this.log.info({ objects: objects.length, failed: failed.length, filesMs: ms(t0, t1), homesMs: homes.ms, testMs: ms(t1, t2), reloadMs: ms(t2, t3), removeMs: ms(t3, performance.now()) }, 'web driver applied a batch');
    if (failed.length > 0) this.log.warn({ failed: failed.length, of: results.length, first: failed[0] }, 'web driver: some sites failed');
    return results;
  }

  /** Decides a present site's files (its user exists by now; its home is made by makeHomes). */
  private planPresent(plan: SitePlan, listings: Listings): void {
    const spec = plan.spec!;
    const home = this.home(plan.name);
    if (this.asRoot && !this.passwd.has(plan.name)) throw new Error(`system user ${plan.name} is missing`);
    listings.confs.remove(`${plan.name}.conf.refused`);
    const phpSocket = spec.php ? poolSocket(this.dataDir, plan.name) : null;
    const conf = renderSiteBlock(this.layout, { spec, home, phpSocket });
    const page = spec.status === 'suspended' ? renderSuspendedPage(spec.suspendReason) : null;
    // Root without site users (tests, the bench): php-fpm refuses pools running as root, so they run as nobody.
    const runAs = this.asRoot ? { user: plan.name, group: plan.name } : this.isRoot ? { user: 'nobody', group: 'nogroup' } : null;
    const pool = spec.php ? renderPool({ dataDir: this.dataDir, name: plan.name, home, runAs, socketOwner: this.layout.worker }) : null;
    plan.conf = this.change(listings.confs, `${plan.name}.conf`, conf);
    plan.page = this.change(listings.pages, `${plan.name}.html`, page);
    plan.pool = this.change(listings.pools, `${plan.name}.conf`, pool);
  }

  /** A deleted site: archived now, while it is still whole; its files go with the batch. */
  private async planAbsent(plan: SitePlan, listings: Listings): Promise<void> {
    const archive = await archiveHome(this.sitesDir, plan.name, this.archivesDir, new Date());
    if (archive) this.log.info({ site: plan.name, archive }, 'site home archived');
    listings.confs.remove(`${plan.name}.conf.refused`);
    plan.conf = this.change(listings.confs, `${plan.name}.conf`, null);
    plan.pool = this.change(listings.pools, `${plan.name}.conf`, null);
  }

  /** The change a file of a listed directory needs, or null when it already holds `next`. */
  private change(listing: DirListing, name: string, next: string | null): FileChange | null {
    const previous = listing.read(name);
    return previous === next ? null : { file: listing.path(name), next, previous };
  }

  /**
   * Makes what is missing of each present site's home (a failed config does not undo it); a site
   * whose home fails has its files put back and fails. Returns the time it took, and whether a server
   * block was put back.
   */
  private async makeHomes(plans: SitePlan[], homes: DirListing): Promise<{ ms: number; confsPutBack: boolean }> {
    const t0 = performance.now();
    let confsPutBack = false;
    for (const [i, plan] of plans.entries()) {
      if (plan.error !== null || !plan.present) continue;
      try {
        const user = this.asRoot ? this.passwd.get(plan.name)! : null;
        const owner = user ? { uid: user.uid, gid: user.gid, webGid: this.webGid ?? user.gid } : null;
        await ensureHome(this.home(plan.name), owner, plan.spec!.php, homes.listed() ? { exists: homes.has(plan.name), aside: homes.has(`.${plan.name}.new`) } : null);
      } catch (err) {
        plan.error = `cannot make the site's home: ${(err as Error).message}`;
        confsPutBack ||= plan.conf !== null;
        this.rollBack(plan);
      }
      await yieldEvery(i);
    }
    return { ms: Math.round(performance.now() - t0), confsPutBack };
  }

  private async writeChanges(plans: SitePlan[]): Promise<void> {
    for (const [i, plan] of plans.entries()) {
      try {
        // The page before the block that serves it. A file that replaces another goes through a
        // temp file and a rename, so a crash keeps the last good one; a new one is written in place.
        for (const c of [plan.page, plan.pool, plan.conf]) {
          if (!c) continue;
          if (c.previous === null && c.next !== null) writeNew(c.file, c.next);
          else restoreFile(c.file, c.next);
        }
      } catch (err) {
        plan.error = `cannot write the site's configuration: ${(err as Error).message}`;
        this.rollBack(plan);
      }
      await yieldEvery(i);
    }
  }

  /** Puts a site's files back as they were before this batch. */
  private rollBack(plan: SitePlan): void {
    for (const c of [plan.conf, plan.pool, plan.page]) {
      if (!c) continue;
      try {
        restoreFile(c.file, c.previous);
      } catch (err) {
        this.log.error({ file: c.file, error: (err as Error).message }, 'cannot restore a file');
      }
    }
  }

  /**
   * php-fpm -t on the candidate pools; when it refuses, the batch's pool changes are all put back.
   * Returns whether a server block was put back with them.
   */
  private async checkPools(plans: SitePlan[]): Promise<boolean> {
    const test = await this.phpFpm.test();
    if (test.ok) return false;
    let confs = false;
    for (const plan of plans) {
      if (plan.error !== null || plan.pool === null) continue;
      plan.error = `php-fpm refused the site's pool: ${test.error}`;
      confs ||= plan.conf !== null;
      this.rollBack(plan);
    }
    return confs;
  }

  /**
   * nginx -t on the candidate set; when it refuses, finds the sites responsible against the rest of
   * the real configuration (some refusals, such as a name too long for the server-name hash, only
   * show with other servers on the port): the batch's blocks are put back, then added again in
   * halves, keeping each half nginx accepts and splitting each it refuses down to single sites.
   * `refusal`: what nginx -t already said of the set as it is on disk (no need to test it again).
   */
  private async checkNginx(plans: SitePlan[], refusal: string | null = null): Promise<void> {
    let error = refusal;
    if (error === null) {
      const test = await this.nginx.test();
      if (test.ok) return;
      error = test.error;
    }
    const changed = plans.filter((p) => p.error === null && p.conf !== null);
    let refused: Map<string, string>;
    try {
      refused = await this.isolateRefused(changed.map((p) => p.conf!), error);
    } catch (err) {
      // Broken without this batch too (a hand edit?): nothing of it goes live, nothing is reloaded.
      for (const plan of changed) {
        plan.error = (err as Error).message;
        this.rollBack(plan);
      }
      return;
    }
    for (const plan of changed) {
      const why = refused.get(plan.conf!.file);
      if (why === undefined) continue;
      plan.error = `nginx refused the site's configuration (its last good one is kept): ${why}`;
      this.rollBack(plan);
    }
  }

  /**
   * The changes (already on disk) nginx refuses, each with nginx's message; the refused ones are left
   * at their previous content, the accepted ones at their new. Throws when nginx refuses the set
   * even without any of the changes.
   */
  private async isolateRefused(changes: FileChange[], firstError: string): Promise<Map<string, string>> {
    const refused = new Map<string, string>();
    for (const c of changes) restoreFile(c.file, c.previous);
    const base = await this.nginx.test();
    if (!base.ok) {
      for (const c of changes) refused.set(c.file, firstError);
      throw new Error(`nginx refuses its configuration even without this batch: ${base.error}`);
    }
    const add = async (group: FileChange[], knownBad: string | null): Promise<void> => {
      if (group.length === 0) return;
      let error = knownBad;
      if (error === null) {
        for (const c of group) restoreFile(c.file, c.next);
        const test = await this.nginx.test();
        if (test.ok) return;
        error = test.error;
        for (const c of group) restoreFile(c.file, c.previous);
      }
      if (group.length === 1) {
        refused.set(group[0]!.file, error);
        return;
      }
      const half = Math.ceil(group.length / 2);
      await add(group.slice(0, half), null);
      await add(group.slice(half), null);
    };
    await add(changes, firstError);
    return refused;
  }

  private async poolNames(): Promise<string[]> {
    return (await fs.readdir(this.php.poolsDir)).filter((f) => f.endsWith('.conf')).map((f) => f.slice(0, -'.conf'.length));
  }

  private async startPhpFpm(): Promise<void> {
    await this.phpFpm.start();
    this.stats.phpFpmStarts++;
  }

  private async reloadPhpFpm(): Promise<void> {
    await this.phpFpm.reload();
    this.stats.phpFpmReloads++;
  }

  /** Starts, reloads or stops php-fpm after pool changes, and waits for new pools' sockets. */
  private async applyPools(plans: SitePlan[]): Promise<void> {
    const pools = await this.poolNames();
    const running = (await this.phpFpm.pid()) !== null;
    if (pools.length === 0) {
      // php-fpm refuses to run without a pool; with the last PHP site gone, it goes too.
      if (running) await this.phpFpm.quit();
      return;
    }
    // New pools only: a changed pool keeps its socket across the reload (php-fpm hands it over).
    const opened = plans.filter((p) => p.error === null && p.pool !== null && p.pool.previous === null && p.pool.next !== null);
    for (const plan of opened) await fs.rm(poolSocket(this.dataDir, plan.name), { force: true });
    if (running) await this.reloadPhpFpm();
    else await this.startPhpFpm();
    const missing = new Set(await waitForSockets(opened.map((p) => poolSocket(this.dataDir, p.name)), SOCKET_WAIT_MS));
    for (const plan of opened) {
      if (missing.has(poolSocket(this.dataDir, plan.name))) plan.error = 'php-fpm did not open the site pool\'s socket (see the php-fpm error log)';
    }
  }

  async observe(): Promise<UsageSampleT[]> {
    const limit = this.options.storageWalkLimit ?? 100_000;
    const names = (await fs.readdir(this.paths.sitesDir).catch(() => [] as string[])).filter((f) => f.endsWith('.conf')).map((f) => f.slice(0, -'.conf'.length));
    const samples: UsageSampleT[] = [];
    for (const [i, name] of names.entries()) {
      await yieldEvery(i);
      if (!WireUserName.safeParse(name).success) continue;
      const home = this.home(name);
      const storage = countStorage(home, limit);
      if (!storage.complete) this.log.warn({ site: name, entries: storage.entries, bytes: storage.bytes }, 'storage walk stopped at its entry cap; the count is partial');
      const transferBytes = await this.metering.transfer(name, homePaths(home).accessLog, () => exists(this.confFile(name)));
      samples.push({ kind: 'site', id: name, at: new Date().toISOString(), storageBytes: storage.bytes, transferBytes });
    }
    await this.metering.save();
    return samples;
  }

  async health(): Promise<{ ok: boolean; error?: string }> {
    if ((await this.nginx.pid()) === null) return { ok: false, error: 'nginx is not running' };
    const pools = await this.poolNames().catch(() => []);
    if (pools.length > 0 && (await this.phpFpm.pid()) === null) return { ok: false, error: 'php-fpm is not running' };
    return { ok: true };
  }

  stop(): Promise<void> {
    return this.serial(async () => {
      if (this.options.keepServingOnStop) return;
      await this.nginx.quit();
      await this.phpFpm.quit();
    });
  }
}
