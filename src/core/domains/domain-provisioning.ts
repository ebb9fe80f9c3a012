import type { Job, NewJob } from '../../jobs/job.repository.js';
import { insertJobs } from '../../jobs/job.repository.js';
import type { RelayDriver, RelayOp } from '../../relay/relay-driver.js';
import type { DomainStatus } from '../../db/schema.js';
import { recordAudit } from '../audit/audit.service.js';
import { inTransaction, type Ctx } from '../context.js';
import { markDomainsRelayed, syncRelayObjects } from '../nodes/relay-objects.js';
import { findLiveDomainNames, relayNodesExist } from '../nodes/relay-objects.repository.js';
import * as repo from './domain.repository.js';
import { findMissedNames, forgetMissedNames, recordMissedNames } from './relay-missed.repository.js';

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
 * applied them. With no relay node left, the control plane's own relay takes over again; its maps
 * missed every change made while relay nodes existed (added, removed, mail servers changed), so one
 * rebuild job, queued here in the deleting transaction, rewrites them from the full set of domains.
 */
export async function afterRelayNodeGone(tx: Ctx): Promise<void> {
  if (await relayNodesExist(tx.db)) {
    await markDomainsRelayed(tx, null);
    return;
  }
  await insertRelayJobs(tx, [{ kind: RELAY_JOB_KIND, lane: RELAY_LANE, payload: { change: 'rebuild' }, maxAttempts: RELAY_MAX_ATTEMPTS, clientId: null, resellerId: null }]);
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
      // make domains ready: the control plane writes no relay files of its own then. The names it
      // missed are noted for the rebuild that follows the last relay node (a relay that cannot list
      // what it holds would keep a removed name otherwise).
      if (await relayNodesExist(ctx.db)) {
        const missed = domainNames(jobs);
        for (let i = 0; i < missed.length; i += LOOKUP_SLICE) await recordMissedNames(ctx.db, missed.slice(i, i + LOOKUP_SLICE), ctx.clock());
        return;
      }
      // A rebuild (the last relay node went away) replays every live domain, and removes what the
      // relay still holds that is no longer live: the names its driver lists, and those it missed.
      const rebuild = jobs.some(isRebuild);
      const missed = rebuild ? await findMissedNames(ctx.db) : [];
      const names = rebuild ? await liveAndHeldNames(ctx, driver, missed) : domainNames(jobs);
      const live = new Map<string, { id: number; name: string; mail_servers: string[]; status: DomainStatus }>();
      for (let i = 0; i < names.length; i += LOOKUP_SLICE) {
        for (const d of await repo.findLiveDomainsByName(ctx.db, names.slice(i, i + LOOKUP_SLICE))) live.set(d.name, d);
      }
      const ops: RelayOp[] = names.map((name) => {
        const d = live.get(name);
        return d ? { op: d.status === 'ready' ? 'update' : 'provision', domain: { name, mailServers: d.mail_servers } } : { op: 'deprovision', name };
      });
      await driver.apply(ops);
      // Applied: the relay is in line for these names (a failed apply keeps them for the retry).
      for (let i = 0; i < missed.length; i += LOOKUP_SLICE) await forgetMissedNames(ctx.db, missed.slice(i, i + LOOKUP_SLICE));
      const notReady = [...live.values()].filter((d) => d.status !== 'ready').map((d) => d.id);
      for (let i = 0; i < notReady.length; i += LOOKUP_SLICE) await setStatuses(ctx, notReady.slice(i, i + LOOKUP_SLICE), 'ready');
    },
    async onExhausted(ctx: Ctx, jobs: Job[]): Promise<void> {
      const names = domainNames(jobs);
      const live = await repo.findLiveDomainsByName(ctx.db, names);
      await setStatuses(
        ctx,
        live.map((d) => d.id),
        'unknown',
      );
    },
  };
}

/** Names per statement when a rebuild looks thousands of domains up (a statement takes at most 65,535 parameters). */
const LOOKUP_SLICE = 10_000;

const isRebuild = (j: Job) => j.payload.change === 'rebuild';

function domainNames(jobs: Job[]): string[] {
  return [...new Set(jobs.filter((j) => !isRebuild(j)).map((j) => String(j.payload.domain)))];
}

/** Every live domain, every name the relay holds (when its driver can list them) and every name it missed, each once. */
async function liveAndHeldNames(ctx: Ctx, driver: RelayDriver, missed: readonly string[]): Promise<string[]> {
  const names = new Set(await findLiveDomainNames(ctx.db));
  for (const name of (await driver.listDomains?.()) ?? []) names.add(name);
  for (const name of missed) names.add(name);
  return [...names];
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
