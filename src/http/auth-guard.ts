/**
 * Failed Basic and token authentications, paid for with growing delays (src/services/guard/
 * throttle.ts) by the client address that failed and by the user it tried. While either must
 * wait, its requests get 429 with Retry-After before their credentials are looked at, so a guesser
 * learns nothing more until the wait is over. Tokens are 256-bit random secrets that no one can
 * guess, so a wrong token costs only its client address.
 *
 * Loopback addresses are shared by every local client and by a TLS terminator in front, so they
 * are not keys of their own: there the user's key does the limiting. The price, written down in
 * docs/security.md: someone who fails a user's password often enough delays that user's next
 * logins too, wherever they come from (tokens are not affected).
 */
import { fail } from '../errors.js';
import type { Logger } from '../log.js';
import type { SecurityCounters } from '../services/guard/counters.js';
import { addressKey, type Throttle } from '../services/guard/throttle.js';
import type { AuthGuard } from './access.js';
import type { Credentials } from './credentials.js';

function keysOf(credentials: Credentials, client: string): string[] {
  const keys: string[] = [];
  // Any name, known or not, is its own key: a shared key for unknown names would tell which
  // names are known (by when it answers 429).
  if (credentials.scheme === 'basic') keys.push(`auth-user:${credentials.user.slice(0, 64)}`);
  const address = addressKey(client);
  if (address !== undefined) keys.push(`auth-${address}`);
  return keys;
}

export function createAuthGuard(throttle: Throttle, counters: SecurityCounters, log: Logger): AuthGuard {
  return {
    before(credentials, client) {
      if (throttle.idle) return;
      const wait = throttle.waitAny(keysOf(credentials, client));
      if (wait === 0) return;
      counters.authRefusals++;
      fail('ACCESS_TOO_MANY_FAILURES', {
        headers: { 'Retry-After': String(Math.ceil(wait / 1000)) },
        why: `waiting out failed authentications (${Math.ceil(wait / 1000)} s left)`,
      });
    },
    failed(credentials, client, why) {
      counters.authFailures++;
      for (const key of keysOf(credentials, client)) {
        const { failures, waitMs } = throttle.fail(key);
        if (waitMs > 0) log.warn({ remote: client, failures, wait_ms: waitMs, why }, 'failed authentications: client must wait');
      }
    },
  };
}
