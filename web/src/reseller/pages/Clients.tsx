import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import { Link } from '../../router';
import { Empty, ErrorState, Loading, Pager, StatusBadge } from '../../ui';
import { hsp, RESELLER, type ClientRow } from '../hsp';

const PAGE_SIZE = 25;
const POLL_MS = 3_000;

export const anyPending = (clients: readonly ClientRow[]) => clients.some((c) => c.domains.some((d) => d.status === 'initializing'));

/**
 * The reseller's clients, searched on the server and paged by keyset (`after`), so a page costs the
 * same with 10 or 10,000 clients.
 */
export function ClientsPage() {
  const [text, setText] = useState('');
  const [q, setQ] = useState('');
  const [cursors, setCursors] = useState<(number | undefined)[]>([undefined]);
  const after = cursors[cursors.length - 1];

  const page = useQuery({
    queryKey: ['reseller', 'clients', q, after],
    placeholderData: keepPreviousData,
    queryFn: () => hsp(api.GET('/v1/clients/search', { params: { query: { limit: String(PAGE_SIZE), ...(q ? { q } : {}), ...(after !== undefined ? { after: String(after) } : {}) } } })),
    // Domain badges update live: while any domain on this page is still being set up, the page is
    // asked for again every few seconds; once all are ready (or failed) polling stops.
    refetchInterval: (query) => (query.state.data && anyPending(query.state.data.clients) ? POLL_MS : false),
  });

  const search = (e: FormEvent) => {
    e.preventDefault();
    setQ(text.trim());
    setCursors([undefined]);
  };

  return (
    <section>
      <div className="heading-row">
        <h1>Clients</h1>
        <Link to={`${RESELLER}/clients/new`} className="button primary">
          New client
        </Link>
      </div>
      <form className="toolbar" role="search" onSubmit={search}>
        <label>
          Search{' '}
          <input type="search" name="q" placeholder="name, email or domain" value={text} onChange={(e) => setText(e.target.value)} />
        </label>
        <button type="submit">Search</button>
      </form>
      {page.isPending ? (
        <Loading />
      ) : page.isError ? (
        <ErrorState error={page.error} retry={() => void page.refetch()} />
      ) : page.data.clients.length === 0 ? (
        <Empty>{q ? 'No clients match this search.' : 'You have no clients yet. Create the first one with “New client”.'}</Empty>
      ) : (
        <>
          <div className="table-wrap" aria-busy={page.isFetching}>
            <table>
              <caption className="sr-only">Clients, page {cursors.length}</caption>
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">Name</th>
                  <th scope="col">Email</th>
                  <th scope="col">Package</th>
                  <th scope="col">Users</th>
                  <th scope="col">Domains</th>
                </tr>
              </thead>
              <tbody>
                {page.data.clients.map((c) => (
                  <tr key={c.id} data-client={c.id}>
                    <td>{c.id}</td>
                    <td>
                      <Link to={`${RESELLER}/clients/${c.id}`}>{c.name || `Client #${c.id}`}</Link>
                      {c.status !== 'active' && (
                        <>
                          {' '}
                          <StatusBadge status={c.status} />
                        </>
                      )}
                    </td>
                    <td>{c.email_address ?? '—'}</td>
                    <td>{c.package_uid ?? '—'}</td>
                    <td>{c.user_count}</td>
                    <td>
                      {c.domains.map((d) => (
                        <span key={d.name} className="domain" data-domain={d.name}>
                          <code>{d.name}</code> <StatusBadge status={d.status} />
                        </span>
                      ))}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager cursors={cursors} next={page.data.next_after} onBack={() => setCursors((c) => c.slice(0, -1))} onNext={() => setCursors((c) => [...c, page.data.next_after ?? undefined])} />
        </>
      )}
    </section>
  );
}
