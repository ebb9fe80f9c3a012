import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ctxFor } from '../../src/core/context.js';
import { createInstance, signupPortalUser } from '../../src/core/saas/saas.service.js';
import { killAll, makeTempDir, waitFor } from '../jobs-process/process-harness.js';
import { startPgCluster, type PgCluster } from '../support/pg-cluster.js';
import { createNode, nodeObjects, startAgent, startControlPlane, type ControlPlane, type NodeCreated } from './agent-harness.js';

/*
 * SCRAM for real: a PostgreSQL cluster of the test's own whose pg_hba asks every role but postgres
 * for its SCRAM-SHA-256 password over TCP, a real `hostplane agent` with the db role pointed at it,
 * and an instance created with an owner password. The owner gets in with `psql` and that password,
 * and not with another; a new owner password set through the admin API replaces it.
 */

const run = promisify(execFile);
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const OWNER_PASSWORD = 'owner pässword, first';

let cluster: PgCluster;
let cp: ControlPlane;
let node: NodeCreated;
const tmp = makeTempDir('hostplane-scram-');

async function psqlAs(user: string, password: string, database: string): Promise<{ ok: boolean; out: string }> {
  try {
    const { stdout } = await run('psql', ['-h', '127.0.0.1', '-p', String(cluster.port), '-U', user, '-d', database, '-X', '-A', '-t', '-c', 'select current_user'], { env: { PATH: process.env.PATH ?? '', PGPASSWORD: password, PGCONNECT_TIMEOUT: '5' } });
    return { ok: true, out: stdout.trim() };
  } catch (e) {
    return { ok: false, out: String((e as { stderr?: string }).stderr ?? e) };
  }
}

beforeAll(async () => {
  cluster = await startPgCluster({ scramOverTcp: true });
  await run('psql', ['-h', '127.0.0.1', '-p', String(cluster.port), '-U', 'postgres', '-X', '-q', '-c', 'create database scram_tpl']);
  cp = await startControlPlane();
  node = await createNode(cp, 'db-scram', ['db']);
  const agent = startAgent(cp, { dataDir: path.join(tmp.dir, 'agent'), token: node.token, env: { HOSTPLANE_AGENT_PG_URL: cluster.url } });
  await agent.waitForOutput('fetched the node state', 30_000);
  await waitFor(async () => ((await cp.admin<Json>('GET', `/admin/v1/nodes/${node.id}`)).body.last_heartbeat_at ? true : undefined), 30_000, () => 'no heartbeat from the db node');
}, 120_000);

afterAll(async () => {
  killAll();
  await cp?.close();
  await cluster?.destroy();
  tmp.remove();
}, 60_000);

describe('an instance owner against pg_hba scram-sha-256', () => {
  it('connects with psql and the owner password, is refused with a wrong one, and a new owner password replaces the old', async () => {
    const plan = await cp.admin<Json>('POST', '/admin/v1/packages', { uid: 'scram-plan', name: 'SCRAM plan', template_database: 'scram_tpl' });
    expect(plan.status, JSON.stringify(plan.body)).toBe(201);
    const system = ctxFor(cp.app().deps, { kind: 'system' });
    const owner = await signupPortalUser(system, { login: 'scram-owner@example.com', password: 'portal password', name: 'Owner' });
    const { id } = await createInstance(system, { planId: plan.body.id as number, dbname: 'scram.example.com', userId: owner.id, ownerPassword: OWNER_PASSWORD });
    const applied = async () => {
      const objects = (await nodeObjects(cp, node.id)) as unknown as Json[];
      const o = objects.find((x) => x.id === `db${id}`);
      return o && o.applied_version === o.version ? o : undefined;
    };
    await waitFor(applied, 60_000, () => 'the database was not applied');
    const db = (await cp.admin<Json>('GET', `/admin/v1/clients/${id}/instance`)).body.database as Json;

    expect(await psqlAs(db.owner as string, OWNER_PASSWORD, db.name as string)).toEqual({ ok: true, out: db.owner });
    const wrong = await psqlAs(db.owner as string, 'not the owner password', db.name as string);
    expect(wrong.ok).toBe(false);
    expect(wrong.out).toContain('password authentication failed');

    const set = await cp.admin<Json>('PUT', `/admin/v1/clients/${id}/instance/owner-password`, { password: 'owner password, second' });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    await waitFor(applied, 60_000, () => 'the new verifier was not applied');
    expect((await psqlAs(db.owner as string, 'owner password, second', db.name as string)).ok).toBe(true);
    expect((await psqlAs(db.owner as string, OWNER_PASSWORD, db.name as string)).out).toContain('password authentication failed');
  }, 180_000);
});
