import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll, makeTempDir, spawnHostplane, stopGracefully, waitFor } from '../jobs-process/process-harness.js';
import {
  createNode,
  desiredFiles,
  nodeObjects,
  nodeView,
  putSites,
  startAgent,
  startControlPlane,
  waitAllApplied,
  type AgentProc,
  type ControlPlane,
} from './agent-harness.js';

/*
 * The agent's loop through real processes against a real control plane, with the files driver (each
 * site's spec as a JSON file: what the node would serve), so these run in seconds and show what the
 * agent does rather than what nginx does (test/agent/agent-e2e.test.ts has nginx).
 */

let cp: ControlPlane;
const tmp = makeTempDir('hostplane-agent-loop-');
const dirOf = (name: string) => path.join(tmp.dir, name);

beforeAll(async () => {
  cp = await startControlPlane();
});

afterAll(async () => {
  killAll();
  await cp?.close();
  tmp.remove();
});

const mtimes = (dataDir: string) => new Map([...desiredFiles(dataDir).keys()].map((id) => [id, fs.statSync(path.join(dataDir, 'desired', `${id}.json`)).mtimeMs]));

describe('hostplane agent', () => {
  let agent: AgentProc;
  let node: { id: number; token: string };

  it('enrols once with the one-time token, keeps the node token in credentials.json (0600) and heartbeats', async () => {
    node = await createNode(cp, 'loop1');
    agent = startAgent(cp, { dataDir: dirOf('loop1'), token: node.token });
    await agent.waitForOutput('enrolled with the control plane', 20_000);
    const file = path.join(agent.dataDir, 'credentials.json');
    expect((fs.statSync(file).mode & 0o777).toString(8)).toBe('600');
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { nodeId: number; token: string };
    expect(saved.nodeId).toBe(node.id);
    expect(saved.token).not.toBe(node.token);
    expect(agent.output()).not.toContain(saved.token);
    const healthy = await waitFor(async () => {
      const v = await nodeView(cp, node.id);
      return v.status === 'healthy' && v.last_heartbeat_at ? v : undefined;
    }, 15_000, () => 'no heartbeat');
    expect(healthy.last_heartbeat_at).not.toBeNull();
    // The enrolment token is spent: nobody can enrol with it again.
    const again = await fetch(`${cp.url}/agent/v1/enrol`, { method: 'POST', headers: { authorization: `Bearer ${node.token}`, 'content-type': 'application/json' }, body: '{}' });
    expect(again.status).toBe(401);
  });

  it('applies what the control plane wants and reports each object applied at its version', async () => {
    await putSites(cp, node.id, [{ n: 1 }, { n: 2 }, { n: 3, spec: { aliases: ['www.site3.agent.test'] } }]);
    const objects = await waitAllApplied(cp, node.id, 3);
    expect(objects.map((o) => o.id).sort()).toEqual(['site1', 'site2', 'site3']);
    const files = desiredFiles(agent.dataDir);
    expect([...files.keys()].sort()).toEqual(['site1', 'site2', 'site3']);
    expect(files.get('site3')!.aliases).toEqual(['www.site3.agent.test']);
    const state = JSON.parse(fs.readFileSync(path.join(agent.dataDir, 'state.json'), 'utf8')) as { objects: Record<string, { applied: { version: number } }> };
    expect(Object.keys(state.objects).sort()).toEqual(['site:site1', 'site:site2', 'site:site3']);
  });

  it('follows changes by long-poll: a suspension reaches the node, a removal is applied and then forgotten', async () => {
    await putSites(cp, node.id, [{ n: 2, spec: { status: 'suspended', suspendReason: 'unpaid invoice' } }]);
    await waitFor(() => (desiredFiles(agent.dataDir).get('site2')?.status === 'suspended' ? true : undefined), 15_000, () => 'site2 not suspended');
    expect(desiredFiles(agent.dataDir).get('site2')!.suspendReason).toBe('unpaid invoice');

    await putSites(cp, node.id, [{ n: 1, absent: true }]);
    await waitFor(() => (desiredFiles(agent.dataDir).has('site1') ? undefined : true), 15_000, () => 'site1 still there');
    // Once the node confirms the removal, the control plane forgets the object.
    await waitFor(async () => ((await nodeObjects(cp, node.id)).some((o) => o.id === 'site1') ? undefined : true), 15_000, () => 'site1 not forgotten');
    await waitAllApplied(cp, node.id, 2);
  });

  it('on restart uses the saved token, re-applies everything and changes nothing that is already true', async () => {
    const before = mtimes(agent.dataDir);
    expect(await stopGracefully(agent)).toBe(0);
    // The same --token as a unit file would keep passing: already spent, so not sent again.
    agent = startAgent(cp, { dataDir: agent.dataDir, token: node.token });
    await agent.waitForOutput('fetched the node state', 20_000);
    await waitAllApplied(cp, node.id, 2);
    expect(agent.output()).not.toContain('enrolled with the control plane');
    expect(agent.output()).not.toContain('enrolment token was refused');
    expect(mtimes(agent.dataDir)).toEqual(before);
  });

  it('keeps serving what was applied while the control plane is down, and catches up when it returns', async () => {
    const before = desiredFiles(agent.dataDir);
    await cp.stop();
    await agent.waitForOutput('cannot reach the control plane', 15_000);
    expect(agent.alive()).toBe(true);
    expect(desiredFiles(agent.dataDir)).toEqual(before);

    await cp.start();
    // A change made after it returns reaches the node.
    await putSites(cp, node.id, [{ n: 4 }]);
    await waitFor(() => (desiredFiles(agent.dataDir).has('site4') ? true : undefined), 20_000, () => `site4 never applied:\n${agent.output().slice(-2000)}`);
    await waitAllApplied(cp, node.id, 3);
    expect(agent.output()).toContain('the control plane answers again');
  });

  it('a revoked token: the agent says so, keeps what it applied and keeps running; a new enrolment token brings it back', async () => {
    const before = desiredFiles(agent.dataDir);
    expect((await cp.admin('POST', `/admin/v1/nodes/${node.id}/revoke-token`)).status).toBe(200);
    await agent.waitForOutput('refuses this node token', 20_000);
    expect(agent.alive()).toBe(true);
    expect(desiredFiles(agent.dataDir)).toEqual(before);

    const rotated = await cp.admin<{ token: string }>('POST', `/admin/v1/nodes/${node.id}/rotate-token`);
    expect(rotated.status).toBe(200);
    expect(await stopGracefully(agent)).toBe(0);
    agent = startAgent(cp, { dataDir: agent.dataDir, token: rotated.body.token });
    await agent.waitForOutput('enrolled with the control plane', 20_000);
    await putSites(cp, node.id, [{ n: 5 }]);
    await waitAllApplied(cp, node.id, 4);
    expect(desiredFiles(agent.dataDir).has('site5')).toBe(true);
  });

  it('a node whose agent is killed turns unhealthy; what it applied stays', async () => {
    agent.child.kill('SIGKILL');
    await agent.exited;
    await waitFor(async () => ((await nodeView(cp, node.id)).status === 'unhealthy' ? true : undefined), 20_000, () => 'still healthy');
    expect(desiredFiles(agent.dataDir).size).toBe(4);
  });
});

describe('two nodes', () => {
  it("each agent gets only its own node's objects; a node token reads no other node's state and opens no admin API", async () => {
    const a = await createNode(cp, 'iso-a');
    const b = await createNode(cp, 'iso-b');
    const agentA = startAgent(cp, { dataDir: dirOf('iso-a'), token: a.token });
    const agentB = startAgent(cp, { dataDir: dirOf('iso-b'), token: b.token });
    await putSites(cp, a.id, [{ n: 101 }, { n: 102 }]);
    await putSites(cp, b.id, [{ n: 201 }]);
    await waitAllApplied(cp, a.id, 2);
    await waitAllApplied(cp, b.id, 1);
    expect([...desiredFiles(agentA.dataDir).keys()].sort()).toEqual(['site101', 'site102']);
    expect([...desiredFiles(agentB.dataDir).keys()]).toEqual(['site201']);

    const tokenA = (JSON.parse(fs.readFileSync(path.join(agentA.dataDir, 'credentials.json'), 'utf8')) as { token: string }).token;
    const state = (await (await fetch(`${cp.url}/agent/v1/state`, { headers: { authorization: `Bearer ${tokenA}` } })).json()) as { node: { id: number }; objects: { id: string }[] };
    expect(state.node.id).toBe(a.id);
    expect(state.objects.map((o) => o.id).sort()).toEqual(['site101', 'site102']);
    // A status report about the other node's object changes nothing there.
    await fetch(`${cp.url}/agent/v1/status`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokenA}`, 'content-type': 'application/json' },
      body: JSON.stringify({ results: [{ kind: 'site', id: 'site201', version: 1, ok: false, error: 'forged' }] }),
    });
    expect((await nodeObjects(cp, b.id)).every((o) => o.error === null)).toBe(true);
    const admin = await fetch(`${cp.url}/admin/v1/nodes`, { headers: { authorization: `Bearer ${tokenA}` } });
    expect(admin.status).toBe(401);

    // One agent stopped: the other keeps applying.
    agentA.child.kill('SIGKILL');
    await putSites(cp, b.id, [{ n: 202 }]);
    await waitAllApplied(cp, b.id, 2);
    expect(desiredFiles(agentB.dataDir).has('site202')).toBe(true);
    await waitFor(async () => ((await nodeView(cp, a.id)).status === 'unhealthy' ? true : undefined), 20_000, () => 'node a still healthy');
    expect((await nodeView(cp, b.id)).status).toBe('healthy');
    await stopGracefully(agentB);
  });
});

describe('crash and repair', () => {
  it('kill -9 in the middle of applying 500 sites: the restarted agent converges on all of them', async () => {
    const n = await createNode(cp, 'crash1');
    const sites = Array.from({ length: 500 }, (_, i) => ({ n: 1000 + i }));
    await putSites(cp, n.id, sites);
    const dataDir = dirOf('crash1');
    const first = startAgent(cp, { dataDir, token: n.token });
    // Killed as soon as the first sites exist and before the last one does.
    const seen = await waitFor(() => {
      const count = fs.existsSync(path.join(dataDir, 'desired')) ? fs.readdirSync(path.join(dataDir, 'desired')).length : 0;
      return count > 0 ? count : undefined;
    }, 30_000, () => `no site applied:\n${first.output().slice(-2000)}`, 5);
    first.child.kill('SIGKILL');
    await first.exited;
    const afterKill = desiredFiles(dataDir).size;
    expect(seen).toBeGreaterThan(0);
    expect(afterKill).toBeLessThan(500);

    const second = startAgent(cp, { dataDir });
    await waitAllApplied(cp, n.id, 500, 60_000);
    expect(desiredFiles(dataDir).size).toBe(500);
    // Every file is whole (atomic writes): each parses and names its own site.
    for (const [id, spec] of desiredFiles(dataDir)) expect(spec.name).toBe(id);
    await stopGracefully(second);
  }, 120_000);

  it('a driver that cannot start: objects fail visibly, the heartbeat reports the role unhealthy, and both recover once it can', async () => {
    const n = await createNode(cp, 'broken1');
    const dataDir = dirOf('broken1');
    fs.mkdirSync(dataDir, { recursive: true });
    // A plain file where the driver wants its directory: a real failure, whoever runs the test.
    fs.writeFileSync(path.join(dataDir, 'desired'), 'not a directory');
    await putSites(cp, n.id, [{ n: 3001 }]);
    const a = startAgent(cp, { dataDir, token: n.token });
    const failed = await waitFor(async () => (await nodeObjects(cp, n.id)).find((o) => o.error), 20_000, () => `no failure reported:\n${a.output().slice(-2000)}`);
    expect(failed.error).toMatch(/web driver not available/);
    const view = await waitFor(async () => {
      const v = await nodeView(cp, n.id);
      return JSON.stringify(v).includes('EEXIST') || JSON.stringify(v).includes('ENOTDIR') ? v : undefined;
    }, 20_000, async () => `driver health not reported: ${JSON.stringify(await nodeView(cp, n.id))}`);
    expect(view.status).toBe('healthy');

    fs.rmSync(path.join(dataDir, 'desired'));
    await waitAllApplied(cp, n.id, 1);
    expect(desiredFiles(dataDir).has('site3001')).toBe(true);
    expect((await nodeObjects(cp, n.id))[0]!.error).toBeNull();
    await stopGracefully(a);
  });
});

describe('hostplane agent: refusals', () => {
  it('without a URL, a data dir or a token to enrol with, or with a bad option, it says what is wrong (exit 2; a bad setting in the environment 1); a token the control plane refuses exits 3', async () => {
    const cases: { args: string[]; code: number; message: RegExp; env?: Record<string, string> }[] = [
      { args: ['agent', '--data-dir', dirOf('r1')], code: 2, message: /control plane URL is required/ },
      { args: ['agent', '--url', cp.url], code: 2, message: /data directory is required/ },
      { args: ['agent', '--url', cp.url, '--data-dir', dirOf('r2')], code: 2, message: /not enrolled yet: pass --token/ },
      { args: ['agent', '--url', cp.url, '--data-dir', dirOf('r3'), '--token', 'hpe_not-a-real-token-at-all-000000'], code: 3, message: /enrolment refused/ },
      { args: ['agent', '--url', 'ftp://x', '--data-dir', dirOf('r4')], code: 2, message: /http\(s\) URL/ },
      // A database URL of the wrong kind is refused without being echoed (it may hold a password).
      { args: ['agent', '--url', cp.url, '--data-dir', dirOf('r5'), '--mariadb-url', 'http://root:sekret-pw@db.example'], code: 2, message: /--mariadb-url: must start with mysql:\/\/ or mariadb:\/\// },
      { args: ['agent', '--url', cp.url, '--data-dir', dirOf('r6')], env: { HOSTPLANE_AGENT_PG_URL: 'mysql://postgres:sekret-pw@db.example' }, code: 2, message: /HOSTPLANE_AGENT_PG_URL: must start with postgres:\/\// },
      { args: ['agent', '--url', cp.url, '--data-dir', dirOf('r7'), '--pg-url', 'sekret-pw not a url'], code: 2, message: /--pg-url: not a URL/ },
      { args: ['agent', '--url', cp.url, '--data-dir', dirOf('r8'), '--pg-copy-strategy', 'rsync'], code: 2, message: /--pg-copy-strategy.*Allowed choices are auto, file_copy, wal_log/ },
      { args: ['agent', '--url', cp.url, '--data-dir', dirOf('r9')], env: { HOSTPLANE_AGENT_PG_COPY_STRATEGY: "file_copy'; drop database x" }, code: 1, message: /HOSTPLANE_AGENT_PG_COPY_STRATEGY: must be auto, file_copy or wal_log/ },
    ];
    for (const c of cases) {
      const p = spawnHostplane(c.args, c.env ?? {});
      const { code } = await p.exited;
      expect(code, p.output()).toBe(c.code);
      expect(p.output()).toMatch(c.message);
      expect(p.output()).not.toContain('sekret-pw');
    }
  });
});

describe('the agent in-process (what a process does not show)', () => {
  it('hands a change of many objects (one transaction) to the driver as one batch', async () => {
    const { Agent } = await import('../../src/agent/agent.js');
    const { FilesDriver } = await import('../../src/agent/drivers/files/files.driver.js');
    const { pino } = await import('pino');
    const n = await createNode(cp, 'inproc1');
    const dataDir = dirOf('inproc1');
    const driver = new FilesDriver(path.join(dataDir, 'desired'));
    const agent = new Agent({ url: cp.url, token: n.token, dataDir, drivers: [driver], agentVersion: 'test', log: pino({ level: 'silent' }), pollWaitSeconds: 2, backoff: { baseMs: 100, maxMs: 500 } });
    await agent.start();
    try {
      await putSites(cp, n.id, Array.from({ length: 40 }, (_, i) => ({ n: 4000 + i })));
      await waitAllApplied(cp, n.id, 40);
      await waitFor(() => (agent.snapshot().applied === 40 && agent.snapshot().pending === 0 ? true : undefined), 10_000, () => JSON.stringify(agent.snapshot()));
      // One transaction, one version: one batch, whether the full fetch or the long-poll brought it.
      expect(driver.batches).toBe(1);
      expect(driver.writes).toBe(40);

      await putSites(cp, n.id, Array.from({ length: 40 }, (_, i) => ({ n: 4000 + i, spec: { status: 'suspended' as const, suspendReason: 'group suspended' } })));
      await waitFor(() => (driver.writes === 80 ? true : undefined), 15_000, () => `${driver.writes} writes`);
      expect([...desiredFiles(dataDir).values()].every((s) => s.status === 'suspended')).toBe(true);
      expect(driver.batches).toBe(2);
      await waitFor(() => (agent.snapshot().pending === 0 ? true : undefined), 10_000, () => JSON.stringify(agent.snapshot()));
      expect(agent.snapshot()).toMatchObject({ node: { id: n.id, name: 'inproc1' }, applied: 40, pending: 0, failing: 0, controlPlane: { ok: true } });
    } finally {
      await agent.stop();
    }
  });
});
