import { checkServiceDefaults } from '../sites/site.params.js';
import { AppError, addFieldError, fieldErrors, type FieldErrors } from '../../errors/app-error.js';
import { recordAudit } from '../audit/audit.service.js';
import { inTransaction, type Ctx } from '../context.js';
import { uniqueViolation } from '../shared/db-errors.js';
import { parseInput } from '../shared/validation.js';
import * as repo from './package.repository.js';
import {
  createFeatureInput,
  createPackageInput,
  updatePackageInput,
  type CreateFeatureInput,
  type CreatePackageInput,
  type Feature,
  type Package,
  type UpdatePackageInput,
} from './package.schema.js';

export async function listPackagesByTag(ctx: Ctx, tag: string): Promise<Package[]> {
  return repo.listPlans(ctx.db, { tag: tag.trim().toLowerCase() });
}

export async function listPackages(ctx: Ctx): Promise<Package[]> {
  return repo.listPlans(ctx.db);
}

export async function getPackage(ctx: Ctx, uid: string): Promise<Package> {
  const plan = await repo.findPlanByUid(ctx.db, uid);
  if (!plan) throw AppError.notFound('package');
  return plan;
}

/** What the audit log keeps of a package: its settings, features by id. */
function auditView(p: Package) {
  const { id: _id, parent_id: _parentId, features, ...fields } = p;
  return { ...fields, features: features.map((f) => f.id) };
}

async function resolveFeatureIds(ctx: Ctx, refs: (number | string)[], fields: FieldErrors): Promise<number[]> {
  const ids = refs.filter((r): r is number => typeof r === 'number');
  const codes = refs.filter((r): r is string => typeof r === 'string');
  const found = await repo.findFeatures(ctx.db, ids, codes);
  const result: number[] = [];
  for (const ref of refs) {
    const f = found.find((x) => (typeof ref === 'number' ? x.id === ref : x.code === ref));
    if (!f) addFieldError(fields, 'features', `${JSON.stringify(ref)} is not a known feature`);
    else if (!result.includes(f.id)) result.push(f.id);
  }
  return result;
}

async function resolveParent(ctx: Ctx, parentUid: string | null | undefined, fields: FieldErrors, selfId?: number): Promise<number | null> {
  if (!parentUid) return null;
  const parent = await repo.findPlanByUid(ctx.db, parentUid);
  if (!parent) {
    addFieldError(fields, 'parent_uid', 'is not a known package');
    return null;
  }
  if (selfId !== undefined && parent.id === selfId) addFieldError(fields, 'parent_uid', 'cannot be the package itself');
  return parent.id;
}

export async function createPackage(ctx: Ctx, raw: CreatePackageInput): Promise<Package> {
  const input = parseInput(createPackageInput, raw);
  return inTransaction(ctx, async (tx) => {
    const fields: FieldErrors = fieldErrors();
    const featureIds = await resolveFeatureIds(tx, input.features ?? [], fields);
    const parentId = await resolveParent(tx, input.parent_uid, fields);
    const serviceDefaults = checkServiceDefaults(input.service_defaults ?? {}, fields);
    if (Object.keys(fields).length) throw AppError.validation(fields);
    try {
      const id = await repo.insertPlan(
        tx.db,
        {
          uid: input.uid,
          name: input.name,
          description: input.description ?? '',
          position: input.position ?? 0,
          free_trial_days: input.free_trial ?? 0,
          tags: [...new Set(input.tags ?? [])],
          limits: input.limits ?? {},
          domain_cost_cents: input.domain_cost_cents ?? 0,
          mailbox_cost_cents: input.mailbox_cost_cents ?? 0,
          parent_id: parentId,
          service_defaults: serviceDefaults,
          dbname_template: input.dbname_template ?? null,
          max_databases: input.max_databases ?? null,
          addons: [...new Set(input.addons ?? [])],
          node_label: input.node_label ?? null,
          template_database: input.template_database ?? null,
        },
        tx.clock(),
      );
      await repo.replacePlanFeatures(tx.db, id, featureIds);
      const plan = (await repo.findPlanById(tx.db, id))!;
      await recordAudit(tx, { action: 'package.created', targetType: 'package', targetId: plan.uid, resellerId: null, after: auditView(plan) });
      return plan;
    } catch (e) {
      if (uniqueViolation(e) !== null) throw AppError.validation({ uid: ['has already been taken'] });
      throw e;
    }
  });
}

export async function updatePackage(ctx: Ctx, uid: string, raw: UpdatePackageInput): Promise<Package> {
  const input = parseInput(updatePackageInput, raw);
  return inTransaction(ctx, async (tx) => {
    const plan = await repo.findPlanByUid(tx.db, uid);
    if (!plan) throw AppError.notFound('package');
    const fields: FieldErrors = fieldErrors();
    const featureIds = input.features ? await resolveFeatureIds(tx, input.features, fields) : undefined;
    const parentId = input.parent_uid !== undefined ? await resolveParent(tx, input.parent_uid, fields, plan.id) : undefined;
    // Given defaults merge into the plan's (null drops one): a plan is edited a value at a time.
    const serviceDefaults = input.service_defaults !== undefined ? mergeDefaults(plan.service_defaults, input.service_defaults, checkServiceDefaults(input.service_defaults, fields)) : undefined;
    if (Object.keys(fields).length) throw AppError.validation(fields);
    await repo.updatePlan(
      tx.db,
      plan.id,
      {
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.description !== undefined ? { description: input.description ?? '' } : {}),
        ...(input.position !== undefined ? { position: input.position } : {}),
        ...(input.free_trial !== undefined ? { free_trial_days: input.free_trial } : {}),
        ...(input.tags !== undefined ? { tags: [...new Set(input.tags)] } : {}),
        ...(input.limits !== undefined ? { limits: input.limits } : {}),
        ...(input.domain_cost_cents !== undefined ? { domain_cost_cents: input.domain_cost_cents } : {}),
        ...(input.mailbox_cost_cents !== undefined ? { mailbox_cost_cents: input.mailbox_cost_cents } : {}),
        ...(parentId !== undefined ? { parent_id: parentId } : {}),
        ...(serviceDefaults !== undefined ? { service_defaults: serviceDefaults } : {}),
        ...(input.dbname_template !== undefined ? { dbname_template: input.dbname_template ?? null } : {}),
        ...(input.max_databases !== undefined ? { max_databases: input.max_databases ?? null } : {}),
        ...(input.addons !== undefined ? { addons: [...new Set(input.addons)] } : {}),
        ...(input.node_label !== undefined ? { node_label: input.node_label ?? null } : {}),
        ...(input.template_database !== undefined ? { template_database: input.template_database ?? null } : {}),
      },
      tx.clock(),
    );
    if (featureIds) await repo.replacePlanFeatures(tx.db, plan.id, featureIds);
    const updated = (await repo.findPlanById(tx.db, plan.id))!;
    await recordAudit(tx, { action: 'package.updated', targetType: 'package', targetId: plan.uid, resellerId: null, before: auditView(plan), after: auditView(updated) });
    return updated;
  });
}

function mergeDefaults(current: Record<string, Record<string, unknown>>, given: Record<string, Record<string, unknown>>, checked: Record<string, Record<string, unknown>>): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [service, params] of Object.entries(current ?? {})) out[service] = { ...params };
  for (const [service, params] of Object.entries(given)) {
    for (const [param, value] of Object.entries(params ?? {})) {
      if (value === null) delete out[service]?.[param];
      else if (checked[service]?.[param] !== undefined) (out[service] ??= {})[param] = checked[service][param];
    }
  }
  return out;
}

export async function listFeatures(ctx: Ctx): Promise<Feature[]> {
  return repo.listFeatures(ctx.db);
}

export async function createFeature(ctx: Ctx, raw: CreateFeatureInput): Promise<Feature> {
  const input = parseInput(createFeatureInput, raw);
  return inTransaction(ctx, async (tx) => {
    let feature: Feature;
    try {
      feature = await repo.insertFeature(tx.db, {
        code: input.code ?? null,
        name: input.name,
        blurb: input.blurb ?? '',
        description: input.description ?? '',
        position: input.position ?? 0,
      });
    } catch (e) {
      if (uniqueViolation(e) !== null) throw AppError.validation({ code: ['has already been taken'] });
      throw e;
    }
    const { id, ...fields } = feature;
    await recordAudit(tx, { action: 'feature.created', targetType: 'feature', targetId: id, resellerId: null, after: fields });
    return feature;
  });
}

/** Features of each package that the previous package in the list lacks (all of them for the first). */
export function addedFeatures(packages: Package[]): Feature[][] {
  return packages.map((p, i) => {
    const previous = i === 0 ? undefined : new Set(packages[i - 1]!.features.map((f) => f.id));
    return previous ? p.features.filter((f) => !previous.has(f.id)) : p.features;
  });
}
