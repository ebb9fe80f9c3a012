import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Ctx } from '../core/context.js';
import { beginIdempotentRequest, finishIdempotentRequest, releaseIdempotentRequest, type IdempotencyClaim } from '../core/idempotency/idempotency.service.js';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The key each running request holds, until its response is stored. */
const claims = new WeakMap<FastifyRequest, { ctx: Ctx; claim: IdempotencyClaim }>();

/**
 * `Idempotency-Key` for a door's mutating routes. Register inside the door's plugin scope, after the
 * hook that authenticates: `ctxOf` returns the authenticated request's ctx, or undefined on public
 * routes, which ignore the header. Errors (bad key, key reused for another request, still running)
 * are thrown as AppErrors, so the door's error handler words them in its own format.
 */
export function registerIdempotency(app: FastifyInstance, ctxOf: (req: FastifyRequest) => Ctx | undefined): void {
  // Callback-style like the server's other per-request hooks: most requests leave on the first line.
  app.addHook('preHandler', (req, reply, done) => {
    const key = req.headers['idempotency-key'];
    if (key === undefined || !MUTATING.has(req.method)) return done();
    const ctx = ctxOf(req);
    if (!ctx) return done();
    beginIdempotentRequest(ctx, {
      key: Array.isArray(key) ? key.join(', ') : key,
      method: req.method,
      route: req.routeOptions.url ?? req.url,
      path: req.url.split('?')[0]!,
      params: req.params,
      query: req.query,
      body: req.body,
    }).then(
      (outcome) => {
        if (outcome.kind === 'run') {
          claims.set(req, { ctx, claim: outcome.claim });
          return done();
        }
        const { status, contentType, body } = outcome.response;
        if (contentType) reply.header('content-type', contentType);
        reply.header('idempotency-replayed', 'true').code(status).send(body);
      },
      (err: unknown) => done(err as Error),
    );
  });

  // The response is stored before it leaves, so a client that has seen it can only get it again.
  app.addHook('onSend', (req, reply, payload, done) => {
    const held = claims.get(req);
    if (!held) return done(null, payload);
    claims.delete(req);
    const body = payload === null || payload === undefined ? '' : typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : null;
    const contentType = reply.getHeader('content-type');
    const stored =
      body === null
        ? releaseIdempotentRequest(held.ctx, held.claim)
        : finishIdempotentRequest(held.ctx, held.claim, { status: reply.statusCode, contentType: typeof contentType === 'string' ? contentType : null, body });
    stored.then(
      () => done(null, payload),
      (err: unknown) => {
        // The change itself has happened; failing the response now would only hide it from the client.
        req.log.error({ err }, 'could not store the response for Idempotency-Key');
        releaseIdempotentRequest(held.ctx, held.claim).then(
          () => done(null, payload),
          () => done(null, payload),
        );
      },
    );
  });
}
