import { useQuery } from '@tanstack/react-query';
import { api, must } from '../../api/client';
import { ErrorState, Loading, StatusBadge, When } from '../../ui';

function size(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(2)} GB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  return `${Math.ceil(bytes / 1024)} KB`;
}

/**
 * A SaaS instance's own database (ADR 21): where it lives, whether its node made the latest state
 * true (or why not), and what the node last measured. Shown only for a SaaS instance (the client says
 * so), and empty for an instance whose plan names no template.
 */
export function InstanceDatabaseCard({ id }: { id: number }) {
  const instance = useQuery({
    queryKey: ['instance', id],
    queryFn: async () => {
      return must(api.GET('/admin/v1/clients/{id}/instance', { params: { path: { id: String(id) } } }));
    },
  });
  if (instance.isPending) return <Loading />;
  if (instance.isError) return <ErrorState error={instance.error} retry={() => void instance.refetch()} />;
  const db = instance.data?.database;
  if (!db) return null;
  return (
    <section className="card instance-database" aria-labelledby="instance-database-title" data-database-status={db.status}>
      <h2 id="instance-database-title">Database</h2>
      <dl className="facts">
        <dt>Node</dt>
        <dd>{db.node ?? <span className="muted">not placed: no healthy db node could take it yet</span>}</dd>
        <dt>Name</dt>
        <dd>
          <code>{db.name}</code> <span className="muted">from template</span> <code>{db.template}</code>
        </dd>
        <dt>Owner role</dt>
        <dd>
          <code>{db.owner}</code> <span className="muted">(at most {db.connection_limit} connections)</span>
        </dd>
        <dt>State</dt>
        <dd>
          <StatusBadge status={db.status === 'not_placed' ? 'pending' : db.status} /> {db.status === 'not_placed' && <span className="muted">not placed</span>}
          {db.error !== null && <span className="error-text node-error">{db.error}</span>}
        </dd>
        <dt>{db.status === 'failed' ? 'Last report' : 'Last applied'}</dt>
        <dd>{db.reported_at ? <When at={db.reported_at} /> : <span className="muted">never</span>}</dd>
        <dt>Size</dt>
        <dd>{db.size_bytes !== null ? size(db.size_bytes) : <span className="muted">not measured yet</span>}</dd>
        <dt>Active users</dt>
        <dd>
          {db.active_users !== null ? db.active_users : <span className="muted">not counted</span>}
          {instance.data!.max_users > 0 && <span className="muted"> of {instance.data!.max_users}</span>}
        </dd>
        <dt>Measured</dt>
        <dd>{db.sampled_at ? <When at={db.sampled_at} /> : <span className="muted">never</span>}</dd>
        <dt>Expires</dt>
        <dd data-testid="instance-expires">{instance.data!.expires_at ? <When at={instance.data!.expires_at} /> : <span className="muted">never</span>}</dd>
      </dl>
    </section>
  );
}
