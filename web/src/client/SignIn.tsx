import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, must, setCsrfToken } from '../api/client';
import { PasswordField, SignInForm, signInMessage } from '../shared/SignInForm';
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
  const message = signInMessage(signIn.error, { 401: 'Wrong email or password.', 409: 'This account has no active hosting or SaaS account to manage.' });
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
          title="Sign in with your email"
          level={2}
          lead="If your subscription came with an account, sign in with the email and password of your subscription."
          message={message}
          pending={signIn.isPending}
          onSubmit={() => signIn.mutate()}
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
