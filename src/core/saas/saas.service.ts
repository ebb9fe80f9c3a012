import { createHash, randomUUID } from 'node:crypto';
import { AppError } from '../../errors/app-error.js';
import { findAccountById, type AccountUser } from '../accounts/account.repository.js';
import { recordAudit } from '../audit/audit.service.js';
import { inTransaction, type Ctx } from '../context.js';
import { relayJobs } from '../domains/domain-provisioning.js';
import { MAX_INSTANCE_FILE_BYTES } from '../nodes/agent-wire.schema.js';
import { addInstanceDatabase, getInstanceDatabases, instanceHasDatabase, syncDatabaseObjects, type InstanceDatabase } from '../nodes/database-objects.js';
import { syncRelayObjects } from '../nodes/relay-objects.js';
import { uniqueViolation } from '../shared/db-errors.js';
import { normalizeDomainName } from '../shared/domain-name.js';
import { odooPasswordHash } from '../shared/odoo-password.js';
import { hashPassword } from '../shared/passwords.js';
import { scramSha256Verifier } from '../shared/scram.js';
import { randomToken, sha256Hex } from '../shared/secrets.js';
import { getSiteDiskQuota } from '../sites/site.service.js';
import { insertSsoToken } from '../sso/sso.repository.js';
import { LOGIN_PATH } from '../sso/sso.service.js';
import { instanceUsersView, parseUsersPage, reportedUserCount, type InstanceUsersView } from './instance-users.js';
import * as repo from './saas.repository.js';
import { INSTANCE_BASE_STORAGE_BYTES, INSTANCE_LOGIN_TTL_SECONDS, NO_USER_LIMIT, OWNER_GROUPS, PORTAL_SIGNUP_GROUPS, type CreatedInstance, type InstanceUsage } from './saas.schema.js';

// No spaces or control characters: a login also goes to the instance's database (res_users.login).
const LOGIN = /^[^\s\p{Cc}]{1,254}$/u;

export function isOperator(ctx: Ctx): boolean {
  return ctx.actor.kind === 'operator' || ctx.actor.kind === 'system';
}

export function requireOperator(ctx: Ctx): void {
  if (!isOperator(ctx)) throw new AppError('forbidden', 'only the portal administrator may do this');
}

function checkPassword(password: unknown, field = 'password'): string {
  if (typeof password !== 'string' || password.length < 1 || password.length > 1024) throw AppError.validation({ [field]: ['must be 1 to 1024 characters'] }, `${field} must be 1 to 1024 characters`);
  return password;
}

function checkLogin(login: unknown): string {
  if (typeof login !== 'string' || login.length > 254 || !LOGIN.test(login)) throw AppError.validation({ login: ['must be 1 to 254 characters without spaces or control characters'] }, 'login must be 1 to 254 characters without spaces or control characters');
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
  const ownerPassword = input.ownerPassword !== undefined && input.ownerPassword !== null && input.ownerPassword !== false ? checkPassword(input.ownerPassword, 'owner_password') : undefined;
  // The instance database's owner logs in with owner_password; only its SCRAM verifier is kept and
  // sent to the node. Without one (the portal password is only a hash here) there is no password login.
  // Where the instance gets a database, the owner's login inside it gets Odoo's hash of the same
  // password for its res_users (ADR 27's addendum). The hashes are independent: computed side by side
  // (scrypt and PBKDF2 all run off the event loop).
  const [newOwnerHash, ownerVerifier, ownerOdooHash] = await Promise.all([
    ownerPassword !== undefined ? hashPassword(ownerPassword) : undefined,
    plan.template_database && ownerPassword !== undefined ? scramSha256Verifier(ownerPassword) : null,
    plan.template_database && ownerPassword !== undefined ? odooPasswordHash(ownerPassword) : null,
  ]);
  const ownerPasswordHash = newOwnerHash ?? owner.password_hash;
  if (!ownerPasswordHash) throw new AppError('invalid_state', 'the owner has no password to log in with');

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
      // The instance's administrator has no password (nobody was ever told one): no password login,
      // which every sign-in path checks, rather than a scrypt hash of random bytes per instance.
      created = await repo.insertInstance(
        tx.db,
        { plan_id: plan.id, name, email_address: owner.login.includes('@') ? owner.login : null, user_count: plan.limits?.max_users ?? NO_USER_LIMIT, instance_uuid: uuid, owner_user_id: owner.id },
        { admin: { login: 'admin', passwordHash: null }, owner: { login: owner.login === 'admin' ? 'owner' : owner.login, name: owner.name, passwordHash: ownerPasswordHash, odooPasswordHash: ownerOdooHash } },
        jobs,
        now,
      );
    } catch (e) {
      if (uniqueViolation(e) === 'domains_live_name_key') throw AppError.validation({ dbname: [`Database ${name} already exists`] }, `Database ${name} already exists`);
      throw e;
    }
    await repo.addUserGroups(tx.db, [created.ownerId], OWNER_GROUPS);
    await repo.addUserGroups(tx.db, [created.adminId], ['base.group_user', 'base.group_system', 'base.group_erp_manager']);
    // After the users' groups: the database's first spec carries its users with them.
    if (plan.template_database) await addInstanceDatabase(tx, { clientId: created.id, uuid, template: plan.template_database, ownerVerifier });
    await syncRelayObjects(tx, [name]);
    const token = randomToken(32);
    await insertSsoToken(tx.db, { token_digest: sha256Hex(token), user_id: created.ownerId, client_id: created.id, purpose: 'instance_owner_login', expires_at: new Date(now.getTime() + INSTANCE_LOGIN_TTL_SECONDS * 1000), created_at: now });
    await recordAudit(tx, { action: 'client.created', targetType: 'client', targetId: created.id, resellerId: null, after: { instance: name, plan: plan.uid, owner_user_id: owner.id, instance_uuid: uuid } });
    const url = `${tx.settings.publicUrl}${LOGIN_PATH}?token=${encodeURIComponent(token)}`;
    return { url, auth_url: url, id: created.id, client_id: uuid };
  });
}

// ---------------------------------------------------------------------------------------------
// Inside an instance: users, storage, modules

/**
 * Who may look inside an instance: the portal administrator, the portal user who owns it, and the
 * instance's own users (signed in to it through the console). Anyone else gets "not found".
 */
export async function visibleInstance(ctx: Ctx, id: number): Promise<repo.InstanceRow> {
  const row = await repo.findInstance(ctx.db, id);
  const allowed =
    row !== undefined &&
    (isOperator(ctx) || (ctx.actor.kind === 'user' && (row.owner_user_id === ctx.actor.userId || (await repo.isInstanceUser(ctx.db, row.id, ctx.actor.userId)))));
  if (!row || !allowed) throw AppError.notFound(`instance ${id}`);
  return row;
}

/** Whether a client is a live SaaS instance (one with an instance of its own), for an operator's view of it. */
export async function isSaasInstance(ctx: Ctx, id: number): Promise<boolean> {
  return (await repo.findInstance(ctx.db, id)) !== undefined;
}

/** As visibleInstance, for changes inside it: a suspended instance takes none, whoever asks. */
export async function instanceForMember(ctx: Ctx, id: number): Promise<repo.InstanceRow> {
  const row = await visibleInstance(ctx, id);
  if (row.status !== 'active') throw new AppError('invalid_state', 'this database is suspended');
  return row;
}

/** Users of an instance are managed by the portal's side (administrator, owning portal user) and by the instance's admin and owner. */
export async function requireInstanceManager(ctx: Ctx, row: repo.InstanceRow): Promise<void> {
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
  // Odoo's hash only where the instance has a database to carry it to (ADR 27's addendum); both
  // hashes before the transaction, so no lock waits on them. A database is made with its instance or
  // never, so the answer cannot change before the insert.
  const [hash, odooHash] = await Promise.all([hashPassword(password), instanceHasDatabase(ctx, instanceId).then((has) => (has ? odooPasswordHash(password) : null))]);
  try {
    return await inTransaction(ctx, async (tx) => {
      const instance = await instanceForMember(tx, instanceId);
      await requireInstanceManager(tx, instance);
      await repo.lockInstance(tx.db, instance.id);
      const current = await repo.countInstanceUsers(tx.db, instance.id);
      // The admin user does not count, as in the portal. Where the instance's database reports its
      // users, those made inside it count too: whichever list is longer.
      const counted = Math.max(0, current - 1, (await reportedUserCount(tx, instance.id)) ?? 0);
      if (instance.user_count !== NO_USER_LIMIT && counted >= instance.user_count) {
        throw AppError.validation({ login: [`Maximum allowed users is ${instance.user_count}, while you already have ${counted}`] }, `Maximum allowed users is ${instance.user_count}, while you already have ${counted}`);
      }
      const id = await repo.insertInstanceUser(tx.db, instance.id, { login, name: typeof input.name === 'string' ? input.name : login, passwordHash: hash, odooPasswordHash: odooHash }, tx.clock());
      await repo.addUserGroups(tx.db, [id], ['base.group_user']);
      // Where the instance has a database, its node adds the user to its res_users.
      await syncDatabaseObjects(tx, [instance.id]);
      await recordAudit(tx, { action: 'user.created', targetType: 'user', targetId: id, resellerId: null, after: { instance_id: instance.id, login } });
      return { id, login };
    });
  } catch (e) {
    if (uniqueViolation(e) === 'users_client_login_key') throw AppError.validation({ login: ['is already taken in this database'] }, `You can not have two users with the same login! (${login})`);
    throw e;
  }
}

async function usageOf(ctx: Ctx, row: repo.InstanceRow): Promise<InstanceUsage> {
  const measured = (await getInstanceDatabases(ctx, [row.id])).get(row.id)?.size_bytes ?? null;
  const used = (measured ?? INSTANCE_BASE_STORAGE_BYTES) + (await repo.instanceFileBytes(ctx.db, row.id));
  const limit = await getSiteDiskQuota(ctx, row.id);
  const usedMb = Math.round((used / (1024 * 1024)) * 100) / 100;
  return { used_bytes: used, used_mb: usedMb, limit_mb: limit, exceeded: limit > 0 && used > limit * 1024 * 1024 };
}

/**
 * Stores a file in the instance; refused when it would take the instance past its storage limit.
 * Where the instance's database has Odoo's ir_attachment the file is staged here and its node moves
 * it there (docs/adr/0027, addendum): the spec names it, the node fetches the content, and once the
 * node reports it held the content here is cleared. Staged bytes count until the database's size
 * measured after the move holds them.
 */
export async function storeInstanceFile(ctx: Ctx, instanceId: number, input: { name: unknown; content: Buffer }): Promise<{ id: number; usage: InstanceUsage }> {
  const name = input.name;
  if (typeof name !== 'string' || name.length < 1 || name.length > 255) throw AppError.validation({ name: ['must be 1 to 255 characters'] });
  if (input.content.length > MAX_INSTANCE_FILE_BYTES) throw new AppError('payload_too_large', `a file may hold at most ${MAX_INSTANCE_FILE_BYTES / (1024 * 1024)} MiB`);
  const sha256 = createHash('sha256').update(input.content).digest('hex');
  return inTransaction(ctx, async (tx) => {
    const instance = await instanceForMember(tx, instanceId);
    await repo.lockInstance(tx.db, instance.id);
    const usage = await usageOf(tx, instance);
    if (usage.limit_mb > 0 && usage.used_bytes + input.content.length > usage.limit_mb * 1024 * 1024) {
      throw new AppError('invalid_state', `Storage limit of ${usage.limit_mb} MB reached: ${usage.used_mb} MB in use, this file needs ${(input.content.length / (1024 * 1024)).toFixed(2)} MB more`);
    }
    const id = await repo.insertInstanceFile(tx.db, instance.id, { name, content: input.content, sha256 }, tx.clock());
    // Where the database reported an ir_attachment, its object now lists the file for its node.
    await syncDatabaseObjects(tx, [instance.id]);
    await recordAudit(tx, { action: 'client.file_stored', targetType: 'client', targetId: instance.id, resellerId: null, after: { file_id: id, name, bytes: input.content.length } });
    return { id, usage: await usageOf(tx, instance) };
  });
}

export interface InstanceOverview extends InstanceUsersView {
  id: number;
  name: string | null;
  status: 'active' | 'suspended';
  /** users,max: 0 means no limit. The admin user does not count against it. */
  max_users: number;
  /** The instance's expiry (Odoo's expiration_datetime, ISO 8601); null: none. The instance enforces it. */
  expires_at: string | null;
  /**
   * Stored files: the database's ir_attachment where it has one (as last reported), else Hostplane's.
   * `staged`: files stored here that its node has not moved into the database yet (0 for Hostplane's).
   */
  files: { source: 'instance_database' | 'hostplane'; count: number; bytes: number; staged: number };
  modules: string[];
  usage: InstanceUsage;
  /** The instance's own database on its db node; null when its plan named no template database. */
  database: InstanceDatabase | null;
}

/**
 * Everything the owner's page and the operator API show of one instance, read in one go; its users
 * one page at a time (`users_offset`, `users_limit` as the door received them; absent: the first page).
 */
export async function getInstanceOverview(ctx: Ctx, instanceId: number, usersPage: { users_offset?: unknown; users_limit?: unknown } = {}): Promise<InstanceOverview> {
  const page = parseUsersPage(usersPage.users_offset, usersPage.users_limit);
  const row = await visibleInstance(ctx, instanceId);
  const database = (await getInstanceDatabases(ctx, [row.id])).get(row.id) ?? null;
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    max_users: row.user_count,
    expires_at: row.expires_at?.toISOString() ?? null,
    ...(await instanceUsersView(ctx, row.id, database, page)),
    files: database?.files
      ? { source: 'instance_database', ...database.files, staged: (await repo.instanceFileStats(ctx.db, row.id)).count }
      : { source: 'hostplane', ...(await repo.instanceFileStats(ctx.db, row.id)), staged: 0 },
    modules: await repo.instanceAddons(ctx.db, row.id),
    usage: await usageOf(ctx, row),
    database,
  };
}
