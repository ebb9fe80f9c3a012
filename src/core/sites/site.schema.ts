/** Shapes the site use cases take and give; every ApisCP-style door (CLI, JSON, SOAP) maps these. */

/** A site id as the ApisCP door writes it: `site146` is client 146. */
export function siteName(id: number): string {
  return `site${id}`;
}

/** What a target names: a site, a domain or an invoice (as the command line and SOAP give it). */
export type SiteTarget = string | number;

/** Sites the core already chose (an account group): taken as they are, with no limit on their number. */
export interface ChosenSites {
  chosen: readonly number[];
}

/** Options as given: `{ 'siteinfo.domain': x }`, `{ 'siteinfo,domain': x }` or `{ siteinfo: { domain: x } }`. */
export type SiteOptions = Record<string, unknown>;

export interface AddSiteInput {
  domain?: unknown;
  admin_user?: unknown;
  opts?: unknown;
  plan?: unknown;
}

export interface AddedSite {
  id: number;
  site: string;
  domain: string;
  admin_user: string;
  /** The admin's initial password, shown once: null when the caller gave it (auth,tpasswd or auth,cpasswd). */
  password: string | null;
}

export interface ParamChange {
  param: string;
  before: unknown;
  after: unknown;
}

export interface EditedSite {
  site: string;
  domain: string | null;
  changes: ParamChange[];
}

export interface SiteSummary {
  site: string;
  id: number;
  domain: string | null;
  active: boolean;
  suspended_at: string | null;
  suspend_reason: string | null;
}

export interface DeleteSitesInput {
  /** One target, several (deleted together or not at all), or null to select by `since` alone. */
  target: SiteTarget | readonly SiteTarget[] | ChosenSites | null;
  /** Only sites suspended at or before this time spec ('now', '30 days', a unix time, an ISO date). */
  since?: unknown;
  /** Only sites whose suspension reason matches this regular expression. */
  match?: unknown;
  dryRun?: boolean;
  /** Delete a master even though subordinates it leaves behind are not deleted with it. */
  force?: boolean;
}

export interface PlanView {
  name: string;
  parent: string | null;
  /** Every service value the plan resolves to (its own, its parents', then the base). */
  services: Record<string, Record<string, unknown>>;
}
