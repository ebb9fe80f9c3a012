import { useMutation, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, must } from '../api/client';
import { Link } from '../router';
import { ErrorState, Loading } from '../ui';

// The HSP API's public sign-up: a text captcha from GET /v1/resellers/new, answered with the form in
// POST /v1/resellers. A refused form comes back with the field errors and a fresh captcha.

const FIELDS = [
  { name: 'name', label: 'Company name', required: true, autoComplete: 'organization' },
  { name: 'username', label: 'Username (for signing in)', required: true, autoComplete: 'username' },
  { name: 'email_address', label: 'Email address', required: true, autoComplete: 'email', type: 'email' },
  { name: 'first_name', label: 'First name', required: false, autoComplete: 'given-name' },
  { name: 'last_name', label: 'Last name', required: false, autoComplete: 'family-name' },
  { name: 'phone', label: 'Phone', required: false, autoComplete: 'tel', type: 'tel' },
  { name: 'country', label: 'Country', required: false, autoComplete: 'country-name' },
] as const;

type FieldName = (typeof FIELDS)[number]['name'];
type Captcha = { id: string; question: string };
type Refusal = { reseller: Record<string, string[]>; captcha: Record<string, string[]> };

export function SignUpPage() {
  const start = useQuery({ queryKey: ['reseller-signup'], queryFn: () => must(api.GET('/v1/resellers/new')), staleTime: Infinity, gcTime: 0 });
  const [values, setValues] = useState<Record<FieldName, string>>({ name: '', username: '', email_address: '', first_name: '', last_name: '', phone: '', country: '' });
  const [answer, setAnswer] = useState('');
  const [captcha, setCaptcha] = useState<Captcha | null>(null);
  const [refusal, setRefusal] = useState<Refusal | null>(null);
  const [done, setDone] = useState(false);
  const current = captcha ?? start.data?.captcha ?? null;

  const submit = useMutation({
    mutationFn: async () => {
      if (!current) throw new Error('The sign-up form is not ready yet.');
      const reseller = Object.fromEntries(Object.entries(values).filter(([, v]) => v.trim() !== ''));
      const { data, error, response } = await api.POST('/v1/resellers', { body: { captcha: { id: current.id, answer }, reseller } });
      if (response.ok && data) return { ok: true as const };
      const body = error as { captcha?: Captcha | null; errors?: Refusal } | undefined;
      if ((response.status === 422 || response.status === 429) && body?.errors) return { ok: false as const, captcha: body.captcha ?? null, errors: body.errors };
      throw new Error(`Sign-up failed (${response.status}). Try again later.`);
    },
    onSuccess: (result) => {
      if (result.ok) {
        setDone(true);
        return;
      }
      setRefusal(result.errors);
      if (result.captcha) setCaptcha(result.captcha);
      setAnswer('');
    },
  });

  if (done) {
    return (
      <main id="main" className="login">
        <section className="card" aria-labelledby="signup-done">
          <h1 id="signup-done">Thank you</h1>
          <p>Your application was received. An operator reviews it; once it is approved you can sign in with your username and the password you are given.</p>
          <p>
            <Link to="/reseller/login">Go to the reseller sign-in</Link>
          </p>
        </section>
      </main>
    );
  }
  if (start.isPending) return <Loading />;
  if (start.isError) return <ErrorState error={start.error} retry={() => void start.refetch()} />;

  const fieldErrors = (name: string) => refusal?.reseller[name] ?? [];
  const captchaErrors = refusal ? Object.values(refusal.captcha).flat() : [];
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    submit.mutate();
  };
  return (
    <main id="main" className="login">
      <form onSubmit={onSubmit} className="card signup" aria-labelledby="signup-title" noValidate>
        <h1 id="signup-title">Become a reseller</h1>
        <p className="muted">Tell us about your company. An operator reviews every application.</p>
        {refusal && (
          <p role="alert" className="alert">
            Please correct the fields marked below.
          </p>
        )}
        {submit.error && (
          <p role="alert" className="alert">
            {submit.error.message}
          </p>
        )}
        {FIELDS.map((f) => {
          const errs = fieldErrors(f.name);
          const id = `signup-${f.name}`;
          return (
            <label key={f.name} htmlFor={id}>
              {f.label}
              {f.required ? ' *' : ''}
              <input
                id={id}
                name={f.name}
                type={'type' in f ? f.type : 'text'}
                autoComplete={f.autoComplete}
                required={f.required}
                aria-invalid={errs.length > 0 || undefined}
                aria-describedby={errs.length ? `${id}-error` : undefined}
                value={values[f.name]}
                onChange={(e) => setValues((v) => ({ ...v, [f.name]: e.target.value }))}
              />
              {errs.length > 0 && (
                <span id={`${id}-error`} className="field-error">
                  {errs.join('; ')}
                </span>
              )}
            </label>
          );
        })}
        <label htmlFor="signup-captcha">
          {current?.question ?? 'Question'} *
          <input
            id="signup-captcha"
            name="captcha"
            required
            autoComplete="off"
            aria-invalid={captchaErrors.length > 0 || undefined}
            aria-describedby={captchaErrors.length ? 'signup-captcha-error' : undefined}
            value={answer}
            onChange={(e) => setAnswer(e.target.value)}
          />
          {captchaErrors.length > 0 && (
            <span id="signup-captcha-error" className="field-error">
              {captchaErrors.join('; ')}
            </span>
          )}
        </label>
        <button type="submit" className="primary" disabled={submit.isPending || !current}>
          {submit.isPending ? 'Sending…' : 'Apply'}
        </button>
        <p className="muted">
          Already approved? <Link to="/reseller/login">Sign in</Link>
        </p>
      </form>
    </main>
  );
}
