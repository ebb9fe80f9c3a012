import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, must } from '../../api/client';
import { DataTable, QueryState, StatusBadge, When } from '../../ui';
import type { HostingNode } from '../types';

const GB = 1024 ** 3;

/** What the last heartbeat said of the machine, in a line an operator reads at a glance. */
function capacityText(capacity: unknown): string {
  const c = capacity as { diskFreeBytes?: number; diskTotalBytes?: number; load1?: number; cpus?: number } | null;
  if (!c || typeof c !== 'object') return '—';
  const parts: string[] = [];
  if (typeof c.diskFreeBytes === 'number' && typeof c.diskTotalBytes === 'number') parts.push(`${(c.diskFreeBytes / GB).toFixed(1)} of ${(c.diskTotalBytes / GB).toFixed(1)} GB free`);
  if (typeof c.load1 === 'number') parts.push(`load ${c.load1.toFixed(2)}${typeof c.cpus === 'number' ? ` on ${c.cpus} CPUs` : ''}`);
  return parts.length ? parts.join(', ') : '—';
}

/**
 * Hosting nodes: health from their heartbeats, the desired-state version, capacity, what they hold,
 * what they are behind on (for a relay node: the domains it has not applied yet, which keep those
 * domains from turning ready) and what failed to apply; drain stops new placements on a node, undrain lifts that. Nodes are
 * registered with `hostplane node create`, which prints the enrolment token the agent needs.
 */
export function NodesPage() {
  const queryClient = useQueryClient();
  const [listed, setListed] = useState<{ node: HostingNode; which: 'failed' | 'behind' } | null>(null);
  const failedOf = listed?.node ?? null;
  // Health changes with time alone (a missed heartbeat), so the list refreshes itself.
  const nodes = useQuery({ queryKey: ['nodes'], queryFn: () => must(api.GET('/admin/v1/nodes')), refetchInterval: 10_000 });
  const failed = useQuery({
    queryKey: ['node-objects', failedOf?.id, listed?.which],
    enabled: failedOf !== null,
    queryFn: () => must(api.GET('/admin/v1/nodes/{id}/objects', { params: { path: { id: String(failedOf!.id) }, query: listed?.which === 'behind' ? { behind: 'true', limit: '100' } : { failed: 'true', limit: '100' } } })),
  });
  const drain = useMutation({
    mutationFn: (v: { node: HostingNode; drain: boolean }) =>
      v.drain
        ? must(api.POST('/admin/v1/nodes/{id}/drain', { params: { path: { id: String(v.node.id) } } }))
        : must(api.POST('/admin/v1/nodes/{id}/undrain', { params: { path: { id: String(v.node.id) } } })),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['nodes'] }),
  });

  return (
    <section>
      <h1>Nodes</h1>
      <p className="muted">
        Machines running <code>hostplane agent</code>. Register one with <code>hostplane node create --name web1 --roles web</code>; a node is unhealthy when its heartbeats stop.
      </p>
      {drain.isError && (
        <p role="alert" className="alert">
          {drain.error.message}
        </p>
      )}
      <QueryState query={nodes} isEmpty={(data) => data.length === 0} empty="No hosting nodes yet: sites are not placed anywhere.">
        {(data) => (
          <DataTable caption="Hosting nodes" columns={['Node', 'Status', 'Last heartbeat', 'Version', 'Capacity', 'Sites', 'Objects', 'Failed applies', 'Actions']}>
            {data.map((n) => (
              <tr key={n.id} data-node={n.name}>
                <td>
                  <strong>{n.name}</strong> <span className="muted">{n.roles.join(', ')}</span>
                  {Object.keys(n.labels).length > 0 && (
                    <div className="muted">
                      {Object.entries(n.labels)
                        .map(([k, v]) => `${k}=${v}`)
                        .join(' ')}
                    </div>
                  )}
                </td>
                <td>
                  <StatusBadge status={n.status} />
                  {!n.enrolled && <div className="muted">{n.enrol_pending ? 'waiting for its agent to enrol' : 'no token: rotate to enrol again'}</div>}
                </td>
                <td>{n.last_heartbeat_at ? <When at={n.last_heartbeat_at} /> : <span className="muted">never</span>}</td>
                <td>
                  {n.version}
                  {n.agent_version && <div className="muted">agent {n.agent_version}</div>}
                </td>
                <td>{capacityText(n.capacity)}</td>
                <td>{n.counts.sites}</td>
                <td>
                  {n.counts.placed} placed, {n.counts.applied} applied
                  {n.counts.pending > 0 && (
                    <>
                      {', '}
                      <button type="button" className="link" onClick={() => setListed({ node: n, which: 'behind' })}>
                        {n.counts.pending} pending
                      </button>
                    </>
                  )}
                </td>
                <td>
                  {n.counts.failed > 0 ? (
                    <button type="button" className="link" onClick={() => setListed({ node: n, which: 'failed' })}>
                      {n.counts.failed} failed
                    </button>
                  ) : (
                    '0'
                  )}
                </td>
                <td className="actions">
                  {n.state === 'draining' ? (
                    <button type="button" onClick={() => drain.mutate({ node: n, drain: false })} disabled={drain.isPending}>
                      Undrain
                    </button>
                  ) : (
                    <button type="button" onClick={() => drain.mutate({ node: n, drain: true })} disabled={drain.isPending}>
                      Drain
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </DataTable>
        )}
      </QueryState>
      {failedOf && (
        <>
          {listed?.which === 'behind' ? <h2 id="behind-on">Behind on {failedOf.name}: not applied yet</h2> : <h2 id="failed-applies">Failed applies on {failedOf.name}</h2>}
          <QueryState query={failed} isEmpty={(data) => data.objects.length === 0} empty={listed?.which === 'behind' ? 'This node has applied everything.' : 'Nothing failed on this node.'}>
            {(data) => (
              <DataTable caption={listed?.which === 'behind' ? `Behind on ${failedOf.name}` : `Failed applies on ${failedOf.name}`} columns={['Object', 'Version', 'Applied', 'Error', 'Reported']}>
                {data.objects.map((o) => (
                  <tr key={`${o.kind}:${o.id}`} data-object={o.id}>
                    <td>
                      <code>{o.id}</code>
                      {o.client_id !== null && <span className="muted"> client #{o.client_id}</span>}
                    </td>
                    <td>{o.version}</td>
                    <td>{o.applied_version ?? '—'}</td>
                    <td className="error-text">{o.error}</td>
                    <td>{o.reported_at ? <When at={o.reported_at} /> : '—'}</td>
                  </tr>
                ))}
              </DataTable>
            )}
          </QueryState>
        </>
      )}
    </section>
  );
}
