import { useEffect, type ReactNode } from 'react';
import { signOut, type User } from '../auth/session';
import { Link, takeFocusRequest } from '../router';
import { Toasts } from './toasts';

// The page frame: top bar with the signed-in user, breadcrumbs, content.

export interface Crumb {
  label: string;
  to?: string;
}

export function Shell({ user, crumbs, children }: { user: User; crumbs: Crumb[]; children: ReactNode }) {
  // After a navigation, focus goes to the new page's heading, so keyboard and screen reader users start there.
  // Runs after the page's own effects: focus a page already placed (not on <body>) is left alone.
  useEffect(() => {
    if (!takeFocusRequest()) return;
    if (document.activeElement && document.activeElement !== document.body) return;
    (document.querySelector<HTMLElement>('main h1') ?? document.getElementById('content'))?.focus();
  }, []);
  return (
    <div className="shell">
      <a className="skip-link" href="#content">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/portal/" className="brand">
          coffer
        </Link>
        <span className="topbar-title">Key Vault portal</span>
        <div className="topbar-user">
          <span className="user-name" title={user.userName}>
            {user.name}
          </span>
          <button type="button" className="topbar-button" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <nav className="breadcrumbs" aria-label="Breadcrumb">
        <ol>
          <li>
            <Link to="/portal/">Home</Link>
          </li>
          {crumbs.map((c, i) => (
            <li key={i}>{c.to && i < crumbs.length - 1 ? <Link to={c.to}>{c.label}</Link> : <span aria-current={i === crumbs.length - 1 ? 'page' : undefined}>{c.label}</span>}</li>
          ))}
        </ol>
      </nav>
      <main id="content" tabIndex={-1}>
        {children}
      </main>
      <Toasts />
    </div>
  );
}

/** A page heading with the resource kind under it, as Azure's blades have. */
export function PageTitle({ title, kind }: { title: string; kind?: string }) {
  return (
    <div className="page-title">
      <h1 tabIndex={-1}>{title}</h1>
      {kind && <p className="muted">{kind}</p>}
    </div>
  );
}

export function Toolbar({ children, label }: { children: ReactNode; label: string }) {
  return (
    <div className="toolbar" role="toolbar" aria-label={label}>
      {children}
    </div>
  );
}
