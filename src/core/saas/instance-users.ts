import { AppError } from '../../errors/app-error.js';
import { recordAudit } from '../audit/audit.service.js';
import { inTransaction, type Ctx } from '../context.js';
import { fillMissingChecksums } from '../nodes/database-files.repository.js';
import { findLiveInstanceDatabaseIds } from '../nodes/database-objects.repository.js';
import { syncDatabaseObjects, type InstanceDatabase } from '../nodes/database-objects.js';
import { countReportedUsers, findReportedUsersPage, findUnlistedLogins } from '../nodes/instance-user-lists.repository.js';
import * as repo from './saas.repository.js';
import { instanceForMember, requireInstanceManager } from './saas.service.js';

// An instance's users where its database holds them (docs/adr/0027). Hostplane's `users` rows of an
// instance are what the doors asked for (and the console's sign-in for them); the instance's own
// res_users, as its db node last reported it, is what the instance has: the doors show that, and the
// user limit counts whichever is more. An instance without a database, or whose template has no
// res_users, keeps today's behaviour: its users are Hostplane's rows.

/** The login Odoo gives an instance's administrator; like Hostplane's, it does not count against users,max. */
const ODOO_ADMIN_LOGIN = 'admin';

/** The most users one listing of an instance shows; `users_next_offset` leads to the rest. */
export const MAX_USERS_PAGE = 1000;

export interface UsersPage {
  offset: number;
  limit: number;
}

/**
 * The page of an instance's users a door asks for (`users_offset`, `users_limit`, as numbers or the
 * digits of a query string); absent values are the first MAX_USERS_PAGE users.
 */
export function parseUsersPage(offset: unknown, limit: unknown): UsersPage {
  const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : typeof v === 'string' && /^[0-9]{1,9}$/.test(v) ? Number(v) : undefined);
  const o = offset === undefined ? 0 : num(offset);
  const l = limit === undefined ? MAX_USERS_PAGE : num(limit);
  const fields: Record<string, string[]> = {};
  if (o === undefined || !Number.isSafeInteger(o) || o < 0) fields.users_offset = ['must be a whole number, 0 or more'];
  if (l === undefined || !Number.isSafeInteger(l) || l < 1 || l > MAX_USERS_PAGE) fields.users_limit = [`must be a whole number from 1 to ${MAX_USERS_PAGE}`];
  if (Object.keys(fields).length) throw AppError.validation(fields, Object.entries(fields).map(([k, v]) => `${k} ${v[0]}`).join('; '));
  return { offset: o!, limit: l! };
}

export interface InstanceUserView {
  /** Hostplane's user id where Hostplane made it; null: a user made inside the instance. */
  id: number | null;
  login: string;
  name: string | null;
  /** client_admin, end_user, or instance_user (made inside the instance, not through Hostplane). */
  role: string;
  groups: string[];
}

export interface InstanceUsersView {
  /** Where the list comes from: the instance database's last report, or Hostplane's own table. */
  users_source: 'instance_database' | 'hostplane';
  /** One page of the users (the first MAX_USERS_PAGE unless the door asked for another). */
  users: InstanceUserView[];
  /** How many users the whole list has (every page), the administrator included. */
  users_total: number;
  /** Where the next page starts; null: this is the last. */
  users_next_offset: number | null;
  /** Active users, the administrator not counted. */
  users_count: number;
  /** Users Hostplane holds that the database's last report does not show active (not applied yet). */
  pending_logins: string[];
  /** When the node last read the users; null for Hostplane's own list. */
  users_reported_at: string | null;
}

/** The users of one instance as the doors show them, one page at a time. */
export async function instanceUsersView(ctx: Ctx, clientId: number, database: InstanceDatabase | null, page: UsersPage = { offset: 0, limit: MAX_USERS_PAGE }): Promise<InstanceUsersView> {
  const own = await repo.instanceUsers(ctx.db, clientId);
  const live = own.filter((u) => !u.disabled_at);
  const groupsOf = async (id: number) => repo.findUserGroups(ctx.db, id);
  const next = (total: number) => (page.offset + page.limit < total ? page.offset + page.limit : null);
  const reported = database?.users_in_database ? await findReportedUsersPage(ctx.db, clientId, page.offset, page.limit) : undefined;
  if (!reported) {
    const users = await Promise.all(live.slice(page.offset, page.offset + page.limit).map(async (u) => ({ id: u.id, login: u.login, name: u.name, role: u.role, groups: await groupsOf(u.id) })));
    return {
      users_source: 'hostplane',
      users,
      users_total: live.length,
      users_next_offset: next(live.length),
      users_count: live.filter((u) => u.role !== 'client_admin').length,
      pending_logins: [],
      users_reported_at: null,
    };
  }
  const byLogin = new Map(own.map((u) => [u.login, u]));
  const users = await Promise.all(
    reported.users.map(async (r) => {
      const mine = byLogin.get(r.login);
      return { id: mine?.id ?? null, login: r.login, name: r.name ?? mine?.name ?? null, role: mine?.role ?? 'instance_user', groups: mine ? await groupsOf(mine.id) : [] };
    }),
  );
  return {
    users_source: 'instance_database',
    users,
    users_total: reported.total,
    users_next_offset: next(reported.total),
    users_count: (await countReportedUsers(ctx.db, clientId, notCounted(own))) ?? 0,
    pending_logins: await findUnlistedLogins(ctx.db, clientId, live.map((u) => u.login)),
    users_reported_at: reported.reported_at === null ? null : new Date(reported.reported_at).toISOString(),
  };
}

/** The logins users,max does not count: Odoo's administrator and Hostplane's. */
function notCounted(own: readonly { login: string; role: string }[]): string[] {
  return [ODOO_ADMIN_LOGIN, ...own.filter((u) => u.role === 'client_admin').map((u) => u.login)];
}

/** Active users the instance's database last reported (every one of them), the administrator not counted; undefined without a report. */
export async function reportedUserCount(ctx: Pick<Ctx, 'db'>, clientId: number): Promise<number | undefined> {
  return countReportedUsers(ctx.db, clientId, notCounted(await repo.instanceUsers(ctx.db, clientId)));
}

/**
 * Deactivates a user of an instance: no more console sign-in, and where the instance has a database,
 * `active` false in its res_users (the node applies it). The administrator and the owner stay: the
 * owner's access is the portal's business (a cancelled database), and the administrator is the instance's own.
 */
export async function deactivateInstanceUser(ctx: Ctx, instanceId: number, userId: unknown): Promise<{ id: number; login: string; active: false }> {
  if (typeof userId !== 'number' || !Number.isSafeInteger(userId) || userId < 1) throw AppError.validation({ user_id: ['must be a user id'] }, 'user_id must be a user id');
  return inTransaction(ctx, async (tx) => {
    const instance = await instanceForMember(tx, instanceId);
    await requireInstanceManager(tx, instance);
    await repo.lockInstance(tx.db, instance.id);
    const users = await repo.instanceUsers(tx.db, instance.id);
    const user = users.find((u) => u.id === userId);
    if (!user) throw AppError.notFound(`user ${userId} of this database`);
    const owner = users.find((u) => u.role === 'end_user');
    if (user.role === 'client_admin' || user.id === owner?.id) throw new AppError('invalid_state', `${user.login} is this database's ${user.role === 'client_admin' ? 'administrator' : 'owner'} and cannot be deactivated`);
    if (!user.disabled_at) {
      await repo.setInstanceUserDisabled(tx.db, user.id, tx.clock());
      await syncDatabaseObjects(tx, [instance.id]);
      await recordAudit(tx, { action: 'user.deactivated', targetType: 'user', targetId: user.id, resellerId: null, after: { instance_id: instance.id, login: user.login } });
    }
    return { id: user.id, login: user.login, active: false as const };
  });
}

export const PUSH_INSTANCE_USERS_JOB_KIND = 'saas.push_instance_users';

/** Instances rewritten per transaction by the migration job. */
const PUSH_PAGE = 200;

/**
 * Migration 0027's one-off job (queued again by 0030): every live instance database's desired object
 * is rewritten, so its node pushes the users Hostplane holds into its res_users and takes the files
 * Hostplane still holds for it into its ir_attachment (docs/adr/0027). Idempotent (an object is
 * written only where its spec changed), so a retry or a second run changes nothing more.
 */
export const pushInstanceUsersHandler = {
  kind: PUSH_INSTANCE_USERS_JOB_KIND,
  handle: async (ctx: Ctx): Promise<void> => {
    let after = 0;
    let written = 0;
    for (;;) {
      const ids = await findLiveInstanceDatabaseIds(ctx.db, after, PUSH_PAGE);
      if (ids.length === 0) break;
      written += await inTransaction(ctx, async (tx) => {
        await fillMissingChecksums(tx.db, ids);
        return syncDatabaseObjects(tx, ids);
      });
      after = ids[ids.length - 1]!;
    }
    ctx.log.info({ written }, 'instance users pushed to their databases');
  },
};
