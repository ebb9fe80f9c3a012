import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, must } from '../../api/client';
import { DataTable, FilterSelect, Pager, QueryState, StatusBadge, useCursors, When } from '../../ui';

const STATES = ['failed', 'queued', 'running', 'succeeded'] as const;
type State = (typeof STATES)[number];

export function JobsPage() {
  const queryClient = useQueryClient();
  const initial = new URLSearchParams(window.location.search).get('state');
  const [state, setState] = useState<State | ''>((STATES as readonly string[]).includes(initial ?? '') ? (initial as State) : 'failed');
  const pages = useCursors();
  const before = pages.current;
  const [retried, setRetried] = useState<number | null>(null);

  const list = useQuery({
    queryKey: ['jobs', state, before],
    queryFn: () => must(api.GET('/admin/v1/jobs', { params: { query: { limit: '25', ...(state ? { state } : {}), ...(before !== undefined ? { before: String(before) } : {}) } } })),
  });
  const retry = useMutation({
    mutationFn: (id: number) => must(api.POST('/admin/v1/jobs/{id}/retry', { params: { path: { id: String(id) } } })),
    onSuccess: (job) => {
      setRetried(job.id);
      void queryClient.invalidateQueries({ queryKey: ['jobs'] });
      void queryClient.invalidateQueries({ queryKey: ['overview'] });
    },
  });

  return (
    <section>
      <h1>Jobs</h1>
      <div className="toolbar">
        <FilterSelect
          label="State"
          value={state}
          onChange={(v) => {
            setState(v);
            pages.reset();
          }}
          options={STATES}
        />
      </div>
      {retried !== null && (
        <p role="status" className="notice">
          Job #{retried} is queued again with a fresh set of attempts.
        </p>
      )}
      {retry.isError && (
        <p role="alert" className="alert">
          {retry.error.message}
        </p>
      )}
      <QueryState query={list} isEmpty={(data) => data.jobs.length === 0} empty={state === 'failed' ? 'No failed jobs.' : 'No jobs match.'}>
        {(data) => (
          <>
            <DataTable caption="Jobs" columns={['#', 'Kind', 'State', 'Attempts', 'Last error', 'Created', 'Actions']}>
              {data.jobs.map((j) => (
                <tr key={j.id} data-job={j.id}>
                  <td>{j.id}</td>
                  <td>
                    <code>{j.kind}</code>
                    {j.client_id !== null && <span className="muted"> client #{j.client_id}</span>}
                  </td>
                  <td>
                    <StatusBadge status={j.state} />
                  </td>
                  <td>
                    {j.attempts} / {j.max_attempts}
                  </td>
                  <td className="error-text">{j.last_error ?? '—'}</td>
                  <td>
                    <When at={j.created_at} />
                  </td>
                  <td className="actions">
                    {j.state === 'failed' && (
                      <button type="button" onClick={() => retry.mutate(j.id)} disabled={retry.isPending}>
                        Retry
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </DataTable>
            <Pager cursors={pages.cursors} next={data.next_before} backLabel="Newer" nextLabel="Older" onBack={pages.back} onNext={() => pages.next(data.next_before)} />
          </>
        )}
      </QueryState>
    </section>
  );
}
