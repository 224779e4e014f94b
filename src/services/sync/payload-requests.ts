/**
 * Our REQUESTs on one link and the DATA that answers them (docs/sync.md §6.3). Each request has a
 * sink that takes the bytes in order; the link's reader waits for the sink (a disk write), which
 * is what slows the peer down when we cannot keep up (TCP backpressure), and nothing else.
 */
import type { Link } from './link.js';
import { FrameError, FrameType } from './wire/frames.js';
import { decodeId, encodeId, encodeRequest } from './wire/messages.js';

export interface PayloadSink {
  /** The next bytes, in order. */
  data(chunk: Buffer): Promise<void>;
  /** Every byte asked for has arrived. */
  end(): void;
  /** No more bytes will come: the peer cannot serve them, or the link closed. */
  fail(reason: string): void;
}

interface Pending {
  readonly sink: PayloadSink;
  remaining: number;
}

export class PayloadRequests {
  readonly #link: Link;
  readonly #pending = new Map<number, Pending>();
  #next = 1;

  constructor(link: Link) {
    this.#link = link;
  }

  get outstanding(): number {
    return this.#pending.size;
  }

  /** Asks for bytes [offset, offset + length) of a bundle's payload; returns the request id. */
  request(bid: Buffer, version: bigint, offset: number, length: number, sink: PayloadSink): number {
    const id = this.#next;
    this.#next = (this.#next % 0xffffffff) + 1;
    this.#pending.set(id, { sink, remaining: length });
    this.#link.send(FrameType.REQUEST, encodeRequest({ id, bid, version, offset, length })).catch(() => this.#fail(id, 'link closed'));
    return id;
  }

  cancel(id: number): void {
    if (!this.#pending.delete(id)) return;
    void this.#link.send(FrameType.CANCEL, encodeId(id)).catch(() => undefined);
  }

  /** A DATA frame, as the pieces it arrived in. Bytes of a request we cancelled may still come: dropped. */
  async data(parts: readonly Buffer[]): Promise<void> {
    const head = parts[0]!.length >= 4 ? parts[0]! : Buffer.concat(parts).subarray(0, 4);
    const { id } = decodeId(head.subarray(0, 4));
    const p = this.#pending.get(id);
    if (p === undefined) return;
    let skip = 4;
    for (const part of parts) {
      const chunk = skip >= part.length ? undefined : part.subarray(skip);
      skip = Math.max(0, skip - part.length);
      if (chunk === undefined || chunk.length === 0) continue;
      if (chunk.length > p.remaining) throw new FrameError('DATA beyond the bytes requested');
      p.remaining -= chunk.length;
      if (p.remaining === 0) this.#pending.delete(id);
      this.#link.stats.bytesIn += chunk.length;
      await p.sink.data(chunk);
      if (p.remaining === 0) p.sink.end();
    }
  }

  unavailable(body: Buffer): void {
    const { id, extra } = decodeId(body);
    this.#fail(id, extra === 2 ? 'peer busy' : 'peer cannot serve it');
  }

  closeAll(): void {
    for (const id of [...this.#pending.keys()]) this.#fail(id, 'link closed');
  }

  #fail(id: number, reason: string): void {
    const p = this.#pending.get(id);
    if (p === undefined) return;
    this.#pending.delete(id);
    p.sink.fail(reason);
  }
}
