import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../../api/client';
import { HistoryCharts, RangePicker } from '../../shared/Charts';
import { ErrorState, Loading } from '../../ui';
import { hsp } from '../hsp';

/** The reseller's own clients, domains, provisioning time and failed jobs over 30 or 90 days (GET /v1/stats). */
export function DashboardPage() {
  const [days, setDays] = useState(30);
  const stats = useQuery({ queryKey: ['stats', days], queryFn: () => hsp(api.GET('/v1/stats', { params: { query: { days: String(days) } } })), refetchInterval: 60_000 });
  const now = stats.data?.series[stats.data.series.length - 1];
  return (
    <section>
      <div className="heading-row">
        <h1>Dashboard</h1>
        <RangePicker days={days} onChange={setDays} />
      </div>
      {stats.isPending ? (
        <Loading />
      ) : stats.isError ? (
        <ErrorState error={stats.error} retry={() => void stats.refetch()} />
      ) : (
        <>
          <div className="grid">
            <section className="card" aria-labelledby="now-title">
              <h2 id="now-title">Today</h2>
              <dl className="counts">
                <div data-count="clients">
                  <dt>Live clients</dt>
                  <dd>{(now?.clients ?? 0).toLocaleString()}</dd>
                </div>
                <div data-count="domains">
                  <dt>Live domains</dt>
                  <dd>{(now?.domains ?? 0).toLocaleString()}</dd>
                </div>
              </dl>
            </section>
          </div>
          <HistoryCharts series={stats.data.series} />
        </>
      )}
    </section>
  );
}
