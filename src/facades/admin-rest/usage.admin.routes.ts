import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Ctx } from '../../core/context.js';
import { getSiteUsageSeries } from '../../core/nodes/site-usage-series.js';
import { siteUsageSeriesOut, usageDaysQuery } from '../../core/nodes/node.schema.js';
import { adminError, idParams } from './admin.schemas.js';

// A site's usage per day as its node reported it (the console's usage chart).

const security: Record<string, string[]>[] = [{ operatorBearer: [] }, { operatorSession: [] }];
const tags = ['Operator admin API'];

export async function usageAdminRoutes(app: FastifyInstance, ctxOf: (req: FastifyRequest) => Ctx): Promise<void> {
  app.get(
    '/admin/v1/clients/:id/usage',
    {
      schema: {
        tags,
        security,
        summary: "A site's storage and transfer per day, as its hosting node reported them, and the node serving it",
        params: idParams,
        querystring: usageDaysQuery,
        response: { 200: siteUsageSeriesOut, 401: adminError, 403: adminError, 404: adminError, 422: adminError },
      },
    },
    async (req) => getSiteUsageSeries(ctxOf(req), (req.params as { id: string }).id, (req.query as { days?: string }).days),
  );
}
