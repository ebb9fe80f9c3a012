import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import type { paths } from '../../generated/schema';
import { ErrorState, Loading, StatusBadge } from '../ui';
import { Chart, RangePicker, shortDay } from './Charts';

// Where a site is served and what it used per day, as the three consoles show it: the operator's
// (GET /admin/v1/clients/{id}/usage), the reseller's (GET /v1/clients/{id}/usage) and the client
// area's (GET /client/v1/usage/daily) answer the same shape, so one component draws them all.

export type UsageSeries = paths['/admin/v1/clients/{id}/usage']['get']['responses'][200]['content']['application/json'];
export type SiteNode = UsageSeries['node'];

/** The node's word for the site's object, in the console's: "applying" reads as pending. */
const APPLY_LABEL = { applied: 'applied', applying: 'pending', failed: 'failed' } as const;

/**
 * A site's node: its name, the node's health (a node whose heartbeats stopped reads unhealthy), and
 * whether the node applied the site's latest state, is still to, or failed (with the node's error).
 */
export function NodeStatus({ node }: { node: SiteNode }) {
  if (node === null) {
    return (
      <span className="node-status" data-node-status="not-placed">
        <span className="badge badge-not-placed">not placed</span>
      </span>
    );
  }
  const apply = APPLY_LABEL[node.object];
  return (
    <span className="node-status" data-node-status={node.status} data-node-name={node.name} data-apply={apply}>
      <strong>{node.name}</strong> <StatusBadge status={node.status} /> <StatusBadge status={apply} />
      {node.error !== null && <span className="error-text node-error">{node.error}</span>}
    </span>
  );
}

const UNITS = [
  { unit: 'GB', bytes: 1024 ** 3 },
  { unit: 'MB', bytes: 1024 ** 2 },
  { unit: 'KB', bytes: 1024 },
];

/** The largest unit the biggest value fills at least once, so the axis never reads 0, 0, 0. */
function unitFor(max: number): { unit: string; bytes: number } {
  return UNITS.find((u) => max >= u.bytes) ?? { unit: 'bytes', bytes: 1 };
}

/** Every UTC day from `since` to `until`, both included: days without a sample still get their slot. */
function daysOf(since: string, until: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${since}T00:00:00Z`), end = Date.parse(`${until}T00:00:00Z`); t <= end && out.length < 400; t += 86_400_000) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

/** Storage (the day's last sample, a line) and transfer (bytes sent that day, bars) over the window. */
export function UsageChart({ series }: { series: UsageSeries }) {
  const byDay = new Map(series.days.map((d) => [d.day, d]));
  const days = daysOf(series.since, series.until);
  const max = series.days.reduce((m, d) => Math.max(m, d.storage_bytes, d.transfer_bytes), 0);
  const { unit, bytes } = unitFor(max);
  const scaled = (v: number) => Number((v / bytes).toFixed(3));
  const last = series.days[series.days.length - 1];
  const sent = series.days.reduce((n, d) => n + d.transfer_bytes, 0);
  return (
    <Chart
      id="site-usage"
      labels={days.map(shortDay)}
      yTitle={unit}
      series={[
        { label: `Transfer per day (${unit})`, data: days.map((d) => (byDay.has(d) ? scaled(byDay.get(d)!.transfer_bytes) : 0)), bar: true, color: '#1f5fbf' },
        { label: `Storage (${unit})`, data: days.map((d) => (byDay.has(d) ? scaled(byDay.get(d)!.storage_bytes) : null)), color: '#1a7f37' },
      ]}
      summary={
        series.days.length
          ? `${series.site}: ${scaled(sent)} ${unit} sent over ${days.length} days; storage ${scaled(last!.storage_bytes)} ${unit} on ${last!.day}.`
          : `${series.site}: no usage reported in the last ${days.length} days.`
      }
    />
  );
}

/**
 * The Hosting card of a site's page: its node and its usage chart over 30 or 90 days. `load` reads
 * the series through the console's own door; `queryKey` names it for the cache.
 */
export function SiteHosting({ queryKey, load, title = 'Hosting and usage' }: { queryKey: readonly unknown[]; load: (days: number) => Promise<UsageSeries>; title?: string }) {
  const [days, setDays] = useState(30);
  // Health changes with time alone (a node that stops heartbeating), so the card refreshes itself.
  const series = useQuery({ queryKey: [...queryKey, days], queryFn: () => load(days), refetchInterval: 30_000 });
  return (
    <section className="card site-hosting" aria-labelledby="site-hosting-title">
      <div className="heading-row">
        <h2 id="site-hosting-title">{title}</h2>
        <RangePicker days={days} onChange={setDays} />
      </div>
      {series.isPending ? (
        <Loading />
      ) : series.isError ? (
        <ErrorState error={series.error} retry={() => void series.refetch()} />
      ) : (
        <>
          <dl className="facts">
            <dt>Node</dt>
            <dd>
              <NodeStatus node={series.data.node} />
            </dd>
          </dl>
          {series.data.node === null && <p className="muted">This site is not placed on a hosting node: nothing serves or meters it yet.</p>}
          {series.data.node?.status === 'unhealthy' && (
            <p className="warning" role="status">
              {series.data.node.name} has stopped sending heartbeats: the site may not be served, and its usage is not being reported.
            </p>
          )}
          {series.data.node !== null && series.data.days.length === 0 && <p className="muted">No usage reported in this window.</p>}
          <UsageChart series={series.data} />
          <p className="muted">Storage is the last size the node measured each day; transfer is what the site sent that day. Days without a report show no storage point.</p>
        </>
      )}
    </section>
  );
}
