import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { toAppError } from '../../../http/errors.js';
import { refuseNul } from '../../../http/nul.js';
import { answersFalseWithoutAbortOn, toSoapFault, unknownOperationFault } from '../apiscp.errors.js';
import { decodeSoapRequest, encodeSoapFault, encodeSoapResponse, SoapFaultError, type SoapFault } from './soap-codec.js';
import { buildWsdl, type SoapOperation } from './soap-wsdl.js';

/** One decoded call, handed to the dispatcher; the transport knows nothing of what it does. */
export interface SoapDispatch {
  /** `?authkey=` of the endpoint URL, as sent (undefined when absent). */
  authkey: string | undefined;
  /** `module_function`, always one of the operations listed in the WSDL. */
  operation: string;
  /** Positional arguments; null where the caller passed null or omitted an optional argument. */
  args: unknown[];
  /** `Abort-On: error`: fail on the first error-level message instead of only on fatal ones. */
  abortOnError: boolean;
  /** The HTTP request (its id and the caller's address), for the audit log and logs. */
  request: FastifyRequest;
}

export interface SoapRoutesOptions {
  operations: SoapOperation[];
  /** Base URL clients reach this server at; the WSDL's service address is `<publicUrl>/soap`. */
  publicUrl: string;
  call: (input: SoapDispatch) => Promise<unknown>;
  /** Decoded-size budget of one request; four times the server's body limit unless given. */
  maxDecodedBytes?: number;
}

const XML = 'text/xml; charset=utf-8';
const DECODED_BODIES = 4;

function sendFault(reply: FastifyReply, fault: SoapFault, retryAfterSeconds?: number): FastifyReply {
  // SOAP 1.1 over HTTP: every fault is a 500 (PHP reads the envelope whatever the status), except
  // "come back later", a 503 with Retry-After so that proxies and retrying clients see it too.
  if (retryAfterSeconds) return reply.code(503).header('retry-after', String(retryAfterSeconds)).type(XML).send(encodeSoapFault(fault));
  return reply.code(500).type(XML).send(encodeSoapFault(fault));
}

function firstString(value: unknown): string | undefined {
  if (Array.isArray(value)) return firstString(value[0]);
  return typeof value === 'string' ? value : undefined;
}

/** `Abort-On: error` (levels comma-separated, any case, the header possibly repeated) names the error level. */
export function abortOnError(header: string | string[] | undefined): boolean {
  const values = Array.isArray(header) ? header : header === undefined ? [] : [header];
  return values.some((v) => v.split(',').some((level) => level.trim().toLowerCase() === 'error'));
}

/**
 * The WSDL's URL however a billing module spells it: Clientexec joins its base URL and the file name
 * with a second slash (`https://host:port//apnscp.wsdl`), and ApisCP, serving the WSDL as a static file,
 * accepts any number. Given to the server as its `rewriteUrl`, it touches nothing but that one path.
 */
export function rewriteWsdlUrl(url: string): string {
  const m = /^\/{2,}(apnscp\.wsdl(?:[?#].*)?)$/s.exec(url);
  return m ? `/${m[1]}` : url;
}

/** PHP's SoapServer convention: a GET with `?wsdl` (any case, any value) asks for the WSDL. */
function asksForWsdl(query: unknown): boolean {
  return typeof query === 'object' && query !== null && Object.keys(query).some((k) => k.toLowerCase() === 'wsdl');
}

/**
 * ApisCP's SOAP door: `GET /apnscp.wsdl` and `GET /soap?wsdl` (no authentication, PHP fetches the WSDL
 * with a plain GET; HEAD too) and `POST /soap?authkey=KEY`. Register it in its own scope: it sets that
 * scope's XML body parser and error handler.
 */
export async function soapRoutes(scope: FastifyInstance, opts: SoapRoutesOptions): Promise<void> {
  const wsdl = buildWsdl(opts.operations, opts.publicUrl);
  const known = new Set(opts.operations.map((op) => op.name));
  // References let a body name one value many times; what it decodes to stays within a few bodies' worth.
  const maxDecodedBytes = opts.maxDecodedBytes ?? DECODED_BODIES * (scope.initialConfig.bodyLimit ?? 1024 * 1024);

  scope.addContentTypeParser(['text/xml', 'application/soap+xml'], { parseAs: 'string' }, (_req, body, done) => done(null, body));

  scope.setErrorHandler((err, req, reply) => {
    const appError = err instanceof SoapFaultError ? undefined : toAppError(err);
    if (appError?.code === 'internal') req.log.error({ err }, 'SOAP request failed');
    return sendFault(reply, toSoapFault(err), appError?.code === 'unavailable' ? appError.details.retryAfterSeconds : undefined);
  });

  scope.get('/apnscp.wsdl', { schema: { hide: true } }, async (_req, reply) => reply.type(XML).send(wsdl));
  scope.get('/soap', { schema: { hide: true } }, async (req, reply) => {
    if (asksForWsdl(req.query)) return reply.type(XML).send(wsdl);
    reply.header('allow', 'GET, HEAD, POST');
    return reply.code(405).type(XML).send(encodeSoapFault({ faultcode: 'SOAP-ENV:Client', faultstring: 'SOAP calls are POSTed to /soap; GET /soap?wsdl (or /apnscp.wsdl) returns the WSDL' }));
  });

  scope.post('/soap', { schema: { hide: true } }, async (req, reply) => {
    const soapAction = firstString(req.headers.soapaction);
    const { operation, args } = decodeSoapRequest(typeof req.body === 'string' ? req.body : '', { soapAction, maxDecodedBytes });
    if (!known.has(operation)) return sendFault(reply, unknownOperationFault(operation.slice(0, 200)));
    // XML cannot carry a NUL, but base64Binary decodes to text that can.
    refuseNul(args);
    const aborting = abortOnError(req.headers['abort-on']);
    let result: unknown;
    try {
      result = await opts.call({
        authkey: firstString((req.query as Record<string, unknown> | undefined)?.authkey),
        operation,
        args,
        abortOnError: aborting,
        request: req,
      });
    } catch (err) {
      // ApisCP: without `Abort-On: error` a function that ran and refused answers false; only fatal
      // failures (and everything that kept the call from running) are faults.
      if (aborting || !answersFalseWithoutAbortOn(err)) throw err;
      req.log.info({ operation, code: toAppError(err).code, message: toAppError(err).message }, 'SOAP call failed at error level; answered false (no Abort-On: error)');
      result = false;
    }
    return reply.type(XML).send(encodeSoapResponse(operation, result));
  });
}
