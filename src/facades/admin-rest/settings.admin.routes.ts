import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Ctx } from '../../core/context.js';
import { getPlanInheritance, getSiteSettings, updateSiteSettings } from '../../core/sites/site.service.js';
import { adminError, uidParams } from './admin.schemas.js';

// The operator console's settings (the account clean-up and the cp.config auth scopes) and the
// packages editor's view of plan inheritance.

const security: Record<string, string[]>[] = [{ operatorBearer: [] }, { operatorSession: [] }];
const errors = { 401: adminError, 403: adminError, 404: adminError, 422: adminError };
const tags = ['Operator admin API'];

const settingsOut = z.object({
  account_cleanup: z.union([z.string(), z.literal(false)]).describe('how long a site stays suspended before the hourly clean-up deletes it ("30 days"), or false: never'),
  subordinate_site_sso: z.boolean().describe("whether a master's session may switch into its subordinate sites"),
  suspended_login: z.boolean().describe("whether a suspended site's admin may still sign in to the client area and see the suspension (cp.config auth suspended_login)"),
  show_suspension_reason: z.boolean().describe('whether that notice (and the suspension page hosting nodes serve) names the reason given at suspension (cp.config auth show_suspension_reason)'),
  over_quota_policy: z.enum(['notify', 'suspend']).describe('when a site goes over diskquota,quota or bandwidth,threshold: notify (the site.over_quota webhook event) or also suspend it'),
}).meta({ examples: [{ account_cleanup: '30 days', subordinate_site_sso: true, suspended_login: true, show_suspension_reason: false, over_quota_policy: 'notify' }] });

const inheritanceOut = z.object({
  plan: z.string(),
  chain: z.array(z.string()).describe('the plan and its ancestors, nearest first'),
  values: z.array(
    z.object({
      service: z.string(),
      param: z.string(),
      help: z.string(),
      value: z.unknown(),
      source: z.string().nullable().describe('the plan that sets the value, "base" for the built-in defaults, null when nothing does'),
      own: z.boolean().describe('set by this plan itself'),
      inherited: z.object({ value: z.unknown(), source: z.string().nullable() }).describe("what the value would be without this plan's own setting"),
    }),
  ),
}).meta({
  examples: [
    {
      plan: 'basic',
      chain: ['basic', 'spamstopshere-standard'],
      values: [
        { service: 'diskquota', param: 'quota', help: 'storage quota', value: 10000, source: 'basic', own: true, inherited: { value: 5000, source: 'spamstopshere-standard' } },
        { service: 'ssh', param: 'enabled', help: 'SSH access', value: false, source: 'base', own: false, inherited: { value: false, source: 'base' } },
      ],
    },
  ],
});

export async function settingsAdminRoutes(app: FastifyInstance, ctxOf: (req: FastifyRequest) => Ctx): Promise<void> {
  app.get('/admin/v1/settings', { schema: { tags, security, summary: 'Account clean-up, subordinate-site SSO and suspended sites\' panel login', response: { 200: settingsOut, ...errors } } }, async (req) => getSiteSettings(ctxOf(req)));
  app.patch(
    '/admin/v1/settings',
    {
      schema: {
        tags,
        security,
        summary: 'Change any of the settings (all checked before any is written)',
        body: z.object({
          account_cleanup: z.union([z.string(), z.literal(false)]).optional(),
          subordinate_site_sso: z.boolean().optional(),
          suspended_login: z.boolean().optional(),
          show_suspension_reason: z.boolean().optional(),
          over_quota_policy: z.enum(['notify', 'suspend']).optional(),
        }).meta({ examples: [{ account_cleanup: '30 days', suspended_login: false }] }),
        response: { 200: settingsOut, ...errors },
      },
    },
    async (req) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      return updateSiteSettings(ctxOf(req), {
        account_cleanup: body.account_cleanup,
        subordinate_site_sso: body.subordinate_site_sso,
        suspended_login: body.suspended_login,
        show_suspension_reason: body.show_suspension_reason,
        over_quota_policy: body.over_quota_policy,
      });
    },
  );
  app.get(
    '/admin/v1/packages/:uid/inheritance',
    { schema: { tags, security, summary: "Each site value the package resolves to, and which plan in its parent chain (or the base) sets it", params: uidParams, response: { 200: inheritanceOut, ...errors } } },
    async (req) => getPlanInheritance(ctxOf(req), (req.params as { uid: string }).uid),
  );
}
