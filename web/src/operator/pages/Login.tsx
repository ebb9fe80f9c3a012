import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, ApiError, must, setCsrfToken } from '../../api/client';
import { navigate } from '../../router';

export function LoginPage() {
  const queryClient = useQueryClient();
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  const signIn = useMutation({
    mutationKey: ['sign-in'],
    mutationFn: () => must(api.POST('/admin/v1/session', { body: { login, password } })),
    onSuccess: (session) => {
      setCsrfToken(session.csrf_token);
      queryClient.setQueryData(['session', 'operator'], session);
      const next = new URLSearchParams(window.location.search).get('next');
      navigate(next && next.startsWith('/') && !next.startsWith('//') && next !== '/login' ? next : '/', true);
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    signIn.mutate();
  };
  const message =
    signIn.error instanceof ApiError && signIn.error.status === 401
      ? 'Wrong login or password.'
      : signIn.error instanceof ApiError && signIn.error.status === 429
        ? 'Too many failed sign-ins. Wait a few minutes and try again.'
        : signIn.error
          ? signIn.error.message
          : '';
  return (
    <main id="main" className="login">
      <form onSubmit={submit} aria-labelledby="login-title" className="card">
        <h1 id="login-title">Sign in to Hostplane</h1>
        <p className="muted">Operator console</p>
        {message && (
          <p role="alert" className="alert">
            {message}
          </p>
        )}
        <label>
          Login
          <input name="login" autoComplete="username" required value={login} onChange={(e) => setLogin(e.target.value)} autoFocus />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        <button type="submit" className="primary" disabled={signIn.isPending}>
          {signIn.isPending ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
