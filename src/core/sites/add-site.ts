import { randomBytes } from 'node:crypto';
import { AppError, addFieldError, fieldErrors, type FieldErrors } from '../../errors/app-error.js';
import { hashPassword, importCryptHash } from '../shared/passwords.js';
import { recordAudit } from '../audit/audit.service.js';
import { inTransaction, type Ctx } from '../context.js';
import { relayJobs } from '../domains/domain-provisioning.js';
import { syncRelayObjects } from '../nodes/relay-objects.js';
import { syncSiteObjects } from '../nodes/site-objects.js';
import { uniqueViolation } from '../shared/db-errors.js';
import { DEFAULT_SITE_PLAN, PLACEHOLDER_EMAIL, specOf } from './site.params.js';
import { loadPlans } from './site.plans.js';
import { siteName, type AddedSite, type AddSiteInput } from './site.schema.js';
import * as repo from './site.repository.js';
import { parseOptions, type ParamValue } from './site-options.js';
import { sealSiteSecrets, shownMeta } from './site-secrets.js';
import { firstMessage, requireSiteManager } from './site-targets.js';

// Add

/**
 * The admin's password hash: from auth,cpasswd (another system's crypt hash, kept as it is) or
 * auth,tpasswd (plain, hashed here); else a random password, returned once.
 */
async function adminPassword(params: ParamValue[]): Promise<{ hash: string; password: string | null }> {
  const crypt = params.filter((p) => p.service === 'auth' && p.param === 'cpasswd').at(-1)?.value as string | undefined;
  const plain = params.filter((p) => p.service === 'auth' && p.param === 'tpasswd').at(-1)?.value as string | undefined;
  if (plain !== undefined) return { hash: await hashPassword(plain), password: null };
  if (crypt !== undefined) {
    const imported = importCryptHash(crypt);
    if (imported.ok) return { hash: imported.stored, password: null };
  }
  const password = randomBytes(12).toString('base64url');
  return { hash: await hashPassword(password), password };
}

export async function addSite(ctx: Ctx, input: AddSiteInput): Promise<AddedSite> {
  const resellerId = requireSiteManager(ctx) ?? null;
  const fields: FieldErrors = fieldErrors();
  const params = parseOptions(input.opts, fields);
  // The arguments are the defaults of the options' siteinfo,domain and siteinfo,admin_user: Clientexec
  // passes its raw username as the argument and the lower-cased one in the options.
  const inOpts = (name: string) => params.some((p) => `${p.service}.${p.param}` === name) || fields[name] !== undefined;
  if (input.domain !== undefined && input.domain !== null && !inOpts('siteinfo.domain')) params.unshift(...parseOptions({ 'siteinfo.domain': input.domain }, fields));
  if (input.admin_user !== undefined && input.admin_user !== null && !inOpts('siteinfo.admin_user')) params.unshift(...parseOptions({ 'siteinfo.admin_user': input.admin_user }, fields));
  // The flags' plan wins over siteinfo,plan in the options, as ApisCP's $flags['plan'] does.
  if (input.plan !== undefined && input.plan !== null) params.push(...parseOptions({ 'siteinfo.plan': input.plan }, fields, 'flags'));
  const get = (name: string) => params.filter((p) => `${p.service}.${p.param}` === name).at(-1)?.value;
  const domain = get('siteinfo.domain') as string | undefined;
  const admin = get('siteinfo.admin_user') as string | undefined;
  if (!domain && !fields['siteinfo.domain']) addFieldError(fields, 'siteinfo.domain', 'siteinfo,domain: a value is required');
  if (!admin && !fields['siteinfo.admin_user']) addFieldError(fields, 'siteinfo.admin_user', 'siteinfo,admin_user: a value is required');
  if (get('auth.tpasswd') !== undefined && get('auth.cpasswd') !== undefined) addFieldError(fields, 'auth.cpasswd', 'auth,cpasswd: give auth,tpasswd or auth,cpasswd, not both');
  const aliases = ((get('aliases.aliases') as string[] | undefined) ?? []).filter((a) => a !== domain);
  const planUid = (get('siteinfo.plan') as string | undefined) ?? DEFAULT_SITE_PLAN;
  const book = await loadPlans(ctx);
  const plan = book.byUid.get(planUid);
  if (!plan) addFieldError(fields, 'siteinfo.plan', `siteinfo,plan: no plan named ${planUid}`);
  if (Object.keys(fields).length) throw AppError.validation(fields, firstMessage(fields));

  const names = [domain!, ...aliases];
  const taken = await repo.findTakenDomains(ctx.db, names);
  if (taken.length) throw AppError.validation({ 'siteinfo.domain': taken.map((n) => `${n}: domain already belongs to a site`) }, `${taken[0]}: domain already belongs to a site`);

  // A site starts with its plan's values: "the plan's value" (inherit) sets nothing; secrets are sealed below, once the site has an id.
  const meta: Record<string, Record<string, unknown>> = {};
  const secrets: ParamValue[] = [];
  for (const p of params) {
    const spec = specOf(p.service, p.param);
    if (spec?.store !== 'meta') continue;
    if (spec.secret) secrets.push(p);
    else if (p.inherit) delete meta[p.service]?.[p.param];
    else (meta[p.service] ??= {})[p.param] = p.value;
  }
  const admin_ = await adminPassword(params);
  const userMax = get('users.max') as number | null | undefined;
  const row = {
    reseller_id: resellerId,
    plan_id: plan!.id,
    email_address: (get('siteinfo.email') as string | undefined) ?? PLACEHOLDER_EMAIL,
    invoice: (get('billing.invoice') as string | null | undefined) ?? null,
    parent_invoice: (get('billing.parent_invoice') as string | null | undefined) ?? null,
    // users,max null is "no limit", which the user count writes as 0 (as the SaaS portal does).
    user_count: userMax === undefined ? 1 : (userMax ?? 0),
    service_meta: meta,
  };
  const jobs = relayJobs(
    names.map((d) => ({ change: 'provision' as const, domain: d })),
    { clientId: null, resellerId },
  ).map((j) => ({ kind: j.kind, lane: j.lane!, payload: j.payload!, max_attempts: j.maxAttempts! }));
  try {
    return await inTransaction(ctx, async (tx) => {
      const now = tx.clock();
      const id = await repo.insertSite(tx.db, row, names, { login: admin!, passwordHash: admin_.hash }, jobs, now);
      const sealed = await sealSiteSecrets(tx, id, secrets);
      if (sealed) await repo.updateSites(tx.db, [id], { meta: sealed }, now);
      await syncSiteObjects(tx, [id], { place: true, book });
      await syncRelayObjects(tx, names);
      await recordAudit(tx, {
        action: 'client.created',
        targetType: 'client',
        targetId: id,
        resellerId,
        after: {
          site: siteName(id),
          domain,
          aliases,
          admin_user: admin,
          email: row.email_address,
          plan: planUid,
          invoice: row.invoice,
          parent_invoice: row.parent_invoice,
          service_meta: shownMeta(meta, secrets),
          ...(admin_.password === null ? { admin_password: get('auth.cpasswd') !== undefined ? 'auth,cpasswd' : 'auth,tpasswd' } : {}),
        },
      });
      return { id, site: siteName(id), domain: domain!, admin_user: admin!, password: admin_.password };
    });
  } catch (e) {
    if (uniqueViolation(e) === 'domains_live_name_key') throw AppError.validation({ 'siteinfo.domain': ['domain already belongs to a site'] }, 'domain already belongs to a site');
    throw e;
  }
}
