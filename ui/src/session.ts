/**
 * Who the page is signed in as, and the client that speaks for them. Credentials are kept in
 * sessionStorage: they survive a reload of the tab and are gone when the browser session ends;
 * nothing is written to localStorage or a cookie.
 */
import { createClient, fetchTransport, type Credentials, type TendrilClient } from '../../src/client/index.js';

const KEY = 'tendril.credentials';

export interface Session {
  readonly client: TendrilClient;
  /** What to call the signed-in party: a user name, "API token", or "no credentials needed". */
  readonly label: string;
  readonly credentials: Credentials | undefined;
}

/**
 * Requests go out with `credentials: 'omit'`: the Authorization header the client sets is still
 * sent, but a 401 comes back to the page rather than opening the browser's own login prompt, and
 * credentials the browser remembers are never added behind the user's back. `onRefused` is told
 * when credentials the node accepted before are refused.
 */
export function makeSession(credentials: Credentials | undefined, onRefused: () => void): Session {
  let accepted = false;
  const transport = fetchTransport({
    baseUrl: '',
    fetch: async (request) => {
      const response = await fetch(request, { credentials: 'omit' });
      // A 401 after the node accepted these credentials: the password changed or the token was revoked.
      if (response.status === 401 && accepted) onRefused();
      else if (response.ok) accepted = true;
      return response;
    },
  });
  const label = credentials === undefined ? 'no credentials needed' : 'token' in credentials ? 'API token' : credentials.user;
  return { client: createClient({ transport, credentials }), label, credentials };
}

export function storedCredentials(): Credentials | undefined {
  try {
    const text = sessionStorage.getItem(KEY);
    if (text === null) return undefined;
    const value = JSON.parse(text) as unknown;
    if (value !== null && typeof value === 'object') {
      const v = value as Record<string, unknown>;
      if (typeof v.token === 'string') return { token: v.token };
      if (typeof v.user === 'string' && typeof v.password === 'string') return { user: v.user, password: v.password };
    }
  } catch {
    // storage disabled or a value that is not ours: sign in again
  }
  return undefined;
}

export function storeCredentials(credentials: Credentials | undefined): void {
  try {
    if (credentials === undefined) sessionStorage.removeItem(KEY);
    else sessionStorage.setItem(KEY, JSON.stringify(credentials));
  } catch {
    // storage disabled: the session lasts as long as the page
  }
}
