import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../../api/client';
import { DataTable, Pager, QueryState, SearchBox, useCursors, When } from '../../ui';
import { hsp, type AuditEvent } from '../hsp';

const PAGE_SIZE = 50;

function changesText(e: AuditEvent): string {
  const entries = Object.entries(e.changes ?? {});
  if (entries.length === 0) return '';
  return entries
    .slice(0, 6)
    .map(([k, v]) => {
      const c = v as { before?: unknown; after?: unknown };
      const show = (x: unknown) => (typeof x === 'string' ? x : JSON.stringify(x));
      return 'before' in c ? `${k}: ${show(c.before)} → ${show(c.after)}` : `${k}: ${show(c.after)}`;
    })
    .join('; ');
}

/** The reseller's own audit trail, newest first, paged with the API's `before` cursor. */
export function AuditPage() {
  const [action, setAction] = useState('');
  const pages = useCursors();
  const before = pages.current;
  const page = useQuery({
    queryKey: ['reseller', 'audit', action, before],
    placeholderData: keepPreviousData,
    queryFn: () => hsp(api.GET('/v1/audit', { params: { query: { limit: String(PAGE_SIZE), ...(action ? { action } : {}), ...(before !== undefined ? { before: String(before) } : {}) } } })),
  });
  const filter = (text: string) => {
    setAction(text);
    pages.reset();
  };

  return (
    <section>
      <h1>Audit log</h1>
      <SearchBox label="Action" name="action" placeholder="e.g. client.created" button="Filter" onSearch={filter} />
      <QueryState query={page} isEmpty={(data) => data.events.length === 0} empty={action ? 'No events of this action.' : 'Nothing has happened yet.'}>
        {(data) => (
          <>
            <DataTable caption={`Audit events, page ${pages.cursors.length}`} columns={['When', 'Action', 'Target', 'By', 'Changes']} busy={page.isFetching}>
              {data.events.map((e) => (
                <tr key={e.id} data-event={e.action}>
                  <td>
                    <When at={e.occurred_at} />
                  </td>
                  <td className="nowrap">
                    <code>{e.action}</code>
                  </td>
                  <td>
                    {e.target_type} {e.target_id}
                  </td>
                  <td>{e.actor_kind}</td>
                  <td className="wrap small">{changesText(e)}</td>
                </tr>
              ))}
            </DataTable>
            <Pager cursors={pages.cursors} next={data.next_before} onBack={pages.back} onNext={() => pages.next(data.next_before)} />
          </>
        )}
      </QueryState>
    </section>
  );
}
