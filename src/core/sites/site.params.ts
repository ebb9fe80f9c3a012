import { addFieldError, type FieldErrors } from '../../errors/app-error.js';
import { normalizeDomainName } from '../shared/domain-name.js';

import { isIP } from 'node:net';
import { importCryptHash } from '../shared/passwords.js';
import { BASE_PLAN_DEFAULTS, SERVICES, UNIT_BYTES, UNIT_PARAMS, type ParamSpec } from './site.catalog.js';

export { BASE_PLAN_DEFAULTS, SERVICES, type ParamSpec, type ParamType } from './site.catalog.js';

/** The parameter a name stands for: itself, or the one it is another door's name of. */
export function canonicalParam(service: string, param: string): [string, string] {
  const same = specOf(service, param)?.sameAs;
  return same ? (same.split('.') as [string, string]) : [service, param];
}

/** What `admin:collect` shows for `params = []` (ApisCP's default selection). */
export const DEFAULT_COLLECT_PARAMS = ['siteinfo.email', 'siteinfo.admin_user', 'aliases.aliases', 'billing.invoice', 'billing.parent_invoice'];

/** The plan of a site created without one (created by migration 0007). */
export const DEFAULT_SITE_PLAN = 'basic';

/** Written when AddDomain gets no siteinfo.email. */
export const PLACEHOLDER_EMAIL = 'blackhole@apiscp.com';

export function specOf(service: string, param: string): ParamSpec | undefined {
  return Object.hasOwn(SERVICES, service) && Object.hasOwn(SERVICES[service]!, param) ? SERVICES[service]![param] : undefined;
}

/** `inherit`: the value given means "the plan's value" (the site's own one is dropped). */
export type ParamResult = { ok: true; value: unknown; inherit?: boolean } | { ok: false; message: string };

const LOGIN = /^[a-z][a-z0-9._-]{0,31}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const INVOICE = /^[\x21-\x7e]{1,128}$/;

/**
 * Database account names a site may never take: the servers' own administrators and system
 * accounts. A node's agent also refuses any existing user it did not create itself.
 */
const RESERVED_DB_USERS = /^(root|mysql|mariadb|postgres|pg_.*|public|debian-sys-maint|mariadb_sys|mysql_sys)$/i;

export function reservedDbUser(name: string): boolean {
  return RESERVED_DB_USERS.test(name);
}

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
  if (raw === '' && spec.emptyIsDefault) return { ok: true, value: null, inherit: true };
  // WHMCS sends its product's plan option as it is, '' when the product names none.
  if (raw === '' && spec.type === 'plan') return { ok: true, value: DEFAULT_SITE_PLAN };
  // WHMCS writes "unlimited" as the text 'null'.
  if (spec.nullable && typeof raw === 'string' && raw.trim().toLowerCase() === 'null') return { ok: true, value: null };
  if (raw === null || raw === undefined || raw === '') {
    if (spec.nullable || spec.type === 'domains' || spec.type === 'ips') return { ok: true, value: spec.type === 'domains' || spec.type === 'ips' ? [] : null };
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
      if (typeof raw !== 'string') return bad('must be text');
      return raw.length <= (spec.max ?? 1000) ? { ok: true, value: raw } : bad(`must be at most ${spec.max ?? 1000} characters`);
    case 'name':
      return typeof raw === 'string' && raw.length <= (spec.max ?? 32) && /^[a-z][a-z0-9_-]*$/i.test(raw) ? { ok: true, value: raw.toLowerCase() } : bad(`${shown(raw)} must be a name: a letter, then letters, digits, "_" or "-" (at most ${spec.max ?? 32})`);
    case 'enum': {
      const v = typeof raw === 'string' ? spec.values!.find((x) => x.toLowerCase() === raw.trim().toLowerCase()) : undefined;
      return v !== undefined ? { ok: true, value: v } : bad(`${shown(raw)} must be one of ${spec.values!.join(', ')}`);
    }
    case 'password':
      if (typeof raw !== 'string') return bad('must be text');
      if (raw.length < (spec.min ?? 1) || raw.length > (spec.max ?? 1024)) return bad(`must be ${spec.min ?? 1} to ${spec.max ?? 1024} characters`);
      return { ok: true, value: raw };
    case 'crypt': {
      if (typeof raw !== 'string' || raw.length > (spec.max ?? 255)) return bad('must be a crypt(3) hash');
      const r = importCryptHash(raw);
      return r.ok ? { ok: true, value: raw } : bad(r.message);
    }
    case 'dbprefix':
      return typeof raw === 'string' && raw.length <= (spec.max ?? 40) && /^[A-Za-z][A-Za-z0-9_]*_$/.test(raw)
        ? { ok: true, value: raw }
        : bad(`${shown(raw)} must start with a letter, use only letters, digits or "_", and end in "_" (at most ${spec.max ?? 40})`);
    case 'dbuser':
      if (typeof raw === 'string' && reservedDbUser(raw)) return bad(`${shown(raw)} is the database server's own account; choose another name`);
      return typeof raw === 'string' && raw.length <= (spec.max ?? 32) && /^[A-Za-z][A-Za-z0-9_]*$/.test(raw)
        ? { ok: true, value: raw }
        : bad(`${shown(raw)} must start with a letter and use only letters, digits or "_" (at most ${spec.max ?? 32})`);
    case 'ips': {
      const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(/[\s,]+/) : typeof raw === 'object' ? Object.values(raw as object) : undefined;
      if (!list) return bad('must be a list of IP addresses');
      const out: string[] = [];
      for (const item of list) {
        // Billing modules send [client ip] even when they know none: [''] or [null].
        if (item === null || item === undefined || item === '') continue;
        const ip = typeof item === 'string' ? ipOrNetwork(item) : undefined;
        if (!ip) return bad(`${shown(item)} is not an IP address`);
        if (!out.includes(ip)) out.push(ip);
      }
      if (out.length > (spec.max ?? 4096)) return bad(`at most ${spec.max ?? 4096} addresses`);
      return { ok: true, value: out };
    }
  }
}

/** An IPv4/IPv6 address or address/prefix, as written (IPv6 in lower case); undefined when it is neither. */
function ipOrNetwork(text: string): string | undefined {
  const m = /^([^/\s]{1,45})(?:\/(\d{1,3}))?$/.exec(text.trim());
  if (!m) return undefined;
  const family = isIP(m[1]!);
  if (!family) return undefined;
  if (m[2] !== undefined && Number(m[2]) > (family === 4 ? 32 : 128)) return undefined;
  return m[0].toLowerCase();
}

/**
 * A value given with its unit in the same call (diskquota,quota with diskquota,units=GB) becomes MB,
 * rounded up; the unit becomes MB (every such value is stored in MB, and units reads back MB).
 * Returns the messages of values that no longer fit once converted.
 */
export function applyUnits<T extends { service: string; param: string; value: unknown }>(list: T[]): { values: T[]; errors: { key: string; message: string }[] } {
  const errors: { key: string; message: string }[] = [];
  let values = list;
  for (const u of UNIT_PARAMS) {
    const unit = values.filter((p) => p.service === u.service && p.param === u.units).at(-1)?.value as string | undefined;
    if (unit === undefined) continue;
    const spec = specOf(u.service, u.value)!;
    values = values.map((p) => {
        if (p.service === u.service && p.param === u.units) return { ...p, value: 'MB' };
        if (p.service !== u.service || p.param !== u.value || typeof p.value !== 'number') return p;
        const mb = Math.ceil((p.value * UNIT_BYTES[unit as keyof typeof UNIT_BYTES]) / UNIT_BYTES.MB);
        if (spec.max !== undefined && mb > spec.max) errors.push({ key: `${u.service}.${u.value}`, message: `${u.service},${u.value}: ${p.value} ${unit} is ${mb} MB, more than the most allowed (${spec.max} MB)` });
        return { ...p, value: mb };
      });
  }
  return { values, errors };
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
  const given: { service: string; param: string; value: unknown }[] = [];
  for (const [service, params] of Object.entries(raw)) {
    for (const [param, value] of Object.entries(params ?? {})) {
      const spec = specOf(service, param);
      const key = `service_defaults.${service}.${param}`;
      if (!spec) {
        addFieldError(fields, key, Object.hasOwn(SERVICES, service) ? `${service},${param}: unknown parameter of service ${service}` : `${service}: unknown service`);
        continue;
      }
      if (spec.store !== 'meta' || spec.secret) {
        addFieldError(fields, key, `${service},${param} belongs to each site; a plan cannot set it`);
        continue;
      }
      if (value === null) continue;
      const r = coerceParam(service, param, value);
      const [s, p] = canonicalParam(service, param);
      if (!r.ok) addFieldError(fields, key, r.message);
      else if (!r.inherit) given.push({ service: s, param: p, value: r.value });
    }
  }
  const converted = applyUnits(given);
  for (const e of converted.errors) addFieldError(fields, `service_defaults.${e.key}`, e.message);
  for (const v of converted.values) (out[v.service] ??= {})[v.param] = v.value;
  return out;
}
