import { useMutation, useQueries, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../../api/client';
import { Link, navigate } from '../../router';
import { SiteHosting } from '../../shared/SiteHosting';
import { Confirm, CopyButton, DataTable, ErrorState, Loading, StatusBadge } from '../../ui';
import { hsp, RESELLER, type DomainStatus } from '../hsp';

const POLL_MS = 3_000;

/**
 * One client: where its site is served and what it uses per day, its domains with the MX records to
 * publish, "log in as client", edit and cancel.
 */
export function ClientDetailPage({ id }: { id: number }) {
  const queryClient = useQueryClient();
  const path = { params: { path: { id: String(id) } } };
  const client = useQuery({ queryKey: ['reseller', 'client', id], queryFn: () => hsp(api.GET('/v1/clients/{id}', path)) });
  const names = client.data?.domains.map((d) => d.name) ?? [];
  // Each domain's badge updates live: a domain still being set up is asked about every few seconds
  // until the relay has it (ready) or gave up (unknown).
  const statuses = useQueries({
    queries: names.map((name) => ({
      queryKey: ['reseller', 'domain-status', name],
      queryFn: () => hsp(api.GET('/v1/domains/{domain_name}/status', { params: { path: { domain_name: name } } })),
      refetchInterval: (query: { state: { data?: { status: DomainStatus } } }) => (query.state.data?.status === 'initializing' ? POLL_MS : false),
    })),
  });
  const [confirmCancel, setConfirmCancel] = useState(false);
  const [link, setLink] = useState<string | null>(null);

  const cancel = useMutation({
    mutationFn: () => hsp(api.DELETE('/v1/clients/{id}', path)),
    onSuccess: () => {
      setConfirmCancel(false);
      queryClient.removeQueries({ queryKey: ['reseller', 'client', id] });
      void queryClient.invalidateQueries({ queryKey: ['reseller', 'clients'] });
      navigate(RESELLER);
    },
  });

  const loginAs = useMutation({
    mutationFn: async () => {
      // The tab opens now, while the click still counts as the user's; the one-minute link follows.
      const tab = window.open('', '_blank');
      try {
        const t = await hsp(api.GET('/v1/clients/{id}/auth_token', path));
        const url = `${t.protocol}://${t.login_hostname}${t.path}`;
        if (tab) {
          tab.opener = null;
          tab.location.href = url;
        }
        return url;
      } catch (e) {
        tab?.close();
        throw e;
      }
    },
    onSuccess: (url) => setLink(url),
  });

  if (client.isPending) return <Loading />;
  if (client.isError) return <ErrorState error={client.error} retry={() => void client.refetch()} />;
  const c = client.data;
  const title = c.name || `Client #${c.id}`;

  return (
    <section>
      <p className="crumbs">
        <Link to={RESELLER}>Clients</Link> › {title}
      </p>
      <div className="heading-row">
        <h1>{title}</h1>
        <div className="actions">
          <Link to={`${RESELLER}/clients/${c.id}/edit`} className="button">
            Edit
          </Link>
          <button type="button" onClick={() => loginAs.mutate()} disabled={loginAs.isPending}>
            {loginAs.isPending ? 'Opening…' : 'Log in as client'}
          </button>
          <button type="button" className="danger" onClick={() => (cancel.reset(), setConfirmCancel(true))}>
            Cancel client
          </button>
        </div>
      </div>
      {loginAs.isError && (
        <p role="alert" className="alert">
          {loginAs.error.message}
        </p>
      )}
      {link && (
        <p className="notice" role="status">
          A login link for the client's admin opened in a new tab. It works once, within a minute:{' '}
          <a href={link} target="_blank" rel="noopener noreferrer">
            open it again
          </a>
          .
        </p>
      )}
      <dl className="facts card">
        <dt>Package</dt>
        <dd>{c.package_uid ?? '—'}</dd>
        <dt>Users</dt>
        <dd>{c.user_count}</dd>
        <dt>Contact</dt>
        <dd>{c.email_address ?? '—'}</dd>
      </dl>
      <SiteHosting queryKey={['reseller', 'client-usage', id]} load={(days) => hsp(api.GET('/v1/clients/{id}/usage', { params: { path: { id: String(id) }, query: { days: String(days) } } }))} />
      <h2>Domains and the MX records to publish</h2>
      <p className="muted">Publish these MX records at each domain's DNS host; mail then flows through the relays to the mail servers listed.</p>
      {c.domains.map((d, i) => {
        const s = statuses[i];
        return (
          <article key={d.name} className="card domain-card" data-domain={d.name} aria-labelledby={`domain-${i}`}>
            <h3 id={`domain-${i}`}>
              <code>{d.name}</code> {s?.data ? <StatusBadge status={s.data.status} /> : s?.isError ? <span className="muted">status unavailable</span> : <span className="muted">checking…</span>}
            </h3>
            <DataTable caption={`MX records for ${d.name}`} columns={['Type', 'Priority', 'Mail server (value)']}>
              {d.mx_records.map((mx) => (
                <tr key={mx.hostname}>
                  <td>MX</td>
                  <td>{mx.priority}</td>
                  <td>
                    <code>{mx.hostname}</code>
                    <CopyButton value={mx.hostname} />
                  </td>
                </tr>
              ))}
            </DataTable>
            <p className="muted">
              Delivers to: {d.mail_servers.length ? d.mail_servers.map((m) => <code key={m}>{m}</code>) : 'the package default'}
            </p>
          </article>
        );
      })}
      <Confirm
        open={confirmCancel}
        title={`Cancel ${title}?`}
        confirmLabel="Cancel client, stop mail"
        danger
        busy={cancel.isPending}
        onCancel={() => setConfirmCancel(false)}
        onConfirm={() => cancel.mutate()}
      >
        <p className="warning">
          <strong>Mail stops.</strong> The relays stop accepting mail for {c.domains.map((d) => d.name).join(', ')} as soon as the client is cancelled; mail sent to these domains is refused until their MX records point elsewhere.
        </p>
        <p>The domains are released and the client's admin can no longer log in. Only your provider can restore a cancelled client.</p>
        {cancel.isError && (
          <p role="alert" className="alert">
            {cancel.error.message}
          </p>
        )}
      </Confirm>
    </section>
  );
}
