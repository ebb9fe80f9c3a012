import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';
import type { DomainStatus } from '../../db/schema.js';
import { LIVE_STATUSES } from '../clients/client.repository.js';

/** One relay object that differs from what its relay node holds: `mail_servers` null means the domain is no longer live. */
export interface RelayObjectChange {
  node_id: number;
  name: string;
  mail_servers: string[] | null;
  /** The spec the node holds now (kept for an absent object: it names what to remove). */
  object_spec: unknown;
}

/**
 * For every relay node (or only `nodeIds`) and every name among `names` (every live domain and every
 * name a relay node holds, when `names` is null): the objects to write, in one statement. A live
 * domain whose object is missing, absent or holds other mail servers is to be made present; a name
 * that is not live but is present on the node is to be made absent. The rows come back as one JSON
 * text (the embedded database decodes that far faster than thousands of typed rows).
 */
export async function findRelayObjectChanges(db: Executor, names: readonly string[] | null, nodeIds?: readonly number[]): Promise<RelayObjectChange[]> {
  if (names !== null && names.length === 0) return [];
  const relays = nodeIds ? sql`select id from nodes where id = any(${nodeIds as number[]}::bigint[]) and 'relay' = any(roles)` : sql`select id from nodes where 'relay' = any(roles)`;
  const wanted =
    names === null
      ? sql`select d.name from domains d join clients c on c.id = d.client_id where d.released_at is null and c.status = any(${LIVE_STATUSES}::text[])
          union select o.object_id from node_objects o where o.kind = 'relay_domain' and o.state = 'present' and o.node_id in (select id from relays)`
      : sql`select distinct x.name from unnest(${names as string[]}::text[]) as x(name)`;
  const { rows } = await sql<{ doc: string }>`
    with relays as (${relays}),
    wanted as (${wanted}),
    live as (
      select d.name, d.mail_servers from domains d
      join clients c on c.id = d.client_id
      join wanted w on w.name = d.name
      where d.released_at is null and c.status = any(${LIVE_STATUSES}::text[])
    )
    select coalesce(json_agg(x), '[]')::text as doc from (
      select r.id as node_id, w.name, l.mail_servers, o.spec as object_spec
      from relays r
      cross join wanted w
      left join live l on l.name = w.name
      left join node_objects o on o.node_id = r.id and o.kind = 'relay_domain' and o.object_id = w.name
      where (l.name is not null and (o.state is distinct from 'present'
               or o.spec is distinct from jsonb_build_object('domain', l.name, 'mailServers', to_jsonb(l.mail_servers))))
         or (l.name is null and o.state = 'present')
    ) x`.execute(db);
  return (JSON.parse(rows[0]!.doc) as RelayObjectChange[]).map((r) => ({ ...r, node_id: Number(r.node_id) }));
}

/** Whether any node has the relay role: then relay nodes, not the control plane, apply the relay maps. */
export async function relayNodesExist(db: Executor): Promise<boolean> {
  const row = await db
    .selectFrom('nodes')
    .select(sql<number>`1`.as('one'))
    .where(sql<boolean>`'relay' = any(roles)`)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Serialises readiness checks until commit. Two relays reporting the same domain at once would each
 * check the other's row before the other committed (read committed) and neither would mark it ready;
 * with the lock, the second check runs after the first report committed and sees both.
 */
export async function lockRelayReadiness(db: Executor): Promise<void> {
  await sql`select pg_advisory_xact_lock(7153201502)`.execute(db);
}

/**
 * Marks ready the live, not yet ready domains among `names` (all of them when null) that every relay
 * node has applied at its current version, in one statement; nothing when there is no relay node.
 * Returns the domains changed with the status they had.
 */
export async function markRelayedDomainsReady(db: Executor, names: readonly string[] | null, now: Date): Promise<{ name: string; reseller_id: number | null; before: DomainStatus }[]> {
  if (names !== null && names.length === 0) return [];
  const only = names === null ? sql`true` : sql`d.name = any(${names as string[]}::text[])`;
  const { rows } = await sql<{ name: string; reseller_id: number | null; before: DomainStatus }>`
    update domains d set status = 'ready', ready_at = coalesce(d.ready_at, ${now}), updated_at = ${now}
    from clients c
    where c.id = d.client_id and ${only}
      and d.released_at is null and d.status <> 'ready' and c.status = any(${LIVE_STATUSES}::text[])
      and exists (select 1 from nodes n where 'relay' = any(n.roles))
      and not exists (
        select 1 from nodes n
        where 'relay' = any(n.roles) and not exists (
          select 1 from node_objects o
          where o.node_id = n.id and o.kind = 'relay_domain' and o.object_id = d.name
            and o.state = 'present' and o.applied_version >= o.version))
    returning d.name, d.reseller_id, (select b.status from domains b where b.id = d.id) as before`.execute(db);
  return rows.map((r) => ({ ...r, reseller_id: r.reseller_id === null ? null : Number(r.reseller_id) }));
}

/** The names of every live domain (a live client's unreleased domain, suspended clients included). */
export async function findLiveDomainNames(db: Executor): Promise<string[]> {
  const rows = await db
    .selectFrom('domains as d')
    .innerJoin('clients as c', 'c.id', 'd.client_id')
    .select('d.name')
    .where('d.released_at', 'is', null)
    .where('c.status', 'in', LIVE_STATUSES)
    .execute();
  return rows.map((r) => r.name);
}
