import type { FormEvent, ReactNode } from 'react';
import { ApiError } from '../api/client';

export const TOO_MANY_SIGN_INS = 'Too many failed sign-ins. Wait a few minutes and try again.';

/**
 * What a failed sign-in says: the door's own words for the statuses it names, the shared one for
 * rate limiting, else the error itself. Kept apart from the reseller's, which hides non-API errors.
 */
export function signInMessage(err: unknown, byStatus: Record<number, string>): string {
  const own = err instanceof ApiError ? byStatus[err.status] : undefined;
  if (own !== undefined) return own;
  if (err instanceof ApiError && err.status === 429) return TOO_MANY_SIGN_INS;
  return err instanceof Error ? err.message : '';
}

/**
 * The frame every door's sign-in form shares, so the heading the form is labelled by, the alert and
 * the pending button read the same to a screen reader in each console.
 */
export function SignInForm(props: {
  title: ReactNode;
  level?: 1 | 2;
  /** The heading's id, when a page holds more than one sign-in form. */
  titleId?: string;
  lead: ReactNode;
  message: string;
  pending: boolean;
  onSubmit: () => void;
  before?: ReactNode;
  after?: ReactNode;
  children: ReactNode;
}) {
  const Heading = props.level === 2 ? 'h2' : 'h1';
  const titleId = props.titleId ?? 'login-title';
  const submit = (e: FormEvent) => {
    e.preventDefault();
    props.onSubmit();
  };
  return (
    <form onSubmit={submit} aria-labelledby={titleId} className="card">
      <Heading id={titleId}>{props.title}</Heading>
      <p className="muted">{props.lead}</p>
      {props.before}
      {props.message && (
        <p role="alert" className="alert">
          {props.message}
        </p>
      )}
      {props.children}
      <button type="submit" className="primary" disabled={props.pending}>
        {props.pending ? 'Signing in…' : 'Sign in'}
      </button>
      {props.after}
    </form>
  );
}

export function PasswordField({ value, onChange, id }: { value: string; onChange: (value: string) => void; id?: string }) {
  return (
    <label>
      Password
      <input name="password" id={id} type="password" autoComplete="current-password" required value={value} onChange={(e) => onChange(e.target.value)} />
    </label>
  );
}
