import { AppError, addFieldError, fieldErrors, type FieldErrors } from '../../errors/app-error.js';
import { recordAudit } from '../audit/audit.service.js';
import { inTransaction, type Ctx } from '../context.js';
import { enqueueRelayChanges, type RelayChange } from '../domains/domain-provisioning.js';
import { SERVICES, specOf } from './site.params.js';
import { loadPlans, siteServices } from './site.plans.js';
import type { SitePatch, SiteRow } from './site.repository.js';
import { siteName, type EditedSite, type ParamChange, type SiteTarget } from './site.schema.js';
import * as repo from './site.repository.js';
import { parseOptions } from './site-options.js';
import { firstMessage, requireSiteManager, resolveTarget } from './site-targets.js';

// Edit

export interface EditSitesInput {
  target: SiteTarget;
  opts: unknown;
  /** Drop every override first: the sites go back to their plan's values, then `opts` apply. */
  reset?: boolean;
  dryRun?: boolean;
}

const SINGLE_SITE_PARAMS = new Set(['siteinfo.domain', 'aliases.aliases', 'siteinfo.admin_user']);

/** Applies the same changes to every site the target names, in one transaction (all or nothing). */
export async function editSites(ctx: Ctx, input: EditSitesInput): Promise<EditedSite[]> {
  requireSiteManager(ctx);
  const fields: FieldErrors = fieldErrors();
  const params = parseOptions(input.opts, fields);
  if (!params.length && !input.reset && !Object.keys(fields).length) addFieldError(fields, 'opts', 'nothing to change: give at least one service,param=value');
  if (Object.keys(fields).length) throw AppError.validation(fields, firstMessage(fields));
  return inTransaction(ctx, async (tx) => {
    const ids = await resolveTarget(tx, input.target);
    const single = params.find((p) => SINGLE_SITE_PARAMS.has(`${p.service}.${p.param}`));
    if (single && ids.length > 1) throw AppError.validation({ [`${single.service}.${single.param}`]: [`${single.service},${single.param} can only be changed on one site at a time; ${String(input.target)} names ${ids.length}`] });
    const book = await loadPlans(tx);
    const sites = await repo.findSites(tx.db, { ids });
    const patch: SitePatch = {};
    let newDomains: string[] | undefined;
    let newAdmin: string | undefined;
    for (const p of params) {
      const key = `${p.service}.${p.param}`;
      switch (key) {
        case 'siteinfo.email':
          patch.email_address = p.value as string;
          break;
        case 'billing.invoice':
          patch.invoice = p.value as string | null;
          break;
        case 'billing.parent_invoice':
          patch.parent_invoice = p.value as string | null;
          break;
        case 'users.max':
          patch.user_count = p.value as number;
          break;
        case 'siteinfo.plan': {
          const plan = book.byUid.get(p.value as string);
          if (!plan) throw AppError.validation({ 'siteinfo.plan': [`siteinfo,plan: no plan named ${String(p.value)}`] }, `siteinfo,plan: no plan named ${String(p.value)}`);
          patch.plan_id = plan.id;
          break;
        }
        case 'siteinfo.domain':
          newDomains = [p.value as string, ...(newDomains ?? sites[0]!.domains).slice(1).filter((d) => d !== p.value)];
          break;
        case 'aliases.aliases':
          newDomains = [(newDomains ?? sites[0]!.domains)[0]!, ...(p.value as string[]).filter((d) => d !== (newDomains ?? sites[0]!.domains)[0])];
          break;
        case 'siteinfo.admin_user':
          newAdmin = p.value as string;
          break;
        case 'siteinfo.enabled':
          break;
        default:
          ((patch.meta ??= {})[p.service] ??= {})[p.param] = p.value;
      }
    }
    if (input.reset) {
      patch.unset = {};
      for (const [service, params] of Object.entries(SERVICES)) {
        const metaParams = Object.entries(params)
          .filter(([param, spec]) => spec.store === 'meta' && patch.meta?.[service]?.[param] === undefined)
          .map(([param]) => param);
        if (metaParams.length) patch.unset[service] = metaParams;
      }
    }
    // What each site would look like afterwards, for the diff (and the dry run).
    const plannedPlanId = patch.plan_id;
    const results: EditedSite[] = sites.map((site) => {
      const before = siteServices(site, book);
      const afterRow: SiteRow = {
        ...site,
        ...(patch.email_address !== undefined ? { email_address: patch.email_address } : {}),
        ...(patch.invoice !== undefined ? { invoice: patch.invoice } : {}),
        ...(patch.parent_invoice !== undefined ? { parent_invoice: patch.parent_invoice } : {}),
        ...(patch.user_count !== undefined ? { user_count: patch.user_count } : {}),
        ...(plannedPlanId !== undefined ? { plan_id: plannedPlanId, plan_uid: book.byId.get(plannedPlanId)!.uid } : {}),
        ...(newDomains ? { domains: newDomains } : {}),
        ...(newAdmin ? { admin_user: newAdmin } : {}),
        service_meta: mergeMeta(site.service_meta, patch),
      };
      const after = siteServices(afterRow, book);
      const changes: ParamChange[] = [];
      for (const [service, params] of Object.entries(after)) {
        for (const [param, value] of Object.entries(params)) {
          if (specOf(service, param)?.sameAs) continue; // its twin reports the change
          if (JSON.stringify(before[service]?.[param]) !== JSON.stringify(value)) changes.push({ param: `${service},${param}`, before: before[service]?.[param] ?? null, after: value });
        }
      }
      return { site: siteName(site.id), domain: afterRow.domains[0] ?? null, changes };
    });
    if (newDomains) {
      const taken = await repo.findTakenDomains(tx.db, newDomains, sites[0]!.id);
      if (taken.length) throw AppError.validation({ 'siteinfo.domain': taken.map((n) => `${n}: domain already belongs to a site`) }, `${taken[0]}: domain already belongs to a site`);
    }
    if (input.dryRun) return results;

    const now = tx.clock();
    await repo.updateSites(tx.db, ids, patch, now);
    if (newDomains) {
      const site = sites[0]!;
      const { added, removed } = await repo.replaceSiteDomains(tx.db, site.id, site.reseller_id, newDomains, now);
      const changes: { change: RelayChange; domain: string }[] = [...removed.map((d) => ({ change: 'deprovision' as const, domain: d })), ...added.map((d) => ({ change: 'provision' as const, domain: d }))];
      await enqueueRelayChanges(tx, changes, { clientId: site.id, resellerId: site.reseller_id });
    }
    if (newAdmin) await repo.renameAdminUser(tx.db, sites[0]!.id, newAdmin);
    const changed = results.filter((r) => r.changes.length);
    await recordAudit(
      tx,
      changed.map((r) => {
        const site = sites.find((s) => siteName(s.id) === r.site)!;
        return {
          action: 'client.updated' as const,
          targetType: 'client' as const,
          targetId: site.id,
          resellerId: site.reseller_id,
          before: Object.fromEntries(r.changes.map((c) => [c.param, c.before])),
          after: Object.fromEntries(r.changes.map((c) => [c.param, c.after])),
        };
      }),
    );
    return results;
  });
}

export function mergeMeta(meta: Record<string, Record<string, unknown>>, patch: SitePatch): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [service, params] of Object.entries(meta ?? {})) out[service] = { ...params };
  for (const [service, params] of Object.entries(patch.unset ?? {})) for (const p of params) delete out[service]?.[p];
  for (const [service, params] of Object.entries(patch.meta ?? {})) out[service] = { ...(out[service] ?? {}), ...params };
  return out;
}
