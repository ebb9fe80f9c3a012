import { AppError, type FieldErrors } from '../../errors/app-error.js';
import { type Ctx } from '../context.js';
import type { SiteRow } from './site.repository.js';
import { type ChosenSites, type SiteTarget } from './site.schema.js';
import * as repo from './site.repository.js';

export function requireOperator(ctx: Ctx): void {
  if (ctx.actor.kind !== 'operator' && ctx.actor.kind !== 'system') throw new AppError('forbidden', 'only an administrator may manage sites');
}

/**
 * The reseller whose clients a call is limited to, or undefined when it may reach every site. Target
 * resolution reads it from the actor itself, so no use case can forget it: a reseller's target that
 * names another reseller's site (or the operator's own) is unknown, with the same answer as a site
 * that does not exist.
 */
export function siteOwner(ctx: Ctx): number | undefined {
  return ctx.actor.kind === 'reseller' ? ctx.actor.resellerId : undefined;
}

/** Operators manage every site, a reseller its own clients; returns the reseller the call is limited to. */
export function requireSiteManager(ctx: Ctx): number | undefined {
  if (ctx.actor.kind === 'reseller') return ctx.actor.resellerId;
  requireOperator(ctx);
  return undefined;
}


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
    const ids = await repo.findSiteIdsById(ctx.db, Number(id), siteOwner(ctx));
    if (ids.length) return ids;
  }
  if (text.includes('.')) {
    const ids = await repo.findSiteIdsByDomain(ctx.db, text.toLowerCase().replace(/\.$/, ''), siteOwner(ctx));
    if (ids.length) return ids;
  }
  const ids = await repo.findSiteIdsByInvoice(ctx.db, text, siteOwner(ctx));
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

export function parseTarget(target: SiteTarget): ParsedTarget {
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
  }, siteOwner(ctx));
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
export async function resolveTargets(ctx: Ctx, targets: SiteTarget | readonly SiteTarget[] | ChosenSites): Promise<number[]> {
  if (typeof targets === 'object' && 'chosen' in targets) return [...targets.chosen];
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
export function inOrderOf<T extends { id: number }>(ids: number[], rows: T[]): T[] {
  const rank = new Map(ids.map((id, i) => [id, i]));
  return [...rows].sort((a, b) => rank.get(a.id)! - rank.get(b.id)!);
}

export async function resolveOne(ctx: Ctx, target: SiteTarget): Promise<SiteRow> {
  const ids = await resolveTarget(ctx, target);
  if (ids.length > 1) throw AppError.validation({ site: [`${String(target)} names ${ids.length} sites; name one site`] });
  return (await repo.findSites(ctx.db, { ids, resellerId: siteOwner(ctx) }))[0]!;
}


export function firstMessage(fields: FieldErrors): string {
  return Object.values(fields)[0]?.[0] ?? 'validation failed';
}

/** `true`/`false` as the ApisCP doors spell them (1, '1', 'true', ...); undefined for anything else. */
export function asBool(v: unknown): boolean | undefined {
  if (v === true || v === 1 || v === '1' || v === 'true') return true;
  if (v === false || v === 0 || v === '0' || v === 'false') return false;
  return undefined;
}
