import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';

/** A site as its desired object is made from, with the object its node holds now (if any). */
export interface SiteObjectSource {
  id: number;
  node_id: number;
  status: string;
  suspend_reason: string | null;
  plan_id: number | null;
  service_meta: Record<string, Record<string, unknown>>;
  domains: string[];
  object_state: 'present' | 'absent' | null;
  object_spec: unknown;
}

/** Above this many sites, their domains are grouped in one pass instead of looked up per site. */
const GROUPED_DOMAINS_FROM = 50;

/**
 * The placed sites among `ids` (deleted and cancelled ones too: their objects become absent), with
 * the objects their nodes hold, in one statement. A few sites look their domains up by site; many
 * have them grouped in one pass: with fresh rows and stale statistics (the embedded database has no
 * autovacuum) the per-site lookup of 10,000 sites was planned as a scan of every live name per site
 * (20 s instead of 1 s). The rows come back as one JSON text, which the embedded database decodes
 * far faster than thousands of typed rows.
 */
export async function findSiteObjectSources(db: Executor, ids: readonly number[]): Promise<SiteObjectSource[]> {
  if (ids.length === 0) return [];
  const { rows } = await sql<{ doc: string }>`
    with chosen as (select distinct id from unnest(${ids as number[]}::bigint[]) as x(id)),
    names as (
      select d.client_id, array_agg(d.name order by d.position, d.id) as domains
      from domains d join chosen on chosen.id = d.client_id
      where d.released_at is null and ${ids.length >= GROUPED_DOMAINS_FROM}
      group by d.client_id
    )
    select coalesce(json_agg(x), '[]')::text as doc from (
      select c.id, c.node_id, c.status, c.suspend_reason, c.plan_id, c.service_meta,
        case when ${ids.length >= GROUPED_DOMAINS_FROM} then coalesce(names.domains, '{}')
          else array(select d.name from domains d where d.client_id = c.id and d.released_at is null order by d.position, d.id) end as domains,
        o.state as object_state, o.spec as object_spec
      from chosen
      join clients c on c.id = chosen.id
      left join names on names.client_id = c.id
      left join node_objects o on o.node_id = c.node_id and o.kind = 'site' and o.object_id = 'site' || c.id
      where c.node_id is not null
    ) x`.execute(db);
  return JSON.parse(rows[0]!.doc) as SiteObjectSource[];
}

/** Live sites among `ids` that have no node yet, with what placement needs to know of them. */
export async function findUnplacedSites(db: Executor, ids: readonly number[]): Promise<{ id: number; plan_id: number | null; service_meta: Record<string, Record<string, unknown>>; node_label: string | null; domains: number }[]> {
  if (ids.length === 0) return [];
  const { rows } = await sql<{ id: number; plan_id: number | null; service_meta: Record<string, Record<string, unknown>>; node_label: string | null; domains: number }>`
    select c.id, c.plan_id, c.service_meta, p.node_label,
      (select count(*)::int from domains d where d.client_id = c.id and d.released_at is null) as domains
    from clients c left join plans p on p.id = c.plan_id
    where c.id = any(${ids as number[]}::bigint[]) and c.node_id is null and c.status in ('active', 'suspended')
    order by c.id`.execute(db);
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}

/**
 * Whether some node could take a new site now (the creating doors skip placement's transaction
 * otherwise); with `orRelay`, also whether any relay node exists (it needs every new domain).
 */
export async function anyPlaceableNode(db: Executor, healthySince: Date, options: { orRelay?: boolean } = {}): Promise<boolean> {
  // A db node counts too: a site's databases are placed even where no web node serves it.
  const placeable = sql<boolean>`(roles && array['web', 'db']::text[] and state = 'active' and last_heartbeat_at > ${healthySince})`;
  const row = await db
    .selectFrom('nodes')
    .select(sql<number>`1`.as('one'))
    .where(options.orRelay ? sql<boolean>`(${placeable} or 'relay' = any(roles))` : placeable)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** Serialises placements, so two sites created at once count each other's node. Held to commit. */
export async function lockPlacement(db: Executor): Promise<void> {
  await sql`select pg_advisory_xact_lock(7153201501)`.execute(db);
}

/**
 * The nodes of a role that may take new clients now, each with its labels and how many live clients
 * it holds in that role (`sites`): web counts `clients.node_id`, db counts `clients.db_node_id`.
 */
export async function findPlacementCandidates(db: Executor, healthySince: Date, role: 'web' | 'db' = 'web'): Promise<{ id: number; labels: Record<string, string>; sites: number }[]> {
  const held =
    role === 'web'
      ? sql<number>`(select count(*)::int from clients s where s.node_id = n.id and s.status in ('active', 'suspended'))`
      : sql<number>`(select count(*)::int from clients s where s.db_node_id = n.id and s.status in ('active', 'suspended'))`;
  const { rows } = await sql<{ id: string | number; labels: Record<string, string>; sites: number }>`
    select n.id, n.labels, ${held} as sites
    from nodes n
    where ${role} = any(n.roles) and n.state = 'active' and n.last_heartbeat_at > ${healthySince}
    order by n.id`.execute(db);
  return rows.map((r) => ({ id: Number(r.id), labels: r.labels ?? {}, sites: r.sites }));
}

/** Sets the db node of each client given (only where none is set yet), in one statement. */
export async function setDbNodes(db: Executor, placements: readonly { clientId: number; nodeId: number }[]): Promise<void> {
  if (placements.length === 0) return;
  await sql`
    update clients c set db_node_id = x.node_id
    from unnest(${placements.map((p) => p.clientId)}::bigint[], ${placements.map((p) => p.nodeId)}::bigint[]) as x(id, node_id)
    where c.id = x.id and c.db_node_id is null`.execute(db);
}

/** Sets the node of each site given (only where none is set yet), in one statement. */
export async function setSiteNodes(db: Executor, placements: readonly { siteId: number; nodeId: number }[]): Promise<void> {
  if (placements.length === 0) return;
  await sql`
    update clients c set node_id = x.node_id
    from unnest(${placements.map((p) => p.siteId)}::bigint[], ${placements.map((p) => p.nodeId)}::bigint[]) as x(id, node_id)
    where c.id = x.id and c.node_id is null`.execute(db);
}

/** Where each of the sites `ids` is placed: its node and the node's view of its object. */
export async function findSiteNodes(db: Executor, ids: readonly number[]): Promise<{ id: number; node_name: string; node_state: string; last_heartbeat_at: string | null; version: string | null; applied_version: string | null; error: string | null; object_state: string | null }[]> {
  if (ids.length === 0) return [];
  const { rows } = await sql<{ id: number; node_name: string; node_state: string; last_heartbeat_at: string | null; version: string | null; applied_version: string | null; error: string | null; object_state: string | null }>`
    select c.id, n.name as node_name, n.state as node_state, n.last_heartbeat_at, o.version::text as version, o.applied_version::text as applied_version, o.error, o.state as object_state
    from unnest(${ids as number[]}::bigint[]) as x(id)
    join clients c on c.id = x.id
    join nodes n on n.id = c.node_id
    left join node_objects o on o.node_id = c.node_id and o.kind = 'site' and o.object_id = 'site' || c.id`.execute(db);
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}
