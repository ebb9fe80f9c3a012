import { z } from 'zod';
import { AppError } from '../../errors/app-error.js';
import { getClientForOperator } from '../clients/client.service.js';
import type { MxRecord } from '../clients/client.schema.js';
import type { Ctx } from '../context.js';
import { mxRecordsFor } from '../domains/domain.rules.js';
import * as familyRepo from '../family/family.repository.js';
import { cancelFamilyRequestOf } from '../family/family.service.js';
import { getSiteDashboard, type SiteDashboard } from '../sites/site.service.js';
import { listUserSubscriptions } from '../subscriptions/subscription.repository.js';
import { parseInput } from '../shared/validation.js';
import * as repo from './sso.repository.js';

/**
 * What a client session (SSO link, ApisCP hijack, instance owner link, password sign-in) sees of its
 * own client: the client area of the web console. Every function takes the session's client id, so
 * nothing of another client can be named.
 */

/** Where the family-code activation page lives; the client area shows a code as this link. */
export const ACTIVATE_PATH = '/console/activate';

export interface ClientAreaHeader {
  id: number;
  name: string | null;
  status: string;
  kind: 'site' | 'instance';
  package: { uid: string; name: string } | null;
  /** The end user whose subscriptions belong to this client (granted by a subscription or linked by an operator). */
  has_owner: boolean;
}

async function header(ctx: Ctx, clientId: number) {
  const row = await repo.findClientHeader(ctx.db, clientId);
  if (!row) throw AppError.notFound('client');
  return row;
}

export async function getClientAreaHeader(ctx: Ctx, clientId: number): Promise<ClientAreaHeader> {
  const row = await header(ctx, clientId);
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    kind: row.is_instance ? 'instance' : 'site',
    package: row.package_uid && row.package_name ? { uid: row.package_uid, name: row.package_name } : null,
    has_owner: row.owner_user_id !== null,
  };
}

/** The sites this session may switch to under the SSO rules (core/sites switchSite decides the switch itself). */
export async function getClientAreaSites(ctx: Ctx, session: { clientId: number; originClientId: number | null; login: string }): Promise<Pick<SiteDashboard, 'site' | 'subordinates' | 'origin'>> {
  const view = await getSiteDashboard(ctx, session);
  return view ? { site: view.site, subordinates: view.subordinates, origin: view.origin } : { site: `site${session.clientId}`, subordinates: [], origin: null };
}

const pageInput = z
  .object({
    search: z.string().trim().max(254).optional(),
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
    limit: z.coerce.number().int().min(1).max(100).default(25),
  })
  .strict();

export interface ClientAreaDomain {
  name: string;
  status: string;
  mail_servers: string[];
  mx_records: MxRecord[];
}

/** The client's live domains with their status, mail servers and the MX records to publish for each. */
export async function listClientAreaDomains(ctx: Ctx, clientId: number, raw: unknown): Promise<{ domains: ClientAreaDomain[]; total: number; next_offset: number | null }> {
  const q = parseInput(pageInput, raw ?? {});
  const client = await getClientForOperator(ctx, clientId);
  const needle = q.search?.toLowerCase();
  const matching = needle ? client.domains.filter((d) => d.name.includes(needle)) : client.domains;
  const page = matching.slice(q.offset, q.offset + q.limit);
  return {
    domains: page.map((d) => ({ name: d.name, status: d.status, mail_servers: d.mail_servers, mx_records: mxRecordsFor(ctx.settings, d.name) })),
    total: matching.length,
    next_offset: q.offset + q.limit < matching.length ? q.offset + q.limit : null,
  };
}

/** The subscriptions of the client's owner, newest start first; none when the client has no owner. */
export async function listClientAreaSubscriptions(ctx: Ctx, clientId: number) {
  const row = await header(ctx, clientId);
  if (row.owner_user_id === null) return [];
  const now = ctx.clock();
  return (await listUserSubscriptions(ctx.db, row.owner_user_id)).map((s) => ({
    id: s.id,
    code: s.code,
    start_time: s.start_time,
    end_time: s.end_time,
    is_paid: s.is_paid,
    type: s.type,
    running: s.start_time <= now && s.end_time > now,
  }));
}

const codesInput = pageInput.extend({ status: z.enum(['created', 'accepted', 'canceled'], { error: 'must be created, accepted or canceled' }).optional() });

/** The family codes the client's owner holds to share, with their state and activation link. */
export async function listClientAreaFamilyCodes(ctx: Ctx, clientId: number, raw: unknown) {
  const q = parseInput(codesInput, raw ?? {});
  const row = await header(ctx, clientId);
  if (row.owner_user_id === null) return { codes: [], counts: {}, next_offset: null };
  const { rows, more } = await familyRepo.pageRequestsOfMaster(ctx.db, row.owner_user_id, { offset: q.offset, limit: q.limit, ...(q.status ? { status: q.status } : {}), ...(q.search ? { search: q.search } : {}) });
  const base = ctx.settings.publicUrl.replace(/\/+$/, '');
  return {
    codes: rows.map((r) => ({ ...r, activation_url: `${base}${ACTIVATE_PATH}?code=${encodeURIComponent(r.code)}` })),
    counts: await familyRepo.countRequestsOfMasterByStatus(ctx.db, row.owner_user_id),
    next_offset: more ? q.offset + q.limit : null,
  };
}

/**
 * Takes one of the owner's codes back, as REMP's customer-zone widget lets the parent: an unused one
 * can no longer be activated; an accepted one ends its holder's subscription now and a fresh code
 * takes its place. Another owner's code is not found.
 */
export async function cancelClientAreaFamilyCode(ctx: Ctx, clientId: number, code: string) {
  const row = await header(ctx, clientId);
  if (row.owner_user_id === null) throw new AppError('not_found', `Family request code [${code}] not found`, { reason: 'family_request_not_found' });
  return cancelFamilyRequestOf(ctx, row.owner_user_id, { code });
}
