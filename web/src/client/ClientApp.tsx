import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type ReactNode } from 'react';
import { api, must, setCsrfToken } from '../api/client';
import { Link, navigate, useLocation } from '../router';
import { Confirm, ErrorState, Loading } from '../ui';
import { DomainsPage, InstancePage, MailServersPage, OverviewPage, SubscriptionPage } from './pages';
import { DatabasesPage, UsagePage, UsersPage } from './site-pages';
import { SESSION_KEY, useClientSession } from './session';
import { SignInPage } from './SignIn';
import type { ClientSession } from './types';

type Page = { path: string; label: string; render: (s: ClientSession) => ReactNode; when?: (s: ClientSession) => boolean };

const PAGES: Page[] = [
  { path: '/my', label: 'Overview', render: (s) => <OverviewPage session={s} /> },
  { path: '/my/domains', label: 'Domains', render: () => <DomainsPage />, when: (s) => s.client.kind === 'site' },
  { path: '/my/users', label: 'Users', render: () => <UsersPage />, when: (s) => s.client.kind === 'site' },
  { path: '/my/databases', label: 'Databases', render: () => <DatabasesPage />, when: (s) => s.client.kind === 'site' },
  { path: '/my/usage', label: 'Usage', render: (s) => <UsagePage session={s} />, when: (s) => s.client.kind === 'site' },
  { path: '/my/mail-servers', label: 'Mail servers', render: () => <MailServersPage />, when: (s) => s.client.kind === 'site' },
  { path: '/my/instance', label: 'Instance', render: () => <InstancePage />, when: (s) => s.client.kind === 'instance' },
  { path: '/my/subscription', label: 'Subscription', render: (s) => <SubscriptionPage session={s} /> },
];

/** Panel apps a billing system may link to that this panel has no tool for (the server's PANEL_APPS sends them here with ?missing=). */
const MISSING_TOOLS: Record<string, string> = {
  crontab: 'scheduled tasks (cron) tool',
  terminal: 'web terminal',
  whitelist: 'firewall whitelist tool',
};

/** The client admin's area: arrived through the provider's login link, a hijack session or an email sign-in. */
export function ClientApp() {
  const session = useClientSession();
  const { path, search } = useLocation();
  // A suspended site's admin has the overview alone, whatever the address.
  const suspended = !!session.data?.suspension;
  const pages = session.data ? PAGES.filter((p) => (!p.when || p.when(session.data!)) && (!suspended || p.path === '/my')) : [];
  const current = suspended ? pages[0] : pages.find((p) => p.path === path);
  const missing = search.get('missing');
  const missingTool = missing && Object.hasOwn(MISSING_TOOLS, missing) ? MISSING_TOOLS[missing] : undefined;
  useEffect(() => {
    document.title = `${session.data ? (current?.label ?? 'Not found') : 'Sign in'} · ${session.data?.client.name ?? 'Your account'}`;
  }, [session.data, current]);

  if (session.isPending) return <Loading />;
  if (session.isError) return <ErrorState error={session.error} retry={() => void session.refetch()} />;
  if (!session.data) return <SignInPage />;
  const s = session.data;
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">{s.client.name ?? 'Your account'}</span>
        <nav aria-label="Main">
          {pages.map((p) => (
            <Link key={p.path} to={p.path} aria-current={p.path === path ? 'page' : undefined}>
              {p.label}
            </Link>
          ))}
        </nav>
        <span className="who">
          {s.user.login} <SignOut />
        </span>
      </header>
      <SiteSwitcher session={s} />
      <main id="main" tabIndex={-1}>
        {s.suspension && (
          <div role="alert" className="alert suspended-notice">
            <p>
              <strong>This account is suspended.</strong>
            </p>
            {s.suspension.reason && <p>Reason: {s.suspension.reason}</p>}
            <p>Contact your provider to have it reactivated; until then only this page is open.</p>
          </div>
        )}
        {missingTool && !suspended && (
          <p role="status" className="notice">
            This control panel has no {missingTool}. Ask your provider if you need one.
          </p>
        )}
        {current ? (
          current.render(s)
        ) : (
          <section>
            <h1>Page not found</h1>
            <p>
              <Link to="/my">Back to the overview</Link>
            </p>
          </section>
        )}
      </main>
    </>
  );
}

function SignOut() {
  const queryClient = useQueryClient();
  const logout = useMutation({
    mutationFn: () => must(api.DELETE('/client/v1/session')),
    onSuccess: () => {
      setCsrfToken(undefined);
      queryClient.clear();
      queryClient.setQueryData(SESSION_KEY, null);
      navigate('/my', true);
    },
  });
  return (
    <button type="button" className="link" onClick={() => logout.mutate()} disabled={logout.isPending}>
      Sign out
    </button>
  );
}

/** Master-to-subordinate switching (and back), offered only where the SSO rules allow it. */
function SiteSwitcher({ session }: { session: ClientSession }) {
  const queryClient = useQueryClient();
  const { origin, subordinates } = session.sites;
  const [target, setTarget] = useState('');
  const [confirming, setConfirming] = useState<string | null>(null);
  const change = useMutation({
    mutationFn: (site: string) => must(api.POST('/client/v1/session/switch', { body: { site } })),
    onSuccess: (next) => {
      setConfirming(null);
      setTarget('');
      setCsrfToken(next.csrf_token);
      queryClient.removeQueries({ predicate: (q) => q.queryKey[0] !== 'session' });
      queryClient.setQueryData(SESSION_KEY, next);
      navigate('/my');
    },
  });
  if (!origin && subordinates.length === 0) return null;
  const name = (site: string) => {
    const all = [...subordinates, ...(origin ? [origin] : [])];
    const found = all.find((x) => x.site === site);
    return found?.domain ?? site;
  };
  return (
    <div className="site-switcher" role="region" aria-label="Switch site">
      {origin && (
        <button type="button" onClick={() => setConfirming(origin.site)}>
          Back to {origin.domain ?? origin.site}
        </button>
      )}
      {subordinates.length > 0 && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (target) setConfirming(target);
          }}
        >
          <label>
            Subordinate site
            <select value={target} onChange={(e) => setTarget(e.target.value)}>
              <option value="">choose a site</option>
              {subordinates.map((x) => (
                <option key={x.site} value={x.site}>
                  {x.domain ?? x.site}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" disabled={!target}>
            Switch
          </button>
        </form>
      )}
      {change.error && !confirming && (
        <p role="alert" className="alert">
          {change.error.message}
        </p>
      )}
      <Confirm
        open={confirming !== null}
        title={`Switch to ${confirming ? name(confirming) : ''}?`}
        confirmLabel="Switch"
        busy={change.isPending}
        onConfirm={() => confirming && change.mutate(confirming)}
        onCancel={() => setConfirming(null)}
      >
        <p>You will manage that site instead of this one{origin && confirming === origin.site ? '' : ', and can come back from there'}.</p>
        {change.error && (
          <p role="alert" className="alert">
            {change.error.message}
          </p>
        )}
      </Confirm>
    </div>
  );
}
