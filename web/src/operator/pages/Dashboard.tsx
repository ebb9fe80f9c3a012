import { useQuery } from '@tanstack/react-query';
import { api, must } from '../../api/client';
import { Link } from '../../router';
import { Empty, ErrorState, Loading } from '../../ui';

function Counts({ title, counts, id }: { title: string; counts: Record<string, number>; id: string }) {
  return (
    <section className="card" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      <dl className="counts">
        {Object.entries(counts).map(([k, v]) => (
          <div key={k} data-count={`${id}-${k}`}>
            <dt>{k}</dt>
            <dd>{v.toLocaleString()}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

export function DashboardPage() {
  const overview = useQuery({ queryKey: ['overview'], queryFn: () => must(api.GET('/admin/v1/overview')), refetchInterval: 15_000 });
  const pending = useQuery({ queryKey: ['resellers', 'pending'], queryFn: () => must(api.GET('/admin/v1/resellers', { params: { query: { status: 'pending' } } })) });
  const failed = useQuery({ queryKey: ['jobs', 'failed', 'latest'], queryFn: () => must(api.GET('/admin/v1/jobs', { params: { query: { state: 'failed', limit: '5' } } })) });

  return (
    <section>
      <h1>Dashboard</h1>
      {overview.isPending ? (
        <Loading />
      ) : overview.isError ? (
        <ErrorState error={overview.error} retry={() => void overview.refetch()} />
      ) : (
        <div className="grid">
          <Counts id="resellers" title="Resellers" counts={overview.data.resellers} />
          <Counts id="clients" title="Clients" counts={overview.data.clients} />
          <Counts id="domains" title="Domains" counts={overview.data.domains} />
          <Counts id="jobs" title="Jobs" counts={overview.data.jobs} />
        </div>
      )}
      <div className="grid two">
        <section className="card" aria-labelledby="pending-title">
          <h2 id="pending-title">Pending sign-ups</h2>
          {pending.isPending ? (
            <Loading />
          ) : pending.isError ? (
            <ErrorState error={pending.error} />
          ) : pending.data.length === 0 ? (
            <Empty>No sign-ups are waiting for approval.</Empty>
          ) : (
            <ul className="plain">
              {pending.data.slice(0, 5).map((r) => (
                <li key={r.id}>
                  <strong>{r.name}</strong> <span className="muted">{r.email_address}</span>
                </li>
              ))}
            </ul>
          )}
          <p>
            <Link to="/resellers?status=pending">Review sign-ups</Link>
          </p>
        </section>
        <section className="card" aria-labelledby="failed-title">
          <h2 id="failed-title">Failed jobs</h2>
          {failed.isPending ? (
            <Loading />
          ) : failed.isError ? (
            <ErrorState error={failed.error} />
          ) : failed.data.jobs.length === 0 ? (
            <Empty>No failed jobs.</Empty>
          ) : (
            <ul className="plain">
              {failed.data.jobs.map((j) => (
                <li key={j.id}>
                  #{j.id} <code>{j.kind}</code> <span className="muted">{j.last_error}</span>
                </li>
              ))}
            </ul>
          )}
          <p>
            <Link to="/jobs?state=failed">All failed jobs</Link>
          </p>
        </section>
      </div>
      <nav className="card" aria-labelledby="manage-title">
        <h2 id="manage-title">Manage</h2>
        <ul className="links">
          <li>
            <Link to="/packages">Packages and features</Link>
          </li>
          <li>
            <Link to="/groups">Account groups and bulk actions</Link>
          </li>
          <li>
            <Link to="/webhooks">Webhooks and deliveries</Link>
          </li>
          <li>
            <Link to="/keys">API keys and CRM tokens</Link>
          </li>
          <li>
            <Link to="/audit">Audit log</Link>
          </li>
          <li>
            <Link to="/settings">Clean-up and SSO settings</Link>
          </li>
        </ul>
      </nav>
    </section>
  );
}
