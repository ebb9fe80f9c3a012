import { useEffect, useRef, useState } from 'react';
import type { paths } from '../../generated/schema';
import type * as ChartModule from './chart-setup';

// Charts of the dashboards' per-day series (GET /admin/v1/overview/history, GET /v1/stats), drawn on a
// canvas by Chart.js (ADR 14). Chart.js is loaded only when a chart is first shown, so the rest of the
// console does not download it. It sets sizes through element.style, which the console's CSP allows
// (only inline <style> and style attributes in markup are refused).

export type HistoryDay = paths['/v1/stats']['get']['responses'][200]['content']['application/json']['series'][number];

let loading: Promise<typeof ChartModule> | undefined;
function loadChartJs(): Promise<typeof ChartModule> {
  loading ??= import('./chart-setup');
  return loading;
}

const COLORS = ['#1f5fbf', '#1a7f37', '#b42318', '#9a6700', '#6e40c9'];

export interface Series {
  label: string;
  data: (number | null)[];
  /** Bars instead of a line (a line is the default). */
  bar?: boolean;
  color?: string;
  /** A dashed line, for a series that often lies on top of another. */
  dashed?: boolean;
}

/** "2026-12-06" → "Dec 6": short labels, the date itself stays in the tooltip title. */
export function shortDay(day: string): string {
  const d = new Date(`${day}T00:00:00Z`);
  return d.toLocaleDateString(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });
}

/**
 * One chart on a canvas. `summary` is read to screen readers instead of the drawing; `data-points`
 * counts the values drawn, so a test can tell an empty chart from a drawn one.
 */
export function Chart(props: { id: string; labels: string[]; series: Series[]; summary: string; horizontal?: boolean; stacked?: boolean; yTitle?: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [failed, setFailed] = useState<string>();
  const [drawn, setDrawn] = useState(false);
  const key = JSON.stringify([props.labels, props.series, props.horizontal, props.stacked, props.yTitle]);

  useEffect(() => {
    let chart: ChartModule.Chart | undefined;
    let cancelled = false;
    loadChartJs().then(
      ({ Chart: ChartJs }) => {
        if (cancelled || !canvas.current) return;
        chart = new ChartJs(canvas.current, {
          type: props.series.every((s) => s.bar) ? 'bar' : 'line',
          data: {
            labels: props.labels,
            datasets: props.series.map((s, i) => {
              const color = s.color ?? COLORS[i % COLORS.length]!;
              return { type: s.bar ? ('bar' as const) : ('line' as const), label: s.label, data: s.data, borderColor: color, backgroundColor: s.bar ? color : `${color}22`, pointRadius: 0, pointHitRadius: 6, borderWidth: 2, spanGaps: true, tension: 0.2, ...(s.dashed ? { borderDash: [6, 4] } : {}) };
            }),
          },
          options: {
            animation: false,
            responsive: true,
            maintainAspectRatio: false,
            indexAxis: props.horizontal ? 'y' : 'x',
            interaction: { mode: 'index', intersect: false },
            plugins: { legend: { display: props.series.length > 1, position: 'bottom' } },
            scales: {
              x: { stacked: props.stacked ?? false, ticks: { maxRotation: 0, autoSkipPadding: 12 }, grid: { display: false } },
              y: { stacked: props.stacked ?? false, beginAtZero: true, ...(props.yTitle ? { title: { display: true, text: props.yTitle } } : {}), ticks: { precision: 0 } },
            },
          },
        });
        setDrawn(true);
      },
      (err: unknown) => setFailed(err instanceof Error ? err.message : 'the chart could not be loaded'),
    );
    return () => {
      cancelled = true;
      chart?.destroy();
    };
    // The key stands for every prop the chart is drawn from.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  const points = props.series.reduce((n, s) => n + s.data.filter((v) => v !== null).length, 0);
  return (
    <div className="chart" data-chart={props.id} data-points={points} data-drawn={drawn ? 'yes' : 'no'}>
      {failed ? (
        <p className="error-text" role="alert">
          {failed}
        </p>
      ) : (
        <canvas ref={canvas} role="img" aria-label={props.summary} />
      )}
    </div>
  );
}

/** The window picker the dashboards share. */
export function RangePicker({ days, onChange }: { days: number; onChange: (days: number) => void }) {
  return (
    <div className="range" role="group" aria-label="Chart window">
      {[30, 90].map((d) => (
        <button key={d} type="button" aria-pressed={days === d} className={days === d ? 'primary' : undefined} onClick={() => onChange(d)}>
          {d} days
        </button>
      ))}
    </div>
  );
}

const last = <T,>(xs: T[]): T | undefined => xs[xs.length - 1];
const fmtSeconds = (s: number | null | undefined) => (s == null ? 'no data' : s < 120 ? `${s.toFixed(1)} s` : `${(s / 60).toFixed(1)} min`);

/** Clients and domains over time, new and cancelled clients, provisioning time and failed jobs: both dashboards show these. */
export function HistoryCharts({ series }: { series: HistoryDay[] }) {
  const labels = series.map((d) => shortDay(d.day));
  const first = series[0];
  const now = last(series);
  const provisioned = series.filter((d) => d.provisioned > 0);
  const failed = series.reduce((n, d) => n + d.failed_jobs, 0);
  return (
    <div className="grid two charts">
      <section className="card" aria-labelledby="chart-growth">
        <h2 id="chart-growth">Clients and domains</h2>
        <Chart
          id="growth"
          labels={labels}
          series={[
            { label: 'Live clients', data: series.map((d) => d.clients) },
            { label: 'Live domains', data: series.map((d) => d.domains), dashed: true },
          ]}
          summary={`Live clients went from ${first?.clients ?? 0} to ${now?.clients ?? 0}, live domains from ${first?.domains ?? 0} to ${now?.domains ?? 0}.`}
        />
      </section>
      <section className="card" aria-labelledby="chart-flow">
        <h2 id="chart-flow">New and cancelled clients per day</h2>
        <Chart
          id="flow"
          labels={labels}
          series={[
            { label: 'Created', data: series.map((d) => d.clients_created + d.clients_restored), bar: true, color: COLORS[1] },
            { label: 'Cancelled', data: series.map((d) => -d.clients_cancelled), bar: true, color: COLORS[2] },
          ]}
          stacked
          summary={`${series.reduce((n, d) => n + d.clients_created, 0)} clients created and ${series.reduce((n, d) => n + d.clients_cancelled, 0)} cancelled in the window.`}
        />
      </section>
      <section className="card" aria-labelledby="chart-provisioning">
        <h2 id="chart-provisioning">Provisioning time</h2>
        <Chart
          id="provisioning"
          labels={labels}
          yTitle="seconds"
          series={[
            { label: 'p50', data: series.map((d) => d.provisioning_p50_seconds) },
            { label: 'p99', data: series.map((d) => d.provisioning_p99_seconds), color: COLORS[3], dashed: true },
          ]}
          summary={`Time from a domain's creation to ready: ${provisioned.length} days with provisioned domains; latest median ${fmtSeconds(last(provisioned)?.provisioning_p50_seconds)}, p99 ${fmtSeconds(last(provisioned)?.provisioning_p99_seconds)}.`}
        />
      </section>
      <section className="card" aria-labelledby="chart-failed">
        <h2 id="chart-failed">Failed jobs per day</h2>
        <Chart id="failed" labels={labels} series={[{ label: 'Failed jobs', data: series.map((d) => d.failed_jobs), bar: true, color: COLORS[2] }]} summary={`${failed} jobs failed for good in the window and are still failed.`} />
      </section>
    </div>
  );
}
