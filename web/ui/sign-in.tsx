/** The sign-in form: a token, checked with the server before the console opens. */
import { useState } from 'preact/hooks';
import { openSession, type Session } from './api.js';
import { errorMessage } from './common.js';

export function SignIn(props: { onSignedIn: (session: Session, token: string) => void; notice?: string }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState(props.notice);
  const [checking, setChecking] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const trimmed = token.trim();
    if (!trimmed) {
      setError('Enter a token.');
      return;
    }
    setChecking(true);
    setError(undefined);
    try {
      props.onSignedIn(await openSession(trimmed), trimmed);
    } catch (failure) {
      setError(errorMessage(failure));
      setChecking(false);
    }
  };

  return (
    <main class="sign-in">
      <form class="sign-in-card" onSubmit={submit}>
        <div class="brand brand-large">Weir</div>
        <p class="muted">Sign in with an API token of your tenant.</p>
        <label class="field">
          <span>Token</span>
          <input
            type="password"
            autocomplete="current-password"
            spellcheck={false}
            data-testid="token-input"
            value={token}
            onInput={(e) => setToken(e.currentTarget.value)}
            autofocus
          />
        </label>
        <button type="submit" class="primary" data-testid="sign-in" disabled={checking}>
          {checking ? 'Checking…' : 'Sign in'}
        </button>
        {error && (
          <div class="error-box" role="alert" data-testid="sign-in-error">
            {error}
          </div>
        )}
      </form>
    </main>
  );
}
