import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent, type ReactNode } from 'react';
import { api, must } from '../api/client';
import { Link } from '../router';
import { Confirm, CopyButton, DataTable, Empty, ErrorState, Loading, Pager, QueryState, SearchBox, StatusBadge } from '../ui';
import type { ClientSession, Domain, FamilyCode } from './types';

const PAGE_SIZE = 25;
const dateOf = (iso: string | null) => (iso ? new Date(iso).toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' }) : '');

/** Offset paging: the offsets of the pages visited, so "previous" pops and "next" pushes. */
function useOffsets() {
  const [offsets, setOffsets] = useState<number[]>([0]);
  return {
    offsets,
    offset: offsets[offsets.length - 1]!,
    reset: () => setOffsets([0]),
    back: () => setOffsets((o) => (o.length > 1 ? o.slice(0, -1) : o)),
    next: (n: number | null) => n !== null && setOffsets((o) => [...o, n]),
  };
}

function useDomains(search: string, offset: number, enabled = true) {
  return useQuery({
    queryKey: ['client-domains', search, offset],
    enabled,
    placeholderData: keepPreviousData,
    queryFn: () => must(api.GET('/client/v1/domains', { params: { query: { limit: String(PAGE_SIZE), offset: String(offset), ...(search ? { search } : {}) } } })),
    // A new domain is initializing until the relay has it; keep its badge current until then.
    refetchInterval: (q) => (q.state.data?.domains.some((d) => d.status === 'initializing') ? 5_000 : false),
  });
}

export function OverviewPage({ session }: { session: ClientSession }) {
  // A suspended site's admin sees this page alone, without the figures the other pages would give.
  const open = session.suspension === null;
  const domains = useDomains('', 0, open && session.client.kind === 'site');
  const codes = useQuery({ queryKey: ['client-codes-counts'], queryFn: () => must(api.GET('/client/v1/family-codes', { params: { query: { limit: '1' } } })), enabled: open && session.client.has_owner });
  const c = session.client;
  if (!open) {
    return (
      <section>
        <h1>{c.name ?? `Account ${c.id}`}</h1>
        <div className="card">
          <dl className="creds">
            <dt>Status</dt>
            <dd>
              <StatusBadge status={c.status} />
            </dd>
            <dt>Site</dt>
            <dd>
              <code>{session.sites.site}</code>
            </dd>
            <dt>Signed in as</dt>
            <dd>{session.user.login}</dd>
          </dl>
        </div>
      </section>
    );
  }
  return (
    <section>
      <h1>{c.name ?? `Account ${c.id}`}</h1>
      <div className="grid two">
        <div className="card">
          <h2>Account</h2>
          <dl className="creds">
            <dt>Status</dt>
            <dd>
              <StatusBadge status={c.status} />
            </dd>
            <dt>Package</dt>
            <dd>{c.package?.name ?? 'none'}</dd>
            <dt>Site</dt>
            <dd>
              <code>{session.sites.site}</code>
            </dd>
            <dt>Signed in as</dt>
            <dd>{session.user.login}</dd>
          </dl>
        </div>
        {c.kind === 'site' ? (
          <div className="card">
            <h2>Domains</h2>
            {domains.isPending ? (
              <Loading />
            ) : domains.isError ? (
              <ErrorState error={domains.error} retry={() => void domains.refetch()} />
            ) : (
              <p data-count="domains">
                {domains.data.total} domain{domains.data.total === 1 ? '' : 's'}, {domains.data.domains.filter((d) => d.status === 'ready').length} ready.{' '}
                <Link to="/my/domains">MX records to publish</Link>
              </p>
            )}
          </div>
        ) : (
          <div className="card">
            <h2>SaaS instance</h2>
            <p>
              <Link to="/my/instance">Users, storage and add-ons</Link>
            </p>
          </div>
        )}
        <div className="card">
          <h2>Subscription</h2>
          {!c.has_owner ? (
            <p className="muted">No subscription is linked to this account.</p>
          ) : codes.isPending ? (
            <Loading />
          ) : codes.isError ? (
            <ErrorState error={codes.error} retry={() => void codes.refetch()} />
          ) : (
            <p>
              Family codes: {codes.data.counts.created ?? 0} to share, {codes.data.counts.accepted ?? 0} in use. <Link to="/my/subscription">Share codes</Link>
            </p>
          )}
        </div>
      </div>
    </section>
  );
}

function MxRecords({ domain }: { domain: Domain }) {
  if (domain.mx_records.length === 0) return <span className="muted">none</span>;
  return (
    <ul className="plain mx">
      {domain.mx_records.map((mx) => (
        <li key={mx.hostname}>
          <span className="mx-priority">{mx.priority}</span> <code>{mx.hostname}</code>
          <CopyButton value={mx.hostname} />
        </li>
      ))}
    </ul>
  );
}

/** Domains and Mail servers page through the same searchable list of domains; only the columns differ. */
function DomainList(props: { title: string; intro: ReactNode; caption?: string; columns: readonly string[]; row: (d: Domain) => ReactNode }) {
  const [search, setSearch] = useState('');
  const pages = useOffsets();
  const page = useDomains(search, pages.offset);
  return (
    <section>
      <h1>{props.title}</h1>
      {props.intro}
      <SearchBox
        label="Search domains"
        placeholder="part of a domain name"
        onSearch={(q) => {
          setSearch(q);
          pages.reset();
        }}
      />
      <QueryState query={page} isEmpty={(data) => data.domains.length === 0} empty={search ? `No domain matches “${search}”.` : 'This account has no domains yet.'}>
        {(data) => (
          <>
            <DataTable caption={props.caption} captionClass="visually-hidden" columns={props.columns}>
              {data.domains.map(props.row)}
            </DataTable>
            <Pager cursors={pages.offsets} next={data.next_offset} onBack={pages.back} onNext={() => pages.next(data.next_offset)} />
          </>
        )}
      </QueryState>
    </section>
  );
}

export function DomainsPage() {
  return (
    <DomainList
      title="Domains"
      intro={
        <p className="muted">
          Publish these MX records at your DNS host for each domain, in place of the current ones; mail then passes the filter before it reaches your mail servers. A domain is{' '}
          <StatusBadge status="initializing" /> until the filter is set up for it, then <StatusBadge status="ready" />.
        </p>
      }
      caption="Domains and their MX records"
      columns={['Domain', 'Status', 'MX records (priority, host)']}
      row={(d) => (
        <tr key={d.name} data-domain={d.name}>
          <td>{d.name}</td>
          <td>
            <StatusBadge status={d.status} />
          </td>
          <td>
            <MxRecords domain={d} />
          </td>
        </tr>
      )}
    />
  );
}

export function MailServersPage() {
  return (
    <DomainList
      title="Mail servers"
      intro={<p className="muted">Filtered mail for each domain is delivered to these servers. Your provider manages them: ask them to change a server.</p>}
      columns={['Domain', 'Mail servers']}
      row={(d) => (
        <tr key={d.name}>
          <td>{d.name}</td>
          <td>{d.mail_servers.length ? d.mail_servers.map((m) => <code key={m} className="domain">{m}</code>) : <span className="muted">none set</span>}</td>
        </tr>
      )}
    />
  );
}

const CODE_STATES: Record<FamilyCode['status'], string> = { created: 'Not used yet', accepted: 'In use', canceled: 'Cancelled' };

export function SubscriptionPage({ session }: { session: ClientSession }) {
  const subs = useQuery({ queryKey: ['client-subscriptions'], queryFn: () => must(api.GET('/client/v1/subscriptions')) });
  const [status, setStatus] = useState<'' | FamilyCode['status']>('');
  const [search, setSearch] = useState('');
  const pages = useOffsets();
  const codes = useQuery({
    queryKey: ['client-codes', status, search, pages.offset],
    placeholderData: keepPreviousData,
    enabled: session.client.has_owner,
    queryFn: () =>
      must(api.GET('/client/v1/family-codes', { params: { query: { limit: String(PAGE_SIZE), offset: String(pages.offset), ...(status ? { status } : {}), ...(search ? { search } : {}) } } })),
  });
  const queryClient = useQueryClient();
  const [cancelling, setCancelling] = useState<FamilyCode | null>(null);
  const [notice, setNotice] = useState('');
  const cancel = useMutation({
    mutationFn: (code: string) => must(api.POST('/client/v1/family-codes/{code}/cancel', { params: { path: { code } } })),
    onSuccess: (out) => {
      setCancelling(null);
      setNotice(out.new_code ? `Code ${out.code} is deactivated and its holder's access has ended; a new code, ${out.new_code}, takes its place.` : `Code ${out.code} is deactivated.`);
      void queryClient.invalidateQueries({ queryKey: ['client-codes'] });
      void queryClient.invalidateQueries({ queryKey: ['client-codes-counts'] });
    },
  });
  if (!session.client.has_owner) {
    return (
      <section>
        <h1>Subscription</h1>
        <Empty>No subscription is linked to this account. If you bought one, ask your provider to link it.</Empty>
      </section>
    );
  }
  return (
    <section>
      <h1>Subscription</h1>
      {subs.isPending ? (
        <Loading />
      ) : subs.isError ? (
        <ErrorState error={subs.error} retry={() => void subs.refetch()} />
      ) : subs.data.subscriptions.length === 0 ? (
        <Empty>No subscriptions yet.</Empty>
      ) : (
        <DataTable columns={['Subscription', 'From', 'Until', 'State']}>
          {subs.data.subscriptions.map((s) => (
            <tr key={s.id}>
              <td>{s.code}</td>
              <td>{dateOf(s.start_time)}</td>
              <td>{dateOf(s.end_time)}</td>
              <td>
                <StatusBadge status={s.running ? 'active' : new Date(s.start_time) > new Date() ? 'pending' : 'ended'} />
              </td>
            </tr>
          ))}
        </DataTable>
      )}

      <h2 className="section-title">Family codes to share</h2>
      <p className="muted">
        Send a link to a colleague or family member: opening it lets them sign in or register and get their own subscription. Each code works once.
        {codes.data && ` ${codes.data.counts.created ?? 0} not used yet, ${codes.data.counts.accepted ?? 0} in use, ${codes.data.counts.canceled ?? 0} cancelled.`}
      </p>
      {notice && (
        <p role="status" className="notice">
          {notice}
        </p>
      )}
      <SearchBox
        label="Search codes"
        placeholder="start of a code, or an email"
        onSearch={(q) => {
          setSearch(q);
          pages.reset();
        }}
      >
        <label>
          State
          <select
            value={status}
            onChange={(e) => {
              setStatus(e.target.value as typeof status);
              pages.reset();
            }}
          >
            <option value="">any</option>
            {Object.entries(CODE_STATES).map(([k, v]) => (
              <option key={k} value={k}>
                {v}
              </option>
            ))}
          </select>
        </label>
      </SearchBox>
      {codes.isPending ? (
        <Loading />
      ) : codes.isError ? (
        <ErrorState error={codes.error} retry={() => void codes.refetch()} />
      ) : codes.data.codes.length === 0 ? (
        <Empty>{search || status ? 'No code matches.' : 'This subscription has no family codes.'}</Empty>
      ) : (
        <>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Code</th>
                  <th scope="col">For</th>
                  <th scope="col">State</th>
                  <th scope="col">Activation link</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {codes.data.codes.map((c) => (
                  <tr key={c.code} data-code={c.code}>
                    <td>
                      <code>{c.code}</code>
                    </td>
                    <td>{c.subscription_type_name}</td>
                    <td>
                      <span className={`badge code-${c.status}`}>{CODE_STATES[c.status]}</span>
                      {c.activated_by && <span className="muted"> by {c.activated_by}</span>}
                      {c.accepted_at && <span className="muted"> since {dateOf(c.accepted_at)}</span>}
                    </td>
                    <td>
                      {c.status === 'created' ? (
                        <>
                          <a href={c.activation_url} className="activation-link">
                            {c.activation_url}
                          </a>
                          <CopyButton value={c.activation_url} label="Copy link" />
                        </>
                      ) : (
                        <span className="muted">used up</span>
                      )}
                    </td>
                    <td className="actions">
                      {c.status !== 'canceled' && (
                        <button type="button" onClick={() => (cancel.reset(), setCancelling(c))} aria-label={`Deactivate code ${c.code}`}>
                          Deactivate
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager cursors={pages.offsets} next={codes.data.next_offset} onBack={pages.back} onNext={() => pages.next(codes.data.next_offset)} />
        </>
      )}
      <Confirm
        open={cancelling !== null}
        title="Deactivate this family code?"
        confirmLabel="Deactivate"
        danger
        busy={cancel.isPending}
        onConfirm={() => cancelling && cancel.mutate(cancelling.code)}
        onCancel={() => setCancelling(null)}
      >
        {cancelling?.status === 'accepted' ? (
          <p>
            <strong>{cancelling.activated_by ?? 'Its holder'}</strong> loses the subscription at once. A new code takes its place, to share with someone else.
          </p>
        ) : (
          <p>Nobody will be able to activate it any more.</p>
        )}
        {cancel.error && (
          <p role="alert" className="alert">
            {cancel.error.message}
          </p>
        )}
      </Confirm>
    </section>
  );
}

export function InstancePage() {
  const queryClient = useQueryClient();
  const view = useQuery({ queryKey: ['client-instance'], queryFn: () => must(api.GET('/client/v1/instance')) });
  const [form, setForm] = useState({ login: '', name: '', password: '' });
  const add = useMutation({
    mutationFn: () => must(api.POST('/client/v1/instance/users', { body: { login: form.login, password: form.password, ...(form.name ? { name: form.name } : {}) } })),
    onSuccess: () => {
      setForm({ login: '', name: '', password: '' });
      void queryClient.invalidateQueries({ queryKey: ['client-instance'] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    add.mutate();
  };
  if (view.isPending) return <Loading />;
  if (view.isError) return <ErrorState error={view.error} retry={() => void view.refetch()} />;
  const v = view.data;
  const full = v.max_users > 0 && v.users_count >= v.max_users;
  const pct = (used: number, limit: number) => (limit > 0 ? Math.min(100, Math.round((used / limit) * 100)) : 0);
  return (
    <section>
      <h1>{v.name ?? `Instance ${v.id}`}</h1>
      <div className="grid two">
        <div className="card">
          <h2>Users</h2>
          <p data-testid="users-count">{v.max_users > 0 ? `${v.users_count} of ${v.max_users} users` : `${v.users_count} users (no limit)`}</p>
          {v.max_users > 0 && <meter min={0} max={v.max_users} value={v.users_count} aria-label="Users against the limit" />}
          <p className="muted">The administrator does not count against the limit.</p>
        </div>
        <div className="card">
          <h2>Storage</h2>
          <p data-testid="storage">{v.usage.limit_mb > 0 ? `${v.usage.used_mb} MB of ${v.usage.limit_mb} MB (${pct(v.usage.used_mb, v.usage.limit_mb)}%)` : `${v.usage.used_mb} MB (no limit)`}</p>
          {v.usage.limit_mb > 0 && <meter min={0} max={v.usage.limit_mb} value={v.usage.used_mb} aria-label="Storage against the limit" />}
          {v.usage.exceeded && <p className="alert">Over the storage limit.</p>}
        </div>
      </div>
      <h2 className="section-title">Users and their groups</h2>
      <DataTable columns={['Login', 'Name', 'Groups']}>
        {v.users.map((u) => (
          <tr key={u.id ?? `instance:${u.login}`}>
            <td>
              {u.login}
              {u.role === 'client_admin' && <span className="muted"> (administrator)</span>}
            </td>
            <td>{u.name}</td>
            <td>{u.groups.length ? u.groups.map((g) => <span key={g} className="badge group">{v.groups[g] ?? g}</span>) : <span className="muted">none</span>}</td>
          </tr>
        ))}
      </DataTable>
      <form className="card add-user" onSubmit={submit} aria-labelledby="add-user-title">
        <h2 id="add-user-title">Add a user</h2>
        {full && <p className="muted">The instance has as many users as it may have ({v.max_users}); ask your provider for more.</p>}
        {add.error && (
          <p role="alert" className="alert">
            {add.error.message}
          </p>
        )}
        {add.isSuccess && <p role="status" className="notice">User {add.data.login} added.</p>}
        <div className="toolbar">
          <label>
            Login
            <input required value={form.login} onChange={(e) => setForm({ ...form, login: e.target.value })} autoComplete="off" />
          </label>
          <label>
            Name
            <input value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} autoComplete="off" />
          </label>
          <label>
            Password
            <input type="password" required value={form.password} onChange={(e) => setForm({ ...form, password: e.target.value })} autoComplete="new-password" />
          </label>
          <button type="submit" className="primary" disabled={add.isPending || full}>
            Add user
          </button>
        </div>
      </form>
      <h2 className="section-title">Add-ons</h2>
      {v.modules.length ? (
        <ul className="plain">
          {v.modules.map((m) => (
            <li key={m}>
              <code>{m}</code>
            </li>
          ))}
        </ul>
      ) : (
        <Empty>No add-ons installed.</Empty>
      )}
    </section>
  );
}
