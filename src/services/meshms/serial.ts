/**
 * One operation at a time per key. MeshMS operations read, change and rewrite an identity's
 * conversation index and append to its plys; two at once for the same identity would each build
 * on what the other is replacing, and one's records or read markers would be lost.
 */
export class Serialiser {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve();
    const result = before.then(fn, fn);
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
