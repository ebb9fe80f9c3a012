import type { Ctx } from '../../core/context.js';
import { collectSites } from '../../core/sites/collect-sites.js';
import {
  activateSites,
  addSite,
  asBool,
  changeSitePassword,
  deleteSites,
  editSites,
  getScope,
  getSitePlan,
  hijackSite,
  isSiteInactive,
  listSitePlans,
  setScope,
  suspendSites,
  whoami,
} from '../../core/sites/site.service.js';
import { isAddressLockedOut, liftAddressLockout, LOCKOUT_SERVICES, lockedOutServices } from '../../core/rate-limits/address-lockouts.js';
import { getSiteUsage } from '../../core/sites/site-usage.js';
import { AppError } from '../../errors/app-error.js';

/** Who a call acts as: `-d SITE` (cpcmd) or the site argument of a site-level function. */
export interface CallContext {
  site?: string | undefined;
  user?: string | undefined;
  /**
   * `Abort-On: error`: what ApisCP reports as an error-level message but carries on past (an unknown
   * site among several) fails the call instead.
   */
  abortOnError?: boolean;
}

/**
 * One ApisCP module function, as cpcmd, the JSON door and SOAP call it: positional arguments in the
 * order ApisCP declares them (`params` is also what the WSDL lists).
 */
export interface CpcmdFunction {
  name: string;
  params: string[];
  /** Takes any number of further arguments (scope:set). */
  variadic?: boolean;
  /** Needs a site to act on (`-d SITE`). */
  needsSite?: boolean;
  run(ctx: Ctx, args: unknown[], call: CallContext): Promise<unknown>;
}

/** An options argument: `[]` (PHP's empty array) and null mean none. */
function flags(raw: unknown, name: string): Record<string, unknown> {
  if (raw === undefined || raw === null || (Array.isArray(raw) && raw.length === 0)) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw AppError.validation({ [name]: ['must be a map of options'] }, `${name}: must be a map of options`);
  return raw as Record<string, unknown>;
}

function flag(options: Record<string, unknown>, ...names: string[]): unknown {
  for (const n of names) if (Object.hasOwn(options, n)) return options[n];
  return undefined;
}

function truthy(v: unknown): boolean {
  return asBool(v) === true;
}

/** A yes/no option: true/false, 1/0 or their text; absent, null or '' is no. Anything else is refused, not read as no. */
function boolFlag(options: Record<string, unknown>, ...names: string[]): boolean {
  const v = flag(options, ...names);
  if (v === undefined || v === null || v === '') return false;
  const b = asBool(v);
  if (b !== undefined) return b;
  throw AppError.validation({ [`flags.${names[0]!}`]: ['must be true or false'] }, `${names[0]!}: must be true or false`);
}

function checkFlags(options: Record<string, unknown>, known: string[], name: string): void {
  const unknown = Object.keys(options).filter((k) => !known.includes(k));
  if (unknown.length) throw AppError.validation({ [name]: [`unknown option ${unknown.join(', ')}; known: ${known.join(', ')}`] }, `${name}: unknown option ${unknown.join(', ')}`);
}

function siteOf(call: CallContext, arg: unknown, fn: string): string {
  const site = arg ?? call.site;
  if (site === undefined || site === null || site === '') throw AppError.validation({ site: [`${fn} acts on a site: pass -d SITE`] }, `${fn} acts on a site: pass -d SITE`);
  if (typeof site !== 'string' && typeof site !== 'number') throw AppError.validation({ site: ['must be a site, domain or invoice'] });
  return String(site);
}

/**
 * The site argument of a group operation: one target, or a list of them that the command treats as
 * one (the account verbs' several targets, all or nothing).
 */
function targetsOf(arg: unknown, fn: string): string | string[] {
  if (!Array.isArray(arg)) return siteOf({}, arg, fn);
  if (arg.length === 0) throw AppError.validation({ site: [`${fn}: name at least one site, domain or invoice`] }, `${fn}: name at least one site, domain or invoice`);
  if (arg.some((t) => (typeof t !== 'string' && typeof t !== 'number') || t === '')) throw AppError.validation({ site: ['must be a site, domain or invoice, or a list of them'] });
  return arg.map(String);
}

/** The options with the flags' plan added as siteinfo,plan (the flag wins over the options' own). */
function planOption(opts: unknown, plan: unknown): unknown {
  if (opts === undefined || opts === null || (Array.isArray(opts) && opts.length === 0)) return { 'siteinfo.plan': plan };
  if (typeof opts !== 'object' || Array.isArray(opts)) return opts;
  return { ...(opts as Record<string, unknown>), 'siteinfo.plan': plan };
}

const functions: CpcmdFunction[] = [
  {
    name: 'admin:collect',
    params: ['params', 'query', 'sites'],
    run: (ctx, [params, query, sites], call) => collectSites(ctx, { params: params === undefined ? [] : params, query, sites, strict: call.abortOnError === true }),
  },
  {
    name: 'admin:add-site',
    params: ['domain', 'admin', 'opts', 'flags'],
    run: async (ctx, [domain, admin, opts, rawFlags]) => {
      // ApisCP's $flags; a plain string is the plan name, as this function's fourth argument was before.
      const f = typeof rawFlags === 'string' ? { plan: rawFlags } : flags(rawFlags, 'flags');
      // force, bootstrap and notify are accepted for ApisCP's modules: every value is checked either
      // way, the site's domains are always queued for provisioning, and no mail is sent.
      checkFlags(f, ['plan', 'force', 'bootstrap', 'notify'], 'flags');
      await addSite(ctx, { domain, admin_user: admin, opts, plan: f.plan });
      return true;
    },
  },
  {
    name: 'admin:edit-site',
    params: ['site', 'opts', 'flags'],
    run: async (ctx, [site, opts, rawFlags]) => {
      const f = flags(rawFlags, 'flags');
      // backup and force are accepted for ApisCP's modules: every change is already in the audit log
      // with its before and after values, and every value is checked either way.
      checkFlags(f, ['reset', 'dry-run', 'dry_run', 'report', 'backup', 'force', 'reconfig', 'all', 'plan'], 'flags');
      const dryRun = truthy(flag(f, 'dry-run', 'dry_run'));
      const all = truthy(f.all);
      const target = all && (site === undefined || site === null || site === '') ? null : siteOf({}, site, 'admin:edit-site');
      const withPlan = f.plan === undefined || f.plan === null ? opts : planOption(opts, f.plan);
      const edited = await editSites(ctx, { target, opts: withPlan, reset: truthy(f.reset), dryRun, all, reconfig: truthy(f.reconfig) });
      // Billing modules expect ApisCP's true; `report` (EditDomain) asks for the changes made instead,
      // so the tool prints what was applied rather than a preview taken before.
      return dryRun || truthy(f.report) ? edited : true;
    },
  },
  {
    name: 'admin:deactivate-site',
    params: ['site', 'flags'],
    run: async (ctx, [site, rawFlags]) => {
      // A plain text second argument is the reason, as before flags existed (`cpcmd admin:deactivate-site SITE 'unpaid'`).
      const f = typeof rawFlags === 'string' ? { reason: rawFlags } : flags(rawFlags, 'flags');
      checkFlags(f, ['reason', 'template'], 'flags');
      await suspendSites(ctx, { target: targetsOf(site, 'admin:deactivate-site'), reason: f.reason, template: f.template });
      return true;
    },
  },
  {
    name: 'admin:activate-site',
    params: ['site'],
    run: async (ctx, [site]) => {
      await activateSites(ctx, { target: targetsOf(site, 'admin:activate-site') });
      return true;
    },
  },
  {
    name: 'admin:delete-site',
    params: ['site', 'flags'],
    run: async (ctx, [site, rawFlags]) => {
      const f = flags(rawFlags, 'flags');
      checkFlags(f, ['since', 'match', 'filter', 'dry-run', 'dry_run', 'force'], 'flags');
      // `filter` is DeleteDomain's other spelling of `match`.
      const match = flag(f, 'match');
      const filter = flag(f, 'filter');
      if (match !== undefined && filter !== undefined && match !== filter) throw AppError.validation({ flags: ['match and filter are one option: give one of them'] }, 'flags: match and filter are one option: give one of them');
      const dryRun = boolFlag(f, 'dry-run', 'dry_run');
      const force = boolFlag(f, 'force');
      const target = site === undefined || site === null || site === '' ? null : targetsOf(site, 'admin:delete-site');
      // The sites (to be) deleted, never null: a non-empty list is as truthy to a billing module as
      // ApisCP's true, and an empty one (nothing selected) is still an answer its client will not re-send.
      return deleteSites(ctx, { target, since: f.since, match: match ?? filter, dryRun, force });
    },
  },
  {
    name: 'admin:hijack',
    params: ['site', 'user', 'gate'],
    run: async (ctx, [site, user, gate]) => (await hijackSite(ctx, { site: siteOf({}, site, 'admin:hijack'), user, gate })).id,
  },
  { name: 'admin:list-plans', params: [], run: (ctx) => listSitePlans(ctx) },
  { name: 'admin:get-plan', params: ['name'], run: async (ctx, [name]) => (await getSitePlan(ctx, name)).services },
  {
    name: 'admin:get-usage',
    params: ['field', 'sites'],
    run: (ctx, [field, sites]) => getSiteUsage(ctx, { field, sites }),
  },
  {
    name: 'auth:is-inactive',
    params: [],
    // The server administrator (no -d SITE) is never inactive: ApisCP answers false, not an error.
    run: (ctx, _args, call) => isSiteInactive(ctx, call.site ?? null),
  },
  {
    name: 'auth:change-password',
    params: ['password', 'user', 'domain'],
    run: (ctx, [password, user, domain], call) => changeSitePassword(ctx, { site: siteOf(call, domain, 'auth:change-password'), password, user: user ?? call.user }),
  },
  { name: 'common:whoami', params: [], run: (ctx, _args, call) => whoami(ctx, call.site ?? null, call.user) },
  // Rampart: address bans are Hostplane's failed sign-in lockouts (core/rate-limits/address-lockouts.ts names the services).
  { name: 'rampart:is-banned', params: ['ip', 'jail'], run: (ctx, [ip, jail]) => isAddressLockedOut(ctx, { ip, service: jail }) },
  { name: 'rampart:banned-services', params: ['ip'], run: (ctx, [ip]) => lockedOutServices(ctx, { ip }) },
  { name: 'rampart:unban', params: ['ip', 'jail'], run: (ctx, [ip, jail]) => liftAddressLockout(ctx, { ip, service: jail }) },
  { name: 'rampart:get-jails', params: [], run: async () => [...LOCKOUT_SERVICES] },
  { name: 'scope:set', params: ['name', 'value'], variadic: true, run: (ctx, [name, ...rest]) => setScope(ctx, name, rest) },
  { name: 'scope:get', params: ['name'], variadic: true, run: (ctx, [name, ...rest]) => getScope(ctx, name, rest) },
];

const byName = new Map(functions.map((f) => [f.name, f]));

/** Every function, for the WSDL (`module_function_name`). */
export function cpcmdFunctions(): readonly CpcmdFunction[] {
  return functions;
}

/**
 * `admin:collect`, `admin_collect`, `admin:add-site` and `admin_add_site` all name one function:
 * ApisCP writes module functions with underscores, and cpcmd accepts dashes after the colon.
 */
export function findCpcmdFunction(name: string): CpcmdFunction | undefined {
  const m = /^([a-z][a-z0-9]*)(?::|_)([a-z0-9_-]+)$/i.exec(name.trim());
  if (!m) return undefined;
  return byName.get(`${m[1]!.toLowerCase()}:${m[2]!.toLowerCase().replace(/_/g, '-')}`);
}

/** The SOAP operation name of a function: `admin:add-site` → `admin_add_site`. */
export function soapName(fn: CpcmdFunction): string {
  return fn.name.replace(':', '_').replace(/-/g, '_');
}

/** Checks the call's shape, then runs it. Missing trailing arguments are the function's defaults. */
export async function callCpcmd(ctx: Ctx, name: string, args: unknown[], call: CallContext = {}): Promise<unknown> {
  const fn = findCpcmdFunction(name);
  if (!fn) throw AppError.notFound(`function ${name}`);
  if (!Array.isArray(args)) throw AppError.validation({ args: ['must be a list of arguments'] });
  if (!fn.variadic && args.length > fn.params.length) {
    throw AppError.validation({ args: [`${fn.name} takes at most ${fn.params.length} argument(s) (${fn.params.join(', ') || 'none'}), got ${args.length}`] }, `${fn.name} takes at most ${fn.params.length} argument(s) (${fn.params.join(', ') || 'none'}), got ${args.length}`);
  }
  if (fn.needsSite && !call.site) throw AppError.validation({ site: [`${fn.name} acts on a site: pass -d SITE`] }, `${fn.name} acts on a site: pass -d SITE`);
  return fn.run(ctx, args, call);
}
