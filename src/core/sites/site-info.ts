import { AppError } from '../../errors/app-error.js';
import { hashPassword } from '../shared/passwords.js';
import { recordAudit } from '../audit/audit.service.js';
import { inTransaction, type Ctx } from '../context.js';
import { revokeUserSessions } from '../sso/sso.repository.js';
import { BASE_PLAN_DEFAULTS } from './site.params.js';
import { COLLECT_PAGE, loadPlans, planDefaults, siteServices, valueReader } from './site.plans.js';
import { siteName, type PlanView, type SiteTarget } from './site.schema.js';
import * as repo from './site.repository.js';
import { requireSiteManager, resolveOne } from './site-targets.js';

// Plans, state, passwords (usage: site-usage.ts)

export async function listSitePlans(ctx: Ctx): Promise<string[]> {
  requireSiteManager(ctx);
  return (await repo.listPlanRecords(ctx.db)).map((p) => p.uid);
}

export async function getSitePlan(ctx: Ctx, name: unknown): Promise<PlanView> {
  requireSiteManager(ctx);
  if (typeof name !== 'string' || name === '') throw AppError.validation({ plan: ['a plan name is required'] });
  const book = await loadPlans(ctx);
  const plan = book.byUid.get(name);
  if (!plan) throw AppError.notFound(`plan ${name}`);
  const parent = plan.parent_id !== null ? (book.byId.get(plan.parent_id)?.uid ?? null) : null;
  return { name: plan.uid, parent, services: planDefaults(book, plan.id) };
}

export { BASE_PLAN_DEFAULTS };

/** Whether a site is suspended; without a site (the server administrator itself) never, as in ApisCP. */
export async function isSiteInactive(ctx: Ctx, target?: SiteTarget | null): Promise<boolean> {
  requireSiteManager(ctx);
  if (target === undefined || target === null || target === '') return false;
  const site = await resolveOne(ctx, target);
  return site.status !== 'active';
}

/**
 * Who a call acts as: the administrator without a site, the site's admin with one, or the named
 * user of that site (`cpcmd -d SITE -u USER`), by its stored login.
 */
export async function whoami(ctx: Ctx, target?: SiteTarget | null, user?: unknown): Promise<string> {
  requireSiteManager(ctx);
  const named = user !== undefined && user !== null && user !== '';
  if (named && typeof user !== 'string') throw AppError.validation({ user: ['must be a user name'] });
  if (target === undefined || target === null) {
    // A user belongs to a site: without one, a name could mean any site's user.
    if (named) throw AppError.validation({ site: ['-u USER names a user of a site: pass -d SITE too'] }, '-u USER names a user of a site: pass -d SITE too');
    return 'admin';
  }
  const site = await resolveOne(ctx, target);
  if (!named) return site.admin_user ?? 'admin';
  const found = await repo.findSiteUser(ctx.db, site.id, user as string);
  if (!found) throw AppError.notFound(`user ${user as string} of ${siteName(site.id)}`);
  return found.login;
}

/** ApisCP's `[auth] min_pw_length` default; the upper bound keeps a hash from costing without end. */
export const MIN_PASSWORD_LENGTH = 7;
export const MAX_PASSWORD_LENGTH = 1024;

/**
 * Sets a site user's password (the site admin when no user is named) and ends that user's live
 * sessions, as ApisCP does: a billing system's password change must lock out whoever had the old one.
 */
export async function changeSitePassword(ctx: Ctx, input: { site: SiteTarget; password: unknown; user?: unknown }): Promise<boolean> {
  requireSiteManager(ctx);
  if (typeof input.password !== 'string' || input.password.length < MIN_PASSWORD_LENGTH || input.password.length > MAX_PASSWORD_LENGTH) {
    // ApisCP's own words for a refused password, which billing modules show as they get them.
    const why = `weak password disallowed: a password must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`;
    throw AppError.validation({ base: [why] }, why);
  }
  if (input.user !== undefined && input.user !== null && (typeof input.user !== 'string' || input.user.length > 254)) throw AppError.validation({ user: ['must be a user name'] }, 'user: must be a user name');
  const site = await resolveOne(ctx, input.site);
  const named = typeof input.user === 'string' && input.user !== '' ? input.user : null;
  const user = await repo.findSiteUser(ctx.db, site.id, named);
  if (!user) throw AppError.notFound(`user ${named ?? 'admin'} of ${siteName(site.id)}`);
  const hash = await hashPassword(input.password);
  await inTransaction(ctx, async (tx) => {
    await repo.setUserPassword(tx.db, user.id, hash);
    const ended = await revokeUserSessions(tx.db, user.id, tx.clock());
    await recordAudit(tx, { action: 'user.password_changed', targetType: 'user', targetId: user.id, resellerId: site.reseller_id, after: { site: siteName(site.id), login: user.login, sessions_ended: ended } });
  });
  return true;
}

/** Storage quotas in MB of many sites as they resolve, in pages (one statement per COLLECT_PAGE sites, not two per site); sites not live are left out. */
export async function getSiteDiskQuotas(ctx: Ctx, ids: number[]): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  if (ids.length === 0) return out;
  const book = await loadPlans(ctx);
  const read = valueReader(book, 'diskquota', 'quota');
  for (let afterId: number | undefined; ; ) {
    const rows = await repo.findCollectPage(ctx.db, { ids }, { afterId, limit: COLLECT_PAGE }, { adminUser: false, meta: true });
    for (const row of rows) {
      const quota = read({ ...row, plan_uid: null, admin_user: null, service_meta: row.service_meta ?? {} });
      out.set(row.id, typeof quota === 'number' ? quota : 0);
    }
    if (rows.length < COLLECT_PAGE) return out;
    afterId = rows[rows.length - 1]!.id;
  }
}

/** A site's storage quota in MB as it resolves (its own value, else its plan's); 0 when unknown. */
export async function getSiteDiskQuota(ctx: Ctx, id: number): Promise<number> {
  const [site] = await repo.findSites(ctx.db, { ids: [id] });
  if (!site) return 0;
  const quota = siteServices(site, await loadPlans(ctx)).diskquota?.quota;
  return typeof quota === 'number' ? quota : 0;
}
