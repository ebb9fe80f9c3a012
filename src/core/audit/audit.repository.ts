import type { Executor } from '../../db/database.js';
import type { AuditActorKind, AuditEventsTable } from '../../db/schema.js';
import type { TenantScope } from '../context.js';
import type { AuditEvent } from './audit.schema.js';

export interface NewAuditEvent {
  occurred_at: Date;
  actor_kind: AuditActorKind;
  actor_id: number | null;
  reseller_id: number | null;
  action: string;
  target_type: string;
  target_id: string;
  /** JSON text of the changes. */
  changes: string;
  request_id: string | null;
  source_ip: string | null;
}

export async function insertAuditEvents(db: Executor, rows: NewAuditEvent[]): Promise<void> {
  // A statement carries at most 65,535 parameters: large group changes go in slices.
  for (let i = 0; i < rows.length; i += 2000) await db.insertInto('audit_events').values(rows.slice(i, i + 2000)).execute();
}

export interface AuditQuery {
  limit: number;
  beforeId?: number;
  action?: string;
  targetType?: string;
  targetId?: string;
  actorKind?: AuditEventsTable['actor_kind'];
  resellerId?: number;
  since?: Date;
  until?: Date;
}

/** Newest first. */
export async function listAuditEvents(db: Executor, scope: TenantScope, query: AuditQuery): Promise<AuditEvent[]> {
  let q = db.selectFrom('audit_events').selectAll();
  if ('resellerId' in scope) q = q.where('reseller_id', '=', scope.resellerId);
  if (query.resellerId !== undefined) q = q.where('reseller_id', '=', query.resellerId);
  if (query.beforeId !== undefined) q = q.where('id', '<', query.beforeId);
  if (query.action !== undefined) q = q.where('action', '=', query.action);
  if (query.targetType !== undefined) q = q.where('target_type', '=', query.targetType);
  if (query.targetId !== undefined) q = q.where('target_id', '=', query.targetId);
  if (query.actorKind !== undefined) q = q.where('actor_kind', '=', query.actorKind);
  if (query.since !== undefined) q = q.where('occurred_at', '>=', query.since);
  if (query.until !== undefined) q = q.where('occurred_at', '<', query.until);
  return q.orderBy('id', 'desc').limit(query.limit).execute();
}
