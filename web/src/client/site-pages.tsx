import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, must } from '../api/client';
import { SiteHosting } from '../shared/SiteHosting';
import { Confirm, DataTable, ErrorState, Loading, StatusBadge } from '../ui';
import type { ClientSession, DatabaseService } from './types';

// A hosting site's own pages in the client area: its users, its databases and its use against its
// quotas. Databases are created and dropped here (their database server makes them); users and
// files are kept on the hosting node.

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

type DbEngine = 'mysql' | 'pgsql';

function CreateDatabase({ engine, service }: { engine: DbEngine; service: DatabaseService }) {
  const queryClient = useQueryClient();
  const [suffix, setSuffix] = useState('');
  const create = useMutation({
    mutationFn: (name: string) => must(api.POST('/client/v1/databases', { body: { engine, name } })),
    onSuccess: () => setSuffix(''),
    // A refusal also reloads the list: beyond dbasenum or a taken name means another session changed
    // it, and the page should show what the refusal is about.
    onSettled: () => void queryClient.invalidateQueries({ queryKey: ['client-databases'] }),
  });
  const full = service.max_databases !== null && service.databases.length >= service.max_databases;
  return (
    <form
      className="inline-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (suffix) create.mutate(`${service.prefix ?? ''}${suffix}`);
      }}
    >
      <label>
        New database <code>{service.prefix}</code>
        <input name={`${engine}-name`} value={suffix} onChange={(e) => setSuffix(e.target.value)} pattern="[A-Za-z0-9_]+" disabled={full} required />
      </label>
      <button type="submit" disabled={full || create.isPending}>
        Create
      </button>
      {full && <p className="muted">This site has as many databases as it may have; drop one first.</p>}
      {create.isError && <ErrorState error={create.error} />}
    </form>
  );
}

function DatabaseCard({ title, engine, service }: { title: string; engine: DbEngine; service: DatabaseService }) {
  const queryClient = useQueryClient();
  const [dropping, setDropping] = useState<string | null>(null);
  const drop = useMutation({
    mutationFn: (name: string) => must(api.DELETE('/client/v1/databases/{engine}/{name}', { params: { path: { engine, name } } })),
    onSuccess: () => setDropping(null),
    // As for a create: a refused drop (another session dropped it first, say) means the list is old.
    onSettled: () => void queryClient.invalidateQueries({ queryKey: ['client-databases'] }),
  });
  // Each dialog starts without the last one's error.
  const ask = (name: string) => {
    drop.reset();
    setDropping(name);
  };
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
        <dd>{service.max_databases ?? 'no limit'}</dd>
        <dt>Size</dt>
        <dd data-testid={`${engine}-size`}>{size(service.size_bytes)}</dd>
      </dl>
      {service.enabled && (
        <>
          <DataTable caption={`${title} databases`} captionClass="visually-hidden" columns={['Database', 'State', '']}>
            {service.databases.map((d) => (
              <tr key={d.name} data-database={d.name}>
                <td>
                  <code>{d.name}</code>
                </td>
                <td>
                  <StatusBadge status={d.state} />
                  {d.error && <p className="muted">{d.error}</p>}
                </td>
                <td>
                  <button type="button" className="danger" onClick={() => ask(d.name)}>
                    Drop
                  </button>
                </td>
              </tr>
            ))}
          </DataTable>
          <CreateDatabase engine={engine} service={service} />
        </>
      )}
      <Confirm open={dropping !== null} title={`Drop ${dropping ?? ''}?`} confirmLabel="Drop" danger busy={drop.isPending} onConfirm={() => dropping && drop.mutate(dropping)} onCancel={() => setDropping(null)}>
        <p>The database is dumped to the server's archives, then dropped. Ask your provider to restore it.</p>
        {drop.isError && <ErrorState error={drop.error} />}
      </Confirm>
    </div>
  );
}

export function DatabasesPage() {
  const dbs = useQuery({ queryKey: ['client-databases'], queryFn: () => must(api.GET('/client/v1/databases')), refetchInterval: (q) => (q.state.data && [q.state.data.mysql, q.state.data.pgsql].some((s) => s.databases.some((d) => d.state === 'pending')) ? 2000 : false) });
  return (
    <section>
      <h1>Databases</h1>
      <p className="muted">Databases are made on your site's database server; each name starts with the prefix. Sign in with the database admin and your database password, which is never shown here.</p>
      {dbs.isPending ? (
        <Loading />
      ) : dbs.isError ? (
        <ErrorState error={dbs.error} retry={() => void dbs.refetch()} />
      ) : (
        <div className="grid two">
          <DatabaseCard title="MySQL" engine="mysql" service={dbs.data.mysql} />
          <DatabaseCard title="PostgreSQL" engine="pgsql" service={dbs.data.pgsql} />
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
