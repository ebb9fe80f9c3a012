import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Ctx } from '../../core/context.js';
import { getSiteUsageSeries } from '../../core/nodes/record-usage.js';
import { adminError, idParams } from './admin.schemas.js';

// A site's usage per day as its node reported it (the console's usage chart).

const security: Record<string, string[]>[] = [{ operatorBearer: [] }, { operatorSession: [] }];
const tags = ['Operator admin API'];

const seriesOut = z
  .object({
    site: z.string(),
    days: z.array(z.object({ day: z.string().describe('UTC day, YYYY-MM-DD'), storage_bytes: z.number().int().describe('the last storage sample of the day'), transfer_bytes: z.number().int().describe('bytes sent that day') })),
  })
  .meta({ examples: [{ site: 'site12', days: [{ day: '2026-12-05', storage_bytes: 52428800, transfer_bytes: 1048576 }, { day: '2026-12-06', storage_bytes: 53477376, transfer_bytes: 2097152 }] }] });

export async function usageAdminRoutes(app: FastifyInstance, ctxOf: (req: FastifyRequest) => Ctx): Promise<void> {
  app.get(
    '/admin/v1/clients/:id/usage',
    {
      schema: {
        tags,
        security,
        summary: "A site's storage and transfer per day, as its hosting node reported them",
        params: idParams,
        querystring: z.object({ days: z.string().optional().describe('how many days back, 1-366 (default 30)') }),
        response: { 200: seriesOut, 401: adminError, 403: adminError, 404: adminError, 422: adminError },
      },
    },
    async (req) => getSiteUsageSeries(ctxOf(req), (req.params as { id: string }).id, (req.query as { days?: string }).days),
  );
}
