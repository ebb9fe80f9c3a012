import { useMutation } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { api } from '../api/client';
import type { paths } from '../../generated/schema';
import { useLocation } from '../router';

// The family-code activation page: anyone with a shared link signs in or registers on the CRM API,
// then activates the code. The CRM access token lives in this page's memory only (never in
// localStorage or a cookie): closing or reloading the page signs the user out of it.

type Activated = paths['/api/v1/family/activate']['post']['responses'][201]['content']['application/json'];
type SignedIn = paths['/api/v1/users/login']['post']['responses'][200]['content']['application/json'];
type RempError = paths['/api/v1/family/activate']['post']['responses'][404]['content']['application/json'];

/** A refusal of the CRM API, with REMP's reason code when it gave one. */
class CrmError extends Error {
  constructor(
    readonly status: number,
    readonly body: Partial<RempError> | undefined,
  ) {
    super(body?.message ?? `request failed (${status})`);
  }
}

async function crm<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (response.ok) return data as T;
  throw new CrmError(response.status, error as Partial<RempError> | undefined);
}

/** Every refusal of the activate API (core/family), in plain words. */
export function activationProblem(err: unknown): string {
  if (!(err instanceof CrmError)) return 'Something went wrong. Check your connection and try again.';
  const reason = err.body?.code;
  if (reason === 'family_request_not_found') return 'This code does not exist. Check that you opened the whole link, or ask the person who shared it for a new one.';
  if (reason === 'family_request_one_per_user') return 'You already have a membership from this subscription: each person can use only one of its codes.';
  if (reason === 'family_request_self_use_forbidden') return 'This code belongs to your own subscription. Share it with someone else instead.';
  if (reason === 'family_request_expired') return 'This code has expired: the subscription it came from has ended. Ask the person who shared it for a new one.';
  if (reason === 'family_request_wrong_type') return 'This code no longer works: the offer it came from has been withdrawn. Ask the person who shared it for a new one.';
  if (reason === 'family_request_wrong_status') {
    if (/canceled|cancelled/.test(err.message)) return 'This code was cancelled by the person who shared it. Ask them for a new one.';
    return 'This code has already been used. Each code works once: ask the person who shared it for another.';
  }
  if (err.status === 403) return 'Your sign-in has ended. Sign in again, then activate the code.';
  if (err.status === 429) return 'Too many attempts. Wait a few minutes and try again.';
  if (err.status === 400 && err.body?.errors?.length) return `The code is not valid: ${err.body.errors.join('; ')}.`;
  return err.message;
}

function signInProblem(err: unknown, mode: Mode): string {
  if (!(err instanceof CrmError)) return 'Something went wrong. Check your connection and try again.';
  if (err.body?.error === 'auth_failed') return 'Wrong email or password.';
  if (err.body?.code === 'email_taken') return 'An account with this email already exists. Sign in with it instead.';
  if (err.status === 429) return 'Too many failed sign-ins. Wait a few minutes and try again.';
  if (err.body?.errors?.length) return `${mode === 'register' ? 'Could not create the account' : 'Could not sign in'}: ${err.body.errors.join('; ')}.`;
  return err.message;
}

type Mode = 'login' | 'register';

export function ActivatePage() {
  const { search } = useLocation();
  const [code, setCode] = useState(search.get('code') ?? '');
  const [mode, setMode] = useState<Mode>('register');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  // In memory only, on purpose.
  const [user, setUser] = useState<{ token: string; email: string } | null>(null);
  const [done, setDone] = useState<Activated | null>(null);

  useEffect(() => {
    document.title = 'Activate a family code · Hostplane';
  }, []);

  const activate = useMutation({
    mutationKey: ['sign-in', 'activate'],
    mutationFn: (token: string) => crm(api.POST('/api/v1/family/activate', { body: { code: code.trim() }, headers: { authorization: `Bearer ${token}` } })),
    onSuccess: setDone,
  });
  const signIn = useMutation({
    mutationKey: ['sign-in', 'crm'],
    mutationFn: () => crm<SignedIn>(mode === 'login' ? api.POST('/api/v1/users/login', { body: { email, password } }) : api.POST('/api/v1/users/register', { body: { email, password } })),
    onSuccess: (signed) => {
      setUser({ token: signed.access.token, email: signed.user.email });
      setPassword('');
      activate.mutate(signed.access.token);
    },
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    activate.reset();
    if (user) activate.mutate(user.token);
    else signIn.mutate();
  };

  if (done) {
    return (
      <main id="main" className="login">
        <section className="card activate" aria-labelledby="done-title">
          <h1 id="done-title">Code activated</h1>
          <p role="status" className="notice">
            Your subscription <strong data-testid="activated-subscription">{done.subscription.code}</strong> is active
            {done.subscription.end_at ? ` until ${new Date(done.subscription.end_at).toLocaleDateString(undefined, { year: 'numeric', month: 'long', day: 'numeric' })}` : ''}.
          </p>
          {done.subscription.access.length > 0 && (
            <p>
              It gives access to: <span data-testid="activated-access">{done.subscription.access.join(', ')}</span>.
            </p>
          )}
          <p className="muted">Signed in as {user?.email}. You can close this page.</p>
        </section>
      </main>
    );
  }

  const busy = signIn.isPending || activate.isPending;
  const problem = signIn.error ? signInProblem(signIn.error, mode) : activate.error ? activationProblem(activate.error) : '';
  return (
    <main id="main" className="login">
      <form className="card activate" onSubmit={submit} aria-labelledby="activate-title">
        <h1 id="activate-title">Activate a family code</h1>
        <p className="muted">Someone shared a subscription with you. {user ? 'Activate the code to get it.' : 'Create an account or sign in, and the code is activated for you.'}</p>
        {problem && (
          <p role="alert" className="alert">
            {problem}
          </p>
        )}
        <label>
          Code
          <input name="code" required value={code} onChange={(e) => setCode(e.target.value)} autoComplete="off" spellCheck={false} />
        </label>
        {user ? (
          <p>
            Signed in as <strong>{user.email}</strong>.{' '}
            <button type="button" className="link" onClick={() => (setUser(null), activate.reset())}>
              Use another account
            </button>
          </p>
        ) : (
          <>
            <fieldset className="mode">
              <legend>I want to</legend>
              <label className="choice">
                <input type="radio" name="mode" value="register" checked={mode === 'register'} onChange={() => (setMode('register'), signIn.reset())} /> create an account
              </label>
              <label className="choice">
                <input type="radio" name="mode" value="login" checked={mode === 'login'} onChange={() => (setMode('login'), signIn.reset())} /> sign in
              </label>
            </fieldset>
            <label>
              Email
              <input name="email" type="email" required autoComplete="username" value={email} onChange={(e) => setEmail(e.target.value)} />
            </label>
            <label>
              Password
              <input name="password" type="password" required autoComplete={mode === 'register' ? 'new-password' : 'current-password'} value={password} onChange={(e) => setPassword(e.target.value)} />
            </label>
          </>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Working…' : user ? 'Activate' : mode === 'register' ? 'Create account and activate' : 'Sign in and activate'}
        </button>
      </form>
    </main>
  );
}
