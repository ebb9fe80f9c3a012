import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { api, must, setCsrfToken } from '../api/client';
import { AccountGroupsPage } from './pages/AccountGroups';
import { AuditPage } from './pages/Audit';
import { ClientDetailPage } from './pages/ClientDetail';
import { ClientsPage } from './pages/Clients';
import { DashboardPage } from './pages/Dashboard';
import { JobsPage } from './pages/Jobs';
import { KeysPage } from './pages/Keys';
import { LoginPage } from './pages/Login';
import { NodesPage } from './pages/Nodes';
import { PackagesPage } from './pages/Packages';
import { ResellersPage } from './pages/Resellers';
import { SettingsPage } from './pages/Settings';
import { WebhooksPage } from './pages/Webhooks';
import { Link, navigate, useLocation } from '../router';
import { ConsoleShell } from '../shared/ConsoleShell';
import { ErrorState, Loading } from '../ui';

const PAGES = [
  { path: '/', label: 'Dashboard', page: DashboardPage },
  { path: '/resellers', label: 'Resellers', page: ResellersPage },
  { path: '/clients', label: 'Clients', page: ClientsPage },
  { path: '/packages', label: 'Packages', page: PackagesPage },
  { path: '/groups', label: 'Account groups', page: AccountGroupsPage },
  { path: '/nodes', label: 'Nodes', page: NodesPage },
  { path: '/jobs', label: 'Jobs', page: JobsPage },
  { path: '/webhooks', label: 'Webhooks', page: WebhooksPage },
  { path: '/keys', label: 'API keys', page: KeysPage },
  { path: '/audit', label: 'Audit log', page: AuditPage },
  { path: '/settings', label: 'Settings', page: SettingsPage },
];

export function useSession() {
  return useQuery({
    queryKey: ['session', 'operator'],
    queryFn: async () => {
      const state = await must(api.GET('/admin/v1/session'));
      const session = state.signed_in ? state : null;
      setCsrfToken(session?.csrf_token);
      return session;
    },
    staleTime: 60_000,
  });
}

export function OperatorApp() {
  const session = useSession();
  const { path } = useLocation();
  const queryClient = useQueryClient();
  const logout = useMutation({
    mutationFn: () => must(api.DELETE('/admin/v1/session')),
    onSuccess: () => {
      setCsrfToken(undefined);
      queryClient.clear();
      navigate('/login', true);
    },
  });

  // A client's own page (its site: where it is served, what it uses) hangs under Clients in the
  // navigation; /console/clients/<id> is the SaaS instance's server-rendered page, hence /sites/<id>.
  const clientId = /^\/sites\/([0-9]{1,15})$/.exec(path)?.[1];
  const current = clientId ? { path: '/clients', label: 'Client', page: undefined } : PAGES.find((p) => p.path === path);
  useTitle(session.data ? (current?.label ?? 'Not found') : 'Sign in');

  const signedIn = Boolean(session.data);
  useEffect(() => {
    if (session.isPending || session.isError) return;
    if (!signedIn && path !== '/login') navigate(`/login?next=${encodeURIComponent(path)}`, true);
    if (signedIn && path === '/login') navigate('/', true);
  }, [signedIn, path, session.isPending, session.isError]);

  if (session.isPending) return <Loading />;
  if (session.isError) return <ErrorState error={session.error} retry={() => void session.refetch()} />;
  if (!session.data) return <LoginPage />;

  const Page = current?.page;
  return (
    <ConsoleShell brand="Hostplane" nav={PAGES} current={current?.path ?? path} who={session.data.user.login} onSignOut={() => logout.mutate()} signingOut={logout.isPending}>
      {clientId ? (
        <ClientDetailPage id={Number(clientId)} />
      ) : Page ? (
        <Page />
      ) : (
        <section>
          <h1>Page not found</h1>
          <p>
            <Link to="/">Back to the dashboard</Link>
          </p>
        </section>
      )}
    </ConsoleShell>
  );
}

function useTitle(title: string) {
  useEffect(() => {
    document.title = `${title} · Hostplane`;
  }, [title]);
}
