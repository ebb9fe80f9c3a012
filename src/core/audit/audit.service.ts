import { AppError } from '../../errors/app-error.js';
import { scopeOf, type Ctx } from '../context.js';
import { emitEvents, WEBHOOK_AUDIT_ACTIONS, webhookEventOfAudit, type WebhookEvent } from '../webhooks/webhook.events.js';
import { parseInput } from '../shared/validation.js';
import * as repo from './audit.repository.js';
import type { NewAuditEvent } from './audit.repository.js';
import {
  AUDIT_PAGE_DEFAULT,
  auditFilterInput,
  type AuditAction,
  type AuditActorKind,
  type AuditChanges,
  type AuditEvent,
  type AuditPage,
  type AuditTargetType,
} from './audit.schema.js';

/** Fields never written to the log, at any depth, whatever their value. */
const SECRET_FIELDS = new Set(['api_key', 'api_key_digest', 'api_token', 'key', 'key_digest', 'token', 'token_digest', 'password', 'password_hash', 'secret']);

export type AuditSnapshot = Record<string, unknown>;

export interface AuditEntry {
  action: AuditAction;
  targetType: AuditTargetType;
  targetId: string | number;
  /** The tenant the event belongs to (whose `/v1/audit` shows it); null for operator-only records. */
  resellerId: number | null;
  /** The record before the change; absent for creations. */
  before?: AuditSnapshot;
  /** The record after the change (a partial record is fine: only its fields are compared). */
  after?: AuditSnapshot;
  /** Who acted, when it is not the ctx's actor (a client admin redeeming a login link). */
  actor?: { kind: AuditActorKind; id: number | null };
}

// jsonb refuses what text columns quietly store as U+FFFD (lone surrogates) or never get (NUL).
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const storable = (s: string) => s.replace(LONE_SURROGATE, '\uFFFD').replaceAll('\u0000', '\uFFFD');

/** Plain JSON: dates as ISO text, secret-named fields dropped, object keys in a stable order. */
function plain(value: unknown): unknown {
  if (typeof value === 'string') return storable(value);
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const item = (value as Record<string, unknown>)[key];
      if (item !== undefined && !SECRET_FIELDS.has(key.toLowerCase())) out[storable(key)] = plain(item);
    }
    return out;
  }
  return value;
}

/**
 * The changed fields of a record: `{field: {before, after}}`. A creation (no before) lists its set
 * fields with `after` only, a removal (no after) its fields with `before` only; an update compares
 * the fields `after` names and keeps those whose value differs.
 */
export function auditChanges(before: AuditSnapshot | undefined, after: AuditSnapshot | undefined): AuditChanges {
  const b = before ? (plain(before) as Record<string, unknown>) : undefined;
  const a = after ? (plain(after) as Record<string, unknown>) : undefined;
  const changes: AuditChanges = {};
  if (a && !b) {
    for (const [field, value] of Object.entries(a)) if (value !== null) changes[field] = { after: value };
  } else if (b && !a) {
    for (const [field, value] of Object.entries(b)) changes[field] = { before: value };
  } else if (a && b) {
    for (const [field, value] of Object.entries(a)) {
      const old = Object.hasOwn(b, field) ? b[field] : null;
      if (JSON.stringify(old) !== JSON.stringify(value)) changes[field] = { before: old, after: value };
    }
  }
  return changes;
}

function actorOf(ctx: Ctx): { kind: AuditActorKind; id: number | null } {
  switch (ctx.actor.kind) {
    case 'operator':
      // An operator user is logged as that user (its row says it is an operator), a key as the key.
      return ctx.actor.userId !== undefined ? { kind: 'user', id: ctx.actor.userId } : { kind: 'operator', id: ctx.actor.keyId };
    case 'reseller':
      return { kind: 'reseller', id: ctx.actor.resellerId };
    case 'public':
      return { kind: 'public', id: null };
    case 'user':
      return { kind: 'user', id: ctx.actor.userId };
    case 'system':
      return { kind: 'system', id: null };
    // The audit log has no node actor kind; the target (the node) says which one acted.
    case 'node':
      return { kind: 'system', id: null };
  }
}

/** The row an entry becomes, minus its target id (a single-statement create fills that in itself). */
export function auditRowWithoutTarget(ctx: Ctx, entry: Omit<AuditEntry, 'targetId'>): Omit<NewAuditEvent, 'target_id'> {
  const actor = entry.actor ?? actorOf(ctx);
  return {
    occurred_at: ctx.clock(),
    actor_kind: actor.kind,
    actor_id: actor.id,
    reseller_id: entry.resellerId,
    action: entry.action,
    target_type: entry.targetType,
    changes: JSON.stringify(auditChanges(entry.before, entry.after)),
    request_id: ctx.requestId ?? null,
    source_ip: ctx.ip ?? (ctx.actor.kind === 'public' ? ctx.actor.ip : null),
  };
}

/**
 * Writes audit events through `ctx.db`, so they commit or roll back with the mutation they describe;
 * it refuses to run outside a transaction, where that could not hold.
 */
export async function recordAudit(ctx: Ctx, entries: AuditEntry | AuditEntry[]): Promise<void> {
  if (!ctx.db.isTransaction) throw new Error('recordAudit runs inside the transaction of the change it records');
  const list = Array.isArray(entries) ? entries : [entries];
  const rows = list.map((e) => ({ ...auditRowWithoutTarget(ctx, e), target_id: String(e.targetId) }));
  await repo.insertAuditEvents(ctx.db, rows);
  // Changes that are also webhook events queue their deliveries in this same transaction.
  const events: WebhookEvent[] = [];
  for (const row of rows) {
    if (!WEBHOOK_AUDIT_ACTIONS.has(row.action)) continue;
    const event = webhookEventOfAudit({ action: row.action, targetType: row.target_type, targetId: row.target_id, resellerId: row.reseller_id, changes: JSON.parse(row.changes) as AuditChanges });
    if (event) events.push(event);
  }
  await emitEvents(ctx, events);
}

/** Newest first, a page at a time. Operators see every event, a reseller only its own. */
export async function listAuditEvents(ctx: Ctx, raw: unknown): Promise<AuditPage> {
  const query = (raw ?? {}) as Record<string, unknown>;
  for (const [key, value] of Object.entries(query)) if (Array.isArray(value)) throw AppError.validation({ [key]: ['must be given once'] });
  const filter = parseInput(auditFilterInput, query);
  if (filter.since && filter.until && filter.since >= filter.until) throw AppError.validation({ until: ['must be later than since'] });
  const scope = scopeOf(ctx.actor);
  const limit = filter.limit ?? AUDIT_PAGE_DEFAULT;
  const events = await repo.listAuditEvents(ctx.db, scope, {
    limit,
    ...(filter.before !== undefined ? { beforeId: filter.before } : {}),
    ...(filter.action !== undefined ? { action: filter.action } : {}),
    ...(filter.target_type !== undefined ? { targetType: filter.target_type } : {}),
    ...(filter.target_id !== undefined ? { targetId: filter.target_id } : {}),
    ...(filter.actor_kind !== undefined ? { actorKind: filter.actor_kind } : {}),
    ...(filter.reseller_id !== undefined ? { resellerId: filter.reseller_id } : {}),
    ...(filter.since !== undefined ? { since: filter.since } : {}),
    ...(filter.until !== undefined ? { until: filter.until } : {}),
  });
  // A reseller learns what an operator did to its records, not which key or address the operator used.
  const shown = 'resellerId' in scope ? events.map((e): AuditEvent => (e.actor_kind === 'operator' ? { ...e, actor_id: null, source_ip: null } : e)) : events;
  return { events: shown, next_before: events.length === limit ? events[events.length - 1]!.id : null };
}
