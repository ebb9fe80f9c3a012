import { recordAudit } from '../audit/audit.service.js';
import { inTransaction, type Ctx } from '../context.js';
import * as repo from './service-access.repository.js';

/** Set on the clients the grant suspends, so it only ever reactivates its own suspensions. */
export const GRANT_SUSPEND_REASON = 'subscription ended';
export const SERVICE_ACCESS_JOB_KIND = 'subscriptions.service_access';
const SWEEP_BATCH = 500;

/**
 * Brings the user's Hostplane clients in line with their running subscriptions: a subscription type
 * with a package grants one client on it (created on first need, owned by the user), which is
 * suspended once no subscription on that package runs and reactivated when one runs again. A client
 * an operator suspended for another reason, cancelled or deleted is left alone and never replaced.
 */
export async function syncServiceAccess(ctx: Ctx, userId: number): Promise<void> {
  await inTransaction(ctx, async (tx) => {
    const user = await repo.lockGrantee(tx.db, userId);
    if (!user) return;
    const now = tx.clock();
    const wanted = new Set(await repo.grantedPlanIds(tx.db, userId, now));
    const linked = await repo.linkedClients(tx.db, userId);
    for (const planId of wanted) {
      const client = linked.find((c) => c.plan_id === planId);
      if (client) {
        if (client.status === 'suspended' && client.suspend_reason === GRANT_SUSPEND_REASON) {
          await repo.setClientStatus(tx.db, client.id, 'active', null, now);
          await recordAudit(tx, { action: 'client.activated', targetType: 'client', targetId: client.id, resellerId: null, before: { status: 'suspended' }, after: { status: 'active' } });
        }
        continue;
      }
      const name = user.name ?? user.login;
      const id = await repo.insertGrantedClient(tx.db, { user_id: userId, plan_id: planId, name, email: user.email }, now);
      await recordAudit(tx, { action: 'client.created', targetType: 'client', targetId: id, resellerId: null, after: { plan_id: planId, name, email_address: user.email, user_count: 1, owner_user_id: userId, status: 'active', domains: [] } });
    }
    for (const client of linked) {
      if (client.status !== 'active' || wanted.has(client.plan_id)) continue;
      await repo.setClientStatus(tx.db, client.id, 'suspended', GRANT_SUSPEND_REASON, now);
      await recordAudit(tx, { action: 'client.suspended', targetType: 'client', targetId: client.id, resellerId: null, before: { status: 'active' }, after: { status: 'suspended', suspend_reason: GRANT_SUSPEND_REASON } });
    }
  });
}

/** The periodic sweep: subscriptions start and end with time alone, with no request to react to. */
export async function sweepServiceAccess(ctx: Ctx): Promise<number> {
  const users = await repo.usersToSync(ctx.db, ctx.clock(), GRANT_SUSPEND_REASON, SWEEP_BATCH);
  for (const userId of users) await syncServiceAccess(ctx, userId);
  return users.length;
}

export const serviceAccessHandler = {
  kind: SERVICE_ACCESS_JOB_KIND,
  everyMs: 5 * 60 * 1000,
  handle: (ctx: Ctx) => sweepServiceAccess(ctx).then(() => undefined),
};
