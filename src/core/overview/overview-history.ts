import { AppError } from '../../errors/app-error.js';
import { scopeOf, type Ctx, type TenantScope } from '../context.js';
import * as repo from './overview-history.repository.js';
import { HISTORY_DAYS, type HistoryDay, type OperatorHistory, type ResellerHistory } from './overview-history.schema.js';

const DAY_MS = 86_400_000;
const isoDay = (t: number): string => new Date(t).toISOString().slice(0, 10);
const TOP_RESELLERS = 8;

/** The window's length from a query value: whole days within HISTORY_DAYS, the fallback when absent. */
export function parseHistoryDays(raw: string | undefined): number {
  if (raw === undefined) return HISTORY_DAYS.fallback;
  const n = /^[0-9]{1,4}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= HISTORY_DAYS.min && n <= HISTORY_DAYS.max)) throw AppError.validation({ days: [`must be a whole number from ${HISTORY_DAYS.min} to ${HISTORY_DAYS.max}`] });
  return n;
}

interface Window {
  days: number;
  from: string;
  to: string;
  fromTime: Date;
  list: string[];
}

function windowOf(ctx: Ctx, days: number): Window {
  const today = Date.UTC(ctx.clock().getUTCFullYear(), ctx.clock().getUTCMonth(), ctx.clock().getUTCDate());
  const first = today - (days - 1) * DAY_MS;
  const list = Array.from({ length: days }, (_, i) => isoDay(first + i * DAY_MS));
  return { days, from: list[0]!, to: list[list.length - 1]!, fromTime: new Date(first), list };
}

function scopeFor(ctx: Ctx): TenantScope {
  const kind = ctx.actor.kind;
  if (kind !== 'operator' && kind !== 'system' && kind !== 'reseller') throw new AppError('forbidden', 'operators and resellers only');
  return scopeOf(ctx.actor);
}

/**
 * Walks today's totals back through the days' changes: the total at the end of a day is the next
 * day's end total minus that next day's net change. Changes dated after the window (a clock ahead of
 * ours) are taken off first.
 */
function walkBack(list: string[], now: number, netOf: (day: string) => number, later: number): Map<string, number> {
  const out = new Map<string, number>();
  let total = now - later;
  for (let i = list.length - 1; i >= 0; i--) {
    out.set(list[i]!, total);
    total -= netOf(list[i]!);
  }
  return out;
}

async function history(ctx: Ctx, scope: TenantScope, w: Window): Promise<{ series: HistoryDay[]; pending: Map<string, number> }> {
  // PGlite is one connection, so these run one after another there anyway.
  const changes = await repo.dailyChanges(ctx.db, scope, w.from);
  const totals = await repo.currentTotals(ctx.db, scope);
  const provisioning = await repo.provisioningByDay(ctx.db, scope, w.fromTime);
  const failed = await repo.failedJobsByDay(ctx.db, scope, w.fromTime);

  const byDay = new Map(changes.map((c) => [c.day, c]));
  const after = changes.filter((c) => c.day > w.to);
  const sum = (f: (c: repo.DailyChanges) => number, rows: repo.DailyChanges[]) => rows.reduce((a, c) => a + f(c), 0);
  const clientNet = (c: repo.DailyChanges) => c.clients_created + c.clients_restored - c.clients_cancelled;
  const domainNet = (c: repo.DailyChanges) => c.domains_added - c.domains_removed;
  const pendingNet = (c: repo.DailyChanges) => c.signups - c.signups_decided;
  const at = (f: (c: repo.DailyChanges) => number) => (day: string) => {
    const c = byDay.get(day);
    return c ? f(c) : 0;
  };
  const clients = walkBack(w.list, totals.clients, at(clientNet), sum(clientNet, after));
  const domains = walkBack(w.list, totals.domains, at(domainNet), sum(domainNet, after));
  const pending = walkBack(w.list, totals.pending, at(pendingNet), sum(pendingNet, after));
  const prov = new Map(provisioning.map((p) => [p.day, p]));
  const fails = new Map(failed.map((f) => [f.day, f.n]));
  const round = (s: number | undefined) => (s === undefined ? null : Math.round(s * 1000) / 1000);

  const series = w.list.map((day): HistoryDay => {
    const c = byDay.get(day);
    const p = prov.get(day);
    return {
      day,
      clients: clients.get(day)!,
      clients_created: c?.clients_created ?? 0,
      clients_cancelled: c?.clients_cancelled ?? 0,
      clients_restored: c?.clients_restored ?? 0,
      domains: domains.get(day)!,
      domains_added: c?.domains_added ?? 0,
      domains_removed: c?.domains_removed ?? 0,
      provisioned: p?.n ?? 0,
      provisioning_p50_seconds: round(p?.p50),
      provisioning_p99_seconds: round(p?.p99),
      failed_jobs: fails.get(day) ?? 0,
    };
  });
  return { series, pending };
}

/** A reseller's own clients, domains, provisioning times and failed jobs per day (an operator's: all). */
export async function getResellerHistory(ctx: Ctx, input: { days: number }): Promise<ResellerHistory> {
  const scope = scopeFor(ctx);
  const w = windowOf(ctx, input.days);
  const { series } = await history(ctx, scope, w);
  return { days: w.days, from: w.from, to: w.to, series };
}

/** The operator's charts: every tenant per day, sign-ups awaiting approval, and the top resellers' growth. */
export async function getOperatorHistory(ctx: Ctx, input: { days: number }): Promise<OperatorHistory> {
  if (ctx.actor.kind !== 'operator' && ctx.actor.kind !== 'system') throw new AppError('forbidden', 'operators only');
  const w = windowOf(ctx, input.days);
  const { series, pending } = await history(ctx, { all: true }, w);
  const top = await repo.topResellers(ctx.db, w.from, TOP_RESELLERS);
  return {
    days: w.days,
    from: w.from,
    to: w.to,
    series,
    pending_signups: w.list.map((day) => ({ day, pending: pending.get(day)! })),
    top_resellers: top.map((r) => ({ id: r.id, name: r.name, clients: r.clients, growth: r.growth })),
  };
}
