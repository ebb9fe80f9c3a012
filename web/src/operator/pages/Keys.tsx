import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, must } from '../../api/client';
import { Confirm, CopyButton, DataTable, QueryState, StatusBadge, When } from '../../ui';
import type { ApiToken, OperatorKey, RevokedUserTokens } from '../types';

type Revoking = { kind: 'key'; row: OperatorKey } | { kind: 'token'; row: ApiToken };

/**
 * Credentials an operator hands out: operator API keys (the CLI's and scripts'), the CRM door's API
 * tokens, and end users' CRM sign-ins. Each can be revoked here; a revoked one is refused at once.
 */
export function KeysPage() {
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const [issued, setIssued] = useState<{ id: number; name: string; key: string } | null>(null);
  const [revoking, setRevoking] = useState<Revoking | null>(null);
  const [userRef, setUserRef] = useState('');
  const [userResult, setUserResult] = useState<RevokedUserTokens | null>(null);

  const keys = useQuery({ queryKey: ['operator-keys'], queryFn: () => must(api.GET('/admin/v1/keys')) });
  const tokens = useQuery({ queryKey: ['api-tokens'], queryFn: () => must(api.GET('/admin/v1/api-tokens')) });

  const create = useMutation({
    mutationFn: () => must(api.POST('/admin/v1/keys', { body: { name: name.trim() } })),
    onSuccess: (k) => {
      setIssued(k);
      setName('');
      void queryClient.invalidateQueries({ queryKey: ['operator-keys'] });
    },
  });
  const revoke = useMutation({
    mutationFn: (r: Revoking) =>
      r.kind === 'key'
        ? must(api.POST('/admin/v1/keys/{id}/revoke', { params: { path: { id: String(r.row.id) } } }))
        : must(api.POST('/admin/v1/api-tokens/{id}/revoke', { params: { path: { id: String(r.row.id) } } })),
    onSuccess: (_data, r) => {
      setRevoking(null);
      void queryClient.invalidateQueries({ queryKey: [r.kind === 'key' ? 'operator-keys' : 'api-tokens'] });
    },
  });
  const revokeUser = useMutation({
    mutationFn: (ref: string) => must(api.POST('/admin/v1/users/{user}/revoke-tokens', { params: { path: { user: ref } } })),
    onSuccess: (r) => {
      setUserResult(r);
      setUserRef('');
    },
  });

  const submitKey = (e: FormEvent) => {
    e.preventDefault();
    setIssued(null);
    create.mutate();
  };
  const submitUser = (e: FormEvent) => {
    e.preventDefault();
    setUserResult(null);
    revokeUser.mutate(userRef.trim());
  };

  return (
    <section>
      <h1>API keys</h1>

      <h2 id="operator-keys">Operator API keys</h2>
      <p className="muted">Used by the CLI and scripts as a Bearer key on the admin API. A revoked key is refused from the next request on.</p>
      <form className="card editor" onSubmit={submitKey} aria-labelledby="new-key">
        <h3 id="new-key">New operator key</h3>
        {create.isError && (
          <p role="alert" className="alert">
            {create.error.message}
          </p>
        )}
        <label>
          What it is for
          <input required maxLength={200} placeholder="billing-sync" value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <div className="actions">
          <button type="submit" className="primary" disabled={create.isPending}>
            Create key
          </button>
        </div>
      </form>
      {issued && (
        <div role="status" className="notice">
          <p>Key #{issued.id} ({issued.name}) is created. It is shown only now:</p>
          <p>
            <code data-testid="operator-key">{issued.key}</code> <CopyButton value={issued.key} label="Copy key" />
          </p>
        </div>
      )}
      {revoke.isError && (
        <p role="alert" className="alert">
          {revoke.error.message}
        </p>
      )}
      <QueryState query={keys} isEmpty={(rows) => rows.length === 0} empty="No operator keys.">
        {(rows) => (
          <DataTable caption="Operator API keys" columns={['#', 'Name', 'Created', 'Status', 'Actions']}>
            {rows.map((k) => (
              <tr key={k.id} data-key={k.id}>
                <td>{k.id}</td>
                <td>{k.name}</td>
                <td>
                  <When at={k.created_at} />
                </td>
                <td>{k.revoked_at ? <Revoked at={k.revoked_at} /> : <StatusBadge status="active" />}</td>
                <td className="actions">
                  {!k.revoked_at && (
                    <button type="button" className="danger" onClick={() => setRevoking({ kind: 'key', row: k })}>
                      Revoke <span className="sr-only">key {k.id}</span>
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </DataTable>
        )}
      </QueryState>

      <h2 id="crm-tokens">CRM API tokens</h2>
      <p className="muted">Server-to-server tokens of the REMP CRM door (hostplane api-token create). A revoked token gets the door&apos;s 403 Not authorized.</p>
      <QueryState query={tokens} isEmpty={(rows) => rows.length === 0} empty="No CRM API tokens.">
        {(rows) => (
          <DataTable caption="CRM API tokens" columns={['#', 'Name', 'May call', 'Created', 'Status', 'Actions']}>
            {rows.map((tk) => (
              <tr key={tk.id} data-token={tk.id}>
                <td>{tk.id}</td>
                <td>{tk.name}</td>
                <td>{tk.allow.length ? tk.allow.map((p) => <code key={p}>{p} </code>) : <span className="muted">nothing</span>}</td>
                <td>
                  <When at={tk.created_at} />
                </td>
                <td>{tk.revoked_at ? <Revoked at={tk.revoked_at} /> : <StatusBadge status="active" />}</td>
                <td className="actions">
                  {!tk.revoked_at && (
                    <button type="button" className="danger" onClick={() => setRevoking({ kind: 'token', row: tk })}>
                      Revoke <span className="sr-only">token {tk.id}</span>
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </DataTable>
        )}
      </QueryState>

      <form className="card editor" onSubmit={submitUser} aria-labelledby="user-tokens">
        <h2 id="user-tokens">End a CRM user&apos;s sign-ins</h2>
        <p className="muted">Every access token the user got from the CRM door&apos;s login stops working; they can sign in again.</p>
        {revokeUser.isError && (
          <p role="alert" className="alert">
            {revokeUser.error.message}
          </p>
        )}
        <label>
          User id or email
          <input required maxLength={254} placeholder="reader@example.com" value={userRef} onChange={(e) => setUserRef(e.target.value)} />
        </label>
        <div className="actions">
          <button type="submit" className="danger" disabled={revokeUser.isPending}>
            Revoke their tokens
          </button>
        </div>
        {userResult && (
          <p role="status" className="notice">
            {userResult.revoked === 1 ? '1 token' : `${userResult.revoked} tokens`} of user #{userResult.user_id} ({userResult.email}) revoked.
          </p>
        )}
      </form>

      <Confirm
        open={revoking !== null}
        title={revoking ? `Revoke ${revoking.kind === 'key' ? 'operator key' : 'CRM API token'} #${revoking.row.id}?` : ''}
        confirmLabel="Revoke"
        danger
        busy={revoke.isPending}
        onConfirm={() => revoking && revoke.mutate(revoking)}
        onCancel={() => setRevoking(null)}
      >
        <p>
          <strong>{revoking?.row.name}</strong> is refused from its next request on. This cannot be undone: make a new one instead.
        </p>
      </Confirm>
    </section>
  );
}

function Revoked({ at }: { at: string }) {
  return (
    <span>
      <StatusBadge status="revoked" /> <When at={at} className="muted" />
    </span>
  );
}
