import type { Ctx } from '../context.js';
import { getSiteDiskQuotas } from '../sites/site-info.js';
import { mimetypeOf } from '../shared/mimetype.js';
import { DatabaseSpec, InstanceFileSpec, InstanceUserSpec, OdooPasswordHash, type DatabaseSpec as DatabaseSpecType } from './agent-wire.schema.js';
import { findDatabaseObjectSources, findInstanceDatabaseViews, hasInstanceDatabase, insertInstanceDatabase, setOwnerVerifier, type DatabaseObjectSource } from './database-objects.repository.js';
import { placeOnDbNodes } from './db-placement.js';
import { upsertNodeObjects, type NodeObjectWrite } from './node-objects.repository.js';
import { canonical } from './site-objects.js';

// Desired state of SaaS instances' own databases (db role). Like sites, every change to an instance
// ends, in its own transaction, with its objects rewritten: syncSiteObjects calls this for the same
// ids, so every door that suspends, resumes, edits (users,max, diskquota,quota) or deletes a client
// reaches its database too, and a database is written only where its spec changed.

/** The object id of an instance's database on its db node. */
export function databaseObjectId(clientId: number): string {
  return `db${clientId}`;
}

/** How many sessions an instance's database takes at once (Odoo's workers each hold a few). */
export const DEFAULT_INSTANCE_CONNECTION_LIMIT = 20;

const LIVE = new Set(['active', 'suspended']);

const GROUP_XMLID = InstanceUserSpec.shape.groups.element;

/**
 * The users the instance's database must hold: Hostplane's users of the instance (docs/adr/0027),
 * deactivated ones with active false, with Odoo's hash of their password where a door was given one. A login the contract cannot carry (an older install's, with a
 * control character) is left out rather than holding back the whole database.
 */
function desiredUsers(src: DatabaseObjectSource, log: Ctx['log']): DatabaseSpecType['users'] {
  const users: NonNullable<DatabaseSpecType['users']> = [];
  for (const u of src.users) {
    const user = { login: u.login, name: u.name.slice(0, 256), active: u.active, groups: u.groups.filter((g) => GROUP_XMLID.safeParse(g).success), ...(u.passwordHash && OdooPasswordHash.safeParse(u.passwordHash).success ? { passwordHash: u.passwordHash } : {}) };
    if (InstanceUserSpec.safeParse(user).success) users.push(user);
    else log.warn({ instance: src.id }, 'an instance user not sent to its database: its login does not fit the wire contract');
  }
  return users;
}

/**
 * The staged files the instance's database must take into its ir_attachment (docs/adr/0027,
 * addendum): names and checksums only, the content is fetched by the node. Absent when there are
 * none, so a database without staged files keeps the spec it had.
 */
function desiredFiles(src: DatabaseObjectSource, log: Ctx['log']): Pick<DatabaseSpecType, 'files'> {
  const files: NonNullable<DatabaseSpecType['files']> = [];
  for (const f of src.files) {
    const file = { id: Number(f.id), name: f.name, mimetype: mimetypeOf(f.name), size: Number(f.size), sha256: f.sha256 };
    if (InstanceFileSpec.safeParse(file).success) files.push(file);
    else log.warn({ instance: src.id, file: f.id }, 'an instance file not sent to its database: it does not fit the wire contract');
  }
  return files.length ? { files } : {};
}

function desiredSpec(src: DatabaseObjectSource, storageMb: number, log: Ctx['log']): DatabaseSpecType {
  return {
    clientId: src.id,
    name: src.name,
    template: src.template,
    owner: src.owner_role,
    ownerPassword: src.owner_verifier,
    connectionLimit: src.connection_limit,
    limits: { maxUsers: src.user_count, storageMb, expiresAt: src.expires_at },
    status: src.status === 'suspended' ? 'suspended' : 'active',
    users: desiredUsers(src, log),
    ...desiredFiles(src, log),
  };
}

/**
 * Brings the database objects of the instances among `ids` in line with them, in the caller's
 * transaction: a live instance with no db node yet is placed first (no candidate: it stays "not
 * placed" and the next change tries again); a deleted one's object becomes absent. Returns how many
 * objects were written.
 */
export async function syncDatabaseObjects(tx: Ctx, ids: readonly number[]): Promise<number> {
  if (ids.length === 0) return 0;
  const sources = await findDatabaseObjectSources(tx.db, ids);
  if (sources.length === 0) return 0;
  const unplaced = sources.filter((s) => s.db_node_id === null && LIVE.has(s.status));
  if (unplaced.length) {
    const placed = await placeOnDbNodes(tx, unplaced.map((s) => ({ clientId: s.id, nodeLabel: s.node_label })));
    for (const s of unplaced) s.db_node_id = placed.get(s.id) ?? null;
  }
  const live = sources.filter((s) => s.db_node_id !== null && LIVE.has(s.status));
  const quotas = await getSiteDiskQuotas(tx, live.map((s) => s.id));
  const writes: NodeObjectWrite[] = [];
  for (const src of sources) {
    if (src.db_node_id === null) continue;
    const base = { nodeId: Number(src.db_node_id), kind: 'database' as const, objectId: databaseObjectId(src.id), clientId: src.id };
    if (!LIVE.has(src.status)) {
      // Removed on the node (dumped first), keeping the last spec, which names what to remove.
      if (src.object_state === 'present') writes.push({ ...base, state: 'absent', spec: src.object_spec });
      continue;
    }
    const spec = desiredSpec(src, quotas.get(src.id) ?? 0, tx.log);
    if (!DatabaseSpec.safeParse(spec).success) {
      tx.log.warn({ database: base.objectId }, 'database not sent to its node: its spec does not fit the wire contract');
      continue;
    }
    if (src.object_state === 'present' && canonical(src.object_spec) === canonical(spec)) continue;
    writes.push({ ...base, state: 'present', spec });
  }
  await upsertNodeObjects(tx.db, writes);
  return writes.length;
}

/**
 * The names of an instance's database and owner role: from its UUID, not its host name. A host name
 * is no plain identifier (dots, dashes), may pass PostgreSQL's 63 bytes and may be renamed, and two
 * different names could fold onto one identifier; the UUID is fixed, fits, and stays unique when
 * several control planes (or test runs) share one PostgreSQL server.
 */
export function instanceDatabaseNames(uuid: string): { name: string; owner: string } {
  const hex = uuid.replace(/-/g, '').toLowerCase();
  return { name: `saas_${hex}`, owner: `saas_${hex}_owner` };
}

/**
 * Gives a new instance its own database, copied from `template` on a db node (placed now when one
 * can take it), in the creating transaction. `ownerVerifier` is the owner's SCRAM verifier (null:
 * no password login).
 */
export async function addInstanceDatabase(tx: Ctx, input: { clientId: number; uuid: string; template: string; ownerVerifier: string | null }): Promise<void> {
  const names = instanceDatabaseNames(input.uuid);
  await insertInstanceDatabase(
    tx.db,
    { client_id: input.clientId, name: names.name, template: input.template, owner_role: names.owner, owner_verifier: input.ownerVerifier, connection_limit: DEFAULT_INSTANCE_CONNECTION_LIMIT },
    tx.clock(),
  );
  await syncDatabaseObjects(tx, [input.clientId]);
}

/** An instance's database as the doors show it. */
export interface InstanceDatabase {
  name: string;
  template: string;
  owner: string;
  connection_limit: number;
  /** The db node holding it; null: no db node could take it yet. */
  node: string | null;
  /** not_placed; applying (the node has not made the latest spec true yet); applied; failed (see error). */
  status: 'not_placed' | 'applying' | 'applied' | 'failed';
  error: string | null;
  /** The node's latest measurement; null until the first one. */
  size_bytes: number | null;
  /** Active internal users (Odoo's res_users); null where the database has no such table or before the first report. */
  active_users: number | null;
  sampled_at: string | null;
  /** When the node last reported applying (or failing) it; null: never. */
  reported_at: string | null;
  /** Whether its users live in its own res_users (docs/adr/0027); false: the template has none, they stay Hostplane's; null: not reported yet. */
  users_in_database: boolean | null;
  /** Its ir_attachment as last reported (count, bytes); null: no such table or not reported yet. */
  files: { count: number; bytes: number } | null;
}

/** The databases of the instances `ids` (those that have one), by instance id. */
export async function getInstanceDatabases(ctx: Pick<Ctx, 'db'>, ids: readonly number[]): Promise<Map<number, InstanceDatabase>> {
  const rows = await findInstanceDatabaseViews(ctx.db, ids);
  return new Map(
    rows.map((r) => [
      Number(r.client_id),
      {
        name: r.name,
        template: r.template,
        owner: r.owner_role,
        connection_limit: r.connection_limit,
        node: r.node_name,
        status: r.node_name === null || r.version === null ? 'not_placed' : r.error ? 'failed' : r.applied_version === r.version ? 'applied' : 'applying',
        error: r.error,
        size_bytes: r.size_bytes === null ? null : Number(r.size_bytes),
        active_users: r.active_users,
        sampled_at: r.sampled_at === null ? null : new Date(r.sampled_at).toISOString(),
        reported_at: r.reported_at === null ? null : new Date(r.reported_at).toISOString(),
        users_in_database: r.has_res_users,
        files: r.files_count === null ? null : { count: r.files_count, bytes: Number(r.files_bytes ?? 0) },
      },
    ]),
  );
}

/** Whether an instance has a database of its own: only then does a door keep Odoo's hash of a user's password. */
export async function instanceHasDatabase(ctx: Pick<Ctx, 'db'>, clientId: number): Promise<boolean> {
  return hasInstanceDatabase(ctx.db, clientId);
}

/** A new owner verifier for an instance's database, sent to its node in the caller's transaction; false when it has no database. */
export async function setInstanceDatabaseOwnerVerifier(tx: Ctx, clientId: number, verifier: string): Promise<boolean> {
  if (!(await setOwnerVerifier(tx.db, clientId, verifier))) return false;
  await syncDatabaseObjects(tx, [clientId]);
  return true;
}
