import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Ctx } from '../../core/context.js';
import { getResellerHistory, parseHistoryDays } from '../../core/overview/overview-history.js';
import { HISTORY_DAYS } from '../../core/overview/overview-history.schema.js';
import { AppError } from '../../errors/app-error.js';
import { queryValue } from '../../http/query.js';
import { hspErrors, resellerHistoryDoc } from './hsp.schemas.js';

// The reseller console's charts: its own clients, domains, provisioning times and failed jobs per day.
// Registered inside the HSP door's scope, behind its authentication hook, so the ctx is the reseller's
// and the core scopes every query to it.

const security: Record<string, string[]>[] = [{ resellerBasic: [] }, { resellerSession: [] }];

export function resellerStatsRoutes(app: FastifyInstance): void {
  app.get(
    '/v1/stats',
    {
      schema: {
        tags: ['HSP reseller API v1'],
        security,
        summary: "The reseller's own clients and domains over time, provisioning time (p50/p99) and failed jobs per day",
        querystring: z.object({ days: z.string().optional().describe(`the window in days, ${HISTORY_DAYS.min} to ${HISTORY_DAYS.max} ending today (UTC); default ${HISTORY_DAYS.fallback}`) }),
        response: { 200: resellerHistoryDoc, 401: hspErrors, 422: hspErrors },
      },
    },
    async (req: FastifyRequest) => {
      const ctx: Ctx | undefined = req.hspCtx;
      if (!ctx) throw new AppError('unauthenticated', 'authentication required');
      return getResellerHistory(ctx, { days: parseHistoryDays(queryValue(req.query, 'days')) });
    },
  );
}
