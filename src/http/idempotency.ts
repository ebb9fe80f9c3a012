import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Ctx } from '../core/context.js';
import { beginIdempotentRequest, finishIdempotentRequest, releaseIdempotentRequest, type IdempotentRun } from '../core/idempotency/idempotency.service.js';
import { AppError } from '../errors/app-error.js';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The key each running request holds, with its open transaction, until its response is known. */
const runs = new WeakMap<FastifyRequest, IdempotentRun>();

/** Where a door keeps the authenticated request's ctx: read it, and swap in the key's transaction. */
export interface RequestCtxSlot {
  /** The authenticated request's ctx, or undefined on public routes, which ignore the header. */
  get(req: FastifyRequest): Ctx | undefined;
  set(req: FastifyRequest, ctx: Ctx): void;
}

/**
 * `Idempotency-Key` for a door's mutating routes. Register inside the door's plugin scope, after the
 * hook that authenticates. A keyed request runs in one transaction that also holds its key (the
 * door's handlers find it as the request's ctx), and its answer is stored in that transaction before
 * it commits and before the answer leaves: after a crash a key is either done, with its answer, or
 * never happened. So nothing on a keyed request's path may use the root database handle once the
 * handler runs (on PGlite, the one connection is the transaction's until it ends).
 * Errors (bad key, key reused for another request) are thrown as AppErrors, so the door's error
 * handler words them in its own format.
 */
export function registerIdempotency(app: FastifyInstance, slot: RequestCtxSlot): void {
  // Callback-style like the server's other per-request hooks: most requests leave on the first line.
  app.addHook('preHandler', (req, reply, done) => {
    const key = req.headers['idempotency-key'];
    if (key === undefined || !MUTATING.has(req.method)) return done();
    const ctx = slot.get(req);
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
          // The client may have gone while the key was being taken: nobody would end the transaction.
          if (req.raw.aborted) {
            void releaseIdempotentRequest(outcome.run).catch((err: unknown) => req.log.error({ err }, 'could not roll back an abandoned Idempotency-Key request'));
            return done(new AppError('malformed_request', 'the client closed the connection'));
          }
          runs.set(req, outcome.run);
          slot.set(req, outcome.run.ctx);
          return done();
        }
        const { status, contentType, body } = outcome.response;
        if (contentType) reply.header('content-type', contentType);
        reply.header('idempotency-replayed', 'true').code(status).send(body);
      },
      (err: unknown) => done(err as Error),
    );
  });

  // The answer is stored and committed with the change before it leaves, so a client that has seen it
  // can only get it again; a client that has not either gets it on retry or the retry runs.
  app.addHook('onSend', (req, reply, payload, done) => {
    const run = runs.get(req);
    if (!run) return done(null, payload);
    runs.delete(req);
    const body = payload === null || payload === undefined ? '' : typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : null;
    const contentType = reply.getHeader('content-type');
    const status = reply.statusCode;
    finishIdempotentRequest(run, status, body === null ? null : { contentType: typeof contentType === 'string' ? contentType : null, body }).then(
      () => done(null, payload),
      (err: unknown) => {
        req.log.error({ err, status }, 'could not commit the request with its Idempotency-Key');
        // An error answer is sent as it is: its change was rolled back either way.
        if (status >= 400) return done(null, payload);
        // A success must not be reported when its commit failed: the door answers with an error instead.
        done(new AppError('unavailable', 'the change could not be saved; retry with the same Idempotency-Key', { retryAfterSeconds: 1 }));
      },
    );
  });

  // Whatever way a request ends without passing onSend (a client gone mid-request, a response written
  // around Fastify's hooks), its transaction is rolled back, so no connection is left holding it.
  const abandon = (req: FastifyRequest) => {
    const run = runs.get(req);
    if (!run) return;
    runs.delete(req);
    releaseIdempotentRequest(run).catch((err: unknown) => req.log.error({ err }, 'could not roll back an Idempotency-Key request'));
  };
  app.addHook('onRequestAbort', (req, done) => {
    abandon(req);
    done();
  });
  app.addHook('onTimeout', (req, _reply, done) => {
    abandon(req);
    done();
  });
  app.addHook('onResponse', (req, _reply, done) => {
    abandon(req);
    done();
  });
}
