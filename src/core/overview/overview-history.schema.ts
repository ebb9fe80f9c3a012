import { z } from 'zod';

/** How many days a chart covers: the console offers 30 and 90; up to a year is allowed. */
export const HISTORY_DAYS = { min: 7, max: 365, fallback: 30 } as const;

export const historyDay = z.object({
  day: z.string().describe('UTC date, YYYY-MM-DD'),
  clients: z.number().int().describe('live (active or suspended) clients at the end of the day'),
  clients_created: z.number().int(),
  clients_cancelled: z.number().int().describe('clients that stopped being live (cancelled, deleted, or moved to another reseller)'),
  clients_restored: z.number().int(),
  domains: z.number().int().describe('live domains at the end of the day'),
  domains_added: z.number().int(),
  domains_removed: z.number().int(),
  provisioned: z.number().int().describe('domains that became ready for the first time that day'),
  provisioning_p50_seconds: z.number().nullable().describe('median time from a domain being created to ready, of the domains provisioned that day'),
  provisioning_p99_seconds: z.number().nullable(),
  failed_jobs: z.number().int().describe('jobs that failed for good that day and are still failed'),
});

export const historyReseller = z.object({
  id: z.number().int(),
  name: z.string(),
  clients: z.number().int().describe('live clients now'),
  growth: z.number().int().describe('change in live clients over the window'),
});

/** A reseller's own history (GET /v1/stats). */
export const resellerHistory = z.object({
  days: z.number().int(),
  from: z.string(),
  to: z.string(),
  series: z.array(historyDay),
});

/** The operator's history (GET /admin/v1/overview/history): every tenant, plus sign-ups and top resellers. */
export const operatorHistory = resellerHistory.extend({
  pending_signups: z.array(z.object({ day: z.string(), pending: z.number().int() })).describe('reseller sign-ups awaiting approval at the end of each day'),
  top_resellers: z.array(historyReseller).describe('the resellers with the most live clients, with their growth over the window'),
});

export type HistoryDay = z.infer<typeof historyDay>;
export type ResellerHistory = z.infer<typeof resellerHistory>;
export type OperatorHistory = z.infer<typeof operatorHistory>;
