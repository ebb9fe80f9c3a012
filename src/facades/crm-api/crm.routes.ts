import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authorizeApiToken } from '../../core/api-tokens/api-token.service.js';
import { ctxFor, type CoreDeps, type Ctx } from '../../core/context.js';
import { getEndUserInfo, loginEndUser, registerEndUser } from '../../core/end-users/end-user.service.js';
import { authenticateUserToken, logoutEndUser } from '../../core/end-users/end-user.tokens.js';
import { toRempUser } from '../../core/end-users/end-user.schema.js';
import { toRempFamilyCode } from '../../core/family/family.schema.js';
import { activateFamilyRequest, cancelFamilyRequest, listFamilyRequests } from '../../core/family/family.service.js';
import { rempDate } from '../../core/subscriptions/subscription.schema.js';
import { createPayment, createSubscription, listMySubscriptions } from '../../core/subscriptions/subscription.service.js';
import { AppError } from '../../errors/app-error.js';
import { toAppError } from '../../http/errors.js';
import { registerIdempotency } from '../../http/idempotency.js';
import { refuseNul } from '../../http/nul.js';
import { sendCrmError } from './crm.errors.js';
import { parseForm } from './crm.forms.js';
import * as cs from './crm.schemas.js';

declare module 'fastify' {
  interface FastifyRequest {
    crmCtx?: Ctx;
    crmApiToken?: boolean;
    /** The user token is the use case's to check, and it has not been handed over yet. */
    crmUserTokenPending?: boolean;
  }
  interface FastifyContextConfig {
    /** `user-in-use-case`: the use case checks the user token in its own first statement (no round trip of its own). */
    crmAuth?: 'public' | 'user' | 'user-in-use-case' | 'api';
  }
}

function ctxOf(req: FastifyRequest): Ctx {
  if (!req.crmCtx) throw new AppError('unauthenticated', 'Not authorized: no credentials');
  return req.crmCtx;
}

function bearer(req: FastifyRequest): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return m ? m[1] : undefined;
}

const rawBody = (req: FastifyRequest) => (typeof req.body === 'string' ? req.body : '');

/** Decoded here, not by Fastify, so the shared NUL check on request bodies has not seen it yet. */
function checked(payload: unknown): unknown {
  refuseNul(payload);
  return payload;
}

/** JSON text, or REMP's message for text that is not JSON. */
function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw new AppError('malformed_request', 'Malformed JSON');
  }
}

/** REMP's JSON payloads: an empty body and unparsable JSON have their own messages. */
function jsonPayload(req: FastifyRequest): unknown {
  const raw = rawBody(req);
  if (raw.trim() === '') throw new AppError('malformed_request', 'Empty request');
  return checked(parseJson(raw));
}

/** Form posts (REMP's own clients) or JSON; either way a flat object of fields. */
function formOrJson(req: FastifyRequest): unknown {
  const raw = rawBody(req);
  const type = String(req.headers['content-type'] ?? '').toLowerCase();
  if (type.startsWith('application/x-www-form-urlencoded')) return checked(Object.fromEntries(new URLSearchParams(raw)));
  if (raw.trim() === '') return {};
  return checked(parseJson(raw));
}

/**
 * `subscriptions/create` and `payments/create`: JSON or a form with PHP's bracket fields (crm.forms.ts),
 * one object of fields either way. Without a Content-Type, or with text/plain, the body is read as JSON,
 * as before forms were taken; other types are refused rather than guessed at.
 */
function jsonOrForm(req: FastifyRequest, options: { emptyIsError: boolean }): unknown {
  const raw = rawBody(req);
  const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const isForm = type === 'application/x-www-form-urlencoded';
  if (!isForm && type !== '' && type !== 'text/plain' && type !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(type)) {
    throw new AppError('malformed_request', `Unsupported Content-Type ${type.slice(0, 100)}: send application/json or application/x-www-form-urlencoded`);
  }
  if (raw.trim() === '') {
    if (options.emptyIsError) throw new AppError('malformed_request', 'Empty request');
    return {};
  }
  if (isForm) return checked(parseForm(raw));
  return checked(parseJson(raw));
}

const GET_BODY_LIMIT = 64 * 1024;

/** Fastify leaves a GET's body unread; REMP's handlers read it whatever the method. */
async function readGetBody(req: FastifyRequest): Promise<void> {
  if (req.method !== 'GET' || typeof req.body === 'string') return;
  const length = Number(req.headers['content-length'] ?? 0);
  if (!(length > 0) && req.headers['transfer-encoding'] === undefined) return;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req.raw) {
    size += (chunk as Buffer).length;
    if (size > GET_BODY_LIMIT) throw new AppError('payload_too_large', 'request body is too large');
    chunks.push(chunk as Buffer);
  }
  req.body = Buffer.concat(chunks).toString('utf8');
}

/** Family endpoints answer GET too; a GET without a body may name the code in the query string. */
async function familyPayload(req: FastifyRequest): Promise<unknown> {
  await readGetBody(req);
  if (req.method === 'GET' && rawBody(req).trim() === '' && req.query && Object.keys(req.query).length) return req.query;
  return jsonPayload(req);
}

/**
 * A POST whose body has a declared length (within the limit: the server refuses more before any door
 * sees it), or a GET without a body: its body is read whole, at once, before the handler runs. Only
 * such a request leaves its user token to the use case; any other (chunked, a GET with a body) is
 * refused for a bad token before a byte of its body is read, as on every user endpoint.
 */
function bodyOfDeclaredLength(req: FastifyRequest): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return false;
  return req.method === 'POST' || !(Number(req.headers['content-length'] ?? 0) > 0);
}

const signedIn = (s: { user: Parameters<typeof toRempUser>[0]; token: string }) => ({ status: 'ok', user: toRempUser(s.user), access: { token: s.token } });

export async function crmApiRoutes(app: FastifyInstance, deps: CoreDeps): Promise<void> {
  app.setErrorHandler(async (err, req, reply) => {
    // A request refused before its use case saw the user token (an unreadable body, one over the
    // limit) is refused for a bad token first, as on every other user endpoint.
    if (req.crmUserTokenPending && req.crmCtx) {
      req.crmUserTokenPending = false;
      try {
        await authenticateUserToken(req.crmCtx, bearer(req));
      } catch (authError) {
        return sendCrmError(reply, toAppError(authError));
      }
    }
    const appError = toAppError(err);
    if (appError.code === 'internal') req.log.error({ err }, 'request failed');
    return sendCrmError(reply, appError);
  });

  // Bodies are read as text and parsed per endpoint, so every content type gets REMP's answers.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  app.addHook('onRequest', async (req) => {
    const kind = req.routeOptions.config.crmAuth ?? 'public';
    const system = ctxFor(deps, { kind: 'system' }, req.log, req);
    if (kind === 'user-in-use-case' && bodyOfDeclaredLength(req)) {
      req.crmCtx = system;
      req.crmUserTokenPending = true;
    } else if (kind === 'user' || kind === 'user-in-use-case') {
      const userId = await authenticateUserToken(system, bearer(req));
      req.crmCtx = ctxFor(deps, { kind: 'user', userId }, req.log, req);
    } else if (kind === 'api') {
      const token = await authorizeApiToken(system, bearer(req), req.routeOptions.url ?? req.url);
      req.crmCtx = { ...system, credential: `api-token:${token.id}` };
      req.crmApiToken = true;
    } else {
      req.crmCtx = ctxFor(deps, { kind: 'public', ip: req.ip }, req.log, req);
    }
  });
  registerIdempotency(app, { get: (req) => (req.crmApiToken ? req.crmCtx : undefined), set: (req, ctx) => (req.crmCtx = ctx) });

  // The schemas only document the door (OpenAPI); the use cases validate, with REMP's messages.
  const tags = ['REMP CRM'];
  const doc = (summary: string, security: 'crmUser' | 'crmApiToken' | undefined, more: Record<string, unknown>) => ({ schema: { tags, summary, ...(security ? { security: [{ [security]: [] }] } : {}), ...more } });
  const user = (summary: string, more: Record<string, unknown>, crmAuth: 'user' | 'user-in-use-case' = 'user') => ({ config: { crmAuth }, ...doc(summary, 'crmUser', more) });
  const api = (summary: string, more: Record<string, unknown>) => ({ config: { crmAuth: 'api' as const }, ...doc(summary, 'crmApiToken', more) });
  const bothBodies = ['application/json', 'application/x-www-form-urlencoded'];
  const signIn = { consumes: bothBodies, body: cs.signInBody, response: { 200: cs.signedInOut, 400: cs.errors.payload, 413: cs.errors.tooLarge, 429: cs.errors.rateLimited } };
  const created = { consumes: bothBodies, response: { 400: cs.errors.payload, 403: cs.errors.unauthorized, 404: cs.errors.notFound, 413: cs.errors.tooLarge, 503: cs.errors.unavailable } };
  const noBody = { 'x-no-request-body': true };

  app.post('/api/v1/users/login', doc('Sign an end user in with email and password (form or JSON): an access token', undefined, signIn), async (req) => signedIn(await loginEndUser(ctxOf(req), formOrJson(req), req.ip)));
  app.post('/api/v1/users/register', doc('Register an end user (email, password): an access token', undefined, { ...signIn, response: { 200: cs.signedInOut, 400: cs.errors.payload, 413: cs.errors.tooLarge } }), async (req) => signedIn(await registerEndUser(ctxOf(req), formOrJson(req))));
  app.post('/api/v1/users/logout', user('Sign out: the access token the request carries stops working', { ...noBody, response: { 200: cs.statusOk, 403: cs.errors.unauthorized } }), async (req) => {
    await logoutEndUser(ctxOf(req), bearer(req)!);
    return { status: 'ok' as const };
  });
  app.get('/api/v1/user/info', user('The signed-in end user', { response: { 200: cs.userInfoOut, 403: cs.errors.unauthorized } }), async (req) => ({ status: 'ok', user: toRempUser(await getEndUserInfo(ctxOf(req))) }));
  app.get('/api/v1/users/subscriptions', user("The signed-in end user's subscriptions", { response: { 200: cs.mySubscriptionsOut, 403: cs.errors.unauthorized } }), async (req) => ({
    status: 'ok',
    subscriptions: (await listMySubscriptions(ctxOf(req))).map((s) => ({ id: s.id, start_at: rempDate(s.start_time), end_at: rempDate(s.end_time), code: s.code, access: s.access, is_paid: s.is_paid, type: s.type })),
  }));

  app.post('/api/v1/subscriptions/create', api('Create a subscription for an end user (JSON or form); Idempotency-Key honoured', { ...created, body: cs.createSubscriptionBody, response: { 200: cs.createSubscriptionOut, ...created.response } }), async (req) => {
    const { subscription, type } = await createSubscription(ctxOf(req), jsonOrForm(req, { emptyIsError: false }));
    return {
      status: 'ok',
      message: 'Subscription created',
      subscriptions: { id: subscription.id, start_time: rempDate(subscription.start_time), end_time: rempDate(subscription.end_time), code: type.code, access: type.access, is_paid: subscription.is_paid, type: subscription.type },
    };
  });

  app.post('/api/v1/payments/create', api('Record a payment with its items and meta (JSON or form); a paid one creates its subscription (and family codes); Idempotency-Key honoured', { ...created, body: cs.createPaymentBody, response: { 200: cs.createPaymentOut, ...created.response } }), async (req) => {
    const { payment, items, subscription, type } = await createPayment(ctxOf(req), jsonOrForm(req, { emptyIsError: true }));
    return {
      status: 'ok',
      payment: { id: payment.id, status: payment.status, amount: payment.amount_cents / 100, meta: payment.meta, items: items.map((i) => ({ id: i.id, subscription_type_id: i.subscription_type_id, name: i.name, count: i.count, price: Number(i.price_cents) / 100, meta: i.meta })) },
      subscription: subscription ? { id: subscription.id, start_time: rempDate(subscription.start_time), end_time: rempDate(subscription.end_time), code: type.code, access: type.access } : null,
    };
  });

  const familyList = async (req: FastifyRequest) => ({ codes: (await listFamilyRequests(ctxOf(req))).map(toRempFamilyCode) });
  const familyActivate = async (req: FastifyRequest, reply: FastifyReply) => {
    const payload = await familyPayload(req);
    req.crmUserTokenPending = false;
    const { code, subscription, type } = await activateFamilyRequest(ctxOf(req), bearer(req), payload);
    return reply.code(201).send({ code, subscription: { start_at: rempDate(subscription.start_time), end_at: rempDate(subscription.end_time), code: type.code, access: type.access } });
  };
  const familyDeactivate = async (req: FastifyRequest) => cancelFamilyRequest(ctxOf(req), await familyPayload(req));
  const familyCode = (method: 'GET' | 'POST') => (method === 'POST' ? { body: cs.familyCodeBody } : { querystring: cs.familyCodeQuery });
  for (const method of ['GET', 'POST'] as const) {
    app.route({ method, url: '/api/v1/family/list', ...user('The family codes of the signed-in parent, with their state', { ...(method === 'POST' ? noBody : {}), response: { 200: cs.familyListOut, 403: cs.errors.unauthorized } }), handler: familyList });
    app.route({
      method,
      url: '/api/v1/family/activate',
      ...user('Activate a family code for the signed-in user: 201 with the child subscription', { ...familyCode(method), response: { 201: cs.familyActivateOut, 400: cs.errors.familyInvalid, 403: cs.errors.unauthorized, 404: cs.errors.familyNotFound, 409: cs.errors.familyStatus } }, 'user-in-use-case'),
      handler: familyActivate,
    });
    app.route({
      method,
      url: '/api/v1/family/deactivate',
      ...user('Cancel one of your family codes (an accepted one also ends its child subscription)', { ...familyCode(method), response: { 200: cs.familyDeactivateOut, 400: cs.errors.payload, 403: cs.errors.unauthorized, 404: cs.errors.familyNotFound } }),
      handler: familyDeactivate,
    });
  }
}
