// Child of row 16 (bench/rows/data-plane.mjs): the agent (dist/agent/agent.js) with the web driver on a
// real nginx, as `hostplane agent` runs it, but without site users even as root: 10,000 useradd calls
// are not what row 16 measures (row 14 measures them apart). Prints one JSON line per batch the driver
// applies, with the driver's cumulative nginx reload counter.
// argv: <url> <enrolment token> <dataDir> <httpPort> <nginxBin> <phpFpmBin>
import path from 'node:path';
import { pino } from 'pino';
import { Agent } from '../../dist/agent/agent.js';
import { WebDriver } from '../../dist/agent/drivers/web/web.driver.js';

const [url, token, dataDir, httpPort, nginxBin, phpFpmBin] = process.argv.slice(2);
const say = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
// Info level on stdout: the driver's own line per batch (files, nginx -t, reload times) goes to the parent with ours.
const log = pino({ level: 'info' }, pino.destination({ dest: 1, sync: true }));
const driver = new WebDriver({ dataDir, nginxPrefix: path.join(dataDir, 'nginx'), httpPort: Number(httpPort), nginxBin, phpFpmBin, log, manageUsers: false });
const apply = driver.apply.bind(driver);
driver.apply = async (objects) => {
  const results = await apply(objects);
  say({ event: 'batch', objects: objects.length, failed: results.filter((r) => !r.ok).length, reloads: driver.stats.nginxReloads, starts: driver.stats.nginxStarts });
  return results;
};
const agent = new Agent({ url, token, dataDir, agentVersion: 'bench', log, drivers: () => [driver] });
process.once('SIGTERM', () => {
  agent.stop().finally(() => process.exit(0));
});
await agent.start();
