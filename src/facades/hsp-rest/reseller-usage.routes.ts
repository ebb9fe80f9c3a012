import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Ctx } from '../../core/context.js';
import { siteUsageSeriesOut, usageDaysQuery } from '../../core/nodes/node.schema.js';
import { getSiteUsageSeries } from '../../core/nodes/site-usage-series.js';
import { AppError } from '../../errors/app-error.js';
import { queryValue } from '../../http/query.js';
import { clientIdParams, hspErrors } from './hsp.schemas.js';

// The reseller console's view of where one of its clients is served and what it uses per day. Not
// part of the HSP API integrators know; it lives in the same door (same credentials, same error
// shape) like /v1/stats. The core scopes the client to the reseller: another's is not found.

const security: Record<string, string[]>[] = [{ resellerBasic: [] }, { resellerSession: [] }];

export function resellerUsageRoutes(app: FastifyInstance): void {
  app.get(
    '/v1/clients/:id/usage',
    {
      schema: {
        tags: ['HSP reseller API v1'],
        security,
        summary: "One of the reseller's clients: the hosting node serving its site (null: not placed) and its storage and transfer per day",
        params: clientIdParams,
        querystring: usageDaysQuery,
        response: { 200: siteUsageSeriesOut, 401: hspErrors, 404: hspErrors, 422: hspErrors },
      },
    },
    async (req: FastifyRequest) => {
      const ctx: Ctx | undefined = req.hspCtx;
      if (!ctx) throw new AppError('unauthenticated', 'authentication required');
      const id = (req.params as { id: string }).id;
      // As every /v1/clients/:id route: an id that is no number names no client.
      if (!/^[0-9]{1,15}$/.test(id)) throw AppError.notFound('client');
      return getSiteUsageSeries(ctx, id, queryValue(req.query, 'days'));
    },
  );
}
