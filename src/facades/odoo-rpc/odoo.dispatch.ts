import type { FastifyRequest } from 'fastify';
import { ctxFor, type CoreDeps, type Ctx } from '../../core/context.js';
import { countRecords, modelFields, readRecords, SAAS_MODELS, searchRecords, type SaasModel } from '../../core/saas/saas.records.js';
import { actorForCredentials, authenticateAccount } from '../../core/saas/saas-login.service.js';
import { createInstance, signupPortalUser } from '../../core/saas/saas.service.js';
import { upgradeInstance } from '../../core/saas/upgrade-instance.js';
import { AppError } from '../../errors/app-error.js';
import { OdooMissingMethod } from './odoo-rpc.errors.js';
import { parseOdooDomain, parseOdooFields, parseOdooQuery } from './odoo-domain.js';
import type { OdooRpcCall, OdooVersion } from './odoo-rpc.routes.js';

/** What this door says it is: Odoo 11, the series the SaaS portal modules were last released for. */
export const ODOO_VERSION: OdooVersion = { server_version: '11.0', server_version_info: [11, 0, 0, 'final', 0, ''], server_serie: '11.0', protocol_version: 1 };

const MODELS = new Set<string>([...SAAS_MODELS, 'saas.config', 'ir.model']);

function nameList(value: unknown, what: string): string[] | null {
  if (value === undefined || value === null || value === false) return null;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw AppError.validation({ [what]: ['must be a list of names'] }, `${what} must be a list of names`);
  return value.length ? (value as string[]) : null;
}

/**
 * Odoo's `fields_get(allfields, attributes)`: name → {type, string, relation?, readonly}, only the
 * fields named in `allfields` and the attributes named in `attributes` when those are given (clients
 * such as odoo-xmlrpc-ts always send `attributes`). Unknown names are left out, as Odoo does.
 */
function fieldsGet(model: SaasModel, allfields: unknown, attributes: unknown): Record<string, Record<string, unknown>> {
  const relation: Record<string, string> = { partner_id: 'res.partner', user_id: 'res.users', plan_id: 'saas_portal.plan' };
  const names = nameList(allfields, 'allfields');
  const wanted = nameList(attributes, 'attributes');
  return Object.fromEntries(
    Object.entries(modelFields(model))
      .filter(([name]) => !names || names.includes(name))
      .map(([name, def]) => {
        const all: Record<string, unknown> = { type: def.type, string: name.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase()), readonly: true, ...(def.type === 'many2one' ? { relation: relation[name] ?? 'res.partner' } : {}) };
        return [name, wanted ? Object.fromEntries(Object.entries(all).filter(([k]) => wanted.includes(k))) : all];
      }),
  );
}

function list(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw AppError.validation({ args: [`${what} must be a list`] }, `${what} must be a list`);
  return value;
}

function idsOf(value: unknown): number[] {
  const raw = typeof value === 'number' ? [value] : list(value, 'ids');
  if (raw.some((id) => typeof id !== 'number' || !Number.isSafeInteger(id))) throw AppError.validation({ ids: ['must be integer ids'] }, 'ids must be integers');
  return raw as number[];
}

function kwargsOf(value: unknown): Record<string, unknown> {
  if (value === undefined || value === null || value === false) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw AppError.validation({ kwargs: ['must be a dictionary'] }, 'kwargs must be a dictionary');
  return value as Record<string, unknown>;
}

async function callModel(ctx: Ctx, model: string, method: string, args: unknown[], kwargs: Record<string, unknown>): Promise<unknown> {
  // Odoo's own wording, whole: AppError.notFound would append "not found" to it.
  if (!MODELS.has(model)) throw new AppError('not_found', `Object ${model} doesn't exist`);
  if (method === 'fields_get' && model !== 'saas.config' && model !== 'ir.model') return fieldsGet(model as SaasModel, args[0] ?? kwargs.allfields, args[1] ?? kwargs.attributes);

  if (model === 'ir.model') {
    // odoorpc checks a model exists with search([('model', '=', name)]) before using it.
    if (method === 'fields_get') return { model: { type: 'char', string: 'Model', readonly: true } };
    const filter = parseOdooDomain(args[0] ?? kwargs.domain ?? []);
    const names = [...MODELS].filter((m) => !filter || JSON.stringify(filter).includes(JSON.stringify(m)));
    if (method === 'search') return names.map((m) => [...MODELS].indexOf(m) + 1);
    if (method === 'search_count') return names.length;
    throw new OdooMissingMethod('ir.model', method);
  }

  if (model === 'saas.config') {
    if (method !== 'do_upgrade_database') throw new OdooMissingMethod('saas.config', method);
    const [payload, clientId] = [args[0] ?? kwargs.payload, args[1] ?? kwargs.id];
    return JSON.stringify(await upgradeInstance(ctx, clientId, (payload ?? {}) as never));
  }

  const m = model as SaasModel;
  switch (method) {
    case 'search': {
      const query = parseOdooQuery(args[0] ?? kwargs.domain ?? [], { limit: args[2] ?? kwargs.limit, offset: args[1] ?? kwargs.offset, order: args[3] ?? kwargs.order });
      if (kwargs.count === true || args[4] === true) return countRecords(ctx, m, query.filter);
      return searchRecords(ctx, m, query);
    }
    case 'search_count':
      return countRecords(ctx, m, parseOdooDomain(args[0] ?? kwargs.domain ?? []));
    case 'read': {
      const fields = parseOdooFields(args[1] ?? kwargs.fields, { known: Object.keys(modelFields(m)), model });
      return readRecords(ctx, m, idsOf(args[0] ?? kwargs.ids), fields);
    }
    case 'search_read': {
      const query = parseOdooQuery(args[0] ?? kwargs.domain ?? [], { limit: args[3] ?? kwargs.limit, offset: args[2] ?? kwargs.offset, order: args[4] ?? kwargs.order });
      const fields = parseOdooFields(args[1] ?? kwargs.fields, { known: Object.keys(modelFields(m)), model });
      return readRecords(ctx, m, await searchRecords(ctx, m, query), fields);
    }
    case 'name_get': {
      const rows = await readRecords(ctx, m, idsOf(args[0] ?? kwargs.ids), [m === 'res.users' ? 'name' : 'name']);
      return rows.map((r) => [r.id, r.name]);
    }
  }
  if (m === 'res.users' && method === 'signup') {
    // signup(values) as the portal's admin calls it: [db, login, password] back, as Odoo answers.
    const values = (Array.isArray(args[0]) ? args[0][0] : args[0]) ?? kwargs.values;
    if (!values || typeof values !== 'object') throw AppError.validation({ values: ['must be a dictionary with login, name and password'] }, 'signup needs {login, name, password}');
    const v = values as { login?: unknown; name?: unknown; password?: unknown };
    const created = await signupPortalUser(ctx, { login: v.login, name: v.name, password: v.password });
    return [ctx.settings.rpcDb, created.login, v.password];
  }
  if (m === 'saas_portal.plan' && method === 'create_new_database') {
    const raw = args[0] ?? kwargs.ids;
    const planIds = Array.isArray(raw) ? (Array.isArray(raw[0]) ? raw[0] : raw) : [raw];
    if (planIds.length !== 1) throw AppError.validation({ ids: ['name exactly one plan'] }, 'create_new_database works on exactly one plan');
    const opts = { ...kwargsOf(args[1]), ...kwargs };
    return createInstance(ctx, { planId: planIds[0], dbname: opts.dbname, userId: opts.user_id, ownerPassword: opts.owner_password });
  }
  throw new OdooMissingMethod(model, method);
}

/**
 * The Odoo door's dispatcher: checks the portal database name and the uid + password of every object
 * call, then runs the model method through the core.
 */
export function odooDispatcher(deps: CoreDeps) {
  return async (input: OdooRpcCall, req: FastifyRequest): Promise<unknown> => {
    const system = ctxFor(deps, { kind: 'system' }, req.log, req);
    const checkDb = (db: unknown) => {
      if (db !== deps.settings.rpcDb) throw new AppError('not_found', `database ${JSON.stringify(db)} does not exist`);
    };
    if (input.service === 'db') {
      if (input.method === 'list') return [deps.settings.rpcDb];
      if (input.method === 'server_version') return ODOO_VERSION.server_version;
      throw new AppError('forbidden', 'Access Denied: the database manager is not available');
    }
    if (input.service === 'common') {
      const [db, login, password] = input.args;
      if (input.method === 'login' || input.method === 'authenticate') {
        checkDb(db);
        const account = await authenticateAccount(system, login, password);
        return account ? account.id : false;
      }
      if (input.method === 'authenticate_session') {
        checkDb(db);
        const account = await authenticateAccount(system, login, password);
        if (!account) return { uid: false, db, username: login, session_id: null };
        return {
          uid: account.id,
          is_system: account.user.role === 'operator',
          is_admin: account.user.role === 'operator',
          user_context: { lang: 'en_US', tz: 'UTC', uid: account.id },
          db,
          server_version: ODOO_VERSION.server_version,
          server_version_info: ODOO_VERSION.server_version_info,
          name: account.user.name ?? account.user.login,
          username: account.user.login,
          partner_id: account.id,
          company_id: 1,
          session_id: null,
          'web.base.url': deps.settings.publicUrl,
        };
      }
      throw AppError.validation({ method: [`unknown method common.${input.method}`] }, `The method '${input.method}' does not exist on the common service`);
    }
    // object
    if (input.method !== 'execute_kw' && input.method !== 'execute') throw AppError.validation({ method: [`unknown method object.${input.method}`] }, `The method '${input.method}' does not exist on the object service`);
    const [db, uid, password, model, method, ...rest] = input.args;
    checkDb(db);
    const actor = await actorForCredentials(system, uid, password);
    if (typeof model !== 'string' || typeof method !== 'string') throw AppError.validation({ args: ['model and method must be names'] }, 'model and method must be names');
    if (method.startsWith('_')) throw new AppError('forbidden', `Private methods (such as ${method}) cannot be called remotely.`);
    const ctx = ctxFor(deps, actor, req.log, req);
    const args = input.method === 'execute_kw' ? list(rest[0] ?? [], 'args') : rest;
    const kwargs = input.method === 'execute_kw' ? kwargsOf(rest[1]) : {};
    return callModel(ctx, model, method, args, kwargs);
  };
}
