import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, ApiError, setCsrfToken } from '../../api/client';
import { Link, navigate } from '../../router';
import { PasswordField, SignInForm, TOO_MANY_SIGN_INS } from '../../shared/SignInForm';
import { hsp, RESELLER, SESSION_KEY } from '../hsp';

type Method = 'password' | 'key';

function messageOf(err: unknown, method: Method): string {
  if (!(err instanceof ApiError)) return err ? 'Could not sign in. Try again.' : '';
  if (err.status === 401) return method === 'password' ? 'Wrong login or password.' : 'Wrong API token or key.';
  if (err.status === 429) return TOO_MANY_SIGN_INS;
  if (err.status === 403) return `${err.message.charAt(0).toUpperCase()}${err.message.slice(1)}. Contact your provider.`;
  return err.message;
}

export function LoginPage() {
  const queryClient = useQueryClient();
  const [method, setMethod] = useState<Method>('password');
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const [key, setKey] = useState('');
  // On a reseller's own login host the page carries its brand; elsewhere, Hostplane's.
  const brand = useQuery({ queryKey: ['branding'], queryFn: () => hsp(api.GET('/v1/branding')), staleTime: Infinity, retry: false });

  const signIn = useMutation({
    mutationKey: ['sign-in'],
    mutationFn: () => hsp(api.POST('/v1/session', { body: method === 'password' ? { login, password } : { token, key } })),
    onSuccess: (session) => {
      setCsrfToken(session.csrf_token);
      queryClient.setQueryData(SESSION_KEY, session);
      const next = new URLSearchParams(window.location.search).get('next');
      navigate(next && next.startsWith(`${RESELLER}`) && !next.startsWith('//') && next !== `${RESELLER}/login` ? next : RESELLER, true);
    },
  });
  const choose = (m: Method) => {
    setMethod(m);
    signIn.reset();
  };
  const message = messageOf(signIn.error, method);
  const name = brand.data?.name;

  return (
    <main id="main" className="login">
      <SignInForm
        title={name ? `Sign in to ${name}` : 'Sign in to Hostplane'}
        lead="Reseller console"
        message={message}
        pending={signIn.isPending}
        onSubmit={() => signIn.mutate()}
        before={
          <fieldset className="choice">
            <legend>Sign in with</legend>
            <label className="inline">
              <input type="radio" name="method" value="password" checked={method === 'password'} onChange={() => choose('password')} /> Login and password
            </label>
            <label className="inline">
              <input type="radio" name="method" value="key" checked={method === 'key'} onChange={() => choose('key')} /> API token and key
            </label>
          </fieldset>
        }
        after={
          <p className="muted">
            Not a reseller yet? <Link to={`${RESELLER}/signup`}>Apply for an account</Link>
          </p>
        }
      >
        {method === 'password' ? (
          <>
            <label>
              Login
              <input name="login" autoComplete="username" required value={login} onChange={(e) => setLogin(e.target.value)} autoFocus />
            </label>
            <PasswordField value={password} onChange={setPassword} />
          </>
        ) : (
          <>
            <label>
              API token
              <input name="token" autoComplete="off" spellCheck={false} required value={token} onChange={(e) => setToken(e.target.value)} autoFocus />
            </label>
            <label>
              API key
              <input name="key" type="password" autoComplete="off" required value={key} onChange={(e) => setKey(e.target.value)} />
            </label>
          </>
        )}
      </SignInForm>
    </main>
  );
}
