import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, must, setCsrfToken } from '../api/client';
import { PasswordField, SignInForm, signInMessage } from '../shared/SignInForm';
import { SESSION_KEY } from './session';
import type { ClientSession } from './types';

type SignInBody = { email: string; password: string } | { domain: string; login: string; password: string };

function useSignIn(key: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationKey: ['sign-in', key],
    mutationFn: (body: SignInBody) => must(api.POST('/client/v1/session', { body })),
    onSuccess: (session: ClientSession) => {
      setCsrfToken(session.csrf_token);
      queryClient.setQueryData(SESSION_KEY, session);
    },
  });
}

/**
 * How a client admin arrives (their provider's link), the site sign-in of ApisCP's panel form
 * (domain, login, password), and the email sign-in of a client's owner.
 */
export function SignInPage() {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [site, setSite] = useState({ domain: '', login: '', password: '' });
  const owner = useSignIn('owner');
  const admin = useSignIn('site');
  const ownerMessage = signInMessage(owner.error, { 401: 'Wrong email or password.', 409: 'This account has no active hosting or SaaS account to manage.' });
  const siteMessage = signInMessage(admin.error, { 401: 'Wrong domain, login or password.', 409: 'This account is suspended: its users cannot sign in.' });
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
        <SignInForm
          title="Sign in to your site"
          titleId="site-login-title"
          level={2}
          lead="The domain of your hosting account, with the login and password of its administrator or one of its users."
          message={siteMessage}
          pending={admin.isPending}
          onSubmit={() => admin.mutate(site)}
        >
          <label>
            Domain
            <input name="domain" autoComplete="url" inputMode="url" required value={site.domain} onChange={(e) => setSite({ ...site, domain: e.target.value })} placeholder="example.com" />
          </label>
          <label>
            Username
            <input name="login" autoComplete="username" required value={site.login} onChange={(e) => setSite({ ...site, login: e.target.value })} />
          </label>
          <PasswordField id="site-password" value={site.password} onChange={(v) => setSite({ ...site, password: v })} />
        </SignInForm>
        <SignInForm
          title="Sign in with your email"
          level={2}
          lead="If your subscription came with an account, sign in with the email and password of your subscription."
          message={ownerMessage}
          pending={owner.isPending}
          onSubmit={() => owner.mutate({ email, password })}
        >
          <label>
            Email
            <input name="email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
          </label>
          <PasswordField value={password} onChange={setPassword} />
        </SignInForm>
      </div>
    </main>
  );
}
