import { expect } from 'vitest';
import type { TestApp } from './test-app.js';

export interface AuditRow {
  id: number;
  occurred_at: string;
  actor_kind: string;
  actor_id: number | null;
  reseller_id: number | null;
  action: string;
  target_type: string;
  target_id: string;
  changes: Record<string, { before?: unknown; after?: unknown }>;
  request_id: string | null;
  source_ip: string | null;
}

const operator = (t: TestApp) => ({ authorization: `Bearer ${t.operatorKey}` });

/** One page of the operator's view of the log. */
export async function auditPage(t: TestApp, query = ''): Promise<{ events: AuditRow[]; next_before: number | null }> {
  const res = await t.app.server.inject({ method: 'GET', url: `/admin/v1/audit${query ? `?${query}` : ''}`, headers: operator(t) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

/** The newest event's id (0 on an empty log): a mark to read what a call wrote after it. */
export async function auditMark(t: TestApp): Promise<number> {
  return (await auditPage(t, 'limit=1')).events[0]?.id ?? 0;
}

/** Every event newer than `mark`, oldest first, read through the operator API page by page. */
export async function auditSince(t: TestApp, mark: number): Promise<AuditRow[]> {
  const out: AuditRow[] = [];
  let before: number | null = null;
  for (;;) {
    const page = await auditPage(t, `limit=500${before !== null ? `&before=${before}` : ''}`);
    const newer = page.events.filter((e) => e.id > mark);
    out.push(...newer);
    if (newer.length < page.events.length || page.next_before === null) break;
    before = page.next_before;
  }
  return out.reverse();
}

/** The single event a call wrote after `mark`; fails when there is none or more than one. */
export async function onlyEventSince(t: TestApp, mark: number): Promise<AuditRow> {
  const events = await auditSince(t, mark);
  expect(events.map((e) => e.action)).toHaveLength(1);
  return events[0]!;
}

/** The operator key createTestApp made: its creation is the log's system-made `operator_key.created` named "test". */
export async function testOperatorKeyId(t: TestApp): Promise<number> {
  const page = await auditPage(t, 'action=operator_key.created&actor_kind=system&limit=500');
  const created = page.events.find((e) => e.changes.name?.after === 'test');
  expect(created).toBeDefined();
  return Number(created!.target_id);
}
