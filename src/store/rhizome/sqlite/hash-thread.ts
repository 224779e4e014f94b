/**
 * SHA-512 of large payloads on the store's writer thread (commit-writer.ts), so that the thread
 * receiving a payload only receives it: hashing 64 MiB is ~85 ms of CPU, as much as receiving it
 * (docs/benchmarks.md). The writer thread is idle while payloads stream in, and using it costs no
 * thread of its own (a Node worker holds ~8 MB).
 *
 * The payload's 1 MiB blocks (block-file.ts) live in shared memory, so a block goes over without a
 * copy, on a channel of its own beside the commits; the thread hashes the blocks of each payload
 * in the order sent and says when a block is done (its memory may then be reused) and, at the end,
 * the digest. A commit waits at most one block's hashing (~1.5 ms) behind a payload.
 */
import { createHash, type Hash } from 'node:crypto';
import type { MessagePort } from 'node:worker_threads';

interface Request {
  readonly id: number;
  readonly seq: number;
  readonly block?: Uint8Array;
  readonly length?: number;
  readonly end?: boolean;
  readonly abort?: boolean;
}

interface Reply {
  readonly id: number;
  readonly seq: number;
  readonly digest?: Uint8Array;
}

/** The writer thread's side: hashes what comes over `port`. */
export function serveHashes(port: MessagePort): void {
  const hashes = new Map<number, Hash>();
  port.on('message', (m: Request) => {
    let hash = hashes.get(m.id);
    if (hash === undefined) hashes.set(m.id, (hash = createHash('sha512')));
    if (m.block !== undefined) hash.update(m.block.subarray(0, m.length));
    let digest: Uint8Array | undefined;
    if (m.end) {
      hashes.delete(m.id);
      if (!m.abort) digest = hash.digest();
    }
    port.postMessage({ id: m.id, seq: m.seq, digest } satisfies Reply);
  });
}

/** The main thread's side of a hash channel: one ThreadHash per payload. */
export class HashChannel {
  readonly #port: MessagePort;
  readonly #waiting = new Map<string, { resolve: (reply: Reply) => void; reject: (err: Error) => void }>();
  #next = 1;
  #closed = false;

  constructor(port: MessagePort) {
    this.#port = port;
    port.on('message', (reply: Reply) => {
      const key = `${reply.id}:${reply.seq}`;
      this.#waiting.get(key)?.resolve(reply);
      this.#waiting.delete(key);
      // Nothing waits: the channel keeps no process alive.
      if (this.#waiting.size === 0) port.unref();
    });
    port.on('close', () => this.close());
    port.unref();
  }

  hash(): ThreadHash {
    return new ThreadHash(this, this.#next++);
  }

  /** The writer thread is gone: what waits on it fails. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#port.close();
    for (const done of this.#waiting.values()) done.reject(new Error('the Rhizome writer thread ended'));
    this.#waiting.clear();
  }

  send(request: Request): Promise<Reply> {
    if (this.#closed) return Promise.reject(new Error('the Rhizome writer thread ended'));
    return new Promise((resolve, reject) => {
      this.#waiting.set(`${request.id}:${request.seq}`, { resolve, reject });
      this.#port.ref();
      this.#port.postMessage(request);
    });
  }
}

/** The running SHA-512 of one payload, fed block by block. */
export class ThreadHash {
  readonly #channel: HashChannel;
  readonly #id: number;
  #seq = 0;

  constructor(channel: HashChannel, id: number) {
    this.#channel = channel;
    this.#id = id;
  }

  /** Hashes `length` bytes of `block` (shared memory); resolves once the block may be reused. */
  async update(block: Buffer, length: number): Promise<void> {
    await this.#channel.send({ id: this.#id, seq: this.#seq++, block, length });
  }

  /** The digest of everything given. */
  async digest(): Promise<Buffer> {
    const reply = await this.#channel.send({ id: this.#id, seq: this.#seq++, end: true });
    return Buffer.from(reply.digest!);
  }

  /** Forgets this payload on the thread. */
  abort(): void {
    this.#channel.send({ id: this.#id, seq: this.#seq++, end: true, abort: true }).catch(() => undefined);
  }
}

/** A block of shared memory, for blocks the writer thread reads. */
export function sharedBlock(size: number): Buffer {
  return Buffer.from(new SharedArrayBuffer(size));
}
