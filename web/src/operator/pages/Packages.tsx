import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, must, ApiError } from '../../api/client';
import { DataTable, Empty, ErrorState, Loading, StatusBadge } from '../../ui';
import type { Feature, Inheritance, Package } from '../types';

const money = (cents: number) => (cents / 100).toLocaleString(undefined, { style: 'currency', currency: 'USD' });
const LIMITS = [
  ['max_users', 'Most users'],
  ['max_domains', 'Most domains'],
  ['max_mail_servers', 'Most mail servers per domain'],
] as const;
const shown = (v: unknown) => (v === null || v === undefined ? 'no limit' : String(v));

/** Plans: their costs and features, and the site values each sets itself or inherits from its parent chain. */
export function PackagesPage() {
  const [editing, setEditing] = useState<string | 'new' | null>(null);
  const [filter, setFilter] = useState('');
  const [saved, setSaved] = useState<string | null>(null);
  const packages = useQuery({ queryKey: ['packages'], queryFn: () => must(api.GET('/admin/v1/packages')) });
  const features = useQuery({ queryKey: ['features'], queryFn: () => must(api.GET('/admin/v1/features')) });
  const needle = filter.trim().toLowerCase();
  const rows = (packages.data ?? []).filter((p) => !needle || p.uid.toLowerCase().includes(needle) || p.name.toLowerCase().includes(needle));
  const current = editing && editing !== 'new' ? packages.data?.find((p) => p.uid === editing) : undefined;

  return (
    <section>
      <h1>Packages</h1>
      <div className="toolbar">
        <label>
          Filter{' '}
          <input type="search" placeholder="uid or name" value={filter} onChange={(e) => setFilter(e.target.value)} />
        </label>
        <button type="button" className="primary" onClick={() => (setEditing('new'), setSaved(null))}>
          New package
        </button>
      </div>
      {saved && (
        <p role="status" className="notice">
          Package {saved} is saved.
        </p>
      )}
      {packages.isPending ? (
        <Loading />
      ) : packages.isError ? (
        <ErrorState error={packages.error} retry={() => void packages.refetch()} />
      ) : rows.length === 0 ? (
        <Empty>{needle ? 'No package matches.' : 'There are no packages yet.'}</Empty>
      ) : (
        <DataTable caption="Packages" columns={['Package', 'Parent', 'Domain cost', 'Mailbox cost', 'Limits', 'Features', 'Actions']}>
          {rows.map((p) => (
            <tr key={p.uid} data-package={p.uid}>
              <td>
                <strong>{p.name}</strong>
                <br />
                <code>{p.uid}</code>
              </td>
              <td>{p.parent_uid ? <code>{p.parent_uid}</code> : '—'}</td>
              <td>{money(p.domain_cost_cents)}</td>
              <td>{money(p.mailbox_cost_cents)}</td>
              <td>
                {LIMITS.filter(([k]) => p.limits[k] !== undefined).map(([k, label]) => (
                  <span key={k} className="nowrap">
                    {label}: {p.limits[k]}
                    <br />
                  </span>
                ))}
              </td>
              <td>{p.features.length}</td>
              <td className="actions">
                <button type="button" onClick={() => (setEditing(p.uid), setSaved(null))}>
                  Edit <span className="sr-only">{p.name}</span>
                </button>
              </td>
            </tr>
          ))}
        </DataTable>
      )}
      {editing !== null && (editing === 'new' || current) && (
        <PackageForm
          key={editing}
          pkg={current}
          packages={packages.data ?? []}
          features={features.data ?? []}
          onDone={(uid) => {
            setEditing(null);
            setSaved(uid);
          }}
          onCancel={() => setEditing(null)}
        />
      )}
    </section>
  );
}

type Draft = {
  uid: string;
  name: string;
  description: string;
  parent_uid: string;
  domain_cost_cents: string;
  mailbox_cost_cents: string;
  limits: Record<string, string>;
  features: number[];
  /** SaaS plans: the database new instances are copied from; '' for none. */
  template_database: string;
  /** `service.param` → the plan's own value as typed; '' inherits. */
  own: Record<string, string>;
};

function draftOf(p: Package | undefined): Draft {
  const own: Record<string, string> = {};
  for (const [service, params] of Object.entries(p?.service_defaults ?? {})) for (const [param, v] of Object.entries(params)) own[`${service}.${param}`] = v === null ? '' : String(v);
  return {
    uid: p?.uid ?? '',
    name: p?.name ?? '',
    description: p?.description ?? '',
    parent_uid: p?.parent_uid ?? '',
    domain_cost_cents: String(p?.domain_cost_cents ?? 0),
    mailbox_cost_cents: String(p?.mailbox_cost_cents ?? 0),
    limits: Object.fromEntries(LIMITS.map(([k]) => [k, p?.limits[k] !== undefined ? String(p.limits[k]) : ''])),
    features: p?.features.map((f) => f.id) ?? [],
    template_database: p?.template_database ?? '',
    own,
  };
}

const int = (s: string) => (/^-?\d+$/.test(s.trim()) ? Number(s.trim()) : s);

function PackageForm({ pkg, packages, features, onDone, onCancel }: { pkg: Package | undefined; packages: Package[]; features: Feature[]; onDone: (uid: string) => void; onCancel: () => void }) {
  const queryClient = useQueryClient();
  const [d, setD] = useState<Draft>(() => draftOf(pkg));
  // Inheritance as saved: this package's own chain, or (for a new one) the chosen parent's.
  const basis = pkg?.uid ?? (d.parent_uid || undefined);
  const inheritance = useQuery({
    queryKey: ['inheritance', basis],
    enabled: basis !== undefined,
    queryFn: () => must(api.GET('/admin/v1/packages/{uid}/inheritance', { params: { path: { uid: basis! } } })),
  });
  const set = <K extends keyof Draft>(k: K, v: Draft[K]) => setD((x) => ({ ...x, [k]: v }));

  const save = useMutation({
    mutationFn: async () => {
      const values = inheritance.data?.values ?? [];
      const keys = new Set([...values.map((v) => `${v.service}.${v.param}`), ...Object.keys(d.own)]);
      const service_defaults: Record<string, Record<string, unknown>> = {};
      for (const key of keys) {
        const [service, param] = key.split('.') as [string, string];
        const typed = (d.own[key] ?? '').trim();
        // Blank: inherit (null clears a value the package set before).
        (service_defaults[service] ??= {})[param] = typed === '' ? null : int(typed);
      }
      const limits = Object.fromEntries(Object.entries(d.limits).filter(([, v]) => v.trim() !== '').map(([k, v]) => [k, int(v)]));
      const body = {
        name: d.name,
        description: d.description,
        parent_uid: d.parent_uid || null,
        domain_cost_cents: int(d.domain_cost_cents),
        mailbox_cost_cents: int(d.mailbox_cost_cents),
        limits,
        features: d.features,
        service_defaults,
        template_database: d.template_database.trim() || null,
      } as never;
      if (pkg) return must(api.PATCH('/admin/v1/packages/{uid}', { params: { path: { uid: pkg.uid } }, body }));
      return must(api.POST('/admin/v1/packages', { body: { ...(body as object), uid: d.uid.trim() } as never }));
    },
    onSuccess: (p) => {
      void queryClient.invalidateQueries({ queryKey: ['packages'] });
      void queryClient.invalidateQueries({ queryKey: ['inheritance'] });
      onDone(p.uid);
    },
  });
  const fieldErrors = save.error instanceof ApiError ? (save.error.fields ?? {}) : {};
  const err = (k: string) =>
    fieldErrors[k] ? (
      <span className="field-error" id={`err-${k}`}>
        {fieldErrors[k].join(', ')}
      </span>
    ) : null;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate();
  };

  return (
    <form className="card editor" onSubmit={submit} aria-labelledby="editor-title">
      <h2 id="editor-title">{pkg ? `Edit ${pkg.name}` : 'New package'}</h2>
      {save.isError && (
        <p role="alert" className="alert">
          {save.error.message}
        </p>
      )}
      <div className="form-grid">
        {!pkg && (
          <label>
            Package id (uid)
            <input required value={d.uid} onChange={(e) => set('uid', e.target.value)} pattern="[A-Za-z0-9][A-Za-z0-9._\-]{0,63}" />
            {err('uid')}
          </label>
        )}
        <label>
          Name
          <input required value={d.name} onChange={(e) => set('name', e.target.value)} />
          {err('name')}
        </label>
        <label>
          Parent package
          <select value={d.parent_uid} onChange={(e) => set('parent_uid', e.target.value)}>
            <option value="">none (the base values)</option>
            {packages
              .filter((p) => p.uid !== pkg?.uid)
              .map((p) => (
                <option key={p.uid} value={p.uid}>
                  {p.name} ({p.uid})
                </option>
              ))}
          </select>
          {err('parent_uid')}
        </label>
        <label>
          Domain cost (cents)
          <input inputMode="numeric" value={d.domain_cost_cents} onChange={(e) => set('domain_cost_cents', e.target.value)} />
          {err('domain_cost_cents')}
        </label>
        <label>
          Mailbox cost (cents)
          <input inputMode="numeric" value={d.mailbox_cost_cents} onChange={(e) => set('mailbox_cost_cents', e.target.value)} />
          {err('mailbox_cost_cents')}
        </label>
        {LIMITS.map(([k, label]) => (
          <label key={k}>
            {label}
            <input inputMode="numeric" placeholder="no limit" value={d.limits[k] ?? ''} onChange={(e) => set('limits', { ...d.limits, [k]: e.target.value })} />
            {err(`limits.${k}`)}
          </label>
        ))}
        <label>
          Template database (SaaS)
          <input value={d.template_database} placeholder="none" onChange={(e) => set('template_database', e.target.value)} pattern="[a-z_][a-z0-9_]{0,62}" title="a-z, 0-9 and _, not starting with a digit" />
          {err('template_database')}
        </label>
        <label className="wide">
          Description
          <textarea rows={2} value={d.description} onChange={(e) => set('description', e.target.value)} />
        </label>
      </div>

      <fieldset>
        <legend>Features</legend>
        {features.length === 0 ? (
          <p className="muted">No features are defined.</p>
        ) : (
          <div className="checks">
            {features.map((f) => (
              <label key={f.id} className="check">
                <input type="checkbox" checked={d.features.includes(f.id)} onChange={(e) => set('features', e.target.checked ? [...d.features, f.id] : d.features.filter((x) => x !== f.id))} />
                {f.name}
              </label>
            ))}
          </div>
        )}
        {err('features')}
      </fieldset>

      <fieldset>
        <legend>Site values and inheritance</legend>
        <p className="muted">
          Leave a value blank to inherit it{pkg?.parent_uid || d.parent_uid ? ' from the parent chain' : ' from the base values'}.
          {pkg && d.parent_uid !== (pkg.parent_uid ?? '') && ' The inherited values shown are as saved; save to see the new parent’s.'}
        </p>
        {basis === undefined ? (
          <p className="muted">Choose a parent to see what this package would inherit, or save it first.</p>
        ) : inheritance.isPending ? (
          <Loading />
        ) : inheritance.isError ? (
          <ErrorState error={inheritance.error} retry={() => void inheritance.refetch()} />
        ) : (
          <InheritanceTable data={inheritance.data} own={d.own} isOwnChain={Boolean(pkg)} onChange={(k, v) => set('own', { ...d.own, [k]: v })} errors={fieldErrors} />
        )}
      </fieldset>

      <div className="actions">
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="primary" disabled={save.isPending}>
          {pkg ? 'Save changes' : 'Create package'}
        </button>
      </div>
    </form>
  );
}

function InheritanceTable({ data, own, isOwnChain, onChange, errors }: { data: Inheritance; own: Record<string, string>; isOwnChain: boolean; onChange: (key: string, value: string) => void; errors: Record<string, string[]> }) {
  return (
    <>
      <p>
        Chain: {data.chain.map((c, i) => (
          <span key={c}>
            {i > 0 && ' → '}
            <code>{c}</code>
          </span>
        ))}{' '}
        → <code>base</code>
      </p>
      <DataTable caption="Site values: own or inherited" columns={['Value', 'Inherited', 'This package', 'Resolves to']}>
        {data.values.map((v) => {
          const key = `${v.service}.${v.param}`;
          // For a new package the chain is its parent's: everything there is inherited.
          const inherited = isOwnChain ? v.inherited : { value: v.value, source: v.source };
          const typed = own[key] ?? '';
          return (
            <tr key={key} data-param={key}>
              <td>
                <code>
                  {v.service},{v.param}
                </code>
                <br />
                <span className="muted">{v.help}</span>
              </td>
              <td>
                {shown(inherited.value)} <span className="muted">from {inherited.source ?? '—'}</span>
              </td>
              <td>
                <label>
                  <span className="sr-only">
                    Own value of {v.service},{v.param}
                  </span>
                  <input inputMode="numeric" placeholder="inherit" value={typed} onChange={(e) => onChange(key, e.target.value)} />
                </label>
                {errors[`service_defaults.${key}`] && <span className="field-error">{errors[`service_defaults.${key}`]!.join(', ')}</span>}
              </td>
              <td>
                {typed.trim() !== '' ? (
                  <>
                    {typed} <StatusBadge status="own" />
                  </>
                ) : (
                  <>
                    {shown(inherited.value)} <StatusBadge status="inherited" />
                  </>
                )}
              </td>
            </tr>
          );
        })}
      </DataTable>
    </>
  );
}
