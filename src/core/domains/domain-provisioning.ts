import type { Job, NewJob } from '../../jobs/job.repository.js';
import { insertJobs } from '../../jobs/job.repository.js';
import type { RelayDriver, RelayOp } from '../../relay/relay-driver.js';
import type { DomainStatus } from '../../db/schema.js';
import { recordAudit } from '../audit/audit.service.js';
import { inTransaction, type Ctx } from '../context.js';
import { markDomainsRelayed, syncRelayObjects } from '../nodes/relay-objects.js';
import { findPendingLiveDomains, relayNodesExist } from '../nodes/relay-objects.repository.js';
import * as repo from './domain.repository.js';

export const RELAY_JOB_KIND = 'relay.apply';
export const RELAY_LANE = 'relay';
/** With the default backoff, about a day and a half of retries before a domain is `unknown`. */
export const RELAY_MAX_ATTEMPTS = 18;

export type RelayChange = 'provision' | 'update' | 'deprovision';

export function relayJobs(changes: { change: RelayChange; domain: string }[], owner: { clientId: number | null; resellerId: number | null }): NewJob[] {
  return changes.map(({ change, domain }) => ({
    kind: RELAY_JOB_KIND,
    lane: RELAY_LANE,
    payload: { change, domain },
    maxAttempts: RELAY_MAX_ATTEMPTS,
    clientId: owner.clientId,
    resellerId: owner.resellerId,
  }));
}

/**
 * Queues relay work in the caller's transaction, so it exists exactly when the change does: the
 * relay nodes' objects (when there are relay nodes) and the control plane's own relay job (which
 * stands aside while relay nodes exist, see relayHandler).
 */
export async function enqueueRelayChanges(ctx: Ctx, changes: { change: RelayChange; domain: string }[], owner: { clientId: number | null; resellerId: number | null }): Promise<void> {
  await recordRelayChanges(ctx, changes.map((c) => ({ ...c, ...owner })));
}

/** enqueueRelayChanges for changes of many owners at once: one insert of jobs, one relay sync. */
export async function recordRelayChanges(ctx: Ctx, changes: { change: RelayChange; domain: string; clientId: number | null; resellerId: number | null }[]): Promise<void> {
  if (changes.length === 0) return;
  await insertRelayJobs(
    ctx,
    changes.flatMap((c) => relayJobs([c], c)),
  );
  await syncRelayObjects(ctx, [...new Set(changes.map((c) => c.domain))]);
}

/**
 * After a relay node is deleted: domains it alone kept pending are ready if the remaining relays
 * applied them; with no relay node left, the control plane's own relay job takes the pending ones
 * over again (queued here, in the deleting transaction).
 */
export async function afterRelayNodeGone(tx: Ctx): Promise<void> {
  if (await relayNodesExist(tx.db)) {
    await markDomainsRelayed(tx, null);
    return;
  }
  const pending = await findPendingLiveDomains(tx.db);
  await insertRelayJobs(
    tx,
    pending.flatMap((d) => relayJobs([{ change: 'provision', domain: d.name }], { clientId: d.client_id, resellerId: d.reseller_id })),
  );
}

/** A statement takes at most 65,535 parameters, and a job is ten: a group's thousands of jobs go in slices. */
const JOBS_PER_INSERT = 2_000;

async function insertRelayJobs(ctx: Ctx, jobs: NewJob[]): Promise<void> {
  for (let i = 0; i < jobs.length; i += JOBS_PER_INSERT) await insertJobs(ctx.db, jobs.slice(i, i + JOBS_PER_INSERT), ctx.clock());
}

/**
 * Brings the relay in line with the database for every domain the batch names: a live domain is
 * (re)provisioned with its current mail servers, any other name is deprovisioned. Reading the state
 * at run time makes every job idempotent and lets later changes win whatever order jobs ran in.
 * The whole batch goes to the driver at once, so a map-file driver rewrites its files once.
 */
export function relayHandler(driver: RelayDriver) {
  return {
    kind: RELAY_JOB_KIND,
    lane: RELAY_LANE,
    maxBatch: 1000,
    async handle(ctx: Ctx, jobs: Job[]): Promise<void> {
      // Relay nodes apply the maps (their objects were written with the change), and their reports
      // make domains ready: the control plane writes no relay files of its own then.
      if (await relayNodesExist(ctx.db)) return;
      const names = [...new Set(jobs.map((j) => String(j.payload.domain)))];
      const live = new Map((await repo.findLiveDomainsByName(ctx.db, names)).map((d) => [d.name, d]));
      const ops: RelayOp[] = names.map((name) => {
        const d = live.get(name);
        return d ? { op: d.status === 'ready' ? 'update' : 'provision', domain: { name, mailServers: d.mail_servers } } : { op: 'deprovision', name };
      });
      await driver.apply(ops);
      await setStatuses(
        ctx,
        [...live.values()].map((d) => d.id),
        'ready',
      );
    },
    async onExhausted(ctx: Ctx, jobs: Job[]): Promise<void> {
      const names = [...new Set(jobs.map((j) => String(j.payload.domain)))];
      const live = await repo.findLiveDomainsByName(ctx.db, names);
      await setStatuses(
        ctx,
        live.map((d) => d.id),
        'unknown',
      );
    },
  };
}

/** Moves domains to a status, with an audit event (actor: the system) for each one that changed. */
async function setStatuses(ctx: Ctx, ids: number[], status: DomainStatus): Promise<void> {
  // A batch of removals has nothing to mark: no transaction for it (a queue of them is row 5's load).
  if (ids.length === 0) return;
  await inTransaction(ctx, async (tx) => {
    const changed = await repo.setDomainStatuses(tx.db, ids, status, tx.clock());
    await recordAudit(
      tx,
      changed.map((d) => ({ action: 'domain.status_set' as const, targetType: 'domain' as const, targetId: d.name, resellerId: d.reseller_id, before: { status: d.before }, after: { status } })),
    );
  });
}
