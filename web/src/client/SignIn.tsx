import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, ApiError, must, setCsrfToken } from '../api/client';
import { SESSION_KEY } from './session';

/** How a client admin arrives (their provider's link), and the email sign-in of a client's owner. */
export function SignInPage() {
  const queryClient = useQueryClient();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const signIn = useMutation({
    mutationKey: ['sign-in'],
    mutationFn: () => must(api.POST('/client/v1/session', { body: { email, password } })),
    onSuccess: (session) => {
      setCsrfToken(session.csrf_token);
      queryClient.setQueryData(SESSION_KEY, session);
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    signIn.mutate();
  };
  const err = signIn.error;
  const message =
    err instanceof ApiError && err.status === 401
      ? 'Wrong email or password.'
      : err instanceof ApiError && err.status === 429
        ? 'Too many failed sign-ins. Wait a few minutes and try again.'
        : err instanceof ApiError && err.status === 409
          ? 'This account has no active hosting or SaaS account to manage.'
          : err
            ? err.message
            : '';
  return (
    <main id="main" className="login">
      <div className="client-signin">
        <section className="card" aria-labelledby="arrive-title">
          <h1 id="arrive-title">Your account</h1>
          <p>
            Most people arrive here from their provider: use the <strong>log in</strong> link in your provider&apos;s control panel or billing area. Those links work once and for a
            minute, so ask for a new one if yours has expired.
          </p>
        </section>
        <form onSubmit={submit} aria-labelledby="login-title" className="card">
          <h2 id="login-title">Sign in with your email</h2>
          <p className="muted">If your subscription came with an account, sign in with the email and password of your subscription.</p>
          {message && (
            <p role="alert" className="alert">
              {message}
            </p>
          )}
          <label>
            Email
            <input name="email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
          </label>
          <label>
            Password
            <input name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
          </label>
          <button type="submit" className="primary" disabled={signIn.isPending}>
            {signIn.isPending ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
      </div>
    </main>
  );
}
