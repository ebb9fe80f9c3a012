import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from 'pino';
import { registerJsonParser } from './json-body.js';
import { containsNul, NUL_MESSAGE } from './nul.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function redactUrl(url: string): string {
  // Login links carry single-use secrets in the query string; logs must not.
  return url.replace(/([?&](?:token|key|code|password|authkey|esprit_id)=)[^&]*/gi, '$1[redacted]');
}

// Where the HSP documents are silent, the behaviour is ours; integrators read it here.
const API_DESCRIPTION = `Reseller API v1 (HSP-compatible; HTTP Basic auth, API token as user and API key as password)
and the operator admin API under /admin/v1 (Authorization: Bearer <operator key>, or the web console's session cookie
from POST /admin/v1/session plus an X-CSRF-Token header on every change).

Reseller API behaviour beyond the HSP documents:
- Errors: 422 {"errors": {"field": ["message"], "base": ["message"]}}; 400 for unparsable JSON; 413 for bodies over the limit;
  401 with WWW-Authenticate: Basic for missing or wrong credentials; 403 for a suspended reseller; 404 for anything
  that does not exist or belongs to another reseller. Bodies may be flat or wrapped in {"client": {...}}; answers are flat.
- PUT on a client is a partial update: absent fields stay; "domains", when present, is the complete new set.
- DELETE cancels the client (its domains are released; an operator can restore it) and answers 200 with its last state.
- Domain names are stored as IDNA A-labels in lower case without a trailing dot; look-ups accept either form.
- MX records: the domain with dots turned into hyphens, under each configured relay host, at priorities 10, 20, ...
- A reseller may sell packages that share one of its tags (a reseller without tags may sell every package).
- Auth tokens work once, for 60 seconds, and only for an active client; login_hostname is the reseller's branded host
  (protocol https) or else this server's public address.
- Sign-up: a new reseller is pending until an operator approves it; every failed attempt returns a fresh captcha;
  5 wrong answers from one address in 15 minutes, or 60 sign-up forms, give 429 with Retry-After.

Idempotency-Key (both APIs, every authenticated POST, PUT, PATCH and DELETE; GET ignores it): send a unique key
(1-255 printable ASCII characters, e.g. a UUID) to make a retry safe. The first response (unless 5xx or 429) is kept
for 24 hours per credential, method and route; repeating the request with the same key and the same body replays it
byte for byte with Idempotency-Replayed: true. The same key with a different body or path is a 422; a repeat while
the first request still runs waits for it, then replays its answer (or runs, if the first failed). The change and the
kept answer are saved together, so after a crash a key has either its answer or no effect; when they cannot be saved
the answer is a 503 and the retry runs. A malformed key is a 422.`;

export interface HttpServerOptions {
  logger: Logger;
  bodyLimit: number;
  version: string;
  /** Returns normally when the database answers. */
  ready: () => Promise<void>;
  /** Answers a path the router cannot read (the doors' not-found, in each door's format). */
  unroutable?: (req: FastifyRequest, reply: FastifyReply) => void;
  /** Serve every door over TLS with this PEM certificate chain and key (HOSTPLANE_TLS_CERT / _KEY). */
  tls?: { cert: Buffer; key: Buffer };
  /**
   * Maps a request URL before routing; doors use it for the few spellings of a path that clients send
   * and the router would not match (it must return every other URL unchanged).
   */
  rewriteUrl?: (url: string) => string;
}

/** How long a closing server lets the requests in flight finish before it cuts their connections. */
const DRAIN_LIMIT_MS = 10_000;

export async function createHttpServer(options: HttpServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.tls ? { https: { cert: options.tls.cert, key: options.tls.key } } : {}),
    ...(options.rewriteUrl ? { rewriteUrl: (req: { url?: string }) => options.rewriteUrl!(req.url ?? '/') } : {}),
    loggerInstance: options.logger.child({}, {
      serializers: {
        req: (req: { method: string; url: string; ip?: string; id?: string }) => ({ method: req.method, url: redactUrl(req.url), remoteAddress: req.ip }),
      },
    }) as unknown as FastifyServerOptions['loggerInstance'],
    bodyLimit: options.bodyLimit,
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    trustProxy: false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
    // A path that cannot be routed (a parameter over maxParamLength, bad %-encoding) names nothing:
    // the not-found answer, which the doors give in their own format.
    frameworkErrors: (err, req, reply) => {
      if (options.unroutable && (err.code === 'FST_ERR_BAD_URL' || err.code === 'FST_ERR_MAX_PARAM_LENGTH')) return options.unroutable(req, reply as FastifyReply);
      return (reply as FastifyReply).code(400).send({ error: err.message });
    },
    // Route schemas are zod: they document the API, and core use cases validate input themselves so
    // that every door shares one validation and error vocabulary. Supplying the compilers here also
    // spares start-up from loading Ajv and fast-json-stringify, which would never run.
    schemaController: {
      compilersFactory: {
        buildValidator: (() => () => (data: unknown) => ({ value: data })) as never,
        buildSerializer: (() => () => (data: unknown) => JSON.stringify(data)) as never,
      },
    },
  });


  registerJsonParser(app);

  // Hooks on every request are callback-style: an async hook costs a promise per request.
  app.addHook('onRequest', (req, reply, done) => {
    reply.header('x-request-id', req.id);
    // A declared body over the route's limit is refused before anything else looks at the request (every
    // method: GET bodies are never read, so nothing else would notice), in the format of the door it
    // was sent to. The body is never read: the connection is closed after the answer (see onSend).
    const declared = Number(req.headers['content-length']);
    if (declared > (req.routeOptions.bodyLimit ?? options.bodyLimit)) {
      done(Object.assign(new Error('request body is too large'), { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' }));
      return;
    }
    done();
  });

  // Answering before the request's body has fully arrived (a refused credential, a body over the limit,
  // a GET that ignores its body) must not keep the socket: Node would read and discard the rest of the
  // body first, holding the connection, and a keep-alive client could not tell where its next request
  // starts. Connection: close makes Node end the socket as soon as the answer is written.
  //
  // The same once the server is closing: Node's close ends only the connections idle at that moment, so
  // a request still in flight then would leave its kept-alive connection open after its answer, holding
  // the close for the whole keep-alive timeout (72 s). Whatever still holds a connection after
  // DRAIN_LIMIT_MS (a stream, a hijacked reply) is cut.
  let draining = false;
  app.addHook('preClose', (done) => {
    draining = true;
    setTimeout(() => app.server.closeAllConnections(), DRAIN_LIMIT_MS).unref();
    done();
  });
  app.addHook('onSend', (req, reply, payload, done) => {
    if (draining || req.raw.complete === false) reply.header('connection', 'close');
    done(null, payload);
  });

  // PostgreSQL text cannot hold U+0000; refusing it here, like a parse error (a 400 every door
  // and Fastify's default handler understand), keeps any route from answering 500. Doors that read
  // their bodies as text and decode them in the handler (CRM, SOAP, XML-RPC) call refuseNul themselves.
  app.addHook('preValidation', (req, _reply, done) => {
    if (containsNul(req.params) || containsNul(req.query) || containsNul(req.body)) {
      done(Object.assign(new Error(NUL_MESSAGE), { statusCode: 400 }));
      return;
    }
    done();
  });

  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status_code'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by method, route and status',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  app.addHook('onResponse', (req, reply, done) => {
    // The route pattern, never the raw URL, keeps label cardinality bounded.
    const labels = { method: req.method, route: req.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) };
    requests.inc(labels);
    latency.observe(labels, reply.elapsedTime / 1000);
    done();
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Hostplane API',
        version: options.version,
        description: API_DESCRIPTION,
      },
      components: {
        securitySchemes: {
          resellerBasic: { type: 'http', scheme: 'basic', description: 'user = reseller API token, password = reseller API key' },
          resellerSession: { type: 'apiKey', in: 'cookie', name: 'hp_reseller', description: 'web console session of a reseller (POST /v1/session); changes also need the X-CSRF-Token header' },
          operatorBearer: { type: 'http', scheme: 'bearer', description: 'operator API key' },
          operatorSession: { type: 'apiKey', in: 'cookie', name: 'hp_operator', description: 'web console session of an operator user (POST /admin/v1/session); changes also need the X-CSRF-Token header' },
          clientSession: { type: 'apiKey', in: 'cookie', name: 'hp_session', description: 'client area session (SSO login link, ApisCP hijack, POST /client/v1/session); changes also need the X-CSRF-Token header' },
          crmUser: { type: 'http', scheme: 'bearer', description: 'REMP CRM: an end user\'s access token (POST /api/v1/users/login)' },
          crmApiToken: { type: 'http', scheme: 'bearer', description: 'REMP CRM: an API token made by an operator (hostplane api-token create), granted per endpoint' },
          nodeBearer: { type: 'http', scheme: 'bearer', description: "a hosting node's own token (from POST /agent/v1/enrol); sees only that node" },
          nodeEnrolBearer: { type: 'http', scheme: 'bearer', description: 'a one-time enrolment token (hostplane node create / rotate-token)' },
        },
      },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    try {
      await options.ready();
      return { status: 'ready' };
    } catch {
      return reply.code(503).send({ status: 'unavailable', reason: 'database unreachable' });
    }
  });
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });

  return app;
}
