import { randomBytes, randomUUID } from 'node:crypto';
import { AppError, addFieldError, fieldErrors } from '../../errors/app-error.js';
import { findAccountById, type AccountUser } from '../accounts/account.repository.js';
import { recordAudit } from '../audit/audit.service.js';
import { inTransaction, type Ctx } from '../context.js';
import { relayJobs } from '../domains/domain-provisioning.js';
import { syncRelayObjects } from '../nodes/relay-objects.js';
import { uniqueViolation } from '../shared/db-errors.js';
import { normalizeDomainName } from '../shared/domain-name.js';
import { hashPassword } from '../shared/passwords.js';
import { randomToken, sha256Hex } from '../shared/secrets.js';
import { activateSites, editSites, getSiteDiskQuota, suspendSites } from '../sites/site.service.js';
import { insertSsoToken } from '../sso/sso.repository.js';
import { LOGIN_PATH } from '../sso/sso.service.js';
import * as repo from './saas.repository.js';
import { ACCESS_GROUPS, INSTANCE_BASE_STORAGE_BYTES, INSTANCE_LOGIN_TTL_SECONDS, NO_USER_LIMIT, OWNER_GROUPS, PORTAL_SIGNUP_GROUPS, type CreatedInstance, type InstanceUsage, type UpgradePayload } from './saas.schema.js';

const LOGIN = /^[^\s]{1,254}$/;

function isOperator(ctx: Ctx): boolean {
  return ctx.actor.kind === 'operator' || ctx.actor.kind === 'system';
}

function requireOperator(ctx: Ctx): void {
  if (!isOperator(ctx)) throw new AppError('forbidden', 'only the portal administrator may do this');
}

function checkPassword(password: unknown, field = 'password'): string {
  if (typeof password !== 'string' || password.length < 1 || password.length > 1024) throw AppError.validation({ [field]: ['must be 1 to 1024 characters'] }, `${field} must be 1 to 1024 characters`);
  return password;
}

function checkLogin(login: unknown): string {
  if (typeof login !== 'string' || !LOGIN.test(login)) throw AppError.validation({ login: ['must be 1 to 254 characters without spaces'] }, 'login must be 1 to 254 characters without spaces');
  return login;
}

// ---------------------------------------------------------------------------------------------
// Accounts: operator users (the portal administrator) and portal sign-ups

export async function createOperatorUser(ctx: Ctx, input: { login: unknown; password: unknown; name?: unknown }): Promise<{ id: number; login: string; name: string | null }> {
  requireOperator(ctx);
  return createAccount(ctx, 'operator', input);
}

/**
 * `res.users.signup`: a portal user who may then create and manage their own instances. The portal's
 * administrator signs users up (as the seed does); a portal user may not make more accounts.
 */
export async function signupPortalUser(ctx: Ctx, input: { login: unknown; password: unknown; name?: unknown }): Promise<{ id: number; login: string; name: string | null }> {
  requireOperator(ctx);
  return createAccount(ctx, 'portal', input);
}

async function createAccount(ctx: Ctx, role: 'operator' | 'portal', input: { login: unknown; password: unknown; name?: unknown }) {
  const login = checkLogin(input.login);
  const password = checkPassword(input.password);
  if (input.name !== undefined && input.name !== null && (typeof input.name !== 'string' || input.name.length > 200)) throw AppError.validation({ name: ['must be text of at most 200 characters'] });
  const name = typeof input.name === 'string' && input.name !== '' ? input.name : login;
  const passwordHash = await hashPassword(password);
  try {
    return await inTransaction(ctx, async (tx) => {
      const id = await repo.insertAccount(tx.db, { role, login, name, email: login.includes('@') ? login : null, password_hash: passwordHash }, tx.clock());
      if (role === 'portal') await repo.addUserGroups(tx.db, [id], PORTAL_SIGNUP_GROUPS);
      await recordAudit(tx, { action: 'user.created', targetType: 'user', targetId: id, resellerId: null, after: { role, login, name } });
      return { id, login, name };
    });
  } catch (e) {
    if (uniqueViolation(e) === 'users_login_key') throw AppError.validation({ login: ['is already taken'] }, `You can not have two users with the same login! (${login})`);
    throw e;
  }
}

export async function getAccount(ctx: Ctx, id: number): Promise<(AccountUser & { groups: string[] }) | undefined> {
  const user = await findAccountById(ctx.db, id);
  if (!user) return undefined;
  if (!isOperator(ctx) && !(ctx.actor.kind === 'user' && ctx.actor.userId === id)) return undefined;
  return { ...user, groups: await repo.findUserGroups(ctx.db, id) };
}

// ---------------------------------------------------------------------------------------------
// Plans and instances

export async function listSaasPlans(ctx: Ctx, ids?: number[]): Promise<repo.SaasPlan[]> {
  return repo.listSaasPlans(ctx.db, ids);
}

export interface CreateInstanceInput {
  planId: unknown;
  dbname?: unknown;
  /** The owner: a portal user's id (a portal user may only name themselves). */
  userId?: unknown;
  /** The owner's password inside the instance; the portal password when not given. */
  ownerPassword?: unknown;
}

/**
 * `create_new_database`: a new instance from a plan, named `dbname` or from the plan's template
 * (`%i` → a global number, zero-padded to three digits), with an admin and the owner as users, and a
 * one-hour, single-use login link for the owner.
 */
export async function createInstance(ctx: Ctx, input: CreateInstanceInput): Promise<CreatedInstance> {
  if (typeof input.planId !== 'number' || !Number.isSafeInteger(input.planId)) throw AppError.validation({ plan_id: ['must be a plan id'] }, 'plan_id must be a plan id');
  const plan = await repo.findSaasPlan(ctx.db, input.planId);
  if (!plan) throw AppError.notFound(`saas_portal.plan(${input.planId})`);
  let ownerId: number;
  if (input.userId === undefined || input.userId === null || input.userId === false) {
    if (ctx.actor.kind !== 'user') throw AppError.validation({ user_id: ['is required'] }, 'user_id is required');
    ownerId = ctx.actor.userId;
  } else if (typeof input.userId === 'number' && Number.isSafeInteger(input.userId)) ownerId = input.userId;
  else throw AppError.validation({ user_id: ['must be a user id'] }, 'user_id must be a user id');
  if (ctx.actor.kind === 'user' && ctx.actor.userId !== ownerId) throw new AppError('forbidden', 'you may only create databases for yourself');
  if (!isOperator(ctx) && ctx.actor.kind !== 'user') throw new AppError('forbidden', 'sign in to create a database');
  const owner = await findAccountById(ctx.db, ownerId);
  if (!owner || owner.disabled_at) throw AppError.notFound(`res.users(${ownerId})`);
  const ownerPasswordHash = input.ownerPassword !== undefined && input.ownerPassword !== null && input.ownerPassword !== false ? await hashPassword(checkPassword(input.ownerPassword, 'owner_password')) : owner.password_hash;
  if (!ownerPasswordHash) throw new AppError('invalid_state', 'the owner has no password to log in with');
  const adminHash = await hashPassword(randomBytes(16).toString('base64url'));

  return inTransaction(ctx, async (tx) => {
    // Checked before a name is drawn, as the portal does, so a refused database uses up no number; the
    // plan's row is locked so that concurrent creates cannot both take the last place.
    await repo.lockSaasPlan(tx.db, plan.id);
    if (plan.max_databases !== null && plan.max_databases > 0 && (await repo.countLiveInstancesOfPlan(tx.db, plan.id)) >= plan.max_databases) {
      throw new AppError('invalid_state', `Limit of databases for this plan is ${plan.max_databases} reached`);
    }
    let name: string;
    if (input.dbname !== undefined && input.dbname !== null && input.dbname !== false && input.dbname !== '') {
      const n = typeof input.dbname === 'string' ? normalizeDomainName(input.dbname) : null;
      if (!n) throw AppError.validation({ dbname: [`${JSON.stringify(input.dbname)} is not a valid database (host) name`] }, `${JSON.stringify(input.dbname)} is not a valid database (host) name`);
      name = n;
    } else {
      if (!plan.dbname_template) throw AppError.validation({ dbname: ['Template for db name is not configured'] }, 'Template for db name is not configured');
      const number = await repo.nextDbnameNumber(tx.db);
      const n = normalizeDomainName(plan.dbname_template.replace(/%i/g, String(number).padStart(3, '0')));
      if (!n) throw AppError.validation({ dbname: ['the plan\'s template does not make a valid host name'] }, `the plan's DB Names template ${plan.dbname_template} does not make a valid host name`);
      name = n;
    }
    const uuid = randomUUID();
    const now = tx.clock();
    const jobs = relayJobs([{ change: 'provision', domain: name }], { clientId: null, resellerId: null }).map((j) => ({ kind: j.kind, lane: j.lane!, payload: j.payload!, max_attempts: j.maxAttempts! }));
    let created: { id: number; adminId: number; ownerId: number };
    try {
      created = await repo.insertInstance(
        tx.db,
        { plan_id: plan.id, name, email_address: owner.login.includes('@') ? owner.login : null, user_count: plan.limits?.max_users ?? NO_USER_LIMIT, instance_uuid: uuid, owner_user_id: owner.id },
        { admin: { login: 'admin', passwordHash: adminHash }, owner: { login: owner.login === 'admin' ? 'owner' : owner.login, name: owner.name, passwordHash: ownerPasswordHash } },
        jobs,
        now,
      );
    } catch (e) {
      if (uniqueViolation(e) === 'domains_live_name_key') throw AppError.validation({ dbname: [`Database ${name} already exists`] }, `Database ${name} already exists`);
      throw e;
    }
    await syncRelayObjects(tx, [name]);
    await repo.addUserGroups(tx.db, [created.ownerId], OWNER_GROUPS);
    await repo.addUserGroups(tx.db, [created.adminId], ['base.group_user', 'base.group_system', 'base.group_erp_manager']);
    const token = randomToken(32);
    await insertSsoToken(tx.db, { token_digest: sha256Hex(token), user_id: created.ownerId, client_id: created.id, purpose: 'instance_owner_login', expires_at: new Date(now.getTime() + INSTANCE_LOGIN_TTL_SECONDS * 1000), created_at: now });
    await recordAudit(tx, { action: 'client.created', targetType: 'client', targetId: created.id, resellerId: null, after: { instance: name, plan: plan.uid, owner_user_id: owner.id, instance_uuid: uuid } });
    const url = `${tx.settings.publicUrl}${LOGIN_PATH}?token=${encodeURIComponent(token)}`;
    return { url, auth_url: url, id: created.id, client_id: uuid };
  });
}

async function instanceFor(ctx: Ctx, id: unknown): Promise<repo.InstanceRow> {
  if (typeof id !== 'number' || !Number.isSafeInteger(id)) throw AppError.validation({ id: ['must be an instance id'] }, 'the client id must be an integer');
  const row = await repo.findInstance(ctx.db, id);
  if (!row || (ctx.actor.kind === 'user' && row.owner_user_id !== ctx.actor.userId)) throw AppError.notFound(`saas_portal.client(${id})`);
  return row;
}

// ---------------------------------------------------------------------------------------------
// do_upgrade_database

const TRUE_VALUES = new Set(['1', 'true', 'True']);
const FALSE_VALUES = new Set(['0', 'false', 'False', '']);

function stringList(raw: unknown): string[] | undefined {
  if (raw === undefined || raw === null || raw === false) return [];
  if (!Array.isArray(raw) || raw.some((x) => typeof x !== 'string')) return undefined;
  return raw as string[];
}

/**
 * Applies an upgrade payload to one instance: params (suspended, max_users, total_storage_limit),
 * module installs and removals, and access-group changes. Problems are reported per key, as the
 * portal does, and whatever was valid is applied (all of it in one transaction).
 */
export async function upgradeInstance(ctx: Ctx, clientId: unknown, payload: UpgradePayload): Promise<Record<string, Record<string, string[]>>> {
  requireOperator(ctx);
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) throw AppError.validation({ payload: ['must be a dictionary'] }, 'the upgrade payload must be a dictionary');
  const known = new Set(['params', 'install_addons', 'uninstall_addons', 'access_owner_add', 'access_remove']);
  const unknownKeys = Object.keys(payload).filter((k) => !known.has(k));
  return inTransaction(ctx, async (tx) => {
    const instance = await instanceFor(tx, clientId);
    await repo.lockInstance(tx.db, instance.id);
    // Keyed by the payload's own keys: "toString" or "__proto__" must be a key like any other.
    const problems = fieldErrors();
    const note = (key: string, message: string) => addFieldError(problems, key, message);
    for (const k of unknownKeys) note(k, `unknown key ${k}`);
    const target = `site${instance.id}`;

    // params
    if (payload.params !== undefined) {
      if (!Array.isArray(payload.params)) note('params', 'must be a list of {key, value}');
      else {
        for (const p of payload.params as unknown[]) {
          const key = (p as { key?: unknown })?.key;
          const value = (p as { value?: unknown })?.value;
          const text = typeof value === 'number' ? String(value) : typeof value === 'boolean' ? (value ? '1' : '0') : value;
          if (typeof key !== 'string' || (typeof text !== 'string' && text !== null)) {
            note('params', 'each param needs a key and a value');
            continue;
          }
          if (key === 'saas_client.suspended') {
            if (typeof text === 'string' && TRUE_VALUES.has(text)) await suspendSites(tx, { target, reason: 'saas_client.suspended' });
            else if (text === null || FALSE_VALUES.has(text)) await activateSites(tx, { target });
            else note('params', `saas_client.suspended: expected 1 or 0, got ${JSON.stringify(value)}`);
          } else if (key === 'saas_client.max_users') {
            const n = text === null || text === '' ? NO_USER_LIMIT : Number(text);
            if (!Number.isSafeInteger(n) || n < 0) note('params', `saas_client.max_users: ${JSON.stringify(value)} is not a whole number`);
            else await editSites(tx, { target, opts: { 'users.max': n } });
          } else if (key === 'saas_client.total_storage_limit') {
            const n = text === null || text === '' ? 0 : Number(text);
            if (!Number.isSafeInteger(n) || n < 0) note('params', `saas_client.total_storage_limit: ${JSON.stringify(value)} is not a whole number of MB`);
            else await editSites(tx, { target, opts: { 'diskquota.quota': n } });
          } else note('params', `unknown parameter ${key}`);
        }
      }
    }

    // modules
    const install = stringList(payload.install_addons);
    const uninstall = stringList(payload.uninstall_addons);
    if (!install) note('install_addons', 'must be a list of module names');
    if (!uninstall) note('uninstall_addons', 'must be a list of module names');
    if ((install && install.length) || (uninstall && uninstall.length)) {
      const catalog = new Map((await repo.listAddons(tx.db)).map((a) => [a.name, a]));
      const plan = instance.plan_id !== null ? await repo.findSaasPlan(tx.db, instance.plan_id) : undefined;
      const allowed = (name: string) => !plan || plan.addons.length === 0 || plan.addons.includes(name) || name === 'base';
      let installed = new Set(await repo.instanceAddons(tx.db, instance.id));
      const toInstall: string[] = [];
      for (const name of install ?? []) {
        if (!catalog.has(name)) {
          note('install_addons', `module not found: ${name}`);
          continue;
        }
        // A module brings what it depends on.
        const closure: string[] = [];
        const visit = (n: string, seen: Set<string>) => {
          if (seen.has(n)) return;
          seen.add(n);
          for (const d of catalog.get(n)?.depends ?? []) visit(d, seen);
          closure.push(n);
        };
        visit(name, new Set());
        const refused = closure.filter((n) => !allowed(n));
        if (refused.length) {
          note('install_addons', `module not available in this plan: ${refused.join(', ')}`);
          continue;
        }
        for (const n of closure) if (!installed.has(n) && !toInstall.includes(n)) toInstall.push(n);
      }
      await repo.installAddons(tx.db, instance.id, toInstall, tx.clock());
      installed = new Set([...installed, ...toInstall]);
      const toRemove: string[] = [];
      for (const name of uninstall ?? []) {
        if (!catalog.has(name)) note('uninstall_addons', `module not found: ${name}`);
        else if (!installed.has(name)) note('uninstall_addons', `module not installed: ${name}`);
        else {
          const dependents = [...installed].filter((n) => n !== name && !toRemove.includes(n) && !(uninstall ?? []).includes(n) && (catalog.get(n)?.depends ?? []).includes(name));
          if (dependents.length) note('uninstall_addons', `${name} is required by ${dependents.sort().join(', ')}`);
          else toRemove.push(name);
        }
      }
      await repo.uninstallAddons(tx.db, instance.id, toRemove);
      if (toInstall.length || toRemove.length) {
        await recordAudit(tx, { action: 'client.updated', targetType: 'client', targetId: instance.id, resellerId: null, before: { addons: [...installed].filter((n) => !toInstall.includes(n)).sort() }, after: { addons: [...installed].filter((n) => !toRemove.includes(n)).sort() } });
      }
    }

    // access groups
    const add = stringList(payload.access_owner_add);
    const remove = stringList(payload.access_remove);
    if (!add) note('access_owner_add', 'must be a list of group ids');
    if (!remove) note('access_remove', 'must be a list of group ids');
    const users = await repo.instanceUsers(tx.db, instance.id);
    const owner = users.find((u) => u.role === 'end_user') ?? users[0];
    const validAdd = (add ?? []).filter((g) => (Object.hasOwn(ACCESS_GROUPS, g) ? true : (note('access_owner_add', `group not found: ${g}`), false)));
    const validRemove = (remove ?? []).filter((g) => (Object.hasOwn(ACCESS_GROUPS, g) ? true : (note('access_remove', `group not found: ${g}`), false)));
    if (owner && validAdd.length) await repo.addUserGroups(tx.db, [owner.id], validAdd);
    if (validRemove.length) await repo.removeUserGroups(tx.db, users.map((u) => u.id), validRemove);
    if (validAdd.length || validRemove.length) {
      await recordAudit(tx, { action: 'client.updated', targetType: 'client', targetId: instance.id, resellerId: null, after: { access_owner_add: validAdd, access_remove: validRemove } });
    }
    return { [instance.name ?? target]: problems };
  });
}

// ---------------------------------------------------------------------------------------------
// Inside an instance: users, storage, modules

/**
 * Who may look inside an instance: the portal administrator, the portal user who owns it, and the
 * instance's own users (signed in to it through the console). Anyone else gets "not found".
 */
async function visibleInstance(ctx: Ctx, id: number): Promise<repo.InstanceRow> {
  const row = await repo.findInstance(ctx.db, id);
  const allowed =
    row !== undefined &&
    (isOperator(ctx) || (ctx.actor.kind === 'user' && (row.owner_user_id === ctx.actor.userId || (await repo.isInstanceUser(ctx.db, row.id, ctx.actor.userId)))));
  if (!row || !allowed) throw AppError.notFound(`instance ${id}`);
  return row;
}

/** As visibleInstance, for changes inside it: a suspended instance takes none, whoever asks. */
async function instanceForMember(ctx: Ctx, id: number): Promise<repo.InstanceRow> {
  const row = await visibleInstance(ctx, id);
  if (row.status !== 'active') throw new AppError('invalid_state', 'this database is suspended');
  return row;
}

/** Users of an instance are managed by the portal's side (administrator, owning portal user) and by the instance's admin and owner. */
async function requireInstanceManager(ctx: Ctx, row: repo.InstanceRow): Promise<void> {
  if (isOperator(ctx) || ctx.actor.kind !== 'user' || row.owner_user_id === ctx.actor.userId) return;
  const userId = ctx.actor.userId;
  const users = await repo.instanceUsers(ctx.db, row.id);
  // The owner is the instance's first end user, made with it (as upgradeInstance finds it too).
  const owner = users.find((u) => u.role === 'end_user');
  if (users.find((u) => u.id === userId)?.role === 'client_admin' || owner?.id === userId) return;
  throw new AppError('forbidden', 'only the owner of this database may add users to it');
}

/** A new user inside an instance; refused beyond its users,max (0: no limit) with Odoo's message. */
export async function addInstanceUser(ctx: Ctx, instanceId: number, input: { login: unknown; name?: unknown; password: unknown }): Promise<{ id: number; login: string }> {
  const login = checkLogin(input.login);
  const password = checkPassword(input.password);
  const hash = await hashPassword(password);
  try {
    return await inTransaction(ctx, async (tx) => {
      const instance = await instanceForMember(tx, instanceId);
      await requireInstanceManager(tx, instance);
      await repo.lockInstance(tx.db, instance.id);
      const current = await repo.countInstanceUsers(tx.db, instance.id);
      // The admin user does not count, as in the portal.
      const counted = Math.max(0, current - 1);
      if (instance.user_count !== NO_USER_LIMIT && counted >= instance.user_count) {
        throw AppError.validation({ login: [`Maximum allowed users is ${instance.user_count}, while you already have ${counted}`] }, `Maximum allowed users is ${instance.user_count}, while you already have ${counted}`);
      }
      const id = await repo.insertInstanceUser(tx.db, instance.id, { login, name: typeof input.name === 'string' ? input.name : login, passwordHash: hash }, tx.clock());
      await repo.addUserGroups(tx.db, [id], ['base.group_user']);
      await recordAudit(tx, { action: 'user.created', targetType: 'user', targetId: id, resellerId: null, after: { instance_id: instance.id, login } });
      return { id, login };
    });
  } catch (e) {
    if (uniqueViolation(e) === 'users_client_login_key') throw AppError.validation({ login: ['is already taken in this database'] }, `You can not have two users with the same login! (${login})`);
    throw e;
  }
}

async function usageOf(ctx: Ctx, row: repo.InstanceRow): Promise<InstanceUsage> {
  const used = INSTANCE_BASE_STORAGE_BYTES + (await repo.instanceFileBytes(ctx.db, row.id));
  const limit = await getSiteDiskQuota(ctx, row.id);
  const usedMb = Math.round((used / (1024 * 1024)) * 100) / 100;
  return { used_bytes: used, used_mb: usedMb, limit_mb: limit, exceeded: limit > 0 && used > limit * 1024 * 1024 };
}

// Files are stored in the database row by row; one this size is the most a request should carry.
const MAX_INSTANCE_FILE_BYTES = 8 * 1024 * 1024;

/** Stores a file in the instance; refused when it would take the instance past its storage limit. */
export async function storeInstanceFile(ctx: Ctx, instanceId: number, input: { name: unknown; content: Buffer }): Promise<{ id: number; usage: InstanceUsage }> {
  const name = input.name;
  if (typeof name !== 'string' || name.length < 1 || name.length > 255) throw AppError.validation({ name: ['must be 1 to 255 characters'] });
  if (input.content.length > MAX_INSTANCE_FILE_BYTES) throw new AppError('payload_too_large', `a file may hold at most ${MAX_INSTANCE_FILE_BYTES / (1024 * 1024)} MiB`);
  return inTransaction(ctx, async (tx) => {
    const instance = await instanceForMember(tx, instanceId);
    await repo.lockInstance(tx.db, instance.id);
    const usage = await usageOf(tx, instance);
    if (usage.limit_mb > 0 && usage.used_bytes + input.content.length > usage.limit_mb * 1024 * 1024) {
      throw new AppError('invalid_state', `Storage limit of ${usage.limit_mb} MB reached: ${usage.used_mb} MB in use, this file needs ${(input.content.length / (1024 * 1024)).toFixed(2)} MB more`);
    }
    const id = await repo.insertInstanceFile(tx.db, instance.id, name, input.content, tx.clock());
    await recordAudit(tx, { action: 'client.file_stored', targetType: 'client', targetId: instance.id, resellerId: null, after: { file_id: id, name, bytes: input.content.length } });
    return { id, usage: await usageOf(tx, instance) };
  });
}

export interface InstanceOverview {
  id: number;
  name: string | null;
  status: 'active' | 'suspended';
  /** users,max: 0 means no limit. The admin user does not count against it. */
  max_users: number;
  users_count: number;
  users: { id: number; login: string; name: string | null; role: string; groups: string[] }[];
  modules: string[];
  usage: InstanceUsage;
}

/** Everything the owner's page and the operator API show of one instance, read in one go. */
export async function getInstanceOverview(ctx: Ctx, instanceId: number): Promise<InstanceOverview> {
  const row = await visibleInstance(ctx, instanceId);
  const users = (await repo.instanceUsers(ctx.db, row.id)).filter((u) => !u.disabled_at);
  const withGroups = await Promise.all(users.map(async (u) => ({ id: u.id, login: u.login, name: u.name, role: u.role, groups: await repo.findUserGroups(ctx.db, u.id) })));
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    max_users: row.user_count,
    users_count: users.filter((u) => u.role !== 'client_admin').length,
    users: withGroups,
    modules: await repo.instanceAddons(ctx.db, row.id),
    usage: await usageOf(ctx, row),
  };
}
