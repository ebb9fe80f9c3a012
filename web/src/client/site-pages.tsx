import { useQuery } from '@tanstack/react-query';
import { api, must } from '../api/client';
import { SiteHosting } from '../shared/SiteHosting';
import { DataTable, ErrorState, Loading, StatusBadge } from '../ui';
import type { ClientSession, DatabaseService } from './types';

// A hosting site's own pages in the client area: its users, its database services and its use
// against its quotas. Read-only: users, databases and files are kept on the hosting node.

const NONE = '—';

/** Bytes as the panel shows sizes: MB up to a GB, then GB. */
function size(bytes: number | null): string {
  if (bytes === null) return NONE;
  const mb = bytes / 1024 ** 2;
  return mb >= 1024 ? `${Number((mb / 1024).toFixed(2))} GB` : `${Number(mb.toFixed(2))} MB`;
}

export function UsersPage() {
  const users = useQuery({ queryKey: ['client-site-users'], queryFn: () => must(api.GET('/client/v1/users')) });
  if (users.isPending) return <Loading />;
  if (users.isError) return <ErrorState error={users.error} retry={() => void users.refetch()} />;
  const v = users.data;
  const limited = v.max_users !== null && v.max_users > 0;
  return (
    <section>
      <h1>Users</h1>
      <div className="card">
        <p data-testid="users-limit">{limited ? `${v.users_count} of ${v.max_users} users` : `${v.users_count} users (no limit)`}</p>
        {limited && <meter min={0} max={v.max_users!} value={v.users_count} aria-label="Users against the limit" />}
        <p className="muted">The administrator does not count against the limit. Users are added on the hosting node; ask your provider for more.</p>
      </div>
      <h2 className="section-title">Users of this site</h2>
      <DataTable caption="The site's users" captionClass="visually-hidden" columns={['Login', 'Name', 'Role', 'State']}>
        {v.users.map((u) => (
          <tr key={u.id} data-user={u.login}>
            <td>{u.login}</td>
            <td>{u.name ?? ''}</td>
            <td>{u.role === 'client_admin' ? 'Administrator' : 'User'}</td>
            <td>
              <StatusBadge status={u.disabled ? 'disabled' : 'active'} />
            </td>
          </tr>
        ))}
      </DataTable>
    </section>
  );
}

function DatabaseCard({ title, service }: { title: string; service: DatabaseService }) {
  const on = service.enabled === null ? NONE : service.enabled ? 'Yes' : 'No';
  return (
    <div className="card" data-service={title}>
      <h2>{title}</h2>
      <dl className="creds">
        <dt>Enabled</dt>
        <dd>{on}</dd>
        <dt>Name prefix</dt>
        <dd>{service.prefix ? <code>{service.prefix}</code> : NONE}</dd>
        <dt>Database admin</dt>
        <dd>{service.admin ? <code>{service.admin}</code> : NONE}</dd>
        <dt>Most databases</dt>
        <dd>{service.max_databases ?? NONE}</dd>
      </dl>
    </div>
  );
}

export function DatabasesPage() {
  const dbs = useQuery({ queryKey: ['client-databases'], queryFn: () => must(api.GET('/client/v1/databases')) });
  return (
    <section>
      <h1>Databases</h1>
      <p className="muted">Databases are created and dropped on the hosting node; this page shows what your plan allows. Passwords are never shown here.</p>
      {dbs.isPending ? (
        <Loading />
      ) : dbs.isError ? (
        <ErrorState error={dbs.error} retry={() => void dbs.refetch()} />
      ) : (
        <div className="grid two">
          <DatabaseCard title="MySQL" service={dbs.data.mysql} />
          <DatabaseCard title="PostgreSQL" service={dbs.data.pgsql} />
        </div>
      )}
    </section>
  );
}

function Gauge({ label, testId, used, limit, unlimited }: { label: string; testId: string; used: number | null; limit: number | null; unlimited: boolean }) {
  const text = unlimited ? `${size(used)} used (no limit)` : `${size(used)} of ${size(limit)}`;
  return (
    <>
      <p data-testid={testId}>{text}</p>
      {used !== null && limit !== null && limit > 0 && <meter min={0} max={limit} value={Math.min(used, limit)} aria-label={label} />}
    </>
  );
}

export function UsagePage({ session }: { session: ClientSession }) {
  const usage = useQuery({ queryKey: ['client-usage'], queryFn: () => must(api.GET('/client/v1/usage')) });
  return (
    <section>
      <h1>Usage</h1>
      <p className="muted">
        Storage and transfer of <code>{session.sites.site}</code> against its plan. A dash means the value is not set or not measured yet. Files are managed on the hosting node.
      </p>
      {usage.isPending ? (
        <Loading />
      ) : usage.isError ? (
        <ErrorState error={usage.error} retry={() => void usage.refetch()} />
      ) : (
        <div className="grid two">
          <div className="card">
            <h2>Storage</h2>
            <Gauge label="Storage against the quota" testId="storage" used={usage.data.storage.used_bytes} limit={usage.data.storage.quota_bytes} unlimited={usage.data.storage.quota_bytes === 0} />
          </div>
          <div className="card">
            <h2>Transfer</h2>
            <Gauge label="Transfer against the threshold" testId="bandwidth" used={usage.data.bandwidth.used_bytes} limit={usage.data.bandwidth.threshold_bytes} unlimited={false} />
            {usage.data.bandwidth.enabled === false && <p className="muted">Transfer is not metered for this site.</p>}
          </div>
        </div>
      )}
      <SiteHosting queryKey={['client-usage-daily']} load={(days) => must(api.GET('/client/v1/usage/daily', { params: { query: { days: String(days) } } }))} />
    </section>
  );
}
