/**
 * The shell: sign-in until the node accepts the credentials, then the navigation and the page the
 * location hash names (#/bundles, #/messages/SID/SID…), so every page has an address that survives
 * a reload and the browser's back button works.
 */
import { useEffect, useState } from 'preact/hooks';
import type { Credentials } from '../../src/client/index.js';
import { SessionContext } from './context.js';
import { useRoute } from './hooks.js';
import { Bundles } from './pages/bundles.js';
import { Dashboard } from './pages/dashboard.js';
import { Feeds } from './pages/feeds.js';
import { Identities } from './pages/identities.js';
import { Messages } from './pages/messages.js';
import { SignIn } from './pages/signin.js';
import { SyncPeers } from './pages/sync.js';
import { Tokens } from './pages/tokens.js';
import { makeSession, storeCredentials, storedCredentials, type Session } from './session.js';

const PAGES = [
  { path: '', title: 'Dashboard' },
  { path: 'identities', title: 'Identities' },
  { path: 'bundles', title: 'Bundles' },
  { path: 'messages', title: 'Messages' },
  { path: 'feeds', title: 'Feeds' },
  { path: 'tokens', title: 'Tokens' },
  { path: 'sync', title: 'Sync' },
] as const;

type State = { kind: 'checking' } | { kind: 'signed-out'; note?: string } | { kind: 'signed-in'; session: Session };

/** Signs in with `credentials` (none: a node that asks for none); throws what the node answered. */
async function signIn(credentials: Credentials | undefined, onRefused: () => void): Promise<Session> {
  const session = makeSession(credentials, onRefused);
  await session.client.system();
  return session;
}

export function App() {
  const [state, setState] = useState<State>({ kind: 'checking' });
  const route = useRoute();

  const signOut = (note?: string): void => {
    storeCredentials(undefined);
    setState({ kind: 'signed-out', note });
  };
  const refused = (): void => signOut('The node no longer accepts these credentials: sign in again.');

  useEffect(() => {
    const stored = storedCredentials();
    signIn(stored, refused).then(
      (session) => setState({ kind: 'signed-in', session }),
      () => setState({ kind: 'signed-out', note: stored ? 'The node no longer accepts the saved credentials: sign in again.' : undefined }),
    );
  }, []);

  useEffect(() => {
    if (state.kind !== 'checking') performance.mark('tendril-ui-rendered');
  }, [state.kind !== 'checking']);

  if (state.kind === 'checking') return <p class="loading">Connecting to the node…</p>;
  if (state.kind === 'signed-out') {
    return (
      <SignIn
        note={state.note}
        onSubmit={async (credentials) => {
          const session = await signIn(credentials, refused);
          storeCredentials(credentials);
          setState({ kind: 'signed-in', session });
        }}
      />
    );
  }

  const [page = '', ...rest] = route;
  const current = PAGES.find((p) => p.path === page) ?? PAGES[0];
  return (
    <SessionContext.Provider value={state.session}>
      <header class="top">
        <a class="brand" href="#/">
          <img src="/ui/favicon.svg" alt="" width="24" height="24" />
          Tendril
        </a>
        <nav aria-label="Pages">
          <ul>
            {PAGES.map((p) => (
              <li key={p.path}>
                <a href={`#/${p.path}`} aria-current={p === current ? 'page' : undefined}>
                  {p.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span>
            Signed in: <strong>{state.session.label}</strong>
          </span>
          <button type="button" class="link" onClick={() => signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main>
        {current.path === '' && <Dashboard />}
        {current.path === 'identities' && <Identities />}
        {current.path === 'bundles' && <Bundles />}
        {current.path === 'messages' && <Messages my={rest[0]} their={rest[1]} />}
        {current.path === 'feeds' && <Feeds id={rest[0]} />}
        {current.path === 'tokens' && <Tokens />}
        {current.path === 'sync' && <SyncPeers />}
      </main>
    </SessionContext.Provider>
  );
}
