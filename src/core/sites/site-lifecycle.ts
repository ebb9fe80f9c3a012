import { AppError, addFieldError, fieldErrors, type FieldErrors } from '../../errors/app-error.js';
import { auditRowWithoutTarget } from '../audit/audit.service.js';
import { inTransaction, type Ctx } from '../context.js';
import { recordRelayChanges } from '../domains/domain-provisioning.js';
import { syncSiteObjects } from '../nodes/site-objects.js';
import { parseTimeSpec } from './time-spec.js';
import type { SiteRow } from './site.repository.js';
import { siteName, type ChosenSites, type DeleteSitesInput, type SiteSummary, type SiteTarget } from './site.schema.js';
import * as repo from './site.repository.js';
import { CLEANUP_SCOPE_KEY } from './site-scopes.js';
import { firstMessage, inOrderOf, requireSiteManager, resolveTargets } from './site-targets.js';

// Suspend, activate, delete

export function summary(site: SiteRow): SiteSummary {
  return {
    site: siteName(site.id),
    id: site.id,
    domain: site.domains[0] ?? null,
    active: site.status === 'active',
    suspended_at: site.suspended_at ? site.suspended_at.toISOString() : null,
    suspend_reason: site.suspend_reason,
  };
}

/** The sites a group operation selected, and how many of them it changed. */
export interface GroupResult {
  sites: string[];
  changed: number;
}

/** What a suspension may name as its page template: a plain name, never a path. */
const TEMPLATE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Suspends every site the targets name in one statement; sites already suspended keep their date and
 * reason. Several targets are one command: all are resolved first, and one unknown changes nothing.
 * The reason (empty: none) is shown with the suspension and is what a later delete's `match` tests.
 * `template` is ApisCP's choice of suspension page; Hostplane serves no site pages, so it is checked
 * and kept in the audit record only.
 */
export async function suspendSites(ctx: Ctx, input: { target: SiteTarget | readonly SiteTarget[] | ChosenSites; reason?: unknown; template?: unknown }): Promise<GroupResult> {
  requireSiteManager(ctx);
  const fields: FieldErrors = fieldErrors();
  if (input.reason !== undefined && input.reason !== null && (typeof input.reason !== 'string' || input.reason.length > 500)) addFieldError(fields, 'reason', 'must be text of at most 500 characters');
  const given = input.template !== undefined && input.template !== null && input.template !== '';
  if (given && (typeof input.template !== 'string' || !TEMPLATE_NAME.test(input.template))) addFieldError(fields, 'template', 'must be a template name (letters, digits, ".", "_" or "-"; at most 64)');
  if (Object.keys(fields).length) throw AppError.validation(fields, firstMessage(fields));
  const reason = typeof input.reason === 'string' && input.reason !== '' ? input.reason : null;
  const template = given ? (input.template as string) : undefined;
  return inTransaction(ctx, async (tx) => {
    const ids = await resolveTargets(tx, input.target);
    const now = tx.clock();
    const after = { status: 'suspended', suspended_at: now, suspend_reason: reason, ...(template ? { template } : {}) };
    const changed = await repo.suspendSiteRows(tx.db, ids, reason, now, auditRowWithoutTarget(tx, { action: 'client.suspended', targetType: 'client', resellerId: null, before: { status: 'active', suspended_at: null, suspend_reason: null }, after }));
    if (changed) await syncSiteObjects(tx, ids);
    return { sites: ids.map(siteName), changed };
  });
}

/** Activates every site the targets name in one statement, all or nothing like `suspendSites`. */
export async function activateSites(ctx: Ctx, input: { target: SiteTarget | readonly SiteTarget[] | ChosenSites }): Promise<GroupResult> {
  requireSiteManager(ctx);
  return inTransaction(ctx, async (tx) => {
    const ids = await resolveTargets(tx, input.target);
    // One audit row shape for the whole set: the suspension's own date and reason differ per site, so
    // "before" names the status only; "after" shows both cleared.
    const changed = await repo.activateSiteRows(tx.db, ids, tx.clock(), auditRowWithoutTarget(tx, { action: 'client.activated', targetType: 'client', resellerId: null, before: { status: 'suspended' }, after: { status: 'active', suspended_at: null, suspend_reason: null } }));
    if (changed) await syncSiteObjects(tx, ids);
    return { sites: ids.map(siteName), changed };
  });
}

/**
 * Deletes the sites the targets name (or, with no target, every site `since` selects): only those
 * suspended at or before `since` when given, and whose suspension reason matches `match` when given.
 * Their domains are released and deprovisioned. Several targets are one deletion: every target is
 * resolved and the master rule checked over all the chosen sites before any is deleted. A dry run
 * reports the same list and changes nothing.
 */
export async function deleteSites(ctx: Ctx, input: DeleteSitesInput): Promise<SiteSummary[]> {
  const owner = requireSiteManager(ctx);
  const fields: FieldErrors = fieldErrors();
  const since = input.since === undefined || input.since === null || input.since === '' ? undefined : parseTimeSpec(input.since, ctx.clock());
  if (since === null) addFieldError(fields, 'since', `cannot read ${JSON.stringify(input.since)} as a time: use now, a relative time such as "30 days", a unix time or an ISO date`);
  let match: RegExp | undefined;
  if (input.match !== undefined && input.match !== null && input.match !== '') {
    try {
      if (typeof input.match !== 'string' || input.match.length > 200) throw new Error('too long');
      match = new RegExp(input.match);
    } catch {
      addFieldError(fields, 'match', 'must be a regular expression of at most 200 characters');
    }
  }
  const noTarget = input.target === null || input.target === undefined || input.target === '' || (Array.isArray(input.target) && input.target.length === 0);
  if (noTarget && since === undefined) addFieldError(fields, 'site', 'name a site, domain or invoice, or select suspended sites with since');
  if (Object.keys(fields).length) throw AppError.validation(fields, firstMessage(fields));
  return inTransaction(ctx, async (tx) => {
    const ids = noTarget ? await repo.findSuspendedBefore(tx.db, since!, 1_000_000, owner) : await resolveTargets(tx, input.target!);
    let sites = inOrderOf(ids, await repo.findSites(tx.db, { ids }));
    if (since) sites = sites.filter((s) => s.status === 'suspended' && s.suspended_at !== null && s.suspended_at <= since);
    if (match) sites = sites.filter((s) => s.suspend_reason !== null && match.test(s.suspend_reason));
    if (!input.force) {
      const masters = sites.filter((s) => s.invoice);
      const left = await repo.findGroupSitesOutside(
        tx.db,
        masters.map((m) => m.invoice!),
        sites.map((s) => s.id),
        owner,
      );
      for (const master of masters) {
        const stay = left.filter((l) => l.invoice === master.invoice || l.parent_invoice === master.invoice).map((l) => l.id);
        if (stay.length) throw new AppError('invalid_state', `${siteName(master.id)} (${master.domains[0] ?? '-'}) is the master of ${stay.length} site(s) that are not being deleted (${stay.map(siteName).join(', ')}); delete the whole invoice or use --force`);
      }
    }
    const out = sites.map(summary);
    if (input.dryRun || sites.length === 0) return out;
    await removeSites(tx, sites.map((s) => s.id));
    return out;
  });
}

export async function removeSites(tx: Ctx, ids: number[]): Promise<void> {
  const now = tx.clock();
  const { sites, domains } = await repo.deleteSiteRows(tx.db, ids, now);
  // Their nodes remove them (archiving the homes first).
  await syncSiteObjects(
    tx,
    sites.map((s) => s.id),
  );
  const resellerOf = new Map(sites.map((s) => [s.id, s.reseller_id]));
  await recordRelayChanges(
    tx,
    domains.map((d) => ({ change: 'deprovision' as const, domain: d.name, clientId: d.client_id, resellerId: resellerOf.get(d.client_id) ?? null })),
  );
  await repo.insertSiteAuditEvents(tx.db, auditRowWithoutTarget(tx, { action: 'client.deleted', targetType: 'client', resellerId: null, before: { status: 'live' }, after: { status: 'deleted' } }), sites);
}

/** The periodic clean-up: deletes sites suspended longer than the opcenter.account-cleanup scope allows. */
export async function cleanupSuspendedSites(ctx: Ctx): Promise<number> {
  const setting = await repo.readSetting(ctx.db, CLEANUP_SCOPE_KEY);
  if (!setting || setting === 'false') return 0;
  const now = ctx.clock();
  const age = parseTimeSpec(setting, now);
  if (!age) {
    ctx.log.warn({ scope: 'opcenter.account-cleanup', value: setting }, 'account clean-up scope cannot be read; nothing deleted');
    return 0;
  }
  return inTransaction(ctx, async (tx) => {
    const ids = await repo.findSuspendedBefore(tx.db, age, 10_000);
    // DeleteDomain's rule without --force: a master goes only together with its subordinates.
    const chosen = new Set(ids);
    const sites = await repo.findSites(tx.db, { ids });
    for (const master of sites.filter((s) => s.invoice)) {
      const left = (await repo.findSiteIdsByInvoice(tx.db, master.invoice!)).filter((id) => !chosen.has(id));
      if (left.length) {
        chosen.delete(master.id);
        tx.log.warn({ site: siteName(master.id), subordinates: left.map(siteName) }, 'account clean-up kept a suspended master whose subordinates stay');
      }
    }
    if (chosen.size) await removeSites(tx, [...chosen]);
    return chosen.size;
  });
}
