import { recordAudit } from '../audit/audit.service.js';
import type { Ctx } from '../context.js';
import { RelayDomainSpec } from './agent-wire.schema.js';
import { upsertNodeObjects, type NodeObjectWrite } from './node-objects.repository.js';
import { findRelayObjectChanges, lockRelayReadiness, markRelayedDomainsReady } from './relay-objects.repository.js';

// Desired state of the relay role (ADR 0022). Every relay node holds every live domain as a
// `relay_domain` object whose id is the domain name, so a name deleted and added again is one object
// whose spec changes, never two objects a node could apply in the wrong order. Every door's domain
// change ends, in its own transaction, with `syncRelayObjects(tx, names)`: the same statements for
// one name and for 10,000 (a read of what differs, then the version bump and the upsert).

/**
 * Brings the relay objects of `names` (every live domain and every name a relay holds, when null) in
 * line with the domains on every relay node (or only `nodeIds`), in the caller's transaction. Only
 * objects that differ are written, with one new version per node. Returns how many were written.
 */
export async function syncRelayObjects(tx: Ctx, names: readonly string[] | null, nodeIds?: readonly number[]): Promise<number> {
  const changes = await findRelayObjectChanges(tx.db, names, nodeIds);
  if (changes.length === 0) return 0;
  const writes: NodeObjectWrite[] = [];
  for (const c of changes) {
    const base = { nodeId: c.node_id, kind: 'relay_domain' as const, objectId: c.name, clientId: null };
    if (c.mail_servers === null) {
      writes.push({ ...base, state: 'absent', spec: c.object_spec ?? { domain: c.name } });
      continue;
    }
    const spec = { domain: c.name, mailServers: c.mail_servers };
    if (!RelayDomainSpec.safeParse(spec).success) {
      // The doors refuse such names; one stored before they did must not reach a relay's maps.
      tx.log.warn({ domain: c.name }, 'domain not sent to the relay nodes: a name is not a plain A-label domain or IP address');
      continue;
    }
    writes.push({ ...base, state: 'present', spec });
  }
  await upsertNodeObjects(tx.db, writes);
  return writes.length;
}

/**
 * Marks ready the domains among `names` (all when null) that every relay node has applied, with an
 * audit event (actor: the system) for each, in the caller's transaction (which must already hold the
 * reporting node's own status update: the check runs after the readiness lock is taken).
 */
export async function markDomainsRelayed(tx: Ctx, names: readonly string[] | null): Promise<number> {
  await lockRelayReadiness(tx.db);
  const changed = await markRelayedDomainsReady(tx.db, names, tx.clock());
  if (changed.length === 0) return 0;
  await recordAudit(
    tx,
    changed.map((d) => ({ action: 'domain.status_set' as const, targetType: 'domain' as const, targetId: d.name, resellerId: d.reseller_id, before: { status: d.before }, after: { status: 'ready' } })),
  );
  return changed.length;
}

