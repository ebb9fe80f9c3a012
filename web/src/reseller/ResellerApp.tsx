import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, type ReactNode } from 'react';
import { api, setCsrfToken } from '../api/client';
import { Link, navigate, useLocation } from '../router';
import { ConsoleShell } from '../shared/ConsoleShell';
import { ErrorState, Loading } from '../ui';
import { hsp, RESELLER, useResellerSession } from './hsp';
import { ApiKeysPage } from './pages/ApiKeys';
import { AuditPage } from './pages/Audit';
import { ClientDetailPage } from './pages/ClientDetail';
import { ClientFormPage } from './pages/ClientForm';
import { ClientsPage } from './pages/Clients';
import { DashboardPage } from './pages/Dashboard';
import { LoginPage } from './pages/Login';
import { PackagesPage } from './pages/Packages';
import { SignUpPage } from './SignUp';
import { WebhooksPage } from './pages/Webhooks';

const NAV = [
  { path: RESELLER, label: 'Clients' },
  { path: `${RESELLER}/dashboard`, label: 'Dashboard' },
  { path: `${RESELLER}/packages`, label: 'Packages' },
  { path: `${RESELLER}/webhooks`, label: 'Webhooks' },
  { path: `${RESELLER}/keys`, label: 'API keys' },
  { path: `${RESELLER}/audit`, label: 'Audit log' },
];

/** The page for a path under /reseller, its title, and which nav entry it belongs to. */
function route(path: string): { title: string; nav: string; page: ReactNode } {
  const rest = path.slice(RESELLER.length) || '/';
  if (rest === '/' || rest === '/clients') return { title: 'Clients', nav: RESELLER, page: <ClientsPage /> };
  if (rest === '/clients/new') return { title: 'New client', nav: RESELLER, page: <ClientFormPage /> };
  const client = /^\/clients\/([0-9]{1,15})(\/edit)?$/.exec(rest);
  if (client) return client[2] ? { title: 'Edit client', nav: RESELLER, page: <ClientFormPage id={Number(client[1])} /> } : { title: 'Client', nav: RESELLER, page: <ClientDetailPage id={Number(client[1])} /> };
  const simple = NAV.find((n) => n.path === path);
  if (simple?.path === `${RESELLER}/dashboard`) return { title: simple.label, nav: simple.path, page: <DashboardPage /> };
  if (simple?.path === `${RESELLER}/packages`) return { title: simple.label, nav: simple.path, page: <PackagesPage /> };
  if (simple?.path === `${RESELLER}/webhooks`) return { title: simple.label, nav: simple.path, page: <WebhooksPage /> };
  if (simple?.path === `${RESELLER}/keys`) return { title: simple.label, nav: simple.path, page: <ApiKeysPage /> };
  if (simple?.path === `${RESELLER}/audit`) return { title: simple.label, nav: simple.path, page: <AuditPage /> };
  return {
    title: 'Not found',
    nav: '',
    page: (
      <section>
        <h1>Page not found</h1>
        <p>
          <Link to={RESELLER}>Back to your clients</Link>
        </p>
      </section>
    ),
  };
}

const LOGIN = `${RESELLER}/login`;
/** The public sign-up needs no session; a signed-in reseller is sent to its clients instead. */
const SIGNUP = `${RESELLER}/signup`;

export function ResellerApp() {
  const session = useResellerSession();
  const { path } = useLocation();
  const queryClient = useQueryClient();
  const logout = useMutation({
    mutationFn: () => hsp(api.DELETE('/v1/session')),
    onSuccess: () => {
      setCsrfToken(undefined);
      queryClient.clear();
      navigate(LOGIN, true);
    },
  });

  const signedIn = Boolean(session.data);
  const current = route(path);
  useEffect(() => {
    document.title = `${signedIn ? current.title : path === SIGNUP ? 'Sign up' : 'Sign in'} · Hostplane reseller`;
  }, [signedIn, current.title, path]);
  useEffect(() => {
    if (session.isPending || session.isError) return;
    if (!signedIn && path !== LOGIN && path !== SIGNUP) navigate(`${LOGIN}?next=${encodeURIComponent(path)}`, true);
    if (signedIn && (path === LOGIN || path === SIGNUP)) navigate(RESELLER, true);
  }, [signedIn, path, session.isPending, session.isError]);

  if (session.isPending) return <Loading />;
  if (session.isError) return <ErrorState error={session.error} retry={() => void session.refetch()} />;
  if (!session.data) return path === SIGNUP ? <SignUpPage /> : <LoginPage />;

  return (
    <ConsoleShell brand={session.data.reseller.name} nav={NAV} current={current.nav} who={session.data.login ?? 'API key'} onSignOut={() => logout.mutate()} signingOut={logout.isPending}>
      {logout.isError && (
        <p role="alert" className="alert">
          {logout.error.message}
        </p>
      )}
      {current.page}
    </ConsoleShell>
  );
}
