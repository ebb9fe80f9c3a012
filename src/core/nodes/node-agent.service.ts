import { AppError } from '../../errors/app-error.js';
import { recordAudit } from '../audit/audit.service.js';
import { inTransaction, type Ctx } from '../context.js';
import { randomToken, sha256Hex } from '../shared/secrets.js';
import { parseInput } from '../shared/validation.js';
import { HeartbeatRequest, NodeRole, StateQuery as WireStateQuery, StatusRequest, WireObject, type EnrolResponse, type NodeSettings, type StateResponse } from './agent-wire.schema.js';
import { recordHeldFiles } from './database-files.js';
import { readNodeState, readNodeVersion, recordStatusRows } from './node-objects.repository.js';
import * as repo from './node.repository.js';
import { markDomainsRelayed } from './relay-objects.js';
import type { NodeIdentity } from './node.schema.js';
import { NODE_PREFIX, nodeSettingsOf } from './node.service.js';

// What a node's agent may do with its own token (the /agent/v1 door): every use case here reads the
// node from the actor, never from input, so one node cannot name another.

/** Longest a state request waits for a change. */
export const MAX_WAIT_SECONDS = 60;
/** While waiting, the version is re-read this often anyway, so a lost notification only delays. */
const RECHECK_MS = 5_000;

/** The node a `/agent/v1` use case acts for; any other actor is refused. Other agent use cases (usage) use it too. */
export function nodeIdOf(ctx: Ctx): number {
  if (ctx.actor.kind !== 'node') throw new AppError('forbidden', 'only a node token may do this');
  return ctx.actor.nodeId;
}

const StateQuery = WireStateQuery.strict();

const toIdentity = (r: { id: number; name: string; roles: string[] }): NodeIdentity => ({
  id: Number(r.id),
  name: r.name,
  roles: r.roles.filter((x): x is NodeRole => NodeRole.safeParse(x).success),
});

export function agentSettings(ctx: Ctx): NodeSettings {
  const s = nodeSettingsOf(ctx);
  return { heartbeatIntervalSeconds: s.heartbeatSeconds, usageIntervalSeconds: s.usageSeconds, archiveRetentionDays: s.archiveDays };
}

/**
 * Exchanges a one-time enrolment token for the node's own token (returned only here; the database
 * keeps its digest). A used, expired, rotated-away or unknown enrolment token is `unauthenticated`.
 * Any token the node had before stops working.
 */
export async function enrolNode(ctx: Ctx, enrolToken: string | undefined): Promise<EnrolResponse> {
  if (!enrolToken || enrolToken.length > 200) throw new AppError('unauthenticated', 'an enrolment token is required (Authorization: Bearer <token>)');
  const token = NODE_PREFIX + randomToken(32);
  return inTransaction(ctx, async (tx) => {
    const row = await repo.enrolWithDigest(tx.db, sha256Hex(enrolToken), sha256Hex(token), tx.clock());
    if (!row) throw new AppError('unauthenticated', 'the enrolment token is unknown, used or expired: issue a new one with `hostplane node rotate-token`');
    const node = toIdentity(row);
    await recordAudit(tx, { action: 'node.enrolled', targetType: 'node', targetId: node.id, resellerId: null });
    return { node, token };
  });
}

/** The node a node token belongs to; anything else (revoked, rotated away, an enrolment token) is `unauthenticated`. */
export async function authenticateNode(ctx: Ctx, token: string | undefined): Promise<NodeIdentity> {
  if (!token || token.length > 200) throw new AppError('unauthenticated', 'a node token is required (Authorization: Bearer <token>)');
  const row = await repo.findNodeByTokenDigest(ctx.db, sha256Hex(token));
  if (!row) throw new AppError('unauthenticated', 'the node token is not valid (revoked, replaced or unknown)');
  return toIdentity(row);
}

async function identity(ctx: Ctx, nodeId: number): Promise<NodeIdentity> {
  const row = await ctx.db.selectFrom('nodes').select(['id', 'name', 'roles']).where('id', '=', nodeId).executeTakeFirst();
  if (!row) throw new AppError('unauthenticated', 'the node no longer exists');
  return toIdentity(row);
}

/**
 * The node's objects changed after `since` (all of them without it). With `waitSeconds`, and nothing
 * newer than `since` yet, waits for a change up to that long and answers with what there is then
 * (possibly nothing, at the same version).
 */
export async function getNodeState(ctx: Ctx, raw: Record<string, unknown>): Promise<StateResponse> {
  const nodeId = nodeIdOf(ctx);
  const q = parseInput(StateQuery, raw);
  const node = await identity(ctx, nodeId);
  if (q.since !== undefined && q.wait) {
    const deadline = Date.now() + Math.min(q.wait, MAX_WAIT_SECONDS) * 1000;
    for (;;) {
      const armed = ctx.nodeWaiter?.arm(nodeId);
      try {
        const version = await readNodeVersion(ctx.db, nodeId);
        if (version === undefined) throw new AppError('unauthenticated', 'the node no longer exists');
        const left = deadline - Date.now();
        if (version > q.since || left <= 0) break;
        const step = Math.min(left, RECHECK_MS);
        if (armed) await armed.wait(step);
        else await new Promise((r) => setTimeout(r, Math.min(step, 1000)));
      } finally {
        armed?.cancel();
      }
      if (ctx.nodeWaiter?.isClosed) break;
    }
  }
  const state = await readNodeState(ctx.db, nodeId, q.since);
  if (!state) throw new AppError('unauthenticated', 'the node no longer exists');
  const objects: WireObject[] = [];
  for (const o of state.objects) {
    // A spec stored by an older server may no longer fit the contract: skip it rather than send what
    // the agent would refuse, and say so in the log.
    const parsed = WireObject.safeParse({ kind: o.kind, id: o.object_id, version: o.version, state: o.state, spec: o.spec });
    if (parsed.success) objects.push(parsed.data);
    else ctx.log.warn({ nodeId, object: o.object_id }, 'desired object does not fit the wire contract; not sent');
  }
  return { node, version: state.version, full: state.full, objects, settings: agentSettings(ctx) };
}

/** Records per object the version the node applied or why it failed; objects not on this node are ignored. */
export async function recordStatus(ctx: Ctx, raw: unknown): Promise<{ accepted: number; forgotten: number }> {
  const nodeId = nodeIdOf(ctx);
  const input = parseInput(StatusRequest, raw);
  return inTransaction(ctx, async (tx) => {
    const r = await recordStatusRows(
      tx.db,
      nodeId,
      input.results.map((x) => ({ kind: x.kind, object_id: x.id, version: x.version, ok: x.ok, error: x.ok ? null : (x.error ?? 'failed') })),
      tx.clock(),
    );
    // Files a database now holds in its ir_attachment are no longer Hostplane's to keep.
    await recordHeldFiles(tx, nodeId, input.results);
    // A domain turns ready once every relay node has applied it; this report may be the last one.
    const relayed = input.results.filter((x) => x.ok && x.kind === 'relay_domain').map((x) => x.id);
    if (relayed.length) await markDomainsRelayed(tx, relayed);
    return { accepted: r.matched, forgotten: r.forgotten };
  });
}

/** Liveness and capacity; answers the server's time and the settings agents follow. */
export async function recordHeartbeat(ctx: Ctx, raw: unknown): Promise<{ serverTime: string; settings: NodeSettings }> {
  const nodeId = nodeIdOf(ctx);
  const input = parseInput(HeartbeatRequest, raw);
  const now = ctx.clock();
  await repo.recordHeartbeatRow(ctx.db, nodeId, { agent_version: input.agentVersion, capacity: JSON.stringify(input.capacity), drivers: JSON.stringify(input.drivers), now });
  return { serverTime: now.toISOString(), settings: agentSettings(ctx) };
}
