import { AppError } from '../../errors/app-error.js';
import { recordAudit } from '../audit/audit.service.js';
import { inTransaction, type Ctx } from '../context.js';
import { fillMissingChecksums } from '../nodes/database-files.repository.js';
import { findLiveInstanceDatabaseIds } from '../nodes/database-objects.repository.js';
import { getReportedInstanceUsers, syncDatabaseObjects, type InstanceDatabase } from '../nodes/database-objects.js';
import * as repo from './saas.repository.js';
import { instanceForMember, requireInstanceManager } from './saas.service.js';

// An instance's users where its database holds them (docs/adr/0027). Hostplane's `users` rows of an
// instance are what the doors asked for (and the console's sign-in for them); the instance's own
// res_users, as its db node last reported it, is what the instance has: the doors show that, and the
// user limit counts whichever is more. An instance without a database, or whose template has no
// res_users, keeps today's behaviour: its users are Hostplane's rows.

/** The login Odoo gives an instance's administrator; like Hostplane's, it does not count against users,max. */
const ODOO_ADMIN_LOGIN = 'admin';

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
  users: InstanceUserView[];
  /** Active users, the administrator not counted. */
  users_count: number;
  /** Users Hostplane holds that the database's last report does not show active (not applied yet). */
  pending_logins: string[];
  /** When the node last read the users; null for Hostplane's own list. */
  users_reported_at: string | null;
}

/** The users of one instance as the doors show them. */
export async function instanceUsersView(ctx: Ctx, clientId: number, database: InstanceDatabase | null): Promise<InstanceUsersView> {
  const own = await repo.instanceUsers(ctx.db, clientId);
  const live = own.filter((u) => !u.disabled_at);
  const groupsOf = async (id: number) => repo.findUserGroups(ctx.db, id);
  const reported = database?.users_in_database ? await getReportedInstanceUsers(ctx, clientId) : undefined;
  if (!reported) {
    const users = await Promise.all(live.map(async (u) => ({ id: u.id, login: u.login, name: u.name, role: u.role, groups: await groupsOf(u.id) })));
    return { users_source: 'hostplane', users, users_count: users.filter((u) => u.role !== 'client_admin').length, pending_logins: [], users_reported_at: null };
  }
  const byLogin = new Map(own.map((u) => [u.login, u]));
  const active = reported.users.filter((u) => u.active && !u.share);
  const users = await Promise.all(
    active.map(async (r) => {
      const mine = byLogin.get(r.login);
      return { id: mine?.id ?? null, login: r.login, name: r.name ?? mine?.name ?? null, role: mine?.role ?? 'instance_user', groups: mine ? await groupsOf(mine.id) : [] };
    }),
  );
  const shown = new Set(active.map((u) => u.login));
  return {
    users_source: 'instance_database',
    users,
    users_count: users.filter((u) => u.role !== 'client_admin' && u.login !== ODOO_ADMIN_LOGIN).length,
    pending_logins: live.filter((u) => !shown.has(u.login)).map((u) => u.login),
    users_reported_at: reported.reportedAt,
  };
}

/** Active users the instance's database last reported, the administrator not counted; undefined without a report. */
export async function reportedUserCount(ctx: Pick<Ctx, 'db'>, clientId: number): Promise<number | undefined> {
  const reported = await getReportedInstanceUsers(ctx, clientId);
  return reported?.users.filter((u) => u.active && !u.share && u.login !== ODOO_ADMIN_LOGIN).length;
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
