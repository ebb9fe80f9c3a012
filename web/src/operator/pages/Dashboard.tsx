import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import type { paths } from '../../../generated/schema';
import { api, must } from '../../api/client';
import { Link } from '../../router';
import { Chart, HistoryCharts, RangePicker, shortDay } from '../../shared/Charts';
import { Empty, ErrorState, Loading } from '../../ui';

type History = paths['/admin/v1/overview/history']['get']['responses'][200]['content']['application/json'];

/** Sign-ups awaiting approval over the window, and the resellers with the most clients and their growth. */
function OperatorCharts({ history }: { history: History }) {
  const pending = history.pending_signups;
  const now = pending[pending.length - 1]?.pending ?? 0;
  const change = now - (pending[0]?.pending ?? 0);
  const top = history.top_resellers;
  return (
    <div className="grid two charts">
      <section className="card" aria-labelledby="chart-signups">
        <h2 id="chart-signups">Sign-ups awaiting approval</h2>
        <p className="trend" data-count="pending-now">
          {now} <small>{change === 0 ? 'no change' : `${change > 0 ? '+' : ''}${change}`} over {history.days} days</small>
        </p>
        <Chart
          id="signups"
          labels={pending.map((p) => shortDay(p.day))}
          series={[{ label: 'Pending sign-ups', data: pending.map((p) => p.pending), color: '#9a6700' }]}
          summary={`${now} sign-ups are awaiting approval; ${change >= 0 ? 'up' : 'down'} ${Math.abs(change)} over ${history.days} days.`}
        />
      </section>
      <section className="card" aria-labelledby="chart-resellers">
        <h2 id="chart-resellers">Top resellers</h2>
        {top.length === 0 ? (
          <Empty>No reseller has clients yet.</Empty>
        ) : (
          <Chart
            id="resellers"
            horizontal
            labels={top.map((r) => r.name)}
            series={[
              { label: 'Live clients', data: top.map((r) => r.clients), bar: true, color: '#1f5fbf' },
              { label: `Growth over ${history.days} days`, data: top.map((r) => r.growth), bar: true, color: '#1a7f37' },
            ]}
            summary={top.map((r) => `${r.name}: ${r.clients} clients, ${r.growth >= 0 ? '+' : ''}${r.growth}`).join('; ')}
          />
        )}
      </section>
    </div>
  );
}

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
  const [days, setDays] = useState(30);
  const history = useQuery({ queryKey: ['overview', 'history', days], queryFn: () => must(api.GET('/admin/v1/overview/history', { params: { query: { days: String(days) } } })), refetchInterval: 60_000 });

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
      <div className="heading-row">
        <h2>Last {days} days</h2>
        <RangePicker days={days} onChange={setDays} />
      </div>
      {history.isPending ? (
        <Loading />
      ) : history.isError ? (
        <ErrorState error={history.error} retry={() => void history.refetch()} />
      ) : (
        <>
          <HistoryCharts series={history.data.series} />
          <OperatorCharts history={history.data} />
        </>
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
