import { AppError, type ErrorCode, type FieldErrors } from '../../errors/app-error.js';
import { toAppError } from '../../http/errors.js';
import type { JsonRpcError } from './jsonrpc-codec.js';
import type { XmlRpcFaultValue } from './xmlrpc-codec.js';

/**
 * What Odoo would have raised for a failure, as its RPC layer reports it:
 * - XML-RPC `/xmlrpc/2/*`: `faultCode` 1 (application or client error), 2 (UserError, and its
 *   subclasses such as ValidationError; "Object X doesn't exist"), 3 (AccessDenied: bad login, uid or
 *   password), 4 (AccessError), as `xmlrpc_handle_exception_int` in Odoo's RPC controller assigns them.
 * - XML-RPC legacy `/xmlrpc/*`: string fault codes, as `xmlrpc_handle_exception_string` writes them.
 * - JSON-RPC: `error.code` 200 and "Odoo Server Error" for every application error (100 is only for
 *   an expired or invalid web session, which these endpoints never use), `error.data.name` the
 *   exception's Python class.
 */
export interface OdooFault {
  faultCode: 1 | 2 | 3 | 4;
  /** The Python class Odoo would have raised, as JSON-RPC names it. */
  exception: string;
  /** `error.data.exception_type` of Odoo's serialize_exception. */
  exceptionType: 'access_denied' | 'access_error' | 'user_error' | 'validation_error' | 'internal_error';
  message: string;
}

interface Row {
  faultCode: OdooFault['faultCode'];
  exception: string;
  exceptionType: OdooFault['exceptionType'];
  /** null: the error's own message. */
  message: string | null;
}

/** The one table from core error codes to Odoo faults. */
const faultOf: Record<ErrorCode, Row> = {
  // Odoo answers an unreadable request with an application fault carrying the parser's text.
  malformed_request: { faultCode: 1, exception: 'werkzeug.exceptions.BadRequest', exceptionType: 'internal_error', message: null },
  payload_too_large: { faultCode: 1, exception: 'werkzeug.exceptions.RequestEntityTooLarge', exceptionType: 'internal_error', message: null },
  validation_failed: { faultCode: 2, exception: 'odoo.exceptions.ValidationError', exceptionType: 'validation_error', message: null },
  // Odoo's AccessDenied always reads "Access denied": which of login, uid or password was wrong stays unsaid.
  unauthenticated: { faultCode: 3, exception: 'odoo.exceptions.AccessDenied', exceptionType: 'access_denied', message: 'Access denied' },
  forbidden: { faultCode: 4, exception: 'odoo.exceptions.AccessError', exceptionType: 'access_error', message: null },
  not_found: { faultCode: 2, exception: 'odoo.exceptions.UserError', exceptionType: 'user_error', message: null },
  conflict: { faultCode: 2, exception: 'odoo.exceptions.UserError', exceptionType: 'user_error', message: null },
  invalid_state: { faultCode: 2, exception: 'odoo.exceptions.UserError', exceptionType: 'user_error', message: null },
  rate_limited: { faultCode: 2, exception: 'odoo.exceptions.UserError', exceptionType: 'user_error', message: null },
  // What Odoo raises when its database connection fails; the message (ours, never the driver's) says to retry.
  unavailable: { faultCode: 1, exception: 'psycopg2.OperationalError', exceptionType: 'internal_error', message: null },
  // Never the error's message: it may describe internals. The real error is logged by the routes.
  internal: { faultCode: 1, exception: 'builtins.Exception', exceptionType: 'internal_error', message: 'Internal server error' },
};

/** `{name: ["can't be blank"], base: ["x"]}` → `name can't be blank; x`. */
function fullMessages(fields: FieldErrors): string {
  return Object.entries(fields)
    .flatMap(([field, messages]) => messages.map((m) => (field === 'base' ? m : `${field} ${m}`)))
    .join('; ');
}

/** What AppError.validation says when its caller gave no message of its own. */
const GENERIC_VALIDATION_MESSAGE = AppError.validation({}).message;

export function odooFaultFor(err: AppError): OdooFault {
  const row = faultOf[err.code];
  let message = row.message ?? err.message;
  // A use case that worded the whole error (Odoo's own messages, such as "Template for db name is not
  // configured") is quoted as it is; only the generic "validation failed" is spelled out field by field.
  const fields = err.code === 'validation_failed' && err.message === GENERIC_VALIDATION_MESSAGE ? err.details.fields : undefined;
  if (fields && Object.keys(fields).length > 0) message = fullMessages(fields);
  if (!message) message = err.code === 'forbidden' ? 'Permission denied' : 'Error';
  return { faultCode: row.faultCode, exception: row.exception, exceptionType: row.exceptionType, message };
}

/**
 * A method the model does not have. Odoo finds out by `getattr`, so the caller gets Python's
 * AttributeError: an application fault (1), not a UserError. A door-level failure, not a core one.
 */
export class OdooMissingMethod extends Error {
  constructor(model: string, method: string) {
    super(`The method '${method}' does not exist on the model '${model}'`);
    this.name = 'OdooMissingMethod';
  }
}

/**
 * Anything thrown while serving the Odoo door → a fault: the catalog through the table above,
 * Fastify's own errors (body over the limit, NUL in the body) and unknown errors through `toAppError`.
 */
export function toOdooFault(err: unknown, opts: { bodyLimit?: number } = {}): OdooFault {
  const code = (err as { code?: unknown } | null)?.code;
  if (err instanceof OdooMissingMethod) return { faultCode: 1, exception: 'builtins.AttributeError', exceptionType: 'internal_error', message: err.message };
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE' && opts.bodyLimit) {
    return odooFaultFor(new AppError('payload_too_large', `request body is too large (the limit is ${opts.bodyLimit} bytes)`));
  }
  return odooFaultFor(toAppError(err));
}

/** The XML-RPC fault: int codes on `/xmlrpc/2/*`, Odoo's historic string codes on legacy `/xmlrpc/*`. */
export function xmlRpcFaultOf(fault: OdooFault, legacy: boolean): XmlRpcFaultValue {
  if (!legacy) return { faultCode: fault.faultCode, faultString: fault.message };
  switch (fault.exceptionType) {
    case 'access_denied':
      return { faultCode: 'AccessDenied', faultString: fault.message };
    case 'access_error':
      return { faultCode: `warning -- AccessError\n\n${fault.message}`, faultString: '' };
    case 'user_error':
    case 'validation_error':
      return { faultCode: `warning -- UserError\n\n${fault.message}`, faultString: '' };
    default:
      // Odoo puts the exception's text in faultCode and the traceback in faultString; no traceback here.
      return { faultCode: fault.message, faultString: '' };
  }
}

export function jsonRpcErrorOf(fault: OdooFault): JsonRpcError {
  return {
    code: 200,
    message: 'Odoo Server Error',
    data: { name: fault.exception, debug: '', message: fault.message, arguments: [fault.message], exception_type: fault.exceptionType, context: {} },
  };
}
