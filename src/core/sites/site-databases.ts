import { AppError, addFieldError, fieldErrors } from '../../errors/app-error.js';
import { recordAudit } from '../audit/audit.service.js';
import { inTransaction, type Ctx } from '../context.js';
import { dbServiceValues, type DbService } from '../nodes/db-user-objects.js';
import { findDbUserSizes } from '../nodes/db-user-objects.repository.js';
import { syncSiteObjects } from '../nodes/site-objects.js';
import { findSites } from './site.repository.js';
import { loadPlans } from './site.plans.js';
import * as repo from './site-databases.repository.js';

// A site's MySQL and PostgreSQL databases as its client console manages them (docs/adr/0023): each
// name starts with the service's prefix, no more than dbasenum of them, made on the site's db node by
// its db_user object, which every creation and drop rewrites in its own transaction.

const ENGINES: Record<DbService, string> = { mysql: 'MySQL', pgsql: 'PostgreSQL' };
/** MariaDB takes 64 characters in a database name, PostgreSQL 63. */
const MAX_NAME: Record<DbService, number> = { mysql: 64, pgsql: 63 };

export type DatabaseState = 'applied' | 'pending' | 'failed';

export interface SiteDatabaseView {
  name: string;
  /** applied: the node made it; pending: not yet (or no db node holds the site yet); failed: the node could not (error says why). */
  state: DatabaseState;
  error: string | null;
  created_at: string;
}

export interface SiteDatabaseService {
  enabled: boolean;
  prefix: string | null;
  admin: string | null;
  max_databases: number | null;
  /** The total size of the site's databases of this engine as its database server last reported it; null until it does. */
  size_bytes: number | null;
  databases: SiteDatabaseView[];
}

async function siteOf(ctx: Ctx, clientId: number) {
  if (!(await repo.isHostingSite(ctx.db, clientId))) throw new AppError('not_found', 'this account is not a hosting site', { reason: 'not_a_site' });
  const [site] = await findSites(ctx.db, { ids: [clientId] });
  if (!site) throw AppError.notFound('site');
  return site;
}

function stateOf(row: repo.SiteDatabaseRow): { state: DatabaseState; error: string | null } {
  if (row.version === null || row.object_version === null) return { state: 'pending', error: null };
  if (row.applied_version !== null && row.applied_version >= row.version) return { state: 'applied', error: null };
  return row.error ? { state: 'failed', error: row.error } : { state: 'pending', error: null };
}

/** The site's databases of both engines with their state on the node. */
export async function listSiteDatabases(ctx: Ctx, clientId: number): Promise<Record<DbService, SiteDatabaseService>> {
  const site = await siteOf(ctx, clientId);
  const book = await loadPlans(ctx);
  const rows = await repo.listSiteDatabaseRows(ctx.db, clientId);
  const sizes = await findDbUserSizes(ctx.db, clientId);
  const service = (svc: DbService): SiteDatabaseService => {
    const v = dbServiceValues(book, site, svc);
    return {
      enabled: v.enabled,
      prefix: v.prefix,
      admin: v.user,
      max_databases: v.max,
      size_bytes: v.enabled ? (sizes.get(svc) ?? null) : null,
      databases: rows.filter((r) => r.engine === svc).map((r) => ({ name: r.name, ...stateOf(r), created_at: r.created_at.toISOString() })),
    };
  };
  return { mysql: service('mysql'), pgsql: service('pgsql') };
}

function engineOf(raw: unknown): DbService {
  if (raw === 'mysql' || raw === 'pgsql') return raw;
  throw AppError.validation({ engine: ['must be mysql or pgsql'] }, 'engine: must be mysql or pgsql');
}

function requireSiteAdmin(role: string): void {
  if (role !== 'client_admin') throw new AppError('forbidden', "only the site's administrator creates and drops databases");
}

/** Creates a database of the site: within its prefix and dbasenum; the node makes it. */
export async function createSiteDatabase(ctx: Ctx, input: { clientId: number; role: string; engine: unknown; name: unknown }): Promise<SiteDatabaseView> {
  requireSiteAdmin(input.role);
  const engine = engineOf(input.engine);
  const fields = fieldErrors();
  const name = input.name;
  if (typeof name !== 'string' || !/^[A-Za-z][A-Za-z0-9_]*$/.test(name) || name.length > MAX_NAME[engine]) {
    addFieldError(fields, 'name', `must start with a letter and use only letters, digits or "_" (at most ${MAX_NAME[engine]})`);
    throw AppError.validation(fields, `name: ${fields.name![0]}`);
  }
  return inTransaction(ctx, async (tx) => {
    await repo.lockSiteForDatabases(tx.db, input.clientId);
    const site = await siteOf(tx, input.clientId);
    const v = dbServiceValues(await loadPlans(tx), site, engine);
    if (!v.enabled || !v.prefix) throw new AppError('invalid_state', `${ENGINES[engine]} databases are not enabled for this site`);
    if (!name.startsWith(v.prefix) || name.length === v.prefix.length) throw AppError.validation({ name: [`must start with ${v.prefix} and go on after it`] }, `name: must start with ${v.prefix} and go on after it`);
    const count = await repo.countSiteDatabases(tx.db, input.clientId, engine);
    if (v.max !== null && count >= v.max) throw new AppError('invalid_state', `this site may have at most ${v.max} ${ENGINES[engine]} database(s); drop one first`, { reason: 'dbasenum' });
    if (!(await repo.insertSiteDatabase(tx.db, input.clientId, engine, name, tx.clock()))) throw new AppError('conflict', `a ${ENGINES[engine]} database named ${name} already exists`);
    await syncSiteObjects(tx, [input.clientId], { place: true });
    await recordAudit(tx, { action: 'client.updated', targetType: 'client', targetId: input.clientId, resellerId: site.reseller_id, after: { [`${engine},database`]: name } });
    const row = (await repo.listSiteDatabaseRows(tx.db, input.clientId)).find((r) => r.engine === engine && r.name === name)!;
    return { name, ...stateOf(row), created_at: row.created_at.toISOString() };
  });
}

/** Drops one of the site's own databases: the node dumps it to its archives, then drops it. */
export async function dropSiteDatabase(ctx: Ctx, input: { clientId: number; role: string; engine: unknown; name: unknown }): Promise<{ name: string; dropped: true }> {
  requireSiteAdmin(input.role);
  const engine = engineOf(input.engine);
  const name = input.name;
  if (typeof name !== 'string' || name.length > 64) throw AppError.notFound(`${ENGINES[engine]} database`);
  return inTransaction(ctx, async (tx) => {
    await repo.lockSiteForDatabases(tx.db, input.clientId);
    const site = await siteOf(tx, input.clientId);
    // Another site's database is not this site's to name: the same answer as one that does not exist.
    if (!(await repo.deleteSiteDatabase(tx.db, input.clientId, engine, name))) throw AppError.notFound(`${ENGINES[engine]} database ${name}`);
    await syncSiteObjects(tx, [input.clientId]);
    await recordAudit(tx, { action: 'client.updated', targetType: 'client', targetId: input.clientId, resellerId: site.reseller_id, before: { [`${engine},database`]: name }, after: { [`${engine},database`]: null } });
    return { name, dropped: true as const };
  });
}
