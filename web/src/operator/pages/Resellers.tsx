import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, must, type Reseller } from '../../api/client';
import { ApiCredentials } from '../../shared/ApiCredentials';
import { Confirm, CopyButton, DataTable, Empty, ErrorState, FilterSelect, Loading, StatusBadge } from '../../ui';

type Kind = 'approve' | 'suspend' | 'activate' | 'rotate' | 'login' | 'host';
type Action = { kind: Kind; reseller: Reseller };
const STATUSES = ['', 'pending', 'active', 'suspended'] as const;
type Status = (typeof STATUSES)[number];

const TITLES: Record<Kind, string> = { approve: 'Approve', suspend: 'Suspend', activate: 'Activate', rotate: 'Issue a new key for', login: 'Set the console login of', host: 'Branded login host of' };
const CONFIRM: Record<Kind, string> = { approve: 'Approve', suspend: 'Suspend', activate: 'Activate', rotate: 'Issue new key', login: 'Save login', host: 'Save host' };

interface Issued {
  name: string;
  why: 'approved' | 'rotated';
  api_token: string;
  api_key: string;
  login: string | null;
}

export function ResellersPage() {
  const queryClient = useQueryClient();
  const initial = new URLSearchParams(window.location.search).get('status') ?? '';
  const [status, setStatus] = useState<Status>((STATUSES as readonly string[]).includes(initial) ? (initial as Status) : '');
  const [action, setAction] = useState<Action | null>(null);
  const [reason, setReason] = useState('');
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  const [host, setHost] = useState('');
  const [issued, setIssued] = useState<Issued | null>(null);
  const [saved, setSaved] = useState<string | null>(null);

  const list = useQuery({
    queryKey: ['resellers', status],
    queryFn: () => must(api.GET('/admin/v1/resellers', { params: { query: status ? { status } : {} } })),
  });

  const run = useMutation({
    mutationFn: async (a: Action): Promise<{ issued?: Issued; saved?: string }> => {
      const params = { path: { id: String(a.reseller.id) } };
      switch (a.kind) {
        case 'approve': {
          // Without a password the reseller signs in with its API token and key only.
          const body = password ? { password, ...(login.trim() ? { login: login.trim() } : {}) } : {};
          const r = await must(api.POST('/admin/v1/resellers/{id}/approve', { params, body }));
          return { issued: { name: r.name, why: 'approved', api_token: r.api_token, api_key: r.api_key, login: r.login } };
        }
        case 'rotate': {
          const r = await must(api.POST('/admin/v1/resellers/{id}/rotate-key', { params }));
          return { issued: { name: r.name, why: 'rotated', api_token: r.api_token, api_key: r.api_key, login: null } };
        }
        case 'login': {
          const r = await must(api.PUT('/admin/v1/resellers/{id}/login', { params, body: { login: login.trim(), password } }));
          return { saved: `${a.reseller.name} now signs in to the reseller console as ${r.login}.` };
        }
        case 'host': {
          const r = await must(api.PATCH('/admin/v1/resellers/{id}', { params, body: { login_hostname: host.trim() || null } }));
          return { saved: r.login_hostname ? `${r.name}'s clients now log in at ${r.login_hostname}.` : `${r.name} has no branded login host now.` };
        }
        case 'suspend':
          await must(api.POST('/admin/v1/resellers/{id}/suspend', { params, body: reason ? { reason } : {} }));
          return {};
        case 'activate':
          await must(api.POST('/admin/v1/resellers/{id}/activate', { params }));
          return {};
      }
    },
    onSuccess: (result) => {
      setAction(null);
      setReason('');
      setPassword('');
      setIssued(result.issued ?? null);
      setSaved(result.saved ?? null);
      void queryClient.invalidateQueries({ queryKey: ['resellers'] });
      void queryClient.invalidateQueries({ queryKey: ['overview'] });
    },
  });

  const ask = (a: Action) => {
    run.reset();
    setLogin(a.kind === 'approve' || a.kind === 'login' ? a.reseller.username : '');
    setPassword('');
    setHost(a.reseller.login_hostname ?? '');
    setAction(a);
  };

  return (
    <section>
      <h1>Resellers</h1>
      <div className="toolbar">
        <FilterSelect label="Status" anyLabel="all" value={status} onChange={setStatus} options={[{ value: 'pending', label: 'pending sign-ups' }, 'active', 'suspended']} />
      </div>
      {saved && (
        <p className="notice" role="status">
          {saved}
        </p>
      )}
      {issued && (
        <div className="card notice" role="status">
          <h2>{issued.why === 'approved' ? `${issued.name} is approved` : `${issued.name} has a new key`}</h2>
          <p>Give the reseller these credentials now: the key is not shown again.{issued.why === 'rotated' ? ' The old token and key have stopped working.' : ''}</p>
          <ApiCredentials token={issued.api_token} apiKey={issued.api_key}>
            <dt>Token:key</dt>
            <dd>
              <CopyButton value={`${issued.api_token}:${issued.api_key}`} label="Copy token:key" />
            </dd>
            {issued.login && (
              <>
                <dt>Console login</dt>
                <dd>
                  <code data-testid="console-login">{issued.login}</code> (with the password you set)
                </dd>
              </>
            )}
          </ApiCredentials>
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
        <DataTable caption="Resellers" columns={['Name', 'Username', 'Email', 'Login host', 'Status', 'Actions']}>
          {list.data.map((r) => (
            <tr key={r.id} data-reseller={r.username}>
              <td>{r.name}</td>
              <td>
                <code>{r.username}</code>
              </td>
              <td>{r.email_address}</td>
              <td>{r.login_hostname ? <code>{r.login_hostname}</code> : <span className="muted">—</span>}</td>
              <td>
                <StatusBadge status={r.status} />
                {r.suspend_reason && <span className="muted"> {r.suspend_reason}</span>}
              </td>
              <td className="actions">
                {r.status === 'pending' && (
                  <button type="button" className="primary" onClick={() => ask({ kind: 'approve', reseller: r })}>
                    Approve
                  </button>
                )}{' '}
                {r.status !== 'pending' && (
                  <>
                    <button type="button" onClick={() => ask({ kind: 'rotate', reseller: r })}>
                      New key
                    </button>{' '}
                    <button type="button" onClick={() => ask({ kind: 'login', reseller: r })}>
                      Set login
                    </button>{' '}
                  </>
                )}
                <button type="button" onClick={() => ask({ kind: 'host', reseller: r })}>
                  Login host
                </button>{' '}
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
        </DataTable>
      )}
      <Confirm
        open={action !== null}
        title={action ? `${TITLES[action.kind]} ${action.reseller.name}?` : ''}
        confirmLabel={action ? CONFIRM[action.kind] : ''}
        danger={action?.kind === 'suspend' || action?.kind === 'rotate'}
        busy={run.isPending}
        onCancel={() => setAction(null)}
        onConfirm={() => action && run.mutate(action)}
      >
        {action?.kind === 'approve' && (
          <>
            <p>The reseller gets an API token and key, shown once after approval. Give it a password to let it sign in to the reseller console as well (optional).</p>
            <label>
              Console login
              <input name="login" autoComplete="off" value={login} onChange={(e) => setLogin(e.target.value)} />
            </label>
            <label>
              Console password (optional, at least 10 characters)
              <input name="password" type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />
            </label>
          </>
        )}
        {action?.kind === 'login' && (
          <>
            <p>The reseller signs in to the reseller console with this login and password. Sessions opened with the old password end.</p>
            <label>
              Console login
              <input name="login" autoComplete="off" required value={login} onChange={(e) => setLogin(e.target.value)} />
            </label>
            <label>
              New password (at least 10 characters)
              <input name="password" type="password" autoComplete="new-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
            </label>
          </>
        )}
        {action?.kind === 'rotate' && <p>A new API token and key are issued and shown once. The current pair stops working at once, for every integration of this reseller.</p>}
        {action?.kind === 'host' && (
          <>
            <p>Login links for this reseller's clients, and its console's sign-in page, use this host name. Point it at this server first. Leave it empty for none.</p>
            <label>
              Login host
              <input name="login_hostname" placeholder="login.example.com" autoComplete="off" value={host} onChange={(e) => setHost(e.target.value)} />
            </label>
          </>
        )}
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
