import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, must } from '../../api/client';
import { Confirm, CopyButton, DataTable, FilterSelect, Pager, QueryState, StatusBadge, useCursors, When } from '../../ui';

const DELIVERY_PAGE = 25;
const DELIVERY_STATES = ['pending', 'delivered', 'failed'] as const;
import type { Webhook, WebhookEvent } from '../types';

// The event types an endpoint can subscribe to; typed against the API so a renamed event fails the build.
const EVENTS: WebhookEvent[] = ['client.created', 'client.updated', 'client.cancelled', 'domain.ready', 'domain.failed', 'reseller.approved'];

/** Webhook endpoints of every tenant; an operator's (no reseller) receive every reseller's events. */
export function WebhooksPage() {
  const queryClient = useQueryClient();
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<WebhookEvent[]>(['client.created']);
  const [filter, setFilter] = useState('');
  const [created, setCreated] = useState<Webhook | null>(null);
  const [deleting, setDeleting] = useState<Webhook | null>(null);
  const [open, setOpen] = useState<number | null>(null);

  const list = useQuery({ queryKey: ['webhooks'], queryFn: () => must(api.GET('/admin/v1/webhooks')) });
  const add = useMutation({
    mutationFn: () => must(api.POST('/admin/v1/webhooks', { body: { url: url.trim(), event_types: events } })),
    onSuccess: (w) => {
      setCreated(w);
      setUrl('');
      void queryClient.invalidateQueries({ queryKey: ['webhooks'] });
    },
  });
  const remove = useMutation({
    mutationFn: (id: number) => must(api.DELETE('/admin/v1/webhooks/{id}', { params: { path: { id: String(id) } } })),
    onSuccess: (w) => {
      setDeleting(null);
      if (open === w.id) setOpen(null);
      void queryClient.invalidateQueries({ queryKey: ['webhooks'] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setCreated(null);
    add.mutate();
  };
  const needle = filter.trim().toLowerCase();
  const rows = (list.data ?? []).filter((w) => !needle || w.url.toLowerCase().includes(needle) || w.event_types.some((t) => t.includes(needle)));

  return (
    <section>
      <h1>Webhooks</h1>
      <form className="card editor" onSubmit={submit} aria-labelledby="add-hook">
        <h2 id="add-hook">Add an operator endpoint</h2>
        <p className="muted">It receives the events of every reseller, signed with a secret shown once.</p>
        {add.isError && (
          <p role="alert" className="alert">
            {add.error.message}
          </p>
        )}
        <label className="wide">
          Endpoint URL
          <input type="url" required placeholder="https://billing.example.com/hooks/hostplane" value={url} onChange={(e) => setUrl(e.target.value)} />
        </label>
        <fieldset>
          <legend>Events</legend>
          <div className="checks">
            {EVENTS.map((ev) => (
              <label key={ev} className="check">
                <input type="checkbox" checked={events.includes(ev)} onChange={(e) => setEvents(e.target.checked ? [...events, ev] : events.filter((x) => x !== ev))} />
                {ev}
              </label>
            ))}
          </div>
        </fieldset>
        <div className="actions">
          <button type="submit" className="primary" disabled={add.isPending || events.length === 0}>
            Add endpoint
          </button>
        </div>
      </form>
      {created?.secret && (
        <div role="status" className="notice">
          <p>
            Endpoint #{created.id} is added. Its signing secret is shown only now:
          </p>
          <p>
            <code data-testid="webhook-secret">{created.secret}</code> <CopyButton value={created.secret} label="Copy secret" />
          </p>
        </div>
      )}
      {remove.isError && (
        <p role="alert" className="alert">
          {remove.error.message}
        </p>
      )}
      <div className="toolbar">
        <label>
          Filter{' '}
          <input type="search" placeholder="URL or event" value={filter} onChange={(e) => setFilter(e.target.value)} />
        </label>
      </div>
      <QueryState query={list} isEmpty={() => rows.length === 0} empty={needle ? 'No endpoint matches.' : 'No webhook endpoints yet.'}>
        {() => (
          <DataTable caption="Webhook endpoints" columns={['#', 'URL', 'Events', 'Owner', 'Actions']}>
            {rows.map((w) => (
              <tr key={w.id} data-webhook={w.id}>
                <td>{w.id}</td>
                <td>
                  <code>{w.url}</code>
                </td>
                <td>{w.event_types.join(', ')}</td>
                <td>{w.reseller_id === null ? 'operator (every reseller)' : `reseller #${w.reseller_id}`}</td>
                <td className="actions">
                  <button type="button" aria-expanded={open === w.id} onClick={() => setOpen(open === w.id ? null : w.id)}>
                    Deliveries <span className="sr-only">of endpoint {w.id}</span>
                  </button>{' '}
                  <button type="button" className="danger" onClick={() => setDeleting(w)}>
                    Delete <span className="sr-only">endpoint {w.id}</span>
                  </button>
                </td>
              </tr>
            ))}
          </DataTable>
        )}
      </QueryState>
      {open !== null && <Deliveries key={open} endpointId={open} />}
      <Confirm
        open={deleting !== null}
        title={`Delete endpoint #${deleting?.id ?? ''}?`}
        confirmLabel="Delete"
        danger
        busy={remove.isPending}
        onConfirm={() => deleting && remove.mutate(deleting.id)}
        onCancel={() => setDeleting(null)}
      >
        <p>
          <code>{deleting?.url}</code> stops receiving events; deliveries not yet made are dropped.
        </p>
      </Confirm>
    </section>
  );
}

function Deliveries({ endpointId }: { endpointId: number }) {
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<(typeof DELIVERY_STATES)[number] | ''>('');
  const [replayed, setReplayed] = useState<number | null>(null);
  const pages = useCursors();
  // The API pages and filters: an endpoint that has had thousands of deliveries costs the same to show.
  const list = useQuery({
    queryKey: ['webhook-deliveries', endpointId, status, pages.current],
    queryFn: () =>
      must(
        api.GET('/admin/v1/webhooks/{id}/deliveries', {
          params: { path: { id: String(endpointId) }, query: { limit: String(DELIVERY_PAGE), ...(status ? { status } : {}), ...(pages.current !== undefined ? { before: String(pages.current) } : {}) } },
        }),
      ),
    refetchInterval: 10_000,
    placeholderData: keepPreviousData,
  });
  const replay = useMutation({
    mutationFn: (id: number) => must(api.POST('/admin/v1/webhook-deliveries/{id}/replay', { params: { path: { id: String(id) } } })),
    onSuccess: (d) => {
      setReplayed(d.id);
      void queryClient.invalidateQueries({ queryKey: ['webhook-deliveries', endpointId] });
    },
  });
  const rows = list.data ?? [];
  const older = rows.length === DELIVERY_PAGE ? rows[rows.length - 1]!.id : null;

  return (
    <section className="card deliveries" aria-labelledby="deliveries-title">
      <h2 id="deliveries-title">Deliveries of endpoint #{endpointId}</h2>
      <div className="toolbar">
        <FilterSelect
          label="Delivery status"
          value={status}
          onChange={(v) => {
            setStatus(v);
            pages.reset();
          }}
          options={DELIVERY_STATES}
        />
      </div>
      {replayed !== null && (
        <p role="status" className="notice">
          Queued again as delivery #{replayed}.
        </p>
      )}
      {replay.isError && (
        <p role="alert" className="alert">
          {replay.error.message}
        </p>
      )}
      <QueryState query={list} isEmpty={() => rows.length === 0} empty={status ? `No ${status} deliveries.` : 'Nothing has been sent to this endpoint yet.'}>
        {() => (
          <DataTable caption="Deliveries, newest first" columns={['#', 'Event', 'Status', 'Attempts', 'Last response', 'Created', 'Actions']}>
            {rows.map((d) => (
              <tr key={d.id} data-delivery={d.id}>
                <td>{d.id}</td>
                <td>
                  <code>{d.event_type}</code>
                  <br />
                  <span className="muted">{d.event_id}</span>
                </td>
                <td>
                  <StatusBadge status={d.status} />
                </td>
                <td>{d.attempts}</td>
                <td>
                  {d.last_status_code !== null ? `HTTP ${d.last_status_code}` : d.attempts === 0 ? 'not sent yet' : ''}
                  {d.last_error && <span className="error-text"> {d.last_error}</span>}
                </td>
                <td>
                  <When at={d.created_at} />
                </td>
                <td className="actions">
                  <button type="button" onClick={() => replay.mutate(d.id)} disabled={replay.isPending}>
                    Replay <span className="sr-only">delivery {d.id}</span>
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
