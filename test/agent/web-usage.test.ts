import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll, makeTempDir, waitFor } from '../jobs-process/process-harness.js';
import { startReceiver, type Receiver } from '../webhooks/receiver.js';
import { nodeView, startControlPlane, type ControlPlane } from './agent-harness.js';
import { addDomain, answerWhen, cpcmd, get, publicHtml, removeSiteUsers, siteIdBase, startSiteIdsAt, startWebNode, stopServers, tool, waitApplied, type WebNode } from './web-nodes.js';

/*
 * Usage and quotas end to end, on both databases: sites added with AddDomain are served by a real
 * agent's nginx; what nginx serves and what is written into a home is metered by the agent, reported
 * to the control plane and read back the way billing modules read it (cpcmd admin:get-usage, SOAP
 * admin_get_usage through PHP's SoapClient, admin:collect). Going over diskquota,quota delivers
 * site.over_quota to a real HTTP receiver and, with the suspend policy, turns the site's page into
 * the suspension page.
 */

const KB = 1024;
const MB = 1024 * 1024;
const tmp = makeTempDir('hostplane-web-usage-');
const base = siteIdBase(0);
let cp: ControlPlane;
let web: WebNode;
let receiver: Receiver;

interface StorageUsage {
  qused: number;
  qsoft: number;
  qhard: number;
}
interface BandwidthUsage {
  sum: number;
  threshold: number;
  begin: number;
  end: number;
}
interface NodeOfSite {
  name: string;
  status: string;
  object: string;
  error: string | null;
}

const why = () => web.agent.output().slice(-2000);

beforeAll(async () => {
  // nginx's workers and the sites' users reach the homes under it, as under /var/lib on a node.
  fs.chmodSync(tmp.dir, 0o755);
  cp = await startControlPlane({ HOSTPLANE_WEBHOOK_ALLOW_PRIVATE: 'true' }, { jobs: true });
  await startSiteIdsAt(cp, base);
  receiver = await startReceiver();
  const hook = await cp.admin('POST', '/admin/v1/webhooks', { url: `${receiver.url}/hooks`, event_types: ['site.over_quota'] });
  expect(hook.status, JSON.stringify(hook.body)).toBe(201);
  const settings = await cp.admin('PATCH', '/admin/v1/settings', { show_suspension_reason: true, over_quota_policy: 'notify' });
  expect(settings.status, JSON.stringify(settings.body)).toBe(200);
  web = await startWebNode(cp, tmp.dir, 'usage-web');
  await waitFor(async () => ((await nodeView(cp, web.node.id)).status === 'healthy' ? true : undefined), 20_000, why);
}, 120_000);

afterAll(async () => {
  killAll();
  if (web) stopServers(web);
  removeSiteUsers(tmp.dir);
  await receiver?.close();
  await cp?.close();
  tmp.remove();
}, 120_000);

/** PHP's SoapClient, as WHMCS's usage update calls it: admin_get_usage('storage') and ('bandwidth') for these sites. */
function soapUsage(sites: string[]): Promise<{ storage: Record<string, StorageUsage>; bandwidth: Record<string, BandwidthUsage>; collect: Record<string, { node: NodeOfSite | null }>; arrays: Record<string, boolean> }> {
  const script = `
    $c = new SoapClient($argv[1] . '/apnscp.wsdl', ['location' => $argv[1] . '/soap?authkey=' . $argv[2], 'uri' => 'urn:apnscp.api.soap', 'stream_context' => stream_context_create(['http' => ['header' => 'Abort-On: error']])]);
    $sites = array_slice($argv, 3);
    $collect = $c->admin_collect(null, [], $sites);
    $arrays = array_map(fn ($site) => is_array($site) && is_array($site['node']), $collect);
    echo json_encode(['storage' => $c->admin_get_usage('storage', $sites), 'bandwidth' => $c->admin_get_usage('bandwidth', $sites), 'collect' => $collect, 'arrays' => $arrays]);`;
  return new Promise((resolve, reject) =>
    execFile('php', ['-r', script, cp.url, cp.operatorKey, ...sites], { timeout: 30_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}${stdout}`)) : resolve(JSON.parse(stdout)))),
  );
}

async function usageOf(domain: string): Promise<{ storage: StorageUsage; bandwidth: BandwidthUsage }> {
  const storage = await cpcmd<Record<string, StorageUsage>>(cp, 'admin:get-usage', 'storage', `[${domain}]`);
  const bandwidth = await cpcmd<Record<string, BandwidthUsage>>(cp, 'admin:get-usage', 'bandwidth', `[${domain}]`);
  return { storage: storage[domain]!, bandwidth: bandwidth[domain]! };
}

const overQuotaHooks = (id: number) => receiver.received.filter((r) => r.json.type === 'site.over_quota' && r.json.data.id === `site${id}`);
const overQuotaHook = (id: number) => overQuotaHooks(id)[0];

describe('usage measured by the agent, read as billing modules read it', () => {
  const domain = `usage-${base}.web.test`;
  let id: number;

  it('storage written into public_html and transfer served by nginx show in admin:get-usage as qused/qhard and sum/threshold', async () => {
    id = await addDomain(cp, domain, `usage${base}`, 'diskquota,quota=50', 'bandwidth,threshold=20', 'php,enabled=0');
    await waitApplied(cp, id);
    await answerWhen(web.port, domain, '/', (a) => a.status === 200, 30_000, why);
    const size = 300_000;
    fs.writeFileSync(path.join(publicHtml(web, id), 'big.bin'), Buffer.alloc(size, 7));
    for (let i = 0; i < 3; i++) {
      const a = await get(web.port, domain, '/big.bin');
      expect(a.status).toBe(200);
      expect(a.body.length).toBe(size);
    }
    // The agent reports every second (the test server's setting): wait for a sample that saw all three.
    const measured = await waitFor(
      async () => {
        const u = await usageOf(domain);
        return u.storage.qused >= size / KB && u.bandwidth.sum >= 3 * size ? u : undefined;
      },
      30_000,
      async () => `${JSON.stringify(await usageOf(domain))}\n${why()}`,
      500,
    );
    // Limits as the plan and the site's settings resolve them: 50 MB in KB, 20 MB in bytes.
    expect(measured.storage).toMatchObject({ qhard: 50 * KB, qsoft: 50 * KB });
    expect(measured.bandwidth.threshold).toBe(20 * MB);
    // What the home holds (the file, the default page, the access log), not more.
    expect(measured.storage.qused).toBeLessThan(size / KB + 64);
    // Each transfer counted once: three copies plus headers and the small pages asked for before.
    expect(measured.bandwidth.sum).toBeLessThan(3 * size + 20_000);
    expect(measured.bandwidth.begin).toBeLessThanOrEqual(Date.now() / 1000);
    expect(measured.bandwidth.end).toBeGreaterThan(Date.now() / 1000);

    // The SOAP door answers the same figures to PHP (WHMCS's UsageUpdate reads qused/qhard and sum/threshold).
    const soap = await soapUsage([domain]);
    expect(soap.storage[domain]!.qhard).toBe(50 * KB);
    expect(soap.storage[domain]!.qused).toBeGreaterThanOrEqual(measured.storage.qused);
    expect(soap.bandwidth[domain]!.threshold).toBe(20 * MB);
    expect(soap.bandwidth[domain]!.sum).toBeGreaterThanOrEqual(measured.bandwidth.sum);
    // PHP decodes the node of collect's "every value" into a plain array like the rest.
    expect(soap.collect[domain]!.node).toEqual({ name: 'usage-web', status: 'healthy', object: 'applied', error: null });
    expect(soap.arrays).toEqual({ [domain]: true });

    // The operators' chart reads the same days.
    const days = await cp.admin<{ days: { storage_bytes: number; transfer_bytes: number }[] }>('GET', `/admin/v1/clients/${id}/usage?days=2`);
    expect(days.status).toBe(200);
    expect(days.body.days.reduce((s, d) => s + d.transfer_bytes, 0)).toBeGreaterThanOrEqual(3 * size);
    expect(days.body.days.at(-1)!.storage_bytes).toBeGreaterThanOrEqual(size);
  });

  it('admin:collect names the node that serves the site: with `node` among the params, and with null (every value); not in the default answer', async () => {
    const expected: NodeOfSite = { name: 'usage-web', status: 'healthy', object: 'applied', error: null };
    const named = await cpcmd<Record<string, { domain: string; active: boolean; node: NodeOfSite | null }>>(cp, 'admin:collect', '[siteinfo.domain,node]', '[]', `[${domain}]`);
    expect(named[domain]).toEqual({ siteinfo: { domain }, domain, active: true, node: expected });
    const everything = await cpcmd<Record<string, { node: NodeOfSite | null }>>(cp, 'admin:collect', 'null', '[]', `[${domain}]`);
    expect(everything[domain]!.node).toEqual(expected);
    // ApisCP's default selection answers as ApisCP does: the chosen services, domain and active.
    const plain = await cpcmd<Record<string, Record<string, unknown>>>(cp, 'admin:collect');
    expect(plain[`site${id}`]).toMatchObject({ domain, active: true });
    expect(plain[`site${id}`]).not.toHaveProperty('node');
    // A site without the web role is not placed: null, in the same answer shape.
    const mailOnly = `mail-only-${base}.web.test`;
    await addDomain(cp, mailOnly, `mailonly${base}`, 'apache,enabled=0');
    const unplaced = await cpcmd<Record<string, { node: NodeOfSite | null }>>(cp, 'admin:collect', 'null', '[]', `[${mailOnly}]`);
    expect(unplaced[mailOnly]!.node).toBeNull();
    // A misspelt selection is still refused, node or not.
    const r = await tool(cp, 'cpcmd', '-o', 'json', 'admin:collect', '[node,nosuch.param]');
    expect(r.code).not.toBe(0);
    expect(r.stderr + r.stdout).toContain('nosuch');
  });
});

describe('over quota through the real agent', () => {
  async function overQuotaSite(tag: string): Promise<{ id: number; domain: string }> {
    const domain = `${tag}-${base}.web.test`;
    const id = await addDomain(cp, domain, `${tag}${base}`, 'diskquota,quota=1', 'php,enabled=0');
    await waitApplied(cp, id);
    await answerWhen(web.port, domain, '/', (a) => a.status === 200, 30_000, why);
    // 2 MB in a 1 MB quota: nothing stops the write (no filesystem quota); the metering sees it.
    fs.writeFileSync(path.join(publicHtml(web, id), 'too-big.bin'), Buffer.alloc(2 * MB, 1));
    return { id, domain };
  }

  it('notify: site.over_quota reaches the receiver and the site stays served', async () => {
    const policy = await cp.admin('PATCH', '/admin/v1/settings', { over_quota_policy: 'notify' });
    expect(policy.status).toBe(200);
    const { id, domain } = await overQuotaSite('notify');
    const hook = await waitFor(() => overQuotaHook(id), 30_000, () => `no webhook; received ${receiver.received.length}\n${why()}`, 200);
    expect(hook.json.data).toMatchObject({ object: 'site', id: `site${id}`, client_id: id, quota: 'storage', limit_bytes: MB });
    expect(hook.json.data.used_bytes as number).toBeGreaterThan(2 * MB - 1);
    expect(hook.headers['hostplane-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    // The policy would have suspended in the transaction that emitted the event: it is active now, and served.
    const sites = await cpcmd<Record<string, { active: boolean }>>(cp, 'admin:collect', '[]', '[]', `[${domain}]`);
    expect(sites[domain]!.active).toBe(true);
    expect((await get(web.port, domain, '/too-big.bin')).status).toBe(200);
    // Once per crossing: a later sample, still over the quota (it carries this transfer), emits nothing more.
    const before = (await usageOf(domain)).bandwidth.sum;
    expect((await get(web.port, domain, '/too-big.bin')).status).toBe(200);
    await waitFor(async () => ((await usageOf(domain)).bandwidth.sum >= before + 2 * MB ? true : undefined), 20_000, why, 300);
    const events = await cp.app().deps.db.selectFrom('webhook_deliveries').select('payload').where('event_type', '=', 'site.over_quota').execute();
    expect(events.filter((e) => (e.payload as { data: { id: string } }).data.id === `site${id}`)).toHaveLength(1);
  });

  it("bandwidth: transfer over bandwidth,threshold, read from the site's nginx access log, delivers site.over_quota for bandwidth only", async () => {
    const domain = `transfer-${base}.web.test`;
    const id = await addDomain(cp, domain, `transfer${base}`, 'bandwidth,threshold=1', 'php,enabled=0');
    await waitApplied(cp, id);
    await answerWhen(web.port, domain, '/', (a) => a.status === 200, 30_000, why);
    fs.writeFileSync(path.join(publicHtml(web, id), 'part.bin'), Buffer.alloc(600_000, 3));
    for (let i = 0; i < 2; i++) expect((await get(web.port, domain, '/part.bin')).status).toBe(200);
    const hook = await waitFor(() => overQuotaHook(id), 30_000, () => `no webhook; usage ${why()}`, 200);
    expect(hook.json.data).toMatchObject({ id: `site${id}`, quota: 'bandwidth', limit_bytes: MB });
    expect(hook.json.data.used_bytes as number).toBeGreaterThanOrEqual(1_200_000);
    const u = await usageOf(domain);
    expect(u.bandwidth.threshold).toBe(MB);
    expect(u.bandwidth.sum).toBeGreaterThanOrEqual(1_200_000);
    // Its storage (600 KB against the plan's quota) crossed nothing.
    expect(overQuotaHooks(id).map((h) => h.json.data.quota)).toEqual(['bandwidth']);
    expect((await get(web.port, domain, '/part.bin')).status).toBe(200);
  });

  it('suspend: site.over_quota reaches the receiver and nginx answers 503 with the suspension page', async () => {
    const policy = await cp.admin('PATCH', '/admin/v1/settings', { over_quota_policy: 'suspend' });
    expect(policy.status).toBe(200);
    try {
      const { id, domain } = await overQuotaSite('suspend');
      await waitFor(() => overQuotaHook(id), 30_000, () => `no webhook; received ${receiver.received.length}\n${why()}`, 200);
      const page = await answerWhen(web.port, domain, '/too-big.bin', (a) => a.status === 503, 30_000, why);
      expect(page.body).toContain('over quota: storage');
      const sites = await cpcmd<Record<string, { active: boolean; node: NodeOfSite }>>(cp, 'admin:collect', '[node]', '[]', `[${domain}]`);
      expect(sites[domain]).toMatchObject({ active: false, node: { name: 'usage-web', object: 'applied' } });
    } finally {
      await cp.admin('PATCH', '/admin/v1/settings', { over_quota_policy: 'notify' });
    }
  });
});
