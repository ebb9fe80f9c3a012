import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import fastifyStatic from '@fastify/static';
import { distPath } from '../../package-root.js';

/** Where `npm run build` puts the web console (vite, from web/). */
export const WEB_CONSOLE_ROOT = distPath('console');

/** Scripts, styles and API calls from this server only; never framed. */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

function securityHeaders(reply: FastifyReply | { setHeader(name: string, value: string): void }): void {
  const set = 'setHeader' in reply ? (k: string, v: string) => reply.setHeader(k, v) : (k: string, v: string) => void reply.header(k, v);
  set('content-security-policy', CONSOLE_CSP);
  set('x-content-type-options', 'nosniff');
  set('referrer-policy', 'same-origin');
  set('x-frame-options', 'DENY');
}

/**
 * The single-page web console at /console: hashed assets cached for a year, index.html never
 * cached, and every other /console/* path answered with index.html so the app's own router takes
 * it. The server-rendered pages under /console (client pages, sign-in) are more specific routes and win.
 */
export async function webConsoleRoutes(app: FastifyInstance, options: { root: string }): Promise<void> {
  const assets = path.join(options.root, 'assets');
  if (fs.existsSync(assets)) {
    await app.register(fastifyStatic, {
      root: assets,
      prefix: '/console/assets/',
      decorateReply: false,
      index: false,
      list: false,
      dotfiles: 'deny',
      cacheControl: true,
      maxAge: 365 * 24 * 60 * 60 * 1000,
      immutable: true,
      etag: true,
      schemaHide: true,
      setHeaders: (res) => securityHeaders(res),
    });
  }

  let index: string | undefined;
  const sendIndex = async (_req: unknown, reply: FastifyReply) => {
    index ??= await fs.promises.readFile(path.join(options.root, 'index.html'), 'utf8').catch(() => undefined);
    securityHeaders(reply);
    reply.header('cache-control', 'no-store');
    if (index === undefined) {
      return reply.code(503).type('text/plain; charset=utf-8').send('The web console is not built: run `npm run build`.\n');
    }
    return reply.type('text/html; charset=utf-8').send(index);
  };
  app.get('/console', { schema: { hide: true } }, sendIndex);
  app.get('/console/*', { schema: { hide: true } }, sendIndex);
}
