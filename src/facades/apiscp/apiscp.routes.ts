import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ctxFor, type CoreDeps, type Ctx } from '../../core/context.js';
import { authenticateApiKey } from '../../core/credentials/credential.service.js';
import { AppError } from '../../errors/app-error.js';
import { toAppError } from '../../http/errors.js';
import { sendAdminError } from '../admin-rest/admin.errors.js';
import { adminError } from '../admin-rest/admin.schemas.js';
import { callCpcmd, cpcmdFunctions, soapName, type CpcmdFunction } from './cpcmd.functions.js';
import { soapRoutes } from './soap/soap.routes.js';

const callBody = z
  .object({
    args: z.array(z.unknown()).max(100).optional(),
    /** `-d SITE`: the site a site-level function acts on. */
    site: z.string().min(1).max(255).optional(),
    /** `-u USER`. */
    user: z.string().min(1).max(255).optional(),
  })
  .strict();

// Documentation only: the handler validates with callBody and the function's own signature.
const callDoc = callBody.meta({ examples: [{ args: [['siteinfo.domain', 'diskquota.quota'], { billing: { parent_invoice: 'master-invoice-123' } }] }, { args: [], site: 'test-domain-child1.com' }] });
const callResult = z
  .object({ result: z.unknown().describe("the function's return value, as ApisCP returns it") })
  .meta({ examples: [{ result: { site2: { siteinfo: { domain: 'test-domain-child1.com' }, diskquota: { quota: 5000 } } } }, { result: true }] });
const callError = adminError.meta({ examples: [{ error: { code: 'not_found', message: 'site not found: test-domain-child1.com' } }] });

/** An operator key, or a reseller's `TOKEN:KEY` (its calls then reach only its own clients). */
async function keyCtx(deps: CoreDeps, key: string | undefined, log: Ctx['log'], origin?: { id: string; ip: string }): Promise<Ctx> {
  if (!key) throw new AppError('unauthenticated', 'API key required: an operator key, or a reseller API token and key as TOKEN:KEY');
  const actor = await authenticateApiKey(ctxFor(deps, { kind: 'system' }, log), key);
  return ctxFor(deps, actor, log, origin);
}

/**
 * The ApisCP-style remote API: the same module functions as JSON over HTTP
 * (`POST /api/v1/cpcmd/{module}:{function}`, what the cpcmd CLI uses) and as SOAP (`/soap`).
 */
export async function apiscpRoutes(app: FastifyInstance, deps: CoreDeps): Promise<void> {
  await app.register(async (json) => {
    json.setErrorHandler((err, req, reply) => {
      const appError = toAppError(err);
      if (appError.code === 'internal') req.log.error({ err }, 'request failed');
      return sendAdminError(reply, appError);
    });
    json.post(
      '/api/v1/cpcmd/:fn',
      {
        schema: {
          tags: ['ApisCP remote API'],
          summary: 'Call an ApisCP module function (admin:collect, admin:edit-site, ...) with positional arguments',
          description: "Bearer credential: an operator key, or a reseller's API token and key as TOKEN:KEY (a reseller's calls see and change only its own clients).",
          security: [{ operatorBearer: [] }],
          body: callDoc,
          response: { 200: callResult, 400: callError, 401: callError, 403: callError, 404: callError, 409: callError, 422: callError, 503: callError },
        },
      },
      async (req) => {
        const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
        const ctx = await keyCtx(deps, m?.[1], req.log, req);
        const parsed = callBody.safeParse(req.body ?? {});
        if (!parsed.success) throw AppError.validation({ body: parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`) }, 'body must be {"args": [...], "site"?: "...", "user"?: "..."}');
        const fn = (req.params as { fn: string }).fn;
        const result = await callCpcmd(ctx, fn, parsed.data.args ?? [], { site: parsed.data.site, user: parsed.data.user });
        return { result };
      },
    );
  });

  await app.register(async (soap) => {
    const bySoapName = new Map<string, CpcmdFunction>(cpcmdFunctions().map((f) => [soapName(f), f]));
    await soapRoutes(soap, {
      operations: cpcmdFunctions().map((f) => ({ name: soapName(f), params: f.variadic ? [...f.params, 'arg3', 'arg4', 'arg5'] : f.params })),
      publicUrl: deps.settings.publicUrl,
      call: async ({ authkey, operation, args, abortOnError, request }) => {
        const ctx = await keyCtx(deps, authkey, request.log, request);
        const fn = bySoapName.get(operation)!;
        // SOAP sends null for omitted optional arguments; trailing nulls are "not given".
        const given = [...args];
        while (given.length && (given[given.length - 1] === null || given[given.length - 1] === undefined)) given.pop();
        return callCpcmd(ctx, fn.name, given, { abortOnError });
      },
    });
  });
}
