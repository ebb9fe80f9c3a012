// Child of row 15 (bench/rows/web-role.mjs): a web driver holding 10,000 sites, idle but for its
// usage passes, so the parent can read its RSS and CPU from /proc. Prints one JSON line per event.
// argv: <dataDir> <nginxPrefix> <httpPort> <nginxBin> <phpFpmBin> <sites> <observeEveryMs>
import { WebDriver } from '../../dist/agent/drivers/web/web.driver.js';

const [dataDir, nginxPrefix, port, nginxBin, phpFpmBin, sites, observeEveryMs] = process.argv.slice(2);
const say = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
const log = { info() {}, warn() {}, error: (obj, msg) => process.stderr.write(`${msg} ${JSON.stringify(obj)}\n`) };
// No site users: 10,000 useradd calls would take the bench's whole time limit (see docs/benchmarks.md).
const driver = new WebDriver({ dataDir, nginxPrefix, httpPort: Number(port), nginxBin, phpFpmBin, log, manageUsers: false });

let stopping = false;
process.on('SIGTERM', () => {
  stopping = true;
  driver.stop().finally(() => process.exit(0));
});

await driver.start();
const objects = [];
for (let i = 1; i <= Number(sites); i++) {
  const name = `idle${i}`;
  objects.push({ kind: 'site', id: name, version: 1, state: 'present', spec: { siteId: i, name, domain: `idle${i}.bench.test`, aliases: [`www.idle${i}.bench.test`], status: 'active', suspendReason: null, php: false } });
}
let t = performance.now();
const results = await driver.apply(objects);
const failed = results.filter((r) => !r.ok);
if (failed.length > 0) throw new Error(`${failed.length} sites failed, first: ${failed[0].error}`);
say({ event: 'applied', ms: performance.now() - t, reloads: driver.stats.nginxReloads });
globalThis.gc?.();
say({ event: 'idle' });
for (;;) {
  await new Promise((r) => setTimeout(r, Number(observeEveryMs)));
  if (stopping) break;
  t = performance.now();
  const samples = await driver.observe();
  say({ event: 'observed', ms: performance.now() - t, samples: samples.length });
}
