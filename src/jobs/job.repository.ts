import { sql } from 'kysely';
import type { Executor } from '../db/database.js';
import type { JobState } from '../db/schema.js';

/** Every statement that inserts jobs notifies this channel (trigger of migration 0006). */
export const JOBS_NOTIFY_CHANNEL = 'hostplane_jobs';

export interface Job {
  id: number;
  kind: string;
  payload: Record<string, unknown>;
  state: JobState;
  lane: string | null;
  run_at: Date;
  attempts: number;
  max_attempts: number;
  last_error: string | null;
  client_id: number | null;
  reseller_id: number | null;
  created_at: Date;
  finished_at: Date | null;
}

const columns = [
  'id',
  'kind',
  'payload',
  'state',
  'lane',
  'run_at',
  'attempts',
  'max_attempts',
  'last_error',
  'client_id',
  'reseller_id',
  'created_at',
  'finished_at',
] as const;

export interface NewJob {
  kind: string;
  payload?: Record<string, unknown>;
  lane?: string | null;
  runAt?: Date;
  maxAttempts?: number;
  singletonKey?: string | null;
  clientId?: number | null;
  resellerId?: number | null;
}

/**
 * Enqueues through the caller's handle, so a job commits or rolls back with the write that caused it.
 * A singleton key that already has a pending job makes this a no-op.
 */
export async function insertJobs(db: Executor, jobs: NewJob[], now: Date): Promise<void> {
  if (jobs.length === 0) return;
  await db
    .insertInto('jobs')
    .values(
      jobs.map((j) => ({
        kind: j.kind,
        payload: JSON.stringify(j.payload ?? {}),
        lane: j.lane ?? null,
        run_at: j.runAt ?? now,
        max_attempts: j.maxAttempts ?? 10,
        singleton_key: j.singletonKey ?? null,
        client_id: j.clientId ?? null,
        reseller_id: j.resellerId ?? null,
        created_at: now,
        updated_at: now,
      })),
    )
    .onConflict((oc) => oc.expression(sql`singleton_key`).where(sql<boolean>`singleton_key is not null and state in ('queued', 'running')`).doNothing())
    .execute();
}

/** Enqueues one job through the caller's handle and returns its id (for records that point at their job). */
export async function insertJob(db: Executor, j: NewJob, now: Date): Promise<number> {
  const row = await db
    .insertInto('jobs')
    .values({
      kind: j.kind,
      payload: JSON.stringify(j.payload ?? {}),
      lane: j.lane ?? null,
      run_at: j.runAt ?? now,
      max_attempts: j.maxAttempts ?? 10,
      singleton_key: null,
      client_id: j.clientId ?? null,
      reseller_id: j.resellerId ?? null,
      created_at: now,
      updated_at: now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Takes the lane for this worker unless another live worker holds it. */
export async function acquireLane(db: Executor, lane: string, worker: string, now: Date, leaseUntil: Date): Promise<boolean> {
  await db.insertInto('job_lanes').values({ lane }).onConflict((oc) => oc.column('lane').doNothing()).execute();
  const row = await db
    .updateTable('job_lanes')
    .set({ holder: worker, lease_until: leaseUntil })
    .where('lane', '=', lane)
    .where((eb) => eb.or([eb('holder', 'is', null), eb('holder', '=', worker), eb('lease_until', '<', now)]))
    .returning('lane')
    .executeTakeFirst();
  return row !== undefined;
}

export async function extendLane(db: Executor, lane: string, worker: string, leaseUntil: Date): Promise<void> {
  await db.updateTable('job_lanes').set({ lease_until: leaseUntil }).where('lane', '=', lane).where('holder', '=', worker).execute();
}

/** Frees every lane and requeues every running job: for a database only this process can use. */
export async function releaseAllClaims(db: Executor, now: Date): Promise<void> {
  await db.updateTable('job_lanes').set({ holder: null, lease_until: null }).execute();
  await db.updateTable('jobs').set({ state: 'queued', locked_by: null, locked_until: null, run_at: now, updated_at: now }).where('state', '=', 'running').execute();
}

export async function releaseLane(db: Executor, lane: string, worker: string): Promise<void> {
  await db.updateTable('job_lanes').set({ holder: null, lease_until: null }).where('lane', '=', lane).where('holder', '=', worker).execute();
}

/** Whether a lane has a due job (one index probe; lets an idle worker skip taking the lane). */
export async function laneHasDueJobs(db: Executor, lane: string, now: Date): Promise<boolean> {
  const row = await db.selectFrom('jobs').select('id').where('lane', '=', lane).where('state', '=', 'queued').where('run_at', '<=', now).limit(1).executeTakeFirst();
  return row !== undefined;
}

/**
 * Puts running jobs whose lease ran out (their worker died or hung) back in the queue, in their old
 * place (run_at unchanged), so the next claim of their lane takes them in order. Their worker, if it
 * is only slow, can no longer complete them: completion checks locked_by.
 */
export async function reclaimExpired(db: Executor, now: Date): Promise<number> {
  const rows = await db
    .updateTable('jobs')
    .set({ state: 'queued', locked_by: null, locked_until: null, updated_at: now })
    .where('state', '=', 'running')
    .where('locked_until', '<', now)
    .returning('id')
    .execute();
  return rows.length;
}

/**
 * Claims up to `limit` due jobs of one lane (or of no lane) with a lease. SKIP LOCKED lets several
 * workers claim side by side without waiting on or taking each other's rows. The ids are collected
 * into an array first so that the update always goes through the primary key: with `id in (subquery)`
 * a prepared statement's generic plan may hash-join the whole table instead.
 */
export async function claimJobs(db: Executor, worker: string, lane: string | null, limit: number, now: Date, leaseUntil: Date): Promise<Job[]> {
  const laneFilter = lane === null ? sql`lane is null` : sql`lane = ${lane}`;
  const { rows } = await sql<Job>`
    update jobs set state = 'running', attempts = attempts + 1, locked_by = ${worker}, locked_until = ${leaseUntil}, updated_at = ${now}
    where id = any(array(
      select id from jobs
      where ${laneFilter} and state = 'queued' and run_at <= ${now}
      order by run_at, id
      limit ${limit}
      for update skip locked
    ))
    returning ${sql.join(columns.map((c) => sql.ref(c)))}`.execute(db);
  return rows.sort((a, b) => a.id - b.id);
}

/**
 * A batch's ids as one array parameter: the same statement text (one prepared statement) whatever the
 * batch size, instead of a thousand bind parameters built, sent and parsed per batch.
 */
const idIn = (ids: number[]) => sql<boolean>`id = any(${ids}::bigint[])`;

export async function extendLease(db: Executor, ids: number[], worker: string, leaseUntil: Date): Promise<void> {
  if (ids.length === 0) return;
  await db.updateTable('jobs').set({ locked_until: leaseUntil }).where(idIn(ids)).where('locked_by', '=', worker).where('state', '=', 'running').execute();
}

export async function markSucceeded(db: Executor, ids: number[], worker: string, now: Date): Promise<void> {
  if (ids.length === 0) return;
  await db
    .updateTable('jobs')
    .set({ state: 'succeeded', finished_at: now, updated_at: now, locked_by: null, locked_until: null, last_error: null })
    .where(idIn(ids))
    .where('locked_by', '=', worker)
    .execute();
}

/** Requeues with a delay, or fails for good when no attempts are left. Returns the ids that failed for good. */
export async function markAttemptFailed(db: Executor, ids: number[], worker: string, error: string, now: Date, retryAt: (attempts: number) => Date): Promise<number[]> {
  if (ids.length === 0) return [];
  const jobs = await db.selectFrom('jobs').select(['id', 'attempts', 'max_attempts']).where(idIn(ids)).where('locked_by', '=', worker).execute();
  const exhausted: number[] = [];
  for (const job of jobs) {
    const final = job.attempts >= job.max_attempts;
    if (final) exhausted.push(job.id);
    await db
      .updateTable('jobs')
      .set({
        state: final ? 'failed' : 'queued',
        run_at: final ? now : retryAt(job.attempts),
        last_error: error.slice(0, 4000),
        locked_by: null,
        locked_until: null,
        updated_at: now,
        finished_at: final ? now : null,
      })
      .where('id', '=', job.id)
      .execute();
  }
  return exhausted;
}

export interface JobFilter {
  state?: JobState;
  kind?: string;
  clientId?: number;
  beforeId?: number;
  limit: number;
}

export async function listJobs(db: Executor, filter: JobFilter): Promise<Job[]> {
  let q = db.selectFrom('jobs').select(columns);
  if (filter.state) q = q.where('state', '=', filter.state);
  if (filter.kind) q = q.where('kind', '=', filter.kind);
  if (filter.clientId !== undefined) q = q.where('client_id', '=', filter.clientId);
  if (filter.beforeId !== undefined) q = q.where('id', '<', filter.beforeId);
  return q.orderBy('id', 'desc').limit(filter.limit).execute();
}

export async function findJob(db: Executor, id: number): Promise<Job | undefined> {
  return db.selectFrom('jobs').select(columns).where('id', '=', id).executeTakeFirst();
}

/** A failed job gets a fresh set of attempts. */
export async function requeueFailedJob(db: Executor, id: number, now: Date): Promise<Job | undefined> {
  return db
    .updateTable('jobs')
    .set({ state: 'queued', attempts: 0, run_at: now, finished_at: null, updated_at: now })
    .where('id', '=', id)
    .where('state', '=', 'failed')
    .returning(columns)
    .executeTakeFirst();
}

export async function deleteFinishedJobs(db: Executor, before: Date): Promise<void> {
  await db.deleteFrom('jobs').where('state', '=', 'succeeded').where('finished_at', '<', before).execute();
}
