import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors/app-error.js';

export const PROTO_KEY_MESSAGE = 'JSON objects must not have a "__proto__" key, nor a "constructor" key holding "prototype"';

/**
 * Fastify's JSON parser, which refuses keys that could rewrite prototypes (`__proto__`,
 * `constructor.prototype`), with one change: that refusal says so. Fastify reports it as "not valid
 * JSON", which misleads a caller whose JSON is valid; JSON.parse tells the two cases apart.
 */
export function registerJsonParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    parse(req, body as string, (err: Error | null, value?: unknown) => {
      if (err && (err as { code?: string }).code === 'FST_ERR_CTP_INVALID_JSON_BODY' && parsesAsJson(body as string)) {
        done(Object.assign(new AppError('malformed_request', PROTO_KEY_MESSAGE), { statusCode: 400 }), undefined);
        return;
      }
      done(err, value);
    });
  });
}

function parsesAsJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
