import { z } from 'zod';
import { AppError } from '../../errors/app-error.js';
import { findUserByEmail } from '../end-users/end-user.service.js';
import { parseInput } from '../shared/validation.js';
import { recordAudit } from '../audit/audit.service.js';
import { inTransaction, type Ctx } from '../context.js';
import { syncSiteObjects } from '../nodes/site-objects.js';
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
          await syncSiteObjects(tx, [client.id]);
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
      await syncSiteObjects(tx, [client.id]);
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

export const setClientOwnerInput = z.object({ email: z.string({ error: 'is required' }).trim().min(1, 'is required').max(254).nullable() }).strict();

/**
 * An operator makes an end user (found by email, as subscriptions/create finds them) the owner of an
 * existing client, or removes the owner with `email: null`. The owner's subscriptions, and the family
 * codes they hold to share, then show in that client's area; the owner may sign in to it by email.
 * The client is not added to the subscription grants, so no subscription ending ever suspends it.
 */
export async function setClientOwner(ctx: Ctx, clientId: number, raw: unknown): Promise<{ client_id: number; owner: { id: number; email: string | null } | null }> {
  if (ctx.actor.kind !== 'operator' && ctx.actor.kind !== 'system') throw new AppError('forbidden', 'only operators link clients to users');
  const input = parseInput(setClientOwnerInput, raw);
  return inTransaction(ctx, async (tx) => {
    const client = await repo.lockClientOwner(tx.db, clientId);
    if (!client) throw AppError.notFound('client');
    const user = input.email === null ? null : await findUserByEmail(tx, input.email);
    if (input.email !== null && !user) throw AppError.validation({ email: ['is not a known user'] });
    const ownerId = user?.id ?? null;
    if (client.owner_user_id !== ownerId) {
      await repo.setClientOwner(tx.db, client.id, ownerId, tx.clock());
      await recordAudit(tx, { action: 'client.owner_set', targetType: 'client', targetId: client.id, resellerId: client.reseller_id, before: { owner_user_id: client.owner_user_id }, after: { owner_user_id: ownerId } });
    }
    return { client_id: client.id, owner: user ? { id: user.id, email: user.email } : null };
  });
}
