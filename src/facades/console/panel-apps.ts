/**
 * ApisCP's panel apps, as billing modules link to them (`/apps/<app>?esprit_id=<session id>`), and the
 * client-console page each lands on. WHMCS's SSO whitelist names usermanage, mailboxroutes, vacation,
 * filemanager, domainmanager, bandwidthbd, crontab, subdomains, changemysql, phpmyadmin, webapps,
 * terminal and whitelist (anything else: dashboard); Clientexec opens dashboard. An app this panel
 * has no tool for lands on the overview with a notice naming it; an unknown name on the overview.
 */
export const PANEL_APPS: Readonly<Record<string, { page: string; missing?: true }>> = {
  dashboard: { page: '' },
  usermanage: { page: 'users' },
  // Files are managed on the hosting node; the panel shows their room against the quota.
  filemanager: { page: 'usage' },
  bandwidthbd: { page: 'usage' },
  databases: { page: 'databases' },
  changemysql: { page: 'databases' },
  phpmyadmin: { page: 'databases' },
  mailboxes: { page: 'mail-servers' },
  mailboxroutes: { page: 'mail-servers' },
  vacation: { page: 'mail-servers' },
  domainmanager: { page: 'domains' },
  subdomains: { page: 'domains' },
  webapps: { page: 'domains' },
  crontab: { page: '', missing: true },
  terminal: { page: '', missing: true },
  whitelist: { page: '', missing: true },
};

/** The client-console path an app lands on (under /console/my); never a page that does not exist. */
export function panelAppPath(app: string, base: string): string {
  const entry = Object.hasOwn(PANEL_APPS, app) ? PANEL_APPS[app]! : PANEL_APPS.dashboard!;
  const path = entry.page ? `${base}/${entry.page}` : base;
  return entry.missing ? `${path}?missing=${encodeURIComponent(app)}` : path;
}
