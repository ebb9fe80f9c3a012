import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';

export interface NodeRow {
  id: number;
  name: string;
  roles: string[];
  labels: Record<string, string>;
  state: 'active' | 'draining';
  enrolled_at: Date | null;
  enrol_pending: boolean;
  enrol_token_expires_at: Date | null;
  token_set: boolean;
  version: number;
  agent_version: string | null;
  capacity: unknown;
  drivers: unknown;
  last_heartbeat_at: Date | null;
  last_usage_at: Date | null;
  created_at: Date;
  placed: number;
  applied: number;
  failed: number;
  pending: number;
  sites: number;
}

// Counts per node in one pass over its objects; the partial index on failed objects and the
// (node_id, version) index keep this to the node's own rows.
const nodeSelect = (now: Date) => sql`
  select n.id, n.name, n.roles, n.labels, n.state, n.enrolled_at,
    (n.enrol_token_digest is not null and n.enrol_token_expires_at > ${now}) as enrol_pending,
    n.enrol_token_expires_at, (n.token_digest is not null) as token_set, n.version, n.agent_version,
    n.capacity, n.drivers, n.last_heartbeat_at, n.last_usage_at, n.created_at,
    coalesce(o.placed, 0)::int as placed, coalesce(o.applied, 0)::int as applied,
    coalesce(o.failed, 0)::int as failed, coalesce(o.pending, 0)::int as pending,
    (select count(*) from clients c where c.node_id = n.id and c.status <> 'deleted')::int as sites
  from nodes n
  left join lateral (
    select count(*) filter (where x.state = 'present') as placed,
      count(*) filter (where x.error is null and x.applied_version >= x.version) as applied,
      count(*) filter (where x.error is not null) as failed,
      count(*) filter (where x.error is null and (x.applied_version is null or x.applied_version < x.version)) as pending
    from node_objects x where x.node_id = n.id
  ) o on true`;

const toRow = (r: NodeRow): NodeRow => ({ ...r, id: Number(r.id), version: Number(r.version) });

export async function listNodeRows(db: Executor, now: Date): Promise<NodeRow[]> {
  const { rows } = await sql<NodeRow>`${nodeSelect(now)} order by n.name`.execute(db);
  return rows.map(toRow);
}

export async function findNodeRow(db: Executor, id: number, now: Date): Promise<NodeRow | undefined> {
  const { rows } = await sql<NodeRow>`${nodeSelect(now)} where n.id = ${id}`.execute(db);
  return rows[0] ? toRow(rows[0]) : undefined;
}

export async function insertNode(
  db: Executor,
  row: { name: string; roles: string[]; labels: Record<string, string>; enrol_token_digest: string; enrol_token_expires_at: Date; now: Date },
): Promise<number | undefined> {
  const inserted = await db
    .insertInto('nodes')
    .values({
      name: row.name,
      roles: row.roles,
      labels: JSON.stringify(row.labels),
      enrol_token_digest: row.enrol_token_digest,
      enrol_token_expires_at: row.enrol_token_expires_at,
      created_at: row.now,
      updated_at: row.now,
    })
    .onConflict((oc) => oc.column('name').doNothing())
    .returning('id')
    .executeTakeFirst();
  return inserted ? Number(inserted.id) : undefined;
}

/** Undefined when there is no such node. */
export async function setNodeState(db: Executor, id: number, state: 'active' | 'draining', now: Date): Promise<{ before: string } | undefined> {
  const { rows } = await sql<{ before: string }>`
    update nodes n set state = ${state}, updated_at = ${now}
    from (select id, state from nodes where id = ${id} for update) old
    where n.id = old.id returning old.state as before`.execute(db);
  return rows[0];
}

export async function setEnrolToken(db: Executor, id: number, digest: string, expiresAt: Date, now: Date): Promise<boolean> {
  const r = await db.updateTable('nodes').set({ enrol_token_digest: digest, enrol_token_expires_at: expiresAt, updated_at: now }).where('id', '=', id).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Ends every credential of the node: its token and any outstanding enrolment token. */
export async function revokeNodeTokens(db: Executor, id: number, now: Date): Promise<boolean> {
  const r = await db.updateTable('nodes').set({ token_digest: null, enrol_token_digest: null, enrol_token_expires_at: null, updated_at: now }).where('id', '=', id).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/**
 * Spends a live enrolment token: in one statement, so two agents racing with the same token cannot
 * both get a node token (the second finds no row).
 */
export async function enrolWithDigest(db: Executor, enrolDigest: string, tokenDigest: string, now: Date) {
  return db
    .updateTable('nodes')
    .set({ token_digest: tokenDigest, enrol_token_digest: null, enrol_token_expires_at: null, enrolled_at: now, updated_at: now })
    .where('enrol_token_digest', '=', enrolDigest)
    .where('enrol_token_expires_at', '>', now)
    .returning(['id', 'name', 'roles'])
    .executeTakeFirst();
}

export async function findNodeByTokenDigest(db: Executor, digest: string) {
  return db.selectFrom('nodes').select(['id', 'name', 'roles']).where('token_digest', '=', digest).executeTakeFirst();
}

export async function countLiveSitesOnNode(db: Executor, id: number): Promise<number> {
  const r = await db
    .selectFrom('clients')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('node_id', '=', id)
    .where('status', '<>', 'deleted')
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** Takes the node's row lock (a delete must not race a placement onto it). */
export async function lockNode(db: Executor, id: number): Promise<{ id: number; name: string; roles: string[] } | undefined> {
  return db.selectFrom('nodes').select(['id', 'name', 'roles']).where('id', '=', id).forUpdate().executeTakeFirst();
}

/** Sites that pointed at the node become "not placed"; its objects go with the node (cascade). */
export async function deleteNodeRow(db: Executor, id: number): Promise<number> {
  const unplaced = await db.updateTable('clients').set({ node_id: null }).where('node_id', '=', id).executeTakeFirst();
  await db.deleteFrom('nodes').where('id', '=', id).execute();
  return Number(unplaced.numUpdatedRows);
}

export async function recordHeartbeatRow(db: Executor, id: number, hb: { agent_version: string; capacity: string; drivers: string; now: Date }): Promise<void> {
  await db.updateTable('nodes').set({ agent_version: hb.agent_version, capacity: hb.capacity, drivers: hb.drivers, last_heartbeat_at: hb.now }).where('id', '=', id).execute();
}
