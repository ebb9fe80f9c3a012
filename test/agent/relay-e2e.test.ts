import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ctxFor } from '../../src/core/context.js';
import { upsertNodeObjects } from '../../src/core/nodes/node-objects.repository.js';
import { syncRelayObjects } from '../../src/core/nodes/relay-objects.js';
import { basicAuth, http, killAll, makeTempDir, spawnHostplane, stopGracefully, waitFor } from '../jobs-process/process-harness.js';
import { createNode, putSites, startAgent, startControlPlane, type AgentProc, type ControlPlane, type NodeCreated } from './agent-harness.js';

/*
 * The relay role end to end: a control plane, two real `hostplane agent` processes with the relay
 * role and the postfix-maps driver, each writing its own maps and building them with Debian's real
 * postmap (against a throwaway Postfix config dir, never the machine's). Domains are created the way
 * a billing system creates them, over the reseller REST door.
 */

const POSTMAP = '/usr/sbin/postmap';
const tmp = makeTempDir('hostplane-relay-e2e-');
const postfixConfig = path.join(tmp.dir, 'postfix');
const run = `r${process.pid}${process.env.HOSTPLANE_TEST_DB === 'postgres' ? 'p' : 'g'}`;

interface Relay {
  node: NodeCreated;
  dataDir: string;
  relayDir: string;
  agent: AgentProc;
}

let cp: ControlPlane;
let auth: string;
let a: Relay;
let b: Relay;
let clientNo = 0;

function relayArgs(r: { relayDir: string }): string[] {
  // The reload command runs in the relay dir: build both indexed maps, as a real node's would before `postfix reload`.
  return ['--relay-dir', r.relayDir, '--relay-reload-command', `${POSTMAP} -c ${postfixConfig} relay_domains && ${POSTMAP} -c ${postfixConfig} transport`];
}

async function startRelay(name: string): Promise<Relay> {
  const node = await createNode(cp, name, ['relay']);
  const dataDir = path.join(tmp.dir, name);
  const r = { node, dataDir, relayDir: path.join(tmp.dir, `${name}-maps`) };
  return { ...r, agent: startAgent(cp, { dataDir, token: node.token, args: relayArgs(r) }) };
}

function restart(r: Relay): void {
  r.agent = startAgent(cp, { dataDir: r.dataDir, args: relayArgs(r) });
}

function mapText(r: Relay, file: 'relay_domains' | 'transport'): string {
  const f = path.join(r.relayDir, file);
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '';
}

/** What Postfix would find for `key` in the node's built map (postmap -q), or null. */
function lookup(r: Relay, file: 'relay_domains' | 'transport', key: string): string | null {
  const q = spawnSync(POSTMAP, ['-c', postfixConfig, '-q', key, path.join(r.relayDir, file)], { encoding: 'utf8' });
  return q.status === 0 ? q.stdout.trim() : null;
}

async function createClient(domains: { name: string; mail_servers?: string[] }[]): Promise<number> {
  const res = await http<{ id: number }>('POST', `${cp.url}/v1/clients`, auth, { package_uid: 'spamstopshere-standard', user_count: 1, email_address: `owner${++clientNo}@example.com`, domains });
  if (res.status !== 201) throw new Error(`POST /v1/clients: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id;
}

async function domainStatus(clientId: number, name: string): Promise<string | undefined> {
  const res = await cp.admin<{ domains: { name: string; status: string }[] }>('GET', `/admin/v1/clients/${clientId}`);
  return res.body.domains?.find((d) => d.name === name)?.status;
}

async function behind(r: Relay): Promise<{ id: string; status: string }[]> {
  const res = await cp.admin<{ objects: { id: string; status: string }[] }>('GET', `/admin/v1/nodes/${r.node.id}/objects?behind=true&limit=1000`);
  expect(res.status).toBe(200);
  return res.body.objects;
}

function nodeToken(r: Relay): string {
  return (JSON.parse(fs.readFileSync(path.join(r.dataDir, 'credentials.json'), 'utf8')) as { token: string }).token;
}

beforeAll(async () => {
  if (!fs.existsSync(POSTMAP)) throw new Error(`${POSTMAP} is missing: install Debian's postfix package (.ci/run does)`);
  fs.mkdirSync(postfixConfig);
  fs.writeFileSync(path.join(postfixConfig, 'main.cf'), '# an empty configuration: postmap needs one to read\n');
  cp = await startControlPlane({ HOSTPLANE_DATA_DIR: path.join(tmp.dir, 'control-plane') });
  expect((await cp.admin('POST', '/admin/v1/demo')).status).toBe(200);
  const reseller = await cp.admin<{ api_token: string; api_key: string }>('POST', '/admin/v1/resellers', { name: `Relay ${run}`, username: `relay-${run}`, email_address: `relay-${run}@example.com`, tags: ['cpanel'] });
  expect(reseller.status).toBe(201);
  auth = basicAuth(reseller.body.api_token, reseller.body.api_key);
  a = await startRelay('relay-a');
  b = await startRelay('relay-b');
  await Promise.all([a, b].map((r) => r.agent.waitForOutput('fetched the node state', 30_000)));
}, 120_000);

afterAll(async () => {
  killAll();
  await cp?.close();
  tmp.remove();
});

describe('two relay nodes', () => {
  it('a domain created over REST reaches both nodes\' maps, in its mail servers\' order, and is ready once both applied it', async () => {
    const name = `one.${run}.test`;
    const id = await createClient([{ name, mail_servers: [`mx.${name}`] }]);
    expect(await domainStatus(id, name)).toBe('initializing');
    await waitFor(async () => ((await domainStatus(id, name)) === 'ready' ? true : undefined), 30_000, () => `${name} not ready; a: ${mapText(a, 'relay_domains')} b: ${mapText(b, 'relay_domains')}`, 200);
    // Ready means both relays had it by then.
    for (const r of [a, b]) {
      expect(mapText(r, 'relay_domains')).toContain(`\n${name}  OK\n`);
      expect(mapText(r, 'transport')).toContain(`\n${name}  smtp:[mx.${name}]\n`);
      expect(lookup(r, 'relay_domains', name)).toBe('OK');
      expect(lookup(r, 'transport', name)).toBe(`smtp:[mx.${name}]`);
      expect(await behind(r)).toEqual([]);
    }
    // The control plane wrote no relay files of its own.
    expect(fs.existsSync(path.join(tmp.dir, 'control-plane', 'relay'))).toBe(false);
  }, 120_000);

  it('one relay stopped: new domains stay pending and the admin API and `hostplane node show` list them as behind on it; restarted, it catches up and they turn ready', async () => {
    await stopGracefully(b.agent);
    const name = `two.${run}.test`;
    const id = await createClient([{ name, mail_servers: ['192.0.2.7'] }]);
    await waitFor(() => (lookup(a, 'transport', name) === 'smtp:[192.0.2.7]' ? true : undefined), 30_000, () => `relay-a never built ${name}: ${a.agent.output().slice(-2000)}`, 200);
    // Relay a has it (its report follows its batch), relay b does not: still pending, and b says so.
    await waitFor(async () => ((await behind(a)).length === 0 ? true : undefined), 30_000, () => 'relay-a never reported', 200);
    expect(await domainStatus(id, name)).toBe('initializing');
    expect(lookup(b, 'relay_domains', name)).toBeNull();
    expect((await behind(b)).map((o) => o.id)).toEqual([name]);
    const show = spawnHostplane(['node', 'show', 'relay-b', '--json'], { HOSTPLANE_URL: cp.url, HOSTPLANE_API_KEY: cp.operatorKey });
    expect((await show.exited).code).toBe(0);
    const shown = JSON.parse(show.output()) as { name: string; behind_objects: { id: string; status: string }[] };
    expect(shown.behind_objects.map((o) => [o.id, o.status])).toEqual([[name, 'applying']]);

    restart(b);
    await waitFor(async () => ((await domainStatus(id, name)) === 'ready' ? true : undefined), 30_000, () => `${name} not ready after relay-b came back: ${b.agent.output().slice(-2000)}`, 200);
    expect(lookup(b, 'transport', name)).toBe('smtp:[192.0.2.7]');
    expect(await behind(b)).toEqual([]);
  }, 120_000);

  it('a cancelled client\'s domains leave both maps', async () => {
    const name = `three.${run}.test`;
    const id = await createClient([{ name }]);
    await waitFor(async () => ((await domainStatus(id, name)) === 'ready' ? true : undefined), 30_000, () => `${name} not ready`, 200);
    expect(lookup(a, 'relay_domains', name)).toBe('OK');
    // No mail servers: relayed on Postfix's default transport, so no transport line.
    expect(lookup(a, 'transport', name)).toBeNull();
    expect((await http('DELETE', `${cp.url}/v1/clients/${id}`, auth)).status).toBe(200);
    await waitFor(() => (lookup(a, 'relay_domains', name) === null && lookup(b, 'relay_domains', name) === null ? true : undefined), 30_000, () => `${name} still relayed`, 200);
    for (const r of [a, b]) expect(mapText(r, 'relay_domains')).not.toContain(name);
    // Forgotten once both confirmed the removal.
    await waitFor(async () => ((await behind(a)).length === 0 && (await behind(b)).length === 0 ? true : undefined), 30_000, () => 'removal not confirmed', 200);
  }, 120_000);
});

describe('security and bad input', () => {
  it("a relay node's token reads only its own objects and cannot report on another node's", async () => {
    const web = await createNode(cp, 'relay-test-web', ['web']);
    await putSites(cp, web.id, [{ n: 9001 }]);
    const token = nodeToken(a);
    const state = await http<{ objects: { kind: string; id: string }[] }>('GET', `${cp.url}/agent/v1/state`, `Bearer ${token}`);
    expect(state.status).toBe(200);
    expect(state.body.objects.length).toBeGreaterThan(0);
    expect(state.body.objects.every((o) => o.kind === 'relay_domain')).toBe(true);
    const report = await http<{ accepted: number }>('POST', `${cp.url}/agent/v1/status`, `Bearer ${token}`, { results: [{ kind: 'site', id: 'site9001', version: 99, ok: true }] });
    expect(report.status).toBe(200);
    expect(report.body.accepted).toBe(0);
    const objects = await cp.admin<{ objects: { id: string; applied_version: number | null }[] }>('GET', `/admin/v1/nodes/${web.id}/objects`);
    expect(objects.body.objects).toEqual([expect.objectContaining({ id: 'site9001', applied_version: null })]);
    // A node token opens nothing on the operator's door.
    expect((await http('GET', `${cp.url}/admin/v1/nodes`, `Bearer ${token}`)).status).toBe(401);
  });

  it('hostile domain names never reach a map file', async () => {
    const ctx = ctxFor(cp.app().deps, { kind: 'system' });
    const hostile = [`evil.${run}.test  OK\nx.test`, `EVIL.${run}.test`, `../${run}.test`, `*.${run}.test`];
    // One stored past the doors (an old row): the relay sync leaves it out.
    const owner = await createClient([{ name: `owner.${run}.test` }]);
    await cp.app().deps.db.insertInto('domains').values({ client_id: owner, reseller_id: null, name: hostile[0]!, position: 9, mail_servers: [], created_at: new Date(), updated_at: new Date() }).execute();
    expect(await syncRelayObjects(ctx, [hostile[0]!])).toBe(0);
    // Objects written past the sync are not sent to an agent (they do not fit the wire contract)...
    await upsertNodeObjects(
      cp.app().deps.db,
      hostile.map((h) => ({ nodeId: a.node.id, kind: 'relay_domain' as const, objectId: h, clientId: null, state: 'present' as const, spec: { domain: h, mailServers: [] } })),
    );
    // ...and one that fits but whose id is not the domain its spec names fails on the node, alone.
    const good = `fine.${run}.test`;
    await upsertNodeObjects(cp.app().deps.db, [
      { nodeId: a.node.id, kind: 'relay_domain', objectId: `mismatch.${run}.test`, clientId: null, state: 'present', spec: { domain: `other.${run}.test`, mailServers: [] } },
      { nodeId: a.node.id, kind: 'relay_domain', objectId: good, clientId: null, state: 'present', spec: { domain: good, mailServers: ['2001:db8::25'] } },
    ]);
    await waitFor(() => (lookup(a, 'transport', good) === 'smtp:[ipv6:2001:db8::25]' ? true : undefined), 30_000, () => `relay-a never built ${good}`, 200);
    const failed = await cp.admin<{ objects: { id: string; error: string | null }[] }>('GET', `/admin/v1/nodes/${a.node.id}/objects?failed=true`);
    await waitFor(
      async () => ((await cp.admin<{ objects: { id: string; error: string | null }[] }>('GET', `/admin/v1/nodes/${a.node.id}/objects?failed=true`)).body.objects.some((o) => o.id === `mismatch.${run}.test`) ? true : undefined),
      30_000,
      () => `mismatch not reported failed: ${JSON.stringify(failed.body)}`,
      200,
    );
    const maps = mapText(a, 'relay_domains') + mapText(a, 'transport');
    for (const h of hostile) expect(maps).not.toContain(h);
    expect(maps.toLowerCase()).not.toContain('evil');
    expect(maps).not.toContain('other.');
    expect(maps).not.toContain('mismatch.');
    // Every line of both maps is one of the two shapes the driver writes.
    for (const line of maps.split('\n').filter((l) => l && !l.startsWith('#'))) expect(line).toMatch(/^[a-z0-9.-]+ {2}(OK|smtp:\S+)$/);
  }, 120_000);

  it('an agent with the http relay driver and no URL refuses to start', async () => {
    const p = spawnHostplane(['agent', '--url', cp.url, '--data-dir', path.join(tmp.dir, 'no-url'), '--relay-driver', 'http'], {});
    const { code } = await p.exited;
    expect(code).not.toBe(0);
    expect(p.output()).toContain('HOSTPLANE_AGENT_RELAY_HTTP_URL');
  });
});
