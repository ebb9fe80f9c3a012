import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Ctx } from '../../core/context.js';
import { createOperatorKey, listOperatorKeys, revokeOperatorKey, type OperatorKey } from '../../core/credentials/credential.service.js';
import { pathId } from '../../http/query.js';
import * as s from './admin.schemas.js';

const security: Record<string, string[]>[] = [{ operatorBearer: [] }, { operatorSession: [] }];
const tags = ['Operator admin API'];
const errors = { 401: s.adminError, 403: s.adminError, 404: s.adminError, 409: s.adminError, 422: s.adminError };

export const toOperatorKeyOut = (k: OperatorKey) => ({ id: k.id, name: k.name, created_at: k.created_at.toISOString(), revoked_at: k.revoked_at ? k.revoked_at.toISOString() : null });

/** Operator API keys: issue (shown once), list, revoke. */
export async function keyAdminRoutes(app: FastifyInstance, ctxOf: (req: FastifyRequest) => Ctx): Promise<void> {
  app.get(
    '/admin/v1/keys',
    { schema: { tags, security, summary: 'Every operator API key, revoked ones too (never the key itself)', response: { 200: s.operatorKeyListDoc, 401: s.adminError, 403: s.adminError } } },
    async (req) => (await listOperatorKeys(ctxOf(req))).map(toOperatorKeyOut),
  );
  app.post(
    '/admin/v1/keys',
    { schema: { tags, security, summary: 'Create an operator API key (shown once)', body: s.createOperatorKeyBody, response: { 201: s.createdOperatorKey, ...errors } } },
    async (req, reply) => {
      const body = req.body as { name?: unknown } | undefined;
      return reply.code(201).send(await createOperatorKey(ctxOf(req), typeof body?.name === 'string' ? body.name : ''));
    },
  );
  app.post(
    '/admin/v1/keys/:id/revoke',
    {
      schema: {
        tags,
        security,
        summary:
          'Revoke an operator API key: every request signed with it is refused (401) from now on. Revoking a revoked key answers it unchanged. ' +
          'The key signing this request cannot revoke itself (409 invalid_state): use another key or a console session.',
        params: s.idParams,
        'x-no-request-body': true,
        response: { 200: s.operatorKeyOut.meta({ examples: [s.revokedOperatorKeyExample] }), ...errors },
      },
    },
    async (req) => toOperatorKeyOut(await revokeOperatorKey(ctxOf(req), pathId(req.params, 'operator key'))),
  );
}
