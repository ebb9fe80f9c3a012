import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';

/** Sites (any status) whose metadata holds one of these `service,param` values, locked for update: a rotation reseals them. */
export async function lockSitesWithSecrets(db: Executor, params: [string, string][]): Promise<{ id: number; service_meta: Record<string, Record<string, unknown>> }[]> {
  if (params.length === 0) return [];
  const paths = params.map(([s, p]) => `{${s},${p}}`);
  const { rows } = await sql<{ id: number; service_meta: Record<string, Record<string, unknown>> }>`
    select id, service_meta from clients
    where exists (select 1 from unnest(${paths}::text[]) as x(path) where jsonb_typeof(service_meta #> x.path::text[]) = 'string')
    order by id
    for update`.execute(db);
  return rows.map((r) => ({ id: Number(r.id), service_meta: r.service_meta }));
}

export async function setSiteSecret(db: Executor, id: number, service: string, param: string, sealed: string): Promise<void> {
  await sql`update clients set service_meta = jsonb_set(service_meta, ${`{${service},${param}}`}::text[], to_jsonb(${sealed}::text)) where id = ${id}`.execute(db);
}
