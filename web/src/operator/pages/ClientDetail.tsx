import { useQuery } from '@tanstack/react-query';
import { api, must } from '../../api/client';
import { Link } from '../../router';
import { DomainBadges } from '../../shared/DomainBadges';
import { SiteHosting } from '../../shared/SiteHosting';
import { ErrorState, Loading, StatusBadge } from '../../ui';
import { InstanceDatabaseCard } from './InstanceDatabase';

/**
 * One client of any reseller: its record, the hosting node serving its site (health, whether the
 * node applied its latest state, the node's error), a SaaS instance's database, and its storage and
 * transfer per day.
 */
export function ClientDetailPage({ id }: { id: number }) {
  const path = { params: { path: { id: String(id) } } };
  const client = useQuery({ queryKey: ['client', id], queryFn: () => must(api.GET('/admin/v1/clients/{id}', path)) });
  // The same list (and cache entry) the Clients page names resellers from.
  const resellers = useQuery({ queryKey: ['resellers', ''], queryFn: () => must(api.GET('/admin/v1/resellers', { params: { query: {} } })) });

  if (client.isPending) return <Loading />;
  if (client.isError) return <ErrorState error={client.error} retry={() => void client.refetch()} />;
  const c = client.data;
  const title = c.name || `Client #${c.id}`;
  return (
    <section>
      <p className="crumbs">
        <Link to="/clients">Clients</Link> › {title}
      </p>
      <h1>{title}</h1>
      <dl className="facts card">
        <dt>Client</dt>
        <dd>
          #{c.id} <StatusBadge status={c.status} />
        </dd>
        <dt>Reseller</dt>
        <dd>{c.reseller_id !== null ? (resellers.data?.find((r) => r.id === c.reseller_id)?.name ?? `#${c.reseller_id}`) : '—'}</dd>
        <dt>Package</dt>
        <dd>{c.package_uid ?? '—'}</dd>
        <dt>Contact</dt>
        <dd>{c.email_address ?? '—'}</dd>
        <dt>Domains</dt>
        <dd>
          <DomainBadges domains={c.domains} />
        </dd>
      </dl>
      {c.saas_instance && <InstanceDatabaseCard id={id} />}
      {c.status === 'active' || c.status === 'suspended' ? (
        <SiteHosting queryKey={['client-usage', id]} load={(days) => must(api.GET('/admin/v1/clients/{id}/usage', { params: { path: { id: String(id) }, query: { days: String(days) } } }))} />
      ) : (
        // The usage series is of live sites: a cancelled or deleted one is served nowhere.
        <p className="muted card">This client is {c.status}: its site is no longer served or metered.</p>
      )}
    </section>
  );
}
