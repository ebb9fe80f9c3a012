import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, must } from '../../api/client';
import type { paths } from '../../../generated/schema';
import { DataTable, FilterSelect, Pager, QueryState, useCursors, When } from '../../ui';

type Query = NonNullable<paths['/admin/v1/audit']['get']['parameters']['query']>;
type TargetType = NonNullable<Query['target_type']>;
type ActorKind = NonNullable<Query['actor_kind']>;
type Action = NonNullable<Query['action']>;

const ACTOR_KINDS: ActorKind[] = ['operator', 'reseller', 'user', 'system', 'public'];
const TARGET_TYPES: TargetType[] = ['client', 'domain', 'reseller', 'package', 'feature', 'operator_key', 'job', 'catalog', 'user', 'webhook', 'webhook_delivery', 'scope', 'api_token', 'subscription_type', 'family_type', 'payment', 'subscription', 'family_request'];
const COMMON_ACTIONS: Action[] = ['client.created', 'client.updated', 'client.cancelled', 'client.suspended', 'client.activated', 'client.deleted', 'reseller.approved', 'scope.set'];
const PAGE_SIZE = 50;

interface Filters {
  action: string;
  target_type: string;
  target_id: string;
  actor_kind: string;
  reseller_id: string;
}
const NONE: Filters = { action: '', target_type: '', target_id: '', actor_kind: '', reseller_id: '' };

/** The audit log of every door, newest first, filtered on the server and paged by `before`. */
export function AuditPage() {
  const [draft, setDraft] = useState<Filters>(NONE);
  const [filters, setFilters] = useState<Filters>(NONE);
  const pages = useCursors();
  const before = pages.current;

  const page = useQuery({
    queryKey: ['audit', filters, before],
    placeholderData: keepPreviousData,
    queryFn: () => {
      const query: Query = { limit: String(PAGE_SIZE) };
      if (filters.action) query.action = filters.action as Action;
      if (filters.target_type) query.target_type = filters.target_type as TargetType;
      if (filters.target_id) query.target_id = filters.target_id;
      if (filters.actor_kind) query.actor_kind = filters.actor_kind as ActorKind;
      if (filters.reseller_id) query.reseller_id = filters.reseller_id;
      if (before !== undefined) query.before = String(before);
      return must(api.GET('/admin/v1/audit', { params: { query } }));
    },
  });
  const set = (k: keyof Filters, v: string) => setDraft((d) => ({ ...d, [k]: v }));
  const apply = (e: FormEvent) => {
    e.preventDefault();
    setFilters({ ...draft, action: draft.action.trim(), target_id: draft.target_id.trim(), reseller_id: draft.reseller_id.trim() });
    pages.reset();
  };
  const filtered = Object.values(filters).some(Boolean);

  return (
    <section>
      <h1>Audit log</h1>
      <form className="toolbar" role="search" onSubmit={apply}>
        <label>
          Action{' '}
          <input list="audit-actions" value={draft.action} placeholder="e.g. client.created" onChange={(e) => set('action', e.target.value)} />
          <datalist id="audit-actions">
            {COMMON_ACTIONS.map((a) => (
              <option key={a} value={a} />
            ))}
          </datalist>
        </label>
        <FilterSelect label="Actor" anyLabel="anyone" value={draft.actor_kind} onChange={(v) => set('actor_kind', v)} options={ACTOR_KINDS} />
        <FilterSelect label="Target type" value={draft.target_type} onChange={(v) => set('target_type', v)} options={TARGET_TYPES} />
        <label>
          Target id{' '}
          <input value={draft.target_id} onChange={(e) => set('target_id', e.target.value)} />
        </label>
        <label>
          Reseller id{' '}
          <input inputMode="numeric" value={draft.reseller_id} onChange={(e) => set('reseller_id', e.target.value)} />
        </label>
        <button type="submit">Apply filters</button>
        {filtered && (
          <button type="button" className="link" onClick={() => (setDraft(NONE), setFilters(NONE), pages.reset())}>
            Clear
          </button>
        )}
      </form>
      <QueryState query={page} isEmpty={(data) => data.events.length === 0} empty={filtered ? 'No events match these filters.' : 'Nothing has been recorded yet.'}>
        {(data) => (
          <>
            <DataTable caption={`Audit events, newest first, page ${pages.cursors.length}`} columns={['When', 'Actor', 'Action', 'Target', 'Changes']} busy={page.isFetching}>
              {data.events.map((e) => (
                <tr key={e.id} data-event={e.id}>
                  <td>
                    <When at={e.occurred_at} />
                  </td>
                  <td>
                    {e.actor_kind}
                    {e.actor_id !== null && ` #${e.actor_id}`}
                    {e.source_ip && <span className="muted"> {e.source_ip}</span>}
                  </td>
                  <td>
                    <code>{e.action}</code>
                  </td>
                  <td>
                    {e.target_type} {e.target_id}
                    {e.reseller_id !== null && <span className="muted"> (reseller #{e.reseller_id})</span>}
                  </td>
                  <td>
                    <Changes changes={e.changes} />
                  </td>
                </tr>
              ))}
            </DataTable>
            <Pager cursors={pages.cursors} next={data.next_before} backLabel="Newer" nextLabel="Older" onBack={pages.back} onNext={() => pages.next(data.next_before)} />
          </>
        )}
      </QueryState>
    </section>
  );
}

const brief = (v: unknown) => (v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));

function Changes({ changes }: { changes: Record<string, { before?: unknown; after?: unknown }> }) {
  const entries = Object.entries(changes ?? {});
  if (entries.length === 0) return <span className="muted">—</span>;
  return (
    <details>
      <summary>
        {entries.length} field{entries.length === 1 ? '' : 's'}
      </summary>
      <ul className="plain changes">
        {entries.map(([field, c]) => (
          <li key={field}>
            <code>{field}</code>: {'before' in c && <span className="muted">{brief(c.before)} → </span>}
            {brief(c.after)}
          </li>
        ))}
      </ul>
    </details>
  );
}
