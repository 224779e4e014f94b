/** Sign in with a user of the node (HTTP Basic) or an API token. */
import { useState } from 'preact/hooks';
import { isApiError, type Credentials } from '../../../src/client/index.js';
import { describeError } from '../components.js';

export function SignIn(props: { note: string | undefined; onSubmit: (credentials: Credentials) => Promise<void> }) {
  const [method, setMethod] = useState<'user' | 'token'>('user');
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await props.onSubmit(method === 'user' ? { user, password } : { token: token.trim() });
    } catch (err) {
      setError(isApiError(err) && err.status === 401 ? 'The node refused these credentials.' : describeError(err));
      setBusy(false);
    }
  };

  return (
    <main class="signin">
      <form class="panel" onSubmit={(e) => void submit(e)} aria-labelledby="signin-title">
        <h1 id="signin-title">
          <img src="/ui/favicon.svg" alt="" width="28" height="28" /> Sign in to Tendril
        </h1>
        {props.note !== undefined && <p class="note">{props.note}</p>}
        <fieldset class="choice">
          <legend>Sign in with</legend>
          <label>
            <input type="radio" name="method" checked={method === 'user'} onChange={() => setMethod('user')} /> User name and password
          </label>
          <label>
            <input type="radio" name="method" checked={method === 'token'} onChange={() => setMethod('token')} /> API token
          </label>
        </fieldset>
        {method === 'user' ? (
          <>
            <label class="field">
              <span>User name</span>
              <input name="user" autocomplete="username" required value={user} onInput={(e) => setUser(e.currentTarget.value)} />
            </label>
            <label class="field">
              <span>Password</span>
              <input name="password" type="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
            </label>
          </>
        ) : (
          <label class="field">
            <span>Token</span>
            <input name="token" type="password" autocomplete="off" placeholder="tdk1_…" required value={token} onInput={(e) => setToken(e.currentTarget.value)} />
          </label>
        )}
        {error !== undefined && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p class="hint">
          Users are set on the node with <code>tendril config set api.restful.users.NAME.password …</code>; tokens come from{' '}
          <code>tendril web generate-token</code>. What you enter is kept for this browser session only.
        </p>
      </form>
    </main>
  );
}
