import { setImmediate } from 'node:timers/promises';
import { AppError, addFieldError, fieldErrors, type FieldErrors } from '../../errors/app-error.js';
import type { Ctx } from '../context.js';
import { siteNodeViews } from '../nodes/site-node-view.js';
import { canonicalParam, DEFAULT_COLLECT_PARAMS, SERVICES, specOf, splitParamName } from './site.params.js';
import { COLLECT_PAGE, loadPlans, readsAlso, valueReader, type SiteView } from './site.plans.js';
import * as repo from './site.repository.js';
import type { SiteQuery } from './site.repository.js';
import { siteName } from './site.schema.js';
import { asBool, firstMessage, lookupTargets, requireSiteManager } from './site.service.js';

// `admin:collect`: the billing modules' one read of many sites, with the values they ask for.

export interface CollectInput {
  params?: unknown;
  query?: unknown;
  sites?: unknown;
  /** An unknown entry in `sites` is an error instead of being left out (SOAP's `Abort-On: error`). */
  strict?: boolean;
}

/** `[billing.parent_invoice:X]`, `["billing,parent_invoice":X]` and `[billing:[parent_invoice:X]]` alike. */
function flattenQuery(raw: unknown, fields: FieldErrors): { key: string; value: unknown }[] {
  if (raw === undefined || raw === null) return [];
  if (Array.isArray(raw)) {
    if (raw.length === 0) return [];
    addFieldError(fields, 'query', 'must be a map of service.param: value');
    return [];
  }
  if (typeof raw !== 'object') {
    addFieldError(fields, 'query', 'must be a map of service.param: value');
    return [];
  }
  const out: { key: string; value: unknown }[] = [];
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (key === 'active') {
      out.push({ key, value });
      continue;
    }
    const split = splitParamName(key);
    if (split) out.push({ key: `${split[0]}.${split[1]}`, value });
    else if (value !== null && typeof value === 'object' && !Array.isArray(value)) for (const [param, v] of Object.entries(value as Record<string, unknown>)) out.push({ key: `${key.toLowerCase()}.${param.toLowerCase()}`, value: v });
    else addFieldError(fields, `query.${key}`, `${key}: name a service parameter (service.param) or active`);
  }
  for (const c of out) {
    if (c.key === 'active') continue;
    const [service, param] = c.key.split('.') as [string, string];
    const spec = specOf(service, param);
    if (!spec) addFieldError(fields, `query.${c.key}`, Object.hasOwn(SERVICES, service) ? `${service},${param}: unknown parameter of service ${service}` : `${service}: unknown service`);
    else if (spec.secret || spec.store === 'auth') addFieldError(fields, `query.${c.key}`, `${service},${param} is never shown, so sites cannot be selected by it`);
  }
  return out;
}

function selectedParams(raw: unknown, fields: FieldErrors): [string, string][] | 'all' {
  if (raw === null || raw === undefined) return 'all';
  const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : undefined;
  if (!list) {
    addFieldError(fields, 'params', 'must be a list of service or service.param names, [] or null');
    return [];
  }
  const names = list.length === 0 ? DEFAULT_COLLECT_PARAMS : list;
  const out: [string, string][] = [];
  for (const name of names) {
    if (typeof name !== 'string') {
      addFieldError(fields, 'params', 'must name services or service.param');
      continue;
    }
    const split = splitParamName(name);
    if (split) {
      if (!specOf(...split)) addFieldError(fields, `params.${name}`, Object.hasOwn(SERVICES, split[0]) ? `${split[0]},${split[1]}: unknown parameter of service ${split[0]}` : `${split[0]}: unknown service`);
      else out.push(split);
    } else if (Object.hasOwn(SERVICES, name.toLowerCase())) {
      for (const param of Object.keys(SERVICES[name.toLowerCase()]!)) out.push([name.toLowerCase(), param]);
    } else addFieldError(fields, `params.${name}`, `${name}: unknown service`);
  }
  return out;
}

const SQL_QUERY_KEYS: Record<string, (q: SiteQuery, v: unknown) => void> = {
  'billing.invoice': (q, v) => (q.invoice = v === null ? null : String(v)),
  'billing.parent_invoice': (q, v) => (q.parentInvoice = v === null ? null : String(v)),
  'siteinfo.email': (q, v) => (q.email = v === null ? null : String(v)),
  'siteinfo.plan': (q, v) => (q.planUid = v === null ? null : String(v)),
  'siteinfo.admin_user': (q, v) => (q.adminUser = String(v)),
  'siteinfo.domain': (q, v) => (q.domain = String(v).toLowerCase()),
};

/**
 * Sites matching every query condition, each with the chosen service values, keyed `siteNN` (or by
 * the identifiers passed in `sites`, which billing modules index their result by).
 */
export async function collectSites(ctx: Ctx, input: CollectInput): Promise<Record<string, Record<string, unknown>>> {
  const owner = requireSiteManager(ctx);
  const fields: FieldErrors = fieldErrors();
  // `node` (not an ApisCP service) asks for where each site is served: its node, the node's health and
  // the site's apply status, or null when it is not placed. Named, or within null's "every value"; the
  // default selection ([]) answers exactly what ApisCP answers (the modules read only domain and
  // active, and a script diffing collects before and after a change must not see a new key).
  const isNode = (p: unknown) => typeof p === 'string' && p.toLowerCase() === 'node';
  const wantNode = input.params === null || input.params === undefined || (Array.isArray(input.params) && input.params.some(isNode));
  const rest = Array.isArray(input.params) && wantNode ? input.params.filter((p) => !isNode(p)) : input.params;
  const selection = Array.isArray(rest) && wantNode && rest.length === 0 ? [] : selectedParams(rest, fields);
  const conditions = flattenQuery(input.query, fields);
  let targets: string[] | undefined;
  if (input.sites !== undefined && input.sites !== null) {
    const list = Array.isArray(input.sites) ? input.sites : typeof input.sites === 'object' ? Object.values(input.sites as object) : [input.sites];
    if (list.some((s) => typeof s !== 'string' && typeof s !== 'number')) addFieldError(fields, 'sites', 'must be a list of site ids, domains or invoices');
    else targets = list.map(String);
  }
  const query: SiteQuery = { resellerId: owner };
  const inMemory: { key: string; value: unknown }[] = [];
  for (const c of conditions) {
    if (c.key === 'active') {
      const b = asBool(c.value);
      if (b === undefined) addFieldError(fields, 'query.active', 'active: must be true or false');
      else query.active = b;
    } else if (Object.hasOwn(SQL_QUERY_KEYS, c.key)) SQL_QUERY_KEYS[c.key]!(query, c.value);
    else inMemory.push(c);
  }
  if (Object.keys(fields).length) throw AppError.validation(fields, firstMessage(fields));

  const book = await loadPlans(ctx);
  const keyed = new Map<number, string>();
  if (targets) {
    const ids: number[] = [];
    const looked = targets.length ? await lookupTargets(ctx, targets) : [];
    for (const [i, t] of targets.entries()) {
      const found = looked[i]!.ids;
      if (!found.length) {
        if (!input.strict) continue;
        throw AppError.notFound(`site, domain or invoice ${JSON.stringify(looked[i]!.text)}`);
      }
      for (const id of found) {
        ids.push(id);
        // A site named by id is keyed siteNN; by domain or invoice, by what was passed (one site) or siteNN (a group).
        if (!keyed.has(id)) keyed.set(id, found.length === 1 ? t : siteName(id));
      }
    }
    query.ids = ids;
  }
  // "Every service" means each value once: another door's names for a value are shown when asked for.
  const chosen = selection === 'all' ? Object.entries(SERVICES).flatMap(([s, ps]) => Object.entries(ps).filter(([, spec]) => !spec.sameAs).map(([p]) => [s, p] as [string, string])) : selection;
  const filters = inMemory.map((c) => ({ pair: c.key.split('.') as [string, string], value: c.value }));
  // Only what the answer and the in-memory conditions read comes back from the database.
  const needed = [...chosen, ...filters.map((f) => f.pair)].map(([s, p]) => canonicalParam(s, p)).flatMap(([s, p]) => [[s, p] as [string, string], ...readsAlso(s, p)]);
  const columns = { adminUser: needed.some(([s, p]) => s === 'siteinfo' && p === 'admin_user'), meta: needed.some(([s, p]) => specOf(s, p)?.store === 'meta') };
  const readers = chosen.map(([service, param]) => ({ service, param, read: valueReader(book, service, param) }));
  const tests = filters.map((f) => ({ read: valueReader(book, ...f.pair), value: f.value }));
  const out: Record<string, Record<string, unknown>> = {};
  if (query.ids?.length === 0) return out;
  // Keyset pages, each one short statement: on the embedded database (one connection, run in this
  // thread) the requests that arrive meanwhile get their turn between two pages instead of waiting
  // for the whole collect. Pages are not one snapshot: a site changed during the collect shows its
  // state at the time its page was read.
  for (let afterId: number | undefined; ; ) {
    const rows = await repo.findCollectPage(ctx.db, query, { afterId, limit: COLLECT_PAGE }, columns);
    const nodes = wantNode ? await siteNodeViews(ctx, rows.map((r) => r.id)) : undefined;
    for (const row of rows) {
      const site: SiteView = { ...row, plan_uid: row.plan_id === null ? null : (book.byId.get(row.plan_id)?.uid ?? null), admin_user: row.admin_user ?? null, service_meta: row.service_meta ?? {} };
      if (tests.some((t) => !sameValue(t.read(site), t.value))) continue;
      const entry: Record<string, unknown> = {};
      for (const r of readers) ((entry[r.service] ??= {}) as Record<string, unknown>)[r.param] = r.read(site);
      entry.active = row.status === 'active';
      entry.domain = row.domains[0] ?? null;
      if (nodes) entry.node = nodes.get(row.id) ?? null;
      out[keyed.get(row.id) ?? siteName(row.id)] = entry;
    }
    if (rows.length < COLLECT_PAGE) return out;
    afterId = rows[rows.length - 1]!.id;
    await setImmediate();
  }
}

function sameValue(actual: unknown, wanted: unknown): boolean {
  if (actual === null || actual === undefined) return wanted === null;
  if (typeof actual === 'number') return String(actual) === String(wanted) || (typeof wanted === 'boolean' && actual === (wanted ? 1 : 0));
  if (Array.isArray(actual)) return Array.isArray(wanted) ? JSON.stringify(actual) === JSON.stringify(wanted) : actual.includes(String(wanted));
  return String(actual) === String(wanted);
}
