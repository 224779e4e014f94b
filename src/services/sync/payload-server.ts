/**
 * Serving the peer's REQUESTs on one link (docs/sync.md §6.3): payload bytes of a stored version,
 * from an offset, streamed from the store in DATA frames. Requests are served in turn, one chunk
 * each, so a small bundle asked for behind a large one waits for one chunk, not for the whole.
 * Memory is a chunk per open request; the number of open requests is bounded.
 */
import type { Readable } from 'node:stream';
import type { Link } from './link.js';
import type { SyncStore } from './store-view.js';
import { FrameType } from './wire/frames.js';
import { encodeId, Unavailable, type PayloadRequest } from './wire/messages.js';

/** Payload bytes in one DATA frame at most. */
const DATA_MAX = 256 * 1024;
/** Requests a peer may have open at once; more are answered UNAVAILABLE busy. */
export const MAX_SERVING = 64;

interface Serving {
  readonly request: PayloadRequest;
  readonly stream: Readable;
  readonly chunks: AsyncIterator<Buffer>;
  /** The request reaches the end of the payload: serving it delivers a whole bundle. */
  readonly toEnd: boolean;
}

export class PayloadServer {
  readonly #link: Link;
  readonly #store: SyncStore;
  readonly #serving = new Map<number, Serving>();
  #running = false;

  constructor(link: Link, store: SyncStore) {
    this.#link = link;
    this.#store = store;
  }

  get open(): number {
    return this.#serving.size;
  }

  /** A REQUEST frame: checked and opened now, served in turn. */
  async request(r: PayloadRequest): Promise<void> {
    if (this.#serving.has(r.id) || this.#serving.size >= MAX_SERVING) {
      this.#refuse(r.id, Unavailable.BUSY);
      return;
    }
    const bundle = await this.#store.get(r.bid);
    const size = Number(bundle?.filesize ?? 0n);
    if (bundle === undefined || bundle.version !== r.version || bundle.filehash === undefined) {
      this.#refuse(r.id, Unavailable.NOT_HELD);
      return;
    }
    if (r.offset + r.length > size) {
      this.#refuse(r.id, Unavailable.BAD_RANGE);
      return;
    }
    const stream = await this.#store.readPayload(bundle.filehash, r.offset, r.offset + r.length);
    if (stream === undefined) {
      this.#refuse(r.id, Unavailable.NOT_HELD);
      return;
    }
    if (this.#link.closed) {
      stream.destroy();
      return;
    }
    this.#serving.set(r.id, { request: r, stream, chunks: stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>, toEnd: r.offset + r.length === size });
    this.#kick();
  }

  cancel(id: number): void {
    const s = this.#serving.get(id);
    if (s === undefined) return;
    this.#serving.delete(id);
    s.stream.destroy();
  }

  close(): void {
    for (const id of [...this.#serving.keys()]) this.cancel(id);
  }

  #refuse(id: number, reason: number): void {
    void this.#link.send(FrameType.UNAVAILABLE, encodeId(id, reason)).catch(() => undefined);
  }

  /** Starts serving unless it runs; #run clears #running in the turn it finds nothing left. */
  #kick(): void {
    if (this.#running) return;
    this.#running = true;
    void this.#run();
  }

  async #run(): Promise<void> {
    for (;;) {
      // Checked and cleared in one turn: a request opened meanwhile finds #running false.
      if (this.#serving.size === 0 || this.#link.closed) {
        this.#running = false;
        return;
      }
      await this.#round();
    }
  }

  /** One chunk of every open request. */
  async #round(): Promise<void> {
    for (const [id, s] of [...this.#serving]) {
      if (this.#serving.get(id) !== s) continue; // cancelled meanwhile
      let next: IteratorResult<Buffer>;
      try {
        next = await s.chunks.next();
      } catch {
        // The payload went bad or away while read: the requester tries elsewhere.
        this.#serving.delete(id);
        this.#refuse(id, Unavailable.NOT_HELD);
        continue;
      }
      if (next.done === true) {
        this.#serving.delete(id);
        if (s.toEnd) this.#link.stats.bundlesOut++;
        continue;
      }
      if (this.#serving.get(id) !== s) continue;
      try {
        // Store reads may be larger than a frame may be.
        for (let at = 0; at < next.value.length; at += DATA_MAX) {
          const piece = next.value.subarray(at, at + DATA_MAX);
          await this.#link.send(FrameType.DATA, encodeId(id), piece);
          this.#link.stats.bytesOut += piece.length;
        }
      } catch {
        this.close();
        return;
      }
    }
  }
}
