import { AppError, addFieldError, fieldErrors, type FieldErrors } from '../../errors/app-error.js';
import { auditRowWithoutTarget, recordAudit } from '../audit/audit.service.js';
import { inTransaction, scopeOf, type Ctx, type TenantScope } from '../context.js';
import * as domainRepo from '../domains/domain.repository.js';
import { checkDomainSet, type DomainSpec } from '../domains/domain.rules.js';
import { enqueueRelayChanges, relayJobs, type RelayChange } from '../domains/domain-provisioning.js';
import { healthySince, nodesWantNewClients } from '../nodes/placement.js';
import { syncRelayObjects } from '../nodes/relay-objects.js';
import { syncSiteObjects } from '../nodes/site-objects.js';
import * as packageRepo from '../packages/package.repository.js';
import type { Package } from '../packages/package.schema.js';
import { uniqueViolation } from '../shared/db-errors.js';
import { normalizeDomainName } from '../shared/domain-name.js';
import { parseInput } from '../shared/validation.js';
import { emitEvent, hasWebhookSubscribers } from '../webhooks/webhook.events.js';
import * as repo from './client.repository.js';
import {
  createClientInput,
  updateClientInput,
  type Client,
  type ClientRef,
  type CreateClientInput,
  type UpdateClientInput,
} from './client.schema.js';

const NOT_FOUND = 'client';

/** Finds the client a reference names within the actor's scope; anything else is a 404. */
export async function resolveClientId(ctx: Ctx, ref: ClientRef): Promise<number> {
  const scope = scopeOf(ctx.actor);
  if ('id' in ref) {
    const client = await repo.findClientById(ctx.db, scope, ref.id);
    if (!client) throw AppError.notFound(NOT_FOUND);
    return client.id;
  }
  const name = normalizeDomainName(ref.domain);
  const id = name ? await repo.findClientIdByDomain(ctx.db, scope, name) : undefined;
  if (id === undefined) throw AppError.notFound(NOT_FOUND);
  return id;
}

export async function getClient(ctx: Ctx, ref: ClientRef): Promise<Client> {
  const scope = scopeOf(ctx.actor);
  if ('id' in ref) {
    const client = await repo.findClientById(ctx.db, scope, ref.id);
    if (!client) throw AppError.notFound(NOT_FOUND);
    return client;
  }
  const id = await resolveClientId(ctx, ref);
  return (await repo.findClientById(ctx.db, scope, id))!;
}

/** Operators may also look at cancelled clients. */
export async function getClientForOperator(ctx: Ctx, id: number): Promise<Client> {
  const client = await repo.findClientById(ctx.db, { all: true }, id, { includeGone: true });
  if (!client) throw AppError.notFound(NOT_FOUND);
  return client;
}

export const LIST_BATCH = 500;

/**
 * Streams the actor's live clients in id order, a batch at a time, so a reseller with tens of
 * thousands of clients never needs them all in memory at once, and on the embedded database the
 * requests that arrive meanwhile get the one connection between two batches.
 */
export async function* listClients(ctx: Ctx, batchSize = LIST_BATCH): AsyncGenerator<Client[]> {
  const scope = scopeOf(ctx.actor);
  let afterId: number | undefined;
  for (;;) {
    const page = await repo.listClients(ctx.db, scope, { afterId, limit: batchSize });
    if (page.length) yield page;
    if (page.length < batchSize) return;
    afterId = page[page.length - 1]!.id;
  }
}

export interface ClientSearch {
  afterId?: number;
  limit: number;
  resellerId?: number;
  status?: Client['status'];
  search?: string;
  packageUid?: string;
  invoice?: string;
}

export async function searchClients(ctx: Ctx, query: ClientSearch): Promise<Client[]> {
  return repo.listClients(ctx.db, scopeOf(ctx.actor), query, { includeGone: ctx.actor.kind === 'operator' });
}

/** The package a reseller may sell: it must exist and share a tag with the reseller (untagged resellers sell all). */
async function resolveSellablePackage(ctx: Ctx, uid: string, fields: FieldErrors): Promise<Package | undefined> {
  const resellerId = ctx.actor.kind === 'reseller' ? ctx.actor.resellerId : undefined;
  const plan = resellerId !== undefined ? await packageRepo.findPlanForReseller(ctx.db, uid, resellerId) : await packageRepo.findPlanByUid(ctx.db, uid);
  return sellablePackage(plan, fields);
}

function sellablePackage(plan: (Package & { reseller_tags?: string[] | null }) | undefined, fields: FieldErrors): Package | undefined {
  if (!plan) {
    addFieldError(fields, 'package_uid', 'does not exist');
    return undefined;
  }
  const tags = (plan as { reseller_tags?: string[] | null }).reseller_tags ?? [];
  if (tags.length > 0 && !plan.tags.some((t) => tags.includes(t))) {
    addFieldError(fields, 'package_uid', 'is not available to your account');
    return undefined;
  }
  return plan;
}

function checkUserCount(plan: Package | undefined, userCount: number | undefined, fields: FieldErrors): void {
  const max = plan?.limits.max_users;
  if (userCount !== undefined && max !== undefined && userCount > max) {
    addFieldError(fields, 'user_count', `must be less than or equal to ${max} for package ${plan!.uid}`);
  }
}

async function checkNamesFree(ctx: Ctx, specs: DomainSpec[], fields: FieldErrors, exceptClientId?: number): Promise<void> {
  const taken = await domainRepo.findTakenNames(
    ctx.db,
    specs.map((s) => s.name),
    exceptClientId,
  );
  for (const name of taken) addFieldError(fields, 'domains.name', `${name} has already been taken`);
}

function throwIfAny(fields: FieldErrors): void {
  if (Object.keys(fields).length) throw AppError.validation(fields);
}

/** A concurrent create that took the same name first loses here, at the unique index. */
function rethrowTakenName(e: unknown): never {
  if (uniqueViolation(e) === 'domains_live_name_key') {
    const detail = (e as { detail?: string }).detail ?? '';
    const name = /\(name\)=\(([^)]+)\)/.exec(detail)?.[1];
    throw AppError.validation({ 'domains.name': [name ? `${name} has already been taken` : 'has already been taken'] });
  }
  throw e;
}

/** What the audit log keeps of a client: its settings and domain set, not the domains' setup status. */
function auditView(c: Pick<Client, 'package_uid' | 'name' | 'email_address' | 'user_count' | 'status'> & { domains: { name: string; mail_servers: string[] }[] }) {
  return {
    package_uid: c.package_uid,
    name: c.name,
    email_address: c.email_address,
    user_count: c.user_count,
    status: c.status,
    domains: c.domains.map((d) => ({ name: d.name, mail_servers: d.mail_servers })),
  };
}

function resellerIdOf(ctx: Ctx): number | null {
  return ctx.actor.kind === 'reseller' ? ctx.actor.resellerId : null;
}

export async function createClient(ctx: Ctx, raw: CreateClientInput): Promise<Client> {
  const input = parseInput(createClientInput, raw);
  const fields: FieldErrors = fieldErrors();
  const resellerId = resellerIdOf(ctx);
  // A reseller's create (the hot path) learns the package, its tags, whether a webhook listens and
  // whether a node could take the site in one round trip.
  const found = resellerId !== null ? await packageRepo.findPlanForNewClient(ctx.db, input.package_uid, resellerId, 'client.created', healthySince(ctx)) : undefined;
  const plan = resellerId !== null ? sellablePackage(found, fields) : await resolveSellablePackage(ctx, input.package_uid, fields);
  checkUserCount(plan, input.user_count, fields);
  const specs = checkDomainSet(input.domains, plan, fields);
  throwIfAny(fields);
  const domains = specs.map((s) => ({ name: s.name, mail_servers: s.mail_servers ?? [] }));
  const row = { reseller_id: resellerId, plan_id: plan!.id, name: input.name ?? null, email_address: input.email_address ?? null, user_count: input.user_count };
  const created = { package_uid: plan!.uid, name: row.name, email_address: row.email_address, user_count: row.user_count, status: 'active' as const, domains };
  // The event is one more part of the creating statement, which fills in the new client's id.
  const audit = auditRowWithoutTarget(ctx, { action: 'client.created', targetType: 'client', resellerId, after: auditView(created) });
  let id: number;
  try {
    // The unique index decides taken names, so the common case costs no look-up and races are safe.
    const jobs = relayJobs(
      domains.map((d) => ({ change: 'provision' as const, domain: d.name })),
      { clientId: null, resellerId },
    );
    const insert = (c: Ctx) => repo.insertClientWithDomains(c.db, row, domains, jobs, audit, c.clock());
    // With a webhook listening, its delivery must commit with the client; with a node that could serve
    // it or relay nodes, its placement and desired state do: one transaction instead of one statement.
    const webhook = found ? found.webhook_subscribed : await hasWebhookSubscribers(ctx.db, 'client.created', resellerId);
    id =
      webhook || (found ? found.placement_possible || found.relay_nodes : await nodesWantNewClients(ctx))
        ? await inTransaction(ctx, async (tx) => {
            const newId = await insert(tx);
            await syncSiteObjects(tx, [newId], { place: true });
            await syncRelayObjects(
              tx,
              domains.map((d) => d.name),
            );
            if (webhook) await emitEvent(tx, { type: 'client.created', resellerId, data: { object: 'client', id: String(newId), reseller_id: resellerId, changes: JSON.parse(audit.changes) as unknown } });
            return newId;
          })
        : await insert(ctx);
  } catch (e) {
    if (uniqueViolation(e) !== 'domains_live_name_key' || ctx.db.isTransaction) rethrowTakenName(e);
    await checkNamesFree(ctx, specs, fields);
    if (Object.keys(fields).length === 0) rethrowTakenName(e);
    throw AppError.validation(fields);
  }
  return {
    id,
    reseller_id: resellerId,
    package_uid: plan!.uid,
    name: row.name,
    email_address: row.email_address,
    user_count: row.user_count,
    status: 'active',
    domains: domains.map((d) => ({ ...d, status: 'initializing' as const })),
  };
}

/** Partial update; a `domains` list replaces the set (added, kept, removed) in one transaction. */
export async function updateClient(ctx: Ctx, ref: ClientRef, raw: UpdateClientInput): Promise<Client> {
  const input = parseInput(updateClientInput, raw);
  return inTransaction(ctx, async (tx) => {
    const scope: TenantScope = scopeOf(tx.actor);
    const current = await getClient(tx, ref);
    const fields: FieldErrors = fieldErrors();
    const plan =
      input.package_uid !== undefined
        ? await resolveSellablePackage(tx, input.package_uid, fields)
        : current.package_uid
          ? await packageRepo.findPlanByUid(tx.db, current.package_uid)
          : undefined;
    checkUserCount(plan, input.user_count ?? (input.package_uid !== undefined ? current.user_count : undefined), fields);
    const specs = input.domains ? checkDomainSet(input.domains, plan, fields) : undefined;
    if (specs) await checkNamesFree(tx, specs, fields, current.id);
    throwIfAny(fields);

    const now = tx.clock();
    try {
      await repo.updateClientRow(
        tx.db,
        current.id,
        {
          ...(plan && input.package_uid !== undefined ? { plan_id: plan.id } : {}),
          ...(input.user_count !== undefined ? { user_count: input.user_count } : {}),
          ...(input.name !== undefined ? { name: input.name ?? null } : {}),
          ...(input.email_address !== undefined ? { email_address: input.email_address ?? null } : {}),
        },
        now,
      );
      if (specs) await replaceDomains(tx, current.id, current.reseller_id, specs, now);
    } catch (e) {
      rethrowTakenName(e);
    }
    // A new package may turn the web role on (placing the client) or off; new domains reach its node.
    await syncSiteObjects(tx, [current.id], { place: true });
    const updated = (await repo.findClientById(tx.db, scope, current.id))!;
    await recordAudit(tx, { action: 'client.updated', targetType: 'client', targetId: current.id, resellerId: current.reseller_id, before: auditView(current), after: auditView(updated) });
    return updated;
  });
}

async function replaceDomains(ctx: Ctx, clientId: number, resellerId: number | null, specs: DomainSpec[], now: Date): Promise<void> {
  const existing = await domainRepo.findLiveDomainsOfClient(ctx.db, clientId);
  const wanted = new Map(specs.map((s, position) => [s.name, { ...s, position }]));
  const removed = existing.filter((d) => !wanted.has(d.name));
  await domainRepo.deleteDomains(
    ctx.db,
    removed.map((d) => d.id),
  );
  const changes: { change: RelayChange; domain: string }[] = removed.map((d) => ({ change: 'deprovision', domain: d.name }));
  const added: { client_id: number; reseller_id: number | null; name: string; position: number; mail_servers: string[] }[] = [];
  for (const [name, spec] of wanted) {
    const kept = existing.find((d) => d.name === name);
    if (!kept) {
      added.push({ client_id: clientId, reseller_id: resellerId, name, position: spec.position, mail_servers: spec.mail_servers ?? [] });
      changes.push({ change: 'provision', domain: name });
      continue;
    }
    const mailChanged = spec.mail_servers !== undefined && spec.mail_servers.join(' ') !== kept.mail_servers.join(' ');
    if (mailChanged) changes.push({ change: 'update', domain: name });
    if (mailChanged || kept.position !== spec.position) {
      await domainRepo.updateDomainRow(ctx.db, kept.id, { position: spec.position, ...(mailChanged ? { mail_servers: spec.mail_servers! } : {}) }, now);
    }
  }
  await domainRepo.insertDomains(ctx.db, added, now);
  await enqueueRelayChanges(ctx, changes, { clientId, resellerId });
}

/** Cancelling keeps the data (an operator can restore it) but frees the client's domain names. */
export async function cancelClient(ctx: Ctx, ref: ClientRef): Promise<Client> {
  return inTransaction(ctx, async (tx) => {
    const client = await getClient(tx, ref);
    const cancelled = await repo.cancelClientRow(tx.db, client.id, tx.clock());
    if (!cancelled) throw new AppError('invalid_state', 'Could not cancel account');
    await syncSiteObjects(tx, [client.id]);
    await enqueueRelayChanges(
      tx,
      client.domains.map((d) => ({ change: 'deprovision' as const, domain: d.name })),
      { clientId: client.id, resellerId: client.reseller_id },
    );
    await recordAudit(tx, {
      action: 'client.cancelled',
      targetType: 'client',
      targetId: client.id,
      resellerId: client.reseller_id,
      before: { status: client.status, domains: auditView(client).domains },
      after: { status: 'cancelled', domains: [] },
    });
    return { ...client, status: 'cancelled' as const };
  });
}

/** Operator undo of a cancel, as long as no live client took one of its domain names meanwhile. */
export async function restoreClient(ctx: Ctx, id: number): Promise<Client> {
  return inTransaction(ctx, async (tx) => {
    const row = await repo.findCancelledClient(tx.db, id);
    if (!row) throw AppError.notFound(NOT_FOUND);
    if (row.status !== 'cancelled' || !row.cancelled_at) throw new AppError('invalid_state', `client is ${row.status}, not cancelled`);
    const domains = await repo.findDomainsReleasedAt(tx.db, id, row.cancelled_at);
    const taken = await domainRepo.findTakenNames(
      tx.db,
      domains.map((d) => d.name),
    );
    if (taken.length) throw new AppError('conflict', `domains now held by another client: ${taken.join(', ')}`, { fields: { 'domains.name': taken.map((n) => `${n} has already been taken`) } });
    await repo.restoreClientRow(
      tx.db,
      id,
      domains.map((d) => d.id),
      tx.clock(),
    );
    const restored = (await repo.findClientById(tx.db, { all: true }, id))!;
    await syncSiteObjects(tx, [id], { place: true });
    await enqueueRelayChanges(
      tx,
      domains.map((d) => ({ change: 'provision' as const, domain: d.name })),
      { clientId: id, resellerId: restored.reseller_id },
    );
    await recordAudit(tx, {
      action: 'client.restored',
      targetType: 'client',
      targetId: id,
      resellerId: restored.reseller_id,
      before: { status: row.status, domains: [] },
      after: { status: restored.status, domains: auditView(restored).domains },
    });
    return restored;
  });
}
