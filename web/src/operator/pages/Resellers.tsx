import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, must, type Reseller } from '../../api/client';
import { Confirm, Empty, ErrorState, Loading, StatusBadge } from '../../ui';

type Action = { kind: 'approve' | 'suspend' | 'activate'; reseller: Reseller };
const STATUSES = ['', 'pending', 'active', 'suspended'] as const;
type Status = (typeof STATUSES)[number];

export function ResellersPage() {
  const queryClient = useQueryClient();
  const initial = new URLSearchParams(window.location.search).get('status') ?? '';
  const [status, setStatus] = useState<Status>((STATUSES as readonly string[]).includes(initial) ? (initial as Status) : '');
  const [action, setAction] = useState<Action | null>(null);
  const [reason, setReason] = useState('');
  const [issued, setIssued] = useState<{ name: string; api_token: string; api_key: string } | null>(null);

  const list = useQuery({
    queryKey: ['resellers', status],
    queryFn: () => must(api.GET('/admin/v1/resellers', { params: { query: status ? { status } : {} } })),
  });

  const run = useMutation({
    mutationFn: async (a: Action) => {
      const params = { path: { id: String(a.reseller.id) } };
      if (a.kind === 'approve') {
        const approved = await must(api.POST('/admin/v1/resellers/{id}/approve', { params }));
        return { name: approved.name, api_token: approved.api_token, api_key: approved.api_key };
      }
      if (a.kind === 'suspend') await must(api.POST('/admin/v1/resellers/{id}/suspend', { params, body: reason ? { reason } : {} }));
      else await must(api.POST('/admin/v1/resellers/{id}/activate', { params }));
      return null;
    },
    onSuccess: (credentials) => {
      setAction(null);
      setReason('');
      if (credentials) setIssued(credentials);
      void queryClient.invalidateQueries({ queryKey: ['resellers'] });
      void queryClient.invalidateQueries({ queryKey: ['overview'] });
    },
  });

  const ask = (a: Action) => {
    run.reset();
    setAction(a);
  };

  return (
    <section>
      <h1>Resellers</h1>
      <div className="toolbar">
        <label>
          Status{' '}
          <select value={status} onChange={(e) => setStatus(e.target.value as Status)}>
            <option value="">all</option>
            <option value="pending">pending sign-ups</option>
            <option value="active">active</option>
            <option value="suspended">suspended</option>
          </select>
        </label>
      </div>
      {issued && (
        <div className="card notice" role="status">
          <h2>{issued.name} is approved</h2>
          <p>Give the reseller these credentials now: the key is not shown again.</p>
          <dl className="creds">
            <dt>API token</dt>
            <dd>
              <code data-testid="api-token">{issued.api_token}</code>
            </dd>
            <dt>API key</dt>
            <dd>
              <code data-testid="api-key">{issued.api_key}</code>
            </dd>
          </dl>
          <button type="button" onClick={() => setIssued(null)}>
            Done
          </button>
        </div>
      )}
      {list.isPending ? (
        <Loading />
      ) : list.isError ? (
        <ErrorState error={list.error} retry={() => void list.refetch()} />
      ) : list.data.length === 0 ? (
        <Empty>{status === 'pending' ? 'No sign-ups are waiting for approval.' : 'No resellers match.'}</Empty>
      ) : (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Resellers</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Username</th>
                <th scope="col">Email</th>
                <th scope="col">Status</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((r) => (
                <tr key={r.id} data-reseller={r.username}>
                  <td>{r.name}</td>
                  <td>
                    <code>{r.username}</code>
                  </td>
                  <td>{r.email_address}</td>
                  <td>
                    <StatusBadge status={r.status} />
                    {r.suspend_reason && <span className="muted"> {r.suspend_reason}</span>}
                  </td>
                  <td className="actions">
                    {r.status === 'pending' && (
                      <button type="button" className="primary" onClick={() => ask({ kind: 'approve', reseller: r })}>
                        Approve
                      </button>
                    )}
                    {r.status === 'active' && (
                      <button type="button" className="danger" onClick={() => ask({ kind: 'suspend', reseller: r })}>
                        Suspend
                      </button>
                    )}
                    {r.status === 'suspended' && (
                      <button type="button" onClick={() => ask({ kind: 'activate', reseller: r })}>
                        Activate
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Confirm
        open={action !== null}
        title={action ? `${action.kind === 'approve' ? 'Approve' : action.kind === 'suspend' ? 'Suspend' : 'Activate'} ${action.reseller.name}?` : ''}
        confirmLabel={action?.kind === 'approve' ? 'Approve' : action?.kind === 'suspend' ? 'Suspend' : 'Activate'}
        danger={action?.kind === 'suspend'}
        busy={run.isPending}
        onCancel={() => setAction(null)}
        onConfirm={() => action && run.mutate(action)}
      >
        {action?.kind === 'approve' && <p>The reseller gets an API token and key, shown once after approval.</p>}
        {action?.kind === 'suspend' && (
          <>
            <p>Every API call of this reseller will be refused until it is activated again.</p>
            <label>
              Reason (optional)
              <input value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} />
            </label>
          </>
        )}
        {action?.kind === 'activate' && <p>The reseller's API calls will work again.</p>}
        {run.isError && (
          <p role="alert" className="alert">
            {run.error.message}
          </p>
        )}
      </Confirm>
    </section>
  );
}
