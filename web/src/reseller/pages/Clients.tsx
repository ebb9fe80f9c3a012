import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../../api/client';
import { Link } from '../../router';
import { DomainBadges } from '../../shared/DomainBadges';
import { DataTable, Pager, QueryState, SearchBox, StatusBadge, useCursors } from '../../ui';
import { hsp, RESELLER, type ClientRow } from '../hsp';

const PAGE_SIZE = 25;
const POLL_MS = 3_000;

export const anyPending = (clients: readonly ClientRow[]) => clients.some((c) => c.domains.some((d) => d.status === 'initializing'));

/**
 * The reseller's clients, searched on the server and paged by keyset (`after`), so a page costs the
 * same with 10 or 10,000 clients.
 */
export function ClientsPage() {
  const [q, setQ] = useState('');
  const pages = useCursors();
  const after = pages.current;

  const page = useQuery({
    queryKey: ['reseller', 'clients', q, after],
    placeholderData: keepPreviousData,
    queryFn: () => hsp(api.GET('/v1/clients/search', { params: { query: { limit: String(PAGE_SIZE), ...(q ? { q } : {}), ...(after !== undefined ? { after: String(after) } : {}) } } })),
    // Domain badges update live: while any domain on this page is still being set up, the page is
    // asked for again every few seconds; once all are ready (or failed) polling stops.
    refetchInterval: (query) => (query.state.data && anyPending(query.state.data.clients) ? POLL_MS : false),
  });


  return (
    <section>
      <div className="heading-row">
        <h1>Clients</h1>
        <Link to={`${RESELLER}/clients/new`} className="button primary">
          New client
        </Link>
      </div>
      <SearchBox
        label="Search"
        name="q"
        placeholder="name, email or domain"
        onSearch={(text) => {
          setQ(text);
          pages.reset();
        }}
      />
      <QueryState query={page} isEmpty={(data) => data.clients.length === 0} empty={q ? 'No clients match this search.' : 'You have no clients yet. Create the first one with “New client”.'}>
        {(data) => (
          <>
            <DataTable caption={`Clients, page ${pages.cursors.length}`} columns={['#', 'Name', 'Email', 'Package', 'Users', 'Domains']} busy={page.isFetching}>
              {data.clients.map((c) => (
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
                    <DomainBadges domains={c.domains} tagged />
                  </td>
                </tr>
              ))}
            </DataTable>
            <Pager cursors={pages.cursors} next={data.next_after} onBack={pages.back} onNext={() => pages.next(data.next_after)} />
          </>
        )}
      </QueryState>
    </section>
  );
}
