import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import { Empty, ErrorState, Loading, Pager } from '../../ui';
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
  const [text, setText] = useState('');
  const [action, setAction] = useState('');
  const [cursors, setCursors] = useState<(number | undefined)[]>([undefined]);
  const before = cursors[cursors.length - 1];
  const page = useQuery({
    queryKey: ['reseller', 'audit', action, before],
    placeholderData: keepPreviousData,
    queryFn: () => hsp(api.GET('/v1/audit', { params: { query: { limit: String(PAGE_SIZE), ...(action ? { action } : {}), ...(before !== undefined ? { before: String(before) } : {}) } } })),
  });
  const filter = (e: FormEvent) => {
    e.preventDefault();
    setAction(text.trim());
    setCursors([undefined]);
  };

  return (
    <section>
      <h1>Audit log</h1>
      <form className="toolbar" role="search" onSubmit={filter}>
        <label>
          Action{' '}
          <input type="search" name="action" placeholder="e.g. client.created" value={text} onChange={(e) => setText(e.target.value)} />
        </label>
        <button type="submit">Filter</button>
      </form>
      {page.isPending ? (
        <Loading />
      ) : page.isError ? (
        <ErrorState error={page.error} retry={() => void page.refetch()} />
      ) : page.data.events.length === 0 ? (
        <Empty>{action ? 'No events of this action.' : 'Nothing has happened yet.'}</Empty>
      ) : (
        <>
          <div className="table-wrap" aria-busy={page.isFetching}>
            <table>
              <caption className="sr-only">Audit events, page {cursors.length}</caption>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Action</th>
                  <th scope="col">Target</th>
                  <th scope="col">By</th>
                  <th scope="col">Changes</th>
                </tr>
              </thead>
              <tbody>
                {page.data.events.map((e) => (
                  <tr key={e.id} data-event={e.action}>
                    <td>
                      <time dateTime={e.occurred_at}>{new Date(e.occurred_at).toLocaleString()}</time>
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
              </tbody>
            </table>
          </div>
          <Pager cursors={cursors} next={page.data.next_before} onBack={() => setCursors((c) => c.slice(0, -1))} onNext={() => setCursors((c) => [...c, page.data.next_before ?? undefined])} />
        </>
      )}
    </section>
  );
}
