import { AppError, addFieldError, fieldErrors, type FieldErrors } from '../../errors/app-error.js';
import { recordAudit } from '../audit/audit.service.js';
import { inTransaction, type Ctx } from '../context.js';
import { enqueueRelayChanges, recordRelayChanges, type RelayChange } from '../domains/domain-provisioning.js';
import { syncSiteObjects } from '../nodes/site-objects.js';
import { hashPassword, importCryptHash } from '../shared/passwords.js';
import { SERVICES, specOf } from './site.params.js';
import { loadPlans, siteServices } from './site.plans.js';
import type { SitePatch, SiteRow } from './site.repository.js';
import { siteName, type EditedSite, type ParamChange, type SiteTarget } from './site.schema.js';
import * as repo from './site.repository.js';
import { parseOptions, type ParamValue } from './site-options.js';
import { sealSiteSecrets } from './site-secrets.js';
import { firstMessage, requireSiteManager, resolveTarget, siteOwner } from './site-targets.js';

// Edit

export interface EditSitesInput {
  /** The sites to edit; may be null with `all`. */
  target: SiteTarget | null;
  opts: unknown;
  /** Drop every override first: the sites go back to their plan's values, then `opts` apply. */
  reset?: boolean;
  dryRun?: boolean;
  /** Every live site instead of `target`. */
  all?: boolean;
  /** Apply each site's configuration again even when nothing changed: its domains are provisioned again. */
  reconfig?: boolean;
}

const SINGLE_SITE_PARAMS = new Set(['siteinfo.domain', 'aliases.aliases', 'siteinfo.admin_user']);

/** One site at a time: a domain, the admin login, a password or a sealed secret (sealed for that site). */
function singleSiteOnly(p: ParamValue): boolean {
  const spec = specOf(p.service, p.param);
  return SINGLE_SITE_PARAMS.has(`${p.service}.${p.param}`) || spec?.store === 'auth' || spec?.secret === true;
}

/** What a change to a parameter that is never shown reports (the value itself never appears). */
const HIDDEN_CHANGE = '(changed)';

/** Applies the same changes to every site the target names, in one transaction (all or nothing). */
export async function editSites(ctx: Ctx, input: EditSitesInput): Promise<EditedSite[]> {
  requireSiteManager(ctx);
  const fields: FieldErrors = fieldErrors();
  const params = parseOptions(input.opts, fields);
  if (!params.length && !input.reset && !input.reconfig && !Object.keys(fields).length) addFieldError(fields, 'opts', 'nothing to change: give at least one service,param=value');
  const given = (name: string) => params.some((p) => `${p.service}.${p.param}` === name);
  if (given('auth.tpasswd') && given('auth.cpasswd')) addFieldError(fields, 'auth.cpasswd', 'auth,cpasswd: give auth,tpasswd or auth,cpasswd, not both');
  if (!input.all && (input.target === null || input.target === undefined)) addFieldError(fields, 'site', 'a site, domain or invoice is required (or the all flag)');
  if (Object.keys(fields).length) throw AppError.validation(fields, firstMessage(fields));
  // Hashing is slow: done before the transaction holds its locks.
  const auth = params.filter((p) => p.service === 'auth').at(-1);
  const adminHash = auth === undefined ? undefined : auth.param === 'tpasswd' ? await hashPassword(auth.value as string) : (importCryptHash(auth.value as string) as { stored: string }).stored;
  return inTransaction(ctx, async (tx) => {
    // all: every live site the caller manages (a reseller's own clients only).
    const ids = input.all ? (await repo.findSites(tx.db, { resellerId: siteOwner(tx) })).map((s) => s.id) : await resolveTarget(tx, input.target!);
    const single = params.find(singleSiteOnly);
    if (single && ids.length > 1) {
      const message = `${single.service},${single.param} can only be changed on one site at a time; ${input.all ? 'all' : String(input.target)} names ${ids.length}`;
      throw AppError.validation({ [`${single.service}.${single.param}`]: [message] }, message);
    }
    const book = await loadPlans(tx);
    const sites = await repo.findSites(tx.db, { ids });
    const patch: SitePatch = {};
    let newDomains: string[] | undefined;
    let newAdmin: string | undefined;
    const secrets: ParamValue[] = [];
    const hiddenChanges: ParamChange[] = [];
    for (const p of params) {
      const key = `${p.service}.${p.param}`;
      const spec = specOf(p.service, p.param)!;
      if (spec.store === 'auth') {
        hiddenChanges.push({ param: `${p.service},${p.param}`, before: null, after: HIDDEN_CHANGE });
        continue;
      }
      if (spec.secret) {
        secrets.push(p);
        hiddenChanges.push({ param: `${p.service},${p.param}`, before: null, after: p.value === null ? null : HIDDEN_CHANGE });
        continue;
      }
      if (p.inherit) {
        ((patch.unset ??= {})[p.service] ??= []).push(p.param);
        delete patch.meta?.[p.service]?.[p.param];
        continue;
      }
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
          // null ("no limit") is written 0, as the SaaS portal's user count does.
          patch.user_count = (p.value as number | null) ?? 0;
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
      // Back to the plan: every value the site set itself goes, except what no plan sets (the record's
      // domain, admin, email, invoices and user count; sealed secrets such as database passwords).
      patch.unset = {};
      for (const [service, params] of Object.entries(SERVICES)) {
        const metaParams = Object.entries(params)
          .filter(([param, spec]) => spec.store === 'meta' && !spec.secret && !spec.sameAs && patch.meta?.[service]?.[param] === undefined)
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
      return { site: siteName(site.id), domain: afterRow.domains[0] ?? null, changes: [...changes, ...hiddenChanges] };
    });
    if (newDomains) {
      const taken = await repo.findTakenDomains(tx.db, newDomains, sites[0]!.id);
      if (taken.length) throw AppError.validation({ 'siteinfo.domain': taken.map((n) => `${n}: domain already belongs to a site`) }, `${taken[0]}: domain already belongs to a site`);
    }
    if (input.dryRun) return results;

    const now = tx.clock();
    if (secrets.length) patch.meta = { ...(patch.meta ?? {}), ...mergeSealed(patch.meta, await sealSiteSecrets(tx, ids[0]!, secrets)) };
    await repo.updateSites(tx.db, ids, patch, now);
    if (adminHash !== undefined) {
      const user = await repo.findSiteUser(tx.db, ids[0]!, null);
      if (!user) throw AppError.notFound(`administrator of ${siteName(ids[0]!)}`);
      await repo.setUserPassword(tx.db, user.id, adminHash);
    }
    if (newDomains) {
      const site = sites[0]!;
      const { added, removed } = await repo.replaceSiteDomains(tx.db, site.id, site.reseller_id, newDomains, now);
      const changes: { change: RelayChange; domain: string }[] = [...removed.map((d) => ({ change: 'deprovision' as const, domain: d })), ...added.map((d) => ({ change: 'provision' as const, domain: d }))];
      await enqueueRelayChanges(tx, changes, { clientId: site.id, resellerId: site.reseller_id });
    }
    if (newAdmin) await repo.renameAdminUser(tx.db, sites[0]!.id, newAdmin);
    if (input.reconfig) {
      // Re-applying a site's configuration here means provisioning its domains again (the relay
      // brings each in line with the database, so doing it twice is harmless).
      await recordRelayChanges(
        tx,
        sites.flatMap((site) => (site.id === sites[0]!.id && newDomains ? newDomains : site.domains).map((d) => ({ change: 'provision' as const, domain: d, clientId: site.id, resellerId: site.reseller_id }))),
      );
    }
    // An edit that turns the web role on places the site; domains, PHP and the plan reach its node.
    await syncSiteObjects(tx, ids, { place: true });
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

function mergeSealed(meta: SitePatch['meta'], sealed: Record<string, Record<string, unknown>> | undefined): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [service, params] of Object.entries(sealed ?? {})) out[service] = { ...(meta?.[service] ?? {}), ...params };
  return out;
}

export function mergeMeta(meta: Record<string, Record<string, unknown>>, patch: SitePatch): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [service, params] of Object.entries(meta ?? {})) out[service] = { ...params };
  for (const [service, params] of Object.entries(patch.unset ?? {})) for (const p of params) delete out[service]?.[p];
  for (const [service, params] of Object.entries(patch.meta ?? {})) out[service] = { ...(out[service] ?? {}), ...params };
  return out;
}
