import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nginxPaths } from '../../src/agent/drivers/web/nginx.config.js';
import { killAll, makeTempDir, waitFor } from '../jobs-process/process-harness.js';
import { nodeView, putSites, startControlPlane, waitAllApplied, type ControlPlane } from './agent-harness.js';
import { get, removeSiteUsers, restartAgent as restartNodeAgent, startSiteIdsAt, startWebNode, stopServers, tool as doorTool, type WebNode } from './web-nodes.js';

/*
 * End to end with everything real: a control plane, two `hostplane agent` processes as two nodes
 * (each its own data dir, nginx prefix and port), and the nginx and php-fpm those agents run. A site
 * is asked for the way a browser would, by Host header.
 */

type Node = WebNode;

let cp: ControlPlane;
const tmp = makeTempDir('hostplane-agent-e2e-');
const nodes: Node[] = [];
// Site numbers of this run: site users are system users, so two runs on one machine must not share names.
const base = 1_000 + (process.pid % 20_000) * 1_000 + (process.env.HOSTPLANE_TEST_DB === 'postgres' ? 500 : 0);
const site = (i: number) => base + i;

const domain = (n: number) => `site${n}.agent.test`;

async function startNode(name: string): Promise<Node> {
  const n = await startWebNode(cp, tmp.dir, name);
  nodes.push(n);
  return n;
}

const restartAgent = (n: Node) => restartNodeAgent(cp, n);

let a: Node;
let b: Node;

beforeAll(async () => {
  // nginx's workers and the sites' users reach the homes under it, as under /var/lib on a node.
  fs.chmodSync(tmp.dir, 0o755);
  cp = await startControlPlane();
  a = await startNode('e2e-a');
  b = await startNode('e2e-b');
}, 120_000);

afterAll(async () => {
  killAll();
  nodes.forEach(stopServers);
  removeSiteUsers(tmp.dir);
  await cp?.close();
  tmp.remove();
  // userdel, one user at a time (it locks /etc/passwd), is slow on a busy machine.
}, 180_000);

describe('sites served by nginx through the agent', () => {
  it('a new site is served on its node only; suspended it answers 503 with its reason; activated it is back; deleted it is gone and archived', async () => {
    const n = site(1);
    await putSites(cp, a.node.id, [{ n, spec: { aliases: [`www.${domain(n)}`] } }]);
    await waitAllApplied(cp, a.node.id, 1);
    fs.writeFileSync(path.join(a.dataDir, 'sites', `site${n}`, 'public_html', 'index.html'), `hello from site${n}\n`);
    expect(await get(a.port, domain(n))).toEqual({ status: 200, body: `hello from site${n}\n` });
    expect((await get(a.port, `www.${domain(n)}`)).status).toBe(200);
    // The other node does not serve it, and neither node serves an unknown host.
    expect((await get(b.port, domain(n))).status).toBe(404);
    expect((await get(a.port, 'unknown.agent.test')).status).toBe(404);

    await putSites(cp, a.node.id, [{ n, spec: { aliases: [`www.${domain(n)}`], status: 'suspended', suspendReason: 'Invoice <b>#42</b> unpaid' } }]);
    await waitAllApplied(cp, a.node.id, 1);
    const suspended = await get(a.port, domain(n), '/any/page');
    expect(suspended.status).toBe(503);
    expect(suspended.body).toContain('Invoice &lt;b&gt;#42&lt;/b&gt; unpaid');
    expect(suspended.body).not.toContain('<b>#42</b>');

    await putSites(cp, a.node.id, [{ n, spec: { aliases: [`www.${domain(n)}`] } }]);
    await waitAllApplied(cp, a.node.id, 1);
    expect(await get(a.port, domain(n))).toEqual({ status: 200, body: `hello from site${n}\n` });

    await putSites(cp, a.node.id, [{ n, absent: true }]);
    await waitAllApplied(cp, a.node.id, 0);
    expect((await get(a.port, domain(n))).status).toBe(404);
    expect(fs.existsSync(path.join(a.dataDir, 'sites', `site${n}`))).toBe(false);
    const archives = fs.readdirSync(path.join(a.dataDir, 'archives')).filter((f) => f.startsWith(`site${n}-`) && f.endsWith('.tar.gz'));
    expect(archives).toHaveLength(1);
  });

  it('a PHP site runs its PHP', async () => {
    const n = site(2);
    await putSites(cp, a.node.id, [{ n, spec: { php: true } }]);
    await waitAllApplied(cp, a.node.id, 1);
    fs.writeFileSync(path.join(a.dataDir, 'sites', `site${n}`, 'public_html', 'info.php'), '<?php echo "php ", 6 * 7, "\\n";');
    expect(await waitFor(async () => {
      const r = await get(a.port, domain(n), '/info.php').catch(() => undefined);
      return r?.status === 200 ? r : undefined;
    }, 15_000, () => 'php never answered')).toEqual({ status: 200, body: 'php 42\n' });
  });

  it('while the control plane is down its sites stay served; a change made after it returns is applied', async () => {
    const n = site(3);
    await putSites(cp, b.node.id, [{ n }]);
    await waitAllApplied(cp, b.node.id, 1);
    await cp.stop();
    await b.agent.waitForOutput('cannot reach the control plane', 15_000);
    expect((await get(b.port, domain(n))).status).toBe(200);
    await cp.start();
    await putSites(cp, b.node.id, [{ n, spec: { status: 'suspended', suspendReason: 'after the outage' } }]);
    const r = await waitFor(async () => {
      // A request that meets a reload's old worker leaving may be cut: ask again.
      const res = await get(b.port, domain(n)).catch(() => undefined);
      return res?.status === 503 ? res : undefined;
    }, 20_000, () => b.agent.output().slice(-2000));
    expect(r.body).toContain('after the outage');
  });

  it('an agent killed: its node turns unhealthy, its nginx keeps serving, the other node keeps applying', async () => {
    const served = site(4);
    await putSites(cp, a.node.id, [{ n: served }]);
    await waitAllApplied(cp, a.node.id, 2);
    a.agent.child.kill('SIGKILL');
    await a.agent.exited;
    expect((await get(a.port, domain(served))).status).toBe(200);
    const n = site(5);
    await putSites(cp, b.node.id, [{ n }]);
    await waitAllApplied(cp, b.node.id, 2);
    expect((await get(b.port, domain(n))).status).toBe(200);
    await waitFor(async () => ((await nodeView(cp, a.node.id)).status === 'unhealthy' ? true : undefined), 20_000, () => 'a still healthy');
    expect((await nodeView(cp, b.node.id)).status).toBe('healthy');
    restartAgent(a);
    await waitAllApplied(cp, a.node.id, 2);
    await waitFor(async () => ((await nodeView(cp, a.node.id)).status === 'healthy' ? true : undefined), 20_000, () => 'a not healthy again');
  });

  it('kill -9 in the middle of applying 60 sites: the restarted agent serves every one of them', async () => {
    const c = await startNode('e2e-c');
    const sites = Array.from({ length: 60 }, (_, i) => ({ n: site(100 + i) }));
    await putSites(cp, c.node.id, sites);
    const confDir = nginxPaths(c.prefix).sitesDir;
    const seen = await waitFor(() => {
      const count = fs.existsSync(confDir) ? fs.readdirSync(confDir).filter((f) => f.endsWith('.conf')).length : 0;
      return count > 0 ? count : undefined;
    }, 60_000, () => c.agent.output().slice(-2000), 5);
    c.agent.child.kill('SIGKILL');
    await c.agent.exited;
    expect(seen).toBeGreaterThan(0);
    expect(((await nodeView(cp, c.node.id)).counts as { applied: number }).applied).toBeLessThan(60);

    restartAgent(c);
    await waitAllApplied(cp, c.node.id, 60, 60_000);
    const answers = await Promise.all(sites.map((s) => get(c.port, domain(s.n)).then((r) => r.status)));
    expect(answers.filter((s) => s !== 200)).toEqual([]);
  }, 120_000);
});

const tool = (name: string, ...args: string[]) => doorTool(cp, name, ...args);

describe('through the doors: AddDomain, SuspendDomain, ActivateDomain, DeleteDomain', () => {
  it('new sites are placed on the healthy web nodes, spread, served, suspended with their reason, activated and deleted', async () => {
    // Site users are named after site ids: start this run's ids where no other run's are.
    await startSiteIdsAt(cp, site(300));
    await waitFor(async () => ((await Promise.all(nodes.map((n) => nodeView(cp, n.node.id)))).every((v) => v.status === 'healthy') ? true : undefined), 20_000, () => 'nodes not healthy');
    const domains = [`one-${base}.door.test`, `two-${base}.door.test`];
    for (const d of domains) {
      const r = await tool('AddDomain', '-c', `siteinfo,domain=${d}`, '-c', `siteinfo,admin_user=adm${base}${d.slice(0, 3)}`, '-c', 'apache,enabled=1');
      expect(r.code, r.stderr).toBe(0);
    }
    // Spread: the second site goes to a node holding fewer sites than the first one's.
    const served = await waitFor(async () => {
      const found: { domain: string; node: Node }[] = [];
      for (const d of domains) {
        for (const n of nodes) {
          const r = await get(n.port, d).catch(() => undefined);
          if (r?.status === 200) found.push({ domain: d, node: n });
        }
      }
      return found.length === 2 ? found : undefined;
    }, 30_000, () => `not served yet:\n${a.agent.output().slice(-1500)}\n${b.agent.output().slice(-1500)}`);
    expect(new Set(served.map((s) => s.node.node.id)).size).toBe(2);

    const [first] = served;
    expect((await tool('SuspendDomain', '--reason', 'Payment <overdue>', first!.domain)).code).toBe(0);
    const suspended = await waitFor(async () => {
      const r = await get(first!.node.port, first!.domain).catch(() => undefined);
      return r?.status === 503 ? r : undefined;
    }, 20_000, () => 'not suspended');
    expect(suspended.body).toContain('Payment &lt;overdue&gt;');

    expect((await tool('ActivateDomain', first!.domain)).code).toBe(0);
    await waitFor(async () => ((await get(first!.node.port, first!.domain).catch(() => undefined))?.status === 200 ? true : undefined), 20_000, () => 'not active again');

    const archivesDir = path.join(first!.node.dataDir, 'archives');
    const archivesBefore = new Set(fs.existsSync(archivesDir) ? fs.readdirSync(archivesDir) : []);
    const del = await tool('DeleteDomain', first!.domain);
    expect(del.code, del.stderr).toBe(0);
    await waitFor(async () => ((await get(first!.node.port, first!.domain).catch(() => undefined))?.status === 404 ? true : undefined), 30_000, () => `still served:\n${first!.node.agent.output().slice(-1500)}`);
    const archived = fs.readdirSync(archivesDir).filter((f) => !archivesBefore.has(f));
    expect(archived).toEqual([expect.stringMatching(/^site[0-9]+-.*\.tar\.gz$/)]);
  }, 120_000);
});
