import { AppError } from '../../errors/app-error.js';
import { recordAudit } from '../audit/audit.service.js';
import { inTransaction, type Ctx } from '../context.js';
import { openSession } from '../sso/sso.service.js';
import { siteName, type SiteTarget } from './site.schema.js';
import * as repo from './site.repository.js';
import { SUBORDINATE_SSO_KEY } from './site-scopes.js';
import { requireSiteManager, resolveOne, siteOwner } from './site-targets.js';

/** Hijacked sessions last as long as console sessions. */
export const HIJACK_GATES = ['SOAP', 'UI', 'DAV', 'API', 'CLI'];

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
  requireSiteManager(ctx);
  if (input.user !== undefined && input.user !== null && typeof input.user !== 'string') throw AppError.validation({ user: ['must be a user name'] });
  if (input.gate !== undefined && input.gate !== null && (typeof input.gate !== 'string' || !HIJACK_GATES.includes(input.gate.toUpperCase()))) throw AppError.validation({ gate: [`must be one of ${HIJACK_GATES.join(', ')}`] });
  const site = await resolveOne(ctx, input.site);
  if (site.status !== 'active') throw new AppError('invalid_state', `${siteName(site.id)} is suspended; it cannot be entered`);
  const user = await repo.findSiteUser(ctx.db, site.id, (input.user as string | undefined) ?? null);
  if (!user || user.disabled_at) throw AppError.notFound(`user ${String(input.user ?? 'admin')} of ${siteName(site.id)}`);
  return inTransaction(ctx, async (tx) => {
    // A reseller's session into its client ends when the reseller is suspended, like its login links.
    const s = await openSiteSession(tx, user.id, site.id, null, siteOwner(tx) ?? null);
    await recordAudit(tx, { action: 'client.hijacked', targetType: 'client', targetId: site.id, resellerId: site.reseller_id, after: { user: user.login, gate: typeof input.gate === 'string' ? input.gate.toUpperCase() : 'API', session_expires_at: s.expires_at } });
    return { ...s, site: siteName(site.id), user: user.login };
  });
}

/** A session on the site, in ApisCP's shape (the session id the panel takes as esprit_id). */
export async function openSiteSession(tx: Ctx, userId: number, siteId: number, originId: number | null, viaResellerId: number | null = null): Promise<{ id: string; expires_at: string }> {
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
  // Invoices are the billing system's numbers, unique only within one reseller: a group never spans two.
  const intoSubordinate = from.invoice !== null && to.parent_invoice === from.invoice && to.id !== from.id && to.reseller_id === from.reseller_id;
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
  const subordinates = switching && site.invoice ? (await repo.findSites(ctx.db, { parentInvoice: site.invoice, active: true }, 200)).filter((s) => s.id !== site.id && s.reseller_id === site.reseller_id) : [];
  const [origin] = switching && session.originClientId !== null ? await repo.findSites(ctx.db, { ids: [session.originClientId], active: true }) : [];
  return {
    site: siteName(site.id),
    domain: site.domains[0] ?? null,
    user: session.login,
    subordinates: subordinates.map((s) => ({ site: siteName(s.id), domain: s.domains[0] ?? null })),
    origin: origin ? { site: siteName(origin.id), domain: origin.domains[0] ?? null } : null,
  };
}
