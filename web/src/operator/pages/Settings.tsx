import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, must, ApiError } from '../../api/client';
import { Confirm, ErrorState, Loading } from '../../ui';
import type { Settings } from '../types';

/** The account clean-up of suspended sites, subordinate-site SSO and suspended sites' panel login (ApisCP's scopes). */
export function SettingsPage() {
  const settings = useQuery({ queryKey: ['settings'], queryFn: () => must(api.GET('/admin/v1/settings')) });
  return (
    <section>
      <h1>Settings</h1>
      {settings.isPending ? <Loading /> : settings.isError ? <ErrorState error={settings.error} retry={() => void settings.refetch()} /> : <SettingsForm saved={settings.data} />}
    </section>
  );
}

function SettingsForm({ saved }: { saved: Settings }) {
  const queryClient = useQueryClient();
  const [cleanup, setCleanup] = useState(saved.account_cleanup !== false);
  const [after, setAfter] = useState(saved.account_cleanup === false ? '30 days' : saved.account_cleanup);
  const [sso, setSso] = useState(saved.subordinate_site_sso);
  const [suspendedLogin, setSuspendedLogin] = useState(saved.suspended_login);
  const [showReason, setShowReason] = useState(saved.show_suspension_reason);
  const [confirming, setConfirming] = useState(false);
  const [done, setDone] = useState(false);

  const wanted = { account_cleanup: cleanup ? after.trim() : (false as const), subordinate_site_sso: sso, suspended_login: suspendedLogin, show_suspension_reason: showReason };
  const save = useMutation({
    mutationFn: () => must(api.PATCH('/admin/v1/settings', { body: wanted })),
    onSuccess: (next) => {
      setConfirming(false);
      setDone(true);
      queryClient.setQueryData(['settings'], next);
    },
    onError: () => setConfirming(false),
  });
  const fields = save.error instanceof ApiError ? (save.error.fields ?? {}) : {};
  // Turning the clean-up on, or shortening it, deletes sites within the hour: ask first.
  const deletes = wanted.account_cleanup !== false && wanted.account_cleanup !== saved.account_cleanup;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setDone(false);
    if (deletes) setConfirming(true);
    else save.mutate();
  };

  return (
    <form className="card editor" onSubmit={submit}>
      {done && (
        <p role="status" className="notice">
          Settings saved.
        </p>
      )}
      {save.isError && (
        <p role="alert" className="alert">
          {save.error.message}
        </p>
      )}
      <fieldset>
        <legend>Account clean-up</legend>
        <p className="muted">Once an hour, sites suspended for longer than this are deleted with their domains. A master is kept while subordinates of it stay.</p>
        <label className="check">
          <input type="checkbox" checked={cleanup} onChange={(e) => setCleanup(e.target.checked)} />
          Delete long-suspended accounts
        </label>
        <label>
          Suspended for longer than
          <input value={after} disabled={!cleanup} onChange={(e) => setAfter(e.target.value)} placeholder="30 days" aria-describedby={fields.account_cleanup ? 'cleanup-error' : undefined} />
          {fields.account_cleanup && (
            <span className="field-error" id="cleanup-error">
              {fields.account_cleanup.join(', ')}
            </span>
          )}
        </label>
      </fieldset>
      <fieldset>
        <legend>Subordinate-site SSO</legend>
        <label className="check">
          <input type="checkbox" checked={sso} onChange={(e) => setSso(e.target.checked)} />
          A master’s session may switch into its subordinate sites (and back)
        </label>
      </fieldset>
      <fieldset>
        <legend>Suspended sites</legend>
        <label className="check">
          <input type="checkbox" checked={suspendedLogin} onChange={(e) => setSuspendedLogin(e.target.checked)} />
          The administrator of a suspended site may still sign in and see that it is suspended
        </label>
        <label className="check">
          <input type="checkbox" checked={showReason} disabled={!suspendedLogin} onChange={(e) => setShowReason(e.target.checked)} />
          Show the reason given at suspension
        </label>
      </fieldset>
      <div className="actions">
        <button type="submit" className="primary" disabled={save.isPending}>
          Save settings
        </button>
      </div>
      <Confirm open={confirming} title="Turn on the account clean-up?" confirmLabel="Save and delete" danger busy={save.isPending} onConfirm={() => save.mutate()} onCancel={() => setConfirming(false)}>
        <p>
          Within the hour, every site suspended for longer than <strong>{after.trim()}</strong> is deleted and its domains released. This cannot be undone here.
        </p>
      </Confirm>
    </form>
  );
}
