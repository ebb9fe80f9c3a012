import type { UseQueryResult } from '@tanstack/react-query';
import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from 'react';

export function ErrorState({ error, retry }: { error: unknown; retry?: () => void }) {
  return (
    <div className="state error" role="alert">
      <p>{error instanceof Error ? error.message : 'Something went wrong.'}</p>
      {retry && (
        <button type="button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="state empty">{children}</p>;
}

export function Loading() {
  return (
    <p className="state loading" aria-live="polite">
      Loading…
    </p>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${status}`}>{status}</span>;
}

/** A modal question on the native <dialog>: focus moves into it, Escape cancels. */
export function Confirm(props: { open: boolean; title: string; children?: ReactNode; confirmLabel: string; danger?: boolean; busy?: boolean; onConfirm: () => void; onCancel: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) d.showModal();
    if (!props.open && d.open) d.close();
  }, [props.open]);
  return (
    <dialog ref={ref} aria-labelledby={titleId} onCancel={(e) => (e.preventDefault(), props.onCancel())}>
      <h2 id={titleId}>{props.title}</h2>
      {props.children}
      <div className="actions">
        <button type="button" onClick={props.onCancel} autoFocus>
          Cancel
        </button>
        <button type="button" className={props.danger ? 'danger' : 'primary'} disabled={props.busy} onClick={props.onConfirm}>
          {props.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

/**
 * Cursor paging: `cursors` holds the cursor of every page visited (the first is undefined), so
 * "previous" pops and "next" pushes the cursor the API returned. Pages cost the same however deep.
 */
export function Pager(props: { cursors: readonly unknown[]; next: unknown; onBack: () => void; onNext: () => void; backLabel?: string; nextLabel?: string }) {
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" disabled={props.cursors.length === 1} onClick={props.onBack}>
        {props.backLabel ?? 'Previous'}
      </button>
      <span>Page {props.cursors.length}</span>
      <button type="button" disabled={props.next === null || props.next === undefined} onClick={props.onNext}>
        {props.nextLabel ?? 'Next'}
      </button>
    </nav>
  );
}

/** Copies a value (an MX host, an activation URL, a key) to the clipboard and says so for a moment. */
export function CopyButton({ value, label = 'Copy' }: { value: string; label?: string }) {
  const [done, setDone] = useState<'copied' | 'failed' | null>(null);
  useEffect(() => {
    if (!done) return;
    const t = setTimeout(() => setDone(null), 2000);
    return () => clearTimeout(t);
  }, [done]);
  const copy = () => {
    navigator.clipboard.writeText(value).then(
      () => setDone('copied'),
      () => setDone('failed'),
    );
  };
  return (
    <button type="button" className="copy" onClick={copy} aria-label={`${label}: ${value}`}>
      {done === 'copied' ? 'Copied' : done === 'failed' ? 'Copy failed' : label}
      <span className="visually-hidden" aria-live="polite">
        {done === 'copied' ? 'Copied to the clipboard' : ''}
      </span>
    </button>
  );
}

/** The four states of a list query: loading, failed (with a retry), empty, or its content. */
export function QueryState<T>(props: { query: UseQueryResult<T>; isEmpty: (data: T) => boolean; empty: ReactNode; children: (data: T) => ReactNode }) {
  const { query } = props;
  if (query.isPending) return <Loading />;
  if (query.isError) return <ErrorState error={query.error} retry={() => void query.refetch()} />;
  if (props.isEmpty(query.data)) return <Empty>{props.empty}</Empty>;
  return <>{props.children(query.data)}</>;
}

/**
 * A scrolling table with plain column headings. `busy` is left out of the markup unless given, as
 * the tables that do not refetch in place never carried aria-busy.
 */
export function DataTable(props: { caption?: ReactNode; captionClass?: string; columns: readonly string[]; busy?: boolean; children: ReactNode }) {
  return (
    <div className="table-wrap" aria-busy={props.busy}>
      <table>
        {props.caption !== undefined && <caption className={props.captionClass ?? 'sr-only'}>{props.caption}</caption>}
        <thead>
          <tr>
            {props.columns.map((c) => (
              <th key={c} scope="col">
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{props.children}</tbody>
      </table>
    </div>
  );
}

/** The cursor stack a Pager walks: the last entry is the page shown, undefined for the first. */
export function useCursors<C extends number | string = number>() {
  const [cursors, setCursors] = useState<(C | undefined)[]>([undefined]);
  return {
    cursors,
    current: cursors[cursors.length - 1],
    reset: () => setCursors([undefined]),
    back: () => setCursors((c) => c.slice(0, -1)),
    next: (cursor: C | null | undefined) => setCursors((c) => [...c, cursor ?? undefined]),
  };
}

/** A moment in the reader's own locale, with the exact instant kept machine-readable. */
export function When({ at, className }: { at: string; className?: string }) {
  return (
    <time className={className} dateTime={at}>
      {new Date(at).toLocaleString()}
    </time>
  );
}

/** A list filter: a labelled select whose first choice ("any") filters nothing. */
export function FilterSelect<V extends string>(props: { label: string; value: V | ''; onChange: (value: V | '') => void; anyLabel?: string; options: readonly (V | { value: V; label: string })[] }) {
  return (
    <label>
      {props.label}{' '}
      <select value={props.value} onChange={(e) => props.onChange(e.target.value as V | '')}>
        <option value="">{props.anyLabel ?? 'any'}</option>
        {props.options.map((o) => {
          const { value, label } = typeof o === 'string' ? { value: o, label: o } : o;
          return (
            <option key={value} value={value}>
              {label}
            </option>
          );
        })}
      </select>
    </label>
  );
}

/** A search form: the text is sent (trimmed) on submit, not on every key. `children` come before the box. */
export function SearchBox(props: { label: string; placeholder: string; name?: string; button?: string; onSearch: (text: string) => void; children?: ReactNode }) {
  const [text, setText] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    props.onSearch(text.trim());
  };
  return (
    <form className="toolbar" role="search" onSubmit={submit}>
      {props.children}
      <label>
        {props.label}{' '}
        <input type="search" name={props.name} placeholder={props.placeholder} value={text} onChange={(e) => setText(e.target.value)} />
      </label>
      <button type="submit">{props.button ?? 'Search'}</button>
    </form>
  );
}
