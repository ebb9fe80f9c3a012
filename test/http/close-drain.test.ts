import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createHttpServer } from '../../src/http/server.js';

/**
 * Closing the server while a request is in flight: Node ends only the connections idle when the close
 * begins, so a kept-alive connection whose answer comes later would hold the close for the whole
 * keep-alive timeout (72 s) unless that answer closes it. A stopping `serve` (SIGTERM) waits on this.
 */
let app: FastifyInstance | undefined;
afterEach(async () => {
  app?.server.closeAllConnections();
  await app?.close();
  app = undefined;
});

async function serverWithSlowRoute(release: Promise<void>): Promise<{ port: number; started: Promise<void> }> {
  app = await createHttpServer({ logger: pino({ level: 'silent' }), bodyLimit: 1024, version: 'test', ready: async () => {} });
  let arrived!: () => void;
  const started = new Promise<void>((r) => (arrived = r));
  app.get('/slow', async () => {
    arrived();
    await release;
    return { ok: true };
  });
  app.get('/fast', async () => ({ ok: true }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { port: (app.server.address() as AddressInfo).port, started };
}

/** One request on a kept-alive socket; resolves with the answer and a promise of the socket's end. */
function get(port: string | number, path: string, agent: http.Agent): Promise<{ status: number; connection: string | undefined; socketClosed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: Number(port), path, agent }, (res) => {
      const socketClosed = new Promise<void>((r) => res.socket.once('close', () => r()));
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, socketClosed }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('closing the HTTP server with requests in flight', () => {
  it('answers the request in flight with Connection: close, ends its socket, and the close completes', async () => {
    let release!: () => void;
    const { port, started } = await serverWithSlowRoute(new Promise<void>((r) => (release = r)));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const answer = get(port, '/slow', agent);
    await started;
    let closed = false;
    const closing = app!.close().then(() => {
      closed = true;
    });
    // The close cannot finish before the request in flight has its answer.
    await new Promise((r) => setImmediate(r));
    expect(closed).toBe(false);
    release();
    const res = await answer;
    expect(res.status).toBe(200);
    expect(res.connection).toBe('close');
    await res.socketClosed;
    await closing;
    expect(closed).toBe(true);
    agent.destroy();
    app = undefined;
  });

  it('a request that never answers is cut after the drain limit, and the close completes', async () => {
    const { port, started } = await serverWithSlowRoute(new Promise<void>(() => {}));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const answer = get(port, '/slow', agent).then(
      () => 'answered',
      (e: NodeJS.ErrnoException) => e.code,
    );
    await started;
    await app!.close();
    expect(await answer).toBe('ECONNRESET');
    agent.destroy();
    app = undefined;
  }, 30_000);

  it('a kept-alive connection idle when the close begins is ended at once', async () => {
    const { port } = await serverWithSlowRoute(Promise.resolve());
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const first = await get(port, '/fast', agent);
    expect(first.status).toBe(200);
    expect(first.connection).toBe('keep-alive');
    await app!.close();
    await first.socketClosed;
    agent.destroy();
    app = undefined;
  });
});
