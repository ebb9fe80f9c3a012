import { addFieldError, type FieldErrors } from '../../errors/app-error.js';
import { normalizeDomainName } from '../shared/domain-name.js';

/**
 * Service metadata: every `service.param` a site has, with its type and where its value lives.
 * Some parameters are views of the client record that the other doors see too ("one truth"):
 * siteinfo.domain is the primary domain, aliases.aliases the other domains, siteinfo.email the
 * client's email, siteinfo.plan its package, billing.* the account-group columns. The rest are kept
 * in clients.service_meta and default to the plan's values.
 */
export type ParamType = 'domain' | 'login' | 'email' | 'plan' | 'int' | 'bool' | 'invoice' | 'domains' | 'text';

export interface ParamSpec {
  type: ParamType;
  /** Where the value lives: a column of the client record, or the stored metadata (plan default). */
  store: 'record' | 'meta';
  nullable?: boolean;
  /** The only value the parameter takes (accepted so billing modules may send it; anything else is refused). */
  fixed?: unknown;
  min?: number;
  max?: number;
  /** Shown by admin:get-plan and AddDomain --help. */
  help: string;
  /** Another door's name for a parameter (`service.param`): reads show that value, writes change it. */
  sameAs?: string;
}

export const SERVICES: Record<string, Record<string, ParamSpec>> = {
  siteinfo: {
    domain: { type: 'domain', store: 'record', help: 'primary domain of the site' },
    admin_user: { type: 'login', store: 'record', help: 'login of the site administrator' },
    email: { type: 'email', store: 'record', help: 'contact address of the site administrator' },
    plan: { type: 'plan', store: 'record', help: 'plan the site follows for every value it does not set' },
    // Billing modules (WHMCS, Clientexec) send siteinfo,enabled=1 with every new site.
    enabled: { type: 'bool', store: 'record', fixed: 1, help: 'the core service every site has: always 1' },
  },
  diskquota: {
    quota: { type: 'int', store: 'meta', min: 0, max: 1024 * 1024 * 1024, help: 'storage quota in MB' },
  },
  ssh: {
    enabled: { type: 'bool', store: 'meta', help: 'shell access (1 or 0)' },
  },
  billing: {
    invoice: { type: 'invoice', store: 'record', nullable: true, help: 'billing invoice: marks the master of an account group' },
    parent_invoice: { type: 'invoice', store: 'record', nullable: true, help: 'invoice of the master account this site is subordinate to' },
  },
  aliases: {
    aliases: { type: 'domains', store: 'record', help: 'further domains of the site (setting it replaces the list)' },
  },
  // Limits shared with the SaaS portal and subscription doors. users,max is the HSP client's
  // user_count and the SaaS portal's max_users: one number, three names.
  users: {
    max: { type: 'int', store: 'record', min: 0, max: 1_000_000, help: 'most users the site may have (the HSP user_count)' },
  },
  sites: {
    max: { type: 'int', store: 'meta', min: 0, max: 10_000, nullable: true, help: 'most databases/instances the site may have (null: no limit)' },
  },
  // The SaaS portal's names for the same limits (its do_upgrade_database params), so a billing
  // system that speaks the portal's words reads and sets the one value.
  saas_client: {
    max_users: { type: 'int', store: 'record', min: 0, max: 1_000_000, sameAs: 'users.max', help: 'the SaaS portal name of users,max (0: no limit)' },
    total_storage_limit: { type: 'int', store: 'meta', min: 0, max: 1024 * 1024 * 1024, sameAs: 'diskquota.quota', help: 'the SaaS portal name of diskquota,quota, in MB' },
  },
};

/** The parameter a name stands for: itself, or the one it is another door's name of. */
export function canonicalParam(service: string, param: string): [string, string] {
  const same = specOf(service, param)?.sameAs;
  return same ? (same.split('.') as [string, string]) : [service, param];
}

/** The built-in base every plan chain ends at (ApisCP's plan skeleton). */
export const BASE_PLAN_DEFAULTS: Record<string, Record<string, unknown>> = {
  diskquota: { quota: 1024 },
  ssh: { enabled: 1 },
  sites: { max: null },
};

/** What `admin:collect` shows for `params = []` (ApisCP's default selection). */
export const DEFAULT_COLLECT_PARAMS = ['siteinfo.email', 'siteinfo.admin_user', 'aliases.aliases', 'billing.invoice', 'billing.parent_invoice'];

/** The plan of a site created without one (created by migration 0007). */
export const DEFAULT_SITE_PLAN = 'basic';

/** Written when AddDomain gets no siteinfo.email. */
export const PLACEHOLDER_EMAIL = 'blackhole@apiscp.com';

export function specOf(service: string, param: string): ParamSpec | undefined {
  return Object.hasOwn(SERVICES, service) && Object.hasOwn(SERVICES[service]!, param) ? SERVICES[service]![param] : undefined;
}

export type ParamResult = { ok: true; value: unknown } | { ok: false; message: string };

const LOGIN = /^[a-z][a-z0-9._-]{0,31}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const INVOICE = /^[\x21-\x7e]{1,128}$/;

/** A value as a message quotes it: cut short, so a huge or deeply nested input never fills an error. */
function shown(raw: unknown): string {
  if (typeof raw === 'string') return JSON.stringify(raw.length > 80 ? `${raw.slice(0, 80)}…` : raw);
  if (Array.isArray(raw)) return 'a list';
  if (raw !== null && typeof raw === 'object') return 'a map';
  return String(raw);
}

/** A parameter or service name as a message shows it (names come from the caller's keys). */
const shownName = (name: string): string => (name.length > 64 ? `${name.slice(0, 64)}…` : name);

/**
 * Validates and normalises one value given for `service.param` (from any door: strings from the
 * command line, typed values from SOAP or JSON). The message names the parameter and the problem.
 */
export function coerceParam(service: string, param: string, raw: unknown): ParamResult {
  const name = shownName(`${service},${param}`);
  const spec = specOf(service, param);
  if (!spec) return { ok: false, message: Object.hasOwn(SERVICES, service) ? `${name}: unknown parameter of service ${service}` : `${shownName(service)}: unknown service` };
  const bad = (why: string): ParamResult => ({ ok: false, message: `${name}: ${why}` });
  if (raw === null || raw === undefined || raw === '') {
    if (spec.nullable || spec.type === 'domains') return { ok: true, value: spec.type === 'domains' ? [] : null };
    return bad('a value is required');
  }
  switch (spec.type) {
    case 'domain': {
      if (typeof raw !== 'string') return bad('must be a domain name');
      const d = normalizeDomainName(raw);
      return d ? { ok: true, value: d } : bad(`${shown(raw)} is not a valid domain name`);
    }
    case 'domains': {
      const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(/[\s,]+/).filter(Boolean) : typeof raw === 'object' ? Object.values(raw as object) : undefined;
      if (!list) return bad('must be a list of domain names');
      const out: string[] = [];
      for (const item of list) {
        const d = typeof item === 'string' ? normalizeDomainName(item) : null;
        if (!d) return bad(`${shown(item)} is not a valid domain name`);
        if (!out.includes(d)) out.push(d);
      }
      if (out.length > 100) return bad('at most 100 aliases');
      return { ok: true, value: out };
    }
    case 'login':
      return typeof raw === 'string' && LOGIN.test(raw) ? { ok: true, value: raw } : bad('must start with a lower-case letter and use only a-z, 0-9, ".", "_" or "-" (at most 32)');
    case 'email':
      return typeof raw === 'string' && raw.length <= 254 && EMAIL.test(raw) ? { ok: true, value: raw } : bad(`${shown(raw)} is not an email address`);
    case 'plan':
      return typeof raw === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(raw) ? { ok: true, value: raw } : bad('must be a plan name');
    case 'invoice':
      return typeof raw === 'string' || typeof raw === 'number' ? (INVOICE.test(String(raw)) ? { ok: true, value: String(raw) } : bad('must be 1-128 printable characters without spaces')) : bad('must be text');
    case 'int': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
      if (!Number.isSafeInteger(n)) return bad(`${shown(raw)} is not a whole number`);
      if (spec.min !== undefined && n < spec.min) return bad(`must be at least ${spec.min}`);
      if (spec.max !== undefined && n > spec.max) return bad(`must be at most ${spec.max}`);
      return { ok: true, value: n };
    }
    case 'bool': {
      const value = raw === true || raw === 1 || raw === '1' || raw === 'true' ? 1 : raw === false || raw === 0 || raw === '0' || raw === 'false' ? 0 : undefined;
      if (value === undefined) return bad('must be 1 or 0');
      if (spec.fixed !== undefined && value !== spec.fixed) return bad(`is always ${String(spec.fixed)}; it cannot be changed`);
      return { ok: true, value };
    }
    case 'text':
      return typeof raw === 'string' && raw.length <= 1000 ? { ok: true, value: raw } : bad('must be text');
  }
}

/** `service.param`, `service,param` or `[service][param]` spellings → [service, param]. */
export function splitParamName(name: string): [string, string] | undefined {
  const m = /^([a-z_][a-z0-9_]*)[.,]([a-z_][a-z0-9_]*)$/i.exec(name.trim());
  return m ? [m[1]!.toLowerCase(), m[2]!.toLowerCase()] : undefined;
}

/** Resolves a plan chain's defaults: the nearest plan that sets a value wins, then the base. */
export function resolveDefaults(chain: Record<string, unknown>[]): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [service, params] of Object.entries(BASE_PLAN_DEFAULTS)) out[service] = { ...params };
  for (const defaults of [...chain].reverse()) {
    for (const [service, params] of Object.entries(defaults ?? {})) {
      if (!params || typeof params !== 'object') continue;
      out[service] = { ...(out[service] ?? {}), ...(params as Record<string, unknown>) };
    }
  }
  return out;
}

/**
 * A plan's service defaults, validated: only values a site keeps as metadata can have plan defaults
 * (domains, users and invoices belong to each site). A null value means "inherit": it is left out.
 */
export function checkServiceDefaults(raw: Record<string, Record<string, unknown>>, fields: FieldErrors): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [service, params] of Object.entries(raw)) {
    for (const [param, value] of Object.entries(params ?? {})) {
      const spec = specOf(service, param);
      const key = `service_defaults.${service}.${param}`;
      if (!spec) {
        addFieldError(fields, key, Object.hasOwn(SERVICES, service) ? `${service},${param}: unknown parameter of service ${service}` : `${service}: unknown service`);
        continue;
      }
      if (spec.store !== 'meta') {
        addFieldError(fields, key, `${service},${param} belongs to each site; a plan cannot set it`);
        continue;
      }
      if (value === null) continue;
      const r = coerceParam(service, param, value);
      const [s, p] = canonicalParam(service, param);
      if (!r.ok) addFieldError(fields, key, r.message);
      else (out[s] ??= {})[p] = r.value;
    }
  }
  return out;
}
