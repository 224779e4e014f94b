/**
 * PIN attempts. A wrong PIN costs the node an Argon2id derivation (64 MiB, a libuv thread) and the
 * guesser nothing, so each is paid for: by the credentials that sent it and by its client address
 * (src/services/guard/throttle.ts), which after a few wrong PINs must wait, longer each time,
 * answered 429 with Retry-After meanwhile. Attempts of one client run one at a time, the others
 * waiting their turn (at most MAX_WAITING; more are 429 at once), and derivations are bounded
 * node-wide (src/crypto/pin-key.ts), so a flood of guesses holds one thread of the pool and
 * downloads keep the rest.
 *
 * Every wrong PIN is a warning in the log and a figure in /restful/system (never the PIN).
 */
import { fail } from '../errors.js';
import type { Logger } from '../log.js';
import type { SecurityCounters } from '../services/guard/counters.js';
import { addressKey, type Throttle } from '../services/guard/throttle.js';
import type { Principal } from './types.js';

/** The principal of the control socket's owner (src/node/node.ts). */
const LOCAL = 'local';

/** PIN attempts one client may have waiting behind the one being tried. */
const MAX_WAITING = 4;

export interface PinGuard {
  /**
   * Runs `attempt` (which tries a PIN and says whether it was right) in the client's turn, unless
   * the client or its credentials must wait (429).
   */
  unlock(principal: Principal, client: string, attempt: () => Promise<boolean>): Promise<void>;
}

interface Turns {
  tail: Promise<void>;
  count: number;
}

export function createPinGuard(throttle: Throttle, counters: SecurityCounters, log: Logger): PinGuard {
  const turns = new Map<string, Turns>();

  const refuse = (keys: readonly string[], why: string): void => {
    const wait = throttle.idle ? 0 : throttle.waitAny(keys);
    if (wait === 0) return;
    counters.pinRefusals++;
    fail('PIN_TOO_MANY_FAILURES', { headers: { 'Retry-After': String(Math.ceil(wait / 1000)) }, why: `${why} (${Math.ceil(wait / 1000)} s left)` });
  };

  /** Counts a wrong PIN against `keys`, and says so in the log (never the PIN). */
  const wrong = (principal: Principal, client: string, keys: readonly string[]): void => {
    counters.wrongPins++;
    let failures = 0;
    let waitMs = 0;
    for (const key of keys) {
      const r = throttle.fail(key);
      failures = Math.max(failures, r.failures);
      waitMs = Math.max(waitMs, r.waitMs);
    }
    log.warn({ principal: principal.id, remote: client, failures, wait_ms: waitMs }, 'wrong PIN');
  };

  return {
    async unlock(principal, client, attempt) {
      // The owner on the control socket (the CLI) could try PINs against the keyring file itself,
      // without any limit: making it wait protects nothing. Its wrong PINs are still counted.
      if (principal.id === LOCAL) {
        if (!(await attempt())) wrong(principal, client, []);
        return;
      }
      const address = addressKey(client);
      const keys = address === undefined ? [`pin-${principal.id}`] : [`pin-${principal.id}`, `pin-${address}`];
      refuse(keys, 'waiting out wrong PINs');
      const turnKey = `${principal.id}\0${client}`;
      let t = turns.get(turnKey);
      if (t === undefined) {
        t = { tail: Promise.resolve(), count: 0 };
        turns.set(turnKey, t);
      }
      if (t.count > MAX_WAITING) {
        counters.pinRefusals++;
        fail('PIN_QUEUE_FULL', { headers: { 'Retry-After': '1' }, why: `${MAX_WAITING} PIN attempts already waiting` });
      }
      t.count++;
      const before = t.tail;
      let done!: () => void;
      t.tail = new Promise((resolve) => (done = resolve));
      try {
        await before;
        // Failures while it waited may have made the client wait.
        refuse(keys, 'wrong PINs while this one waited');
        if (!(await attempt())) wrong(principal, client, keys);
      } finally {
        done();
        if (--t.count === 0) turns.delete(turnKey);
      }
    },
  };
}
