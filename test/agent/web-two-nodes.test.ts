import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll, makeTempDir, waitFor } from '../jobs-process/process-harness.js';
import { nodeView, startControlPlane, type ControlPlane } from './agent-harness.js';
import { addDomain, answerWhen, cpcmd, get, nginxRunning, publicHtml, removeSiteUsers, restartAgent, siteIdBase, startSiteIdsAt, startWebNode, stopServers, waitApplied, type WebNode } from './web-nodes.js';

/*
 * Two real agents as two web nodes on one machine (own data dirs, nginx prefixes and ports), on both
 * databases: sites added with AddDomain spread over them and run their PHP as their own user; a node
 * stopped whole (agent, nginx and php-fpm, as when the machine goes down) leaves the other serving,
 * and once its heartbeats are overdue the admin API and collect show its sites on an unhealthy node.
 */

const asRoot = process.getuid?.() === 0;
const tmp = makeTempDir('hostplane-web-two-');
const base = siteIdBase(1);
let cp: ControlPlane;
let a: WebNode;
let b: WebNode;
const nodes = () => [a, b];

interface NodeOfSite {
  name: string;
  status: string;
  object: string;
  error: string | null;
}

const why = () => nodes().map((n) => `${n.node.name}:\n${n.agent.output().slice(-1500)}`).join('\n');

beforeAll(async () => {
  fs.chmodSync(tmp.dir, 0o755);
  cp = await startControlPlane();
  await startSiteIdsAt(cp, base);
  a = await startWebNode(cp, tmp.dir, 'pair-a');
  b = await startWebNode(cp, tmp.dir, 'pair-b');
  await waitFor(async () => ((await Promise.all(nodes().map((n) => nodeView(cp, n.node.id)))).every((v) => v.status === 'healthy') ? true : undefined), 20_000, why);
}, 120_000);

afterAll(async () => {
  killAll();
  if (a) stopServers(a);
  if (b) stopServers(b);
  removeSiteUsers(tmp.dir);
  await cp?.close();
  tmp.remove();
}, 120_000);

interface Placed {
  id: number;
  domain: string;
  on: WebNode;
}

const placed: Placed[] = [];

async function nodeOf(domains: string[]): Promise<Record<string, { node: NodeOfSite | null }>> {
  return cpcmd<Record<string, { node: NodeOfSite | null }>>(cp, 'admin:collect', '[node]', '[]', `[${domains.join(',')}]`);
}

describe('two web nodes', () => {
  it('AddDomain spreads new sites over both nodes; each is served by its own node only', async () => {
    for (let i = 0; i < 4; i++) {
      const domain = `pair${i}-${base}.web.test`;
      const id = await addDomain(cp, domain, `pair${i}x${base}`);
      placed.push({ id, domain, on: a });
    }
    const where = await nodeOf(placed.map((p) => p.domain));
    for (const p of placed) {
      const node = where[p.domain]!.node;
      expect(node, p.domain).not.toBeNull();
      p.on = node!.name === 'pair-a' ? a : b;
    }
    // The fewest-sites rule: two each.
    expect(placed.filter((p) => p.on === a)).toHaveLength(2);
    expect(placed.filter((p) => p.on === b)).toHaveLength(2);
    for (const p of placed) {
      await waitApplied(cp, p.id);
      fs.writeFileSync(path.join(publicHtml(p.on, p.id), 'name.txt'), `${p.domain}\n`);
      expect(await answerWhen(p.on.port, p.domain, '/name.txt', (x) => x.status === 200, 30_000, why)).toEqual({ status: 200, body: `${p.domain}\n` });
      const other = p.on === a ? b : a;
      expect((await get(other.port, p.domain, '/name.txt')).status).toBe(404);
    }
  }, 120_000);

  it.skipIf(!asRoot)("a PHP page runs as the site's own system user (skipped unless the tests run as root: only a root agent makes site users)", async () => {
    for (const p of placed) {
      fs.writeFileSync(path.join(publicHtml(p.on, p.id), 'who.php'), '<?php echo posix_getpwuid(posix_geteuid())["name"];');
      const answer = await answerWhen(p.on.port, p.domain, '/who.php', (x) => x.status === 200, 30_000, why);
      expect(answer.body).toBe(`site${p.id}`);
    }
    // The user exists only for the sites its node holds.
    const users = fs.readFileSync('/etc/passwd', 'utf8').split('\n');
    for (const p of placed) {
      const entry = users.find((l) => l.startsWith(`site${p.id}:`));
      expect(entry, `site${p.id}`).toBeDefined();
      expect(entry!.split(':')[5]).toBe(path.join(p.on.dataDir, 'sites', `site${p.id}`));
    }
  }, 60_000);

  it('one node stopped whole: the other keeps serving; after the unhealthy window its sites show on an unhealthy node; new sites go to the healthy one', async () => {
    a.agent.child.kill('SIGKILL');
    await a.agent.exited;
    stopServers(a);
    await waitFor(() => (nginxRunning(a) ? undefined : true), 20_000, () => 'nginx of pair-a still running');
    const onA = placed.filter((p) => p.on === a);
    const onB = placed.filter((p) => p.on === b);
    for (const p of onA) await expect(get(a.port, p.domain, '/name.txt')).rejects.toThrow();
    for (const p of onB) expect(await get(b.port, p.domain, '/name.txt')).toEqual({ status: 200, body: `${p.domain}\n` });

    await waitFor(async () => ((await nodeView(cp, a.node.id)).status === 'unhealthy' ? true : undefined), 30_000, () => 'pair-a still healthy');
    const list = await cp.admin<{ name: string; status: string }[]>('GET', '/admin/v1/nodes');
    expect(list.status).toBe(200);
    expect(Object.fromEntries(list.body.filter((n) => n.name.startsWith('pair-')).map((n) => [n.name, n.status]))).toEqual({ 'pair-a': 'unhealthy', 'pair-b': 'healthy' });
    for (const p of placed) {
      const client = await cp.admin<{ node: NodeOfSite | null }>('GET', `/admin/v1/clients/${p.id}`);
      expect(client.status).toBe(200);
      expect(client.body.node).toEqual({ name: p.on.node.name, status: p.on === a ? 'unhealthy' : 'healthy', object: 'applied', error: null });
    }
    const where = await nodeOf(placed.map((p) => p.domain));
    for (const p of placed) expect(where[p.domain]!.node).toMatchObject({ name: p.on.node.name, status: p.on === a ? 'unhealthy' : 'healthy' });

    // Placement passes over the silent node: a new site goes to the healthy one and is served there.
    const domain = `pair-late-${base}.web.test`;
    const id = await addDomain(cp, domain, `pairlate${base}`);
    expect((await nodeOf([domain]))[domain]!.node).toMatchObject({ name: 'pair-b', status: 'healthy' });
    placed.push({ id, domain, on: b });
    expect((await answerWhen(b.port, domain, '/', (x) => x.status === 200, 30_000, why)).body).toContain('It works');

    // The node comes back: its agent starts nginx again, its sites are served and it is healthy again.
    restartAgent(cp, a);
    await waitFor(async () => ((await nodeView(cp, a.node.id)).status === 'healthy' ? true : undefined), 30_000, why);
    for (const p of onA) expect((await answerWhen(a.port, p.domain, '/name.txt', (x) => x.status === 200, 30_000, why)).body).toBe(`${p.domain}\n`);
    const back = await nodeOf(onA.map((p) => p.domain));
    for (const p of onA) expect(back[p.domain]!.node).toMatchObject({ name: 'pair-a', status: 'healthy', object: 'applied' });
  }, 120_000);
});
