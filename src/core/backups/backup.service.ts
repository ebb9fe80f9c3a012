import { AppError } from '../../errors/app-error.js';
import { recordAudit } from '../audit/audit.service.js';
import { inTransaction, type Ctx } from '../context.js';
import { recordRelayChanges } from '../domains/domain-provisioning.js';
import { syncRelayObjects } from '../nodes/relay-objects.js';
import { relayNodesExist } from '../nodes/relay-objects.repository.js';
import { allDomainNames, restampNodeVersions } from './backup.repository.js';

/**
 * A copy of the embedded database this server holds, for `hostplane db backup` while it runs (the data
 * dir is locked to this process). Operators only; recorded in the audit log, since the copy holds every
 * row. A server on PostgreSQL has none to give: pg_dump reaches that database directly.
 */
export async function takeEmbeddedBackup(ctx: Ctx): Promise<Buffer> {
  if (ctx.actor.kind !== 'operator') throw new AppError('forbidden', 'only operators take backups');
  if (!ctx.embeddedBackup) {
    throw new AppError('invalid_state', 'this server runs on PostgreSQL: back it up with `hostplane db backup` where DATABASE_URL is set (pg_dump)', { reason: 'not_embedded' });
  }
  const dump = await ctx.embeddedBackup();
  await inTransaction(ctx, (tx) => recordAudit(tx, { action: 'database.backup_taken', targetType: 'database', targetId: 'embedded', resellerId: null, after: { bytes: dump.length } }));
  return dump;
}

export interface RestoreRebuild {
  /** Nodes whose version moved forward (every object of theirs is sent again). */
  nodes: number;
  /** Domains queued for the control plane's own relay maps (none while relay nodes hold them). */
  relay_domains: number;
}

/**
 * After a restore the data plane holds what the newer, lost database told it; this makes it follow the
 * restored one, in one transaction:
 *  - every node's version moves to at least the restore time in milliseconds (single bumps never get
 *    that far), past anything an agent could have seen, and every object is stamped with it: an agent
 *    asking for changes since its version then gets its whole state, marked full, and removes what the
 *    restored database does not list;
 *  - relay nodes' objects are brought in line with the restored domains;
 *  - without relay nodes, a relay job for every domain name known rewrites the control plane's maps
 *    (live ones provisioned, released ones removed).
 */
export async function rebuildAfterRestore(ctx: Ctx): Promise<RestoreRebuild> {
  return inTransaction(ctx, async (tx) => {
    const now = tx.clock();
    const nodes = await restampNodeVersions(tx.db, now.getTime(), now);
    if (await relayNodesExist(tx.db)) {
      await syncRelayObjects(tx, null);
      return { nodes, relay_domains: 0 };
    }
    const names = await allDomainNames(tx.db);
    await recordRelayChanges(
      tx,
      names.map((d) => ({ change: 'update' as const, domain: d.name, clientId: d.client_id, resellerId: d.reseller_id })),
    );
    return { nodes, relay_domains: names.length };
  });
}
