import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { getClientForOperator, searchClients } from '../../core/clients/client.service.js';
import type { Ctx } from '../../core/context.js';
import { siteNodeViews } from '../../core/nodes/site-node-view.js';
import { isSaasInstance } from '../../core/saas/saas.service.js';
import { AppError } from '../../errors/app-error.js';
import { pathId, queryId as parseOptionalId, queryLimit } from '../../http/query.js';
import * as s from './admin.schemas.js';

// Clients of every reseller, each with the hosting node that serves its site: the operator console's
// Clients page and a client's page read these.

const security: Record<string, string[]>[] = [{ operatorBearer: [] }, { operatorSession: [] }];
const tags = ['Operator admin API'];
const errors = { 401: s.adminError, 404: s.adminError, 409: s.adminError, 422: s.adminError };
const STATUSES = ['active', 'suspended', 'cancelled', 'deleted'];

export async function clientAdminRoutes(app: FastifyInstance, ctxOf: (req: FastifyRequest) => Ctx): Promise<void> {
  app.get(
    '/admin/v1/clients',
    {
      schema: {
        tags,
        security,
        summary: 'Clients of every reseller in id order, filtered, each with the hosting node serving it (null: not placed); page with `after` (the next_after of the previous page)',
        querystring: s.clientListQuery,
        response: { 200: s.clientPageDoc, ...errors },
      },
    },
    async (req) => {
      const q = req.query as z.infer<typeof s.clientListQuery>;
      // A repeated parameter arrives as an array; only the search text would reach the core unchecked.
      if (q.q !== undefined && typeof q.q !== 'string') throw AppError.validation({ q: ['must be given once'] });
      if (q.status !== undefined && !STATUSES.includes(q.status)) throw AppError.validation({ status: ['must be active, suspended, cancelled or deleted'] });
      const limit = queryLimit(q.limit, { max: 1000, fallback: 100 });
      const resellerId = parseOptionalId(q.reseller_id, 'reseller_id');
      const afterId = parseOptionalId(q.after, 'after');
      for (const key of ['package_uid', 'invoice'] as const) {
        const v = q[key] as unknown;
        if (v !== undefined && (typeof v !== 'string' || v === '' || v.length > 128)) throw AppError.validation({ [key]: ['must be given once, as 1 to 128 characters'] });
      }
      const ctx = ctxOf(req);
      const clients = await searchClients(ctx, {
        limit,
        ...(afterId !== undefined ? { afterId } : {}),
        ...(resellerId !== undefined ? { resellerId } : {}),
        ...(q.status ? { status: q.status } : {}),
        ...(q.q ? { search: q.q.slice(0, 200) } : {}),
        ...(q.package_uid ? { packageUid: q.package_uid } : {}),
        ...(q.invoice ? { invoice: q.invoice } : {}),
      });
      // One statement for the whole page, however many of its clients are placed.
      const nodes = await siteNodeViews(ctx, clients.map((c) => c.id));
      return { clients: clients.map((c) => ({ ...c, node: nodes.get(c.id) ?? null })), next_after: clients.length === limit ? clients[clients.length - 1]!.id : null };
    },
  );
  app.get(
    '/admin/v1/clients/:id',
    { schema: { tags, security, summary: 'A client of any reseller, with the hosting node that serves it (null: not placed)', params: s.idParams, response: { 200: s.clientWithNodeDoc, ...errors } } },
    async (req) => {
      const ctx = ctxOf(req);
      const client = await getClientForOperator(ctx, pathId(req.params, 'client'));
      // The console asks for the instance card only of an instance, so no other client gets a 404 for it.
      return { ...client, node: (await siteNodeViews(ctx, [client.id])).get(client.id) ?? null, saas_instance: await isSaasInstance(ctx, client.id) };
    },
  );
}
