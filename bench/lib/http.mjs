// Plain HTTP requests to the servers under test and health polling.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { HOST } from './core.mjs';

export function request(port, { method = 'GET', path: p = '/', headers = {}, body, keepBody = true, agent = false } = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const req = http.request(
      {
        host: HOST,
        port,
        method,
        path: p,
        agent,
        // JSON unless the caller names another type (row 9 sends text/xml).
        headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...headers, ...(payload ? { 'content-length': payload.length } : {}) },
      },
      (res) => {
        const chunks = [];
        let bytes = 0;
        res.on('data', (c) => {
          bytes += c.length;
          if (keepBody) chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, bytes, body: keepBody ? Buffer.concat(chunks).toString('utf8') : undefined }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(60_000, () => req.destroy(new Error(`${method} ${p} timed out`)));
    req.end(payload);
  });
}

/** Polls GET /healthz until it answers 200; returns the performance.now() of that answer. */
export async function waitHealthy(child, port, timeoutMs, intervalMs = 20) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${child.label} exited before it was healthy`);
    try {
      const res = await request(port, { path: '/healthz' });
      if (res.status === 200) return performance.now();
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) throw new Error(`${child.label} not healthy after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
