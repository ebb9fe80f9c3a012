import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Ctx } from '../../core/context.js';
import { getOperatorHistory, parseHistoryDays } from '../../core/overview/overview-history.js';
import { HISTORY_DAYS } from '../../core/overview/overview-history.schema.js';
import { queryValue } from '../../http/query.js';
import { adminError, operatorHistoryDoc } from './admin.schemas.js';

// The dashboard's charts: per-day series read from the rollups of migration 0018 (ADR 14).

const security: Record<string, string[]>[] = [{ operatorBearer: [] }, { operatorSession: [] }];
const tags = ['Operator admin API'];

export const historyQuery = z.object({
  days: z.string().optional().describe(`the window in days, ${HISTORY_DAYS.min} to ${HISTORY_DAYS.max} ending today (UTC); default ${HISTORY_DAYS.fallback}`),
});

export async function overviewAdminRoutes(app: FastifyInstance, ctxOf: (req: FastifyRequest) => Ctx): Promise<void> {
  app.get(
    '/admin/v1/overview/history',
    {
      schema: {
        tags,
        security,
        summary: "The dashboard's charts: clients and domains over time, provisioning time (p50/p99), failed jobs and pending sign-ups per day, and the top resellers' growth",
        querystring: historyQuery,
        response: { 200: operatorHistoryDoc, 401: adminError, 403: adminError, 422: adminError },
      },
    },
    async (req) => getOperatorHistory(ctxOf(req), { days: parseHistoryDays(queryValue(req.query, 'days')) }),
  );
}
