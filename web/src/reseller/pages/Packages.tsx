import { useQuery } from '@tanstack/react-query';
import { api } from '../../api/client';
import { DataTable, Empty, ErrorState, Loading } from '../../ui';
import { hsp } from '../hsp';

/** The packages this reseller may sell, with what each costs it and what it adds over the one before. */
export function PackagesPage() {
  const packages = useQuery({ queryKey: ['reseller', 'packages'], queryFn: () => hsp(api.GET('/v1/packages')) });
  return (
    <section>
      <h1>Packages</h1>
      {packages.isPending ? (
        <Loading />
      ) : packages.isError ? (
        <ErrorState error={packages.error} retry={() => void packages.refetch()} />
      ) : packages.data.length === 0 ? (
        <Empty>No packages are available to your account yet. Ask your provider to assign some.</Empty>
      ) : (
        <DataTable caption="Packages you may sell" columns={['Package', 'Cost per domain', 'Cost per mailbox', 'Users', 'Free trial', 'Features']}>
          {packages.data.map((p) => (
            <tr key={p.uid} data-package={p.uid}>
              <td>
                <strong>{p.name}</strong>
                <br />
                <code>{p.uid}</code>
                {p.description && <p className="muted small">{p.description}</p>}
              </td>
              <td>{p.reseller_cost.domain_formatted}</td>
              <td>{p.reseller_cost.mailbox_formatted}</td>
              <td>{p.max_users ?? 'no limit'}</td>
              <td>{p.free_trial > 0 ? `${p.free_trial} days` : '—'}</td>
              <td className="wrap">
                {p.features.length === 0 ? '—' : p.features.map((f) => f.name).join(', ')}
                {p.added_features.length > 0 && <p className="muted small">Adds: {p.added_features.map((f) => f.name).join(', ')}</p>}
              </td>
            </tr>
          ))}
        </DataTable>
      )}
    </section>
  );
}
