import { AppError } from '../../errors/app-error.js';
import { recordAudit } from '../audit/audit.service.js';
import { inTransaction, type Ctx } from '../context.js';
import { randomToken, sha256Hex } from '../shared/secrets.js';
import { parseInput } from '../shared/validation.js';
import { listNodeObjectRows } from './node-objects.repository.js';
import * as repo from './node.repository.js';
import { afterRelayNodeGone } from '../domains/domain-provisioning.js';
import { syncRelayObjects } from './relay-objects.js';
import {
  createNodeInput,
  deleteNodeInput,
  NODE_OBJECT_PAGE_DEFAULT,
  NODE_OBJECT_PAGE_MAX,
  type Node,
  type NodeObjectPage,
  type NodeObjectStatus,
  type NodeStatus,
} from './node.schema.js';

/** Defaults of the settings operators may change (HOSTPLANE_NODE_*). */
export const NODE_DEFAULTS = { unhealthySeconds: 30, heartbeatSeconds: 10, usageSeconds: 60, archiveDays: 30 } as const;
/** How long a one-time enrolment token stays usable. */
export const ENROL_TOKEN_TTL_MS = 24 * 3600 * 1000;

// Prefixes make a leaked token recognisable (and greppable in logs) for what it is.
const ENROL_PREFIX = 'hpe_';
const NODE_PREFIX = 'hpn_';

export function nodeSettingsOf(ctx: Ctx) {
  const s = ctx.settings.nodes ?? {};
  return {
    unhealthySeconds: s.unhealthySeconds ?? NODE_DEFAULTS.unhealthySeconds,
    heartbeatSeconds: s.heartbeatSeconds ?? NODE_DEFAULTS.heartbeatSeconds,
    usageSeconds: s.usageSeconds ?? NODE_DEFAULTS.usageSeconds,
    archiveDays: s.archiveDays ?? NODE_DEFAULTS.archiveDays,
  };
}

function requireOperator(ctx: Ctx): void {
  if (ctx.actor.kind !== 'operator' && ctx.actor.kind !== 'system') throw new AppError('forbidden', 'only operators manage hosting nodes');
}

export function nodeStatus(ctx: Ctx, row: { state: string; last_heartbeat_at: Date | null }): NodeStatus {
  if (row.state === 'draining') return 'draining';
  const limit = nodeSettingsOf(ctx).unhealthySeconds * 1000;
  return row.last_heartbeat_at && ctx.clock().getTime() - row.last_heartbeat_at.getTime() <= limit ? 'healthy' : 'unhealthy';
}

function toNode(ctx: Ctx, r: repo.NodeRow): Node {
  return {
    id: r.id,
    name: r.name,
    roles: r.roles,
    labels: r.labels,
    state: r.state,
    status: nodeStatus(ctx, r),
    enrolled: r.token_set,
    enrol_pending: r.enrol_pending,
    enrol_token_expires_at: r.enrol_pending ? r.enrol_token_expires_at : null,
    version: r.version,
    agent_version: r.agent_version,
    capacity: r.capacity ?? null,
    drivers: r.drivers ?? null,
    last_heartbeat_at: r.last_heartbeat_at,
    last_usage_at: r.last_usage_at,
    enrolled_at: r.enrolled_at,
    created_at: r.created_at,
    counts: { placed: r.placed, applied: r.applied, failed: r.failed, pending: r.pending, sites: r.sites },
  };
}

async function findOrThrow(ctx: Ctx, id: number): Promise<Node> {
  const row = await repo.findNodeRow(ctx.db, id, ctx.clock());
  if (!row) throw AppError.notFound('node');
  return toNode(ctx, row);
}

function newEnrolToken(ctx: Ctx) {
  const token = ENROL_PREFIX + randomToken(32);
  return { token, digest: sha256Hex(token), expiresAt: new Date(ctx.clock().getTime() + ENROL_TOKEN_TTL_MS) };
}

/** Registers a node; the one-time enrolment token is returned only here (the database keeps its digest). */
export async function createNode(ctx: Ctx, raw: unknown): Promise<{ node: Node; token: string }> {
  requireOperator(ctx);
  const input = parseInput(createNodeInput, raw);
  const enrol = newEnrolToken(ctx);
  return inTransaction(ctx, async (tx) => {
    const id = await repo.insertNode(tx.db, { name: input.name, roles: input.roles, labels: input.labels, enrol_token_digest: enrol.digest, enrol_token_expires_at: enrol.expiresAt, now: tx.clock() });
    if (id === undefined) throw new AppError('conflict', `a node named ${input.name} already exists`, { fields: { name: ['is already taken'] } });
    await recordAudit(tx, { action: 'node.created', targetType: 'node', targetId: id, resellerId: null, after: { name: input.name, roles: input.roles, labels: input.labels } });
    // A relay accepts mail for every live domain: the new one starts with all of them.
    if (input.roles.includes('relay')) await syncRelayObjects(tx, null, [id]);
    return { node: await findOrThrow(tx, id), token: enrol.token };
  });
}

export async function listNodes(ctx: Ctx): Promise<Node[]> {
  requireOperator(ctx);
  return (await repo.listNodeRows(ctx.db, ctx.clock())).map((r) => toNode(ctx, r));
}

export async function showNode(ctx: Ctx, id: number): Promise<Node> {
  requireOperator(ctx);
  return findOrThrow(ctx, id);
}

async function setState(ctx: Ctx, id: number, state: 'active' | 'draining'): Promise<Node> {
  requireOperator(ctx);
  return inTransaction(ctx, async (tx) => {
    const changed = await repo.setNodeState(tx.db, id, state, tx.clock());
    if (!changed) throw AppError.notFound('node');
    if (changed.before !== state) {
      await recordAudit(tx, { action: state === 'draining' ? 'node.drained' : 'node.undrained', targetType: 'node', targetId: id, resellerId: null, before: { state: changed.before }, after: { state } });
    }
    return findOrThrow(tx, id);
  });
}

/** No new placements go to a draining node; what it holds stays served. Draining a draining node changes nothing. */
export const drainNode = (ctx: Ctx, id: number) => setState(ctx, id, 'draining');
export const undrainNode = (ctx: Ctx, id: number) => setState(ctx, id, 'active');

/**
 * Removes a node. Refused (invalid_state) while live sites are placed on it, since they would stop
 * being served without anyone removing them; `force: true` deletes anyway (a machine that is gone for
 * good) and its sites become "not placed". Its desired objects go with it; the agent's next call is 401.
 */
export async function deleteNode(ctx: Ctx, id: number, raw: unknown = {}): Promise<{ id: number; name: string; unplaced_sites: number }> {
  requireOperator(ctx);
  const { force } = parseInput(deleteNodeInput, raw ?? {});
  return inTransaction(ctx, async (tx) => {
    const node = await repo.lockNode(tx.db, id);
    if (!node) throw AppError.notFound('node');
    const live = await repo.countLiveSitesOnNode(tx.db, id);
    if (live > 0 && !force) {
      throw new AppError('invalid_state', `node ${node.name} still holds ${live} site${live === 1 ? '' : 's'}: move them off first, or delete with force (they become not placed)`);
    }
    const unplaced = await repo.deleteNodeRow(tx.db, id);
    if (node.roles.includes('relay')) await afterRelayNodeGone(tx);
    await recordAudit(tx, { action: 'node.deleted', targetType: 'node', targetId: id, resellerId: null, before: { name: node.name }, after: { force, unplaced_sites: unplaced } });
    return { id: Number(node.id), name: node.name, unplaced_sites: unplaced };
  });
}

/**
 * Issues a new one-time enrolment token (the previous unused one stops working). The node's current
 * token keeps working until the new enrolment token is exchanged, which replaces it.
 */
export async function rotateNodeToken(ctx: Ctx, id: number): Promise<{ node: Node; token: string }> {
  requireOperator(ctx);
  const enrol = newEnrolToken(ctx);
  return inTransaction(ctx, async (tx) => {
    if (!(await repo.setEnrolToken(tx.db, id, enrol.digest, enrol.expiresAt, tx.clock()))) throw AppError.notFound('node');
    await recordAudit(tx, { action: 'node.token_rotated', targetType: 'node', targetId: id, resellerId: null, after: { enrol_token_expires_at: enrol.expiresAt } });
    return { node: await findOrThrow(tx, id), token: enrol.token };
  });
}

/** Ends the node's token (and any unused enrolment token) at once: the agent's next call is 401. */
export async function revokeNodeToken(ctx: Ctx, id: number): Promise<Node> {
  requireOperator(ctx);
  return inTransaction(ctx, async (tx) => {
    if (!(await repo.revokeNodeTokens(tx.db, id, tx.clock()))) throw AppError.notFound('node');
    await recordAudit(tx, { action: 'node.token_revoked', targetType: 'node', targetId: id, resellerId: null });
    return findOrThrow(tx, id);
  });
}

function objectStatus(r: { state: string; version: number; applied_version: number | null; error: string | null }): NodeObjectStatus {
  if (r.error !== null) return 'failed';
  if (r.state === 'absent') return 'removing';
  return r.applied_version !== null && r.applied_version >= r.version ? 'applied' : 'applying';
}

/**
 * A node's objects in id order, pages of `limit` after `after`; `failed` keeps those whose last try
 * failed, `behind` those the node has not applied at their current version (for a relay node: the
 * domains it is behind on).
 */
export async function listNodeObjects(ctx: Ctx, id: number, q: { failed?: boolean; behind?: boolean; after?: string; limit?: number } = {}): Promise<NodeObjectPage> {
  requireOperator(ctx);
  const limit = q.limit ?? NODE_OBJECT_PAGE_DEFAULT;
  if (!Number.isInteger(limit) || limit < 1 || limit > NODE_OBJECT_PAGE_MAX) throw AppError.validation({ limit: [`must be a whole number from 1 to ${NODE_OBJECT_PAGE_MAX}`] });
  if (q.after !== undefined && (q.after.length === 0 || q.after.length > 253)) throw AppError.validation({ after: ['must be an object id of 1 to 253 characters'] });
  await findOrThrow(ctx, id);
  const rows = await listNodeObjectRows(ctx.db, id, { failedOnly: q.failed === true, behindOnly: q.behind === true, limit, ...(q.after !== undefined ? { after: q.after } : {}) });
  return {
    objects: rows.map((r) => ({
      kind: r.kind,
      id: r.object_id,
      client_id: r.client_id,
      state: r.state,
      version: r.version,
      applied_version: r.applied_version,
      status: objectStatus(r),
      error: r.error,
      reported_at: r.reported_at,
    })),
    next_after: rows.length === limit ? rows[rows.length - 1]!.object_id : null,
  };
}

export { ENROL_PREFIX, NODE_PREFIX };
