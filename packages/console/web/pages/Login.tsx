import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, errorMessage, fetchSession, type Session, setToken } from '../api.ts';

export function LoginPage({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const [token, setTokenText] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const value = token.trim();
    if (value === '') {
      setError('Enter the access token.');
      input.current?.focus();
      return;
    }
    setBusy(true);
    setError('');
    try {
      const session = await fetchSession(value);
      setToken(value);
      onSignedIn(session);
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401 ? 'The access token was not accepted. Check it and try again.' : errorMessage(err),
      );
      input.current?.select();
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="login">
      <form class="login-card" onSubmit={(e) => void submit(e)} aria-describedby={error === '' ? undefined : 'login-error'}>
        <p class="brand">hookstream</p>
        <h1>Sign in to hookstream</h1>
        <p class="muted">Use the console token the operators of this gateway gave you.</p>
        <label for="token">Access token</label>
        <input
          ref={input}
          id="token"
          name="token"
          type="password"
          autoComplete="current-password"
          spellcheck={false}
          value={token}
          onInput={(e) => setTokenText(e.currentTarget.value)}
          aria-invalid={error !== ''}
        />
        {error !== '' && (
          <div role="alert" class="alert" id="login-error">
            {error}
          </div>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
