// Entry point: session check, login gate, hash routing.
import { type ComponentChildren, render } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, clearToken, errorMessage, fetchSession, getToken, onUnauthorized, type Session } from './api.ts';
import { Layout } from './components/Layout.tsx';
import { useRoute } from './hooks.ts';
import { DeadLettersPage } from './pages/DeadLetters.tsx';
import { EndpointPage } from './pages/Endpoint.tsx';
import { EventPage } from './pages/Event.tsx';
import { EventsPage } from './pages/Events.tsx';
import { LoginPage } from './pages/Login.tsx';
import { OverviewPage } from './pages/Overview.tsx';
import { SearchPage } from './pages/Search.tsx';
import { SourcePage } from './pages/Source.tsx';
import { titleOf } from './router.ts';

function go(hash: string): void {
  if (location.hash !== hash) location.hash = hash;
}

function App() {
  const route = useRoute();
  const [token, setTokenState] = useState<string | null>(() => getToken());
  const [session, setSession] = useState<Session | undefined>(undefined);
  const [sessionError, setSessionError] = useState<unknown>(undefined);
  const [sessionTry, setSessionTry] = useState(0);

  const signOut = useCallback(() => {
    clearToken();
    setTokenState(null);
    setSession(undefined);
    go('#/login');
  }, []);

  useEffect(() => onUnauthorized(signOut), [signOut]);

  // Who the stored token belongs to (after a reload).
  useEffect(() => {
    if (token === null || session !== undefined || sessionTry < 0) return;
    let cancelled = false;
    fetchSession(token).then(
      (s) => {
        if (!cancelled) setSession(s);
      },
      (err: unknown) => {
        if (cancelled) return;
        if (err instanceof ApiError && err.status === 401) signOut();
        else setSessionError(err);
      },
    );
    return () => {
      cancelled = true;
    };
  }, [token, session, signOut, sessionTry]);

  // No token: the login page; a token: never the login page.
  useEffect(() => {
    if (token === null && route.name !== 'login') go('#/login');
    else if (token !== null && route.name === 'login') go('#/');
  }, [token, route]);

  useEffect(() => {
    document.title = `${token === null ? 'Sign in' : titleOf(route)} · hookstream console`;
  }, [route, token]);

  // Move focus to the new page's heading on navigation (not on first paint).
  const firstRoute = useRef(true);
  const routeKey = JSON.stringify(route);
  useEffect(() => {
    if (firstRoute.current) {
      firstRoute.current = false;
      return;
    }
    if (routeKey === '') return;
    const h1 = document.querySelector<HTMLElement>('main h1');
    if (h1 !== null) {
      h1.tabIndex = -1;
      h1.focus({ preventScroll: false });
    }
  }, [routeKey]);

  if (token === null) {
    return (
      <LoginPage
        onSignedIn={(s) => {
          setTokenState(getToken());
          setSession(s);
          setSessionError(undefined);
          go('#/');
        }}
      />
    );
  }

  const role = session?.role;
  let page: ComponentChildren;
  if (session === undefined) {
    page =
      sessionError === undefined ? (
        <p class="muted loading">Checking your session…</p>
      ) : (
        <div role="alert" class="alert">
          The session could not be checked: {errorMessage(sessionError)}{' '}
          <button
            type="button"
            class="secondary"
            onClick={() => {
              setSessionError(undefined);
              setSessionTry((n) => n + 1);
            }}
          >
            Try again
          </button>
        </div>
      );
  } else {
    switch (route.name) {
      case 'overview':
      case 'login':
        page = <OverviewPage />;
        break;
      case 'endpoint':
        page = <EndpointPage key={route.id} id={route.id} role={role} />;
        break;
      case 'source':
        page = <SourcePage key={route.id} id={route.id} />;
        break;
      case 'events':
        page = route.query === undefined ? <EventsPage /> : <EventsPage query={route.query} />;
        break;
      case 'search':
        page = <SearchPage text={route.text} />;
        break;
      case 'event':
        page = <EventPage key={route.id} id={route.id} role={role} />;
        break;
      case 'dead-letters':
        page = <DeadLettersPage filter={route.filter} role={role} />;
        break;
      case 'not-found':
        page = (
          <>
            <h1>Page not found</h1>
            <p>
              There is no page at <code>#{route.path}</code>. Go to the <a href="#/">overview</a>.
            </p>
          </>
        );
        break;
    }
  }
  return (
    <Layout session={session} route={route} onSignOut={signOut}>
      {page}
    </Layout>
  );
}

const root = document.getElementById('app');
if (root !== null) render(<App />, root);
