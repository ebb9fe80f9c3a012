import { AppError, fieldErrors, type FieldErrors } from '../../errors/app-error.js';
import type { DomainStatus } from '../../db/schema.js';
import { recordAudit } from '../audit/audit.service.js';
import { domainStatuses, updateDomainInput, type Domain, type UpdateDomainInput } from '../clients/client.schema.js';
import { inTransaction, scopeOf, type Ctx } from '../context.js';
import * as packageRepo from '../packages/package.repository.js';
import { normalizeDomainName } from '../shared/domain-name.js';
import { parseInput } from '../shared/validation.js';
import * as repo from './domain.repository.js';
import { checkMailServers } from './domain.rules.js';
import { enqueueRelayChanges } from './domain-provisioning.js';

async function findDomain(ctx: Ctx, name: string) {
  const normalized = normalizeDomainName(name);
  const row = normalized ? await repo.findLiveDomain(ctx.db, scopeOf(ctx.actor), normalized) : undefined;
  if (!row) throw AppError.notFound('domain');
  return row;
}

const toDomain = (row: { name: string; status: DomainStatus; mail_servers: string[] }): Domain => ({
  name: row.name,
  status: row.status,
  mail_servers: row.mail_servers,
});

export async function getDomain(ctx: Ctx, name: string): Promise<Domain> {
  return toDomain(await findDomain(ctx, name));
}

export async function getDomainStatus(ctx: Ctx, name: string): Promise<DomainStatus> {
  return (await findDomain(ctx, name)).status;
}

/** Only mail servers can change on a domain; how many depends on the client's package. */
export async function updateDomain(ctx: Ctx, name: string, raw: UpdateDomainInput): Promise<Domain> {
  const input = parseInput(updateDomainInput, raw);
  return inTransaction(ctx, async (tx) => {
    const row = await findDomain(tx, name);
    const plan = row.plan_id !== null ? await packageRepo.findPlanById(tx.db, row.plan_id) : undefined;
    const fields: FieldErrors = fieldErrors();
    const servers = checkMailServers(input.mail_servers, plan, fields);
    if (Object.keys(fields).length) throw AppError.validation(fields);
    await repo.updateDomainRow(tx.db, row.id, { mail_servers: servers }, tx.clock());
    await enqueueRelayChanges(tx, [{ change: 'update', domain: row.name }], { clientId: row.client_id, resellerId: row.reseller_id });
    await recordAudit(tx, { action: 'domain.updated', targetType: 'domain', targetId: row.name, resellerId: row.reseller_id, before: { mail_servers: row.mail_servers }, after: { mail_servers: servers } });
    return toDomain({ ...row, mail_servers: servers });
  });
}

/** Operators set the status by hand until provisioning jobs drive it. */
export async function setDomainStatus(ctx: Ctx, name: string, status: string): Promise<Domain> {
  if (!(domainStatuses as readonly string[]).includes(status)) {
    throw AppError.validation({ status: [`must be one of ${domainStatuses.join(', ')}`] });
  }
  return inTransaction(ctx, async (tx) => {
    const row = await findDomain(tx, name);
    await repo.updateDomainRow(tx.db, row.id, { status: status as DomainStatus }, tx.clock());
    await recordAudit(tx, { action: 'domain.status_set', targetType: 'domain', targetId: row.name, resellerId: row.reseller_id, before: { status: row.status }, after: { status } });
    return toDomain({ ...row, status: status as DomainStatus });
  });
}
