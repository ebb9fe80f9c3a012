import http from 'node:http';
import { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpRelayDriver, idempotencyKey } from '../../src/relay/http.driver.js';
import { RelayError, type RelayOp } from '../../src/relay/relay-driver.js';

interface Received {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: { op: string; domain: string; mail_servers: string[] };
}

type Handler = (req: Received, res: http.ServerResponse) => void | Promise<void>;

const servers: http.Server[] = [];

/** A real receiver on 127.0.0.1; records every request and tracks how many are in flight. */
async function receiver(handler: Handler = (_req, res) => void res.writeHead(204).end()) {
  const state = { requests: [] as Received[], inFlight: 0, maxInFlight: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const received: Received = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Received['body'] };
      state.requests.push(received);
      state.inFlight++;
      state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
      res.on('close', () => state.inFlight--);
      void handler(received, res);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/relay/hook`, port, state, server };
}

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
const provision = (name: string, ...mailServers: string[]): RelayOp => ({ op: 'provision', domain: { name, mailServers } });

async function rejectionOf(promise: Promise<unknown>): Promise<RelayError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(RelayError);
    return err as RelayError;
  }
  throw new Error('expected a rejection');
}

describe('http relay driver', () => {
  it('POSTs one JSON request per op with an idempotency key', async () => {
    const { url, state } = await receiver();
    const driver = new HttpRelayDriver({ url });
    expect(driver.name).toBe('http');

    await driver.provisionDomain({ name: 'example.com', mailServers: ['mx1.example.com', 'mx2.example.com'] });
    await driver.updateDomain({ name: 'example.com', mailServers: ['192.0.2.1'] });
    await driver.deprovisionDomain('example.com');

    expect(state.requests.map((r) => [r.method, r.path, r.body])).toEqual([
      ['POST', '/relay/hook', { op: 'provision', domain: 'example.com', mail_servers: ['mx1.example.com', 'mx2.example.com'] }],
      ['POST', '/relay/hook', { op: 'update', domain: 'example.com', mail_servers: ['192.0.2.1'] }],
      ['POST', '/relay/hook', { op: 'deprovision', domain: 'example.com', mail_servers: [] }],
    ]);
    for (const r of state.requests) {
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers['idempotency-key']).toMatch(/^[0-9a-f]{64}$/);
    }
    const keys = state.requests.map((r) => r.headers['idempotency-key']);
    expect(new Set(keys).size).toBe(3);
    expect(keys[0]).toBe(idempotencyKey('provision', 'example.com', ['mx1.example.com', 'mx2.example.com']));

    // A retried op carries the same key; other servers or another op give another one.
    await driver.provisionDomain({ name: 'example.com', mailServers: ['mx1.example.com', 'mx2.example.com'] });
    expect(state.requests[3]!.headers['idempotency-key']).toBe(keys[0]);
    expect(idempotencyKey('provision', 'example.com', ['mx2.example.com', 'mx1.example.com'])).not.toBe(keys[0]);
    expect(idempotencyKey('update', 'example.com', ['mx1.example.com', 'mx2.example.com'])).not.toBe(keys[0]);
  });

  it('accepts any 2xx status, with or without a body', async () => {
    const statuses = [200, 201, 202, 204];
    const { url, state } = await receiver((_req, res) => {
      const status = statuses[state.requests.length - 1]!;
      res.writeHead(status, { 'content-type': 'application/json' }).end(status === 204 ? undefined : '{"ok":true}');
    });
    const driver = new HttpRelayDriver({ url });
    for (let i = 0; i < statuses.length; i++) await driver.provisionDomain({ name: `s${i}.example`, mailServers: [] });
    expect(state.requests).toHaveLength(4);
  });

  it('rejects on a 500, naming the domain and the status, with the start of the body', async () => {
    const { url } = await receiver((req, res) => {
      if (req.body.domain === 'broken.example') res.writeHead(500, { 'content-type': 'text/plain' }).end('database\n  unavailable');
      else res.writeHead(204).end();
    });
    const driver = new HttpRelayDriver({ url });
    const err = await rejectionOf(driver.apply([provision('fine.example'), provision('broken.example', 'mx.broken.example')]));
    expect(err.message).toBe('http relay driver: provision broken.example failed: HTTP 500: database unavailable');
    expect(err.domain).toBe('broken.example');
    expect(err.status).toBe(500);
  });

  it('reads at most 64 KiB of an error body and keeps the message short', async () => {
    const { url } = await receiver((_req, res) => {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('x'.repeat(4 * 1024 * 1024));
    });
    const err = await rejectionOf(new HttpRelayDriver({ url }).deprovisionDomain('big.example'));
    expect(err.message).toMatch(/^http relay driver: deprovision big.example failed: HTTP 503: x+$/);
    expect(err.message.length).toBeLessThan(600);
  });

  it('treats a redirect as a failure instead of following it', async () => {
    const { url, state } = await receiver((_req, res) => void res.writeHead(302, { location: '/elsewhere' }).end());
    const err = await rejectionOf(new HttpRelayDriver({ url }).provisionDomain({ name: 'moved.example', mailServers: [] }));
    expect(err.message).toMatch(/provision moved.example failed: HTTP 302/);
    expect(state.requests.map((r) => r.path)).toEqual(['/relay/hook']);
  });

  it('rejects when the receiver does not answer in time', async () => {
    const { url, state } = await receiver(() => {
      // never answers
    });
    const driver = new HttpRelayDriver({ url, timeoutMs: 200 });
    const started = Date.now();
    const err = await rejectionOf(driver.provisionDomain({ name: 'slow.example', mailServers: ['mx.slow.example'] }));
    expect(err.message).toBe('http relay driver: provision slow.example failed: no response within 200 ms (timed out)');
    expect(err.domain).toBe('slow.example');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(state.requests).toHaveLength(1);
  });

  it('rejects when the receiver cannot be reached', async () => {
    const { url, server } = await receiver();
    servers.splice(servers.indexOf(server), 1);
    await new Promise((resolve) => server.close(resolve));
    const err = await rejectionOf(new HttpRelayDriver({ url }).deprovisionDomain('offline.example'));
    expect(err.message).toMatch(/^http relay driver: deprovision offline.example failed: .*ECONNREFUSED/);
    expect(err.domain).toBe('offline.example');
  });

  it('runs a batch with bounded concurrency (4 by default)', async () => {
    const { url, state } = await receiver(async (_req, res) => {
      await delay(80);
      res.writeHead(204).end();
    });
    const names = Array.from({ length: 16 }, (_, i) => `c${i}.example`);
    await new HttpRelayDriver({ url }).apply(names.map((n) => provision(n)));
    expect(state.requests.map((r) => r.body.domain).sort()).toEqual([...names].sort());
    expect(state.maxInFlight).toBe(4);

    state.maxInFlight = 0;
    await new HttpRelayDriver({ url, concurrency: 2 }).apply(names.map((n) => provision(n)));
    expect(state.maxInFlight).toBe(2);
  });

  it('sends the ops for one domain one after another, in batch order', async () => {
    const inFlightFor = new Map<string, number>();
    let overlapped = false;
    const { url, state } = await receiver(async (req, res) => {
      const n = (inFlightFor.get(req.body.domain) ?? 0) + 1;
      inFlightFor.set(req.body.domain, n);
      if (n > 1) overlapped = true;
      await delay(30);
      inFlightFor.set(req.body.domain, n - 1);
      res.writeHead(204).end();
    });
    await new HttpRelayDriver({ url }).apply([
      provision('a.example', 'mx1.a.example'),
      provision('b.example'),
      { op: 'update', domain: { name: 'a.example', mailServers: ['mx2.a.example'] } },
      { op: 'deprovision', name: 'a.example' },
      { op: 'deprovision', name: 'b.example' },
    ]);
    expect(overlapped).toBe(false);
    expect(state.requests.filter((r) => r.body.domain === 'a.example').map((r) => r.body.op)).toEqual(['provision', 'update', 'deprovision']);
    expect(state.requests.filter((r) => r.body.domain === 'b.example').map((r) => r.body.op)).toEqual(['provision', 'deprovision']);
    expect(state.maxInFlight).toBe(2);
  });

  it('starts no new op after one failed, and reports how many failed', async () => {
    const { url, state } = await receiver((_req, res) => void res.writeHead(500).end());
    const err = await rejectionOf(new HttpRelayDriver({ url, concurrency: 1 }).apply([provision('a.example'), provision('b.example'), provision('c.example')]));
    expect(err.message).toBe('http relay driver: provision a.example failed: HTTP 500');
    expect(state.requests).toHaveLength(1);

    const all = await rejectionOf(new HttpRelayDriver({ url, concurrency: 3 }).apply([provision('a.example'), provision('b.example'), provision('c.example')]));
    expect(all.message).toMatch(/failed: HTTP 500 \(and 2 more failed\)$/);
  });

  it('serialises concurrent batches', async () => {
    const { url, state } = await receiver(async (_req, res) => {
      await delay(20);
      res.writeHead(204).end();
    });
    const driver = new HttpRelayDriver({ url });
    await Promise.all(Array.from({ length: 5 }, (_, i) => driver.apply([provision(`s${i}.example`)])));
    expect(state.requests.map((r) => r.body.domain)).toEqual(['s0.example', 's1.example', 's2.example', 's3.example', 's4.example']);
    expect(state.maxInFlight).toBe(1);
  });

  it('rejects a batch with an invalid name before sending anything', async () => {
    const { url, state } = await receiver();
    const driver = new HttpRelayDriver({ url });
    const err = await rejectionOf(driver.apply([provision('ok.example'), provision('Bad.Example'), provision('ok2.example', 'mx ok2.example')]));
    expect(err.message).toMatch(/batch rejected, nothing applied: .*"Bad.Example" is not a canonical domain name.*"mx ok2.example" is not a valid mail server/);
    expect(state.requests).toHaveLength(0);
  });

  it('refuses a URL that is not http(s) and settings that make no sense', () => {
    expect(() => new HttpRelayDriver({ url: 'ftp://relay.example/' })).toThrow(/must be http/);
    expect(() => new HttpRelayDriver({ url: 'not a url' })).toThrow(/is not a URL/);
    expect(() => new HttpRelayDriver({ url: 'http://127.0.0.1/', timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(() => new HttpRelayDriver({ url: 'http://127.0.0.1/', concurrency: 1.5 })).toThrow(/concurrency/);
  });
});
