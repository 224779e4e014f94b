/** The signed-in session, for every page. */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Identity } from '../../src/client/index.js';
import { useLoad, type Loaded } from './hooks.js';
import type { Session } from './session.js';

export const SessionContext = createContext<Session | undefined>(undefined);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (session === undefined) throw new Error('no session: a page rendered before sign-in');
  return session;
}

/** The unlocked identities, loaded when the page opens; reload() after a change. */
export function useIdentities(): Loaded<Identity[]> {
  const { client } = useSession();
  return useLoad(() => client.keyring.list(), [client]);
}
