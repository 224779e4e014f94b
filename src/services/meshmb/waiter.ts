/**
 * What a long-poll sleeps on (spec §1.11.5): a flag raised by a store event, a deadline and the
 * client going away. Waiting costs one timer; nothing polls.
 */
export class Waiter {
  private raised = false;
  private wake: (() => void) | undefined;

  /** Something changed: wakes the current wait, or makes the next one return at once. */
  readonly notify = (): void => {
    this.raised = true;
    this.wake?.();
  };

  /** Forgets changes seen so far (call before reading, so later ones are not lost). */
  reset(): void {
    this.raised = false;
  }

  /** True when something changed; false at `until` or when `signal` aborts. */
  async wait(until: number, signal: AbortSignal): Promise<boolean> {
    if (this.raised) return true;
    const remaining = until - Date.now();
    if (remaining <= 0 || signal.aborted) return false;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, remaining);
      signal.addEventListener('abort', done, { once: true });
      this.wake = done;
    });
    return this.raised && !signal.aborted;
  }
}
