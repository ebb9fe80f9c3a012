import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, must, setCsrfToken } from '../../api/client';
import { navigate } from '../../router';
import { PasswordField, SignInForm, signInMessage } from '../../shared/SignInForm';

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
  const message = signInMessage(signIn.error, { 401: 'Wrong login or password.' });
  return (
    <main id="main" className="login">
      <SignInForm title="Sign in to Hostplane" lead="Operator console" message={message} pending={signIn.isPending} onSubmit={() => signIn.mutate()}>
        <label>
          Login
          <input name="login" autoComplete="username" required value={login} onChange={(e) => setLogin(e.target.value)} autoFocus />
        </label>
        <PasswordField value={password} onChange={setPassword} />
      </SignInForm>
    </main>
  );
}
