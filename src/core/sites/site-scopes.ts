import { AppError, addFieldError, fieldErrors, type FieldErrors } from '../../errors/app-error.js';
import { recordAudit } from '../audit/audit.service.js';
import { inTransaction, type Ctx } from '../context.js';
import { OVER_QUOTA_POLICIES, OVER_QUOTA_POLICY_KEY, readOverQuotaPolicy, type OverQuotaPolicy } from '../nodes/record-usage.js';
import { syncSiteObjects } from '../nodes/site-objects.js';
import { parseTimeSpec } from './time-spec.js';
import * as repo from './site.repository.js';
import { cleanupSuspendedSites } from './site-lifecycle.js';
import { asBool, firstMessage, requireOperator } from './site-targets.js';

/** Scope names `scope:set` / `scope:get` know. */
export const SCOPES = ['opcenter.account-cleanup', 'cp.config'] as const;
export const CLEANUP_SCOPE_KEY = 'scope:opcenter.account-cleanup';
export const SUBORDINATE_SSO_KEY = 'scope:cp.config:auth.subordinate_site_sso';

/**
 * ApisCP's `[auth]` settings this panel honours, all true by default: subordinate_site_sso (a master
 * may enter its subordinates), suspended_login (a suspended site's admin may still sign in to the
 * panel and see why) and show_suspension_reason (that notice names the reason).
 */
export const AUTH_SCOPE_KEYS = {
  subordinate_site_sso: SUBORDINATE_SSO_KEY,
  suspended_login: 'scope:cp.config:auth.suspended_login',
  show_suspension_reason: 'scope:cp.config:auth.show_suspension_reason',
} as const;
export type AuthScope = keyof typeof AUTH_SCOPE_KEYS;
const AUTH_SCOPES = Object.keys(AUTH_SCOPE_KEYS) as AuthScope[];
const isAuthScope = (v: unknown): v is AuthScope => typeof v === 'string' && Object.hasOwn(AUTH_SCOPE_KEYS, v);
const CP_CONFIG_USAGE = `cp.config takes: auth ${AUTH_SCOPES.join('|')} true|false`;

/** The cp.config auth values as they stand (unset: true). Read by the sign-in rules, not only by operators. */
export async function readAuthScopes(ctx: Pick<Ctx, 'db'>): Promise<Record<AuthScope, boolean>> {
  const out = {} as Record<AuthScope, boolean>;
  for (const name of AUTH_SCOPES) out[name] = (await repo.readSetting(ctx.db, AUTH_SCOPE_KEYS[name])) !== 'false';
  return out;
}

// Scopes

/** `scope:set opcenter.account-cleanup '30 days'|false`, `scope:set cp.config auth subordinate_site_sso|suspended_login|show_suspension_reason false`. */
export async function setScope(ctx: Ctx, name: unknown, args: unknown[]): Promise<boolean> {
  requireOperator(ctx);
  const { key, value, shown } = scopeWrite(ctx, name, args);
  await inTransaction(ctx, async (tx) => {
    const before = await repo.readSetting(tx.db, key);
    await repo.writeSetting(tx.db, key, value);
    // The suspension pages nodes serve name the reason, or stop naming it.
    if (key === AUTH_SCOPE_KEYS.show_suspension_reason && before !== value) await syncSiteObjects(tx, await repo.findPlacedSuspendedSiteIds(tx.db));
    await recordAudit(tx, { action: 'scope.set', targetType: 'scope', targetId: shown, resellerId: null, before: { value: before ?? null }, after: { value } });
  });
  return true;
}

export function scopeWrite(ctx: Ctx, name: unknown, args: unknown[]): { key: string; value: string; shown: string } {
  if (name === 'opcenter.account-cleanup') {
    if (args.length !== 1) throw AppError.validation({ value: ['opcenter.account-cleanup takes one value: a time such as "30 days", or false'] });
    const v = args[0];
    if (v === false || v === 'false' || v === null || v === 0 || v === '0') return { key: CLEANUP_SCOPE_KEY, value: 'false', shown: 'opcenter.account-cleanup' };
    if (typeof v !== 'string' || !/^\s*\d+\s*[a-z]+\s*$/i.test(v) || !parseTimeSpec(v, ctx.clock())) throw AppError.validation({ value: [`opcenter.account-cleanup: ${JSON.stringify(v)} is not a time span such as "30 days"`] }, `opcenter.account-cleanup: ${JSON.stringify(v)} is not a time span such as "30 days"`);
    return { key: CLEANUP_SCOPE_KEY, value: v.trim(), shown: 'opcenter.account-cleanup' };
  }
  if (name === 'cp.config') {
    if (args.length !== 3 || args[0] !== 'auth' || !isAuthScope(args[1])) throw AppError.validation({ value: [CP_CONFIG_USAGE] }, CP_CONFIG_USAGE);
    const b = asBool(args[2]);
    if (b === undefined) throw AppError.validation({ value: [`cp.config auth ${args[1]}: must be true or false`] }, `cp.config auth ${args[1]}: must be true or false`);
    return { key: AUTH_SCOPE_KEYS[args[1]], value: String(b), shown: `cp.config auth ${args[1]}` };
  }
  throw AppError.validation({ scope: [`unknown scope ${JSON.stringify(name)}; known: ${SCOPES.join(', ')}`] }, `unknown scope ${JSON.stringify(name)}`);
}

export async function getScope(ctx: Ctx, name: unknown, args: unknown[]): Promise<unknown> {
  requireOperator(ctx);
  if (name === 'opcenter.account-cleanup') {
    const v = await repo.readSetting(ctx.db, CLEANUP_SCOPE_KEY);
    return v === undefined || v === 'false' ? false : v;
  }
  if (name === 'cp.config') {
    if (args.length > 2 || (args.length > 0 && !(args[0] === 'auth' && (args.length === 1 || isAuthScope(args[1]))))) throw AppError.validation({ value: [`cp.config knows: auth ${AUTH_SCOPES.join(', ')}`] });
    const auth = await readAuthScopes(ctx);
    if (args.length === 2) return auth[args[1] as AuthScope];
    if (args.length === 1) return auth;
    return { auth };
  }
  throw AppError.validation({ scope: [`unknown scope ${JSON.stringify(name)}; known: ${SCOPES.join(', ')}`] }, `unknown scope ${JSON.stringify(name)}`);
}

export const SITE_CLEANUP_JOB_KIND = 'sites.account_cleanup';

/** Runs the opcenter.account-cleanup scope hourly, through the job queue (one run at a time). */
export const siteCleanupHandler = {
  kind: SITE_CLEANUP_JOB_KIND,
  everyMs: 60 * 60 * 1000,
  handle: async (ctx: Ctx): Promise<void> => {
    const deleted = await cleanupSuspendedSites(ctx);
    if (deleted) ctx.log.info({ deleted }, 'account clean-up deleted long-suspended sites');
  },
};

// Settings: the scopes the operator console edits

export interface SiteSettings {
  /** How long a site stays suspended before the hourly clean-up deletes it ("30 days"), or false: never. */
  account_cleanup: string | false;
  /** Whether a master's session may switch into its subordinates (cp.config auth subordinate_site_sso). */
  subordinate_site_sso: boolean;
  /** Whether a suspended site's admin may still sign in and see the suspension (cp.config auth suspended_login). */
  suspended_login: boolean;
  /** Whether that notice names the suspension's reason (cp.config auth show_suspension_reason). */
  show_suspension_reason: boolean;
  /** What happens when a site goes over diskquota,quota or bandwidth,threshold: notify (the site.over_quota event) or suspend too. */
  over_quota_policy: OverQuotaPolicy;
}

export async function getSiteSettings(ctx: Ctx): Promise<SiteSettings> {
  requireOperator(ctx);
  return { account_cleanup: (await getScope(ctx, 'opcenter.account-cleanup', [])) as string | false, ...(await readAuthScopes(ctx)), over_quota_policy: await readOverQuotaPolicy(ctx) };
}

/** Changes any of the settings; every value is checked before anything is written, then one transaction. */
export async function updateSiteSettings(ctx: Ctx, input: { account_cleanup?: unknown; over_quota_policy?: unknown } & Partial<Record<AuthScope, unknown>>): Promise<SiteSettings> {
  requireOperator(ctx);
  const fields: FieldErrors = fieldErrors();
  const writes: { name: string; args: unknown[] }[] = [];
  const check = (field: string, name: string, args: unknown[]) => {
    try {
      scopeWrite(ctx, name, args);
      writes.push({ name, args });
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      addFieldError(fields, field, (e.details.fields as FieldErrors | undefined)?.value?.[0] ?? e.message);
    }
  };
  if (input.account_cleanup !== undefined) {
    if (input.account_cleanup !== false && typeof input.account_cleanup !== 'string') addFieldError(fields, 'account_cleanup', 'must be a time span such as "30 days", or false');
    else check('account_cleanup', 'opcenter.account-cleanup', [input.account_cleanup]);
  }
  for (const name of AUTH_SCOPES) {
    const v = input[name];
    if (v === undefined) continue;
    if (typeof v !== 'boolean') addFieldError(fields, name, 'must be true or false');
    else check(name, 'cp.config', ['auth', name, v]);
  }
  const policy = input.over_quota_policy;
  if (policy !== undefined && !(OVER_QUOTA_POLICIES as readonly unknown[]).includes(policy)) addFieldError(fields, 'over_quota_policy', `must be ${OVER_QUOTA_POLICIES.join(' or ')}`);
  if (!Object.keys(fields).length && writes.length === 0 && policy === undefined) addFieldError(fields, 'settings', `nothing to change: give account_cleanup, ${AUTH_SCOPES.join(', ')}, over_quota_policy`);
  if (Object.keys(fields).length) throw AppError.validation(fields, firstMessage(fields));
  return inTransaction(ctx, async (tx) => {
    for (const w of writes) await setScope(tx, w.name, w.args);
    if (policy !== undefined) {
      const before = await repo.readSetting(tx.db, OVER_QUOTA_POLICY_KEY);
      await repo.writeSetting(tx.db, OVER_QUOTA_POLICY_KEY, policy as string);
      await recordAudit(tx, { action: 'scope.set', targetType: 'scope', targetId: 'over_quota_policy', resellerId: null, before: { value: before ?? 'notify' }, after: { value: policy } });
    }
    return getSiteSettings(tx);
  });
}
