import { ActivatePage } from './activate/ActivatePage';
import { ClientApp } from './client/ClientApp';
import { OperatorApp } from './operator/OperatorApp';
import { ResellerApp } from './reseller/ResellerApp';
import { useLocation } from './router';

/**
 * One bundle, four areas, each with its own session and sign-in: the operator console at /console,
 * the reseller console at /console/reseller, the client admin's at /console/my, and the family-code
 * activation page at /console/activate. Each area owns the paths under its prefix.
 */
export function App() {
  const { path } = useLocation();
  if (path === '/activate') return <ActivatePage />;
  if (path === '/reseller' || path.startsWith('/reseller/')) return <ResellerApp />;
  if (path === '/my' || path.startsWith('/my/')) return <ClientApp />;
  return <OperatorApp />;
}
