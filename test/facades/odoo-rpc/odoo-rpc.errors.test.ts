import { describe, expect, it } from 'vitest';
import { AppError, errorCodes } from '../../../src/errors/app-error.js';
import { jsonRpcErrorOf, odooFaultFor, toOdooFault, xmlRpcFaultOf } from '../../../src/facades/odoo-rpc/odoo-rpc.errors.js';

describe('the Odoo fault table', () => {
  it('maps every catalog code to an Odoo fault code and exception', () => {
    const table = Object.fromEntries(errorCodes.map((code) => [code, [odooFaultFor(new AppError(code, 'm')).faultCode, odooFaultFor(new AppError(code, 'm')).exception]]));
    expect(table).toEqual({
      malformed_request: [1, 'werkzeug.exceptions.BadRequest'],
      payload_too_large: [1, 'werkzeug.exceptions.RequestEntityTooLarge'],
      validation_failed: [2, 'odoo.exceptions.ValidationError'],
      unauthenticated: [3, 'odoo.exceptions.AccessDenied'],
      forbidden: [4, 'odoo.exceptions.AccessError'],
      not_found: [2, 'odoo.exceptions.UserError'],
      conflict: [2, 'odoo.exceptions.UserError'],
      invalid_state: [2, 'odoo.exceptions.UserError'],
      rate_limited: [2, 'odoo.exceptions.UserError'],
      unavailable: [1, 'psycopg2.OperationalError'],
      internal: [1, 'builtins.Exception'],
    });
  });

  it('says only "Access denied" for any authentication failure, and never an internal message', () => {
    expect(odooFaultFor(new AppError('unauthenticated', 'user 7 has password hash x')).message).toBe('Access denied');
    expect(odooFaultFor(new AppError('internal', 'pool exhausted at db.internal')).message).toBe('Internal server error');
    expect(toOdooFault(new Error('ECONNREFUSED password=hunter2'))).toMatchObject({ faultCode: 1, message: 'Internal server error' });
  });

  it('spells out per-field messages of a validation error', () => {
    const err = AppError.validation({ dbname: ['is taken', 'is too long'], base: ['Limit of databases for this plan is 3 reached'] });
    expect(odooFaultFor(err).message).toBe('dbname is taken; dbname is too long; Limit of databases for this plan is 3 reached');
    expect(odooFaultFor(AppError.validation({}, 'Template for db name is not configured')).message).toBe('Template for db name is not configured');
  });

  it('turns Fastify’s own refusals into fault 1', () => {
    expect(toOdooFault(Object.assign(new Error('too large'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 }), { bodyLimit: 1024 })).toMatchObject({
      faultCode: 1,
      exception: 'werkzeug.exceptions.RequestEntityTooLarge',
      message: 'request body is too large (the limit is 1024 bytes)',
    });
    expect(toOdooFault(Object.assign(new Error('text must not contain NUL (U+0000) characters'), { statusCode: 400 }))).toMatchObject({
      faultCode: 1,
      message: 'text must not contain NUL (U+0000) characters',
    });
  });

  it('writes legacy string fault codes as Odoo’s xmlrpc_handle_exception_string does', () => {
    const legacy = (code: ConstructorParameters<typeof AppError>[0], message: string) => xmlRpcFaultOf(odooFaultFor(new AppError(code, message)), true);
    expect(legacy('unauthenticated', 'x')).toEqual({ faultCode: 'AccessDenied', faultString: 'Access denied' });
    expect(legacy('forbidden', 'not yours')).toEqual({ faultCode: 'warning -- AccessError\n\nnot yours', faultString: '' });
    expect(legacy('not_found', "Object x doesn't exist")).toEqual({ faultCode: "warning -- UserError\n\nObject x doesn't exist", faultString: '' });
    expect(legacy('validation_failed', 'bad')).toEqual({ faultCode: 'warning -- UserError\n\nbad', faultString: '' });
    expect(legacy('malformed_request', 'malformed XML: x')).toEqual({ faultCode: 'malformed XML: x', faultString: '' });
    expect(legacy('internal', 'secret')).toEqual({ faultCode: 'Internal server error', faultString: '' });
    expect(xmlRpcFaultOf(odooFaultFor(new AppError('forbidden', 'not yours')), false)).toEqual({ faultCode: 4, faultString: 'not yours' });
  });

  it('shapes JSON-RPC errors as Odoo’s serialize_exception', () => {
    expect(jsonRpcErrorOf(odooFaultFor(new AppError('forbidden', '')))).toEqual({
      code: 200,
      message: 'Odoo Server Error',
      data: { name: 'odoo.exceptions.AccessError', debug: '', message: 'Permission denied', arguments: ['Permission denied'], exception_type: 'access_error', context: {} },
    });
  });
});
