// Rows 14 and 15: the web role driver (src/agent/drivers/web) on a real nginx, in temp dirs on free ports.
//
// Row 14: apply 1,000 new sites in one batch, from the call to every site answering 200 on its own Host
// header, against a floor: a bare script writing the same 1,000 server blocks into a running nginx of
// its own and reloading it once, timed the same way (homes made beforehand, untimed). Alternated, 3
// times each side, medians compared. The driver runs without site users (as when the agent is not
// root); as root, the cost of users is measured apart on 100 sites, in a note.
//
// Row 15 (info): a driver process holding 10,000 sites (bench/rows/web-role-idle.mjs): its RSS when
// idle, its CPU over a 30 s idle window holding one usage pass (observe) and that pass's time, and
// the RSS of its nginx.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { freePort, startProcess, stopProcess } from '../lib/children.mjs';
import { log, sleep, want } from '../lib/core.mjs';
import { cpuSeconds, memOf } from '../lib/proc.mjs';
import { addRow, fmt, notes } from '../lib/report.mjs';
import { median } from '../lib/stats.mjs';
import { allAnswer, NGINX, PHP_FPM, tempRoot, watchMaster } from '../lib/nginx.mjs';

const SITES = 1000;
const IDLE_SITES = 10_000;
const ROUNDS = 3;

function siteObjects(count, tag) {
  return Array.from({ length: count }, (_, i) => {
    const name = `${tag}${i + 1}`;
    return { kind: 'site', id: name, version: 1, state: 'present', spec: { siteId: i + 1, name, domain: `${name}.bench.test`, aliases: [`www.${name}.bench.test`], status: 'active', suspendReason: null, php: false } };
  });
}

async function oursOnce(WebDriver, round) {
  const root = tempRoot(`web-ours${round}`);
  const port = await freePort();
  const prefix = path.join(root, 'nginx');
  const batches = [];
  const batchLog = { ...quietLog, info: (obj, msg) => msg === 'web driver applied a batch' && batches.push(obj) };
  const driver = new WebDriver({ dataDir: path.join(root, 'data'), nginxPrefix: prefix, httpPort: port, nginxBin: NGINX, phpFpmBin: PHP_FPM, log: batchLog, manageUsers: false });
  watchMaster(path.join(prefix, 'nginx.pid'));
  await driver.start();
  const objects = siteObjects(SITES, `r${round}s`);
  const t0 = performance.now();
  const results = await driver.apply(objects);
  await allAnswer(port, objects.map((o) => o.spec.domain), 200);
  const ms = performance.now() - t0;
  const failed = results.filter((r) => !r.ok).length;
  if (failed > 0) throw new Error(`row 14: ${failed} sites failed: ${results.find((r) => !r.ok).error}`);
  const reloads = driver.stats.nginxReloads;
  // The floor writes these very files: read them back for it.
  const blocks = objects.map((o) => fs.readFileSync(path.join(prefix, 'sites', `${o.id}.conf`), 'utf8'));
  await driver.stop();
  return { ms, reloads, blocks, dataDir: path.join(root, 'data'), prefix, batch: batches[0] };
}

/** The floor: a running nginx with the same main configuration, 1,000 plain writes, one reload. */
async function floorOnce(round, blocks, ourDataDir, ourPrefix) {
  const root = tempRoot(`web-floor${round}`);
  const port = await freePort();
  const prefix = path.join(root, 'nginx');
  fs.mkdirSync(path.join(prefix, 'sites'), { recursive: true });
  fs.mkdirSync(path.join(prefix, 'logs'));
  for (const d of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) fs.mkdirSync(path.join(prefix, 'temp', d), { recursive: true });
  for (const f of ['mime.types', 'http-common.conf', 'fastcgi-params.conf', 'nginx.conf']) {
    fs.writeFileSync(path.join(prefix, f), fs.readFileSync(path.join(ourPrefix, f), 'utf8').replaceAll(ourPrefix, prefix).replace(/listen \d+/g, `listen ${port}`));
  }
  // Homes beforehand (untimed): the same public_html and logs the driver made.
  const dataDir = path.join(root, 'data');
  fs.cpSync(path.join(ourDataDir, 'sites'), path.join(dataDir, 'sites'), { recursive: true });
  const texts = blocks.map((b) => b.replaceAll(ourDataDir, dataDir).replace(/listen \d+/, `listen ${port}`));
  const args = ['-p', `${prefix}/`, '-c', path.join(prefix, 'nginx.conf'), '-e', path.join(prefix, 'logs', 'error.log')];
  watchMaster(path.join(prefix, 'nginx.pid'));
  execFileSync(NGINX, args);
  const t0 = performance.now();
  texts.forEach((text, i) => fs.writeFileSync(path.join(prefix, 'sites', `s${i}.conf`), text));
  execFileSync(NGINX, ['-s', 'reload', ...args]);
  await allAnswer(port, texts.map((t) => /server_name (\S+)/.exec(t)[1]), 200);
  const ms = performance.now() - t0;
  execFileSync(NGINX, ['-s', 'quit', ...args]);
  return ms;
}

const quietLog = { info() {}, warn() {}, error: (obj, msg) => log(`web driver: ${msg} ${JSON.stringify(obj)}`) };

async function row14(WebDriver) {
  const ours = [];
  const floor = [];
  let reloads = 0;
  const phases = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const o = await oursOnce(WebDriver, round);
    ours.push(o.ms);
    phases.push(o.batch);
    reloads = Math.max(reloads, o.reloads);
    floor.push(await floorOnce(round, o.blocks, o.dataDir, o.prefix));
    log(`row 14 round ${round}: ours ${o.ms.toFixed(0)} ms, floor ${floor.at(-1).toFixed(0)} ms`);
  }
  const ratio = median(ours) / median(floor);
  addRow(14, `web role: apply ${SITES.toLocaleString('en')} new sites until all served (nginx)`, fmt.ms(median(ours)), fmt.ms(median(floor)), ratio, '≤ 2x', ratio <= 2);
  notes.push({ order: 14, text: `Row 14: medians of ${ROUNDS} alternated rounds (ours ${ours.map((v) => v.toFixed(0)).join('/')} ms, floor ${floor.map((v) => v.toFixed(0)).join('/')} ms); the driver reloaded nginx ${reloads} time(s) per batch. ` +
      `Inside the driver's apply, per round: config files ${phases.map((p) => p.filesMs).join('/')} ms, then nginx -t ${phases.map((p) => p.testMs).join('/')} ms with the homes made meanwhile (${phases.map((p) => p.homesMs).join('/')} ms of it), reload until the old workers left ${phases.map((p) => p.reloadMs).join('/')} ms; the rest is the polling of 1,000 hosts both sides share.` });

  if (process.getuid?.() === 0) {
    // As root every new site is also a useradd (and a userdel when deleted): measured on 100 sites.
    const root = tempRoot('web-users');
    const port = await freePort();
    const prefix = path.join(root, 'nginx');
    const driver = new WebDriver({ dataDir: path.join(root, 'data'), nginxPrefix: prefix, httpPort: port, nginxBin: NGINX, phpFpmBin: PHP_FPM, log: quietLog });
    watchMaster(path.join(prefix, 'nginx.pid'));
    await driver.start();
    const tag = `bu${Date.now().toString(36)}s`;
    const objects = siteObjects(100, tag);
    try {
      const t0 = performance.now();
      const results = await driver.apply(objects);
      await allAnswer(port, objects.map((o) => o.spec.domain), 200);
      const ms = performance.now() - t0;
      const t1 = performance.now();
      await driver.apply(objects.map((o) => ({ ...o, version: 2, state: 'absent', spec: null })));
      const delMs = performance.now() - t1;
      notes.push({ order: 14, text: `Row 14, as root with site users: 100 new sites took ${fmt.ms(ms)} (${(ms / 100).toFixed(0)} ms a site, ${results.filter((r) => r.ok).length} ok), deleting them (archive, userdel) ${fmt.ms(delMs)}; useradd and userdel run once per site.` });
    } finally {
      for (const o of objects) {
        try {
          execFileSync('userdel', [o.id], { stdio: 'ignore' });
        } catch {
          // removed by the delete above
        }
      }
      await driver.stop();
    }
  }
}

async function row15() {
  const root = tempRoot('web-idle');
  const port = await freePort();
  const prefix = path.join(root, 'nginx');
  watchMaster(path.join(prefix, 'nginx.pid'));
  const child = startProcess('web driver (10,000 sites)', ['--expose-gc', 'bench/rows/web-role-idle.mjs', path.join(root, 'data'), prefix, String(port), NGINX, PHP_FPM, String(IDLE_SITES), '25000'], process.env);
  const events = [];
  let buffered = '';
  child.stdout.on('data', (b) => {
    buffered += b;
    for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
      events.push(JSON.parse(buffered.slice(0, i)));
      buffered = buffered.slice(i + 1);
    }
  });
  const waitEvent = async (name, count = 1) => {
    while (events.filter((e) => e.event === name).length < count) await sleep(100);
    return events.filter((e) => e.event === name)[count - 1];
  };
  const applied = await waitEvent('applied');
  await waitEvent('idle');
  await sleep(2000);
  const rssIdle = memOf(child.pid).rss;
  const cpu0 = cpuSeconds(child.pid, true);
  const t0 = performance.now();
  const observed = await waitEvent('observed');
  await sleep(Math.max(0, 30_000 - (performance.now() - t0)));
  const cpu = cpuSeconds(child.pid, true) - cpu0;
  const windowS = (performance.now() - t0) / 1000;
  const rssAfter = memOf(child.pid).rss;
  let nginxRss = 0;
  const master = Number(fs.readFileSync(path.join(prefix, 'nginx.pid'), 'utf8'));
  nginxRss += memOf(master).rss;
  for (const w of fs.readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) nginxRss += memOf(Number(w)).rss;
  await stopProcess(child, 30_000);
  addRow(15, `web role: driver idle with ${IDLE_SITES.toLocaleString('en')} sites (RSS; CPU over ${windowS.toFixed(0)} s with one usage pass)`, `${fmt.mb(rssIdle)}; ${(cpu * 1000).toFixed(0)} ms CPU`, '-', undefined, 'info');
  notes.push({
    order: 15,
    text:
      `Row 15: applying the ${IDLE_SITES.toLocaleString('en')} sites took ${fmt.ms(applied.ms)} with ${applied.reloads} reload(s); one usage pass over them (storage walk + access logs) ${fmt.ms(observed.ms)}; ` +
      `driver RSS ${fmt.mb(rssIdle)} idle, ${fmt.mb(rssAfter)} after the pass; nginx (master + workers) ${fmt.mb(nginxRss)}. The driver runs alone here, without the agent's long-poll loop.`,
  });
}

export async function webRoleRows() {
  if (!fs.existsSync(NGINX)) {
    notes.push({ order: 14, text: `Rows 14 and 15 left out: no nginx at ${NGINX} (set HOSTPLANE_NGINX_BIN).` });
    return;
  }
  const { WebDriver } = await import('../../dist/agent/drivers/web/web.driver.js');
  if (want(14)) await row14(WebDriver);
  if (want(15)) await row15();
}
