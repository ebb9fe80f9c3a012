import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RelayRoleDriver } from '../../src/agent/drivers/relay/relay.driver.js';
import type { WireObject } from '../../src/core/nodes/agent-wire.schema.js';
import { makeTempDir } from '../jobs-process/process-harness.js';

// The agent's relay role driver on its own: a batch of relay_domain objects becomes one batch of the
// shared postfix-maps or http driver's ops; an object that does not fit fails alone, a failing target
// fails the batch's objects with its message. Real files, a real HTTP server on a free port.

const tmp = makeTempDir('hostplane-relay-driver-');
const log = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };
let version = 0;
const present = (name: string, mailServers: string[] = []): WireObject => ({ kind: 'relay_domain', id: name, version: ++version, state: 'present', spec: { domain: name, mailServers } });
const absent = (name: string): WireObject => ({ kind: 'relay_domain', id: name, version: ++version, state: 'absent', spec: null });

afterAll(() => tmp.remove());

describe('postfix-maps', () => {
  const relayDir = path.join(tmp.dir, 'maps');
  const driver = new RelayRoleDriver({ driver: 'postfix-maps', relayDir, log });
  const read = (f: string) => fs.readFileSync(path.join(relayDir, f), 'utf8');

  beforeAll(() => driver.start());

  it('writes a batch in one go, mail servers in their order; removes an absent one', async () => {
    const results = await driver.apply([present('a.example.com', ['mx2.example.net', 'mx1.example.net']), present('b.example.com', ['192.0.2.1']), present('c.example.com')]);
    expect(results.map((r) => r.ok)).toEqual([true, true, true]);
    expect(read('transport')).toContain('a.example.com  smtp:[mx2.example.net],[mx1.example.net]\n');
    expect(read('relay_domains')).toContain('c.example.com  OK\n');
    const gone = await driver.apply([absent('b.example.com')]);
    expect(gone).toEqual([{ kind: 'relay_domain', id: 'b.example.com', version, ok: true }]);
    expect(read('relay_domains')).not.toContain('b.example.com');
    expect(await driver.health()).toEqual({ ok: true });
  });

  it('an object that does not fit fails alone and never reaches the maps', async () => {
    const bad = [
      { kind: 'relay_domain', id: 'x.example.com', version: 1, state: 'present', spec: { domain: 'y.example.com', mailServers: [] } },
      { kind: 'relay_domain', id: 'EVIL.example.com', version: 1, state: 'present', spec: { domain: 'EVIL.example.com', mailServers: [] } },
      { kind: 'relay_domain', id: 'z.example.com', version: 1, state: 'present', spec: { domain: 'z.example.com', mailServers: ['mx.example.com\n* OK'] } },
      { kind: 'site', id: 'site1', version: 1, state: 'present', spec: {} },
    ] as unknown as WireObject[];
    const results = await driver.apply([...bad, present('d.example.com')]);
    expect(results.map((r) => r.ok)).toEqual([false, false, false, false, true]);
    expect(results[0]!.error).toContain('must be the canonical domain name its spec names');
    expect(results[1]!.error).toMatch(/invalid object/);
    expect(results[2]!.error).toMatch(/invalid object/);
    const maps = read('relay_domains') + read('transport');
    for (const s of ['x.example.com', 'y.example.com', 'EVIL', 'z.example.com', '* OK']) expect(maps).not.toContain(s);
    expect(maps).toContain('d.example.com  OK');
  });

  it('a failing reload fails the batch with its message and shows in the health', async () => {
    const failing = new RelayRoleDriver({ driver: 'postfix-maps', relayDir: path.join(tmp.dir, 'maps2'), reloadCommand: 'echo postmap is broken >&2; exit 3', log });
    await failing.start();
    const results = await failing.apply([present('e.example.com'), present('f.example.com')]);
    expect(results.every((r) => !r.ok && /exited with code 3: postmap is broken/.test(r.error ?? ''))).toBe(true);
    expect((await failing.health()).ok).toBe(false);
  });
});

describe('http', () => {
  const received: { body: unknown; key: string | undefined }[] = [];
  let status = 200;
  let server: http.Server;
  let url: string;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        received.push({ body: JSON.parse(body) as unknown, key: req.headers['idempotency-key'] as string | undefined });
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'relay api down');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/changes`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('POSTs each change; a non-2xx answer fails the batch with the answer', async () => {
    const driver = new RelayRoleDriver({ driver: 'http', relayDir: path.join(tmp.dir, 'unused'), httpUrl: url, log });
    await driver.start();
    const ok = await driver.apply([present('g.example.com', ['mx.example.org']), absent('h.example.com')]);
    expect(ok.map((r) => r.ok)).toEqual([true, true]);
    expect(received.map((r) => r.body)).toEqual([
      { op: 'provision', domain: 'g.example.com', mail_servers: ['mx.example.org'] },
      { op: 'deprovision', domain: 'h.example.com', mail_servers: [] },
    ]);
    expect(received.every((r) => /^[0-9a-f]{64}$/.test(r.key ?? ''))).toBe(true);
    status = 503;
    const failed = await driver.apply([present('i.example.com')]);
    expect(failed[0]).toMatchObject({ ok: false, id: 'i.example.com' });
    expect(failed[0]!.error).toContain('HTTP 503: relay api down');
    expect(await driver.health()).toMatchObject({ ok: false });
  });

  it('refuses to be built without a URL', () => {
    expect(() => new RelayRoleDriver({ driver: 'http', relayDir: tmp.dir, log })).toThrow(/HOSTPLANE_AGENT_RELAY_HTTP_URL/);
  });
});
