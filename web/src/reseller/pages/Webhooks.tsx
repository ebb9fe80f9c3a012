import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import { Confirm, CopyButton, DataTable, Pager, QueryState, StatusBadge, useCursors, When } from '../../ui';
import { hsp, WEBHOOK_EVENTS, type Webhook, type WebhookEventType } from '../hsp';

const DELIVERY_PAGE = 25;

/** Webhook endpoints: add (the generated signing secret is shown once), delete, and each one's deliveries. */
export function WebhooksPage() {
  const queryClient = useQueryClient();
  const hooks = useQuery({ queryKey: ['reseller', 'webhooks'], queryFn: () => hsp(api.GET('/v1/webhooks')) });
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<WebhookEventType[]>(['client.created', 'domain.ready']);
  const [removing, setRemoving] = useState<Webhook | null>(null);
  const [open, setOpen] = useState<number | null>(null);

  const add = useMutation({
    mutationFn: () => hsp(api.POST('/v1/webhooks', { body: { url: url.trim(), event_types: events } })),
    onSuccess: () => {
      setUrl('');
      void queryClient.invalidateQueries({ queryKey: ['reseller', 'webhooks'] });
    },
  });
  const remove = useMutation({
    mutationFn: (w: Webhook) => hsp(api.DELETE('/v1/webhooks/{id}', { params: { path: { id: String(w.id) } } })),
    onSuccess: (w) => {
      setRemoving(null);
      if (open === w.id) setOpen(null);
      void queryClient.invalidateQueries({ queryKey: ['reseller', 'webhooks'] });
    },
  });
  const toggle = (e: WebhookEventType) => setEvents((cur) => (cur.includes(e) ? cur.filter((x) => x !== e) : [...cur, e]));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    add.mutate();
  };

  return (
    <section>
      <h1>Webhooks</h1>
      <form className="card form" onSubmit={submit} aria-labelledby="add-webhook">
        <h2 id="add-webhook">Add an endpoint</h2>
        {add.isError && (
          <p role="alert" className="alert">
            {add.error.message}
          </p>
        )}
        <label>
          Endpoint URL
          <input name="url" type="url" required placeholder="https://example.com/hooks/hostplane" value={url} onChange={(e) => setUrl(e.target.value)} />
        </label>
        <fieldset className="choice">
          <legend>Events</legend>
          {WEBHOOK_EVENTS.map((e) => (
            <label key={e} className="inline">
              <input type="checkbox" checked={events.includes(e)} onChange={() => toggle(e)} /> {e}
            </label>
          ))}
        </fieldset>
        <div className="actions">
          <button type="submit" className="primary" disabled={add.isPending}>
            {add.isPending ? 'Adding…' : 'Add endpoint'}
          </button>
        </div>
      </form>
      {add.data?.secret && (
        <div className="card notice" role="status">
          <h2>Endpoint added</h2>
          <p>
            Deliveries are signed with this secret (header <code>Hostplane-Signature</code>). Store it now: it is not shown again.
          </p>
          <p>
            <code data-testid="webhook-secret">{add.data.secret}</code>
            <CopyButton value={add.data.secret} label="Copy secret" />
          </p>
          <button type="button" onClick={() => add.reset()}>
            Done
          </button>
        </div>
      )}
      <QueryState query={hooks} isEmpty={(data) => data.length === 0} empty="No webhook endpoints yet.">
        {(data) => (
          <DataTable caption="Webhook endpoints" columns={['URL', 'Events', 'Actions']}>
            {data.map((w) => (
              <tr key={w.id} data-webhook={w.id}>
                <td>
                  <code>{w.url}</code>
                </td>
                <td className="wrap small">{w.event_types.join(', ')}</td>
                <td className="actions">
                  <button type="button" aria-expanded={open === w.id} onClick={() => setOpen(open === w.id ? null : w.id)}>
                    Deliveries
                  </button>{' '}
                  <button type="button" className="danger" onClick={() => (remove.reset(), setRemoving(w))}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </DataTable>
        )}
      </QueryState>
      {open !== null && <Deliveries id={open} />}
      <Confirm
        open={removing !== null}
        title="Delete this webhook endpoint?"
        confirmLabel="Delete endpoint"
        danger
        busy={remove.isPending}
        onCancel={() => setRemoving(null)}
        onConfirm={() => removing && remove.mutate(removing)}
      >
        <p>
          <code>{removing?.url}</code> receives no more events; deliveries still pending are not sent.
        </p>
        {remove.isError && (
          <p role="alert" className="alert">
            {remove.error.message}
          </p>
        )}
      </Confirm>
    </section>
  );
}

function Deliveries({ id }: { id: number }) {
  const queryClient = useQueryClient();
  const pages = useCursors();
  const list = useQuery({
    queryKey: ['reseller', 'deliveries', id, pages.current],
    queryFn: () => hsp(api.GET('/v1/webhooks/{id}/deliveries', { params: { path: { id: String(id) }, query: { limit: String(DELIVERY_PAGE), ...(pages.current !== undefined ? { before: String(pages.current) } : {}) } } })),
    placeholderData: keepPreviousData,
  });
  const older = list.data && list.data.length === DELIVERY_PAGE ? list.data[list.data.length - 1]!.id : null;
  const replay = useMutation({
    mutationFn: (deliveryId: number) => hsp(api.POST('/v1/webhook-deliveries/{id}/replay', { params: { path: { id: String(deliveryId) } } })),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['reseller', 'deliveries', id] }),
  });
  return (
    <section className="card deliveries" aria-labelledby="deliveries-title">
      <h2 id="deliveries-title">Recent deliveries</h2>
      {replay.isError && (
        <p role="alert" className="alert">
          {replay.error.message}
        </p>
      )}
      <QueryState query={list} isEmpty={(data) => data.length === 0} empty="Nothing has been sent to this endpoint yet.">
        {(data) => (
          <DataTable caption="Deliveries" columns={['Event', 'Status', 'Attempts', 'Last answer', 'Actions']}>
            {data.map((d) => (
              <tr key={d.id} data-delivery={d.id}>
                <td>
                  <code>{d.event_type}</code>
                  <br />
                  <When at={d.created_at} className="muted small" />
                </td>
                <td>
                  <StatusBadge status={d.status} />
                </td>
                <td>{d.attempts}</td>
                <td className="wrap small">{d.last_error ?? (d.last_status_code !== null ? `HTTP ${d.last_status_code}` : '—')}</td>
                <td>
                  <button type="button" onClick={() => replay.mutate(d.id)} disabled={replay.isPending}>
                    Send again
                  </button>
                </td>
              </tr>
            ))}
          </DataTable>
        )}
      </QueryState>
      <Pager cursors={pages.cursors} next={older} onBack={pages.back} onNext={() => pages.next(older)} backLabel="Newer" nextLabel="Older" />
    </section>
  );
}
