import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';
import { precompiled } from '../../db/precompiled.js';
import type { Feature, Package } from './package.schema.js';

const featureColumns = ['id', 'code', 'name', 'blurb', 'description', 'position'] as const;

const planColumns = [
  'id',
  'uid',
  'name',
  'description',
  'position',
  'free_trial_days',
  'tags',
  'limits',
  'domain_cost_cents',
  'mailbox_cost_cents',
  'parent_id',
  sql<Record<string, Record<string, unknown>>>`service_defaults`.as('service_defaults'),
  'dbname_template',
  'max_databases',
  'addons',
  'node_label',
  'template_database',
  sql<string | null>`(select pp.uid from plans pp where pp.id = plans.parent_id)`.as('parent_uid'),
  // Features ride along in the same row: one round trip per package look-up.
  sql<Feature[]>`coalesce((select json_agg(json_build_object('id', f.id, 'code', f.code, 'name', f.name, 'blurb', f.blurb, 'description', f.description, 'position', f.position) order by f.position, f.id) from plan_features pf join features f on f.id = pf.feature_id where pf.plan_id = plans.id), '[]'::json)`.as(
    'features',
  ),
] as const;

export async function listPlans(db: Executor, filter: { tag?: string } = {}): Promise<Package[]> {
  let q = db.selectFrom('plans').select(planColumns);
  if (filter.tag !== undefined) q = q.where(sql<boolean>`tags @> array[${filter.tag}]::text[]`);
  return q.orderBy('position').orderBy('id').execute();
}

export async function findPlanByUid(db: Executor, uid: string): Promise<Package | undefined> {
  return db.selectFrom('plans').select(planColumns).where('uid', '=', uid).executeTakeFirst();
}

export async function findPlanById(db: Executor, id: number): Promise<Package | undefined> {
  return db.selectFrom('plans').select(planColumns).where('id', '=', id).executeTakeFirst();
}

/**
 * What creating a client of a reseller needs to know before its one inserting statement, in one round
 * trip (it runs on every POST /v1/clients): the package, the reseller's tags, whether an active
 * webhook endpoint (the reseller's or an operator's) wants `eventType`, whether some web or db node
 * (heartbeat after `healthySince`, not draining) could take the new site, and whether relay nodes
 * exist (they need its domains).
 */
const selectPlanForNewClient = precompiled((db: Executor, uid: string, resellerId: number, eventType: string, healthySince: Date) =>
  db
    .selectFrom('plans')
    .select([
      ...planColumns,
      sql<string[] | null>`(select r.tags from resellers r where r.id = ${resellerId})`.as('reseller_tags'),
      sql<boolean>`exists (select 1 from webhook_endpoints w where w.active and w.event_types @> array[${eventType}]::text[] and (w.reseller_id is null or w.reseller_id = ${resellerId}))`.as(
        'webhook_subscribed',
      ),
      sql<boolean>`exists (select 1 from nodes n where n.roles && array['web', 'db']::text[] and n.state = 'active' and n.last_heartbeat_at > ${healthySince})`.as('placement_possible'),
      sql<boolean>`exists (select 1 from nodes n where 'relay' = any(n.roles))`.as('relay_nodes'),
    ])
    .where('uid', '=', uid),
);

export async function findPlanForNewClient(db: Executor, uid: string, resellerId: number, eventType: string, healthySince: Date) {
  return (await selectPlanForNewClient(db, uid, resellerId, eventType, healthySince))[0];
}

/** The package with the tags of the reseller about to sell it, in one round trip. */
export async function findPlanForReseller(db: Executor, uid: string, resellerId: number): Promise<(Package & { reseller_tags: string[] }) | undefined> {
  return db
    .selectFrom('plans')
    .select([...planColumns, sql<string[]>`(select r.tags from resellers r where r.id = ${resellerId})`.as('reseller_tags')])
    .where('uid', '=', uid)
    .executeTakeFirst();
}

export interface PlanRow {
  uid: string;
  name: string;
  description: string;
  position: number;
  free_trial_days: number;
  tags: string[];
  limits: Package['limits'];
  domain_cost_cents: number;
  mailbox_cost_cents: number;
  parent_id: number | null;
  service_defaults?: Record<string, Record<string, unknown>>;
  dbname_template?: string | null;
  max_databases?: number | null;
  addons?: string[];
  node_label?: string | null;
  template_database?: string | null;
}

export async function insertPlan(db: Executor, row: PlanRow, now: Date): Promise<number> {
  const { id } = await db
    .insertInto('plans')
    .values({ ...row, limits: JSON.stringify(row.limits), service_defaults: JSON.stringify(row.service_defaults ?? {}), created_at: now, updated_at: now })
    .returning('id')
    .executeTakeFirstOrThrow();
  return id;
}

export async function updatePlan(db: Executor, id: number, patch: Partial<PlanRow>, now: Date): Promise<void> {
  const { limits, service_defaults, ...rest } = patch;
  await db
    .updateTable('plans')
    .set({ ...rest, ...(limits ? { limits: JSON.stringify(limits) } : {}), ...(service_defaults ? { service_defaults: JSON.stringify(service_defaults) } : {}), updated_at: now })
    .where('id', '=', id)
    .execute();
}

export async function replacePlanFeatures(db: Executor, planId: number, featureIds: number[]): Promise<void> {
  await db.deleteFrom('plan_features').where('plan_id', '=', planId).execute();
  if (featureIds.length) {
    await db
      .insertInto('plan_features')
      .values(featureIds.map((feature_id) => ({ plan_id: planId, feature_id })))
      .execute();
  }
}

export async function listFeatures(db: Executor): Promise<Feature[]> {
  return db.selectFrom('features').select(featureColumns).orderBy('position').orderBy('id').execute();
}

export async function findFeatures(db: Executor, ids: number[], codes: string[]): Promise<Feature[]> {
  if (ids.length === 0 && codes.length === 0) return [];
  return db
    .selectFrom('features')
    .select(featureColumns)
    .where((eb) => eb.or([...(ids.length ? [eb('id', 'in', ids)] : []), ...(codes.length ? [eb('code', 'in', codes)] : [])]))
    .execute();
}

export async function insertFeature(db: Executor, row: Omit<Feature, 'id'>): Promise<Feature> {
  return db.insertInto('features').values(row).returning(featureColumns).executeTakeFirstOrThrow();
}
