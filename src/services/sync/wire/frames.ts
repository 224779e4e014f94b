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

/**
 * A received frame. Its body arrives as the pieces of the chunks it spanned: a DATA frame's
 * payload bytes go on to the disk as those pieces, without being copied together first.
 */
export class Frame {
  #body: Buffer | undefined;

  constructor(
    readonly type: number,
    readonly parts: readonly Buffer[],
  ) {}

  /** The body as one buffer (joined once, on first use). */
  get body(): Buffer {
    this.#body ??= this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    return this.#body;
  }
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
 * Splits a byte stream into frames, holding only the pieces of the frame in progress. A length of
 * 0 or above `max` is a protocol error: the peer is broken or hostile, and nothing after it can be
 * trusted.
 */
export class FrameReader {
  readonly #header = Buffer.alloc(5);
  #headerFill = 0;
  /** Body bytes still to come for the current frame, or -1 while reading a header. */
  #need = -1;
  #type = 0;
  #parts: Buffer[] = [];

  constructor(private readonly max = MAX_FRAME) {}

  /** The frames completed by `chunk`, in order. */
  push(chunk: Buffer): Frame[] {
    const frames: Frame[] = [];
    let at = 0;
    while (at < chunk.length || this.#need === 0) {
      if (this.#need < 0) {
        const take = Math.min(5 - this.#headerFill, chunk.length - at);
        chunk.copy(this.#header, this.#headerFill, at, at + take);
        this.#headerFill += take;
        at += take;
        if (this.#headerFill < 5) break;
        this.#headerFill = 0;
        const length = this.#header.readUInt32BE(0);
        if (length === 0 || length > this.max) throw new FrameError(`frame length ${length} outside 1..${this.max}`);
        this.#type = this.#header[4]!;
        this.#need = length - 1;
      }
      const take = Math.min(this.#need, chunk.length - at);
      if (take > 0) this.#parts.push(chunk.subarray(at, at + take));
      at += take;
      this.#need -= take;
      if (this.#need > 0) break;
      frames.push(new Frame(this.#type, this.#parts));
      this.#parts = [];
      this.#need = -1;
    }
    return frames;
  }

  /** True when no partial frame is held (a clean end of stream). */
  get idle(): boolean {
    return this.#need < 0 && this.#headerFill === 0;
  }
}
