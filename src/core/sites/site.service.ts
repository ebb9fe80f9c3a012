import { randomBytes } from 'node:crypto';
import { AppError, addFieldError, fieldErrors, type FieldErrors } from '../../errors/app-error.js';
import { hashPassword } from '../shared/passwords.js';
import { recordAudit, auditRowWithoutTarget } from '../audit/audit.service.js';
import { inTransaction, type Ctx } from '../context.js';
import { relayJobs, enqueueRelayChanges, type RelayChange } from '../domains/domain-provisioning.js';
import { openSession } from '../sso/sso.service.js';
import { uniqueViolation } from '../shared/db-errors.js';
import { BASE_PLAN_DEFAULTS, canonicalParam, coerceParam, DEFAULT_SITE_PLAN, PLACEHOLDER_EMAIL, SERVICES, specOf, splitParamName } from './site.params.js';
import { parseTimeSpec } from './time-spec.js';
import { COLLECT_PAGE, loadPlans, planChain, planDefaults, siteServices, valueReader } from './site.plans.js';
import * as repo from './site.repository.js';
import type { PlanRecord, SitePatch, SiteRow } from './site.repository.js';
import { siteName, type AddedSite, type AddSiteInput, type DeleteSitesInput, type EditedSite, type ParamChange, type PlanView, type SiteOptions, type SiteSummary, type SiteTarget } from './site.schema.js';

/** Scope names `scope:set` / `scope:get` know. */
export const SCOPES = ['opcenter.account-cleanup', 'cp.config'] as const;
const CLEANUP_SCOPE_KEY = 'scope:opcenter.account-cleanup';
const SUBORDINATE_SSO_KEY = 'scope:cp.config:auth.subordinate_site_sso';
/** Hijacked sessions last as long as console sessions. */
const HIJACK_GATES = ['SOAP', 'UI', 'DAV', 'API', 'CLI'];

export function requireOperator(ctx: Ctx): void {
  if (ctx.actor.kind !== 'operator' && ctx.actor.kind !== 'system') throw new AppError('forbidden', 'only an administrator may manage sites');
}

// ---------------------------------------------------------------------------------------------
// Targets

/**
 * Sites a target names: `site146` or 146 (a site id), a domain (primary or alias), or an invoice
 * (the master with that billing,invoice and every site whose billing,parent_invoice is it).
 */
export async function resolveTarget(ctx: Ctx, target: SiteTarget): Promise<number[]> {
  // Doors hand over whatever they decoded; String() of an object with its own toString can throw.
  if (typeof target !== 'string' && typeof target !== 'number') throw AppError.validation({ site: ['must be a site, domain or invoice'] });
  const text = String(target).trim();
  if (text === '') throw AppError.validation({ site: ['a site, domain or invoice is required'] });
  const id = /^site(\d{1,15})$/i.exec(text)?.[1] ?? (/^\d{1,15}$/.test(text) ? text : undefined);
  if (id !== undefined) {
    const ids = await repo.findSiteIdsById(ctx.db, Number(id));
    if (ids.length) return ids;
  }
  if (text.includes('.')) {
    const ids = await repo.findSiteIdsByDomain(ctx.db, text.toLowerCase().replace(/\.$/, ''));
    if (ids.length) return ids;
  }
  const ids = await repo.findSiteIdsByInvoice(ctx.db, text);
  if (ids.length) return ids;
  throw AppError.notFound(`site, domain or invoice ${JSON.stringify(text)}`);
}

/** Most targets one group command may name. */
export const MAX_TARGETS = 1000;

interface ParsedTarget {
  text: string;
  id?: number;
  domain?: string;
}

function parseTarget(target: SiteTarget): ParsedTarget {
  const text = String(target).trim();
  const id = /^site(\d{1,15})$/i.exec(text)?.[1] ?? (/^\d{1,15}$/.test(text) ? text : undefined);
  return { text, ...(id !== undefined ? { id: Number(id) } : {}), ...(text.includes('.') ? { domain: text.toLowerCase().replace(/\.$/, '') } : {}) };
}

/**
 * What each target names, as resolveTarget reads it (a site id first, then a domain, then an
 * invoice), looked up with one statement for the whole list instead of up to three per target.
 * An empty list means the target names no site; an empty target is refused.
 */
export async function lookupTargets(ctx: Ctx, targets: readonly SiteTarget[]): Promise<{ text: string; ids: number[] }[]> {
  const parsed = targets.map(parseTarget);
  if (parsed.some((p) => p.text === '')) throw AppError.validation({ site: ['a site, domain or invoice is required'] });
  const rows = await repo.findTargetSites(ctx.db, {
    ids: [...new Set(parsed.flatMap((p) => (p.id !== undefined ? [p.id] : [])))],
    domains: [...new Set(parsed.flatMap((p) => (p.domain !== undefined ? [p.domain] : [])))],
    invoices: [...new Set(parsed.map((p) => p.text))],
  });
  const found = { id: new Map<string, number[]>(), domain: new Map<string, number[]>(), invoice: new Map<string, number[]>() };
  for (const r of rows) {
    const list = found[r.kind].get(r.key) ?? [];
    if (!list.includes(r.id)) list.push(r.id);
    found[r.kind].set(r.key, list);
  }
  return parsed.map((p) => {
    const byId = p.id !== undefined ? found.id.get(String(p.id)) : undefined;
    if (byId?.length) return { text: p.text, ids: byId };
    const byDomain = p.domain !== undefined ? found.domain.get(p.domain) : undefined;
    if (byDomain?.length) return { text: p.text, ids: byDomain };
    return { text: p.text, ids: found.invoice.get(p.text) ?? [] };
  });
}

/**
 * The sites several targets name together, each once, in the order the targets name them. Every
 * target must name a site: the first that names none refuses the whole command, before anything changes.
 */
export async function resolveTargets(ctx: Ctx, targets: SiteTarget | readonly SiteTarget[]): Promise<number[]> {
  const list: readonly SiteTarget[] = Array.isArray(targets) ? targets : [targets as SiteTarget];
  if (list.length === 0) throw AppError.validation({ site: ['a site, domain or invoice is required'] });
  if (list.length > MAX_TARGETS) throw AppError.validation({ site: [`at most ${MAX_TARGETS} sites, domains or invoices at once; got ${list.length}`] });
  const ids = new Set<number>();
  for (const t of await lookupTargets(ctx, list)) {
    if (!t.ids.length) throw AppError.notFound(`site, domain or invoice ${JSON.stringify(t.text)}`);
    for (const id of t.ids) ids.add(id);
  }
  return [...ids];
}

/** Sites in the order `ids` lists them (findSites returns them by id). */
function inOrderOf<T extends { id: number }>(ids: number[], rows: T[]): T[] {
  const rank = new Map(ids.map((id, i) => [id, i]));
  return [...rows].sort((a, b) => rank.get(a.id)! - rank.get(b.id)!);
}

async function resolveOne(ctx: Ctx, target: SiteTarget): Promise<SiteRow> {
  const ids = await resolveTarget(ctx, target);
  if (ids.length > 1) throw AppError.validation({ site: [`${String(target)} names ${ids.length} sites; name one site`] });
  return (await repo.findSites(ctx.db, { ids }))[0]!;
}

// ---------------------------------------------------------------------------------------------
// Options and values

interface ParamValue {
  service: string;
  param: string;
  value: unknown;
}

/** Flattens the three spellings of options into `service.param = value` triples, validated. */
export function parseOptions(raw: unknown, fields: FieldErrors, where = 'opts'): ParamValue[] {
  if (raw === undefined || raw === null) return [];
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    if (Array.isArray(raw) && raw.length === 0) return [];
    addFieldError(fields, where, 'must be a map of service.param: value');
    return [];
  }
  const out: ParamValue[] = [];
  for (const [key, value] of Object.entries(raw as SiteOptions)) {
    const split = splitParamName(key);
    if (split) {
      out.push({ service: split[0], param: split[1], value });
      continue;
    }
    const service = key.toLowerCase();
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(SERVICES, service)) {
      for (const [param, v] of Object.entries(value as Record<string, unknown>)) out.push({ service, param: param.toLowerCase(), value: v });
      continue;
    }
    addFieldError(fields, key, Object.hasOwn(SERVICES, service) ? `${service}: give parameters as ${service},param=value` : `${key}: unknown service`);
  }
  const checked: ParamValue[] = [];
  for (const p of out) {
    const r = coerceParam(p.service, p.param, p.value);
    const [service, param] = canonicalParam(p.service, p.param);
    if (r.ok) checked.push({ service, param, value: r.value });
    else addFieldError(fields, `${p.service}.${p.param}`, r.message);
  }
  return checked;
}

// ---------------------------------------------------------------------------------------------
// Add

export async function addSite(ctx: Ctx, input: AddSiteInput): Promise<AddedSite> {
  requireOperator(ctx);
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
    reseller_id: null,
    plan_id: plan!.id,
    email_address: (get('siteinfo.email') as string | undefined) ?? PLACEHOLDER_EMAIL,
    invoice: (get('billing.invoice') as string | null | undefined) ?? null,
    parent_invoice: (get('billing.parent_invoice') as string | null | undefined) ?? null,
    user_count: (get('users.max') as number | undefined) ?? 1,
    service_meta: meta,
  };
  const jobs = relayJobs(
    names.map((d) => ({ change: 'provision' as const, domain: d })),
    { clientId: null, resellerId: null },
  ).map((j) => ({ kind: j.kind, lane: j.lane!, payload: j.payload!, max_attempts: j.maxAttempts! }));
  const passwordHash = await hashPassword(password);
  try {
    return await inTransaction(ctx, async (tx) => {
      const id = await repo.insertSite(tx.db, row, names, { login: admin!, passwordHash }, jobs, tx.clock());
      await recordAudit(tx, {
        action: 'client.created',
        targetType: 'client',
        targetId: id,
        resellerId: null,
        after: { site: siteName(id), domain, aliases, admin_user: admin, email: row.email_address, plan: planUid, invoice: row.invoice, parent_invoice: row.parent_invoice, service_meta: meta },
      });
      return { id, site: siteName(id), domain: domain!, admin_user: admin!, password };
    });
  } catch (e) {
    if (uniqueViolation(e) === 'domains_live_name_key') throw AppError.validation({ 'siteinfo.domain': ['domain already belongs to a site'] }, 'domain already belongs to a site');
    throw e;
  }
}

export function firstMessage(fields: FieldErrors): string {
  return Object.values(fields)[0]?.[0] ?? 'validation failed';
}

// ---------------------------------------------------------------------------------------------
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
  requireOperator(ctx);
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

function mergeMeta(meta: Record<string, Record<string, unknown>>, patch: SitePatch): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [service, params] of Object.entries(meta ?? {})) out[service] = { ...params };
  for (const [service, params] of Object.entries(patch.unset ?? {})) for (const p of params) delete out[service]?.[p];
  for (const [service, params] of Object.entries(patch.meta ?? {})) out[service] = { ...(out[service] ?? {}), ...params };
  return out;
}

// ---------------------------------------------------------------------------------------------
// Suspend, activate, delete

function summary(site: SiteRow): SiteSummary {
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

/**
 * Suspends every site the targets name in one statement; sites already suspended keep their date and
 * reason. Several targets are one command: all are resolved first, and one unknown changes nothing.
 */
export async function suspendSites(ctx: Ctx, input: { target: SiteTarget | readonly SiteTarget[]; reason?: unknown }): Promise<GroupResult> {
  requireOperator(ctx);
  if (input.reason !== undefined && input.reason !== null && (typeof input.reason !== 'string' || input.reason.length > 500)) throw AppError.validation({ reason: ['must be text of at most 500 characters'] });
  const reason = typeof input.reason === 'string' && input.reason !== '' ? input.reason : null;
  return inTransaction(ctx, async (tx) => {
    const ids = await resolveTargets(tx, input.target);
    const now = tx.clock();
    const changed = await repo.suspendSiteRows(tx.db, ids, reason, now, auditRowWithoutTarget(tx, { action: 'client.suspended', targetType: 'client', resellerId: null, before: { status: 'active', suspended_at: null, suspend_reason: null }, after: { status: 'suspended', suspended_at: now, suspend_reason: reason } }));
    return { sites: ids.map(siteName), changed };
  });
}

/** Activates every site the targets name in one statement, all or nothing like `suspendSites`. */
export async function activateSites(ctx: Ctx, input: { target: SiteTarget | readonly SiteTarget[] }): Promise<GroupResult> {
  requireOperator(ctx);
  return inTransaction(ctx, async (tx) => {
    const ids = await resolveTargets(tx, input.target);
    // One audit row shape for the whole set: the suspension's own date and reason differ per site, so
    // "before" names the status only; "after" shows both cleared.
    const changed = await repo.activateSiteRows(tx.db, ids, tx.clock(), auditRowWithoutTarget(tx, { action: 'client.activated', targetType: 'client', resellerId: null, before: { status: 'suspended' }, after: { status: 'active', suspended_at: null, suspend_reason: null } }));
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
  requireOperator(ctx);
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
    const ids = noTarget ? await repo.findSuspendedBefore(tx.db, since!, 1_000_000) : await resolveTargets(tx, input.target!);
    let sites = inOrderOf(ids, await repo.findSites(tx.db, { ids }));
    if (since) sites = sites.filter((s) => s.status === 'suspended' && s.suspended_at !== null && s.suspended_at <= since);
    if (match) sites = sites.filter((s) => s.suspend_reason !== null && match.test(s.suspend_reason));
    if (!input.force) {
      const masters = sites.filter((s) => s.invoice);
      const left = await repo.findGroupSitesOutside(
        tx.db,
        masters.map((m) => m.invoice!),
        sites.map((s) => s.id),
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

async function removeSites(tx: Ctx, ids: number[]): Promise<void> {
  const now = tx.clock();
  const { sites, domains } = await repo.deleteSiteRows(tx.db, ids, now);
  const byClient = new Map<number, string[]>();
  for (const d of domains) byClient.set(d.client_id, [...(byClient.get(d.client_id) ?? []), d.name]);
  for (const site of sites) {
    await enqueueRelayChanges(
      tx,
      (byClient.get(site.id) ?? []).map((domain) => ({ change: 'deprovision' as const, domain })),
      { clientId: site.id, resellerId: site.reseller_id },
    );
  }
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

/** `true`/`false` as the ApisCP doors spell them (1, '1', 'true', ...); undefined for anything else. */
export function asBool(v: unknown): boolean | undefined {
  if (v === true || v === 1 || v === '1' || v === 'true') return true;
  if (v === false || v === 0 || v === '0' || v === 'false') return false;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Plans, usage, state

export async function listSitePlans(ctx: Ctx): Promise<string[]> {
  requireOperator(ctx);
  return (await repo.listPlanRecords(ctx.db)).map((p) => p.uid);
}

export async function getSitePlan(ctx: Ctx, name: unknown): Promise<PlanView> {
  requireOperator(ctx);
  if (typeof name !== 'string' || name === '') throw AppError.validation({ plan: ['a plan name is required'] });
  const book = await loadPlans(ctx);
  const plan = book.byUid.get(name);
  if (!plan) throw AppError.notFound(`plan ${name}`);
  const parent = plan.parent_id !== null ? (book.byId.get(plan.parent_id)?.uid ?? null) : null;
  return { name: plan.uid, parent, services: planDefaults(book, plan.id) };
}

export { BASE_PLAN_DEFAULTS };

/** What is known of each site's use: its quota, domains and users (storage in use is not measured here). */
export async function getSiteUsage(ctx: Ctx, input: { sites?: unknown }): Promise<Record<string, Record<string, unknown>>> {
  requireOperator(ctx);
  const book = await loadPlans(ctx);
  let ids: number[] | undefined;
  if (input.sites !== undefined && input.sites !== null) {
    const list = Array.isArray(input.sites) ? input.sites : [input.sites];
    ids = [];
    for (const t of list) ids.push(...(await resolveTarget(ctx, t as SiteTarget)));
  }
  const rows = await repo.findSites(ctx.db, ids ? { ids } : {}, ids ? undefined : 10_000);
  const users = await repo.countSiteUsers(
    ctx.db,
    rows.map((r) => r.id),
  );
  const out: Record<string, Record<string, unknown>> = {};
  for (const site of rows) {
    const services = siteServices(site, book);
    out[siteName(site.id)] = {
      storage: { quota: services.diskquota!.quota, used: null },
      domains: site.domains.length,
      users: users.get(site.id) ?? 0,
    };
  }
  return out;
}

export async function isSiteInactive(ctx: Ctx, target: SiteTarget): Promise<boolean> {
  requireOperator(ctx);
  const site = await resolveOne(ctx, target);
  return site.status !== 'active';
}

/**
 * Who a call acts as: the administrator without a site, the site's admin with one, or the named
 * user of that site (`cpcmd -d SITE -u USER`), by its stored login.
 */
export async function whoami(ctx: Ctx, target?: SiteTarget | null, user?: unknown): Promise<string> {
  requireOperator(ctx);
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

export async function changeSitePassword(ctx: Ctx, input: { site: SiteTarget; password: unknown; user?: unknown }): Promise<boolean> {
  requireOperator(ctx);
  if (typeof input.password !== 'string' || input.password.length < 8 || input.password.length > 1024) throw AppError.validation({ password: ['must be 8 to 1024 characters'] }, 'password must be 8 to 1024 characters');
  if (input.user !== undefined && input.user !== null && typeof input.user !== 'string') throw AppError.validation({ user: ['must be a user name'] });
  const site = await resolveOne(ctx, input.site);
  const user = await repo.findSiteUser(ctx.db, site.id, (input.user as string | undefined) ?? null);
  if (!user) throw AppError.notFound(`user ${String(input.user ?? 'admin')} of ${siteName(site.id)}`);
  const hash = await hashPassword(input.password);
  await inTransaction(ctx, async (tx) => {
    await repo.setUserPassword(tx.db, user.id, hash);
    await recordAudit(tx, { action: 'user.password_changed', targetType: 'user', targetId: user.id, resellerId: site.reseller_id, after: { site: siteName(site.id), login: user.login } });
  });
  return true;
}

// ---------------------------------------------------------------------------------------------
// SSO

export interface SiteSession {
  /** The session id (`esprit_id`): a bearer secret, shown once. */
  id: string;
  site: string;
  user: string;
  expires_at: string;
}

/** An administrator's session as a site's user (its admin when `user` is null), without that user's password. */
export async function hijackSite(ctx: Ctx, input: { site: SiteTarget; user?: unknown; gate?: unknown }): Promise<SiteSession> {
  requireOperator(ctx);
  if (input.user !== undefined && input.user !== null && typeof input.user !== 'string') throw AppError.validation({ user: ['must be a user name'] });
  if (input.gate !== undefined && input.gate !== null && (typeof input.gate !== 'string' || !HIJACK_GATES.includes(input.gate.toUpperCase()))) throw AppError.validation({ gate: [`must be one of ${HIJACK_GATES.join(', ')}`] });
  const site = await resolveOne(ctx, input.site);
  if (site.status !== 'active') throw new AppError('invalid_state', `${siteName(site.id)} is suspended; it cannot be entered`);
  const user = await repo.findSiteUser(ctx.db, site.id, (input.user as string | undefined) ?? null);
  if (!user || user.disabled_at) throw AppError.notFound(`user ${String(input.user ?? 'admin')} of ${siteName(site.id)}`);
  return inTransaction(ctx, async (tx) => {
    const s = await openSiteSession(tx, user.id, site.id, null);
    await recordAudit(tx, { action: 'client.hijacked', targetType: 'client', targetId: site.id, resellerId: site.reseller_id, after: { user: user.login, gate: typeof input.gate === 'string' ? input.gate.toUpperCase() : 'API', session_expires_at: s.expires_at } });
    return { ...s, site: siteName(site.id), user: user.login };
  });
}

/** A session on the site, in ApisCP's shape (the session id the panel takes as esprit_id). */
async function openSiteSession(tx: Ctx, userId: number, siteId: number, originId: number | null, viaResellerId: number | null = null): Promise<{ id: string; expires_at: string }> {
  const s = await openSession(tx, { userId, clientId: siteId, originClientId: originId, viaResellerId });
  return { id: s.token, expires_at: s.expiresAt.toISOString() };
}

/**
 * Site-to-site switching within an account group: a master may enter its subordinates, and a session
 * that came from the master may go back to it; nothing else (no switching up from a subordinate, no
 * lateral moves). Off when the cp.config auth subordinate_site_sso scope is false.
 */
export async function switchSite(ctx: Ctx, input: { session: { userId: number; clientId: number | null; originClientId: number | null; viaResellerId?: number | null }; target: SiteTarget }): Promise<SiteSession> {
  if ((await repo.readSetting(ctx.db, SUBORDINATE_SSO_KEY)) === 'false') throw new AppError('forbidden', 'switching between sites is turned off (cp.config auth subordinate_site_sso)');
  if (input.session.clientId === null) throw new AppError('forbidden', 'this session does not belong to a site');
  const [from] = await repo.findSites(ctx.db, { ids: [input.session.clientId] });
  if (!from) throw new AppError('forbidden', 'the current site is not active');
  const to = await resolveOne(ctx, input.target);
  const intoSubordinate = from.invoice !== null && to.parent_invoice === from.invoice && to.id !== from.id;
  const backToOrigin = input.session.originClientId !== null && input.session.originClientId === to.id;
  if (!intoSubordinate && !backToOrigin) throw new AppError('forbidden', `${siteName(from.id)} may not switch to ${siteName(to.id)}: only a master may enter its subordinates, and return`);
  if (to.status !== 'active') throw new AppError('invalid_state', `${siteName(to.id)} is suspended; it cannot be entered`);
  const user = await repo.findSiteUser(ctx.db, to.id, null);
  if (!user || user.disabled_at) throw new AppError('invalid_state', `${siteName(to.id)} has no administrator to switch to`);
  return inTransaction(ctx, async (tx) => {
    // A session that came through a reseller's login link hands that on: the reseller's suspension ends both.
    const s = await openSiteSession(tx, user.id, to.id, intoSubordinate ? from.id : null, input.session.viaResellerId ?? null);
    await recordAudit(tx, { action: 'client.switched', targetType: 'client', targetId: to.id, resellerId: to.reseller_id, actor: { kind: 'user', id: input.session.userId }, after: { from: siteName(from.id), user: user.login } });
    return { ...s, site: siteName(to.id), user: user.login };
  });
}

// ---------------------------------------------------------------------------------------------
// Scopes

/** `scope:set opcenter.account-cleanup '30 days'|false`, `scope:set cp.config auth subordinate_site_sso false`. */
export async function setScope(ctx: Ctx, name: unknown, args: unknown[]): Promise<boolean> {
  requireOperator(ctx);
  const { key, value, shown } = scopeWrite(ctx, name, args);
  await inTransaction(ctx, async (tx) => {
    const before = await repo.readSetting(tx.db, key);
    await repo.writeSetting(tx.db, key, value);
    await recordAudit(tx, { action: 'scope.set', targetType: 'scope', targetId: shown, resellerId: null, before: { value: before ?? null }, after: { value } });
  });
  return true;
}

function scopeWrite(ctx: Ctx, name: unknown, args: unknown[]): { key: string; value: string; shown: string } {
  if (name === 'opcenter.account-cleanup') {
    if (args.length !== 1) throw AppError.validation({ value: ['opcenter.account-cleanup takes one value: a time such as "30 days", or false'] });
    const v = args[0];
    if (v === false || v === 'false' || v === null || v === 0 || v === '0') return { key: CLEANUP_SCOPE_KEY, value: 'false', shown: 'opcenter.account-cleanup' };
    if (typeof v !== 'string' || !/^\s*\d+\s*[a-z]+\s*$/i.test(v) || !parseTimeSpec(v, ctx.clock())) throw AppError.validation({ value: [`opcenter.account-cleanup: ${JSON.stringify(v)} is not a time span such as "30 days"`] }, `opcenter.account-cleanup: ${JSON.stringify(v)} is not a time span such as "30 days"`);
    return { key: CLEANUP_SCOPE_KEY, value: v.trim(), shown: 'opcenter.account-cleanup' };
  }
  if (name === 'cp.config') {
    if (args.length !== 3 || args[0] !== 'auth' || args[1] !== 'subordinate_site_sso') throw AppError.validation({ value: ['cp.config takes: auth subordinate_site_sso true|false'] }, 'cp.config takes: auth subordinate_site_sso true|false');
    const b = asBool(args[2]);
    if (b === undefined) throw AppError.validation({ value: ['cp.config auth subordinate_site_sso: must be true or false'] }, 'cp.config auth subordinate_site_sso: must be true or false');
    return { key: SUBORDINATE_SSO_KEY, value: String(b), shown: 'cp.config auth subordinate_site_sso' };
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
    if (args.length > 0 && !(args[0] === 'auth' && (args.length === 1 || args[1] === 'subordinate_site_sso'))) throw AppError.validation({ value: ['cp.config knows: auth subordinate_site_sso'] });
    const enabled = (await repo.readSetting(ctx.db, SUBORDINATE_SSO_KEY)) !== 'false';
    if (args.length === 2) return enabled;
    if (args.length === 1) return { subordinate_site_sso: enabled };
    return { auth: { subordinate_site_sso: enabled } };
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

/** What the site dashboard shows a session: its site, and where it may switch to. */
export interface SiteDashboard {
  site: string;
  domain: string | null;
  user: string;
  /** Subordinates a master may enter (empty when switching is off or the site is no master). */
  subordinates: { site: string; domain: string | null }[];
  /** The master this session came from, to switch back to. */
  origin: { site: string; domain: string | null } | null;
}

export async function getSiteDashboard(ctx: Ctx, session: { clientId: number | null; originClientId: number | null; login: string }): Promise<SiteDashboard | undefined> {
  if (session.clientId === null) return undefined;
  const [site] = await repo.findSites(ctx.db, { ids: [session.clientId] });
  if (!site) return undefined;
  const switching = (await repo.readSetting(ctx.db, SUBORDINATE_SSO_KEY)) !== 'false';
  const subordinates = switching && site.invoice ? (await repo.findSites(ctx.db, { parentInvoice: site.invoice, active: true }, 200)).filter((s) => s.id !== site.id) : [];
  const [origin] = switching && session.originClientId !== null ? await repo.findSites(ctx.db, { ids: [session.originClientId], active: true }) : [];
  return {
    site: siteName(site.id),
    domain: site.domains[0] ?? null,
    user: session.login,
    subordinates: subordinates.map((s) => ({ site: siteName(s.id), domain: s.domains[0] ?? null })),
    origin: origin ? { site: siteName(origin.id), domain: origin.domains[0] ?? null } : null,
  };
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

// ---------------------------------------------------------------------------------------------
// Account groups (the operator console's view of billing,invoice / billing,parent_invoice)

export interface AccountGroup {
  invoice: string;
  master: SiteSummary | null;
  /** Live sites carrying this invoice as a master (normally one). */
  masters: number;
  subordinates: number;
}

export interface AccountGroupPage {
  groups: AccountGroup[];
  next_after: string | null;
}

/** An invoice as billing,invoice takes it, or the reason it is not one. */
function readInvoice(raw: unknown): { invoice: string } | { problem: string } {
  const r = coerceParam('billing', 'invoice', raw);
  if (!r.ok) return { problem: r.message };
  return r.value === null ? { problem: 'an invoice is required' } : { invoice: r.value as string };
}

function checkedInvoice(raw: unknown, field = 'invoice'): string {
  const r = readInvoice(raw);
  if ('problem' in r) throw AppError.validation({ [field]: [r.problem] });
  return r.invoice;
}

/** Account groups in invoice order, searched by invoice or a master's domain; page with `after`. */
export async function listAccountGroups(ctx: Ctx, input: { after?: unknown; search?: unknown; limit: number }): Promise<AccountGroupPage> {
  requireOperator(ctx);
  const after = input.after === undefined ? undefined : checkedInvoice(input.after, 'after');
  if (input.search !== undefined && (typeof input.search !== 'string' || input.search.length > 200)) throw AppError.validation({ q: ['must be text of at most 200 characters'] });
  const search = typeof input.search === 'string' && input.search.trim() !== '' ? input.search.trim() : undefined;
  const rows = await repo.listGroupMasters(ctx.db, { limit: input.limit, ...(after !== undefined ? { afterInvoice: after } : {}), ...(search ? { search } : {}) });
  const masters = new Map((await repo.findSites(ctx.db, { ids: rows.map((r) => r.master_id) })).map((s) => [s.id, s]));
  return {
    groups: rows.map((r) => {
      const m = masters.get(r.master_id);
      return { invoice: r.invoice, master: m ? summary(m) : null, masters: r.masters, subordinates: r.subordinates };
    }),
    next_after: rows.length === input.limit ? rows[rows.length - 1]!.invoice : null,
  };
}

export interface AccountGroupMembers {
  invoice: string;
  masters: SiteSummary[];
  subordinates: SiteSummary[];
}

/** Every live site of one account group: its master(s) and subordinates. */
export async function getAccountGroup(ctx: Ctx, rawInvoice: unknown): Promise<AccountGroupMembers> {
  requireOperator(ctx);
  const invoice = checkedInvoice(rawInvoice);
  const sites = await repo.findSites(ctx.db, { anyInvoice: invoice });
  if (sites.length === 0) throw AppError.notFound(`account group ${invoice}`);
  return { invoice, masters: sites.filter((s) => s.invoice === invoice).map(summary), subordinates: sites.filter((s) => s.invoice !== invoice).map(summary) };
}

export const GROUP_ACTIONS = ['suspend', 'activate', 'delete'] as const;
export type GroupAction = (typeof GROUP_ACTIONS)[number];

export interface GroupChange {
  invoice: string;
  action: GroupAction;
  dry_run: boolean;
  /** The sites the action changes (a dry run: would change), as they are afterwards (a dry run: now). */
  sites: SiteSummary[];
}

/**
 * Suspends, activates or deletes a whole account group through the set-based use cases, so it is
 * all or nothing. A dry run selects exactly the same sites in the same way and changes nothing: the
 * console shows it before asking to confirm.
 */
export async function changeAccountGroup(ctx: Ctx, input: { invoice: unknown; action: unknown; dryRun?: unknown; reason?: unknown }): Promise<GroupChange> {
  requireOperator(ctx);
  const fields: FieldErrors = fieldErrors();
  const read = readInvoice(input.invoice);
  if ('problem' in read) addFieldError(fields, 'invoice', read.problem);
  if (!(GROUP_ACTIONS as readonly unknown[]).includes(input.action)) addFieldError(fields, 'action', `must be one of ${GROUP_ACTIONS.join(', ')}`);
  if (input.dryRun !== undefined && typeof input.dryRun !== 'boolean') addFieldError(fields, 'dry_run', 'must be true or false');
  if (input.reason !== undefined && input.reason !== null && (typeof input.reason !== 'string' || input.reason.length > 500)) addFieldError(fields, 'reason', 'must be text of at most 500 characters');
  if (Object.keys(fields).length) throw AppError.validation(fields, firstMessage(fields));
  const invoice = (read as { invoice: string }).invoice;
  const action = input.action as GroupAction;
  const dryRun = input.dryRun === true;
  return inTransaction(ctx, async (tx) => {
    // By invoice only: "146" names the group with invoice 146, never site146.
    const ids = await repo.findSiteIdsByInvoice(tx.db, invoice);
    if (ids.length === 0) throw AppError.notFound(`account group ${invoice}`);
    const sites = inOrderOf(ids, await repo.findSites(tx.db, { ids }));
    if (action === 'delete') return { invoice, action, dry_run: dryRun, sites: await deleteSites(tx, { target: ids, dryRun }) };
    const affected = sites.filter((s) => (action === 'suspend' ? s.status === 'active' : s.status === 'suspended'));
    if (dryRun || affected.length === 0) return { invoice, action, dry_run: dryRun, sites: affected.map(summary) };
    const target = affected.map((s) => s.id);
    if (action === 'suspend') await suspendSites(tx, { target, reason: input.reason });
    else await activateSites(tx, { target });
    return { invoice, action, dry_run: false, sites: inOrderOf(target, await repo.findSites(tx.db, { ids: target })).map(summary) };
  });
}

// ---------------------------------------------------------------------------------------------
// Settings: the two scopes the operator console edits

export interface SiteSettings {
  /** How long a site stays suspended before the hourly clean-up deletes it ("30 days"), or false: never. */
  account_cleanup: string | false;
  /** Whether a master's session may switch into its subordinates (cp.config auth subordinate_site_sso). */
  subordinate_site_sso: boolean;
}

export async function getSiteSettings(ctx: Ctx): Promise<SiteSettings> {
  return {
    account_cleanup: (await getScope(ctx, 'opcenter.account-cleanup', [])) as string | false,
    subordinate_site_sso: (await getScope(ctx, 'cp.config', ['auth', 'subordinate_site_sso'])) as boolean,
  };
}

/** Changes either setting or both; every value is checked before anything is written, then one transaction. */
export async function updateSiteSettings(ctx: Ctx, input: { account_cleanup?: unknown; subordinate_site_sso?: unknown }): Promise<SiteSettings> {
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
  if (input.subordinate_site_sso !== undefined) {
    if (typeof input.subordinate_site_sso !== 'boolean') addFieldError(fields, 'subordinate_site_sso', 'must be true or false');
    else check('subordinate_site_sso', 'cp.config', ['auth', 'subordinate_site_sso', input.subordinate_site_sso]);
  }
  if (!Object.keys(fields).length && writes.length === 0) addFieldError(fields, 'settings', 'nothing to change: give account_cleanup or subordinate_site_sso');
  if (Object.keys(fields).length) throw AppError.validation(fields, firstMessage(fields));
  return inTransaction(ctx, async (tx) => {
    for (const w of writes) await setScope(tx, w.name, w.args);
    return getSiteSettings(tx);
  });
}

// ---------------------------------------------------------------------------------------------
// Plan inheritance, as the packages editor shows it

export interface InheritedValue {
  service: string;
  param: string;
  help: string;
  value: unknown;
  /** The plan that sets the value (this plan or an ancestor), or "base" for the built-in skeleton; null when nothing does. */
  source: string | null;
  own: boolean;
  /** What the value would be without this plan's own setting: from its ancestors or the base. */
  inherited: { value: unknown; source: string | null };
}

export interface PlanInheritance {
  plan: string;
  /** The plan and its ancestors, nearest first. */
  chain: string[];
  values: InheritedValue[];
}

export async function getPlanInheritance(ctx: Ctx, uid: string): Promise<PlanInheritance> {
  requireOperator(ctx);
  const book = await loadPlans(ctx);
  const plan = book.byUid.get(uid);
  if (!plan) throw AppError.notFound('package');
  const chain = planChain(book, plan.id);
  const values: InheritedValue[] = [];
  for (const [service, params] of Object.entries(SERVICES)) {
    for (const [param, spec] of Object.entries(params)) {
      if (spec.store !== 'meta' || spec.sameAs) continue;
      const values_ = (p: PlanRecord) => (p.service_defaults?.[service] ?? undefined) as Record<string, unknown> | undefined;
      const base = BASE_PLAN_DEFAULTS[service] && Object.hasOwn(BASE_PLAN_DEFAULTS[service]!, param);
      const resolve = (plans: PlanRecord[]) => {
        const from = plans.find((p) => {
          const d = values_(p);
          return d !== undefined && d !== null && typeof d === 'object' && Object.hasOwn(d, param);
        });
        return { from, value: from ? values_(from)![param] : base ? BASE_PLAN_DEFAULTS[service]![param] : null, source: from ? from.uid : base ? 'base' : null };
      };
      const here = resolve(chain);
      const above = resolve(chain.slice(1));
      values.push({ service, param, help: spec.help, value: here.value, source: here.source, own: here.from?.id === plan.id, inherited: { value: above.value, source: above.source } });
    }
  }
  return { plan: plan.uid, chain: chain.map((p) => p.uid), values };
}
