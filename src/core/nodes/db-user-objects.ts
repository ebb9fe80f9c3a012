import { AppError } from '../../errors/app-error.js';
import type { Ctx } from '../context.js';
import { reservedDbUser } from '../sites/site.params.js';
import { loadPlans, valueReader, type PlanBook } from '../sites/site.plans.js';
import { siteSecretContext } from '../sites/site-secrets.js';
import { DbUserSpec, type DbUserSpec as DbUserSpecType } from './agent-wire.schema.js';
import { placeOnDbNodes } from './db-placement.js';
import { scramSha256Verifier } from '../shared/scram.js';
import { mysqlNativeHash, passwordRef } from './db-password-hash.js';
import { findDbUserSources, forgetDatabases, stampDatabaseVersions, type DbUserSource } from './db-user-objects.repository.js';
import { upsertNodeObjects, type NodeObjectWrite } from './node-objects.repository.js';

// Desired state of the db role for hosting sites (docs/adr/0023-site-databases.md): a site whose
// resolved mysql,enabled / pgsql,enabled is 1 has a database user on its db node, one `db_user`
// object per engine. Made in the same transaction as every change to the site (syncSiteObjects calls
// this), like the web role's objects; a password is hashed here only when it was set again.

export type DbService = 'mysql' | 'pgsql';
export const DB_SERVICES: readonly DbService[] = ['mysql', 'pgsql'];
const ENGINE: Record<DbService, DbUserSpecType['engine']> = { mysql: 'mariadb', pgsql: 'pgsql' };

/** The object id of a site's database user of one engine. */
export function dbUserObjectId(siteId: number, service: DbService): string {
  return `site${siteId}-${service}`;
}

/** JSON with object keys sorted, so a spec read back from jsonb compares equal to the one made here. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

function siteView(src: DbUserSource) {
  return { domains: [], admin_user: src.admin_user, email_address: null, plan_id: src.plan_id, plan_uid: null, invoice: null, parent_invoice: null, user_count: 0, service_meta: src.service_meta ?? {} };
}

/** Whether a client's resolved values ask for a database user of this engine. */
export function wantsDbService(book: PlanBook, src: Pick<DbUserSource, 'plan_id' | 'service_meta' | 'admin_user'>, service: DbService): boolean {
  return valueReader(book, service, 'enabled')({ ...siteView(src as DbUserSource) }) === 1;
}

/** What a site's database service resolves to: the names its db_user object carries. */
export function dbServiceValues(book: PlanBook, src: Pick<DbUserSource, 'plan_id' | 'service_meta' | 'admin_user'>, service: DbService): { enabled: boolean; prefix: string | null; user: string | null; max: number | null } {
  const view = siteView(src as DbUserSource);
  const read = (param: string) => valueReader(book, service, param)(view);
  const max = read('dbasenum');
  return { enabled: read('enabled') === 1, prefix: (read('dbaseprefix') as string | null) ?? null, user: (read('dbaseadmin') as string | null) ?? null, max: typeof max === 'number' ? max : null };
}

async function desiredSpec(tx: Ctx, src: DbUserSource, book: PlanBook, service: DbService, existing: unknown): Promise<DbUserSpecType | null> {
  if ((src.status !== 'active' && src.status !== 'suspended') || src.db_node_id === null) return null;
  const v = dbServiceValues(book, src, service);
  if (!v.enabled || !v.prefix || !v.user) return null;
  const databases = src.databases.filter((d) => d.engine === service).map((d) => d.name);
  const outside = databases.filter((d) => !d.startsWith(v.prefix!));
  if (outside.length) {
    // The change would leave databases outside the prefix their names were checked against.
    const message = `${service},dbaseprefix: the site has ${service} databases named outside ${v.prefix} (${outside.join(', ')}); drop them first`;
    throw AppError.validation({ [`${service}.dbaseprefix`]: [message] }, message);
  }
  const sealed = src.service_meta?.[service]?.passwd;
  let passwordHash: string | null = null;
  let ref: string | null = null;
  if (typeof sealed === 'string') {
    ref = passwordRef(sealed);
    const prior = existing as Partial<DbUserSpecType> | null;
    if (prior && prior.passwordRef === ref && prior.engine === ENGINE[service] && typeof prior.passwordHash === 'string') passwordHash = prior.passwordHash;
    else {
      const plain = tx.settings.keyring.open(sealed, siteSecretContext(src.id, service, 'passwd'));
      passwordHash = service === 'mysql' ? mysqlNativeHash(plain) : await scramSha256Verifier(plain);
    }
  }
  return {
    siteId: src.id,
    engine: ENGINE[service],
    user: v.user,
    prefix: v.prefix,
    maxDatabases: v.max,
    databases,
    status: src.status,
    passwordHash,
    passwordRef: ref,
  };
}

export interface DbSyncOptions {
  /** Place the live clients among the ids that need a db node and have none. */
  place?: boolean;
  book?: PlanBook;
}

/**
 * Brings the db_user objects of the clients `ids` in line with them, in the caller's transaction.
 * Returns how many objects were written. A database name that no longer fits its prefix refuses the
 * change (a validation error, so the door reports it in its own format).
 */
export async function syncDbUserObjects(tx: Ctx, ids: readonly number[], options: DbSyncOptions = {}): Promise<number> {
  if (ids.length === 0) return 0;
  let sources = await findDbUserSources(tx.db, ids);
  if (sources.length === 0) return 0;
  const book = options.book ?? (await loadPlans(tx));
  if (options.place) {
    const wants = sources
      .filter((s) => (s.status === 'active' || s.status === 'suspended') && s.db_node_id === null && DB_SERVICES.some((svc) => wantsDbService(book, s, svc)))
      .map((s) => ({ clientId: s.id, nodeLabel: s.node_label }));
    const placed = await placeOnDbNodes(tx, wants);
    if (placed.size) sources = sources.map((s) => (placed.has(s.id) ? { ...s, db_node_id: placed.get(s.id)! } : s));
  }
  const writes: NodeObjectWrite[] = [];
  const gone: { clientId: number; engine: DbService }[] = [];
  for (const src of sources) {
    for (const service of DB_SERVICES) {
      const objectId = dbUserObjectId(src.id, service);
      const held = src.objects.filter((o) => o.object_id === objectId);
      const spec = await desiredSpec(tx, src, book, service, held.find((o) => o.node_id === src.db_node_id)?.spec ?? null);
      for (const o of held) {
        if (o.state === 'present' && spec === null) {
          writes.push({ nodeId: o.node_id, kind: 'db_user', objectId, clientId: src.id, state: 'absent', spec: o.spec });
          if (spec === null) gone.push({ clientId: src.id, engine: service });
        }
      }
      if (spec === null) continue;
      if (reservedDbUser(spec.user) || !DbUserSpec.safeParse(spec).success) {
        // The doors refuse such names; one written before they did must not reach a database server.
        tx.log.warn({ object: objectId, user: spec.user, prefix: spec.prefix }, 'database user not sent to its node: a name is not a plain identifier or is reserved');
        continue;
      }
      const current = held.find((o) => o.node_id === src.db_node_id);
      if (current?.state === 'present' && canonical(current.spec) === canonical(spec)) continue;
      writes.push({ nodeId: src.db_node_id!, kind: 'db_user', objectId, clientId: src.id, state: 'present', spec });
    }
  }
  await upsertNodeObjects(tx.db, writes);
  await forgetDatabases(tx.db, gone);
  await stampDatabaseVersions(tx.db, [...new Set(writes.filter((w) => w.state === 'present').map((w) => w.clientId!))]);
  return writes.length;
}
