/**
 * Runs tasks one at a time per key, in the order they were queued; different keys run freely.
 * MeshMS and MeshMB read, change and rewrite an identity's private bundles: two operations at once
 * for the same identity would each build on what the other is replacing. Keys with nothing queued
 * take no memory.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve();
    const result = before.then(task);
    // The tail never rejects, so one task's failure does not stop the next.
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
