import { AppError } from '../../errors/app-error.js';
import { recordAudit } from '../audit/audit.service.js';
import { inTransaction, type Ctx } from '../context.js';
import { instanceHasDatabase, setInstanceDatabaseOwnerVerifier } from '../nodes/database-objects.js';
import { odooPasswordHash } from '../shared/odoo-password.js';
import { hashPassword } from '../shared/passwords.js';
import { scramSha256Verifier } from '../shared/scram.js';
import * as repo from './saas.repository.js';

/**
 * A new owner password for an instance: the owner's login inside the instance and, where the instance
 * has a database of its own, its owner role (as a new SCRAM verifier) and the owner's res_users row
 * (as Odoo's hash, ADR 27's addendum), both sent to the db node in the same transaction. The portal
 * administrator or the portal user who owns the instance may set it.
 */
export async function setInstanceOwnerPassword(ctx: Ctx, instanceId: unknown, password: unknown): Promise<{ id: number; database: boolean }> {
  if (typeof instanceId !== 'number' || !Number.isSafeInteger(instanceId)) throw AppError.validation({ id: ['must be an instance id'] });
  if (typeof password !== 'string' || password.length < 1 || password.length > 1024) throw AppError.validation({ password: ['must be 1 to 1024 characters'] }, 'password must be 1 to 1024 characters');
  const operator = ctx.actor.kind === 'operator' || ctx.actor.kind === 'system';
  // Odoo's hash only for an instance with a database (an id that is none gets none, and is refused below).
  const [hash, verifier, odooHash] = await Promise.all([hashPassword(password), scramSha256Verifier(password), instanceHasDatabase(ctx, instanceId).then((has) => (has ? odooPasswordHash(password) : null))]);
  return inTransaction(ctx, async (tx) => {
    const instance = await repo.findInstance(tx.db, instanceId);
    if (!instance || (!operator && !(tx.actor.kind === 'user' && instance.owner_user_id === tx.actor.userId))) throw AppError.notFound(`instance ${instanceId}`);
    await repo.lockInstance(tx.db, instance.id);
    // The owner inside the instance is its first end user, made with it.
    const owner = (await repo.instanceUsers(tx.db, instance.id)).find((u) => u.role === 'end_user');
    if (owner) await repo.setInstanceUserPassword(tx.db, owner.id, hash, odooHash);
    const database = await setInstanceDatabaseOwnerVerifier(tx, instance.id, verifier);
    await recordAudit(tx, { action: 'client.updated', targetType: 'client', targetId: instance.id, resellerId: null, after: { owner_password: 'changed' } });
    return { id: instance.id, database };
  });
}
