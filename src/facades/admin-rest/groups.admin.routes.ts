import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Ctx } from '../../core/context.js';
import { changeAccountGroup, getAccountGroup, GROUP_ACTIONS, listAccountGroups } from '../../core/sites/site.service.js';
import { AppError } from '../../errors/app-error.js';
import { queryLimit, queryValue } from '../../http/query.js';
import { adminError } from './admin.schemas.js';

// Account groups (a master's billing invoice and the subordinates naming it as parent invoice), and
// the console's bulk suspend / activate / delete of one group with a dry run first.

const security: Record<string, string[]>[] = [{ operatorBearer: [] }, { operatorSession: [] }];
const errors = { 401: adminError, 403: adminError, 404: adminError, 409: adminError, 422: adminError };
const tags = ['Operator admin API'];

export const adminSiteSummary = z.object({
  site: z.string(),
  id: z.number().int(),
  domain: z.string().nullable(),
  active: z.boolean(),
  suspended_at: z.string().nullable(),
  suspend_reason: z.string().nullable(),
});

const groupListQuery = z.object({
  q: z.string().optional().describe('part of an invoice or of a master domain'),
  after: z.string().optional().describe('an invoice: the next_after of the previous page'),
  limit: z.string().optional().describe('1 to 200, default 50'),
});

const groupChangeBody = z
  .object({
    invoice: z.string(),
    dry_run: z.boolean().optional().describe('report exactly the sites the action would change, and change nothing'),
    reason: z.string().max(500).optional().describe('suspend only: the suspension reason'),
  })
  .meta({ examples: [{ invoice: 'master-invoice-123', dry_run: true }] });

const siteExamples = [{ site: 'site3', id: 3, domain: 'test-domain.com', active: true, suspended_at: null, suspend_reason: null }, { site: 'site4', id: 4, domain: 'test-domain-child1.com', active: true, suspended_at: null, suspend_reason: null }];
const groupChangeOut = z
  .object({ invoice: z.string(), action: z.enum(GROUP_ACTIONS), dry_run: z.boolean(), sites: z.array(adminSiteSummary) })
  .meta({ examples: [{ invoice: 'master-invoice-123', action: 'suspend', dry_run: true, sites: siteExamples }] });
const groupPageOut = z
  .object({ groups: z.array(z.object({ invoice: z.string(), master: adminSiteSummary.nullable(), masters: z.number().int(), subordinates: z.number().int() })), next_after: z.string().nullable() })
  .meta({ examples: [{ groups: [{ invoice: 'master-invoice-123', master: siteExamples[0], masters: 1, subordinates: 1 }], next_after: null }] });
const groupMembersOut = z
  .object({ invoice: z.string(), masters: z.array(adminSiteSummary), subordinates: z.array(adminSiteSummary) })
  .meta({ examples: [{ invoice: 'master-invoice-123', masters: [siteExamples[0]], subordinates: [siteExamples[1]] }] });


export async function groupAdminRoutes(app: FastifyInstance, ctxOf: (req: FastifyRequest) => Ctx): Promise<void> {
  app.get(
    '/admin/v1/account-groups',
    {
      schema: {
        tags,
        security,
        summary: 'Account groups in invoice order: each master with its count of subordinates; page with `after`',
        querystring: groupListQuery,
        response: { 200: groupPageOut, ...errors },
      },
    },
    async (req) => {
      const limit = queryLimit(queryValue(req.query, 'limit'), { max: 200, fallback: 50 });
      const after = queryValue(req.query, 'after');
      const search = queryValue(req.query, 'q');
      return listAccountGroups(ctxOf(req), { limit, ...(after !== undefined ? { after } : {}), ...(search !== undefined ? { search } : {}) });
    },
  );

  app.get(
    '/admin/v1/account-groups/members',
    {
      schema: {
        tags,
        security,
        summary: "One account group's live sites: its master(s) and subordinates",
        querystring: z.object({ invoice: z.string() }),
        response: { 200: groupMembersOut, ...errors },
      },
    },
    async (req) => getAccountGroup(ctxOf(req), queryValue(req.query, 'invoice')),
  );

  for (const action of GROUP_ACTIONS) {
    app.post(
      `/admin/v1/account-groups/${action}`,
      {
        schema: {
          tags,
          security,
          summary: `${action[0]!.toUpperCase()}${action.slice(1)} every site of an account group at once (all or nothing); with dry_run, the sites it would change`,
          body: groupChangeBody,
          response: { 200: groupChangeOut, ...errors },
        },
      },
      async (req) => {
        const body = (req.body ?? {}) as { invoice?: unknown; dry_run?: unknown; reason?: unknown };
        if (action !== 'suspend' && body.reason !== undefined) throw AppError.validation({ reason: ['only a suspension takes a reason'] });
        return changeAccountGroup(ctxOf(req), { invoice: body.invoice, action, dryRun: body.dry_run, reason: body.reason });
      },
    );
  }
}
