// Preact hooks shared by the pages: the current route, polling, a ticking clock.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { parseHash, type Route } from './router.ts';

/** The parsed `location.hash`, updated on hashchange. */
export function useRoute(): Route {
  const [route, setRoute] = useState<Route>(() => parseHash(location.hash));
  useEffect(() => {
    const onChange = (): void => setRoute(parseHash(location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

export interface PollState<T> {
  /** The last successful answer (kept while a later call fails). */
  readonly data: T | undefined;
  /** The last call's failure; cleared by the next success. */
  readonly error: unknown;
  /** True until the first call for the current key settled. */
  readonly loading: boolean;
  /** Calls again now (and restarts the interval). */
  readonly reload: () => void;
}

/**
 * Calls `load` now and then every `intervalMs` after the previous call
 * settled (never overlapping), while `enabled`. A new `key` drops the old
 * data. Hidden tabs skip their ticks.
 */
export function usePoll<T>(load: () => Promise<T>, intervalMs: number, key: string, enabled = true): PollState<T> {
  const [state, setState] = useState<{ key: string; data: T | undefined; error: unknown; loading: boolean }>({
    key,
    data: undefined,
    error: undefined,
    loading: true,
  });
  const loadRef = useRef(load);
  loadRef.current = load;
  const [nonce, setNonce] = useState(0);
  const reload = useCallback(() => setNonce((n) => n + 1), []);

  useEffect(() => {
    if (!enabled) return;
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const schedule = (): void => {
      if (!cancelled && intervalMs > 0) timer = setTimeout(() => void tick(false), intervalMs);
    };
    const tick = async (force: boolean): Promise<void> => {
      if (!force && document.hidden) {
        schedule();
        return;
      }
      try {
        const data = await loadRef.current();
        if (!cancelled) setState({ key, data, error: undefined, loading: false });
      } catch (error) {
        if (!cancelled) setState((s) => ({ key, data: s.key === key ? s.data : undefined, error, loading: false }));
      }
      schedule();
    };
    void tick(nonce >= 0);
    return () => {
      cancelled = true;
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [key, enabled, intervalMs, nonce]);

  if (state.key !== key) return { data: undefined, error: undefined, loading: true, reload };
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

/** `Date.now()`, re-rendering every `intervalMs` (for "12 s ago"). */
export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}

/** Runs an async action, tracking busy/error/result for a form or button. */
export function useAction<A extends unknown[], R>(
  action: (...args: A) => Promise<R>,
): {
  readonly run: (...args: A) => Promise<R | undefined>;
  readonly busy: boolean;
  readonly error: unknown;
  readonly clearError: () => void;
} {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const actionRef = useRef(action);
  actionRef.current = action;
  const run = useCallback(async (...args: A): Promise<R | undefined> => {
    setBusy(true);
    setError(undefined);
    try {
      return await actionRef.current(...args);
    } catch (err) {
      setError(err);
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  const clearError = useCallback(() => setError(undefined), []);
  return { run, busy, error, clearError };
}
