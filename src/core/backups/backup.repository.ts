import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';
import { NODES_NOTIFY_CHANNEL } from '../nodes/node-objects.repository.js';

/**
 * Moves every node's version to at least `floor` (and past its own) and stamps every one of its
 * objects with that version, announcing each node on NODES_NOTIFY_CHANNEL. Returns how many nodes.
 */
export async function restampNodeVersions(db: Executor, floor: number, now: Date): Promise<number> {
  const { rows } = await sql<{ id: number }>`
    with b as (
      update nodes set version = greatest(version + 1, ${floor}::bigint), updated_at = ${now}
      returning id, version
    ), o as (
      update node_objects x set version = b.version from b where x.node_id = b.id
    )
    select b.id, pg_notify(${NODES_NOTIFY_CHANNEL}, b.id::text)::text as notified from b`.execute(db);
  return rows.length;
}

/** Every domain name the database knows, released ones too: the relay must drop those it still holds. */
export async function allDomainNames(db: Executor): Promise<{ name: string; client_id: number; reseller_id: number | null }[]> {
  return db
    .selectFrom('domains as d')
    .select(['d.name', 'd.client_id', 'd.reseller_id'])
    .distinctOn('d.name')
    .orderBy('d.name')
    .orderBy('d.released_at', (o) => o.desc().nullsFirst())
    .execute();
}
