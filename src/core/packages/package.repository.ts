import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';
import type { Feature, Package } from './package.schema.js';

const featureColumns = ['id', 'code', 'name', 'blurb', 'description', 'position'] as const;

export async function findFeaturesByPlanIds(db: Executor, planIds: number[]): Promise<Map<number, Feature[]>> {
  const byPlan = new Map<number, Feature[]>();
  if (planIds.length === 0) return byPlan;
  const rows = await db
    .selectFrom('plan_features as pf')
    .innerJoin('features as f', 'f.id', 'pf.feature_id')
    .select(['pf.plan_id', 'f.id', 'f.code', 'f.name', 'f.blurb', 'f.description', 'f.position'])
    .where('pf.plan_id', 'in', planIds)
    .orderBy('f.position')
    .orderBy('f.id')
    .execute();
  for (const { plan_id, ...feature } of rows) {
    const list = byPlan.get(plan_id) ?? [];
    list.push(feature);
    byPlan.set(plan_id, list);
  }
  return byPlan;
}

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
  sql<string | null>`(select pp.uid from plans pp where pp.id = plans.parent_id)`.as('parent_uid'),
] as const;

async function withFeatures(db: Executor, rows: Omit<Package, 'features'>[]): Promise<Package[]> {
  const features = await findFeaturesByPlanIds(
    db,
    rows.map((r) => r.id),
  );
  return rows.map((r) => ({ ...r, features: features.get(r.id) ?? [] }));
}

export async function listPlans(db: Executor, filter: { tag?: string } = {}): Promise<Package[]> {
  let q = db.selectFrom('plans').select(planColumns);
  if (filter.tag !== undefined) q = q.where(sql<boolean>`tags @> array[${filter.tag}]::text[]`);
  const rows = await q.orderBy('position').orderBy('id').execute();
  return withFeatures(db, rows);
}

export async function findPlanByUid(db: Executor, uid: string): Promise<Package | undefined> {
  const row = await db.selectFrom('plans').select(planColumns).where('uid', '=', uid).executeTakeFirst();
  if (!row) return undefined;
  return (await withFeatures(db, [row]))[0];
}

export async function findPlanById(db: Executor, id: number): Promise<Package | undefined> {
  const row = await db.selectFrom('plans').select(planColumns).where('id', '=', id).executeTakeFirst();
  if (!row) return undefined;
  return (await withFeatures(db, [row]))[0];
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
}

export async function insertPlan(db: Executor, row: PlanRow, now: Date): Promise<number> {
  const { id } = await db
    .insertInto('plans')
    .values({ ...row, limits: JSON.stringify(row.limits), service_defaults: '{}', created_at: now, updated_at: now })
    .returning('id')
    .executeTakeFirstOrThrow();
  return id;
}

export async function updatePlan(db: Executor, id: number, patch: Partial<PlanRow>, now: Date): Promise<void> {
  const { limits, ...rest } = patch;
  await db
    .updateTable('plans')
    .set({ ...rest, ...(limits ? { limits: JSON.stringify(limits) } : {}), updated_at: now })
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
