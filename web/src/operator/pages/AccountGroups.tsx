import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { api, must } from '../../api/client';
import { Link } from '../../router';
import { Confirm, DataTable, Empty, ErrorState, Loading, Pager, QueryState, SearchBox, StatusBadge, useCursors } from '../../ui';
import type { GroupAction, GroupChange, SiteSummary } from '../types';

const PAGE_SIZE = 25;
const VERB: Record<GroupAction, { label: string; done: string }> = {
  suspend: { label: 'Suspend', done: 'suspended' },
  activate: { label: 'Activate', done: 'activated' },
  delete: { label: 'Delete', done: 'deleted' },
};

/**
 * Account groups: a master (billing invoice) and the sites naming it as their parent invoice. A bulk
 * change always starts with the API's dry run, which lists exactly the sites it would change; the
 * operator reads that list, confirms, and only then does the change run.
 */
export function AccountGroupsPage() {
  const [q, setQ] = useState('');
  const pages = useCursors<string>();
  const [selected, setSelected] = useState<string | null>(null);
  const after = pages.current;

  const list = useQuery({
    queryKey: ['account-groups', q, after],
    placeholderData: keepPreviousData,
    queryFn: () => must(api.GET('/admin/v1/account-groups', { params: { query: { limit: String(PAGE_SIZE), ...(q ? { q } : {}), ...(after !== undefined ? { after } : {}) } } })),
  });


  return (
    <section>
      <h1>Account groups</h1>
      <p className="muted">A master site carries a billing invoice; its subordinates carry it as their parent invoice. Suspend, activate or delete a whole group at once.</p>
      <SearchBox
        label="Search"
        name="q"
        placeholder="invoice or master domain"
        onSearch={(text) => {
          setQ(text);
          pages.reset();
        }}
      />
      <QueryState
        query={list}
        isEmpty={(data) => data.groups.length === 0}
        empty={q ? 'No account group matches this search.' : 'There are no account groups yet: give a site a billing invoice to make it a master.'}
      >
        {(data) => (
          <>
            <DataTable caption={`Account groups, page ${pages.cursors.length}`} columns={['Invoice', 'Master', 'Subordinates', 'Actions']} busy={list.isFetching}>
              {data.groups.map((g) => (
                <tr key={g.invoice} data-group={g.invoice}>
                  <td>
                    <code>{g.invoice}</code>
                  </td>
                  <td>
                    {g.master ? (
                      <>
                        {g.master.site} <span className="muted">{g.master.domain}</span> <StatusBadge status={g.master.active ? 'active' : 'suspended'} />
                      </>
                    ) : (
                      '—'
                    )}
                    {g.masters > 1 && <span className="muted"> and {g.masters - 1} more</span>}
                  </td>
                  <td>{g.subordinates}</td>
                  <td className="actions">
                    <button type="button" onClick={() => setSelected(g.invoice)} aria-pressed={selected === g.invoice}>
                      Manage <span className="sr-only">group {g.invoice}</span>
                    </button>
                  </td>
                </tr>
              ))}
            </DataTable>
            <Pager cursors={pages.cursors} next={data.next_after} onBack={pages.back} onNext={() => pages.next(data.next_after)} />
          </>
        )}
      </QueryState>
      {selected !== null && <GroupPanel key={selected} invoice={selected} onGone={() => setSelected(null)} />}
    </section>
  );
}

function GroupPanel({ invoice, onGone }: { invoice: string; onGone: () => void }) {
  const queryClient = useQueryClient();
  const [preview, setPreview] = useState<GroupChange | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [reason, setReason] = useState('');
  const [done, setDone] = useState<GroupChange | null>(null);

  // Opening a group moves focus to it, so keyboard and screen-reader users land where it appeared.
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    heading.current?.focus();
    heading.current?.scrollIntoView({ block: 'start' });
  }, []);

  const members = useQuery({ queryKey: ['account-group', invoice], queryFn: () => must(api.GET('/admin/v1/account-groups/members', { params: { query: { invoice } } })) });

  const post = (action: GroupAction, dryRun: boolean) => {
    const body = { invoice, dry_run: dryRun, ...(action === 'suspend' && reason.trim() ? { reason: reason.trim() } : {}) };
    if (action === 'suspend') return must(api.POST('/admin/v1/account-groups/suspend', { body }));
    if (action === 'activate') return must(api.POST('/admin/v1/account-groups/activate', { body }));
    return must(api.POST('/admin/v1/account-groups/delete', { body }));
  };
  const dryRun = useMutation({
    mutationFn: (action: GroupAction) => post(action, true),
    onSuccess: (result) => {
      setDone(null);
      setPreview(result);
    },
  });
  const run = useMutation({
    mutationFn: (action: GroupAction) => post(action, false),
    onSuccess: (result) => {
      setConfirming(false);
      setPreview(null);
      setDone(result);
      void queryClient.invalidateQueries({ queryKey: ['account-groups'] });
      void queryClient.invalidateQueries({ queryKey: ['clients'] });
      void queryClient.invalidateQueries({ queryKey: ['overview'] });
      if (result.action === 'delete') onGone();
      else void queryClient.invalidateQueries({ queryKey: ['account-group', invoice] });
    },
  });
  const error = dryRun.error ?? run.error;
  const verb = preview ? VERB[preview.action] : undefined;

  return (
    <section className="card group-panel" aria-labelledby="group-title">
      <h2 id="group-title" ref={heading} tabIndex={-1}>
        Group <code>{invoice}</code>
      </h2>
      {done && (
        <p role="status" className="notice">
          {done.sites.length === 0 ? 'Nothing needed changing.' : `${done.sites.length} site${done.sites.length === 1 ? '' : 's'} ${VERB[done.action].done}: ${done.sites.map((s) => s.site).join(', ')}.`}
        </p>
      )}
      {error && (
        <p role="alert" className="alert">
          {error.message}
        </p>
      )}
      {members.isPending ? (
        <Loading />
      ) : members.isError ? (
        <ErrorState error={members.error} retry={() => void members.refetch()} />
      ) : (
        <>
          <SiteTable caption={`Sites of group ${invoice}`} rows={[...members.data.masters.map((s) => ({ s, role: 'master' })), ...members.data.subordinates.map((s) => ({ s, role: 'subordinate' }))]} />
          <p>
            <Link to={`/clients?invoice=${encodeURIComponent(invoice)}`}>Show these clients in the client list</Link>
          </p>
          <div className="toolbar">
            <label>
              Suspension reason{' '}
              <input type="text" maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} placeholder="optional" />
            </label>
            {(['suspend', 'activate', 'delete'] as const).map((action) => (
              <button key={action} type="button" className={action === 'delete' ? 'danger' : undefined} disabled={dryRun.isPending || run.isPending} onClick={() => dryRun.mutate(action)}>
                {VERB[action].label} group…
              </button>
            ))}
          </div>
        </>
      )}
      {preview && verb && (
        <section className="preview" aria-labelledby="preview-title">
          <h3 id="preview-title">
            Preview: {verb.label.toLowerCase()} {preview.sites.length} site{preview.sites.length === 1 ? '' : 's'}
          </h3>
          {preview.sites.length === 0 ? (
            <Empty>Nothing to {verb.label.toLowerCase()}: every site of this group is already {verb.done}.</Empty>
          ) : (
            <>
              <p>This dry run changed nothing. These are exactly the sites the change will touch:</p>
              <SiteTable caption="Sites the change will touch" rows={preview.sites.map((s) => ({ s, role: members.data?.masters.some((m) => m.id === s.id) ? 'master' : 'subordinate' }))} />
              <div className="actions">
                <button type="button" onClick={() => setPreview(null)}>
                  Cancel
                </button>
                <button type="button" className={preview.action === 'delete' ? 'danger' : 'primary'} onClick={() => setConfirming(true)}>
                  {verb.label} these {preview.sites.length} sites…
                </button>
              </div>
            </>
          )}
        </section>
      )}
      <Confirm
        open={confirming && preview !== null}
        title={preview ? `${VERB[preview.action].label} ${preview.sites.length} sites of group ${invoice}?` : ''}
        confirmLabel={preview ? VERB[preview.action].label : 'Confirm'}
        danger={preview?.action !== 'activate'}
        busy={run.isPending}
        onConfirm={() => preview && run.mutate(preview.action)}
        onCancel={() => setConfirming(false)}
      >
        {preview?.action === 'delete' ? (
          <p>The sites are deleted and their domains released; mail for them stops. This cannot be undone here.</p>
        ) : preview?.action === 'suspend' ? (
          <p>The sites stop working until they are activated again{reason.trim() ? `, with the reason “${reason.trim()}”` : ''}.</p>
        ) : (
          <p>The sites work again.</p>
        )}
        <p className="muted">{preview?.sites.map((s) => s.site).join(', ')}</p>
      </Confirm>
    </section>
  );
}

function SiteTable({ caption, rows }: { caption: string; rows: { s: SiteSummary; role: string }[] }) {
  return (
    <DataTable caption={caption} columns={['Site', 'Role', 'Domain', 'Status']}>
      {rows.map(({ s, role }) => (
        <tr key={s.id} data-site={s.site}>
          <td>{s.site}</td>
          <td>{role}</td>
          <td>{s.domain ?? '—'}</td>
          <td>
            <StatusBadge status={s.active ? 'active' : 'suspended'} />
            {s.suspend_reason && <span className="muted"> {s.suspend_reason}</span>}
          </td>
        </tr>
      ))}
    </DataTable>
  );
}
