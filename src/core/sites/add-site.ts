import { randomBytes } from 'node:crypto';
import { AppError, addFieldError, fieldErrors, type FieldErrors } from '../../errors/app-error.js';
import { hashPassword } from '../shared/passwords.js';
import { recordAudit } from '../audit/audit.service.js';
import { inTransaction, type Ctx } from '../context.js';
import { relayJobs } from '../domains/domain-provisioning.js';
import { uniqueViolation } from '../shared/db-errors.js';
import { DEFAULT_SITE_PLAN, PLACEHOLDER_EMAIL, specOf } from './site.params.js';
import { loadPlans } from './site.plans.js';
import { siteName, type AddedSite, type AddSiteInput } from './site.schema.js';
import * as repo from './site.repository.js';
import { parseOptions } from './site-options.js';
import { firstMessage, requireSiteManager } from './site-targets.js';

// Add

export async function addSite(ctx: Ctx, input: AddSiteInput): Promise<AddedSite> {
  const resellerId = requireSiteManager(ctx) ?? null;
  const fields: FieldErrors = fieldErrors();
  const params = parseOptions(input.opts, fields);
  if (input.domain !== undefined && input.domain !== null) params.unshift(...parseOptions({ 'siteinfo.domain': input.domain }, fields));
  if (input.admin_user !== undefined && input.admin_user !== null) params.unshift(...parseOptions({ 'siteinfo.admin_user': input.admin_user }, fields));
  if (input.plan !== undefined && input.plan !== null) params.unshift(...parseOptions({ 'siteinfo.plan': input.plan }, fields));
  const get = (name: string) => params.filter((p) => `${p.service}.${p.param}` === name).at(-1)?.value;
  const domain = get('siteinfo.domain') as string | undefined;
  const admin = get('siteinfo.admin_user') as string | undefined;
  if (!domain && !fields['siteinfo.domain']) addFieldError(fields, 'siteinfo.domain', 'siteinfo,domain: a value is required');
  if (!admin && !fields['siteinfo.admin_user']) addFieldError(fields, 'siteinfo.admin_user', 'siteinfo,admin_user: a value is required');
  const aliases = ((get('aliases.aliases') as string[] | undefined) ?? []).filter((a) => a !== domain);
  const planUid = (get('siteinfo.plan') as string | undefined) ?? DEFAULT_SITE_PLAN;
  const book = await loadPlans(ctx);
  const plan = book.byUid.get(planUid);
  if (!plan) addFieldError(fields, 'siteinfo.plan', `siteinfo,plan: no plan named ${planUid}`);
  if (Object.keys(fields).length) throw AppError.validation(fields, firstMessage(fields));

  const names = [domain!, ...aliases];
  const taken = await repo.findTakenDomains(ctx.db, names);
  if (taken.length) throw AppError.validation({ 'siteinfo.domain': taken.map((n) => `${n}: domain already belongs to a site`) }, `${taken[0]}: domain already belongs to a site`);

  const meta: Record<string, Record<string, unknown>> = {};
  for (const p of params) if (specOf(p.service, p.param)?.store === 'meta') (meta[p.service] ??= {})[p.param] = p.value;
  const password = randomBytes(12).toString('base64url');
  const row = {
    reseller_id: resellerId,
    plan_id: plan!.id,
    email_address: (get('siteinfo.email') as string | undefined) ?? PLACEHOLDER_EMAIL,
    invoice: (get('billing.invoice') as string | null | undefined) ?? null,
    parent_invoice: (get('billing.parent_invoice') as string | null | undefined) ?? null,
    user_count: (get('users.max') as number | undefined) ?? 1,
    service_meta: meta,
  };
  const jobs = relayJobs(
    names.map((d) => ({ change: 'provision' as const, domain: d })),
    { clientId: null, resellerId },
  ).map((j) => ({ kind: j.kind, lane: j.lane!, payload: j.payload!, max_attempts: j.maxAttempts! }));
  const passwordHash = await hashPassword(password);
  try {
    return await inTransaction(ctx, async (tx) => {
      const id = await repo.insertSite(tx.db, row, names, { login: admin!, passwordHash }, jobs, tx.clock());
      await recordAudit(tx, {
        action: 'client.created',
        targetType: 'client',
        targetId: id,
        resellerId,
        after: { site: siteName(id), domain, aliases, admin_user: admin, email: row.email_address, plan: planUid, invoice: row.invoice, parent_invoice: row.parent_invoice, service_meta: meta },
      });
      return { id, site: siteName(id), domain: domain!, admin_user: admin!, password };
    });
  } catch (e) {
    if (uniqueViolation(e) === 'domains_live_name_key') throw AppError.validation({ 'siteinfo.domain': ['domain already belongs to a site'] }, 'domain already belongs to a site');
    throw e;
  }
}
