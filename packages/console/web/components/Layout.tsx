import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import type { Session } from '../api.ts';
import { type Route, searchHref, sectionOf } from '../router.ts';

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
        <HeaderSearch />
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

/** The header's search box: any event id, provider id or dead-letter sequence opens `#/search?q=…` (FindEvents). */
function HeaderSearch() {
  const [text, setText] = useState('');
  return (
    <form
      class="header-search"
      aria-label="Find an event"
      onSubmit={(e) => {
        e.preventDefault();
        if (text.trim() === '') return;
        location.hash = searchHref(text);
        setText('');
      }}
    >
      <label for="header-search" class="visually-hidden">
        Find an event by id, provider id or dead-letter sequence
      </label>
      <input
        id="header-search"
        class="header-search-input"
        type="search"
        placeholder="Find evt_…, event id, DLQ #"
        value={text}
        autoComplete="off"
        spellcheck={false}
        onInput={(e) => setText(e.currentTarget.value)}
      />
      <button type="submit" class="secondary">
        Find
      </button>
    </form>
  );
}

/** The hash router owns `#…`, so the skip link is a button that moves focus. */
function skipToMain(): void {
  const main = document.getElementById('main');
  main?.focus();
}
