import type { AppError, ErrorCode, FieldErrors } from '../../errors/app-error.js';
import { toAppError } from '../../http/errors.js';
import { SoapFaultError, type SoapFault } from './soap/soap-codec.js';

type FaultCode = 'SOAP-ENV:Client' | 'SOAP-ENV:Server';
/**
 * ApisCP's message levels as they concern a SOAP caller: `error` is a function that ran and refused
 * (bad argument, unknown site, a refused transition), which answers `false` unless the caller sent
 * `Abort-On: error`; `fatal` is everything that kept the call from running or broke it, always a fault.
 */
type Level = 'error' | 'fatal';

/**
 * The one table from core error codes to ApisCP's SOAP faults. ApisCP raises the failures of a call
 * (bad arguments, unknown site, a refused transition) as Server faults carrying the message; Client is
 * kept for requests that never reached a function: unreadable, unauthenticated, refused, throttled.
 * `faultstring` null means "the error's own message".
 */
const faultOf: Record<ErrorCode, { faultcode: FaultCode; faultstring: string | null; level: Level }> = {
  malformed_request: { faultcode: 'SOAP-ENV:Client', faultstring: null, level: 'fatal' },
  payload_too_large: { faultcode: 'SOAP-ENV:Client', faultstring: 'Request body is too large', level: 'fatal' },
  validation_failed: { faultcode: 'SOAP-ENV:Server', faultstring: null, level: 'error' },
  unauthenticated: { faultcode: 'SOAP-ENV:Client', faultstring: 'Invalid API key', level: 'fatal' },
  forbidden: { faultcode: 'SOAP-ENV:Client', faultstring: null, level: 'fatal' },
  not_found: { faultcode: 'SOAP-ENV:Server', faultstring: null, level: 'error' },
  conflict: { faultcode: 'SOAP-ENV:Server', faultstring: null, level: 'error' },
  invalid_state: { faultcode: 'SOAP-ENV:Server', faultstring: null, level: 'error' },
  rate_limited: { faultcode: 'SOAP-ENV:Client', faultstring: null, level: 'fatal' },
  unavailable: { faultcode: 'SOAP-ENV:Server', faultstring: null, level: 'fatal' },
  // Never the error's message: it may describe internals.
  internal: { faultcode: 'SOAP-ENV:Server', faultstring: 'Internal error', level: 'fatal' },
};

// Messages can quote what the caller sent (names, values); a fault carries at most this much of them.
const MAX_FAULT_TEXT = 1000;
const MAX_DETAIL_FIELDS = 50;
const MAX_DETAIL_TEXT = 200;

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** The per-field messages as a fault's detail carries them: a bounded number, each cut short. */
function boundedFields(fields: FieldErrors): Record<string, string[]> {
  const out: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (const [field, messages] of Object.entries(fields).slice(0, MAX_DETAIL_FIELDS)) {
    out[clip(field, MAX_DETAIL_TEXT)] = messages.slice(0, 10).map((m) => clip(m, MAX_DETAIL_TEXT));
  }
  return out;
}

/** `{name: ["can't be blank"], base: ["x"]}` → `name can't be blank; x`. */
function fullMessages(fields: FieldErrors): string {
  return Object.entries(fields)
    .flatMap(([field, messages]) => messages.map((m) => (field === 'base' ? m : `${field} ${m}`)))
    .join('; ');
}

export function soapFaultFor(err: AppError): SoapFault {
  const row = faultOf[err.code];
  const fields = err.code === 'validation_failed' ? err.details.fields : undefined;
  let faultstring = row.faultstring ?? err.message;
  if (fields && Object.keys(fields).length > 0) faultstring = fullMessages(fields);
  if (err.code === 'forbidden' && !err.message) faultstring = 'Permission denied';
  const fault: SoapFault = { faultcode: row.faultcode, faultstring: clip(faultstring, MAX_FAULT_TEXT) };
  // detail reaches PHP as SoapFault->detail (an array here): the per-field messages, or when to retry.
  if (fields && Object.keys(fields).length > 0) fault.detail = { fields: boundedFields(fields) };
  if ((err.code === 'rate_limited' || err.code === 'unavailable') && err.details.retryAfterSeconds) fault.detail = { retry_after: err.details.retryAfterSeconds };
  return fault;
}

/**
 * Anything thrown while serving the SOAP door → a fault: the codec's own refusals as they are, the
 * catalog through the table above, Fastify's parse errors and unknown errors through `toAppError`.
 */
export function toSoapFault(err: unknown): SoapFault {
  if (err instanceof SoapFaultError) return err.fault;
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return { faultcode: 'SOAP-ENV:Client', faultstring: 'Content-Type must be text/xml' };
  if (code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return { faultcode: 'SOAP-ENV:Client', faultstring: 'empty request: expected a SOAP envelope' };
  return soapFaultFor(toAppError(err));
}

/**
 * Whether a call's failure is error-level: without `Abort-On: error` it answers `false` instead of a
 * fault. The codec's own refusals and anything outside the catalog never are.
 */
export function answersFalseWithoutAbortOn(err: unknown): boolean {
  if (err instanceof SoapFaultError) return false;
  return faultOf[toAppError(err).code].level === 'error';
}

/** The fault for an operation the WSDL does not list, worded as PHP's SoapServer words it. */
export function unknownOperationFault(operation: string): SoapFault {
  return { faultcode: 'SOAP-ENV:Client', faultstring: `Function '${operation}' doesn't exist` };
}
