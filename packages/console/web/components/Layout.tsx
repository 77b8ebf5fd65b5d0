import type { ComponentChildren } from 'preact';
import type { Session } from '../api.ts';
import { type Route, sectionOf } from '../router.ts';

const LINKS = [
  { section: 'overview', href: '#/', label: 'Overview' },
  { section: 'events', href: '#/events', label: 'Live events' },
  { section: 'dead-letters', href: '#/dead-letters', label: 'Dead letters' },
] as const;

export function Layout({
  session,
  route,
  onSignOut,
  children,
}: {
  session: Session | undefined;
  route: Route;
  onSignOut: () => void;
  children: ComponentChildren;
}) {
  const current = sectionOf(route);
  return (
    <>
      <button type="button" class="skip-link" onClick={skipToMain}>
        Skip to content
      </button>
      <header class="topbar">
        <a class="brand" href="#/">
          hookstream <span class="brand-sub">console</span>
        </a>
        <nav aria-label="Main">
          <ul>
            {LINKS.map((l) => (
              <li key={l.section}>
                <a href={l.href} aria-current={current === l.section ? 'page' : undefined}>
                  {l.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          {session !== undefined && (
            <span>
              <span class="visually-hidden">Signed in as </span>
              <strong>{session.user}</strong> <span class="role-badge">{session.role}</span>
            </span>
          )}
          <button type="button" class="secondary" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}

/** The hash router owns `#…`, so the skip link is a button that moves focus. */
function skipToMain(): void {
  const main = document.getElementById('main');
  main?.focus();
}
