import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../../api/client';
import { ApiCredentials } from '../../shared/ApiCredentials';
import { Confirm, ErrorState, Loading } from '../../ui';
import { hsp } from '../hsp';

/** The reseller's API token, and rotation: the new token and key are shown this once. */
export function ApiKeysPage() {
  const queryClient = useQueryClient();
  const creds = useQuery({ queryKey: ['reseller', 'credentials'], queryFn: () => hsp(api.GET('/v1/credentials')) });
  const [asking, setAsking] = useState(false);
  const rotate = useMutation({
    mutationFn: () => hsp(api.POST('/v1/credentials/rotate')),
    onSuccess: () => {
      setAsking(false);
      void queryClient.invalidateQueries({ queryKey: ['reseller', 'credentials'] });
    },
  });
  const issued = rotate.data;

  return (
    <section>
      <h1>API keys</h1>
      <p className="muted">Integrations call the HSP API with HTTP Basic auth: the token is the user name, the key the password.</p>
      {issued && (
        <div className="card notice" role="status">
          <h2>New API credentials</h2>
          <p>Store the key now: it is not shown again. The old token and key have stopped working.</p>
          <ApiCredentials token={issued.api_token} apiKey={issued.api_key} />
          <button type="button" onClick={() => rotate.reset()}>
            Done, I stored it
          </button>
        </div>
      )}
      {creds.isPending ? (
        <Loading />
      ) : creds.isError ? (
        <ErrorState error={creds.error} retry={() => void creds.refetch()} />
      ) : (
        <div className="card">
          <dl className="creds">
            <dt>API token</dt>
            <dd>{creds.data.api_token ? <code data-testid="current-token">{creds.data.api_token}</code> : '—'}</dd>
            <dt>API key</dt>
            <dd className="muted">hidden: shown only when issued</dd>
            <dt>Console login</dt>
            <dd>{creds.data.login ?? <span className="muted">none (ask your provider to set one)</span>}</dd>
          </dl>
          <p>
            <button type="button" className="danger" onClick={() => (rotate.reset(), setAsking(true))}>
              Rotate API key
            </button>
          </p>
        </div>
      )}
      <Confirm open={asking} title="Rotate the API key?" confirmLabel="Rotate key" danger busy={rotate.isPending} onCancel={() => setAsking(false)} onConfirm={() => rotate.mutate()}>
        <p>A new token and key are issued and shown once. The current pair stops working at once: every integration using it must be updated.</p>
        {rotate.isError && (
          <p role="alert" className="alert">
            {rotate.error.message}
          </p>
        )}
      </Confirm>
    </section>
  );
}
