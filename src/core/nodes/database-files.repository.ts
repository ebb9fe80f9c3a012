import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';

/**
 * A file staged for an instance whose database is on `nodeId`: its content, while Hostplane still
 * holds it. Anything else (another node's instance, a moved or unknown file, a deleted instance) is
 * undefined.
 */
export async function findStagedFileForNode(db: Executor, nodeId: number, fileId: number): Promise<{ content: Buffer; sha256: string | null } | undefined> {
  const { rows } = await sql<{ content: Buffer; sha256: string | null }>`
    select f.content, f.sha256 from instance_files f
    join clients c on c.id = f.client_id
    join instance_databases d on d.client_id = f.client_id
    where f.id = ${fileId} and c.db_node_id = ${nodeId} and c.status in ('active', 'suspended')
      and f.moved_at is null and f.content is not null`.execute(db);
  return rows[0];
}

/**
 * Clears the content of the files a node says its databases now hold, only of instances whose
 * database is on that node and only for the object (`db<client id>`) that named them. Returns the
 * instances whose files moved.
 */
export async function markFilesMoved(db: Executor, nodeId: number, held: readonly { objectId: string; fileId: number }[], now: Date): Promise<number[]> {
  if (held.length === 0) return [];
  const { rows } = await sql<{ client_id: number }>`
    update instance_files f set content = null, moved_at = ${now}
    from clients c, jsonb_to_recordset(${JSON.stringify(held)}::jsonb) as x("objectId" text, "fileId" bigint)
    where c.id = f.client_id and c.db_node_id = ${nodeId} and 'db' || c.id = x."objectId" and f.id = x."fileId" and f.moved_at is null
    returning f.client_id::int as client_id`.execute(db);
  return [...new Set(rows.map((r) => Number(r.client_id)))];
}

/** Instances among `ids` that hold staged files: those whose object lists them once ir_attachment is reported. */
export async function findInstancesWithStagedFiles(db: Executor, ids: readonly number[]): Promise<number[]> {
  if (ids.length === 0) return [];
  const { rows } = await sql<{ id: number }>`
    select distinct client_id::int as id from instance_files where client_id = any(${ids as number[]}::bigint[]) and moved_at is null`.execute(db);
  return rows.map((r) => Number(r.id));
}

/**
 * Gives the held files of the instances `ids` that have none their SHA-256 (rows an older server
 * stored), so their database objects can list them.
 */
export async function fillMissingChecksums(db: Executor, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  await sql`update instance_files set sha256 = encode(sha256(content), 'hex')
    where client_id = any(${ids as number[]}::bigint[]) and sha256 is null and content is not null`.execute(db);
}
