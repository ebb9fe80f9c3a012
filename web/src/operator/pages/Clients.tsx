import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, must } from '../../api/client';
import { Link } from '../../router';
import { DomainBadges } from '../../shared/DomainBadges';
import { NodeStatus } from '../../shared/SiteHosting';
import { DataTable, FilterSelect, Pager, QueryState, StatusBadge, useCursors } from '../../ui';

const PAGE_SIZE = 25;
const STATUSES = ['active', 'suspended', 'cancelled', 'deleted'] as const;
type Status = (typeof STATUSES)[number];

/**
 * Every reseller's clients, searched and filtered on the server and paged by keyset (`after`), so a
 * page costs the same with 10 or 10,000 clients. Earlier pages are the cursors we came through.
 * Each row shows the node serving the client's site, or "not placed".
 */
export function ClientsPage() {
  const [text, setText] = useState('');
  const initialInvoice = new URLSearchParams(window.location.search).get('invoice') ?? '';
  const [invoiceText, setInvoiceText] = useState(initialInvoice);
  const [filters, setFilters] = useState<{ q: string; status: Status | ''; reseller: string; plan: string; invoice: string }>({ q: '', status: '', reseller: '', plan: '', invoice: initialInvoice });
  const pages = useCursors();
  const after = pages.current;

  const resellers = useQuery({ queryKey: ['resellers', ''], queryFn: () => must(api.GET('/admin/v1/resellers', { params: { query: {} } })) });
  const packages = useQuery({ queryKey: ['packages'], queryFn: () => must(api.GET('/admin/v1/packages')) });
  const page = useQuery({
    queryKey: ['clients', filters, after],
    // Node health changes with time alone (a node that stops heartbeating).
    refetchInterval: 30_000,
    placeholderData: keepPreviousData,
    queryFn: () =>
      must(
        api.GET('/admin/v1/clients', {
          params: {
            query: {
              limit: String(PAGE_SIZE),
              ...(filters.q ? { q: filters.q } : {}),
              ...(filters.status ? { status: filters.status } : {}),
              ...(filters.reseller ? { reseller_id: filters.reseller } : {}),
              ...(filters.plan ? { package_uid: filters.plan } : {}),
              ...(filters.invoice ? { invoice: filters.invoice } : {}),
              ...(after !== undefined ? { after: String(after) } : {}),
            },
          },
        }),
      ),
  });

  const apply = (next: Partial<typeof filters>) => {
    setFilters((f) => ({ ...f, ...next }));
    pages.reset();
  };
  const search = (e: FormEvent) => {
    e.preventDefault();
    apply({ q: text.trim(), invoice: invoiceText.trim() });
  };
  const resellerName = new Map((resellers.data ?? []).map((r) => [r.id, r.name]));

  return (
    <section>
      <h1>Clients</h1>
      <form className="toolbar" role="search" onSubmit={search}>
        <label>
          Search{' '}
          <input type="search" name="q" placeholder="name, email or domain" value={text} onChange={(e) => setText(e.target.value)} />
        </label>
        <button type="submit">Search</button>
        <FilterSelect label="Status" value={filters.status} onChange={(v) => apply({ status: v })} options={STATUSES} />
        <FilterSelect label="Reseller" value={filters.reseller} onChange={(v) => apply({ reseller: v })} options={(resellers.data ?? []).map((r) => ({ value: String(r.id), label: r.name }))} />
        <FilterSelect label="Package" value={filters.plan} onChange={(v) => apply({ plan: v })} options={(packages.data ?? []).map((p) => ({ value: p.uid, label: p.name }))} />
        <label>
          Account group (invoice){' '}
          <input type="text" name="invoice" placeholder="invoice" value={invoiceText} onChange={(e) => setInvoiceText(e.target.value)} />
        </label>
      </form>
      <QueryState
        query={page}
        isEmpty={(data) => data.clients.length === 0}
        empty={filters.q || filters.status || filters.reseller || filters.plan || filters.invoice ? 'No clients match these filters.' : 'There are no clients yet.'}
      >
        {(data) => (
          <>
            <DataTable caption={`Clients, page ${pages.cursors.length}`} columns={['#', 'Name', 'Email', 'Reseller', 'Package', 'Domains', 'Status', 'Node']} busy={page.isFetching}>
              {data.clients.map((c) => (
                <tr key={c.id} data-client={c.id}>
                  <td>{c.id}</td>
                  <td>
                    <Link to={`/sites/${c.id}`}>{c.name || `Client #${c.id}`}</Link>
                  </td>
                  <td>{c.email_address}</td>
                  <td>{c.reseller_id !== null ? (resellerName.get(c.reseller_id) ?? `#${c.reseller_id}`) : '—'}</td>
                  <td>{c.package_uid ?? '—'}</td>
                  <td>
                    <DomainBadges domains={c.domains} />
                  </td>
                  <td>
                    <StatusBadge status={c.status} />
                  </td>
                  <td>
                    <NodeStatus node={c.node} />
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
