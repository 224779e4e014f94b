/**
 * Tendril sync framing (docs/sync.md §3): each direction of a link is a sequence of frames,
 *
 *     frame := length (u32, big-endian) ‖ type (u8) ‖ body (length − 1 bytes)
 *
 * `length` counts the type byte and the body, 1 ≤ length ≤ MAX_FRAME. Frames never depend on how
 * HTTP chunks the stream: a frame may span chunks and a chunk may hold many frames.
 */

/** The largest frame a peer may send (type + body). */
export const MAX_FRAME = 1024 * 1024;

export const FrameType = {
  HELLO: 0x01,
  BYE: 0x02,
  PING: 0x03,
  PONG: 0x04,
  ROUTES: 0x05,
  RECON: 0x10,
  RESYNC: 0x11,
  OFFER: 0x20,
  WANT: 0x21,
  NOTHAVE: 0x22,
  REQUEST: 0x30,
  DATA: 0x31,
  UNAVAILABLE: 0x32,
  CANCEL: 0x33,
} as const;
export type FrameTypeCode = (typeof FrameType)[keyof typeof FrameType];

export const FRAME_NAMES: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(FrameType).map(([k, v]) => [v, k]));

export interface Frame {
  readonly type: number;
  readonly body: Buffer;
}

/** One frame's bytes. */
export function encodeFrame(type: number, body: Buffer = EMPTY): Buffer {
  const length = body.length + 1;
  if (length > MAX_FRAME) throw new RangeError(`frame of ${length} bytes exceeds ${MAX_FRAME}`);
  const out = Buffer.allocUnsafe(5 + body.length);
  out.writeUInt32BE(length, 0);
  out[4] = type;
  body.copy(out, 5);
  return out;
}

/** The 5-byte header of a frame whose body is written separately (large DATA bodies: no copy). */
export function frameHeader(type: number, bodyLength: number): Buffer {
  const length = bodyLength + 1;
  if (length > MAX_FRAME) throw new RangeError(`frame of ${length} bytes exceeds ${MAX_FRAME}`);
  const out = Buffer.allocUnsafe(5);
  out.writeUInt32BE(length, 0);
  out[4] = type;
  return out;
}

const EMPTY = Buffer.alloc(0);

export class FrameError extends Error {
  override readonly name = 'FrameError';
}

/**
 * Splits a byte stream into frames, holding at most one incomplete frame. A length of 0 or above
 * `max` is a protocol error: the peer is broken or hostile, and nothing after it can be trusted.
 */
export class FrameReader {
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #need = 5;
  #header: { length: number; type: number } | undefined;

  constructor(private readonly max = MAX_FRAME) {}

  /** The frames completed by `chunk`, in order. */
  push(chunk: Buffer): Frame[] {
    const frames: Frame[] = [];
    let buf = chunk;
    if (this.#pendingBytes > 0) {
      this.#pending.push(chunk);
      this.#pendingBytes += chunk.length;
      if (this.#pendingBytes < this.#need) return frames;
      buf = Buffer.concat(this.#pending, this.#pendingBytes);
      this.#pending = [];
      this.#pendingBytes = 0;
    }
    let at = 0;
    for (;;) {
      if (this.#header === undefined) {
        if (buf.length - at < 5) break;
        const length = buf.readUInt32BE(at);
        if (length === 0 || length > this.max) throw new FrameError(`frame length ${length} outside 1..${this.max}`);
        this.#header = { length, type: buf[at + 4]! };
        at += 5;
        this.#need = length - 1;
      }
      if (buf.length - at < this.#need) break;
      frames.push({ type: this.#header.type, body: buf.subarray(at, at + this.#need) });
      at += this.#need;
      this.#header = undefined;
      this.#need = 5;
    }
    if (at < buf.length) {
      this.#pending.push(buf.subarray(at));
      this.#pendingBytes = buf.length - at;
    }
    return frames;
  }

  /** True when no partial frame is held (a clean end of stream). */
  get idle(): boolean {
    return this.#pendingBytes === 0 && this.#header === undefined;
  }
}
