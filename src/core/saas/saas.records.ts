import { sql } from 'kysely';
import { AppError } from '../../errors/app-error.js';
import { applyRecordFilter, applyRecordQuery, column } from '../shared/record-filter.sql.js';
import type { FieldMap, RecordFilter, RecordQuery } from '../shared/record-filter.js';
import { resolveDefaults } from '../sites/site.params.js';
import { getSiteDiskQuotas } from '../sites/site.service.js';
import type { Ctx } from '../context.js';
import * as repo from './saas.repository.js';
import { INSTANCE_BASE_STORAGE_BYTES, NO_USER_LIMIT } from './saas.schema.js';

/**
 * The portal's record models over Hostplane's tables: `saas_portal.client` is a client that is an
 * instance, `saas_portal.plan` a plan, `res.users` a portal account. Each model says which fields it
 * has (for search filters and `fields_get`) and how to read records; who sees what is decided here:
 * a portal user sees only their own instances and their own account.
 */
export type SaasModel = 'saas_portal.client' | 'saas_portal.plan' | 'res.users';

const MB = 1024 * 1024;

const instanceFields: FieldMap = {
  id: { type: 'integer', sql: column('id') },
  name: { type: 'char', sql: column('name') },
  host: { type: 'char', sql: column('name') },
  client_id: { type: 'char', sql: (a) => sql`${sql.ref(`${a}.instance_uuid`)}::text` },
  partner_id: { type: 'many2one', sql: column('owner_user_id'), nameSql: (a) => sql`(select u.name from users u where u.id = ${sql.ref(`${a}.owner_user_id`)})` },
  user_id: { type: 'many2one', sql: column('owner_user_id'), nameSql: (a) => sql`(select u.name from users u where u.id = ${sql.ref(`${a}.owner_user_id`)})` },
  plan_id: { type: 'many2one', sql: column('plan_id'), nameSql: (a) => sql`(select p.name from plans p where p.id = ${sql.ref(`${a}.plan_id`)})` },
  state: { type: 'selection', sql: (a) => sql`case ${sql.ref(`${a}.status`)} when 'active' then 'open' when 'suspended' then 'pending' else 'deleted' end` },
  active: { type: 'boolean', sql: (a) => sql`(${sql.ref(`${a}.status`)} in ('active', 'suspended'))` },
  max_users: { type: 'char', sql: (a) => sql`${sql.ref(`${a}.user_count`)}::text` },
  // An instance with a database of its own counts what its node measured there (active internal users).
  users_len: {
    type: 'integer',
    sql: (a) =>
      sql`coalesce((select d.active_users from instance_databases d where d.client_id = ${sql.ref(`${a}.id`)}), (select count(*)::int from users u where u.client_id = ${sql.ref(`${a}.id`)} and u.disabled_at is null))`,
  },
  create_date: { type: 'datetime', sql: column('created_at') },
  // Computed from the plan chain or the files: readable, not searchable.
  total_storage_limit: { type: 'integer', sql: column('id'), filterable: false, sortable: false },
  file_storage: { type: 'integer', sql: column('id'), filterable: false, sortable: false },
  db_storage: { type: 'integer', sql: column('id'), filterable: false, sortable: false },
  storage_exceed: { type: 'boolean', sql: column('id'), filterable: false, sortable: false },
  trial: { type: 'boolean', sql: sqlFalse, filterable: false, sortable: false },
  // Computed against the request's clock when read (loadFull), like the storage fields: not searchable.
  expired: { type: 'boolean', sql: column('id'), filterable: false, sortable: false },
  // Set by do_upgrade_database's saas_client.expiration_datetime; the instance enforces it itself (Odoo's saas_client reads it there).
  expiration_datetime: { type: 'datetime', sql: column('expires_at') },
  block_on_expiration: { type: 'boolean', sql: sqlFalse, filterable: false, sortable: false },
  block_on_storage_exceed: { type: 'boolean', sql: () => sql`true`, filterable: false, sortable: false },
  public_url: { type: 'char', sql: column('name'), filterable: false, sortable: false },
};

function sqlFalse() {
  return sql`false`;
}

const planFields: FieldMap = {
  id: { type: 'integer', sql: column('id') },
  name: { type: 'char', sql: column('name') },
  summary: { type: 'char', sql: column('description') },
  dbname_template: { type: 'char', sql: column('dbname_template') },
  maximum_allowed_dbs_per_partner: { type: 'integer', sql: (a) => sql`coalesce(${sql.ref(`${a}.max_databases`)}, 0)` },
  // Hostplane has no trial databases: 0, the portal's "no limit".
  maximum_allowed_trial_dbs_per_partner: { type: 'integer', sql: () => sql`0`, filterable: false, sortable: false },
  max_users: { type: 'char', sql: (a) => sql`coalesce(${sql.ref(`${a}.limits`)} ->> 'max_users', '0')` },
  sequence: { type: 'integer', sql: column('position') },
  state: { type: 'selection', sql: () => sql`'confirmed'` },
  total_storage_limit: { type: 'integer', sql: column('id'), filterable: false, sortable: false },
  expiration: { type: 'integer', sql: () => sql`0`, filterable: false, sortable: false },
  grace_period: { type: 'integer', sql: () => sql`0`, filterable: false, sortable: false },
  block_on_expiration: { type: 'boolean', sql: sqlFalse, filterable: false, sortable: false },
  block_on_storage_exceed: { type: 'boolean', sql: () => sql`true`, filterable: false, sortable: false },
};

const userFields: FieldMap = {
  id: { type: 'integer', sql: column('id') },
  login: { type: 'char', sql: column('login') },
  name: { type: 'char', sql: column('name') },
  partner_id: { type: 'many2one', sql: column('id'), nameSql: column('name') },
  // Parenthesised: the filter compiler compares a boolean expression with `= true`.
  active: { type: 'boolean', sql: (a) => sql`(${sql.ref(`${a}.disabled_at`)} is null)` },
  share: { type: 'boolean', sql: (a) => sql`(${sql.ref(`${a}.role`)} = 'portal')` },
};

const FIELDS: Record<SaasModel, FieldMap> = { 'saas_portal.client': instanceFields, 'saas_portal.plan': planFields, 'res.users': userFields };

export const SAAS_MODELS = Object.keys(FIELDS) as SaasModel[];

export function modelFields(model: SaasModel): FieldMap {
  return FIELDS[model];
}

/** The rows a model's queries start from, already narrowed to what the actor may see. */
function base(ctx: Ctx, model: SaasModel) {
  if (model === 'saas_portal.client') {
    let q = ctx.db.selectFrom('clients as c').where('c.instance_uuid', 'is not', null).where('c.status', 'in', ['active', 'suspended']);
    if (ctx.actor.kind === 'user') q = q.where('c.owner_user_id', '=', ctx.actor.userId);
    return { q, alias: 'c' };
  }
  if (model === 'saas_portal.plan') return { q: ctx.db.selectFrom('plans as c'), alias: 'c' };
  let q = ctx.db.selectFrom('users as c').where('c.client_id', 'is', null).where('c.role', 'in', ['operator', 'portal']);
  if (ctx.actor.kind === 'user') q = q.where('c.id', '=', ctx.actor.userId);
  return { q, alias: 'c' };
}

function requireSignedIn(ctx: Ctx): void {
  if (ctx.actor.kind !== 'operator' && ctx.actor.kind !== 'system' && ctx.actor.kind !== 'user') throw new AppError('unauthenticated', 'Access denied');
}

export async function searchRecords(ctx: Ctx, model: SaasModel, query: RecordQuery): Promise<number[]> {
  requireSignedIn(ctx);
  const { q, alias } = base(ctx, model);
  const rows = await applyRecordQuery(q.select(sql<number>`c.id`.as('id')), query, FIELDS[model], alias).execute();
  return rows.map((r) => r.id);
}

export async function countRecords(ctx: Ctx, model: SaasModel, filter: RecordFilter | null): Promise<number> {
  requireSignedIn(ctx);
  const { q, alias } = base(ctx, model);
  const row = await applyRecordFilter(q.select(sql<number>`count(*)::int`.as('n')), filter, FIELDS[model], alias).executeTakeFirstOrThrow();
  return row.n;
}

/** Records by id in the order asked (ids the actor may not see are left out), with the fields asked (all when null). */
export async function readRecords(ctx: Ctx, model: SaasModel, ids: number[], fields: string[] | null): Promise<Record<string, unknown>[]> {
  requireSignedIn(ctx);
  const known = FIELDS[model];
  const unknown = (fields ?? []).filter((f) => !Object.hasOwn(known, f));
  if (unknown.length) throw AppError.validation({ fields: unknown.map((f) => `Invalid field ${JSON.stringify(f)} on model ${JSON.stringify(model)}`) }, `Invalid field ${JSON.stringify(unknown[0])} on model ${JSON.stringify(model)}`);
  if (ids.length === 0) return [];
  if (ids.length > 10_000 || ids.some((id) => !Number.isSafeInteger(id))) throw AppError.validation({ ids: ['must be at most 10,000 integer ids'] }, 'ids must be at most 10,000 integers');
  const full = await loadFull(ctx, model, ids);
  const byId = new Map(full.map((r) => [r.id as number, r]));
  const wanted = fields && fields.length ? ['id', ...fields.filter((f) => f !== 'id')] : Object.keys(known);
  return ids.flatMap((id) => {
    const r = byId.get(id);
    return r ? [Object.fromEntries(wanted.map((f) => [f, r[f] ?? false]))] : [];
  });
}

async function loadFull(ctx: Ctx, model: SaasModel, ids: number[]): Promise<Record<string, unknown>[]> {
  const where = sql<boolean>`c.id = any(${ids}::bigint[])`;
  if (model === 'saas_portal.client') {
    // The portal's public_url: the instance's host name under the portal's own scheme.
    const scheme = new URL(ctx.settings.publicUrl).protocol;
    const rows = await base(ctx, model)
      .q
      .where(where)
      .select([
        'c.id',
        'c.name',
        'c.status',
        'c.user_count',
        'c.plan_id',
        'c.owner_user_id',
        'c.created_at',
        'c.expires_at',
        sql<string>`c.instance_uuid::text`.as('uuid'),
        sql<string | null>`(select u.name from users u where u.id = c.owner_user_id)`.as('owner_name'),
        sql<string | null>`(select p.name from plans p where p.id = c.plan_id)`.as('plan_name'),
        sql<number>`coalesce((select d.active_users from instance_databases d where d.client_id = c.id), (select count(*)::int from users u where u.client_id = c.id and u.disabled_at is null))`.as('users_len'),
        sql<string | null>`(select d.size_bytes::text from instance_databases d where d.client_id = c.id)`.as('db_bytes'),
        // Files still held here, and those moved into the database since its size was last measured (docs/adr/0027).
        sql<number>`(select coalesce(sum(f.size_bytes), 0)::bigint from instance_files f left join instance_databases d on d.client_id = f.client_id
          where f.client_id = c.id and (f.moved_at is null or d.sampled_at is null or f.moved_at > d.sampled_at))`.as('file_bytes'),
      ])
      .execute();
    const quotas = await getSiteDiskQuotas(ctx, rows.map((r) => r.id));
    return rows.map((r) => {
      const limit = quotas.get(r.id) ?? 0;
      // The database's size as its node measured it; an instance without one (or not measured yet) counts the base size.
      const dbBytes = r.db_bytes !== null ? Number(r.db_bytes) : INSTANCE_BASE_STORAGE_BYTES;
      const used = dbBytes + Number(r.file_bytes);
      const owner = r.owner_user_id !== null ? [r.owner_user_id, r.owner_name ?? ''] : false;
      return {
        id: r.id,
        name: r.name,
        host: r.name,
        client_id: r.uuid,
        partner_id: owner,
        user_id: owner,
        plan_id: r.plan_id !== null ? [r.plan_id, r.plan_name ?? ''] : false,
        state: r.status === 'active' ? 'open' : 'pending',
        active: true,
        max_users: String(r.user_count === NO_USER_LIMIT ? 0 : r.user_count),
        users_len: r.users_len,
        create_date: r.created_at,
        total_storage_limit: limit,
        file_storage: Math.round(Number(r.file_bytes) / MB),
        db_storage: Math.round(dbBytes / MB),
        storage_exceed: limit > 0 && used > limit * MB,
        trial: false,
        expired: r.expires_at !== null && r.expires_at.getTime() <= ctx.clock().getTime(),
        expiration_datetime: r.expires_at ?? false,
        block_on_expiration: false,
        // As the plans say: storage past the limit blocks growth (storeInstanceFile).
        block_on_storage_exceed: true,
        public_url: `${scheme}//${r.name}/`,
      };
    });
  }
  if (model === 'saas_portal.plan') {
    const plans = await repo.listSaasPlans(ctx.db, ids);
    const chain = await ctx.db.selectFrom('plans').select(['id', 'parent_id', sql<Record<string, unknown>>`service_defaults`.as('service_defaults')]).execute();
    const byId = new Map(chain.map((p) => [p.id, p]));
    return plans.map((p) => {
      const defaults: Record<string, unknown>[] = [];
      for (let id: number | null = p.id, n = 0; id !== null && n < 50; n++) {
        const node = byId.get(id);
        if (!node) break;
        defaults.push(node.service_defaults);
        id = node.parent_id;
      }
      const quota = resolveDefaults(defaults).diskquota?.quota;
      return {
        id: p.id,
        name: p.name,
        summary: p.description,
        dbname_template: p.dbname_template ?? false,
        maximum_allowed_dbs_per_partner: p.max_databases ?? 0,
        maximum_allowed_trial_dbs_per_partner: 0,
        max_users: String(p.limits?.max_users ?? 0),
        sequence: p.position,
        state: 'confirmed',
        total_storage_limit: typeof quota === 'number' ? quota : 0,
        expiration: 0,
        grace_period: 0,
        block_on_expiration: false,
        block_on_storage_exceed: true,
      };
    });
  }
  let uq = ctx.db.selectFrom('users as c').where('c.client_id', 'is', null).where('c.role', 'in', ['operator', 'portal']).where(where);
  if (ctx.actor.kind === 'user') uq = uq.where('c.id', '=', ctx.actor.userId);
  const users = await uq.select(['c.id', 'c.login', 'c.name', 'c.role', 'c.disabled_at']).execute();
  return users.map((u) => ({ id: u.id, login: u.login, name: u.name ?? u.login, partner_id: [u.id, u.name ?? u.login], active: u.disabled_at === null, share: u.role === 'portal' }));
}
