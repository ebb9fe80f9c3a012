import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../errors/app-error.js';
import { toAppError } from '../../http/errors.js';
import { refuseNul } from '../../http/nul.js';
import { decodeJsonRpcRequest, encodeJsonRpcError, encodeJsonRpcResult, type JsonRpcRequest } from './jsonrpc-codec.js';
import { jsonRpcErrorOf, OdooMissingMethod, toOdooFault, xmlRpcFaultOf } from './odoo-rpc.errors.js';
import { DEFAULT_MAX_DEPTH, decodeMethodCall, decodeXmlBytes, encodeFault, encodeMethodResponse } from './xmlrpc-codec.js';

export type OdooService = 'common' | 'object' | 'db';

/** One decoded call, handed to the dispatcher; the transport knows nothing of what it does. */
export interface OdooRpcCall {
  service: OdooService;
  /** As sent: `authenticate`, `login`, `execute_kw`, `execute`, `list`, ... (`version` never: answered here). */
  method: string;
  /** Positional arguments, e.g. `[db, uid, password, model, method, args, kwargs?]` for execute_kw. */
  args: unknown[];
  /** Odoo's historic `/xmlrpc/<service>` endpoints (string fault codes); false on `/xmlrpc/2/` and JSON-RPC. */
  legacy: boolean;
  transport: 'xmlrpc' | 'jsonrpc';
}

/** `common.version()` and `/web/webclient/version_info`, answered by the transport itself. */
export interface OdooVersion {
  server_version: string;
  server_version_info: unknown[];
  server_serie: string;
  protocol_version: number;
}

export interface OdooRpcRoutesOptions {
  /**
   * Runs one call and returns its result, or throws an AppError (mapped by odoo-rpc.errors.ts).
   * `request` is the Fastify request (its id, ip and log fit `ctxFor`).
   * JSON-RPC `/web/session/authenticate` arrives as service `common`, method `authenticate_session`,
   * args `[db, login, password]`; its result (Odoo's session info object) is sent back as it is.
   */
  call: (input: OdooRpcCall, request: FastifyRequest) => Promise<unknown>;
  version: OdooVersion;
  /** Largest request body accepted, in bytes (default 2 MiB); larger ones get fault 1. */
  bodyLimit?: number;
  /** How deep arrays and structs may nest in one argument (default 64). */
  maxDepth?: number;
}

export const DEFAULT_BODY_LIMIT = 2 * 1024 * 1024;

const SERVICES: ReadonlySet<string> = new Set<OdooService>(['common', 'object', 'db']);
const XML = 'text/xml; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';

function bodyText(req: FastifyRequest): string {
  return typeof req.body === 'string' ? req.body : '';
}

function malformed(message: string): AppError {
  return new AppError('malformed_request', message);
}

/**
 * Odoo's RPC doors: XML-RPC at `/xmlrpc/2/{common,object,db}` (int fault codes) and the legacy
 * `/xmlrpc/{common,object,db}` (string fault codes), JSON-RPC at `/jsonrpc`, `/web/session/authenticate`
 * and `/web/webclient/version_info`. Register it in its own scope: it replaces that scope's body
 * parsers (any content type is read as text, as Python's client sends text/xml and some clients send
 * none) and sets its error handler, so every failure — unreadable body, body over the limit, a
 * dispatcher error — is an XML-RPC fault (HTTP 200, text/xml) or a JSON-RPC error (HTTP 200), never a 500.
 */
export async function odooRpcRoutes(scope: FastifyInstance, opts: OdooRpcRoutesOptions): Promise<void> {
  const bodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
  /** JSON-RPC ids of the requests being served, for errors thrown after the body was read. */
  const ids = new WeakMap<FastifyRequest, unknown>();

  // Text in whatever encoding an XML declaration names (UTF-8 otherwise, which is all JSON may be).
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => {
    try {
      done(null, decodeXmlBytes(body as Buffer));
    } catch (err) {
      done(err as Error);
    }
  });

  // Faults stay HTTP 200, as Odoo sends them (Python's client would turn any other status into a
  // ProtocolError and drop the message); "retry later" also carries Retry-After for whoever reads headers.
  function faultOf(err: unknown, req: FastifyRequest, reply: FastifyReply) {
    const appError = err instanceof OdooMissingMethod ? undefined : toAppError(err);
    if (appError?.code === 'internal') req.log.error({ err }, 'Odoo RPC request failed');
    if (appError?.code === 'unavailable' && appError.details.retryAfterSeconds) reply.header('retry-after', String(appError.details.retryAfterSeconds));
    return toOdooFault(err, { bodyLimit });
  }

  const xmlRpcErrors = (legacy: boolean) => (err: unknown, req: FastifyRequest, reply: FastifyReply) =>
    reply.code(200).type(XML).send(encodeFault(xmlRpcFaultOf(faultOf(err, req, reply), legacy)));

  const jsonRpcErrors = (err: unknown, req: FastifyRequest, reply: FastifyReply) =>
    reply.code(200).type(JSON_TYPE).send(encodeJsonRpcError(ids.get(req) ?? null, jsonRpcErrorOf(faultOf(err, req, reply))));

  // Routes of this scope all have their own; this one catches anything else registered here.
  scope.setErrorHandler(jsonRpcErrors);

  function dispatch(input: OdooRpcCall, req: FastifyRequest): Promise<unknown> {
    if (input.service === 'common' && input.method === 'version') return Promise.resolve(opts.version);
    return opts.call(input, req);
  }

  function readJsonRpc(req: FastifyRequest): JsonRpcRequest {
    const request = decodeJsonRpcRequest(bodyText(req), maxDepth);
    ids.set(req, request.id);
    return request;
  }

  function sendJson(reply: FastifyReply, req: FastifyRequest, result: unknown): FastifyReply {
    return reply.code(200).type(JSON_TYPE).send(encodeJsonRpcResult(ids.get(req) ?? null, result));
  }

  for (const legacy of [false, true]) {
    const url = legacy ? '/xmlrpc/:service' : '/xmlrpc/2/:service';
    scope.post<{ Params: { service: string } }>(url, { schema: { hide: true }, bodyLimit, errorHandler: xmlRpcErrors(legacy) }, async (req, reply) => {
      const service = req.params.service;
      if (!SERVICES.has(service)) throw malformed(`unknown RPC service: ${JSON.stringify(service.slice(0, 40))}`);
      const { method, params } = decodeMethodCall(bodyText(req), { maxDepth });
      // Decoded here, after the shared check on request bodies: no decoded text may carry a NUL to the database.
      refuseNul(params);
      const result = await dispatch({ service: service as OdooService, method, args: params, legacy, transport: 'xmlrpc' }, req);
      return reply.code(200).type(XML).send(encodeMethodResponse(result));
    });
  }

  scope.post('/jsonrpc', { schema: { hide: true }, bodyLimit, errorHandler: jsonRpcErrors }, async (req, reply) => {
    const { params } = readJsonRpc(req);
    const { service, method } = params;
    const args = params.args ?? [];
    if (typeof service !== 'string' || !SERVICES.has(service)) throw malformed(`unknown RPC service: ${JSON.stringify(service ?? null)?.slice(0, 40)}`);
    if (typeof method !== 'string' || method === '' || method.length > 256) throw malformed('Invalid JSON-RPC data: params.method must be a method name');
    if (!Array.isArray(args)) throw malformed('Invalid JSON-RPC data: params.args must be an array');
    const result = await dispatch({ service: service as OdooService, method, args, legacy: false, transport: 'jsonrpc' }, req);
    return sendJson(reply, req, result);
  });

  scope.post('/web/session/authenticate', { schema: { hide: true }, bodyLimit, errorHandler: jsonRpcErrors }, async (req, reply) => {
    const { params } = readJsonRpc(req);
    for (const name of ['db', 'login', 'password']) {
      if (!Object.hasOwn(params, name)) throw malformed(`authenticate() missing required argument: '${name}'`);
    }
    const args = [params.db, params.login, params.password];
    const result = await opts.call({ service: 'common', method: 'authenticate_session', args, legacy: false, transport: 'jsonrpc' }, req);
    return sendJson(reply, req, result);
  });

  scope.post('/web/webclient/version_info', { schema: { hide: true }, bodyLimit, errorHandler: jsonRpcErrors }, async (req, reply) => {
    // Takes no parameters; an empty body is as good as `{"params": {}}`.
    if (bodyText(req).trim() !== '') readJsonRpc(req);
    return sendJson(reply, req, opts.version);
  });
}
