import { AppError, addFieldError, fieldErrors, type FieldErrors } from '../../errors/app-error.js';
import { inTransaction, type Ctx } from '../context.js';
import { coerceParam } from './site.params.js';
import { type SiteSummary } from './site.schema.js';
import * as repo from './site.repository.js';
import { activateSites, deleteSites, summary, suspendSites } from './site-lifecycle.js';
import { firstMessage, inOrderOf, requireOperator } from './site-targets.js';

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
export function readInvoice(raw: unknown): { invoice: string } | { problem: string } {
  const r = coerceParam('billing', 'invoice', raw);
  if (!r.ok) return { problem: r.message };
  return r.value === null ? { problem: 'an invoice is required' } : { invoice: r.value as string };
}

export function checkedInvoice(raw: unknown, field = 'invoice'): string {
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
    // The group's sites go on as chosen: a group is not limited to the 1,000 targets one command may name.
    if (action === 'delete') return { invoice, action, dry_run: dryRun, sites: await deleteSites(tx, { target: { chosen: ids }, dryRun }) };
    const affected = sites.filter((s) => (action === 'suspend' ? s.status === 'active' : s.status === 'suspended'));
    if (dryRun || affected.length === 0) return { invoice, action, dry_run: dryRun, sites: affected.map(summary) };
    const target = affected.map((s) => s.id);
    if (action === 'suspend') await suspendSites(tx, { target: { chosen: target }, reason: input.reason });
    else await activateSites(tx, { target: { chosen: target } });
    return { invoice, action, dry_run: false, sites: inOrderOf(target, await repo.findSites(tx.db, { ids: target })).map(summary) };
  });
}
