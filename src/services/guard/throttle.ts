/**
 * Growing delays for failures: a key (a client address, a user, a principal) that fails more than
 * `free` times must wait before its next attempt, twice as long after every further failure, up
 * to `maxMs`. A key that has not failed for `forgetMs` starts afresh. A success does not reset a
 * key: a guesser who also knows one right answer could otherwise alternate and never wait.
 *
 * Memory is bounded: at most `maxKeys` keys are remembered, the least recently failed forgotten
 * first, and keys whose wait is over and whose failures are forgotten are dropped as new ones come.
 */

export interface ThrottleOptions {
  /** Failures allowed before the first wait. */
  readonly free: number;
  /** The first wait; each further failure doubles it. */
  readonly baseMs: number;
  readonly maxMs: number;
  /** A key that has not failed for this long is forgotten. */
  readonly forgetMs: number;
  readonly maxKeys: number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = Object.freeze({
  free: 5,
  baseMs: 1_000,
  maxMs: 5 * 60_000,
  forgetMs: 15 * 60_000,
  maxKeys: 10_000,
});

interface Entry {
  failures: number;
  /** Epoch ms before which the key may not try again. */
  until: number;
  last: number;
}

export class Throttle {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly options: ThrottleOptions = DEFAULT_THROTTLE,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when no key is remembered: callers skip their checks (the common case). */
  get idle(): boolean {
    return this.entries.size === 0;
  }

  /** How long `key` must still wait, in ms (0: it may try now). */
  wait(key: string): number {
    const e = this.entries.get(key);
    return e === undefined ? 0 : Math.max(0, e.until - this.now());
  }

  /** The longest wait among `keys`. */
  waitAny(keys: readonly string[]): number {
    let longest = 0;
    for (const key of keys) longest = Math.max(longest, this.wait(key));
    return longest;
  }

  /** The delay the n-th failure imposes. */
  delayAfter(failures: number): number {
    const { free, baseMs, maxMs } = this.options;
    if (failures <= free) return 0;
    return Math.min(maxMs, baseMs * 2 ** Math.min(failures - free - 1, 30));
  }

  /** Counts a failure of `key`; returns its failures so far and the wait it must now observe. */
  fail(key: string): { failures: number; waitMs: number } {
    const now = this.now();
    this.prune(now);
    let e = this.entries.get(key);
    if (e !== undefined && now - e.last > this.options.forgetMs) e = undefined;
    this.entries.delete(key);
    const failures = (e?.failures ?? 0) + 1;
    const waitMs = this.delayAfter(failures);
    // Re-inserted at the end: the map's order is that of the last failure.
    this.entries.set(key, { failures, until: Math.max(e?.until ?? 0, now + waitMs), last: now });
    while (this.entries.size > this.options.maxKeys) this.entries.delete(this.entries.keys().next().value!);
    return { failures, waitMs };
  }

  /** Keys remembered, and how many of them must wait now. */
  stats(): { keys: number; waiting: number } {
    const now = this.now();
    let waiting = 0;
    for (const e of this.entries.values()) if (e.until > now) waiting++;
    return { keys: this.entries.size, waiting };
  }

  /** Drops a few of the oldest entries that are over: cleaning up costs nothing per request. */
  private prune(now: number): void {
    let looked = 0;
    for (const [key, e] of this.entries) {
      if (looked++ >= 4 || e.until > now || now - e.last <= this.options.forgetMs) return;
      this.entries.delete(key);
    }
  }
}

/**
 * The throttle key of a client address, or undefined for one that many clients share: loopback
 * (every local client, and a TLS terminator such as nginx in front) and the control socket's
 * `local`. Those are limited by their user or credentials instead.
 */
export function addressKey(client: string): string | undefined {
  if (client === 'local' || client === '') return undefined;
  const v4 = client.startsWith('::ffff:') ? client.slice(7) : client;
  if (v4.startsWith('127.') || client === '::1') return undefined;
  return `addr:${v4}`;
}
