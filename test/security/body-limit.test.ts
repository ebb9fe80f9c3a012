import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReseller, createTestApp, type ResellerFixture, type TestApp } from '../support/test-app.js';

// Bodies over the limit, sent to a real listening socket the way a slow or hostile client would: the
// headers and only part of the body, then nothing. The server must answer in the door's own format
// with Connection: close and end the connection itself, without waiting for (or reading) the rest.
let t: TestApp;
let reseller: ResellerFixture;
let port: number;
const LIMIT = 256 * 1024; // the default HOSTPLANE_BODY_LIMIT
const ODOO_LIMIT = 2 * 1024 * 1024; // the Odoo door's own routes allow more
const CLOSE_WITHIN_MS = 10_000; // generous: only a server that waits for the body would come near it

beforeAll(async () => {
  t = await createTestApp();
  reseller = await createReseller(t);
  await t.app.server.listen({ port: 0, host: '127.0.0.1' });
  port = (t.app.server.server.address() as AddressInfo).port;
});
afterAll(() => t?.close());

interface Exchange {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The server ended the connection on its own (we never ended ours). */
  closedByServer: boolean;
}

function parseResponse(raw: Buffer): Omit<Exchange, 'closedByServer'> {
  const text = raw.toString('utf8');
  const split = text.indexOf('\r\n\r\n');
  const [statusLine, ...lines] = text.slice(0, split).split('\r\n');
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  let body = text.slice(split + 4);
  if (headers['transfer-encoding'] === 'chunked') {
    let out = '';
    for (let rest = body; ; ) {
      const eol = rest.indexOf('\r\n');
      const size = parseInt(rest.slice(0, eol), 16);
      if (!size) break;
      out += rest.slice(eol + 2, eol + 2 + size);
      rest = rest.slice(eol + 2 + size + 2);
    }
    body = out;
  }
  return { status: Number(statusLine!.split(' ')[1]), headers, body };
}

/** Writes the head and a first part of the body, then waits (never ending our side) for the server to close. */
function exchange(head: string, firstPart: Buffer): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ ...parseResponse(Buffer.concat(chunks)), closedByServer: false });
    }, CLOSE_WITHIN_MS);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ ...parseResponse(Buffer.concat(chunks)), closedByServer: true });
    });
    // A reset while we are still writing is the server closing, which is what we wait for.
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? undefined : reject(err)));
    socket.write(head);
    socket.write(firstPart);
  });
}

const declaredHead = (method: string, path: string, type: string, auth: string | undefined, length: number) =>
  `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${type}\r\n${auth ? `Authorization: ${auth}\r\n` : ''}Content-Length: ${length}\r\n\r\n`;
const chunkedHead = (method: string, path: string, type: string, auth: string | undefined) =>
  `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${type}\r\n${auth ? `Authorization: ${auth}\r\n` : ''}Transfer-Encoding: chunked\r\n\r\n`;
/** One chunk of `size` bytes, and no last chunk: the body never ends. */
const openChunk = (size: number) => Buffer.concat([Buffer.from(`${size.toString(16)}\r\n`), Buffer.alloc(size, 'a'), Buffer.from('\r\n')]);

interface Door {
  door: string;
  path: string;
  /** The methods a route serves at `path`. */
  methods: string[];
  type: string;
  auth?: () => string;
  limit: number;
  /** Where a chunked body is sent, when `path` checks its credential before reading any body. */
  chunkedPath?: string;
  /** The door's own answer to a body over the limit. */
  expectAnswer(r: Exchange): void;
}

const json = (r: Exchange) => JSON.parse(r.body) as Record<string, unknown>;
const doors: Door[] = [
  { door: 'HSP', path: '/v1/clients', methods: ['GET', 'POST'], type: 'application/json', auth: () => reseller.auth, limit: LIMIT, expectAnswer: (r) => {
    expect(r.status).toBe(413);
    expect(json(r)).toEqual({ errors: { base: ['request body is too large'] } });
  } },
  { door: 'admin', path: '/admin/v1/packages', methods: ['GET', 'POST'], type: 'application/json', auth: () => `Bearer ${t.operatorKey}`, limit: LIMIT, expectAnswer: (r) => {
    expect(r.status).toBe(413);
    expect(json(r)).toEqual({ error: { code: 'payload_too_large', message: 'request body is too large' } });
  } },
  { door: 'client area', path: '/client/v1/session', methods: ['GET', 'POST', 'DELETE'], type: 'application/json', limit: LIMIT, expectAnswer: (r) => {
    expect(r.status).toBe(413);
    expect(json(r)).toMatchObject({ error: { code: 'payload_too_large' } });
  } },
  { door: 'CRM', path: '/api/v1/family/activate', methods: ['GET', 'POST'], type: 'application/json', auth: () => 'Bearer not-a-user-token', limit: LIMIT, chunkedPath: '/api/v1/users/login', expectAnswer: (r) => {
    expect(r.status).toBe(413);
    expect(json(r)).toEqual({ status: 'error', message: 'Request body is too large' });
  } },
  { door: 'cpcmd', path: '/api/v1/cpcmd/admin:collect', methods: ['POST'], type: 'application/json', auth: () => `Bearer ${t.operatorKey}`, limit: LIMIT, expectAnswer: (r) => {
    expect(r.status).toBe(413);
    expect(json(r)).toMatchObject({ error: { code: 'payload_too_large' } });
  } },
  // GET /soap is a route too (`?wsdl` serves the WSDL), so the SOAP door answers it in its own format.
  { door: 'SOAP', path: '/soap', methods: ['POST', 'GET'], type: 'text/xml', limit: LIMIT, expectAnswer: (r) => {
    // SOAP 1.1 over HTTP carries faults with status 500.
    expect(r.status).toBe(500);
    expect(r.body).toContain('<faultcode>SOAP-ENV:Client</faultcode><faultstring>Request body is too large</faultstring>');
  } },
  { door: 'Odoo XML-RPC', path: '/xmlrpc/2/common', methods: ['POST'], type: 'text/xml', limit: ODOO_LIMIT, expectAnswer: (r) => {
    // XML-RPC answers faults with status 200, as Odoo does.
    expect(r.status).toBe(200);
    expect(r.body).toMatch(/<name>faultString<\/name><value><string>request body is too large/);
  } },
  { door: 'Odoo JSON-RPC', path: '/jsonrpc', methods: ['POST'], type: 'application/json', limit: ODOO_LIMIT, expectAnswer: (r) => {
    expect(r.status).toBe(200);
    expect(json(r)).toMatchObject({ error: { data: { name: 'werkzeug.exceptions.RequestEntityTooLarge' } } });
  } },
  // Its forms may carry a file's text of up to 1 MiB; the declared-length check uses the route's limit.
  { door: 'console', path: '/apps/dashboard/switch', methods: ['POST'], type: 'application/x-www-form-urlencoded', limit: 1024 * 1024 + 4096, expectAnswer: (r) => {
    expect(r.status).toBe(413);
  } },
];

function expectClosed(r: Exchange): void {
  expect(r.headers.connection).toBe('close');
  expect(r.closedByServer, 'the server kept the connection open').toBe(true);
}

describe('bodies over the limit on a real socket', () => {
  describe.each(doors)('$door door ($path)', (d) => {
    it.each(['POST', 'PUT', 'GET', 'DELETE', 'PATCH'])('%s with a declared Content-Length of 3 MB and 64 KB sent: refused in the door\'s format, then closed', async (method) => {
      const r = await exchange(declaredHead(method, d.path, d.type, d.auth?.(), 3 * 1024 * 1024), Buffer.alloc(64 * 1024, 'a'));
      if (d.methods.includes(method)) d.expectAnswer(r);
      // No route for the method: nothing of a door answers, the server's own 413 does.
      else expect(r.status, r.body).toBe(413);
      expectClosed(r);
    });

    it('POST with a chunked body that passes the limit and never ends: 413, then closed', async () => {
      const r = await exchange(chunkedHead('POST', d.chunkedPath ?? d.path, d.type, d.auth?.()), openChunk(d.limit + 64 * 1024));
      d.expectAnswer(r);
      expectClosed(r);
    });
  });

  it('a GET refused before its (small, declared) body arrives is answered and closed, not held', async () => {
    // 100 KB declared (under the limit), 1 KB sent: the credential is refused at once.
    const r = await exchange(declaredHead('GET', '/v1/clients', 'application/json', 'Basic bm9ib2R5Om5vdGhpbmc=', 100 * 1024), Buffer.alloc(1024, 'a'));
    expect(r.status).toBe(401);
    expectClosed(r);
  });

  it('a chunked GET that never ends is answered and closed', async () => {
    const r = await exchange(chunkedHead('GET', '/api/v1/family/activate', 'application/json', 'Bearer not-a-user-token'), openChunk(1024));
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expectClosed(r);
  });
});

describe('keep-alive clients', () => {
  it('complete requests keep the connection: two requests on one socket', async () => {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const answers: string[] = [];
    let buffer = '';
    const twoAnswers = new Promise<void>((resolve) => {
      socket.on('data', (d: Buffer) => {
        buffer += d.toString('utf8');
        const count = buffer.split('HTTP/1.1 ').length - 1;
        if (count >= 2 && buffer.endsWith('}')) resolve();
      });
    });
    const body = JSON.stringify({ login: 'nobody', password: 'x' });
    socket.write(`POST /admin/v1/session HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await twoAnswers;
    answers.push(...buffer.split(/(?=HTTP\/1\.1 )/));
    expect(answers).toHaveLength(2);
    expect(answers[0]).toMatch(/^HTTP\/1\.1 4\d\d /);
    expect(answers[0]).not.toMatch(/\r\nconnection: close\r\n/i);
    expect(answers[1]).toMatch(/^HTTP\/1\.1 200 /);
    expect(answers[1]).toContain('{"status":"ok"}');
    socket.destroy();
  });

  it('bytes of an unread body are never taken for the next request: the connection closes, the next request goes on a new one', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      // A body that would contain what looks like a second request, if the server read on after answering.
      const smuggled = Buffer.from('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      const first = await new Promise<{ status: number; connection: string | undefined; socketClosed: Promise<void> }>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, method: 'GET', path: '/v1/clients', agent, headers: { authorization: 'Basic bm9ib2R5Om5vdGhpbmc=', 'content-type': 'application/json', 'content-length': String(LIMIT + 1) } }, (res) => {
          res.resume();
          const socketClosed = new Promise<void>((done) => req.socket!.once('close', () => done()));
          resolve({ status: res.statusCode!, connection: res.headers.connection, socketClosed });
        });
        req.on('error', reject);
        req.write(smuggled);
      });
      expect(first.status).toBe(413);
      expect(first.connection).toBe('close');
      await first.socketClosed;
      const second = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port, path: '/healthz', agent }, (res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString('utf8')));
            res.on('end', () => resolve({ status: res.statusCode!, body }));
          })
          .on('error', reject);
      });
      expect(second).toEqual({ status: 200, body: '{"status":"ok"}' });
    } finally {
      agent.destroy();
    }
  });
});
