import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll, makeTempDir, stopGracefully, waitFor } from '../jobs-process/process-harness.js';
import { createNode, startAgent, startControlPlane, type ControlPlane } from './agent-harness.js';

/*
 * What a node archives (deleted sites' homes, dropped databases' dumps) is kept as long as the
 * control plane's HOSTPLANE_NODE_ARCHIVE_DAYS says, then removed by the agent itself: the setting
 * travels with every state and heartbeat answer, the agent applies it on its usage timer.
 */

let cp: ControlPlane;
const tmp = makeTempDir('hostplane-agent-archives-');

beforeAll(async () => {
  cp = await startControlPlane({ HOSTPLANE_NODE_ARCHIVE_DAYS: '2' });
});

afterAll(async () => {
  killAll();
  await cp?.close();
  tmp.remove();
});

describe('archive retention on a node', () => {
  it('removes archives older than the retention, keeps newer ones and files still being written', async () => {
    const node = await createNode(cp, 'archives1');
    const dataDir = path.join(tmp.dir, 'archives1');
    const archives = path.join(dataDir, 'archives');
    fs.mkdirSync(archives, { recursive: true });
    const age = (file: string, days: number) => {
      const when = new Date(Date.now() - days * 86_400_000);
      fs.utimesSync(file, when, when);
    };
    const write = (name: string, days: number) => {
      const file = path.join(archives, name);
      fs.writeFileSync(file, 'archive');
      age(file, days);
      return file;
    };
    const old = write('site7-20261101T000000Z.tar.gz', 3);
    const recent = write('site8-20261205T000000Z.tar.gz', 1);
    const partial = write('.site9-20261101T000000Z.tar.gz.123.tmp', 3);
    fs.mkdirSync(path.join(archives, 'kept-dir'));
    age(path.join(archives, 'kept-dir'), 3);
    const agent = startAgent(cp, { dataDir, token: node.token });
    await waitFor(async () => (fs.existsSync(old) ? undefined : true), 20_000, () => `the old archive is still there:\n${agent.output().slice(-2000)}`);
    expect(fs.existsSync(recent)).toBe(true);
    expect(fs.existsSync(partial)).toBe(true);
    expect(fs.existsSync(path.join(archives, 'kept-dir'))).toBe(true);
    expect(agent.output()).toContain('old archives removed');
    await stopGracefully(agent);
  });
});
