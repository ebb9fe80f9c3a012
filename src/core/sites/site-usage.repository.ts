import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';

/**
 * What a SaaS instance stores as files in Hostplane, per client: bytes and file count. Files moved into
 * the instance's own database (content cleared, docs/adr/0027) are its database's now.
 */
export async function sumInstanceFiles(db: Executor, ids: number[]): Promise<Map<number, { bytes: number; files: number }>> {
  if (ids.length === 0) return new Map();
  const { rows } = await sql<{ client_id: number; bytes: string; files: number }>`
    select client_id, coalesce(sum(size_bytes), 0)::text as bytes, count(*)::int as files
    from instance_files where client_id = any(${ids}::bigint[]) and content is not null
    group by client_id`.execute(db);
  return new Map(rows.map((r) => [Number(r.client_id), { bytes: Number(r.bytes), files: r.files }]));
}
