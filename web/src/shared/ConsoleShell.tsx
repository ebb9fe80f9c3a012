import type { ReactNode } from 'react';
import { Link } from '../router';

/**
 * The signed-in frame of the operator and reseller consoles: skip link, top bar with the main
 * navigation and sign-out, and the focusable main region the skip link lands on.
 */
export function ConsoleShell(props: { brand: ReactNode; nav: readonly { path: string; label: string }[]; current: string | undefined; who: ReactNode; onSignOut: () => void; signingOut: boolean; children: ReactNode }) {
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">{props.brand}</span>
        <nav aria-label="Main">
          {props.nav.map((n) => (
            <Link key={n.path} to={n.path} aria-current={n.path === props.current ? 'page' : undefined}>
              {n.label}
            </Link>
          ))}
        </nav>
        <span className="who">
          {props.who}{' '}
          <button type="button" className="link" onClick={props.onSignOut} disabled={props.signingOut}>
            Sign out
          </button>
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        {props.children}
      </main>
    </>
  );
}
