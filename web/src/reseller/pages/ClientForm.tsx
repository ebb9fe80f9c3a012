import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type FormEvent, type ReactNode } from 'react';
import { api, ApiError } from '../../api/client';
import { Link, navigate } from '../../router';
import { ErrorState, Loading } from '../../ui';
import { hsp, RESELLER, type HspClient, type SellablePackage } from '../hsp';

interface DomainDraft {
  key: number;
  name: string;
  /** One mail server per line; empty means the package's defaults. */
  mailServers: string;
}

interface Draft {
  name: string;
  email: string;
  packageUid: string;
  userCount: string;
  domains: DomainDraft[];
}

let nextKey = 1;
const blankDomain = (): DomainDraft => ({ key: nextKey++, name: '', mailServers: '' });

function draftOf(c: HspClient): Draft {
  return {
    name: c.name ?? '',
    email: c.email_address ?? '',
    packageUid: c.package_uid ?? '',
    userCount: String(c.user_count),
    domains: c.domains.map((d) => ({ key: nextKey++, name: d.name, mailServers: d.mail_servers.join('\n') })),
  };
}

export function costLine(p: SellablePackage): string {
  return `${p.reseller_cost.domain_formatted} per domain, ${p.reseller_cost.mailbox_formatted} per mailbox`;
}

/** Create a client, or with `id` edit one: package (with its costs), users, contact, domains and their mail servers. */
export function ClientFormPage({ id }: { id?: number }) {
  const editing = id !== undefined;
  const packages = useQuery({ queryKey: ['reseller', 'packages'], queryFn: () => hsp(api.GET('/v1/packages')) });
  const existing = useQuery({
    queryKey: ['reseller', 'client', id],
    enabled: editing,
    queryFn: () => hsp(api.GET('/v1/clients/{id}', { params: { path: { id: String(id) } } })),
  });
  if (packages.isPending || (editing && existing.isPending)) return <Loading />;
  if (packages.isError) return <ErrorState error={packages.error} retry={() => void packages.refetch()} />;
  if (editing && existing.isError) return <ErrorState error={existing.error} retry={() => void existing.refetch()} />;
  // The form starts from what was loaded; later refetches do not overwrite what is being typed.
  const initial = editing && existing.data ? draftOf(existing.data) : { name: '', email: '', packageUid: '', userCount: '1', domains: [blankDomain()] };
  return <ClientForm key={id ?? 'new'} id={id} title={editing ? existing.data?.name || `client #${id}` : undefined} initial={initial} packages={packages.data} />;
}

function ClientForm({ id, title, initial, packages }: { id: number | undefined; title: string | undefined; initial: Draft; packages: SellablePackage[] }) {
  const editing = id !== undefined;
  const queryClient = useQueryClient();
  const [draft, setDraft] = useState<Draft>(initial);

  const save = useMutation({
    mutationFn: async (d: Draft) => {
      const body = {
        package_uid: d.packageUid,
        user_count: Number(d.userCount),
        name: d.name.trim() || null,
        email_address: d.email.trim() || null,
        domains: d.domains.map((x) => {
          const servers = x.mailServers.split(/[\n,]+/).map((s) => s.trim()).filter(Boolean);
          return { name: x.name.trim(), ...(servers.length ? { mail_servers: servers } : {}) };
        }),
      };
      return editing ? hsp(api.PUT('/v1/clients/{id}', { params: { path: { id: String(id) } }, body })) : hsp(api.POST('/v1/clients', { body }));
    },
    onSuccess: (client) => {
      void queryClient.invalidateQueries({ queryKey: ['reseller', 'clients'] });
      queryClient.setQueryData(['reseller', 'client', client.id], client);
      void queryClient.invalidateQueries({ queryKey: ['reseller', 'domain-status'] });
      navigate(`${RESELLER}/clients/${client.id}`);
    },
  });

  const set = (patch: Partial<Draft>) => setDraft({ ...draft, ...patch });
  const setDomain = (key: number, patch: Partial<DomainDraft>) => set({ domains: draft.domains.map((d) => (d.key === key ? { ...d, ...patch } : d)) });
  const fields = save.error instanceof ApiError ? (save.error.fields ?? {}) : {};
  const fieldError = (name: string) => Object.entries(fields).filter(([k]) => k === name || k.startsWith(`${name}.`)).flatMap(([, v]) => v);
  const chosen = packages.find((p) => p.uid === draft.packageUid);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate(draft);
  };

  return (
    <section>
      <h1>{editing ? `Edit ${title}` : 'New client'}</h1>
      <form className="card form" onSubmit={submit} noValidate>
        {save.isError && (
          <p role="alert" className="alert">
            {save.error.message}
          </p>
        )}
        <Field label="Name" errors={fieldError('name')}>
          {(props) => <input {...props} name="name" value={draft.name} maxLength={200} onChange={(e) => set({ name: e.target.value })} />}
        </Field>
        <Field label="Contact email" errors={fieldError('email_address')}>
          {(props) => <input {...props} name="email" type="email" value={draft.email} onChange={(e) => set({ email: e.target.value })} />}
        </Field>
        <Field label="Package" errors={fieldError('package_uid')}>
          {(props) => (
            <select {...props} name="package" required value={draft.packageUid} onChange={(e) => set({ packageUid: e.target.value })}>
              <option value="">Choose a package…</option>
              {packages.map((p) => (
                <option key={p.uid} value={p.uid}>
                  {p.name} ({costLine(p)})
                </option>
              ))}
            </select>
          )}
        </Field>
        {chosen && (
          <p className="muted package-note" data-testid="package-cost">
            {chosen.name}: {costLine(chosen)}
            {chosen.max_users !== null ? `, up to ${chosen.max_users} users` : ''}
            {chosen.free_trial > 0 ? `, ${chosen.free_trial}-day free trial` : ''}.
          </p>
        )}
        <Field label="Users" errors={fieldError('user_count')}>
          {(props) => <input {...props} name="user_count" type="number" min={1} step={1} required value={draft.userCount} onChange={(e) => set({ userCount: e.target.value })} />}
        </Field>
        <fieldset className="domains">
          <legend>Domains</legend>
          {fieldError('domains').length > 0 && (
            <p className="field-error" role="alert">
              {fieldError('domains').join(', ')}
            </p>
          )}
          {draft.domains.map((d, i) => (
            <div key={d.key} className="domain-row">
              <label>
                Domain {i + 1}
                <input name={`domain-${i}`} value={d.name} placeholder="example.com" autoCapitalize="off" spellCheck={false} onChange={(e) => setDomain(d.key, { name: e.target.value })} />
              </label>
              <label>
                Mail servers for domain {i + 1} (one per line; empty for the package default)
                <textarea name={`mail-servers-${i}`} rows={2} value={d.mailServers} spellCheck={false} onChange={(e) => setDomain(d.key, { mailServers: e.target.value })} />
              </label>
              {draft.domains.length > 1 && (
                <button type="button" onClick={() => set({ domains: draft.domains.filter((x) => x.key !== d.key) })} aria-label={`Remove domain ${i + 1}`}>
                  Remove
                </button>
              )}
            </div>
          ))}
          <button type="button" onClick={() => set({ domains: [...draft.domains, blankDomain()] })}>
            Add a domain
          </button>
        </fieldset>
        <div className="actions">
          <Link to={editing ? `${RESELLER}/clients/${id}` : RESELLER}>Cancel</Link>
          <button type="submit" className="primary" disabled={save.isPending}>
            {save.isPending ? 'Saving…' : editing ? 'Save changes' : 'Create client'}
          </button>
        </div>
      </form>
    </section>
  );
}

/** A labelled input with its errors, tied together for screen readers. */
function Field(props: { label: string; errors: string[]; children: (p: { id: string; 'aria-invalid'?: true; 'aria-describedby'?: string }) => ReactNode }) {
  const id = useId();
  const errId = `${id}-err`;
  const invalid = props.errors.length > 0;
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      {props.children({ id, ...(invalid ? { 'aria-invalid': true as const, 'aria-describedby': errId } : {}) })}
      {invalid && (
        <p id={errId} className="field-error">
          {props.label} {props.errors.join(', ')}
        </p>
      )}
    </div>
  );
}
